/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The verbs for a node once started: down, status, exec. */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checks.h"
#include "cli.h"
#include "conffile.h"
#include "init.h"
#include "net.h"
#include "nodeapi.h"
#include "up.h"
#include "util.h"

int verb_down(const struct cli *c, int argc, char **argv) {
        struct un_error err = {};
        int r;

        if (argc > 1) {
                fprintf(stderr, "usernode down: unexpected argument '%s'\n", argv[1]);
                return EXIT_USAGE;
        }
        r = node_down(cli_node_name(c), c->purge, stdout, &err);
        if (r < 0) {
                fprintf(stderr, "usernode down: %s\n", err.msg);
                return r == -ENOENT ? EXIT_NOT_READY : EXIT_INTERNAL;
        }
        return EXIT_READY;
}

/* What the cluster says of the Node api names: *ret_ready, *ret_message (why not, or the API's error) and
 * *ret_pod_cidr set. Closes api. */
static void status_ask_api(struct node_api *api, bool *ret_ready, char **ret_message, char **ret_pod_cidr) {
        struct node_object o = {};
        struct un_error err = {};

        *ret_ready = false;
        *ret_pod_cidr = NULL;
        if (node_api_get(api, &o, &err) < 0)
                *ret_message = strdup(err.msg);
        else if (!o.exists)
                *ret_message = strdup("not registered");
        else {
                *ret_ready = o.ready;
                *ret_message = o.ready_message ? strdup(o.ready_message) : NULL;
                *ret_pod_cidr = o.pod_cidr ? strdup(o.pod_cidr) : NULL;
        }
        node_object_done(&o);
        node_api_done(api);
}

/* The same of the Node named name, asked with the kubelet's credentials under data_dir, at server (NULL: the
 * kubeconfig's); -errno when the credentials cannot be read. */
static int status_ask_node(const char *data_dir, const char *server, const char *name, bool *ret_ready,
                           char **ret_message, char **ret_pod_cidr) {
        struct node_api api = {};
        int r = node_api_open(data_dir, server, name, &api, NULL);

        if (r < 0)
                return r;
        status_ask_api(&api, ret_ready, ret_message, ret_pod_cidr);
        return 0;
}

/* The node's workers: a directory each under its data directory's workers/, in name order. */
static void status_ask_workers(struct node_status *s, const char *server) {
        _cleanup_free_ char *dir = xstrdup_printf("%s/workers", s->data_dir);
        struct dirent **names = NULL;
        int n = dir ? scandir(dir, &names, NULL, alphasort) : -1;

        for (int i = 0; i < n; i++) {
                struct node_worker *w = &s->workers[s->n_workers];
                _cleanup_free_ char *data = NULL, *stopped = NULL;

                if (s->n_workers < NODE_WORKERS_MAX && node_name_valid(names[i]->d_name) &&
                    strlen(names[i]->d_name) < sizeof w->name && (data = xstrdup_printf("%s/%s", dir, names[i]->d_name)) &&
                    (stopped = xstrdup_printf("%s/" INIT_WORKER_STOPPED, data))) {
                        bool held = access(stopped, F_OK) == 0;

                        /* One that down --purge took has no credentials left to ask with. */
                        if (status_ask_node(data, server, names[i]->d_name, &w->ready, &w->message, &w->pod_cidr) >= 0 ||
                            held) {
                                memcpy(w->name, names[i]->d_name, strlen(names[i]->d_name) + 1);
                                w->known = true;
                                w->stopped = held;
                                s->n_workers++;
                        }
                }
                free(names[i]);
        }
        free(names);
}

/* A joined node's Ready condition, from the cluster, with the node's own credentials; its workers' too. */
static void status_ask_cluster(struct node_status *s) {
        _cleanup_free_ char *cidr = NULL;
        char own[64];
        const char *server;

        if ((s->state != NODE_RUNNING && s->state != NODE_DEGRADED) || !s->data_dir)
                return;
        /* A k3s server's Node, asked as the user whose kubeconfig `up` wrote. */
        if (streq_ptr(s->engine, "k3s")) {
                struct node_api api = {};

                if (s->kubeconfig && node_api_open_kubeconfig(s->kubeconfig, s->name, &api, NULL) >= 0) {
                        status_ask_api(&api, &s->node_ready, &s->node_message, &cidr);
                        s->node_known = true;
                }
                return;
        }
        if (!streq_ptr(s->engine, "kubelet"))
                return;
        /* Its kubelet's kubeconfig names the API server inside the node; from here, the published port. */
        server = node_status_apiserver(s, own, sizeof own) >= 0 ? own : NULL;
        if (status_ask_node(s->data_dir, server, s->name, &s->node_ready, &s->node_message, &cidr) < 0)
                return;
        s->node_known = true;
        status_ask_workers(s, server);
}

int verb_status(const struct cli *c, int argc, char **argv) {
        struct node_status s;
        char own[64];
        struct un_error err = {};
        int r;

        if (argc > 1) {
                fprintf(stderr, "usernode status: unexpected argument '%s'\n", argv[1]);
                return EXIT_USAGE;
        }
        r = node_status_get(cli_node_name(c), &s, &err);
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
                if (node_status_apiserver(&s, own, sizeof own) >= 0)
                        printf("apiserver:   %s\n", own);
                if (s.node_known)
                        printf("node:        %s%s%s\n", s.node_ready ? "Ready" : "NotReady",
                               s.node_message ? ": " : "", strempty(s.node_message));
                for (size_t i = 0; i < s.n_workers; i++)
                        printf("worker:      %-23s %-8s %s%s%s\n", s.workers[i].name,
                               s.workers[i].stopped ? "stopped" : s.workers[i].ready ? "Ready" : "NotReady",
                               s.workers[i].pod_cidr ? s.workers[i].pod_cidr : "-",
                               !s.workers[i].ready && s.workers[i].message ? "; " : "",
                               s.workers[i].ready ? "" : strempty(s.workers[i].message));
                for (size_t i = 0; i < _NODE_PID_MAX; i++)
                        if (s.pids[i] > 0)
                                printf("pid:         %-11s %d\n", node_pid_to_string((enum node_pid) i), (int) s.pids[i]);
                for (size_t i = 0; i < s.n_ports; i++)
                        printf("port:        %s:%u -> %u/%s\n", s.ports[i].host_ip, (unsigned) s.ports[i].host_port,
                               (unsigned) s.ports[i].node_port, s.ports[i].proto);
                for (size_t i = 0; i < s.n_daemons; i++) {
                        const struct node_daemon *d = &s.daemons[i];

                        printf("daemon:      %-23s %-10s since %s, %u restart%s%s%s\n", d->name, d->state, d->since,
                               d->restarts, d->restarts == 1 ? "" : "s", d->last_error ? "; last: " : "",
                               strempty(d->last_error));
                }
                if (s.n_stages > 0) {
                        printf("started:    ");
                        for (size_t i = 0; i < s.n_stages; i++)
                                printf(" %s %.1f s%s", s.stages[i].name, (double) s.stages[i].ms / 1000.0,
                                       i + 1 < s.n_stages ? "," : "\n");
                }
                for (size_t i = 0; i < s.n_warnings; i++)
                        printf("warning:     %s\n", s.warnings[i]);
                if (s.last_error)
                        printf("last error:  %s\n", s.last_error);
        }
        r = s.state == NODE_RUNNING ? EXIT_READY : EXIT_NOT_READY;
        node_status_done(&s);
        return r;
}

#define JOIN_TOKEN_TTL_DEFAULT_SEC 3600u

int verb_join_command(const struct cli *c, int argc, char **argv) {
        _cleanup_free_ char *line = NULL;
        struct node_status s;
        struct un_error err = {};
        char url[64], ip[INET_ADDRSTRLEN];
        int r;

        if (argc > 1) {
                fprintf(stderr, "usernode join-command: unexpected argument '%s'\n", argv[1]);
                return EXIT_USAGE;
        }
        r = node_status_get(cli_node_name(c), &s, &err);
        if (r < 0) {
                fprintf(stderr, "usernode join-command: %s\n", err.msg);
                return EXIT_NOT_READY;
        }
        r = node_join_line(&s, c->ttl_sec ? c->ttl_sec : JOIN_TOKEN_TTL_DEFAULT_SEC, c->token_file, &line, &err);
        /* "https://IP:PORT": the address the API server is published on. */
        if (r >= 0 && node_status_apiserver(&s, url, sizeof url) >= 0 &&
            snprintf(ip, sizeof ip, "%.*s", (int) strcspn(url + strlen("https://"), ":"), url + strlen("https://")) > 0 &&
            net_ipv4_loopback(ip))
                fprintf(stderr, "usernode join-command: warning: node %s publishes its API server on %s: only nodes "
                        "of this host reach it (up --apiserver-address IP publishes it where others do)\n", s.name, ip);
        node_status_done(&s);
        if (r < 0) {
                fprintf(stderr, "usernode join-command: %s\n", err.msg);
                return r == -ESRCH || r == -ENOENT ? EXIT_NOT_READY : EXIT_INTERNAL;
        }
        printf("%s\n", line);
        return EXIT_READY;
}

int verb_exec(const struct cli *c, int argc, char **argv) {
        struct un_error err = {};
        int r, status;

        if (argc < 2) {
                fprintf(stderr, "usernode exec: a command is needed: usernode exec [--name N] -- CMD...\n");
                return EXIT_USAGE;
        }
        r = node_exec(cli_node_name(c), argv + 1, &status, &err);
        /* Also when the command could not run (status 127). */
        if (err.code)
                fprintf(stderr, "usernode exec: %s\n", err.msg);
        return r < 0 ? EXIT_NOT_READY : status;
}
