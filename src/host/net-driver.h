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

/* How rootlesskit publishes the node's ports on the host. */
enum port_driver {
        PORT_DRIVER_BUILTIN,            /* the ports usernode asks for, where it asks; source IP not kept */
        PORT_DRIVER_SLIRP4NETNS,        /* the same through slirp4netns: slower, source IP kept */
        PORT_DRIVER_IMPLICIT,           /* pasta's own: every port bound in the node, on every host address */
        _PORT_DRIVER_MAX,
};

/* What up asks for when the user names no port driver. */
#define PORT_DRIVER_DEFAULT PORT_DRIVER_BUILTIN

const char *port_driver_to_string(enum port_driver d);
int port_driver_from_string(const char *s, enum port_driver *ret);
/* Whether rootlesskit runs network driver d with port driver p; else *ret_reason (static text) says why.
 * The same for every rootlesskit that has d at all: pasta (2.0 and later) takes only its own forwarding. */
int port_driver_allowed(enum net_driver_id d, enum port_driver p, const char **ret_reason);
/* Whether p publishes only the ports asked for, each where asked. */
bool port_driver_explicit(enum port_driver p);
/* Whether a packet that p forwards into the node keeps its sender's address (what a filter there can judge). */
bool port_driver_keeps_source(enum port_driver p);

const char *net_driver_to_string(enum net_driver_id d);
int net_driver_from_string(const char *s, enum net_driver_id *ret);
/* 0 when engine e can run its node with driver d on these facts; else -errno and *ret_reason (static
 * text) says why. */
int net_driver_usable(const struct net_driver_facts *f, enum engine e, enum net_driver_id d, const char **ret_reason);
/* The one rule for `up --net auto`, which `check` reports: the first driver in the engine's order that is
 * usable and runs with port driver p (up's, PORT_DRIVER_DEFAULT unless the user named one). -ENOENT when
 * none is, *ret_reason then the last one's reason. */
int net_driver_choose(const struct net_driver_facts *f, enum engine e, enum port_driver p, enum net_driver_id *ret,
                      const char **ret_reason);
/* Why each driver of e's order that the host has was not taken with port driver p, before pick (every one
 * when pick is _NET_DRIVER_MAX): "pasta: ...; lxc-user-nic: ...". *ret NULL when there is none. */
int net_driver_passed_over(const struct net_driver_facts *f, enum engine e, enum port_driver p, enum net_driver_id pick,
                           char **ret);
bool net_driver_installed(const struct net_driver_facts *f, enum net_driver_id d);
