/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The live cgroup v2 tree at /sys/fs/cgroup as this process's cgroup namespace shows it (a node's own tree inside the
 * node): cgroups named by their path under it ("/", "/usernode-ci", "/ci-worker1"). What the node's supervisor does
 * to give the node a cgroup, and the node's init to give each of its workers one. */

#define CGROUP_MOUNT "/sys/fs/cgroup"

/* CGROUP_MOUNT/CGROUP/FILE (FILE NULL: the cgroup's directory); NULL on ENOMEM. */
char *cgroup_tree_file(const char *cgroup, const char *file);
int cgroup_tree_read(const char *cgroup, const char *file, char **ret);
/* Writes text to the cgroup's file in one write (cgroup.procs "0": this process moves there). */
int cgroup_tree_write(const char *cgroup, const char *file, const char *text);
/* The controllers a file of the cgroup lists (cgroup.controllers, cgroup.subtree_control); 0 when unreadable. */
unsigned cgroup_tree_controllers(const char *cgroup, const char *file);
/* Enables in parent's cgroup.subtree_control every controller it has, so that its children get them.
 * One that cannot be enabled (cpu with realtime tasks) costs only its own limits: the caller checks
 * for memory. EBUSY for all: the parent holds processes ("no internal processes"). */
int cgroup_tree_enable_all(const char *parent);
/* Removes the cgroup directory dir and the ones below it, deepest first (container and pod cgroups a node made),
 * waiting a little for a pid namespace's last tasks to go; 0 when it is not there. */
int cgroup_tree_remove_dir(const char *dir);
