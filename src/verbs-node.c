/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The verbs that run a node: up, down, status, exec. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checks.h"
#include "cli.h"
#include "conffile.h"
#include "nodeapi.h"
#include "up.h"
#include "util.h"

/* A secret's memory is wiped before it goes back to the allocator. */
static void freep_secret(char **p) {
        if (*p)
                explicit_bzero(*p, strlen(*p));
        free(*p);
}

static const char *node_name_or_default(const struct cli *c) {
        return c->name ? c->name : "default";
}

static const char *yes_no(bool b) {
        return b ? "yes" : "no";
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
        for (size_t i = 0; i < o->n_publish; i++)
                printf("publish: %s:%u:%u/%s\n", o->publish[i].host_ip, (unsigned) o->publish[i].host_port,
                       (unsigned) o->publish[i].node_port, o->publish[i].proto);
        for (char **i = o->ignore; i && *i; i++)
                printf("ignore: %s\n", *i);
        r = up_pick_cidrs(o, &nets, &err);
        if (r >= 0) {
                printf("cidr: %s\ncluster-cidr: %s\nservice-cidr: %s\n", nets.slirp, nets.cluster, nets.service);
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

int verb_up(const struct cli *c, int argc, char **argv) {
        struct up_options o = {
                .net = "auto", .wait_sec = UP_WAIT_DEFAULT_SEC, .json = c->json, .dry_run = c->setup.dry_run,
                .pod_pids_limit = UP_POD_PIDS_LIMIT_DEFAULT,
        };
        _cleanup_(config_done) struct config cfg = {};
        _cleanup_free_ char *self = NULL, *name = NULL, *config = NULL, *server = NULL;
        _cleanup_(freep_secret) char *token = NULL;
        struct up_preflight pf = { .fd = -EBADF, .pidfd = -EBADF };
        struct host h = { .root_fd = -EBADF };
        struct un_error err = {};
        struct node n = { .lock_fd = -EBADF };
        bool engine_set;
        int r;

        if (argc > 1) {
                fprintf(stderr, "usernode up: unexpected argument '%s'\n", argv[1]);
                return EXIT_USAGE;
        }
        if (c->ephemeral && c->name) {
                fprintf(stderr, "usernode up: --ephemeral picks the name itself; drop --name\n");
                return EXIT_USAGE;
        }
        /* Files first (the system's, the user's, --config), per-node sections over their top level. */
        r = host_init(&h, "/", &err);
        if (r >= 0)
                r = up_config_load(&h, c->config, &cfg, &err);
        if (r >= 0)
                r = up_config_apply(&cfg, c->ephemeral ? NULL : node_name_or_default(c), &o, &engine_set, &err);
        if (r < 0) {
                fprintf(stderr, "usernode up: %s\n", err.msg);
                host_done(&h);
                return r == -EINVAL || r == -ENOENT || r == -EPERM ? EXIT_USAGE : EXIT_INTERNAL;
        }
        /* Then the flags. A --name beats a configured ephemeral. */
        if (c->name)
                o.ephemeral = false;
        o.ephemeral = o.ephemeral || c->ephemeral;
        o.wait = o.wait || c->wait;
        if (c->wait_sec_given)
                o.wait_sec = c->wait_sec;
        o.foreground = o.foreground || c->foreground;
        if (c->net)
                o.net = c->net;
        if (c->port_driver)
                (void) port_driver_from_string(c->port_driver, &o.port_driver);
        if (c->server)
                o.server = c->server;
        if (c->token || c->token_file) {
                o.token = c->token;
                o.token_file = c->token_file;
        }
        if (c->n_ca_cert_hashes > 0) {
                memcpy(o.ca_cert_hashes, c->ca_cert_hashes, sizeof o.ca_cert_hashes);
                o.n_ca_cert_hashes = c->n_ca_cert_hashes;
        }
        if (c->ca_file)
                o.ca_file = c->ca_file;
        o.unsafe_skip_ca_verification = o.unsafe_skip_ca_verification || c->unsafe_skip_ca_verification;
        if (c->node_ip)
                o.node_ip = c->node_ip;
        if (c->pod_pids_limit_given)
                o.pod_pids_limit = c->pod_pids_limit;
        if (c->ignore)
                o.ignore = c->ignore;
        if (c->n_publish > 0) {
                memcpy(o.publish, c->publish, sizeof o.publish);
                o.n_publish = c->n_publish;
        }
        if (c->cidr)
                o.cidr = c->cidr;
        if (c->cluster_cidr)
                o.cluster_cidr = c->cluster_cidr;
        if (c->service_cidr)
                o.service_cidr = c->service_cidr;
        if (!o.server && (o.token || o.token_file || o.n_ca_cert_hashes || o.ca_file || o.node_ip)) {
                fprintf(stderr, "usernode up: --token, --token-file, --discovery-token-ca-cert-hash, --ca-file and "
                        "--node-ip are for joining: they need --server\n");
                host_done(&h);
                return EXIT_USAGE;
        }
        if (o.server) {
                server = up_server_url(o.server);
                if (!server)
                        return EXIT_INTERNAL;
                o.server = server;
        }
        if (o.token && o.token_file) {
                fprintf(stderr, "usernode up: --token and --token-file exclude each other\n");
                host_done(&h);
                return EXIT_USAGE;
        }
        /* Read once, here: a file others can read is refused before anything is created. */
        if (o.token_file) {
                r = join_token_read_file(o.token_file, &token, &err);
                if (r < 0) {
                        fprintf(stderr, "usernode up: %s\n", err.msg);
                        host_done(&h);
                        return EXIT_USAGE;
                }
                o.token = token;
        }
        if (c->engine)
                (void) engine_from_string(c->engine, &o.engine);
        else if (!engine_set) {
                _cleanup_free_ char *k3s = NULL;

                o.engine = host_find_executable(&h, "k3s", &k3s) >= 0 ? ENGINE_K3S : ENGINE_KUBELET;
        }
        host_done(&h);
        if (c->config) {
                config = realpath(c->config, NULL);
                if (!config) {
                        fprintf(stderr, "usernode up: %s: %s\n", c->config, strerror(errno));
                        return EXIT_USAGE;
                }
                o.config = config;
        }
        self = realpath("/proc/self/exe", NULL);
        if (!self) {
                fprintf(stderr, "usernode up: cannot find my own binary: %s\n", strerror(errno));
                return EXIT_INTERNAL;
        }
        o.self = self;
        /* A kubelet engine without kubelet is allowed, as containerd only, when the user says so. */
        o.containerd_only = o.engine == ENGINE_KUBELET && strv_contains(o.ignore, "engine.kubelet");

        if (o.ephemeral) {
                r = node_name_ephemeral(&name);
                if (r < 0)
                        return EXIT_INTERNAL;
        } else if (!(name = strdup(node_name_or_default(c))))
                return EXIT_INTERNAL;
        o.name = name;
        r = node_join_address(&o, &err);
        if (r < 0) {
                fprintf(stderr, "usernode up: %s\n", err.msg);
                return r == -EINVAL ? EXIT_USAGE : EXIT_NOT_READY;
        }
        r = node_resolve(name, o.ephemeral, &n, &err);
        if (r < 0) {
                fprintf(stderr, "usernode up: %s\n", err.msg);
                return EXIT_USAGE;
        }
        if (o.dry_run) {
                r = up_dry_run(&o, &n);
                node_done(&n);
                return r;
        }
        /* The checks run beside the start; node_up stops the node if they refuse. */
        r = up_preflight_start(&o, &pf, &err);
        if (r < 0) {
                fprintf(stderr, "usernode up: %s\n", err.msg);
                node_done(&n);
                return EXIT_INTERNAL;
        }
        r = node_up(&o, &n, &pf, stdout, &err);
        if (r == UP_REFUSED) {
                if (pf.result < 0) {
                        fprintf(stderr, "usernode up: %s\n", strna(pf.error));
                        r = pf.result == -EINVAL ? EXIT_USAGE : EXIT_INTERNAL;
                } else {
                        fprintf(stderr, "usernode up: this host cannot run the %s engine; failing checks:",
                                engine_to_string(o.engine));
                        for (char **i = pf.failed; i && *i; i++)
                                fprintf(stderr, " %s", *i);
                        fprintf(stderr, "\nSee 'usernode check --engine %s' for the fixes, or pass --ignore ID,...\n",
                                engine_to_string(o.engine));
                        r = EXIT_NOT_READY;
                }
        } else if (err.code)
                fprintf(stderr, "usernode up: %s\n", err.msg);
        up_preflight_done(&pf);
        if (r == 0 && !o.foreground) {
                struct node_status s;

                if (node_status_get(name, &s, NULL) >= 0) {
                        if (c->json)
                                node_status_print_json(stdout, &s);
                        else {
                                printf("node %s (%s) %s; state in %s\n", s.name, s.engine, node_state_to_string(s.state),
                                       s.state_dir);
                                if (s.kubeconfig)
                                        printf("kubeconfig: %s\n", s.kubeconfig);
                        }
                        node_status_done(&s);
                }
        }
        node_done(&n);
        return r;
}

int verb_down(const struct cli *c, int argc, char **argv) {
        struct un_error err = {};
        int r;

        if (argc > 1) {
                fprintf(stderr, "usernode down: unexpected argument '%s'\n", argv[1]);
                return EXIT_USAGE;
        }
        r = node_down(node_name_or_default(c), c->purge, stdout, &err);
        if (r < 0) {
                fprintf(stderr, "usernode down: %s\n", err.msg);
                return r == -ENOENT ? EXIT_NOT_READY : EXIT_INTERNAL;
        }
        return EXIT_READY;
}

/* A joined node's Ready condition, from the cluster, with the node's own credentials. */
static void status_ask_cluster(struct node_status *s) {
        struct node_api api = {};
        struct node_object o = {};
        struct un_error err = {};

        if (!streq_ptr(s->engine, "kubelet") || s->state != NODE_RUNNING || !s->data_dir ||
            node_api_open(s->data_dir, NULL, s->name, &api, NULL) < 0)
                return;
        s->node_known = true;
        if (node_api_get(&api, &o, &err) < 0)
                s->node_message = strdup(err.msg);
        else if (!o.exists)
                s->node_message = strdup("not registered");
        else {
                s->node_ready = o.ready;
                s->node_message = o.ready_message ? strdup(o.ready_message) : NULL;
        }
        node_object_done(&o);
        node_api_done(&api);
}

int verb_status(const struct cli *c, int argc, char **argv) {
        struct node_status s;
        struct un_error err = {};
        int r;

        if (argc > 1) {
                fprintf(stderr, "usernode status: unexpected argument '%s'\n", argv[1]);
                return EXIT_USAGE;
        }
        r = node_status_get(node_name_or_default(c), &s, &err);
        if (r < 0) {
                fprintf(stderr, "usernode status: %s\n", err.msg);
                return EXIT_NOT_READY;
        }
        status_ask_cluster(&s);
        if (c->json)
                node_status_print_json(stdout, &s);
        else {
                printf("node:        %s (%s engine)\nstate:       %s since %s\nstate dir:   %s\n", s.name,
                       strna(s.engine), node_state_to_string(s.state), strna(s.since), strna(s.state_dir));
                printf("kubeconfig:  %s\ncontainerd:  %s\n", strna(s.kubeconfig), strna(s.containerd_socket));
                if (s.node_known)
                        printf("node:        %s%s%s\n", s.node_ready ? "Ready" : "NotReady",
                               s.node_message ? ": " : "", strempty(s.node_message));
                for (size_t i = 0; i < _NODE_PID_MAX; i++)
                        if (s.pids[i] > 0)
                                printf("pid:         %-11s %d\n", node_pid_to_string((enum node_pid) i), (int) s.pids[i]);
                for (size_t i = 0; i < s.n_ports; i++)
                        printf("port:        %s:%u -> %u/%s\n", s.ports[i].host_ip, (unsigned) s.ports[i].host_port,
                               (unsigned) s.ports[i].node_port, s.ports[i].proto);
                if (s.last_error)
                        printf("last error:  %s\n", s.last_error);
        }
        r = s.state == NODE_RUNNING ? EXIT_READY : EXIT_NOT_READY;
        node_status_done(&s);
        return r;
}

int verb_exec(const struct cli *c, int argc, char **argv) {
        struct un_error err = {};
        int r;

        if (argc < 2) {
                fprintf(stderr, "usernode exec: a command is needed: usernode exec [--name N] -- CMD...\n");
                return EXIT_USAGE;
        }
        r = node_exec(node_name_or_default(c), argv + 1, &err);
        if (r < 0) {
                fprintf(stderr, "usernode exec: %s\n", err.msg);
                return EXIT_NOT_READY;
        }
        return r;
}
