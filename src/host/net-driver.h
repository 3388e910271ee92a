/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "engine.h"
#include "host.h"

/* What setup --fast-net writes for the veth fast path, and lxc-user-nic reads. */
#define NET_LXC_USERNET "/etc/lxc/lxc-usernet"
#define NET_BRIDGE "usernode0"

/* A --version that has not answered by then is not worth the wait (rootlesskit is a Go binary). */
#define NET_DRIVER_VERSION_TIMEOUT_MS 2000u

/* What a host has for the node's network, for one user. */
struct net_driver_facts {
        char *rootlesskit, *slirp4netns, *pasta, *lxc_user_nic;        /* paths; NULL when absent */
        bool versions_read;             /* false under --root, or when asked not to */
        char v_rootlesskit[64], v_slirp4netns[64], v_pasta[64];        /* a version, or why there is none */
        bool lxc_allowed;               /* NET_LXC_USERNET gives the user a veth */
        bool bridge;                    /* NET_BRIDGE exists */
        int tun;                        /* /dev/net/tun opens for the user: 1, 0, or -1 when not known */
};

/* Reads the facts from h for user (NULL: no lxc-usernet entry can match). Versions are asked (in
 * parallel, bounded) unless h is offline or read_versions is false. tun is left -1: the caller knows
 * better (a live probe, or its own access()). */
int net_driver_facts_load(const struct host *h, const char *user, gid_t gid, bool read_versions,
                          struct net_driver_facts *ret);
void net_driver_facts_done(struct net_driver_facts *f);

const char *net_driver_to_string(enum net_driver_id d);
int net_driver_from_string(const char *s, enum net_driver_id *ret);
/* 0 when engine e can run its node with driver d on these facts; else -errno and *ret_reason (static
 * text) says why. */
int net_driver_usable(const struct net_driver_facts *f, enum engine e, enum net_driver_id d, const char **ret_reason);
/* The one rule for `up --net auto`, which `check` reports: the first usable driver in the engine's
 * order. -ENOENT when none is, *ret_reason then the last one's reason. */
int net_driver_choose(const struct net_driver_facts *f, enum engine e, enum net_driver_id *ret,
                      const char **ret_reason);
bool net_driver_installed(const struct net_driver_facts *f, enum net_driver_id d);
