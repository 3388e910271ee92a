/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "host.h"

/* The engines a node can run: both in usernode's own namespaces (rootlesskit, its network driver and port
 * publishing, usernode's init as their PID 1), where the init runs upstream's daemons (kubelet) or k3s as one
 * process (k3s). What each needs of a host is data here, read by `check` (which reports it), `setup` and `up`
 * alike. */
enum engine {
        ENGINE_K3S,
        ENGINE_KUBELET,
        _ENGINE_MAX,
};

enum net_driver_id {
        NET_DRIVER_LXC_USER_NIC,        /* a veth on setup --fast-net's bridge, through Debian's setuid helper */
        NET_DRIVER_PASTA,               /* rootlesskit >= 2.0 */
        NET_DRIVER_SLIRP4NETNS,
        _NET_DRIVER_MAX,
};

struct engine_needs {
        const char *name;
        /* The binary that makes the node's user namespace: what an AppArmor profile must allow. */
        const char *userns_binary;
        /* The network drivers it can drive, in the order `up --net auto` prefers them (fastest first). */
        enum net_driver_id net_drivers[_NET_DRIVER_MAX];
        size_t n_net_drivers;
        /* Who runs those drivers, for a user. */
        const char *net_runner;
        /* Debian's packages that bring its network drivers. */
        const char *net_packages;
        /* What it runs to bring a cluster of its own when it joins none (NULL-terminated): upstream's control
         * plane, or k3s itself (`k3s server`). */
        const char *const *control_plane_binaries;
        /* What its nodes run for the pod network to other nodes' pods, found on PATH (NULL: built in, as k3s's). */
        const char *overlay_binary;
};

const struct engine_needs *engine_needs(enum engine e);
const char *engine_to_string(enum engine e);
int engine_from_string(const char *s, enum engine *ret);
/* Whether a node of engine e that joins no cluster brings one: every control-plane binary on h's PATH.
 * *ret_missing (may be NULL) names the first one that is not. */
bool engine_brings_control_plane(const struct host *h, enum engine e, const char **ret_missing);
/* The binary engine e's nodes run for their pod network to other nodes (flanneld), found on h: 0 with *ret its
 * path, -ENOENT when it is not there, -EOPNOTSUPP when the engine has its own built in. */
int engine_find_overlay(const struct host *h, enum engine e, char **ret);
/* The engine `check` and `up` assume when none is named: k3s when it is on the host's PATH. */
enum engine engine_default(const struct host *h);
