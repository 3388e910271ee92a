/* SPDX-License-Identifier: GPL-2.0-or-later */
/* net.*: the node's network — tun, the user-mode network driver, source IPs, DNS, ports, IPv6 and the
 * networks usernode takes (net.cidr). */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "checks.h"
#include "kmod.h"
#include "net.h"
#include "net-driver.h"
#include "netlink.h"
#include "sysctl.h"
#include "util.h"
#include "version.h"

static bool user_in_gid(const struct check_ctx *c, gid_t gid) {
        gid_t gids[256];
        int n = ELEMENTSOF(gids);

        if (c->user.gid == gid)
                return true;
        if (c->host->offline || !c->user.name || getgrouplist(c->user.name, c->user.gid, gids, &n) < 0)
                return false;
        for (int i = 0; i < n; i++)
                if (gids[i] == gid)
                        return true;
        return false;
}

static int check_tun(struct check_ctx *c, struct report *r) {
        _cleanup_free_ char *fix = NULL;
        const char *user = strna(c->user.name);
        struct stat st;
        bool rw;
        int k;

        if (c->host->offline) {
                struct kmod_db db;
                struct kmod_info info;

                kmod_db_init(&db, c->host, c->kernel_release);
                k = kmod_lookup(&db, "tun", "CONFIG_TUN", &info);
                kmod_db_done(&db);
                if (k < 0)
                        return k;
                if (info.state == KMOD_ABSENT)
                        return report_add(r, "net.tun", CHECK_FAIL,
                                          "boot a kernel with CONFIG_TUN (every distribution kernel has it as the tun module)",
                                          "the kernel has no tun driver (%s): slirp4netns and pasta cannot give pods a network",
                                          info.source);
                return report_add(r, "net.tun", CHECK_PASS, NULL,
                                  "tun is %s (%s); /dev/net/tun's mode is only known on the running host",
                                  kmod_state_to_string(info.state), info.source);
        }

        if (!c->no_probes) {
                const struct probes *p = probe_userns(c);

                if (p->tun.state == PROBE_OK)
                        return report_add(r, "net.tun", CHECK_PASS, NULL, "/dev/net/tun opened in %s's user namespace: %s",
                                          user, p->tun.detail);
                if (p->tun.state == PROBE_FAILED)
                        return report_add(r, "net.tun", CHECK_FAIL,
                                          "sudo chmod 0666 /dev/net/tun && echo 'KERNEL==\"tun\", MODE=\"0666\"' | "
                                          "sudo tee /etc/udev/rules.d/50-usernode-tun.rules",
                                          "/dev/net/tun could not be used in %s's user namespace: %s", user, p->tun.detail);
        }

        k = host_stat(c->host, "/dev/net/tun", &st, true);
        if (k < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 10 || minor(st.st_rdev) != 200) {
                struct kmod_db db;
                struct kmod_info info = { .state = KMOD_ABSENT };

                kmod_db_init(&db, c->host, c->kernel_release);
                k = kmod_lookup(&db, "tun", "CONFIG_TUN", &info);
                kmod_db_done(&db);
                if (k < 0)
                        return k;
                if (info.state == KMOD_AVAILABLE)
                        return report_add(r, "net.tun", CHECK_FAIL,
                                          "sudo modprobe tun && echo tun | sudo tee -a /etc/modules-load.d/usernode.conf",
                                          "no /dev/net/tun: the tun module is not loaded; pods get no network");
                if (info.state == KMOD_ABSENT)
                        return report_add(r, "net.tun", CHECK_FAIL, "boot a kernel with CONFIG_TUN",
                                          "no /dev/net/tun and no tun driver (%s): pods get no network", info.source);
                return report_add(r, "net.tun", CHECK_FAIL, "sudo mknod -m 0666 /dev/net/tun c 10 200",
                                  "/dev/net/tun is missing or not the tun device (char 10:200) although the kernel has tun");
        }
        if (c->user.uid == 0)
                rw = true;
        else if (st.st_uid == c->user.uid)
                rw = (st.st_mode & 0600) == 0600;
        else if (user_in_gid(c, st.st_gid))
                rw = (st.st_mode & 0060) == 0060;
        else
                rw = (st.st_mode & 0006) == 0006;
        if (rw)
                return report_add(r, "net.tun", CHECK_PASS, NULL, "/dev/net/tun (char 10:200, mode %04o) is read-write for %s%s",
                                  (unsigned) (st.st_mode & 07777), user,
                                  c->no_probes ? "" : " (the live probe did not run)");
        fix = xstrdup_printf("sudo chmod 0666 /dev/net/tun && echo 'KERNEL==\"tun\", MODE=\"0666\"' | "
                             "sudo tee /etc/udev/rules.d/50-usernode-tun.rules");
        if (!fix)
                return -ENOMEM;
        return report_add(r, "net.tun", CHECK_FAIL, fix,
                          "/dev/net/tun is mode %04o, owner %u:%u: %s cannot open it, so slirp4netns and pasta cannot "
                          "create the node's tap device",
                          (unsigned) (st.st_mode & 07777), (unsigned) st.st_uid, (unsigned) st.st_gid, user);
}

/* What the host has, said for the detail; the pick is net_driver_choose's, the very rule `up` follows. */
static int describe_drivers(struct buf *found, const struct net_driver_facts *d) {
        const struct {
                const char *name, *path, *version;
        } tools[] = {
                { "rootlesskit", d->rootlesskit, d->v_rootlesskit },
                { "slirp4netns", d->slirp4netns, d->v_slirp4netns },
                { "pasta", d->pasta, d->v_pasta },
        };

        for (size_t i = 0; i < ELEMENTSOF(tools); i++)
                if (buf_printf(found, "%s%s %s", found->len ? ", " : "", tools[i].name,
                               !tools[i].path     ? "absent"
                               : d->versions_read ? tools[i].version
                                                  : "present (version not read under --root)") < 0)
                        return -ENOMEM;
        return buf_printf(found, ", lxc-user-nic %s", !d->lxc_user_nic ? "absent"
                                                      : d->lxc_allowed ? "allowed for the user"
                                                                       : "present, no /etc/lxc/lxc-usernet entry for the user");
}

/* Why faster drivers the host has were passed over with up's default port driver: " (pasta: needs rootlesskit
 * >= 2.0 ...)". */
static int describe_passed_over(struct buf *why, const struct check_ctx *c, const struct net_driver_facts *d,
                                enum net_driver_id pick) {
        _cleanup_free_ char *drivers = NULL;

        if (net_driver_passed_over(d, c->engine, PORT_DRIVER_DEFAULT, pick, &drivers) < 0 ||
            (drivers && buf_printf(why, " (%s", drivers) < 0))
                return -ENOMEM;
        return why->len ? buf_puts(why, ")") : 0;
}

static int check_driver(struct check_ctx *c, struct report *r, const struct net_driver_facts *d) {
        _cleanup_free_ char *fix = NULL;
        struct buf found = {}, why = {};
        enum net_driver_id pick;
        const char *reason;
        int k;

        if (describe_drivers(&found, d) < 0)
                goto oom;
        if (net_driver_choose(d, c->engine, PORT_DRIVER_DEFAULT, &pick, &reason) >= 0) {
                if (describe_passed_over(&why, c, d, pick) < 0)
                        goto oom;
                k = report_add(r, "net.driver", CHECK_PASS, NULL, "%s; up --net auto picks %s%s", found.data,
                               net_driver_to_string(pick), why.data ? why.data : "");
                buf_free(&found);
                buf_free(&why);
                return k;
        }
        fix = check_install_command(c, engine_needs(c->engine)->net_packages);
        if (!fix || describe_passed_over(&why, c, d, _NET_DRIVER_MAX) < 0)
                goto oom;
        k = report_add(r, "net.driver", CHECK_FAIL, fix, "%s: no network driver usable by %s%s", found.data,
                       engine_needs(c->engine)->net_runner, why.data ? why.data : "");
        buf_free(&found);
        buf_free(&why);
        return k;
oom:
        buf_free(&found);
        buf_free(&why);
        return -ENOMEM;
}

static int check_source_ip(struct check_ctx *c, struct report *r, const struct net_driver_facts *d) {
        _cleanup_free_ char *fix = NULL;

        if (d->lxc_allowed)
                return report_add(r, "net.source-ip", CHECK_PASS, NULL,
                                  "lxc-user-nic is allowed for %s: a real veth keeps clients' source addresses",
                                  strna(c->user.name));
        if (d->slirp4netns && d->rootlesskit)
                return report_add(r, "net.source-ip", CHECK_PASS, NULL,
                                  "slirp4netns is present: rootlesskit's slirp4netns port driver keeps clients' source "
                                  "addresses (up --port-driver slirp4netns; slower than the builtin driver)");
        fix = check_install_command(c, "slirp4netns");
        if (!fix)
                return -ENOMEM;
        return report_add(r, "net.source-ip", CHECK_WARN, fix,
                          "neither slirp4netns nor an allowed lxc-user-nic: the builtin port driver shows every "
                          "client as coming from the node's gateway (source IP hidden)");
}

static int check_dns(struct check_ctx *c, struct report *r) {
        _cleanup_free_ char *text = NULL, *upstream = NULL;
        _cleanup_strv_free_ char **ns = NULL, **ns_up = NULL;
        struct buf bad = {}, good = {};
        int k;

        k = host_read_file(c->host, "/etc/resolv.conf", 1024 * 1024, &text, NULL);
        if (k < 0)
                return report_add(r, "net.dns", CHECK_WARN,
                                  "write /etc/resolv.conf with a reachable server, e.g. 'nameserver 192.0.2.53'",
                                  "cannot read /etc/resolv.conf: %s: pods fall back to no DNS", strerror(-k));
        k = resolv_conf_parse(text, &ns);
        if (k < 0)
                return k;
        for (char **s = ns; *s; s++) {
                struct buf *b = nameserver_usable_in_pod(*s) ? &good : &bad;

                if (buf_printf(b, "%s%s", b->len ? " " : "", *s) < 0)
                        goto oom;
        }
        if (!bad.len && good.len) {
                k = report_add(r, "net.dns", CHECK_PASS, NULL, "/etc/resolv.conf nameservers: %s", good.data);
                goto out;
        }
        if (host_read_file(c->host, "/run/systemd/resolve/resolv.conf", 1024 * 1024, &upstream, NULL) >= 0 &&
            resolv_conf_parse(upstream, &ns_up) >= 0) {
                struct buf up = {};
                bool all = ns_up[0] != NULL;

                for (char **s = ns_up; *s; s++)
                        all = all && nameserver_usable_in_pod(*s);
                if (all) {
                        for (char **s = ns_up; *s; s++)
                                if (buf_printf(&up, "%s%s", up.len ? " " : "", *s) < 0) {
                                        buf_free(&up);
                                        goto oom;
                                }
                        k = report_add(r, "net.dns", CHECK_PASS, NULL,
                                       "/etc/resolv.conf points at %s (not reachable from the node); up uses "
                                       "/run/systemd/resolve/resolv.conf's upstreams: %s",
                                       bad.len ? bad.data : "no server", up.data);
                        buf_free(&up);
                        goto out;
                }
        }
        if (!bad.len && !good.len) {
                k = report_add(r, "net.dns", CHECK_WARN,
                               "add a 'nameserver ADDRESS' line for a reachable DNS server to /etc/resolv.conf",
                               "/etc/resolv.conf lists no nameserver: pods resolve no names outside the cluster");
                goto out;
        }
        k = report_add(r, "net.dns", CHECK_WARN,
                       "add a non-loopback 'nameserver ADDRESS' line to /etc/resolv.conf, or run systemd-resolved so "
                       "that /run/systemd/resolve/resolv.conf lists the upstream servers",
                       "/etc/resolv.conf nameservers %s are loopback/link-local and unreachable from the node's network "
                       "namespace%s%s, and no upstream list in /run/systemd/resolve/resolv.conf",
                       bad.data, good.len ? "; usable: " : "", good.len ? good.data : "");
out:
        buf_free(&bad);
        buf_free(&good);
        return k;
oom:
        buf_free(&bad);
        buf_free(&good);
        return -ENOMEM;
}

static int check_ports(struct check_ctx *c, struct report *r) {
        static const struct {
                uint16_t port;
                const char *what;
        } ports[] = {
                { 6443, "API server" },
                { 10250, "kubelet" },
        };
        static const char *const files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
        char *text[2] = {};
        struct buf busy = {};
        bool any = false;
        int k = 0;

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                k = host_read_file(c->host, files[i], HOST_FILE_MAX, &text[i], NULL);
                if (k == -ENOMEM)
                        goto out;
                any = any || k >= 0;
        }
        if (!any) {
                k = report_add(r, "net.ports", CHECK_SKIP, NULL, "no /proc/net/tcp or tcp6%s: listening ports unknown",
                               c->host->offline ? " under the root" : "");
                goto out;
        }
        for (size_t p = 0; p < ELEMENTSOF(ports); p++) {
                bool listening = false;

                for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                        if (!text[i])
                                continue;
                        k = proc_net_tcp_listening(text[i], ports[p].port);
                        if (k == -ENOMEM)
                                goto out;
                        if (k < 0) {
                                k = report_add(r, "net.ports", CHECK_WARN, NULL, "cannot parse %s: %s", files[i],
                                               strerror(-k));
                                goto out;
                        }
                        listening = listening || k > 0;
                }
                if (listening && buf_printf(&busy, "%s%u (%s)", busy.len ? ", " : "", ports[p].port, ports[p].what) < 0) {
                        k = -ENOMEM;
                        goto out;
                }
        }
        if (busy.len)
                k = report_add(r, "net.ports", CHECK_WARN,
                               "usernode up --ephemeral (picks free ports), or stop what listens there",
                               "already listening on the host: %s", busy.data);
        else
                k = report_add(r, "net.ports", CHECK_PASS, NULL, "6443 (API server) and 10250 (kubelet) are free");
out:
        buf_free(&busy);
        free(text[0]);
        free(text[1]);
        return k;
}

static int check_ipv6(struct check_ctx *c, struct report *r) {
        _cleanup_free_ char *fix = NULL;
        enum sysctl_source src;
        int64_t v;
        int k;

        k = sysctl_read(c->host, "net.ipv6.conf.all.disable_ipv6", c->host->offline ? "0" : NULL, &v, 1, &src);
        if (k == -ENOENT) {
                fix = distro_kernel_cmdline_fix(&c->distro, "ipv6.disable=0");
                if (!fix)
                        return -ENOMEM;
                return report_add(r, "net.ipv6", CHECK_WARN, fix,
                                  "no /proc/sys/net/ipv6: the kernel runs without IPv6 (ipv6.disable=1?): IPv4-only node");
        }
        if (k < 0)
                return report_add(r, "net.ipv6", CHECK_WARN, NULL, "cannot read net.ipv6.conf.all.disable_ipv6: %s",
                                  strerror(-k));
        if (v == 0)
                return report_add(r, "net.ipv6", CHECK_PASS, NULL, "IPv6 is on (net.ipv6.conf.all.disable_ipv6 = 0, %s)",
                                  sysctl_source_to_string(src));
        return report_add(r, "net.ipv6", CHECK_WARN,
                          "echo 'net.ipv6.conf.all.disable_ipv6=0' | sudo tee -a /etc/sysctl.d/50-usernode.conf && "
                          "sudo sysctl -p /etc/sysctl.d/50-usernode.conf",
                          "net.ipv6.conf.all.disable_ipv6 = %" PRId64 " (%s): IPv4-only node", v, sysctl_source_to_string(src));
}

int check_net(struct check_ctx *c, struct report *r) {
        struct net_driver_facts d = { .tun = -1 };
        int k;

        k = check_tun(c, r);
        /* tun stays unknown here: net.tun reports it, and the pick is the one up makes when it works. */
        if (k >= 0)
                k = net_driver_facts_load(c->host, c->user.name, c->user.gid, true, &d);
        if (k >= 0)
                k = check_driver(c, r, &d);
        if (k >= 0)
                k = check_dns(c, r);
        if (k >= 0)
                k = check_ports(c, r);
        if (k >= 0)
                k = check_ipv6(c, r);
        if (k >= 0)
                k = check_source_ip(c, r, &d);
        net_driver_facts_done(&d);
        return k;
}

static const struct {
        const char *what, *cidr, *config, *flag;
} usernode_networks[] = {
        { "pod network", USERNODE_POD_CIDR, "cluster-cidr", "--cluster-cidr" },
        { "service network", USERNODE_SERVICE_CIDR, "service-cidr", "--service-cidr" },
        { "slirp network", USERNODE_SLIRP_CIDR, "cidr", "--cidr" },
};

static const char *ui_kind(enum net_entry_kind k) {
        return k == NET_ENTRY_ADDRESS ? "address network" : "route";
}

static int load_offline(const struct host *h, struct net_host_table *t, char **ret_sources) {
        static const char *const files[] = { "/proc/net/route", "/proc/net/ipv6_route" };
        struct buf src = {};
        int r;

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *text = NULL;

                r = host_read_file(h, files[i], HOST_FILE_MAX, &text, NULL);
                if (r == -ENOENT)
                        continue;
                if (r < 0) {
                        buf_free(&src);
                        return r;
                }
                r = net_route_parse_proc(text, i == 1, t);
                if (r < 0) {
                        buf_free(&src);
                        return r;
                }
                if (buf_printf(&src, "%s%s", src.len ? " and " : "", files[i]) < 0) {
                        buf_free(&src);
                        return -ENOMEM;
                }
        }
        if (src.len == 0)
                return -ENOENT;
        *ret_sources = buf_steal(&src);
        return *ret_sources ? 0 : -ENOMEM;
}

int check_net_cidr(struct check_ctx *c, struct report *r) {
        _cleanup_(net_host_table_done) struct net_host_table t = {};
        _cleanup_free_ char *sources = NULL;
        struct net_prefix ours[ELEMENTSOF(usernode_networks)];
        struct buf detail = {}, fix = {};
        int k;

        for (size_t i = 0; i < ELEMENTSOF(usernode_networks); i++)
                if (net_prefix_parse(usernode_networks[i].cidr, &ours[i]) < 0)
                        return -EINVAL;

        if (c->host->offline) {
                k = load_offline(c->host, &t, &sources);
                if (k == -ENOENT)
                        return report_add(r, "net.cidr", CHECK_SKIP, NULL,
                                          "no /proc/net/route or /proc/net/ipv6_route under the root: the image's "
                                          "networks are only known once it runs");
                if (k < 0)
                        return report_add(r, "net.cidr", CHECK_WARN, NULL, "cannot read the routes under the root: %s",
                                          strerror(-k));
        } else {
                k = netlink_load_host(&t);
                if (k < 0)
                        return report_add(r, "net.cidr", CHECK_WARN, NULL,
                                          "cannot list addresses and routes over rtnetlink: %s", strerror(-k));
                sources = strdup("rtnetlink");
                if (!sources)
                        return -ENOMEM;
        }

        for (size_t i = 0; i < ELEMENTSOF(usernode_networks); i++) {
                const struct net_host_entry *e = net_host_table_collision(&t, &ours[i]);
                char hostnet[INET6_ADDRSTRLEN + 8], freenet[INET6_ADDRSTRLEN + 8], ifbuf[IF_NAMESIZE] = "";
                struct net_prefix alt;
                const char *ifname;

                if (!e)
                        continue;
                ifname = e->ifname[0] ? e->ifname : e->ifindex && if_indextoname(e->ifindex, ifbuf) ? ifbuf : "?";
                net_prefix_to_string(&e->prefix, hostnet, sizeof hostnet);
                if (buf_printf(&detail, "%s%s %s overlaps the %s %s on %s", detail.len ? "; " : "",
                               ui_kind(e->kind), hostnet, usernode_networks[i].what, usernode_networks[i].cidr,
                               ifname) < 0)
                        goto oom;
                if (net_cidr_pick_free(&t, 16, ours, ELEMENTSOF(ours), &alt) < 0) {
                        if (buf_printf(&fix, "%sno free private /16 is left: pick a %s for %s by hand", fix.len ? "; " : "",
                                       usernode_networks[i].what, usernode_networks[i].flag) < 0)
                                goto oom;
                        continue;
                }
                /* One alternative per network, distinct from the other picks. */
                ours[i] = alt;
                net_prefix_to_string(&alt, freenet, sizeof freenet);
                if (buf_printf(&fix, "%susernode up %s %s (or %s: %s in the config file)", fix.len ? "; " : "",
                               usernode_networks[i].flag, freenet, usernode_networks[i].config, freenet) < 0)
                        goto oom;
        }
        if (detail.len > 0) {
                k = report_add(r, "net.cidr", CHECK_FAIL, fix.data,
                               "%s: pods could not reach that host network", detail.data);
                buf_free(&detail);
                buf_free(&fix);
                return k;
        }
        return report_add(r, "net.cidr", CHECK_PASS, NULL,
                          "pods %s, services %s, slirp %s collide with none of %zu IPv4 and %zu IPv6 addresses/routes (%s)",
                          USERNODE_POD_CIDR, USERNODE_SERVICE_CIDR, USERNODE_SLIRP_CIDR, t.n_v4, t.n_v6, sources);
oom:
        buf_free(&detail);
        buf_free(&fix);
        return -ENOMEM;
}
