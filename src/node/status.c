/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A node's status file, status.json in its runtime directory: what the supervisor writes while the node
 * lives (status-read.c reads it). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host.h"
#include "json.h"
#include "node.h"
#include "util.h"


static const char *const state_names[_NODE_STATE_MAX] = {
        [NODE_STARTING] = "starting", [NODE_RUNNING] = "running", [NODE_STOPPING] = "stopping",
        [NODE_STOPPED] = "stopped",   [NODE_FAILED] = "failed",    [NODE_DEGRADED] = "degraded",
};

static const char *const pid_names[_NODE_PID_MAX] = {
        [NODE_PID_SUPERVISOR] = "supervisor", [NODE_PID_ROOTLESSKIT] = "rootlesskit",
        [NODE_PID_CHILD] = "namespace",       [NODE_PID_INIT] = "init",
        [NODE_PID_CONTAINERD] = "containerd", [NODE_PID_ENGINE] = "engine",
};

const char *node_state_to_string(enum node_state s) {
        return s < _NODE_STATE_MAX ? state_names[s] : "unknown";
}

int node_state_from_string(const char *s, enum node_state *ret) {
        for (size_t i = 0; i < _NODE_STATE_MAX; i++)
                if (strcmp(state_names[i], s) == 0) {
                        *ret = (enum node_state) i;
                        return 0;
                }
        return -EINVAL;
}

const char *node_pid_to_string(enum node_pid p) {
        return p < _NODE_PID_MAX ? pid_names[p] : "unknown";
}

bool node_status_string_valid(const char *s) {
        size_t len = 0;

        /* The writer replaces invalid UTF-8 by U+FFFD (json_write_string): only valid UTF-8 comes back as it was. */
        while (s[len] != '\0') {
                size_t n = utf8_valid((const unsigned char *) s + len);

                if (n == 0 || len + n > NODE_STATUS_STRING_MAX)
                        return false;
                len += n;
        }
        return true;
}

void node_status_init(struct node_status *s) {
        *s = (struct node_status) {};
}

void node_status_done(struct node_status *s) {
        free(s->node_message);
        free(s->name);
        free(s->engine);
        free(s->since);
        free(s->state_dir);
        free(s->data_dir);
        free(s->kubeconfig);
        free(s->containerd_socket);
        free(s->net);
        free(s->port_driver);
        free(s->last_error);
        for (size_t i = 0; i < s->n_warnings; i++)
                free(s->warnings[i]);
        for (size_t i = 0; i < s->n_daemons; i++)
                free(s->daemons[i].last_error);
        for (size_t i = 0; i < s->n_workers; i++) {
                free(s->workers[i].pod_cidr);
                free(s->workers[i].message);
        }
        *s = (struct node_status) {};
}

bool node_state_alive(enum node_state state) {
        return state == NODE_STARTING || state == NODE_RUNNING || state == NODE_DEGRADED;
}

static int rfc3339(int64_t sec, long msec, char *buf, size_t size) {
        time_t t = (time_t) sec;
        struct tm tm;

        if (!gmtime_r(&t, &tm))
                return -EINVAL;
        snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec, msec);
        return 0;
}

int node_status_set_daemon(struct node_status *s, const char *name, const char *state, uint32_t restarts,
                           int64_t since_sec, const char *last_error) {
        struct node_daemon d = { .restarts = restarts };
        size_t i = 0;

        if (strlen(name) >= sizeof d.name || strlen(state) >= sizeof d.state ||
            (last_error && !node_status_string_valid(last_error)) || rfc3339(since_sec, 0, d.since, sizeof d.since) < 0)
                return -EINVAL;
        strcpy(d.name, name);
        strcpy(d.state, state);
        if (last_error && !(d.last_error = strdup(last_error)))
                return -ENOMEM;
        while (i < s->n_daemons && strcmp(s->daemons[i].name, name) != 0)
                i++;
        if (i == NODE_DAEMONS_MAX) {
                free(d.last_error);
                return -E2BIG;
        }
        if (i == s->n_daemons)
                s->n_daemons++;
        free(s->daemons[i].last_error);
        s->daemons[i] = d;
        return 0;
}

int node_status_add_stage(struct node_status *s, const char *name, int64_t ms) {
        size_t len = strlen(name);

        if (len == 0 || len >= sizeof s->stages[0].name || strspn(name, "abcdefghijklmnopqrstuvwxyz-") != len || ms < 0)
                return -EINVAL;
        for (size_t i = 0; i < s->n_stages; i++)
                if (strcmp(s->stages[i].name, name) == 0)
                        return 0;
        if (s->n_stages == NODE_STAGES_MAX)
                return -E2BIG;
        strcpy(s->stages[s->n_stages].name, name);
        s->stages[s->n_stages++].ms = ms;
        return 0;
}

int node_status_add_warning(struct node_status *s, const char *text) {
        char *copy;

        for (size_t i = 0; i < s->n_warnings; i++)
                if (strcmp(s->warnings[i], text) == 0)
                        return 0;
        if (s->n_warnings >= NODE_WARNINGS_MAX || strlen(text) > NODE_WARNING_MAX)
                return -E2BIG;
        copy = strdup(text);
        if (!copy)
                return -ENOMEM;
        s->warnings[s->n_warnings++] = copy;
        return 0;
}

int node_status_set_state(struct node_status *s, enum node_state state) {
        int64_t now = realtime_usec();
        char buf[64];

        if (rfc3339(now / 1000000, (now % 1000000) / 1000, buf, sizeof buf) < 0)
                return -EINVAL;
        free(s->since);
        s->since = strdup(buf);
        s->state = state;
        return s->since ? 0 : -ENOMEM;
}

int node_status_apiserver(const struct node_status *s, char *buf, size_t size) {
        /* A kubelet node has a kubeconfig of its own only when it brought its cluster along; that cluster's API
         * server listens on 6443 in the node, published on the host's 127.0.0.1. */
        if (!streq_ptr(s->engine, "kubelet") || !s->kubeconfig)
                return -ENOENT;
        for (size_t i = 0; i < s->n_ports; i++)
                if (s->ports[i].node_port == 6443 && strcmp(s->ports[i].proto, "tcp") == 0) {
                        /* Published on every address (pasta's own forwarding): reached on loopback. */
                        const char *ip = strcmp(s->ports[i].host_ip, "0.0.0.0") == 0 ? "127.0.0.1" : s->ports[i].host_ip;
                        int n = snprintf(buf, size, "https://%s:%u", ip, (unsigned) s->ports[i].host_port);

                        return n > 0 && (size_t) n < size ? 0 : -ENOBUFS;
                }
        return -ENOENT;
}

void node_status_print_json(FILE *f, const struct node_status *s) {
        struct json j = { .f = f, .pretty = true };
        char apiserver[64];

        json_begin_object(&j, NULL);
        json_string(&j, "schema", NODE_STATUS_SCHEMA);
        json_string(&j, "name", s->name);
        json_string(&j, "engine", s->engine);
        json_string(&j, "state", node_state_to_string(s->state));
        json_string(&j, "since", s->since);
        json_int(&j, "started_usec", s->started_usec);
        json_begin_object(&j, "pids");
        for (size_t i = 0; i < _NODE_PID_MAX; i++)
                if (s->pids[i] > 0)
                        json_int(&j, pid_names[i], s->pids[i]);
        json_end_object(&j);
        json_string(&j, "state_dir", s->state_dir);
        json_string(&j, "data_dir", s->data_dir);
        json_string(&j, "kubeconfig", s->kubeconfig);
        json_string(&j, "apiserver", node_status_apiserver(s, apiserver, sizeof apiserver) >= 0 ? apiserver : NULL);
        json_string(&j, "containerd_socket", s->containerd_socket);
        json_string(&j, "net", s->net);
        json_string(&j, "port_driver", s->port_driver);
        json_bool(&j, "ephemeral", s->ephemeral);
        json_begin_array(&j, "ports");
        for (size_t i = 0; i < s->n_ports; i++) {
                json_begin_object(&j, NULL);
                json_string(&j, "proto", s->ports[i].proto);
                json_string(&j, "host_ip", s->ports[i].host_ip);
                json_int(&j, "host_port", s->ports[i].host_port);
                json_int(&j, "node_port", s->ports[i].node_port);
                json_int(&j, "id", s->ports[i].id);
                json_end_object(&j);
        }
        json_end_array(&j);
        json_string(&j, "last_error", s->last_error);
        json_begin_array(&j, "warnings");
        for (size_t i = 0; i < s->n_warnings; i++)
                json_string(&j, NULL, s->warnings[i]);
        json_end_array(&j);
        json_begin_array(&j, "daemons");
        for (size_t i = 0; i < s->n_daemons; i++) {
                json_begin_object(&j, NULL);
                json_string(&j, "name", s->daemons[i].name);
                json_string(&j, "state", s->daemons[i].state);
                json_int(&j, "restarts", s->daemons[i].restarts);
                json_string(&j, "since", s->daemons[i].since);
                json_string(&j, "last_error", s->daemons[i].last_error);
                json_end_object(&j);
        }
        json_end_array(&j);
        json_begin_array(&j, "stages");
        for (size_t i = 0; i < s->n_stages; i++) {
                json_begin_object(&j, NULL);
                json_string(&j, "name", s->stages[i].name);
                json_int(&j, "ms", s->stages[i].ms);
                json_end_object(&j);
        }
        json_end_array(&j);
        if (s->node_known) {
                json_begin_object(&j, "node");
                json_bool(&j, "ready", s->node_ready);
                json_string(&j, "message", s->node_message);
                json_end_object(&j);
        }
        if (s->n_workers > 0) {
                json_begin_array(&j, "workers");
                for (size_t i = 0; i < s->n_workers; i++) {
                        json_begin_object(&j, NULL);
                        json_string(&j, "name", s->workers[i].name);
                        json_bool(&j, "ready", s->workers[i].ready);
                        json_bool(&j, "stopped", s->workers[i].stopped);
                        json_string(&j, "pod_cidr", s->workers[i].pod_cidr);
                        json_string(&j, "message", s->workers[i].message);
                        json_end_object(&j);
                }
                json_end_array(&j);
        }
        json_end_object(&j);
        fputc('\n', f);
}

int node_status_write(const struct node *n, const struct node_status *s, struct un_error *err) {
        const struct host *h = host_live();
        _cleanup_free_ char *text = NULL, *path = NULL;
        size_t len = 0;
        FILE *f;
        int r;

        f = open_memstream(&text, &len);
        if (!f)
                return un_error(err, ENOMEM, "status of node %s", n->name);
        node_status_print_json(f, s);
        if (fclose(f) != 0)
                return un_error(err, ENOMEM, "status of node %s", n->name);
        path = node_runtime_path(n, "status.json");
        if (!path)
                return un_error(err, ENOMEM, "status of node %s", n->name);
        r = host_write_runtime(h, path, text, len, 0600, err);
        return r;
}
