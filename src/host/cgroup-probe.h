/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

struct host;

/* A live probe tries the thing for real in a forked child, as the user the node is for
 * (DESIGN.md "live probe"). Its result overrides what config files suggest. */
enum probe_state {
        PROBE_NOT_RUN,
        PROBE_OK,
        PROBE_FAILED,
        PROBE_SKIPPED,
};

struct probe_outcome {
        enum probe_state state;
        int error;              /* the errno behind PROBE_FAILED when a system call failed, else 0 */
        char detail[256];
};

/* The cgroup probe, as the user in a forked child: a child cgroup of the manager's with memory.max
 * written (memory), and the controllers a Delegate=yes scope of the running manager gets (unit):
 * what the node's own unit will get. */
struct cgroup_probe {
        struct probe_outcome memory;
        struct probe_outcome unit;
        unsigned unit_controllers;      /* CONTROLLER_* bits, when unit is PROBE_OK */
};

/* The cgroup probe for uid on the live host h, without a check: setup asks it too. Skips (with the
 * reason) when no manager runs or the caller can act as neither root nor uid; -errno when it cannot
 * run at all. */
int cgroup_probe_run(const struct host *h, uid_t uid, gid_t gid, const char *user_name, struct cgroup_probe *ret);

