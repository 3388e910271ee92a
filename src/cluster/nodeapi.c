/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A node as its cluster knows it: its name's rule, and a joined node's own requests to its cluster, with the
 * kubelet's credentials: its Node object (ready, pod CIDR, labels, deletion), and with the bootstrap token,
 * what became of its certificate request. */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base64.h"
#include "host.h"
#include "join.h"
#include "kubeapi.h"
#include "nodeapi.h"
#include "util.h"
#include "yamljson.h"

bool node_name_valid(const char *name) {
        size_t n = strlen(name);

        if (n == 0 || n > NODE_NAME_MAX)
                return false;
        if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9')))
                return false;
        return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

void node_api_done(struct node_api *a) {
        free(a->server);
        free(a->ca_pem);
        if (a->client_cert)
                explicit_bzero(a->client_cert, strlen(a->client_cert));
        free(a->client_cert);
        free(a->name);
        *a = (struct node_api) {};
}

static int read_data_file(const char *data_dir, const char *rel, size_t max, char **ret, struct un_error *err) {
        _cleanup_free_ char *path = xstrdup_printf("%s/%s", data_dir, rel);
        const struct host *h = host_live();
        int r;

        if (!path)
                return un_error(err, ENOMEM, "%s", rel);
        r = host_read_file(h, path, max, ret, NULL);
        return r < 0 ? un_error(err, -r, "cannot read %s", path) : 0;
}

static int kubeconfig_server(const char *text, char **ret, struct un_error *err) {
        int r = kubeconfig_cluster_field("the kubelet's kubeconfig", text, "server", ret, err);

        if (r >= 0 && !startswith(*ret, "https://")) {
                free(*ret);
                *ret = NULL;
                r = -EINVAL;
        }
        return r == -EINVAL || r == -ENOENT ? un_error(err, EINVAL, "the kubelet's kubeconfig names no https:// server")
                                            : r;
}

int node_api_open(const char *data_dir, const char *server, const char *name, struct node_api *ret,
                  struct un_error *err) {
        _cleanup_free_ char *kubeconfig = NULL;
        struct node_api a = {};
        int r;

        r = read_data_file(data_dir, NODE_KUBELET_CA, 1024 * 1024, &a.ca_pem, err);
        if (r < 0)
                return r;
        if (server)
                a.server = strdup(server);
        else {
                r = read_data_file(data_dir, NODE_KUBELET_KUBECONFIG, 1024 * 1024, &kubeconfig, err);
                if (r >= 0)
                        r = kubeconfig_server(kubeconfig, &a.server, err);
                if (r < 0) {
                        node_api_done(&a);
                        return r;
                }
        }
        r = read_data_file(data_dir, NODE_KUBELET_CLIENT_CERT, 1024 * 1024, &a.client_cert, err);
        if (r < 0) {
                node_api_done(&a);
                return r;
        }
        a.name = strdup(name);
        if (!a.server || !a.client_cert || !a.name) {
                node_api_done(&a);
                return un_error(err, ENOMEM, "node %s", name);
        }
        *ret = a;
        return 0;
}

static struct json_object *first(struct json_object *array) {
        return array && json_object_array_length(array) > 0 ? json_object_array_get_idx(array, 0) : NULL;
}

/* One credential of a kubeconfig's entry: KEY-data inline (base64), else the file KEY names. */
static int kubeconfig_blob(struct json_object *entry, const char *key, const char *what, char **ret,
                           struct un_error *err) {
        _cleanup_free_ char *data_key = xstrdup_printf("%s-data", key);
        struct json_object *v;
        int r;

        if (!data_key)
                return un_error(err, ENOMEM, "%s", what);
        if ((v = json_get(entry, data_key, json_type_string))) {
                unsigned char *bytes = NULL;
                size_t len;

                r = base64_decode(json_object_get_string(v), BASE64_STD, &bytes, &len);
                if (r < 0 || strlen((char *) bytes) != len) {
                        free(bytes);
                        return un_error(err, EINVAL, "%s: %s is not base64 of a PEM text", what, data_key);
                }
                *ret = (char *) bytes;
                return 0;
        }
        if ((v = json_get(entry, key, json_type_string))) {
                r = host_read_file(host_live(), json_object_get_string(v), 1024 * 1024, ret, NULL);
                return r < 0 ? un_error(err, -r, "%s: cannot read %s", what, json_object_get_string(v)) : 0;
        }
        return un_error(err, ENOENT, "%s names no %s", what, key);
}

int node_api_open_kubeconfig(const char *path, const char *name, struct node_api *ret, struct un_error *err) {
        _cleanup_free_ char *text = NULL, *cert = NULL, *key = NULL;
        struct json_object *o = NULL, *cluster, *user, *server;
        struct node_api a = {};
        int r;

        r = host_read_file(host_live(), path, 1024 * 1024, &text, NULL);
        if (r < 0)
                return un_error(err, -r, "cannot read %s", path);
        r = yaml_to_json(path, text, strlen(text), &o, err);
        explicit_bzero(text, strlen(text));
        if (r < 0)
                return r;
        cluster = json_get(first(json_get(o, "clusters", json_type_array)), "cluster", json_type_object);
        user = json_get(first(json_get(o, "users", json_type_array)), "user", json_type_object);
        server = json_get(cluster, "server", json_type_string);
        if (!server || !startswith(json_object_get_string(server), "https://") || !user)
                r = un_error(err, EINVAL, "%s names no https:// server and user", path);
        if (r >= 0)
                r = kubeconfig_blob(cluster, "certificate-authority", path, &a.ca_pem, err);
        if (r >= 0)
                r = kubeconfig_blob(user, "client-certificate", path, &cert, err);
        if (r >= 0)
                r = kubeconfig_blob(user, "client-key", path, &key, err);
        if (r >= 0) {
                a.server = strdup(json_object_get_string(server));
                a.client_cert = xstrdup_printf("%s\n%s", cert, key);
                a.name = strdup(name);
                if (!a.server || !a.client_cert || !a.name)
                        r = un_error(err, ENOMEM, "%s", path);
        }
        if (key)
                explicit_bzero(key, strlen(key));
        json_object_put(o);
        if (r < 0) {
                node_api_done(&a);
                return r;
        }
        *ret = a;
        return 0;
}

static struct kubeapi as_kubelet(const struct node_api *a, unsigned timeout_ms) {
        return (struct kubeapi) { .server = a->server, .ca_pem = a->ca_pem, .client_cert = a->client_cert,
                                  .timeout_ms = timeout_ms };
}

void node_object_done(struct node_object *o) {
        free(o->pod_cidr);
        free(o->overlay_address);
        free(o->ready_message);
        *o = (struct node_object) {};
}

/* "2026-11-29T17:58:36Z" as seconds since the epoch; 0 when it is not that. */
static time_t rfc3339_seconds(const char *s) {
        struct tm tm = {};
        const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;

        return end && *end == '\0' ? timegm(&tm) : 0;
}

static void parse_node(struct json_object *n, struct node_object *ret) {
        struct json_object *spec = json_get(n, "spec", json_type_object), *cidr = json_get(spec, "podCIDR", json_type_string),
                           *taints = json_get(spec, "taints", json_type_array),
                           *conds = json_get(json_get(n, "status", json_type_object), "conditions", json_type_array);

        const char *overlay = json_object_get_string(json_get(json_get(json_get(n, "metadata", json_type_object),
                                                                       "annotations", json_type_object),
                                                              "flannel.alpha.coreos.com/public-ip", json_type_string));

        ret->exists = true;
        if (overlay)
                ret->overlay_address = strdup(overlay);
        if (cidr)
                ret->pod_cidr = strdup(json_object_get_string(cidr));
        for (size_t i = 0; taints && i < json_object_array_length(taints); i++) {
                const char *key = json_object_get_string(json_get(json_object_array_get_idx(taints, i), "key", json_type_string));

                if (streq_ptr(key, "node.kubernetes.io/not-ready") || streq_ptr(key, "node.kubernetes.io/unreachable"))
                        ret->not_ready_taint = true;
        }
        for (size_t i = 0; conds && i < json_object_array_length(conds); i++) {
                struct json_object *c = json_object_array_get_idx(conds, i);
                const char *type = json_object_get_string(json_get(c, "type", json_type_string));
                const char *msg = json_object_get_string(json_get(c, "message", json_type_string));

                if (!streq_ptr(type, "Ready"))
                        continue;
                ret->ready = streq_ptr(json_object_get_string(json_get(c, "status", json_type_string)), "True");
                ret->ready_message = msg ? strdup(msg) : NULL;
                ret->ready_heartbeat = rfc3339_seconds(json_object_get_string(json_get(c, "lastHeartbeatTime",
                                                                                        json_type_string)));
        }
}

int node_api_get(const struct node_api *a, struct node_object *ret, struct un_error *err) {
        const struct kubeapi api = as_kubelet(a, 5000);
        _cleanup_free_ char *path = xstrdup_printf("/api/v1/nodes/%s", a->name);
        struct kubeapi_reply reply = {};
        struct json_object *o;
        char msg[256];
        int r;

        *ret = (struct node_object) {};
        if (!path)
                return un_error(err, ENOMEM, "node %s", a->name);
        r = kubeapi_request(&api, "GET", path, NULL, &reply, err);
        if (r < 0)
                return r;
        if (reply.status == 404) {
                kubeapi_reply_done(&reply);
                return 0;
        }
        if (reply.status != 200) {
                r = un_error(err, reply.status == 401 || reply.status == 403 ? EACCES : EIO, "GET node %s: %s", a->name,
                             kubeapi_status_message(&reply, msg, sizeof msg));
                kubeapi_reply_done(&reply);
                return r;
        }
        o = json_tokener_parse(reply.body);
        kubeapi_reply_done(&reply);
        if (!json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return un_error(err, EBADMSG, "GET node %s: not a JSON object", a->name);
        }
        parse_node(o, ret);
        json_object_put(o);
        return 0;
}

/* Merges "KEY=VALUE" pairs into the Node's metadata.FIELD (labels, annotations). */
static int patch_metadata(const struct node_api *a, const char *field, char *const *pairs, const char *doing,
                          struct un_error *err) {
        const struct kubeapi api = as_kubelet(a, 5000);
        _cleanup_free_ char *path = xstrdup_printf("/api/v1/nodes/%s", a->name),
                            *what = xstrdup_printf("%s node %s", doing, a->name);
        struct json_object *patch = json_object_new_object(), *meta = json_object_new_object(),
                           *map = json_object_new_object();

        if (!path || !what || !patch || !meta || !map) {
                json_object_put(patch);
                json_object_put(meta);
                json_object_put(map);
                return un_error(err, ENOMEM, "node %s", a->name);
        }
        for (char *const *i = pairs; i && *i; i++) {
                const char *eq = strchr(*i, '=');
                _cleanup_free_ char *key = eq ? strndup(*i, (size_t) (eq - *i)) : NULL;

                if (key)
                        json_object_object_add(map, key, json_object_new_string(eq + 1));
        }
        json_object_object_add(meta, field, map);
        json_object_object_add(patch, "metadata", meta);
        return kubeapi_patch(&api, path, patch, what, err);
}

int node_api_label(const struct node_api *a, char *const *labels, struct un_error *err) {
        return patch_metadata(a, "labels", labels, "labelling", err);
}

int node_api_annotate(const struct node_api *a, const char *key, const char *value, struct un_error *err) {
        _cleanup_free_ char *pair = xstrdup_printf("%s=%s", key, value);
        char *const pairs[] = { pair, NULL };

        return pair ? patch_metadata(a, "annotations", pairs, "annotating", err) : un_error(err, ENOMEM, "node %s", a->name);
}

int node_api_delete(const struct node_api *a, struct un_error *err) {
        const struct kubeapi api = as_kubelet(a, 5000);
        _cleanup_free_ char *path = xstrdup_printf("/api/v1/nodes/%s", a->name);
        struct kubeapi_reply reply = {};
        char msg[256];
        int r;

        if (!path)
                return un_error(err, ENOMEM, "node %s", a->name);
        r = kubeapi_request(&api, "DELETE", path, NULL, &reply, err);
        if (r < 0)
                return r;
        if (reply.status == 404)
                r = 0;
        else if (reply.status != 200 && reply.status != 202)
                r = un_error(err, reply.status == 401 || reply.status == 403 ? EACCES : EIO, "%s",
                             kubeapi_status_message(&reply, msg, sizeof msg));
        kubeapi_reply_done(&reply);
        return r;
}

/* The token in our bootstrap kubeconfig (users[0].user.token). */
int node_api_bootstrap_token(const char *data_dir, char **ret, struct un_error *err) {
        _cleanup_free_ char *text = NULL;
        struct json_object *o, *users, *token;
        int r = read_data_file(data_dir, NODE_KUBELET_BOOTSTRAP, 64 * 1024, &text, err);

        if (r < 0)
                return r;
        o = json_tokener_parse(text);
        explicit_bzero(text, strlen(text));
        users = json_get(o, "users", json_type_array);
        token = users && json_object_array_length(users) > 0
                        ? json_get(json_get(json_object_array_get_idx(users, 0), "user", json_type_object), "token",
                                   json_type_string)
                        : NULL;
        *ret = token ? strdup(json_object_get_string(token)) : NULL;
        json_object_put(o);
        return *ret ? 0 : un_error(err, EINVAL, "the bootstrap kubeconfig holds no token");
}

int node_api_csr_state(const char *data_dir, const char *server, char **ret_name, bool *ret_denied,
                       struct un_error *err) {
        _cleanup_free_ char *token = NULL, *ca = NULL, *user = NULL;
        struct kubeapi_reply reply = {};
        struct json_object *o, *items;
        struct join_token t;
        char msg[256];
        int r;

        *ret_name = NULL;
        *ret_denied = false;
        r = node_api_bootstrap_token(data_dir, &token, err);
        if (r >= 0)
                r = read_data_file(data_dir, NODE_KUBELET_CA, 1024 * 1024, &ca, err);
        if (r < 0)
                return r;
        if (join_token_parse(token, &t) < 0)
                return un_error(err, EINVAL, "the bootstrap kubeconfig holds no bootstrap token");
        const struct kubeapi api = { .server = server, .ca_pem = ca, .token = token, .timeout_ms = 5000 };
        r = kubeapi_request(&api, "GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests", NULL, &reply, err);
        explicit_bzero(token, strlen(token));
        if (r < 0)
                return r;
        if (reply.status != 200) {
                r = un_error(err, EACCES, "listing certificate signing requests: %s",
                             kubeapi_status_message(&reply, msg, sizeof msg));
                kubeapi_reply_done(&reply);
                return r;
        }
        user = xstrdup_printf("system:bootstrap:%s", t.id);
        o = json_tokener_parse(reply.body);
        kubeapi_reply_done(&reply);
        items = json_get(o, "items", json_type_array);
        for (size_t i = 0; user && items && i < json_object_array_length(items); i++) {
                struct json_object *csr = json_object_array_get_idx(items, i);
                struct json_object *conds = json_get(json_get(csr, "status", json_type_object), "conditions",
                                                     json_type_array);
                const char *name = json_object_get_string(
                        json_get(json_get(csr, "metadata", json_type_object), "name", json_type_string));
                bool approved = false, denied = false;

                if (!streq_ptr(json_object_get_string(json_get(json_get(csr, "spec", json_type_object), "username",
                                                               json_type_string)),
                               user) ||
                    !name)
                        continue;
                for (size_t k = 0; conds && k < json_object_array_length(conds); k++) {
                        const char *type = json_object_get_string(
                                json_get(json_object_array_get_idx(conds, k), "type", json_type_string));

                        approved = approved || streq_ptr(type, "Approved");
                        denied = denied || streq_ptr(type, "Denied") || streq_ptr(type, "Failed");
                }
                if (approved && !denied)
                        continue;
                free(*ret_name);
                *ret_name = strdup(name);
                *ret_denied = denied;
        }
        json_object_put(o);
        return 0;
}

int node_api_may_list(const struct node_api *a, const char *path, struct un_error *err) {
        const struct kubeapi api = as_kubelet(a, 5000);
        _cleanup_free_ char *p = xstrdup_printf("%s?limit=1", path);
        struct kubeapi_reply reply = {};
        char msg[256];
        int r;

        if (!p)
                return un_error(err, ENOMEM, "%s", path);
        r = kubeapi_request(&api, "GET", p, NULL, &reply, err);
        if (r < 0)
                return r;
        r = reply.status == 200 ? 1 : reply.status == 403 ? 0
                : un_error(err, EIO, "GET %s: %s", path, kubeapi_status_message(&reply, msg, sizeof msg));
        kubeapi_reply_done(&reply);
        return r;
}

int node_api_set_not_ready(const struct node_api *a, const char *reason, const char *message, unsigned timeout_ms,
                           struct un_error *err) {
        const struct kubeapi api = as_kubelet(a, timeout_ms);
        _cleanup_free_ char *path = xstrdup_printf("/api/v1/nodes/%s/status", a->name),
                            *what = xstrdup_printf("marking node %s not ready", a->name);
        struct json_object *patch = json_object_new_object(), *status = json_object_new_object(),
                           *conds = json_object_new_array(), *c = json_object_new_object(),
                           *replace = json_object_new_array(), *directive = json_object_new_object();
        char now[32];
        time_t t = time(NULL);
        struct tm tm;

        if (!path || !what || !patch || !status || !conds || !c || !replace || !directive || !gmtime_r(&t, &tm)) {
                json_object_put(patch);
                json_object_put(status);
                json_object_put(conds);
                json_object_put(c);
                json_object_put(replace);
                json_object_put(directive);
                return un_error(err, ENOMEM, "node status");
        }
        /* A strategic merge patch replaces a list merged by key only when told to. */
        json_object_object_add(directive, "$patch", json_object_new_string("replace"));
        json_object_array_add(replace, directive);
        strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_object_object_add(c, "type", json_object_new_string("Ready"));
        json_object_object_add(c, "status", json_object_new_string("False"));
        json_object_object_add(c, "reason", json_object_new_string(reason));
        json_object_object_add(c, "message", json_object_new_string(message));
        json_object_object_add(c, "lastHeartbeatTime", json_object_new_string(now));
        json_object_object_add(c, "lastTransitionTime", json_object_new_string(now));
        json_object_array_add(conds, c);
        json_object_object_add(status, "conditions", conds);
        /* No address either: the API server connects to none (logs, exec, attach, port-forward) while nobody but
         * the kubelet should answer there. The kubelet posts its addresses again when it runs. */
        json_object_object_add(status, "addresses", replace);
        json_object_object_add(patch, "status", status);
        return kubeapi_patch(&api, path, patch, what, err);
}

int node_api_list_pods(const struct node_api *a, struct json_object **ret_list, struct un_error *err) {
        const struct kubeapi api = as_kubelet(a, 5000);
        _cleanup_free_ char *path = xstrdup_printf("/api/v1/pods?fieldSelector=spec.nodeName%%3D%s&resourceVersion=0",
                                                   a->name);
        _cleanup_free_ char *what = xstrdup_printf("the pods of node %s", a->name);

        *ret_list = NULL;
        if (!path || !what)
                return un_error(err, ENOMEM, "pods of node %s", a->name);
        return kubeapi_list(&api, path, what, ret_list, err);
}

static const char *pod_meta(struct json_object *pod, const char *key) {
        return json_object_get_string(json_get(json_get(pod, "metadata", json_type_object), key, json_type_string));
}

int node_api_pod_event(const struct node_api *a, struct json_object *pod, const char *reason, const char *message,
                       struct un_error *err) {
        const struct kubeapi api = as_kubelet(a, 5000);
        const char *ns = pod_meta(pod, "namespace"), *name = pod_meta(pod, "name"), *uid = pod_meta(pod, "uid");
        _cleanup_free_ char *path = NULL, *generate = NULL;
        struct json_object *e = NULL, *meta, *involved, *source;
        struct kubeapi_reply reply = {};
        char now[32], msg[256];
        time_t t = time(NULL);
        struct tm tm;
        int r;

        if (!ns || !name || !uid)
                return un_error(err, EINVAL, "a pod without namespace, name or uid");
        path = xstrdup_printf("/api/v1/namespaces/%s/events", ns);
        generate = xstrdup_printf("%s.", name);
        e = json_object_new_object();
        meta = json_object_new_object();
        involved = json_object_new_object();
        source = json_object_new_object();
        if (!path || !generate || !e || !meta || !involved || !source || !gmtime_r(&t, &tm)) {
                json_object_put(e);
                json_object_put(meta);
                json_object_put(involved);
                json_object_put(source);
                return un_error(err, ENOMEM, "event");
        }
        strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_object_object_add(meta, "generateName", json_object_new_string(generate));
        json_object_object_add(meta, "namespace", json_object_new_string(ns));
        json_object_object_add(involved, "apiVersion", json_object_new_string("v1"));
        json_object_object_add(involved, "kind", json_object_new_string("Pod"));
        json_object_object_add(involved, "namespace", json_object_new_string(ns));
        json_object_object_add(involved, "name", json_object_new_string(name));
        json_object_object_add(involved, "uid", json_object_new_string(uid));
        json_object_object_add(source, "component", json_object_new_string("usernode"));
        json_object_object_add(source, "host", json_object_new_string(a->name));
        json_object_object_add(e, "apiVersion", json_object_new_string("v1"));
        json_object_object_add(e, "kind", json_object_new_string("Event"));
        json_object_object_add(e, "metadata", meta);
        json_object_object_add(e, "involvedObject", involved);
        json_object_object_add(e, "reason", json_object_new_string(reason));
        json_object_object_add(e, "message", json_object_new_string(message));
        json_object_object_add(e, "type", json_object_new_string("Warning"));
        json_object_object_add(e, "source", source);
        json_object_object_add(e, "firstTimestamp", json_object_new_string(now));
        json_object_object_add(e, "lastTimestamp", json_object_new_string(now));
        json_object_object_add(e, "count", json_object_new_int(1));
        r = kubeapi_request(&api, "POST", path, json_object_to_json_string(e), &reply, err);
        json_object_put(e);
        if (r < 0)
                return r;
        if (reply.status != 201 && reply.status != 200)
                r = un_error(err, reply.status >= 500 || reply.status == 429 ? EAGAIN : EACCES,
                             "an event for pod %s/%s: %s", ns, name, kubeapi_status_message(&reply, msg, sizeof msg));
        kubeapi_reply_done(&reply);
        return r;
}
