/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The node's network drivers as rootlesskit runs them: its arguments and the MTU inside the node.
 * Which driver a host can use, and which one --net auto takes, is host/net-driver.c's (check asks it too). */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "driver.h"
#include "host.h"
#include "net-driver.h"
#include "util.h"

static int slirp4netns_args(char ***argv) {
        return strv_push(argv, "--net=slirp4netns");
}

static unsigned tap_mtu(void) {
        return UP_MTU;
}

static int pasta_args(char ***argv) {
        return strv_push(argv, "--net=pasta");
}

static int lxc_user_nic_args(char ***argv) {
        const struct host *h = host_live();
        struct net_driver_facts f = { .tun = -1 };
        _cleanup_free_ char *bin = NULL;
        int r;

        r = net_driver_facts_load(h, NULL, getgid(), false, &f);
        if (r < 0)
                return r;
        bin = xstrdup_printf("--lxc-user-nic-binary=%s", strna(f.lxc_user_nic));
        net_driver_facts_done(&f);
        if (!bin)
                return -ENOMEM;
        r = strv_push(argv, "--net=lxc-user-nic");
        if (r >= 0)
                r = strv_push(argv, bin);
        if (r >= 0)
                r = strv_push(argv, "--lxc-user-nic-bridge=" NET_BRIDGE);
        return r;
}

/* lxc-user-nic gives the veth the bridge's MTU; a larger one inside would drop big packets. */
static unsigned lxc_user_nic_mtu(void) {
        _cleanup_free_ char *line = NULL;
        const struct host *h = host_live();
        uint32_t mtu;
        int r;

        r = host_read_line(h, "/sys/class/net/" NET_BRIDGE "/mtu", &line);
        if (r < 0 || parse_u32(line, &mtu) < 0 || mtu < 1280 || mtu > UP_MTU)
                return 1500;
        return mtu;
}

static const struct net_driver drivers[_NET_DRIVER_MAX] = {
        [NET_DRIVER_LXC_USER_NIC] = { "lxc-user-nic", lxc_user_nic_args, lxc_user_nic_mtu },
        [NET_DRIVER_PASTA] = { "pasta", pasta_args, tap_mtu },
        [NET_DRIVER_SLIRP4NETNS] = { "slirp4netns", slirp4netns_args, tap_mtu },
};

const struct net_driver *net_driver_find(const char *name) {
        enum net_driver_id d;

        return net_driver_from_string(name, &d) >= 0 ? &drivers[d] : NULL;
}

/* The facts as this user sees the live host: its groups, and whether it can open /dev/net/tun. */
static int live_facts(struct net_driver_facts *ret, struct un_error *err) {
        const struct host *h = host_live();
        struct passwd pw, *res = NULL;
        char buf[4096];
        int r;

        if (getpwuid_r(getuid(), &pw, buf, sizeof buf, &res) != 0)
                res = NULL;
        r = net_driver_facts_load(h, res ? res->pw_name : NULL, getgid(), true, ret);
        if (r < 0)
                return un_error(err, -r, "network drivers");
        ret->tun = access("/dev/net/tun", R_OK | W_OK) >= 0;
        return 0;
}

int net_driver_pick(const char *requested, enum port_driver p, const struct net_driver **ret, struct un_error *err) {
        const enum engine e = ENGINE_KUBELET;   /* k3s drives its own rootlesskit */
        struct net_driver_facts f = { .tun = -1 };
        enum net_driver_id d;
        const char *reason = NULL;
        int r;

        if (requested && strcmp(requested, "auto") != 0 && net_driver_from_string(requested, &d) < 0)
                return un_error(err, EINVAL, "unknown network driver '%.32s'", requested);
        r = live_facts(&f, err);
        if (r < 0)
                return r;
        if (!requested || strcmp(requested, "auto") == 0) {
                r = net_driver_choose(&f, e, p, &d, &reason);
                if (r < 0) {
                        _cleanup_free_ char *why = NULL;

                        r = net_driver_passed_over(&f, e, p, _NET_DRIVER_MAX, &why);
                        r = r < 0 ? un_error(err, -r, "network drivers")
                                  : un_error(err, ENOENT, "no usable network driver with --port-driver %s (%s)",
                                             port_driver_to_string(p), why ? why : reason);
                }
        } else {
                r = net_driver_usable(&f, e, d, &reason);
                if (r >= 0)
                        r = port_driver_allowed(d, p, &reason);
                if (r < 0)
                        r = un_error(err, -r, "--net %s cannot be used here: %s", net_driver_to_string(d), reason);
        }
        net_driver_facts_done(&f);
        if (r < 0)
                return r;
        *ret = &drivers[d];
        return 0;
}
