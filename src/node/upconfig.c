/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Defaults for `up` from /etc/usernode/config.yaml, then the user's ~/.config/usernode/config.yaml,
 * then --config FILE; per-node sections (nodes: NAME:) over the top level; flags over all of them. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conffile.h"
#include "driver.h"
#include "net-driver.h"
#include "netlink.h"
#include "podlimits.h"
#include "up.h"
#include "util.h"

static const struct config_key up_config_keys[] = {
        { "engine", CONFIG_STRING },       { "net", CONFIG_STRING },          { "port-driver", CONFIG_STRING },
        { "wait", CONFIG_STRING },         { "foreground", CONFIG_BOOL },     { "ephemeral", CONFIG_BOOL },
        { "publish", CONFIG_LIST },        { "server", CONFIG_STRING },       { "token", CONFIG_STRING },
        { "cidr", CONFIG_STRING },         { "cluster-cidr", CONFIG_STRING }, { "service-cidr", CONFIG_STRING },
        { "ignore", CONFIG_LIST },         { "ipv6", CONFIG_BOOL },           { "token-file", CONFIG_STRING },
        { "discovery-token-ca-cert-hash", CONFIG_LIST },                    { "ca-file", CONFIG_STRING },
        { "discovery-token-unsafe-skip-ca-verification", CONFIG_BOOL },     { "node-ip", CONFIG_STRING },
        { "pod-pids-limit", CONFIG_STRING },
        { "workers", CONFIG_STRING },
};
const struct config_key *const up_config_keys_ptr = up_config_keys;
const size_t up_config_n_keys = ELEMENTSOF(up_config_keys);

bool up_server_valid(const char *s) {
        const char *rest = startswith(s, "https://");

        /* kubeadm's join line names the endpoint as HOST:PORT. */
        if (!rest && (strstr(s, "://") || !strchr(s, ':')))
                return false;
        rest = rest ? rest : s;
        return strlen(rest) > 0 && strlen(s) <= 512 && !strpbrk(s, " \t\n\"'\\{}<>`|^") && rest[0] != ':' &&
               rest[0] != '/';
}

char *up_server_url(const char *s) {
        return startswith(s, "https://") ? strdup(s) : xstrdup_printf("https://%s", s);
}

int up_ca_cert_hash_valid(const char *s) {
        struct join_pin p;

        return join_pin_parse(s, &p);
}

bool up_node_ip_valid(const char *s) {
        struct in_addr a;

        return strlen(s) < 16 && inet_pton(AF_INET, s, &a) == 1 && a.s_addr != htonl(INADDR_ANY) &&
               (ntohl(a.s_addr) >> 24) != 127;
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

int net_options_check(const struct up_options *o, struct un_error *err) {
        enum net_driver_id d;
        const char *reason;

        if (o->net && strcmp(o->net, "auto") != 0 && net_driver_from_string(o->net, &d) >= 0 &&
            port_driver_allowed(d, o->port_driver, &reason) < 0)
                return un_error(err, EINVAL, "--net %s with --port-driver %s: %s", o->net,
                                port_driver_to_string(o->port_driver), reason);
        if (port_driver_explicit(o->port_driver))
                return 0;
        if (o->n_publish > 0)
                return un_error(err, EINVAL, "--publish needs a port driver that publishes what it is asked "
                                "(builtin or slirp4netns): with --port-driver implicit pasta publishes every port the "
                                "node listens on, under its own number, on every address of this host");
        return 0;
}

static char *user_config_path(void) {
        const char *x = secure_getenv("XDG_CONFIG_HOME"), *home = secure_getenv("HOME");

        if (x && x[0] == '/' && strlen(x) < 1024)
                return xstrdup_printf("%s/usernode/config.yaml", x);
        if (home && home[0] == '/' && strlen(home) < 1024)
                return xstrdup_printf("%s/.config/usernode/config.yaml", home);
        return NULL;
}

/* A token in a configuration file is a secret like a key: only its owner may read the file (ssh's rule). */
static int config_secrets_private(const struct host *h, const char *path, const struct config *cfg,
                                  struct un_error *err) {
        struct stat st;

        for (size_t i = 0; i < cfg->n; i++) {
                const struct config_entry *e = &cfg->entries[i];

                if (strcmp(e->key, "token") != 0 || strcmp(e->file, path) != 0)
                        continue;
                if (host_stat(h, path, &st, true) < 0)
                        return un_error(err, errno ? errno : EIO, "%s", path);
                if (st.st_mode & 077)
                        return un_error(err, EPERM, "%s:%u: holds a join token but others can read it (mode %04o); "
                                        "run: chmod 600 %s, or name a file with token-file:", path, e->line,
                                        (unsigned) (st.st_mode & 07777), path);
        }
        return 0;
}

static int config_load_one(const struct host *h, const char *path, struct config *cfg, struct un_error *err) {
        int r = config_load(h, path, up_config_keys, up_config_n_keys, cfg, err);

        return r < 0 ? r : config_secrets_private(h, path, cfg, err);
}

int up_config_load(const struct host *h, const char *extra, struct config *cfg, struct un_error *err) {
        _cleanup_free_ char *user = user_config_path();
        int r;

        r = config_load_one(h, UP_CONFIG_SYSTEM, cfg, err);
        if (r >= 0 && user)
                r = config_load_one(h, user, cfg, err);
        if (r >= 0 && extra) {
                if (!host_exists(h, extra))
                        return un_error(err, ENOENT, "--config %s: no such file", extra);
                r = config_load_one(h, extra, cfg, err);
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
                return bad(e, err, "builtin, slirp4netns or implicit");
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
                        return bad(e, err, "an https:// URL or HOST:PORT");
                o->server = e->values[0];
        }
        if ((e = config_get(cfg, node, "token"))) {
                if (!join_token_valid(e->values[0]))
                        return bad(e, err, "a bootstrap token");
                o->token = e->values[0];
        }
        if ((e = config_get(cfg, node, "token-file"))) {
                if (e->values[0][0] != '/' || strlen(e->values[0]) > 4096)
                        return bad(e, err, "an absolute path");
                o->token_file = e->values[0];
        }
        if ((e = config_get(cfg, node, "discovery-token-ca-cert-hash"))) {
                o->n_ca_cert_hashes = 0;
                for (char **v = e->values; *v; v++) {
                        if (o->n_ca_cert_hashes >= JOIN_PINS_MAX || up_ca_cert_hash_valid(*v) < 0)
                                return bad(e, err, "sha256: and 64 hex digits, at most 8");
                        o->ca_cert_hashes[o->n_ca_cert_hashes++] = *v;
                }
        }
        if ((e = config_get(cfg, node, "ca-file"))) {
                if (e->values[0][0] != '/' || strlen(e->values[0]) > 4096)
                        return bad(e, err, "an absolute path");
                o->ca_file = e->values[0];
        }
        if ((e = config_get(cfg, node, "discovery-token-unsafe-skip-ca-verification")))
                o->unsafe_skip_ca_verification = strcmp(e->values[0], "true") == 0;
        if ((e = config_get(cfg, node, "node-ip"))) {
                if (!up_node_ip_valid(e->values[0]))
                        return bad(e, err, "an IPv4 address");
                o->node_ip = e->values[0];
        }
        if ((e = config_get(cfg, node, "pod-pids-limit")) && up_pod_pids_limit_parse(e->values[0], &o->pod_pids_limit) < 0)
                return bad(e, err, "-1 (no limit) or 16-4194304");
        if ((e = config_get(cfg, node, "workers")) && (parse_u32(e->values[0], &o->workers) < 0 || o->workers > UP_WORKERS_MAX))
                return bad(e, err, "0-8");
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
                        if (!net_cidr_ipv4_valid(e->values[0]))
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
        if (o->token && o->token_file)
                return un_error(err, EINVAL, "%s: token and token-file exclude each other",
                                (e = config_get(cfg, node, "token-file")) ? e->file : "config");
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

int up_options_to_argv(const struct up_options *o, const char *name, char ***ret) {
        _cleanup_strv_free_ char **argv = NULL;
        char buf[128];
        int r = 0;

#define PUSH(s)                                         \
        do {                                            \
                if ((r = strv_push(&argv, (s))) < 0)    \
                        return r;                       \
        } while (0)
        PUSH(o->self ? o->self : "usernode");
        PUSH("up");
        PUSH("--foreground");
        PUSH("--name");
        PUSH(name);
        PUSH("--engine");
        PUSH(engine_to_string(o->engine));
        PUSH("--net");
        PUSH(o->net ? o->net : "auto");
        PUSH("--port-driver");
        PUSH(port_driver_to_string(o->port_driver));
        for (size_t i = 0; i < o->n_publish; i++) {
                snprintf(buf, sizeof buf, "%s:%u:%u/%s", o->publish[i].host_ip, (unsigned) o->publish[i].host_port,
                         (unsigned) o->publish[i].node_port, o->publish[i].proto);
                PUSH("--publish");
                PUSH(buf);
        }
        /* Never the token: `up` prepared the join before it started the unit (node_join_prepare). */
        if (o->server) {
                PUSH("--server");
                PUSH(o->server);
        }
        if (o->node_ip) {
                PUSH("--node-ip");
                PUSH(o->node_ip);
        }
        /* The port the caller's kubeconfig names: the unit's `up` must not pick another. */
        if (o->control_plane && o->apiserver_port) {
                snprintf(buf, sizeof buf, "%u", (unsigned) o->apiserver_port);
                PUSH("--apiserver-port");
                PUSH(buf);
        }
        /* A cluster others join is published where it was. */
        if (o->control_plane && o->apiserver_address) {
                PUSH("--apiserver-address");
                PUSH(o->apiserver_address);
        }
        snprintf(buf, sizeof buf, "%" PRId64, o->pod_pids_limit);
        PUSH("--pod-pids-limit");
        PUSH(buf);
        if (o->workers) {
                snprintf(buf, sizeof buf, "%u", o->workers);
                PUSH("--workers");
                PUSH(buf);
        }
        static const struct {
                const char *option;
                size_t offset;
        } strings[] = {
                { "--cidr", offsetof(struct up_options, cidr) },
                { "--cluster-cidr", offsetof(struct up_options, cluster_cidr) },
                { "--service-cidr", offsetof(struct up_options, service_cidr) },
                { "--config", offsetof(struct up_options, config) },
        };
        for (size_t i = 0; i < ELEMENTSOF(strings); i++) {
                const char *v = *(const char *const *) ((const char *) o + strings[i].offset);

                if (v) {
                        PUSH(strings[i].option);
                        PUSH(v);
                }
        }
        if (o->ignore && o->ignore[0]) {
                _cleanup_free_ char *list = NULL;
                struct buf b = {};

                for (char **i = o->ignore; *i; i++)
                        if (buf_printf(&b, "%s%s", i == o->ignore ? "" : ",", *i) < 0) {
                                buf_free(&b);
                                return -ENOMEM;
                        }
                list = buf_steal(&b);
                PUSH("--ignore");
                PUSH(list);
        }
#undef PUSH
        *ret = TAKE_PTR(argv);
        return 0;
}
