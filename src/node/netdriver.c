/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The node's network drivers, all driven through rootlesskit: lxc-user-nic (a veth on the admin's
 * bridge through Debian's setuid helper), pasta (rootlesskit >= 2.0) and slirp4netns. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host.h"
#include "net.h"
#include "setup.h"
#include "up.h"
#include "util.h"
#include "version.h"

#define RK_VERSION_TIMEOUT_MS 2000u

static const char *const lxc_user_nic_paths[] = {
        "/usr/libexec/lxc/lxc-user-nic", "/usr/lib/x86_64-linux-gnu/lxc/lxc-user-nic",
        "/usr/lib/aarch64-linux-gnu/lxc/lxc-user-nic", "/usr/lib/lxc/lxc-user-nic",
};

static bool have_executable(const char *name, char **ret_path) {
        struct host h = { .root_fd = -EBADF };
        _cleanup_free_ char *path = NULL;
        bool found;

        if (host_init(&h, "/", NULL) < 0)
                return false;
        found = host_find_executable(&h, name, &path) >= 0;
        host_done(&h);
        if (found && ret_path)
                *ret_path = TAKE_PTR(path);
        return found;
}

static int slirp4netns_usable(const char **ret_reason) {
        if (!have_executable("slirp4netns", NULL)) {
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

static unsigned tap_mtu(void) {
        return UP_MTU;
}

/* rootlesskit learnt --net=pasta in 2.0; 1.x lists only host, slirp4netns, vpnkit, lxc-user-nic. */
static int pasta_usable(const char **ret_reason) {
        _cleanup_free_ char *rk = NULL;
        struct version_query q = {};
        char v[64];

        if (!have_executable("pasta", NULL)) {
                *ret_reason = "pasta is not installed (package passt)";
                return -ENOENT;
        }
        if (!have_executable("rootlesskit", &rk)) {
                *ret_reason = "rootlesskit is not installed";
                return -ENOENT;
        }
        q.path = rk;
        if (version_query_run(&q, 1, RK_VERSION_TIMEOUT_MS) < 0 || !q.exited || q.exit_status != 0 ||
            version_extract(q.output, v, sizeof v) < 0) {
                *ret_reason = "cannot read rootlesskit's version";
                return -EIO;
        }
        if (version_compare(v, "2.0") < 0) {
                *ret_reason = "the installed rootlesskit (< 2.0) has no --net=pasta; running pasta without "
                              "rootlesskit would lose its port API";
                return -EOPNOTSUPP;
        }
        if (access("/dev/net/tun", R_OK | W_OK) < 0) {
                *ret_reason = "/dev/net/tun is not usable (see check net.tun)";
                return -EACCES;
        }
        return 0;
}

static int pasta_args(const struct up_options *o, char ***argv) {
        return strv_push(argv, "--net=pasta");
}

static const char *lxc_user_nic_binary(void) {
        for (size_t i = 0; i < ELEMENTSOF(lxc_user_nic_paths); i++) {
                struct stat st;

                /* Useless unless setuid root: it creates the host side of the veth. */
                if (stat(lxc_user_nic_paths[i], &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 &&
                    (st.st_mode & S_ISUID))
                        return lxc_user_nic_paths[i];
        }
        return NULL;
}

static bool caller_allowed_by_usernet(void) {
        struct host h = { .root_fd = -EBADF };
        _cleanup_free_ char *text = NULL;
        _cleanup_strv_free_ char **groups = NULL;
        struct passwd pw, *res = NULL;
        char buf[4096];
        gid_t gids[256];
        int n = ELEMENTSOF(gids);
        int r;

        if (getpwuid_r(getuid(), &pw, buf, sizeof buf, &res) != 0 || !res)
                return false;
        if (host_init(&h, "/", NULL) < 0)
                return false;
        r = host_read_file(&h, SETUP_LXC_USERNET, 1024 * 1024, &text, NULL);
        host_done(&h);
        if (r < 0)
                return false;
        if (getgrouplist(pw.pw_name, pw.pw_gid, gids, &n) < 0)
                n = 0;
        for (int i = 0; i < n; i++) {
                struct group gr, *g = NULL;
                char gbuf[4096];

                if (getgrgid_r(gids[i], &gr, gbuf, sizeof gbuf, &g) == 0 && g && strv_push(&groups, g->gr_name) < 0)
                        return false;
        }
        return lxc_usernet_allows(text, pw.pw_name, groups);
}

/* The veth fast path needs the helper, the admin's /etc/lxc/lxc-usernet entry and the bridge
 * (setup --fast-net writes both; systemd-networkd makes the bridge and serves DHCP on it). */
static int lxc_user_nic_usable(const char **ret_reason) {
        if (!lxc_user_nic_binary()) {
                *ret_reason = "lxc-user-nic is not installed setuid root (package lxc)";
                return -ENOENT;
        }
        if (!caller_allowed_by_usernet()) {
                *ret_reason = "no veth allowed for this user in " SETUP_LXC_USERNET " (usernode setup --fast-net)";
                return -EPERM;
        }
        if (access("/sys/class/net/" SETUP_BRIDGE "/bridge", F_OK) < 0) {
                *ret_reason = "bridge " SETUP_BRIDGE " does not exist (usernode setup --fast-net, then "
                              "networkctl reload)";
                return -ENODEV;
        }
        return 0;
}

static int lxc_user_nic_args(const struct up_options *o, char ***argv) {
        _cleanup_free_ char *bin = xstrdup_printf("--lxc-user-nic-binary=%s", strna(lxc_user_nic_binary()));
        int r;

        if (!bin)
                return -ENOMEM;
        r = strv_push(argv, "--net=lxc-user-nic");
        if (r >= 0)
                r = strv_push(argv, bin);
        if (r >= 0)
                r = strv_push(argv, "--lxc-user-nic-bridge=" SETUP_BRIDGE);
        return r;
}

/* lxc-user-nic gives the veth the bridge's MTU; a larger one inside would drop big packets. */
static unsigned lxc_user_nic_mtu(void) {
        _cleanup_free_ char *line = NULL;
        struct host h = { .root_fd = -EBADF };
        uint32_t mtu;
        int r;

        if (host_init(&h, "/", NULL) < 0)
                return 1500;
        r = host_read_line(&h, "/sys/class/net/" SETUP_BRIDGE "/mtu", &line);
        host_done(&h);
        if (r < 0 || parse_u32(line, &mtu) < 0 || mtu < 1280 || mtu > UP_MTU)
                return 1500;
        return mtu;
}

/* In order of preference for --net auto: fastest first. */
static const struct net_driver drivers[] = {
        { "lxc-user-nic", lxc_user_nic_usable, lxc_user_nic_args, lxc_user_nic_mtu },
        { "pasta", pasta_usable, pasta_args, tap_mtu },
        { "slirp4netns", slirp4netns_usable, slirp4netns_args, tap_mtu },
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
                return un_error(err, -r, "--net %s cannot be used here: %s", d->name, reason);
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
