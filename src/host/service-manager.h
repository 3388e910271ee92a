/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

#include "host.h"

/* What starts and keeps services on the host, which decides who can give a user a cgroup and whether a
 * user manager (systemd --user, linger) can exist at all. */
enum service_manager {
        SERVICE_MANAGER_SYSTEMD,
        SERVICE_MANAGER_OPENRC,         /* Alpine, Gentoo: PID 1 is init, services in /sys/fs/cgroup/openrc.NAME */
        SERVICE_MANAGER_NONE,           /* PID 1 is a container's entrypoint: a CI job, a container */
};

/* What tells them apart, read from the host (or the tree) by service_manager_detect. */
struct service_manager_markers {
        bool systemd_running;           /* /run/systemd/system: made by systemd as PID 1 and nothing else */
        bool openrc_running;            /* /run/openrc: made by OpenRC when it boots the host */
        char pid1[32];                  /* /proc/1/comm, "" when the tree has none */
        bool systemd_installed;         /* systemd's binary or a user@.service unit file (an image) */
        bool openrc_installed;          /* /sbin/openrc-run (an image) */
};

struct service_manager_info {
        enum service_manager manager;
        bool running;                   /* known from a running host, not guessed from an image's files */
        char pid1[32];
};

/* The decision, from the markers: a running manager's own marker first; a tree with a PID 1 of
 * something else (a snapshot of a container) has none; an image, OpenRC when only that is installed,
 * else systemd. */
void service_manager_decide(const struct service_manager_markers *m, struct service_manager_info *ret);
void service_manager_detect(const struct host *h, struct service_manager_info *ret);
const char *service_manager_to_string(enum service_manager m);

/* OpenRC's rc_cgroup_mode as /etc/rc.conf sets it (the last assignment, as the shell would): "unified",
 * "hybrid" or "legacy". -ENODATA when no line sets it (OpenRC then mounts hybrid), -EINVAL for a value that
 * is not one of those, -ENOENT without the file. */
int openrc_cgroup_mode_parse(const char *text, const char **ret);
int openrc_cgroup_mode_read(const struct host *h, const char **ret);
