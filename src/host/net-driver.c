/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The node's network drivers, all driven through rootlesskit: which ones a host can use, and which one
 * `up --net auto` takes. `check` and `up` both ask here, so what check says up picks is what up picks. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "net.h"
#include "net-driver.h"
#include "util.h"
#include "version.h"

static const char *const net_driver_names[_NET_DRIVER_MAX] = {
        [NET_DRIVER_LXC_USER_NIC] = "lxc-user-nic",
        [NET_DRIVER_PASTA] = "pasta",
        [NET_DRIVER_SLIRP4NETNS] = "slirp4netns",
};

/* Where distributions install lxc's helper. */
static const char *const lxc_user_nic_paths[] = {
        "/usr/lib/x86_64-linux-gnu/lxc/lxc-user-nic", "/usr/lib/aarch64-linux-gnu/lxc/lxc-user-nic",
        "/usr/libexec/lxc/lxc-user-nic", "/usr/lib/lxc/lxc-user-nic", "/usr/lib64/lxc/lxc-user-nic",
};

static const char *const port_driver_names[_PORT_DRIVER_MAX] = {
        [PORT_DRIVER_BUILTIN] = "builtin",
        [PORT_DRIVER_SLIRP4NETNS] = "slirp4netns",
        [PORT_DRIVER_IMPLICIT] = "implicit",
};

const char *port_driver_to_string(enum port_driver p) {
        return (unsigned) p < _PORT_DRIVER_MAX ? port_driver_names[p] : NULL;
}

int port_driver_from_string(const char *s, enum port_driver *ret) {
        for (enum port_driver p = 0; p < _PORT_DRIVER_MAX; p++)
                if (strcmp(s, port_driver_names[p]) == 0) {
                        *ret = p;
                        return 0;
                }
        return -EINVAL;
}

bool port_driver_explicit(enum port_driver p) {
        return p != PORT_DRIVER_IMPLICIT;
}

bool port_driver_keeps_source(enum port_driver p) {
        return p == PORT_DRIVER_SLIRP4NETNS;
}

/* rootlesskit 2.0 refuses pasta with any port driver but "implicit" (pasta's --tcp-ports=auto
 * --udp-ports=auto) and "none"; its slirp4netns port driver talks to slirp4netns's own API socket. */
int port_driver_allowed(enum net_driver_id d, enum port_driver p, const char **ret_reason) {
        if (d == NET_DRIVER_PASTA && p != PORT_DRIVER_IMPLICIT) {
                *ret_reason = "rootlesskit runs pasta only with pasta's own forwarding (--port-driver implicit), "
                              "which publishes every port the node listens on, on every address of this host";
                return -EOPNOTSUPP;
        }
        if (d != NET_DRIVER_PASTA && p == PORT_DRIVER_IMPLICIT) {
                *ret_reason = "--port-driver implicit is pasta's own forwarding: it needs --net pasta";
                return -EOPNOTSUPP;
        }
        if (d != NET_DRIVER_SLIRP4NETNS && p == PORT_DRIVER_SLIRP4NETNS) {
                *ret_reason = "--port-driver slirp4netns needs --net slirp4netns";
                return -EOPNOTSUPP;
        }
        return 0;
}

const char *net_driver_to_string(enum net_driver_id d) {
        return (unsigned) d < _NET_DRIVER_MAX ? net_driver_names[d] : NULL;
}

int net_driver_from_string(const char *s, enum net_driver_id *ret) {
        for (enum net_driver_id d = 0; d < _NET_DRIVER_MAX; d++)
                if (strcmp(s, net_driver_names[d]) == 0) {
                        *ret = d;
                        return 0;
                }
        return -EINVAL;
}

void net_driver_facts_done(struct net_driver_facts *f) {
        free(f->rootlesskit);
        free(f->slirp4netns);
        free(f->pasta);
        free(f->lxc_user_nic);
        *f = (struct net_driver_facts) { .tun = -1 };
}

/* The names of the user's groups, as lxc-usernet lists them; none under --root (no NSS there). */
static int user_group_names(const struct host *h, const char *user, gid_t gid, char ***ret) {
        _cleanup_strv_free_ char **names = NULL;
        gid_t gids[256];
        int n = ELEMENTSOF(gids);

        if (!h->offline && user && getgrouplist(user, gid, gids, &n) < 0)
                n = ELEMENTSOF(gids);
        for (int i = 0; !h->offline && user && i < n; i++) {
                struct group gr, *res = NULL;
                char buf[4096];

                if (getgrgid_r(gids[i], &gr, buf, sizeof buf, &res) == 0 && res && strv_push(&names, res->gr_name) < 0)
                        return -ENOMEM;
        }
        if (!names && !(names = calloc(1, sizeof *names)))
                return -ENOMEM;
        *ret = TAKE_PTR(names);
        return 0;
}

static void version_text(const struct version_query *q, bool word, char *buf, size_t size) {
        char v[48];

        if (q->spawn_error < 0)
                snprintf(buf, size, "does not run: %s", strerror(-q->spawn_error));
        else if (q->timed_out)
                snprintf(buf, size, "version not read within %u ms", NET_DRIVER_VERSION_TIMEOUT_MS);
        else if ((word ? version_extract_word : version_extract)(q->output, v, sizeof v) >= 0)
                snprintf(buf, size, "%s", v);
        else
                snprintf(buf, size, "version unknown");
}

static int read_versions(struct net_driver_facts *f) {
        struct {
                const char *path;
                char *text;
                size_t size;
                bool passt;     /* "pasta 2025_05_12.8ec1341", written only to a terminal */
        } tools[] = {
                { f->pasta, f->v_pasta, sizeof f->v_pasta, true },
                { f->slirp4netns, f->v_slirp4netns, sizeof f->v_slirp4netns, false },
                { f->rootlesskit, f->v_rootlesskit, sizeof f->v_rootlesskit, false },
        };
        struct version_query q[ELEMENTSOF(tools)] = {};
        size_t n = 0, at[ELEMENTSOF(tools)];

        for (size_t i = 0; i < ELEMENTSOF(tools); i++)
                if (tools[i].path) {
                        at[i] = n;
                        q[n].terminal = tools[i].passt;
                        q[n++].path = tools[i].path;
                }
        if (n == 0)
                return 0;
        if (version_query_run(q, n, NET_DRIVER_VERSION_TIMEOUT_MS) < 0)
                return -ENOMEM;
        f->versions_read = true;
        for (size_t i = 0; i < ELEMENTSOF(tools); i++)
                if (tools[i].path)
                        version_text(&q[at[i]], tools[i].passt, tools[i].text, tools[i].size);
        return 0;
}

int net_driver_facts_load(const struct host *h, const char *user, gid_t gid, bool versions,
                          struct net_driver_facts *ret) {
        struct net_driver_facts f = { .tun = -1 };
        _cleanup_free_ char *usernet = NULL;
        struct stat st;
        int r = 0;

        (void) host_find_executable(h, "pasta", &f.pasta);
        (void) host_find_executable(h, "slirp4netns", &f.slirp4netns);
        (void) host_find_executable(h, "rootlesskit", &f.rootlesskit);
        for (size_t i = 0; i < ELEMENTSOF(lxc_user_nic_paths) && !f.lxc_user_nic && r >= 0; i++)
                /* Useless unless setuid root: it creates the host side of the veth. */
                if (host_stat(h, lxc_user_nic_paths[i], &st, true) >= 0 && S_ISREG(st.st_mode) && st.st_uid == 0 &&
                    (st.st_mode & S_ISUID) && !(f.lxc_user_nic = strdup(lxc_user_nic_paths[i])))
                        r = -ENOMEM;
        if (r >= 0 && f.lxc_user_nic && host_read_file(h, NET_LXC_USERNET, 1024 * 1024, &usernet, NULL) >= 0) {
                _cleanup_strv_free_ char **groups = NULL;

                r = user_group_names(h, user, gid, &groups);
                if (r >= 0)
                        f.lxc_allowed = lxc_usernet_allows(usernet, user, groups);
        }
        f.bridge = host_stat(h, "/sys/class/net/" NET_BRIDGE "/bridge", &st, true) >= 0;
        if (r >= 0 && versions && !h->offline)
                r = read_versions(&f);
        if (r < 0) {
                net_driver_facts_done(&f);
                return r;
        }
        *ret = f;
        return 0;
}

/* rootlesskit learnt --net=pasta in 2.0; 1.x lists only host, slirp4netns, vpnkit, lxc-user-nic. */
static int rootlesskit_drives_pasta(const struct net_driver_facts *f, const char **ret_reason) {
        const char *v = f->v_rootlesskit;

        if (!f->versions_read) {
                *ret_reason = "needs rootlesskit >= 2.0, whose version was not read";
                return -EIO;
        }
        if (!(v[0] == 'v' || (v[0] >= '0' && v[0] <= '9'))) {
                *ret_reason = "needs rootlesskit >= 2.0, whose version cannot be read";
                return -EIO;
        }
        if (version_compare(v, "2.0") < 0) {
                *ret_reason = "needs rootlesskit >= 2.0 (the installed one has no --net=pasta)";
                return -EOPNOTSUPP;
        }
        return 0;
}

static int tun_usable(const struct net_driver_facts *f, const char **ret_reason) {
        if (f->tun == 0) {
                *ret_reason = "/dev/net/tun is not usable (see check net.tun)";
                return -EACCES;
        }
        return 0;
}

int net_driver_usable(const struct net_driver_facts *f, enum engine e, enum net_driver_id d, const char **ret_reason) {
        const struct engine_needs *needs = engine_needs(e);
        bool drives = false;

        for (size_t i = 0; i < needs->n_net_drivers; i++)
                drives = drives || needs->net_drivers[i] == d;
        if (!drives) {
                *ret_reason = "the engine does not drive it";
                return -EOPNOTSUPP;
        }
        if (!f->rootlesskit) {
                *ret_reason = "rootlesskit is not installed";
                return -ENOENT;
        }
        switch (d) {
        case NET_DRIVER_LXC_USER_NIC:
                if (!f->lxc_user_nic) {
                        *ret_reason = "lxc-user-nic is not installed setuid root (package lxc)";
                        return -ENOENT;
                }
                if (!f->lxc_allowed) {
                        *ret_reason = "no veth allowed for this user in " NET_LXC_USERNET " (usernode setup --fast-net)";
                        return -EPERM;
                }
                if (!f->bridge) {
                        *ret_reason = "bridge " NET_BRIDGE " does not exist (usernode setup --fast-net, then "
                                      "networkctl reload)";
                        return -ENODEV;
                }
                return 0;
        case NET_DRIVER_PASTA:
                if (!f->pasta) {
                        *ret_reason = "pasta is not installed (package passt)";
                        return -ENOENT;
                }
                return rootlesskit_drives_pasta(f, ret_reason) < 0 ? -EOPNOTSUPP : tun_usable(f, ret_reason);
        case NET_DRIVER_SLIRP4NETNS:
                if (!f->slirp4netns) {
                        *ret_reason = "slirp4netns is not installed";
                        return -ENOENT;
                }
                return tun_usable(f, ret_reason);
        default:
                *ret_reason = "unknown network driver";
                return -EINVAL;
        }
}

int net_driver_choose(const struct net_driver_facts *f, enum engine e, enum port_driver p, enum net_driver_id *ret,
                      const char **ret_reason) {
        const struct engine_needs *needs = engine_needs(e);
        const char *reason = "the engine drives no network driver";

        for (size_t i = 0; i < needs->n_net_drivers; i++)
                if (net_driver_usable(f, e, needs->net_drivers[i], &reason) >= 0 &&
                    port_driver_allowed(needs->net_drivers[i], p, &reason) >= 0) {
                        *ret = needs->net_drivers[i];
                        return 0;
                }
        *ret_reason = reason;
        return -ENOENT;
}

int net_driver_passed_over(const struct net_driver_facts *f, enum engine e, enum port_driver p, enum net_driver_id pick,
                           char **ret) {
        const struct engine_needs *needs = engine_needs(e);
        struct buf why = {};

        for (size_t i = 0; i < needs->n_net_drivers && needs->net_drivers[i] != pick; i++) {
                enum net_driver_id d = needs->net_drivers[i];
                const char *reason = NULL;

                if (net_driver_installed(f, d) &&
                    (net_driver_usable(f, e, d, &reason) < 0 || port_driver_allowed(d, p, &reason) < 0) &&
                    buf_printf(&why, "%s%s: %s", why.len ? "; " : "", net_driver_to_string(d), reason) < 0) {
                        buf_free(&why);
                        return -ENOMEM;
                }
        }
        *ret = why.len ? buf_steal(&why) : NULL;
        return 0;
}

bool net_driver_installed(const struct net_driver_facts *f, enum net_driver_id d) {
        return d == NET_DRIVER_LXC_USER_NIC ? f->lxc_user_nic != NULL
               : d == NET_DRIVER_PASTA      ? f->pasta != NULL
                                            : f->slirp4netns != NULL;
}
