/* SPDX-License-Identifier: GPL-2.0-or-later */
/* status.json as `status`, `down` and `exec` read it: written by another process of the user, so read
 * strictly, through json-c. A file apart from status.c, the writer: basic/json.h's json_bool and json-c's
 * typedef of that name cannot meet in one file. */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "node.h"
#include "util.h"

#define STATUS_DEPTH_MAX 4              /* the status object, ports, a port: one level to spare */

/* json-c takes what the writer never writes and RFC 8259 refuses: raw control characters inside strings.
 * It also decodes \u0000 into a string C cannot hold. Both are refused before it reads the text. */
static bool strings_plain(const char *text) {
        bool in_string = false;

        for (const char *p = text; *p; p++) {
                if (!in_string)
                        in_string = *p == '"';
                else if (*p == '"')
                        in_string = false;
                else if ((unsigned char) *p < 0x20)
                        return false;
                else if (*p == '\\') {
                        if (startswith(p + 1, "u0000"))
                                return false;
                        if (p[1])
                                p++;
                }
        }
        return true;
}

/* A string value the writer would write back as it is. */
static const char *status_string(struct json_object *v) {
        if (!json_object_is_type(v, json_type_string) || !node_status_string_valid(json_object_get_string(v)))
                return NULL;
        return json_object_get_string(v);
}

static int status_opt_string(struct json_object *v, char **field) {
        const char *s;
        char *copy;

        if (json_object_is_type(v, json_type_null))
                return 0;
        s = status_string(v);
        if (!s)
                return -EINVAL;
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        free(*field);
        *field = copy;
        return 0;
}

/* An integer in [min, max]. json-c saturates integers beyond int64 to its ends: those are refused. */
static int status_int(struct json_object *v, int64_t min, int64_t max, int64_t *ret) {
        int64_t i;

        if (!json_object_is_type(v, json_type_int))
                return -EINVAL;
        i = json_object_get_int64(v);
        if (i == INT64_MIN || i == INT64_MAX || i < min || i > max)
                return -ERANGE;
        *ret = i;
        return 0;
}

static int status_pids(struct json_object *o, struct node_status *s) {
        if (!json_object_is_type(o, json_type_object))
                return -EINVAL;
        json_object_object_foreach(o, key, v) {
                enum node_pid p = 0;
                int64_t pid;
                int r;

                while (p < _NODE_PID_MAX && strcmp(key, node_pid_to_string(p)) != 0)
                        p++;
                if (p == _NODE_PID_MAX)
                        return -EINVAL;
                r = status_int(v, 1, INT32_MAX, &pid);
                if (r < 0)
                        return r;
                s->pids[p] = (pid_t) pid;
        }
        return 0;
}

static int port_field(struct node_port *p, const char *key, struct json_object *v) {
        int64_t n;
        int r;

        if (strcmp(key, "proto") == 0 || strcmp(key, "host_ip") == 0) {
                char *dst = key[0] == 'p' ? p->proto : p->host_ip;
                size_t size = key[0] == 'p' ? sizeof p->proto : sizeof p->host_ip;
                const char *s = status_string(v);

                if (!s || strlen(s) >= size)
                        return -EINVAL;
                strcpy(dst, s);
                return 0;
        }
        if (strcmp(key, "id") == 0)
                return status_int(v, -1, INT64_MAX, &p->id);
        r = status_int(v, 0, 65535, &n);
        if (r < 0)
                return r;
        if (strcmp(key, "host_port") == 0)
                p->host_port = (uint16_t) n;
        else if (strcmp(key, "node_port") == 0)
                p->node_port = (uint16_t) n;
        else
                return -EINVAL;
        return 0;
}

static int status_ports(struct json_object *a, struct node_status *s) {
        size_t n;

        if (!json_object_is_type(a, json_type_array))
                return -EINVAL;
        n = json_object_array_length(a);
        if (n > NODE_PORTS_MAX)
                return -E2BIG;
        for (size_t i = 0; i < n; i++) {
                struct json_object *o = json_object_array_get_idx(a, i);

                if (!json_object_is_type(o, json_type_object))
                        return -EINVAL;
                s->ports[i] = (struct node_port) { .id = -1 };
                json_object_object_foreach(o, key, v) {
                        int r = port_field(&s->ports[i], key, v);

                        if (r < 0)
                                return r;
                }
                s->n_ports = i + 1;
        }
        return 0;
}

static int status_warnings(struct json_object *a, struct node_status *s) {
        size_t n;

        if (!json_object_is_type(a, json_type_array))
                return -EINVAL;
        n = json_object_array_length(a);
        if (n > NODE_WARNINGS_MAX)
                return -E2BIG;
        for (size_t i = 0; i < n; i++) {
                const char *w = status_string(json_object_array_get_idx(a, i));

                if (!w)
                        return -EINVAL;
                if (strlen(w) > NODE_WARNING_MAX)
                        return -E2BIG;
                if (node_status_add_warning(s, w) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* A bounded string of the status file into a fixed buffer. */
static int fixed_string(struct json_object *v, char *dst, size_t size) {
        const char *s = status_string(v);

        if (!s || strlen(s) >= size)
                return -EINVAL;
        strcpy(dst, s);
        return 0;
}

static int daemon_field(struct node_daemon *d, const char *key, struct json_object *v) {
        int64_t n;
        int r;

        if (strcmp(key, "name") == 0)
                return fixed_string(v, d->name, sizeof d->name);
        if (strcmp(key, "state") == 0) {
                r = fixed_string(v, d->state, sizeof d->state);
                return r < 0 || strv_contains((char *[]) { "running", "restarting", "failed", NULL }, d->state) ? r
                                                                                                                  : -EINVAL;
        }
        if (strcmp(key, "since") == 0)
                return fixed_string(v, d->since, sizeof d->since);
        if (strcmp(key, "last_error") == 0)
                return status_opt_string(v, &d->last_error);
        if (strcmp(key, "restarts") == 0) {
                r = status_int(v, 0, UINT32_MAX, &n);
                if (r >= 0)
                        d->restarts = (uint32_t) n;
                return r;
        }
        return -EINVAL;
}

static int status_daemons(struct json_object *a, struct node_status *s) {
        size_t n;

        if (!json_object_is_type(a, json_type_array))
                return -EINVAL;
        n = json_object_array_length(a);
        if (n > NODE_DAEMONS_MAX)
                return -E2BIG;
        for (size_t i = 0; i < n; i++) {
                struct json_object *o = json_object_array_get_idx(a, i);

                if (!json_object_is_type(o, json_type_object))
                        return -EINVAL;
                s->daemons[i] = (struct node_daemon) {};
                s->n_daemons = i + 1;
                json_object_object_foreach(o, key, v) {
                        int r = daemon_field(&s->daemons[i], key, v);

                        if (r < 0)
                                return r;
                }
                if (!s->daemons[i].name[0] || !s->daemons[i].state[0])
                        return -EINVAL;
        }
        return 0;
}

static int status_stages(struct json_object *a, struct node_status *s) {
        if (!json_object_is_type(a, json_type_array))
                return -EINVAL;
        if (json_object_array_length(a) > NODE_STAGES_MAX)
                return -E2BIG;
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                struct json_object *o = json_object_array_get_idx(a, i), *name = NULL, *ms = NULL;
                int64_t n;
                int r;

                if (!json_object_is_type(o, json_type_object) || json_object_object_length(o) != 2 ||
                    !json_object_object_get_ex(o, "name", &name) || !json_object_object_get_ex(o, "ms", &ms) ||
                    !status_string(name))
                        return -EINVAL;
                r = status_int(ms, 0, INT32_MAX, &n);
                if (r >= 0)
                        r = node_status_add_stage(s, json_object_get_string(name), n);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int status_field(struct node_status *s, const char *key, struct json_object *v) {
        static const struct {
                const char *key;
                size_t offset;
        } strings[] = {
                { "name", offsetof(struct node_status, name) },
                { "engine", offsetof(struct node_status, engine) },
                { "since", offsetof(struct node_status, since) },
                { "state_dir", offsetof(struct node_status, state_dir) },
                { "data_dir", offsetof(struct node_status, data_dir) },
                { "kubeconfig", offsetof(struct node_status, kubeconfig) },
                { "containerd_socket", offsetof(struct node_status, containerd_socket) },
                { "net", offsetof(struct node_status, net) },
                { "port_driver", offsetof(struct node_status, port_driver) },
                { "last_error", offsetof(struct node_status, last_error) },
        };
        const char *str;

        if (strcmp(key, "pids") == 0)
                return status_pids(v, s);
        if (strcmp(key, "ports") == 0)
                return status_ports(v, s);
        if (strcmp(key, "warnings") == 0)
                return status_warnings(v, s);
        if (strcmp(key, "daemons") == 0)
                return status_daemons(v, s);
        if (strcmp(key, "stages") == 0)
                return status_stages(v, s);
        /* Written from the ports, read back from them. */
        if (strcmp(key, "apiserver") == 0)
                return json_object_is_type(v, json_type_null) || status_string(v) ? 0 : -EINVAL;
        if (strcmp(key, "started_usec") == 0)
                return status_int(v, INT64_MIN, INT64_MAX, &s->started_usec);
        if (strcmp(key, "ephemeral") == 0) {
                if (!json_object_is_type(v, json_type_boolean))
                        return -EINVAL;
                s->ephemeral = json_object_get_boolean(v);
                return 0;
        }
        if (strcmp(key, "state") == 0) {
                str = status_string(v);
                return str ? node_state_from_string(str, &s->state) : -EINVAL;
        }
        if (strcmp(key, "schema") == 0) {
                str = status_string(v);
                return !str ? -EINVAL : strcmp(str, NODE_STATUS_SCHEMA) == 0 ? 0 : -EPROTO;
        }
        for (size_t i = 0; i < ELEMENTSOF(strings); i++)
                if (strcmp(key, strings[i].key) == 0)
                        return status_opt_string(v, (char **) ((char *) s + strings[i].offset));
        return -EINVAL;
}

/* The text as one JSON object, strict (RFC 8259, nothing after it), at most STATUS_DEPTH_MAX deep. */
static int status_object(const char *text, struct json_object **ret) {
        struct json_tokener *tok;
        struct json_object *o;

        if (!strings_plain(text))
                return -EINVAL;
        tok = json_tokener_new_ex(STATUS_DEPTH_MAX);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        o = json_tokener_parse_ex(tok, text, (int) strlen(text));
        if (json_tokener_get_error(tok) != json_tokener_success || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                json_tokener_free(tok);
                return -EINVAL;
        }
        json_tokener_free(tok);
        *ret = o;
        return 0;
}

int node_status_parse(const char *text, struct node_status *ret) {
        struct node_status s = {};
        struct json_object *o = NULL;
        int r;

        if (strlen(text) > NODE_STATUS_MAX)
                return -EFBIG;
        r = status_object(text, &o);
        if (r < 0)
                return r;
        json_object_object_foreach(o, key, v) {
                r = status_field(&s, key, v);
                if (r < 0)
                        break;
        }
        json_object_put(o);
        if (r >= 0 && !s.name)
                r = -EINVAL;
        if (r < 0) {
                node_status_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

int node_status_read(const struct node *n, struct node_status *ret, struct un_error *err) {
        const struct host *h = host_live();
        _cleanup_free_ char *path = node_runtime_path(n, "status.json"), *text = NULL;
        int r;

        if (!path)
                return un_error(err, ENOMEM, "status of node %s", n->name);
        r = host_read_file(h, path, NODE_STATUS_MAX, &text, NULL);
        if (r < 0)
                return un_error(err, -r, "cannot read %s", path);
        r = node_status_parse(text, ret);
        if (r < 0)
                return un_error(err, -r, "malformed %s", path);
        return 0;
}
