/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "host.h"

enum cgroup_layout {
        CGROUP_LAYOUT_UNKNOWN,
        CGROUP_LAYOUT_V1,       /* legacy: only v1 hierarchies */
        CGROUP_LAYOUT_HYBRID,   /* v1 hierarchies plus cgroup2 at /sys/fs/cgroup/unified */
        CGROUP_LAYOUT_V2,       /* unified: cgroup2 at /sys/fs/cgroup */
};

/* The controllers a rootless node cares about, as bits. */
enum {
        CONTROLLER_CPU = 1u << 0,
        CONTROLLER_CPUSET = 1u << 1,
        CONTROLLER_IO = 1u << 2,
        CONTROLLER_MEMORY = 1u << 3,
        CONTROLLER_PIDS = 1u << 4,
        CONTROLLER_HUGETLB = 1u << 5,
        _CONTROLLER_COUNT = 6,
};
#define CONTROLLERS_WANTED (CONTROLLER_CPU | CONTROLLER_CPUSET | CONTROLLER_IO | CONTROLLER_MEMORY | CONTROLLER_PIDS)

const char *controller_to_string(unsigned bit);
/* Parses a space-separated controller list ("cpuset cpu io memory pids"); unknown names are
 * ignored (rdma, misc), *ret_unknown counts them. */
unsigned controllers_from_string(const char *s, unsigned *ret_unknown);
/* "cpu cpuset io" for a mask; "none" for 0. Caller frees. */
char *controllers_to_string(unsigned mask);

/* How we know what the running user manager gives its units. */
enum cgroup_manager_source {
        CGROUP_MANAGER_UNKNOWN,         /* nothing but its cgroup's controllers */
        CGROUP_MANAGER_ENABLED,         /* its cgroup.subtree_control: what it enabled so far (a lower bound) */
        CGROUP_MANAGER_PROBED,          /* a Delegate=yes scope of its own: exactly what the node's unit gets */
};

struct cgroup_facts {
        enum cgroup_layout layout;
        unsigned available;             /* root cgroup.controllers (v2) */
        bool configured_known;
        unsigned configured;            /* what user@.service + drop-ins delegate */
        bool live_known;                /* the user's manager runs and its cgroup was read */
        unsigned live;                  /* user@UID.service/cgroup.controllers: what PID 1 gives its cgroup now */
        enum cgroup_manager_source manager_source;
        unsigned manager;               /* what the running manager gives its units (see manager_source) */
};

/* Classifies the cgroup layout from /proc/self/mountinfo text. */
int cgroup_layout_from_mountinfo(const char *mountinfo, enum cgroup_layout *ret);
const char *cgroup_layout_to_string(enum cgroup_layout l);
/* Whether the cgroup2 mount at /sys/fs/cgroup is read-only (a container's default). -ENOENT: none there. */
int cgroup_v2_read_only_from_mountinfo(const char *mountinfo, bool *ret);

/* The cgroup of uid's user manager, user@UID.service, as a host path for the layout: under
 * /sys/fs/cgroup (v2), /sys/fs/cgroup/unified (hybrid) or /sys/fs/cgroup/systemd (v1). */
char *cgroup_user_manager_path(enum cgroup_layout layout, uid_t uid);

/* The cgroup v2 path ("/a/b") from /proc/PID/cgroup text (its "0::" line). -ENODATA: no such
 * line; -EINVAL: not a clean absolute path (relative, "..", "//", a cgroupns-escaped view). */
int cgroup_v2_path_from_proc(const char *text, char **ret);

/* Where a node on a cgroup v2 host gets a cgroup of its own (node/cgroup.c makes it). */
enum node_cgroup_plan {
        NODE_CGROUP_NONE,       /* no delegated cgroup: the node runs without cgroup limits */
        NODE_CGROUP_CURRENT,    /* the caller's cgroup: ours, and the caller is alone in it */
        NODE_CGROUP_SIBLING,    /* a new cgroup next to the caller's, in a parent that is ours */
};
/* Decides from facts about the caller's cgroup (path), whether it is ours (writable directory,
 * cgroup.procs and cgroup.subtree_control), whether the caller is its only process, and whether
 * its parent is ours. */
enum node_cgroup_plan cgroup_node_plan(const char *current, bool current_ours, bool alone, bool parent_ours);
