/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Defaults for `up` from /etc/usernode/config.yaml, then the user's ~/.config/usernode/config.yaml,
 * then --config FILE; per-node sections (nodes: NAME:) over the top level; flags over all of them. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conffile.h"
#include "netlink.h"
#include "up.h"
#include "util.h"

static const struct config_key up_config_keys[] = {
        { "engine", CONFIG_STRING },       { "net", CONFIG_STRING },          { "port-driver", CONFIG_STRING },
        { "wait", CONFIG_STRING },         { "foreground", CONFIG_BOOL },     { "ephemeral", CONFIG_BOOL },
        { "publish", CONFIG_LIST },        { "server", CONFIG_STRING },       { "token", CONFIG_STRING },
        { "cidr", CONFIG_STRING },         { "cluster-cidr", CONFIG_STRING }, { "service-cidr", CONFIG_STRING },
        { "ignore", CONFIG_LIST },         { "ipv6", CONFIG_BOOL },
};
const struct config_key *const up_config_keys_ptr = up_config_keys;
const size_t up_config_n_keys = ELEMENTSOF(up_config_keys);

bool up_server_valid(const char *s) {
        return startswith(s, "https://") && strlen(s) > 8 && strlen(s) <= 512 && !strpbrk(s, " \t\n\"'\\");
}

bool up_token_valid(const char *s) {
        return strlen(s) > 0 && strlen(s) <= 512 && !strpbrk(s, " \t\n\"'\\");
}

bool up_ignore_id_valid(const char *s) {
        return strlen(s) > 0 && strlen(s) <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-*") == strlen(s);
}

int up_wait_parse(const char *s, bool *ret_wait, unsigned *ret_sec) {
        uint32_t v;

        if (!s || strcmp(s, "true") == 0) {
                *ret_wait = true;
                return 0;
        }
        if (strcmp(s, "false") == 0) {
                *ret_wait = false;
                return 0;
        }
        if (parse_u32(s, &v) < 0 || v == 0 || v > 86400)
                return -EINVAL;
        *ret_wait = true;
        *ret_sec = v;
        return 0;
}

bool up_cidr_valid(const char *s) {
        struct net_prefix p;

        return strlen(s) < 48 && net_prefix_parse(s, &p) >= 0 && p.family == AF_INET;
}

static char *user_config_path(void) {
        const char *x = secure_getenv("XDG_CONFIG_HOME"), *home = secure_getenv("HOME");

        if (x && x[0] == '/' && strlen(x) < 1024)
                return xstrdup_printf("%s/usernode/config.yaml", x);
        if (home && home[0] == '/' && strlen(home) < 1024)
                return xstrdup_printf("%s/.config/usernode/config.yaml", home);
        return NULL;
}

int up_config_load(const struct host *h, const char *extra, struct config *cfg, struct un_error *err) {
        _cleanup_free_ char *user = user_config_path();
        int r;

        r = config_load(h, UP_CONFIG_SYSTEM, up_config_keys, up_config_n_keys, cfg, err);
        if (r >= 0 && user)
                r = config_load(h, user, up_config_keys, up_config_n_keys, cfg, err);
        if (r >= 0 && extra) {
                if (!host_exists(h, extra))
                        return un_error(err, ENOENT, "--config %s: no such file", extra);
                r = config_load(h, extra, up_config_keys, up_config_n_keys, cfg, err);
        }
        return r < 0 ? (err && err->code ? -err->code : r) : 0;
}

static int bad(const struct config_entry *e, struct un_error *err, const char *what) {
        return un_error(err, EINVAL, "%s:%u:%u: bad value '%.64s' for %s: %s", e->file, e->line, e->column,
                        e->values[0] ? e->values[0] : "", e->key, what);
}

static int apply_one(const struct config *cfg, const char *node, struct up_options *o, bool *ret_engine_set,
                     struct un_error *err) {
        const struct config_entry *e;

        *ret_engine_set = false;
        if ((e = config_get(cfg, node, "engine"))) {
                if (engine_from_string(e->values[0], &o->engine) < 0)
                        return bad(e, err, "k3s or kubelet");
                *ret_engine_set = true;
        }
        if ((e = config_get(cfg, node, "net"))) {
                if (strcmp(e->values[0], "auto") != 0 && !net_driver_find(e->values[0]))
                        return bad(e, err, "auto, slirp4netns, pasta or lxc-user-nic");
                o->net = e->values[0];
        }
        if ((e = config_get(cfg, node, "port-driver")) && port_driver_from_string(e->values[0], &o->port_driver) < 0)
                return bad(e, err, "builtin or slirp4netns");
        if ((e = config_get(cfg, node, "wait")) && up_wait_parse(e->values[0], &o->wait, &o->wait_sec) < 0)
                return bad(e, err, "true, false or seconds (1-86400)");
        if ((e = config_get(cfg, node, "foreground")))
                o->foreground = strcmp(e->values[0], "true") == 0;
        if ((e = config_get(cfg, node, "ephemeral")))
                o->ephemeral = strcmp(e->values[0], "true") == 0;
        if ((e = config_get(cfg, node, "ipv6")))
                o->enable_ipv6 = strcmp(e->values[0], "true") == 0;
        if ((e = config_get(cfg, node, "server"))) {
                if (!up_server_valid(e->values[0]))
                        return bad(e, err, "an https:// URL");
                o->server = e->values[0];
        }
        if ((e = config_get(cfg, node, "token"))) {
                if (!up_token_valid(e->values[0]))
                        return bad(e, err, "a bootstrap token");
                o->token = e->values[0];
        }
        static const struct {
                const char *key;
                size_t offset;
        } cidrs[] = {
                { "cidr", offsetof(struct up_options, cidr) },
                { "cluster-cidr", offsetof(struct up_options, cluster_cidr) },
                { "service-cidr", offsetof(struct up_options, service_cidr) },
        };
        for (size_t i = 0; i < ELEMENTSOF(cidrs); i++)
                if ((e = config_get(cfg, node, cidrs[i].key))) {
                        if (!up_cidr_valid(e->values[0]))
                                return bad(e, err, "an IPv4 network with its host bits clear (10.42.0.0/16)");
                        *(const char **) ((char *) o + cidrs[i].offset) = e->values[0];
                }
        if ((e = config_get(cfg, node, "publish"))) {
                o->n_publish = 0;
                for (char **v = e->values; *v; v++) {
                        if (o->n_publish >= NODE_PORTS_MAX || node_port_parse(*v, &o->publish[o->n_publish]) < 0)
                                return un_error(err, EINVAL, "%s:%u:%u: bad value '%.64s' for publish: "
                                                "[IP:]HOSTPORT:NODEPORT[/tcp|/udp], at most %u", e->file, e->line,
                                                e->column, *v, NODE_PORTS_MAX);
                        o->n_publish++;
                }
        }
        if ((e = config_get(cfg, node, "ignore"))) {
                for (char **v = e->values; *v; v++)
                        if (!up_ignore_id_valid(*v))
                                return un_error(err, EINVAL, "%s:%u:%u: bad value '%.64s' for ignore: a check ID",
                                                e->file, e->line, e->column, *v);
                o->ignore = e->values;
        }
        if (!!o->server != !!o->token)
                return un_error(err, EINVAL, "%s: server and token go together",
                                (e = config_get(cfg, node, o->server ? "server" : "token")) ? e->file : "config");
        return 0;
}

int up_config_apply(const struct config *cfg, const char *node, struct up_options *o, bool *ret_engine_set,
                    struct un_error *err) {
        /* A bad value is an error in any node's section, not only in the one started now. */
        for (size_t i = 0; i < cfg->n; i++) {
                const char *other = cfg->entries[i].node;
                struct up_options scratch = {};
                bool seen = false, set;
                int r;

                for (size_t j = 0; j < i && other && !seen; j++)
                        seen = cfg->entries[j].node && strcmp(cfg->entries[j].node, other) == 0;
                if (!other || seen || (node && strcmp(other, node) == 0))
                        continue;
                r = apply_one(cfg, other, &scratch, &set, err);
                if (r < 0)
                        return r;
        }
        return apply_one(cfg, node, o, ret_engine_set, err);
}
