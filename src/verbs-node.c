/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The verbs for a node once started: down, status, exec. */
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

/* A joined node's Ready condition, from the cluster, with the node's own credentials. */
static void status_ask_cluster(struct node_status *s) {
        struct node_api api = {};
        struct node_object o = {};
        struct un_error err = {};
        char own[64];

        if (!streq_ptr(s->engine, "kubelet") || (s->state != NODE_RUNNING && s->state != NODE_DEGRADED) || !s->data_dir)
                return;
        /* Its kubelet's kubeconfig names the API server inside the node; from here, the published port. */
        if (node_api_open(s->data_dir, node_status_apiserver(s, own, sizeof own) >= 0 ? own : NULL,
                          s->name, &api, NULL) < 0)
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
