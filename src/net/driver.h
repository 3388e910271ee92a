/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "error.h"
#include "net-driver.h"

/* The MTU inside the node with a tap driver (slirp4netns, pasta). */
#define UP_MTU 65520u

/* A network driver for the node's namespace, as rootlesskit runs it (which one: host/net-driver.h). */
struct net_driver {
        const char *name;
        /* Appends its rootlesskit arguments (--net=... and driver options). */
        int (*rootlesskit_args)(char ***argv);
        /* The MTU inside the node: UP_MTU for the tap drivers, the bridge's for a veth. */
        unsigned (*mtu)(void);
};

const struct net_driver *net_driver_find(const char *name);
/* "auto" takes what net_driver_choose() takes for the kubelet engine with port driver p; a named one must be
 * usable, and run with p. */
int net_driver_pick(const char *requested, enum port_driver p, const struct net_driver **ret, struct un_error *err);
