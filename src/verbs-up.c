/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The verb `up`: its options (config.yaml's, then the flags over them), then the node started beside
 * the checks and its stages shown. Its steps return 0 to go on, or the exit code to stop with. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checks.h"
#include "cli.h"
#include "conffile.h"
#include "driver.h"
#include "netlink.h"
#include "podlimits.h"
#include "up.h"
#include "util.h"

/* A secret's memory is wiped before it goes back to the allocator. */
static void freep_secret(char **p) {
        if (*p)
                explicit_bzero(*p, strlen(*p));
        free(*p);
}

static const char *yes_no(bool b) {
        return b ? "yes" : "no";
}

/* --server and what joining takes with it. */
static int up_parse_join_option(struct cli *c, int opt, char *arg) {
        switch (opt) {
        case OPT_SERVER:
                if (!up_server_valid(arg)) {
                        fprintf(stderr, "usernode: --server takes an https:// URL or HOST:PORT (as kubeadm join)\n");
                        return -EINVAL;
                }
                c->server = arg;
                return 1;
        case OPT_TOKEN:
                if (!join_token_valid(arg)) {
                        fprintf(stderr, "usernode: --token takes a bootstrap token\n");
                        return -EINVAL;
                }
                /* The command line is readable by every local user: take a copy and blank it. */
                c->token = strdup(arg);
                if (!c->token)
                        return -ENOMEM;
                memset(arg, 'x', strlen(arg));
                fprintf(stderr, "usernode: warning: --token puts the join token on a command line, where every "
                        "local user can read it while it runs and it stays in your shell's history; "
                        "use --token-file FILE (mode 0600)\n");
                return 1;
        case OPT_TOKEN_FILE:
                if (strlen(arg) == 0 || strlen(arg) > 4096) {
                        fprintf(stderr, "usernode: --token-file takes a path\n");
                        return -EINVAL;
                }
                c->token_file = arg;
                return 1;
        case OPT_CA_CERT_HASH:
                if (up_ca_cert_hash_valid(arg) < 0 || c->n_ca_cert_hashes >= JOIN_PINS_MAX) {
                        fprintf(stderr, "usernode: --discovery-token-ca-cert-hash takes sha256: and 64 hex "
                                "digits, at most %u times\n", JOIN_PINS_MAX);
                        return -EINVAL;
                }
                c->ca_cert_hashes[c->n_ca_cert_hashes++] = arg;
                return 1;
        case OPT_CA_FILE:
                if (strlen(arg) == 0 || strlen(arg) > 4096) {
                        fprintf(stderr, "usernode: --ca-file takes a path\n");
                        return -EINVAL;
                }
                c->ca_file = arg;
                return 1;
        case OPT_UNSAFE_SKIP_CA:
                c->unsafe_skip_ca_verification = true;
                return 1;
        case OPT_NODE_IP:
                if (!up_node_ip_valid(arg)) {
                        fprintf(stderr, "usernode: --node-ip takes an IPv4 address\n");
                        return -EINVAL;
                }
                c->node_ip = arg;
                return 1;
        default:
                return 0;
        }
}

/* --cidr, --cluster-cidr, --service-cidr. */
static int up_parse_cidr_option(struct cli *c, int opt, const char *arg) {
        if (opt != OPT_CIDR && opt != OPT_CLUSTER_CIDR && opt != OPT_SERVICE_CIDR)
                return 0;
        if (!net_cidr_ipv4_valid(arg)) {
                fprintf(stderr, "usernode: --%s takes an IPv4 network with its host bits clear (10.42.0.0/16), "
                        "not '%s'\n", opt == OPT_CIDR ? "cidr" : opt == OPT_CLUSTER_CIDR ? "cluster-cidr" : "service-cidr",
                        arg);
                return -EINVAL;
        }
        *(opt == OPT_CIDR ? &c->cidr : opt == OPT_CLUSTER_CIDR ? &c->cluster_cidr : &c->service_cidr) = arg;
        return 1;
}

int verb_up_parse_option(struct cli *c, int opt, char *arg) {
        int r = up_parse_join_option(c, opt, arg);

        if (r == 0)
                r = up_parse_cidr_option(c, opt, arg);
        if (r != 0)
                return r;
        switch (opt) {
        case OPT_NET:
                if (!net_driver_find(arg) && strcmp(arg, "auto") != 0) {
                        fprintf(stderr, "usernode: --net must be auto, slirp4netns, pasta or lxc-user-nic\n");
                        return -EINVAL;
                }
                c->net = arg;
                return 1;
        case OPT_PORT_DRIVER: {
                enum port_driver d;

                if (port_driver_from_string(arg, &d) < 0) {
                        fprintf(stderr, "usernode: --port-driver must be builtin, slirp4netns or implicit\n");
                        return -EINVAL;
                }
                c->port_driver = arg;
                return 1;
        }
        case OPT_EPHEMERAL:
                c->ephemeral = true;
                return 1;
        case OPT_WAIT:
                c->wait = true;
                c->wait_sec_given = !!arg;
                if (arg && (parse_u32(arg, &c->wait_sec) < 0 || c->wait_sec == 0 || c->wait_sec > 86400)) {
                        fprintf(stderr, "usernode: --wait takes seconds (1-86400)\n");
                        return -EINVAL;
                }
                return 1;
        case OPT_FOREGROUND:
                c->foreground = true;
                return 1;
        case OPT_PUBLISH:
                if (c->n_publish >= NODE_PORTS_MAX || node_port_parse(arg, &c->publish[c->n_publish]) < 0) {
                        fprintf(stderr, "usernode: --publish takes [IP:]HOSTPORT:NODEPORT[/tcp|/udp]\n");
                        return -EINVAL;
                }
                c->n_publish++;
                return 1;
        case OPT_APISERVER_PORT: {
                uint32_t port;

                if (parse_u32(arg, &port) < 0 || port == 0 || port > 65535) {
                        fprintf(stderr, "usernode: --apiserver-port takes a port number\n");
                        return -EINVAL;
                }
                c->apiserver_port = (uint16_t) port;
                return 1;
        }
        case OPT_APISERVER_ADDRESS: {
                struct in_addr a;

                if (strlen(arg) >= INET_ADDRSTRLEN || inet_pton(AF_INET, arg, &a) != 1 || a.s_addr == htonl(INADDR_ANY)) {
                        fprintf(stderr, "usernode: --apiserver-address takes one IPv4 address of this host\n");
                        return -EINVAL;
                }
                c->apiserver_address = arg;
                return 1;
        }
        case OPT_WORKERS:
                if (parse_u32(arg, &c->workers) < 0 || c->workers > UP_WORKERS_MAX) {
                        fprintf(stderr, "usernode: --workers takes 0-%u\n", UP_WORKERS_MAX);
                        return -EINVAL;
                }
                c->workers_given = true;
                return 1;
        case OPT_POD_PIDS_LIMIT:
                if (up_pod_pids_limit_parse(arg, &c->pod_pids_limit) < 0) {
                        fprintf(stderr, "usernode: --pod-pids-limit takes -1 (no limit) or 16-4194304\n");
                        return -EINVAL;
                }
                c->pod_pids_limit_given = true;
                return 1;
        case OPT_CONFIG:
                if (strlen(arg) == 0 || strlen(arg) > 4096) {
                        fprintf(stderr, "usernode: --config needs a file\n");
                        return -EINVAL;
                }
                c->config = arg;
                return 1;
        default:
                return 0;
        }
}

/* --dry-run: the settings after files and flags, and the command the supervisor would start. */
static int up_dry_run(const struct up_options *o, struct node *n) {
        _cleanup_strv_free_ char **argv = NULL, **env = NULL;
        struct un_error err = {};
        struct up_cidrs nets;
        int r;

        printf("name: %s\nengine: %s\nnet: %s\nport-driver: %s\nwait: %s\nwait-seconds: %u\nforeground: %s\n"
               "ephemeral: %s\n", o->name, engine_to_string(o->engine), o->net, port_driver_to_string(o->port_driver),
               yes_no(o->wait), o->wait_sec, yes_no(o->foreground), yes_no(o->ephemeral));
        if (o->server)
                printf("server: %s\n", o->server);
        if (o->node_ip)
                printf("node-ip: %s\nkubelet-port: %u\n", o->node_ip, (unsigned) o->kubelet_port);
        if (o->control_plane)
                printf("control-plane: yes\napiserver: https://%s:%u\n", up_apiserver_address(o),
                       (unsigned) o->apiserver_port);
        if (o->workers)
                printf("workers: %u\n", o->workers);
        for (size_t i = 0; i < o->n_publish; i++)
                printf("publish: %s:%u:%u/%s\n", o->publish[i].host_ip, (unsigned) o->publish[i].host_port,
                       (unsigned) o->publish[i].node_port, o->publish[i].proto);
        for (char **i = o->ignore; i && *i; i++)
                printf("ignore: %s\n", *i);
        r = up_pick_cidrs(o, &nets, &err);
        if (r >= 0) {
                printf("cidr: %s\ncluster-cidr: %s\nservice-cidr: %s\n", nets.slirp, nets.cluster, nets.service);
                if (nets.workers[0])
                        printf("workers-cidr: %s\n", nets.workers);
                r = node_engine_get(o->engine)->command(n, o, &argv, &env, &err);
        }
        if (r < 0) {
                fprintf(stderr, "usernode up: %s\n", err.msg);
                return r == -EINVAL ? EXIT_USAGE : EXIT_NOT_READY;
        }
        for (char **e = env; e && *e; e++)
                printf("env: %s\n", *e);
        printf("exec:");
        for (char **a = argv; a && *a; a++)
                printf(" %s", *a);
        printf("\n");
        return fflush(stdout) != 0 ? EXIT_INTERNAL : EXIT_READY;
}

/* Files first (the system's, the user's, --config), per-node sections over their top level. */
static int up_apply_config(const struct cli *c, const struct host *h, struct config *cfg, struct up_options *o,
                           bool *ret_engine_set) {
        struct un_error err = {};
        int r;

        r = up_config_load(h, c->config, cfg, &err);
        if (r >= 0)
                r = up_config_apply(cfg, c->ephemeral ? NULL : cli_node_name(c), o, ret_engine_set, &err);
        if (r < 0) {
                fprintf(stderr, "usernode up: %s\n", err.msg);
                return r == -EINVAL || r == -ENOENT || r == -EPERM ? EXIT_USAGE : EXIT_INTERNAL;
        }
        return 0;
}

/* Then the flags. A --name beats a configured ephemeral. */
static void up_apply_flags(const struct cli *c, struct up_options *o) {
        if (c->name)
                o->ephemeral = false;
        o->ephemeral = o->ephemeral || c->ephemeral;
        o->wait = o->wait || c->wait;
        if (c->wait_sec_given)
                o->wait_sec = c->wait_sec;
        o->foreground = o->foreground || c->foreground;
        if (c->net)
                o->net = c->net;
        if (c->port_driver)
                (void) port_driver_from_string(c->port_driver, &o->port_driver);
        if (c->server)
                o->server = c->server;
        if (c->token || c->token_file) {
                o->token = c->token;
                o->token_file = c->token_file;
        }
        if (c->n_ca_cert_hashes > 0) {
                memcpy(o->ca_cert_hashes, c->ca_cert_hashes, sizeof o->ca_cert_hashes);
                o->n_ca_cert_hashes = c->n_ca_cert_hashes;
        }
        if (c->ca_file)
                o->ca_file = c->ca_file;
        o->unsafe_skip_ca_verification = o->unsafe_skip_ca_verification || c->unsafe_skip_ca_verification;
        if (c->node_ip)
                o->node_ip = c->node_ip;
        if (c->apiserver_port)
                o->apiserver_port = c->apiserver_port;
        if (c->apiserver_address)
                o->apiserver_address = c->apiserver_address;
        if (c->pod_pids_limit_given)
                o->pod_pids_limit = c->pod_pids_limit;
        if (c->workers_given)
                o->workers = c->workers;
        if (c->ignore)
                o->ignore = c->ignore;
        if (c->n_publish > 0) {
                memcpy(o->publish, c->publish, sizeof o->publish);
                o->n_publish = c->n_publish;
        }
        if (c->cidr)
                o->cidr = c->cidr;
        if (c->cluster_cidr)
                o->cluster_cidr = c->cluster_cidr;
        if (c->service_cidr)
                o->service_cidr = c->service_cidr;
}

/* The options of joining need --server (made a URL here). The token is read from its file once, here: a
 * file others can read is refused before anything is created. */
static int up_check_join(struct up_options *o, char **ret_server, char **ret_token) {
        struct un_error err = {};

        if (!o->server && (o->token || o->token_file || o->n_ca_cert_hashes || o->ca_file || o->node_ip)) {
                fprintf(stderr, "usernode up: --token, --token-file, --discovery-token-ca-cert-hash, --ca-file and "
                        "--node-ip are for joining: they need --server\n");
                return EXIT_USAGE;
        }
        if (o->server) {
                *ret_server = up_server_url(o->server);
                if (!*ret_server)
                        return EXIT_INTERNAL;
                o->server = *ret_server;
        }
        if (o->token && o->token_file) {
                fprintf(stderr, "usernode up: --token and --token-file exclude each other\n");
                return EXIT_USAGE;
        }
        if (o->token_file) {
                if (join_token_read_file(o->token_file, ret_token, &err) < 0) {
                        fprintf(stderr, "usernode up: %s\n", err.msg);
                        return EXIT_USAGE;
                }
                o->token = *ret_token;
        }
        return 0;
}

/* --engine, else the configured one, else k3s when it is on PATH. */
static void up_pick_engine(const struct cli *c, const struct host *h, bool engine_set, struct up_options *o) {
        if (c->engine)
                (void) engine_from_string(c->engine, &o->engine);
        else if (!engine_set)
                o->engine = engine_default(h);
}

/* The files a unit runs again, absolute: --config's and this binary. */
static int up_find_paths(const struct cli *c, struct up_options *o, char **ret_config, char **ret_self) {
        if (c->config) {
                *ret_config = realpath(c->config, NULL);
                if (!*ret_config) {
                        fprintf(stderr, "usernode up: %s: %s\n", c->config, strerror(errno));
                        return EXIT_USAGE;
                }
                o->config = *ret_config;
        }
        *ret_self = realpath("/proc/self/exe", NULL);
        if (!*ret_self) {
                fprintf(stderr, "usernode up: cannot find my own binary: %s\n", strerror(errno));
                return EXIT_INTERNAL;
        }
        o->self = *ret_self;
        return 0;
}

/* The node's name (a fresh one when ephemeral), its address in a cluster, and its directories. */
/* up --name WORKER: a stopped worker of a node of this host started again, as its node runs it. -1 when the name is
 * no worker's (a node's own directories win), else the exit status. */
static int up_worker(const struct cli *c) {
        _cleanup_(node_done) struct node n = { .lock_fd = -EBADF }, parent = { .lock_fd = -EBADF };
        struct un_error err = {};
        int r;

        if (!c->name || node_resolve(c->name, false, &n, NULL) < 0 || access(n.runtime_dir, F_OK) == 0 ||
            access(n.data_dir, F_OK) == 0 || node_worker_of(c->name, &parent, &err) <= 0)
                return -1;
        r = node_worker_up(&parent, c->name, c->wait ? (c->wait_sec_given ? c->wait_sec : UP_WAIT_DEFAULT_SEC) : 0,
                           stdout, &err);
        if (r < 0) {
                fprintf(stderr, "usernode up: %s\n", err.msg);
                return r == -ETIME ? EXIT_NOT_READY : EXIT_INTERNAL;
        }
        return EXIT_READY;
}

static int up_find_node(const struct cli *c, struct up_options *o, char **ret_name, struct node *ret) {
        struct un_error err = {};
        int r;

        if (o->ephemeral) {
                if (node_name_ephemeral(ret_name) < 0)
                        return EXIT_INTERNAL;
        } else if (!(*ret_name = strdup(cli_node_name(c))))
                return EXIT_INTERNAL;
        o->name = *ret_name;
        r = node_join_address(o, &err);
        if (r >= 0)
                r = node_cluster_address(o, &err);
        if (r >= 0)
                r = node_overlay_address(o, &err);
        if (r < 0) {
                fprintf(stderr, "usernode up: %s\n", err.msg);
                return r == -EINVAL ? EXIT_USAGE : EXIT_NOT_READY;
        }
        if (node_resolve(o->name, o->ephemeral, ret, &err) < 0) {
                fprintf(stderr, "usernode up: %s\n", err.msg);
                return EXIT_USAGE;
        }
        return 0;
}

static int up_failed(const struct un_error *err, int exit_code) {
        if (err->code)
                fprintf(stderr, "usernode up: %s\n", err->msg);
        return exit_code;
}

/* The checks refused the node: they could not run (pf->error), or these failed. */
static int up_refused(const struct up_options *o, const struct preflight *pf) {
        if (pf->result < 0) {
                fprintf(stderr, "usernode up: %s\n", strna(pf->error));
                return pf->result == -EINVAL ? EXIT_USAGE : EXIT_INTERNAL;
        }
        fprintf(stderr, "usernode up: this host cannot run the %s engine; failing checks:", engine_to_string(o->engine));
        for (char **i = pf->failed; i && *i; i++)
                fprintf(stderr, " %s", *i);
        fprintf(stderr, "\nSee 'usernode check --engine %s' for the fixes, or pass --ignore ID,...\n",
                engine_to_string(o->engine));
        return EXIT_NOT_READY;
}

/* Not ready in time: the stage that did not come, the node's last error, where to look and how to stop it. */
static void up_print_not_ready(const struct node_up *u) {
        _cleanup_free_ char *last = node_up_last_error(u->n);
        const struct node *n = u->n;

        fprintf(stderr,
                "usernode: node '%s' not ready after %u s: waiting for stage '%s' (last reached: %s)%s%s; see "
                "%s/node.log and %s/supervisor.log, stop it with: usernode down --name %s --purge\n",
                n->name, u->wait_sec, up_stage_to_string(u->reached == _STAGE_MAX ? STAGE_NAMESPACE : u->reached + 1),
                u->reached == _STAGE_MAX ? "none" : up_stage_to_string(u->reached), last ? "; its last error: " : "",
                strempty(last), n->runtime_dir, n->runtime_dir, n->name);
}

/* node_up's steps, each failure with its exit code. */
static int up_run(const struct up_options *o, struct node *n, struct preflight *pf) {
        _cleanup_(node_up_done) struct node_up u = { .progress_fd = -EBADF, .stages_fd = -EBADF };
        struct un_error err = {};
        int r;

        r = node_up_begin(&u, o, n, pf, stdout, &err);
        if (r < 0)
                return up_failed(&err, r == -EBUSY ? EXIT_NOT_READY : EXIT_INTERNAL);
        r = node_up_join(&u, &err);
        if (r < 0)
                return up_failed(&err, r == -EINVAL ? EXIT_USAGE : EXIT_NOT_READY);
        if (node_up_check(&u) < 0)
                return up_refused(o, pf);
        if (o->foreground) {
                /* A unit (RestartPreventExitStatus=1 2) restarts a node that could not start, not one that ended. */
                r = node_up_supervise(&u);
                return r < 0 ? EXIT_INTERNAL : r > 0 ? EXIT_NOT_READY : EXIT_READY;
        }
        r = node_up_start(&u, &err);
        if (r < 0)
                return up_failed(&err, EXIT_INTERNAL);
        r = node_up_wait(&u);
        if (r == -ECANCELED)
                return up_refused(o, pf);
        if (r == -ETIMEDOUT)
                up_print_not_ready(&u);
        return r < 0 ? EXIT_NOT_READY : EXIT_READY;
}

static void up_print_started(const char *name, bool json) {
        struct node_status s;

        if (node_status_get(name, &s, NULL) < 0)
                return;
        if (json)
                node_status_print_json(stdout, &s);
        else {
                char apiserver[64];

                printf("node %s (%s) %s; state in %s\n", s.name, s.engine, node_state_to_string(s.state), s.state_dir);
                if (s.kubeconfig)
                        printf("kubeconfig: %s\n", s.kubeconfig);
                if (node_status_apiserver(&s, apiserver, sizeof apiserver) >= 0)
                        printf("apiserver: %s\n", apiserver);
        }
        node_status_done(&s);
}

/* The checks run beside the start; node_up stops the node if they refuse. */
static int up_start(const struct cli *c, const struct up_options *o, struct node *n) {
        struct preflight pf = { .fd = -EBADF, .pidfd = -EBADF };
        struct un_error err = {};
        int r;

        r = preflight_start(o, &pf, &err);
        if (r < 0) {
                fprintf(stderr, "usernode up: %s\n", err.msg);
                return EXIT_INTERNAL;
        }
        r = up_run(o, n, &pf);
        preflight_done(&pf);
        if (r == EXIT_READY && !o->foreground)
                up_print_started(o->name, c->json);
        return r;
}

int verb_up(const struct cli *c, int argc, char **argv) {
        struct up_options o = {
                .net = "auto", .wait_sec = UP_WAIT_DEFAULT_SEC, .json = c->json, .dry_run = c->setup.dry_run,
                .pod_pids_limit = UP_POD_PIDS_LIMIT_DEFAULT,
        };
        _cleanup_(config_done) struct config cfg = {};
        _cleanup_free_ char *self = NULL, *name = NULL, *config = NULL, *server = NULL;
        _cleanup_(freep_secret) char *token = NULL;
        _cleanup_(node_done) struct node n = { .lock_fd = -EBADF };
        /* The live host, for everything up reads and writes on it. */
        const struct host *h = host_live();
        struct un_error err = {};
        bool engine_set = false;
        int r;

        if (argc > 1) {
                fprintf(stderr, "usernode up: unexpected argument '%s'\n", argv[1]);
                return EXIT_USAGE;
        }
        if (c->ephemeral && c->name) {
                fprintf(stderr, "usernode up: --ephemeral picks the name itself; drop --name\n");
                return EXIT_USAGE;
        }
        r = up_worker(c);
        if (r >= 0)
                return r;
        r = up_apply_config(c, h, &cfg, &o, &engine_set);
        if (r == 0) {
                up_apply_flags(c, &o);
                r = up_check_join(&o, &server, &token);
        }
        if (r == 0)
                up_pick_engine(c, h, engine_set, &o);
        if (r == 0 && net_options_check(&o, &err) < 0) {
                fprintf(stderr, "usernode up: %s\n", err.msg);
                r = EXIT_USAGE;
        }
        if (r == 0 && !port_driver_explicit(o.port_driver))
                fprintf(stderr, "usernode up: warning: --port-driver implicit: every port that listens in the node, "
                        "its loopback included (the kubelet, containerd's streams, etcd), is reachable on every "
                        "address of this host\n");
        if (r == 0)
                r = up_find_paths(c, &o, &config, &self);
        if (r != 0)
                return r;
        /* A kubelet engine without kubelet is allowed, as containerd only, when the user says so. */
        o.containerd_only = o.engine == ENGINE_KUBELET && strv_contains(o.ignore, "engine.kubelet");
        r = up_find_node(c, &o, &name, &n);
        if (r != 0)
                return r;
        return o.dry_run ? up_dry_run(&o, &n) : up_start(c, &o, &n);
}
