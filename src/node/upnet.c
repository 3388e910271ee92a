/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The node's addressing: its networks (rootlesskit's, the pods', the services', its workers') clear of the host's routes, and a resolv.conf the
 * node can use when the host's names only a loopback stub resolver. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "net.h"
#include "netlink.h"
#include "up.h"
#include "util.h"

#define RESOLVED_UPSTREAM "/run/systemd/resolve/resolv.conf"

static int pick_one(const struct net_host_table *t, const char *flag, const char *given, const char *def,
                    struct net_prefix *avoid, size_t *n_avoid, char *out, size_t size, struct un_error *err) {
        struct net_prefix p;
        bool clash = false;
        int r;

        if (given) {
                if (strlen(given) >= size || net_prefix_parse(given, &p) < 0 || p.family != AF_INET)
                        return un_error(err, EINVAL, "%s takes an IPv4 network with its host bits clear "
                                        "(10.42.0.0/16), not '%.64s'", flag, given);
                for (size_t i = 0; i < *n_avoid; i++)
                        if (net_prefix_overlaps(&p, &avoid[i]))
                                return un_error(err, EINVAL, "%s %s overlaps another of the node's networks", flag,
                                                given);
        } else {
                r = net_prefix_parse(def, &p);
                if (r < 0)
                        return un_error(err, -r, "default network %s", def);
                clash = t && net_host_table_collision(t, &p);
                for (size_t i = 0; i < *n_avoid && !clash; i++)
                        clash = net_prefix_overlaps(&p, &avoid[i]);
                if (clash) {
                        const struct net_host_table empty = {};

                        r = net_cidr_pick_free(t ? t : &empty, p.len, avoid, *n_avoid, &p);
                        if (r < 0)
                                return un_error(err, -r, "no free private network for %s: pass one", flag);
                }
        }
        avoid[(*n_avoid)++] = p;
        net_prefix_to_string(&p, out, size);
        return 0;
}

int up_pick_cidrs_from(const struct net_host_table *t, const struct up_options *o, struct up_cidrs *ret,
                       struct un_error *err) {
        struct net_prefix avoid[4];
        size_t n = 0;
        int r;

        /* Given ones first: the defaults then step aside for them too. */
        const struct {
                const char *flag, *given, *def;
                char *out;
        } nets[] = {
                { "--cidr", o->cidr, USERNODE_SLIRP_CIDR, ret->slirp },
                { "--cluster-cidr", o->cluster_cidr, USERNODE_POD_CIDR, ret->cluster },
                { "--service-cidr", o->service_cidr, USERNODE_SERVICE_CIDR, ret->service },
        };
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < ELEMENTSOF(nets); i++) {
                        if ((pass == 0) != !!nets[i].given)
                                continue;
                        r = pick_one(t, nets[i].flag, nets[i].given, nets[i].def, avoid, &n, nets[i].out,
                                     sizeof ret->slirp, err);
                        if (r < 0)
                                return r;
                }
        /* The bridge between a node and its workers, inside the node: clear of the others and of the host's routes
         * (pasta gives the node the host's). */
        ret->workers[0] = '\0';
        return o->workers > 0 ? pick_one(t, "the workers' network", NULL, USERNODE_WORKERS_CIDR, avoid, &n, ret->workers,
                                         sizeof ret->workers, err)
                              : 0;
}

int up_pick_cidrs(const struct up_options *o, struct up_cidrs *ret, struct un_error *err) {
        struct net_host_table t = {};
        int r;

        /* Without netlink (a locked-down sandbox) the defaults still stand; rootlesskit reports clashes. */
        r = netlink_load_host(&t);
        r = up_pick_cidrs_from(r >= 0 ? &t : NULL, o, ret, err);
        net_host_table_done(&t);
        return r;
}

static int usable_nameservers(const char *text, char ***ret) {
        _cleanup_strv_free_ char **all = NULL, **ok = NULL;
        int r = resolv_conf_parse(text, &all);

        if (r < 0)
                return r;
        for (char **a = all; a && *a; a++)
                if (nameserver_usable_in_pod(*a) && strv_push(&ok, *a) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(ok);
        return 0;
}

int up_node_resolv_conf(const struct host *h, char **ret) {
        _cleanup_free_ char *etc = NULL, *upstream = NULL;
        _cleanup_strv_free_ char **ns = NULL;
        struct buf b = {};
        char *cursor, *line;
        int r;

        *ret = NULL;
        r = host_read_file(h, "/etc/resolv.conf", HOST_FILE_MAX, &etc, NULL);
        if (r < 0 && r != -ENOENT)
                return r;
        if (etc) {
                r = usable_nameservers(etc, &ns);
                if (r < 0)
                        return r;
                if (ns && ns[0])
                        return 0;
        }
        r = host_read_file(h, RESOLVED_UPSTREAM, HOST_FILE_MAX, &upstream, NULL);
        if (r < 0)
                return r == -ENOENT ? -ENOENT : r;
        strv_free(ns);
        ns = NULL;
        r = usable_nameservers(upstream, &ns);
        if (r < 0)
                return r;
        if (!ns || !ns[0])
                return -ENOENT;
        if (buf_puts(&b, "# usernode: the host's resolver is a loopback stub; its upstreams from "
                         RESOLVED_UPSTREAM "\n") < 0)
                goto oom;
        for (char **n = ns; *n; n++)
                if (buf_printf(&b, "nameserver %s\n", *n) < 0)
                        goto oom;
        /* The host's search domains and options still apply (from /etc/resolv.conf, else resolved's). */
        cursor = etc ? etc : upstream;
        while ((line = line_next(&cursor, HOST_LINE_MAX, NULL))) {
                line = strstrip(line);
                if ((startswith(line, "search ") || startswith(line, "options ")) && strlen(line) < 1024 &&
                    buf_printf(&b, "%s\n", line) < 0)
                        goto oom;
        }
        *ret = buf_steal(&b);
        return *ret ? 0 : -ENOMEM;
oom:
        buf_free(&b);
        return -ENOMEM;
}

int node_resolv_conf_file(const struct node *n, const struct up_options *o, char **ret_path, struct un_error *err) {
        const struct host *h = host_live();
        _cleanup_free_ char *text = NULL, *path = NULL;
        int r;

        *ret_path = NULL;
        r = up_node_resolv_conf(h, &text);
        if (r == -ENOENT) {
                /* Names will not resolve in pods; the node still runs (an offline CI job may not care). */
                return 0;
        }
        if (r < 0 || !text) {
                return r < 0 ? un_error(err, -r, "cannot read the host's resolv.conf") : 0;
        }
        path = node_runtime_path(n, "resolv.conf");
        if (!path)
                r = -ENOMEM;
        else if (!o->dry_run)
                r = host_write_runtime(h, path, text, strlen(text), 0644, err);
        if (r < 0)
                return err && err->code ? r : un_error(err, -r, "node resolv.conf");
        *ret_path = TAKE_PTR(path);
        return 0;
}
