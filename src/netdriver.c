/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "host.h"
#include "up.h"
#include "util.h"

static bool have_executable(const char *name) {
        struct host h = { .root_fd = -EBADF };
        _cleanup_free_ char *path = NULL;
        bool found;

        if (host_init(&h, "/", NULL) < 0)
                return false;
        found = host_find_executable(&h, name, &path) >= 0;
        host_done(&h);
        return found;
}

static int slirp4netns_usable(const char **ret_reason) {
        if (!have_executable("slirp4netns")) {
                *ret_reason = "slirp4netns is not installed";
                return -ENOENT;
        }
        if (access("/dev/net/tun", R_OK | W_OK) < 0) {
                *ret_reason = "/dev/net/tun is not usable (see check net.tun)";
                return -EACCES;
        }
        return 0;
}

static int slirp4netns_args(const struct up_options *o, char ***argv) {
        return strv_push(argv, "--net=slirp4netns");
}

/* rootlesskit 1.x has no --net=pasta (2.x has); pasta without rootlesskit is left to its own driver. */
static int pasta_usable(const char **ret_reason) {
        *ret_reason = "the installed rootlesskit has no --net=pasta";
        return -EOPNOTSUPP;
}

static int pasta_args(const struct up_options *o, char ***argv) {
        return strv_push(argv, "--net=pasta");
}

/* The veth fast path needs the admin's /etc/lxc/lxc-usernet entry (setup --fast-net). */
static int lxc_user_nic_usable(const char **ret_reason) {
        if (access("/usr/libexec/lxc/lxc-user-nic", X_OK) < 0) {
                *ret_reason = "lxc-user-nic is not installed (package lxc)";
                return -ENOENT;
        }
        *ret_reason = "not allowed by the admin (usernode setup --fast-net)";
        return -EPERM;
}

static int lxc_user_nic_args(const struct up_options *o, char ***argv) {
        return strv_push(argv, "--net=lxc-user-nic");
}

/* In order of preference for --net auto: fastest first. */
static const struct net_driver drivers[] = {
        { "lxc-user-nic", lxc_user_nic_usable, lxc_user_nic_args },
        { "pasta", pasta_usable, pasta_args },
        { "slirp4netns", slirp4netns_usable, slirp4netns_args },
};

const struct net_driver *net_driver_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(drivers); i++)
                if (strcmp(drivers[i].name, name) == 0)
                        return &drivers[i];
        return NULL;
}

int net_driver_pick(const char *requested, const struct net_driver **ret, struct un_error *err) {
        const char *reason = NULL;
        int r;

        if (!requested || strcmp(requested, "auto") == 0) {
                for (size_t i = 0; i < ELEMENTSOF(drivers); i++)
                        if (drivers[i].usable(&reason) >= 0) {
                                *ret = &drivers[i];
                                return 0;
                        }
                return un_error(err, ENOENT, "no usable network driver (slirp4netns: %s)", reason);
        }
        const struct net_driver *d = net_driver_find(requested);
        if (!d)
                return un_error(err, EINVAL, "unknown network driver '%.32s'", requested);
        r = d->usable(&reason);
        if (r < 0)
                return un_error(err, r, "--net %s cannot be used here: %s", d->name, reason);
        *ret = d;
        return 0;
}

const char *port_driver_to_string(enum port_driver d) {
        return d == PORT_DRIVER_SLIRP4NETNS ? "slirp4netns" : "builtin";
}

int port_driver_from_string(const char *s, enum port_driver *ret) {
        if (strcmp(s, "builtin") == 0)
                *ret = PORT_DRIVER_BUILTIN;
        else if (strcmp(s, "slirp4netns") == 0)
                *ret = PORT_DRIVER_SLIRP4NETNS;
        else
                return -EINVAL;
        return 0;
}
