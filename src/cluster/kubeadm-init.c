/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "kubeadm-init.h"
#include "kubeconfig.h"
#include "template.h"
#include "util.h"
#include "yamljson.h"

int clusterinit_token_generate(struct join_token *ret) {
        static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
        unsigned char bytes[6 + 16];
        struct join_token t = {};

        if (getrandom(bytes, sizeof bytes, 0) != (ssize_t) sizeof bytes)
                return -EIO;
        /* 252 = 7 * 36: only bytes below it, so that every character is as likely. */
        for (size_t i = 0, k = 0; k < sizeof bytes;) {
                if (i == sizeof bytes) {
                        if (getrandom(bytes, sizeof bytes, 0) != (ssize_t) sizeof bytes)
                                return -EIO;
                        i = 0;
                }
                if (bytes[i] >= 252) {
                        i++;
                        continue;
                }
                char ch = alphabet[bytes[i++] % 36];

                if (k < 6)
                        t.id[k] = ch;
                else
                        t.secret[k - 6] = ch;
                k++;
        }
        *ret = t;
        return 0;
}

/* POST the object; one that exists already is replaced (PUT) when replace, else left as it is. */
static int apply(const struct kubeapi *api, const char *collection, const char *name, struct json_object *o, bool replace,
                 struct un_error *err) {
        const char *body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        struct kubeapi_reply reply = {};
        char msg[256];
        int r;

        r = kubeapi_request(api, "POST", collection, body, &reply, err);
        if (r >= 0 && reply.status == 409 && replace) {
                _cleanup_free_ char *path = xstrdup_printf("%s/%s", collection, name);

                kubeapi_reply_done(&reply);
                if (!path)
                        return un_error(err, ENOMEM, "%s", name);
                r = kubeapi_request(api, "PUT", path, body, &reply, err);
        }
        if (r < 0)
                return r;
        if (reply.status != 200 && reply.status != 201 && reply.status != 409)
                r = un_error(err, reply.status == 401 || reply.status == 403 ? EACCES : EIO, "creating %s %s: %s",
                             collection, name, kubeapi_status_message(&reply, msg, sizeof msg));
        kubeapi_reply_done(&reply);
        return r;
}

static struct json_object *object(const char *api_version, const char *kind, const char *ns, const char *name) {
        struct json_object *o = json_object_new_object(), *meta = json_object_new_object();

        json_object_object_add(o, "apiVersion", json_object_new_string(api_version));
        json_object_object_add(o, "kind", json_object_new_string(kind));
        json_object_object_add(meta, "name", json_object_new_string(name));
        if (ns)
                json_object_object_add(meta, "namespace", json_object_new_string(ns));
        json_object_object_add(o, "metadata", meta);
        return o;
}

static struct json_object *subject(const char *kind, const char *name) {
        struct json_object *s = json_object_new_object();

        json_object_object_add(s, "kind", json_object_new_string(kind));
        json_object_object_add(s, "name", json_object_new_string(name));
        json_object_object_add(s, "apiGroup", json_object_new_string("rbac.authorization.k8s.io"));
        return s;
}

/* A (Cluster)RoleBinding of role to the subjects ("Group:NAME", "User:NAME"). */
static int bind(const struct kubeapi *api, const char *ns, const char *name, const char *role_kind, const char *role,
                const char *const *subjects, struct un_error *err) {
        struct json_object *o = object("rbac.authorization.k8s.io/v1", ns ? "RoleBinding" : "ClusterRoleBinding", ns, name);
        struct json_object *ref = json_object_new_object(), *subs = json_object_new_array();
        _cleanup_free_ char *collection = ns ? xstrdup_printf("/apis/rbac.authorization.k8s.io/v1/namespaces/%s/rolebindings", ns)
                                             : strdup("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings");
        int r;

        json_object_object_add(ref, "kind", json_object_new_string(role_kind));
        json_object_object_add(ref, "name", json_object_new_string(role));
        json_object_object_add(ref, "apiGroup", json_object_new_string("rbac.authorization.k8s.io"));
        json_object_object_add(o, "roleRef", ref);
        for (const char *const *s = subjects; *s; s++) {
                const char *colon = strchr(*s, ':');
                _cleanup_free_ char *kind = strndup(*s, (size_t) (colon - *s));

                json_object_array_add(subs, subject(kind, colon + 1));
        }
        json_object_object_add(o, "subjects", subs);
        r = collection ? apply(api, collection, name, o, true, err) : un_error(err, ENOMEM, "%s", name);
        json_object_put(o);
        return r;
}

/* A Role in ns (NULL: a ClusterRole) that may do verb to resource (core API group), to the one named
 * resource_name when not NULL. */
static int role(const struct kubeapi *api, const char *ns, const char *name, const char *resource,
                const char *resource_name, const char *verb, struct un_error *err) {
        struct json_object *o = object("rbac.authorization.k8s.io/v1", ns ? "Role" : "ClusterRole", ns, name);
        struct json_object *rules = json_object_new_array(), *rule = json_object_new_object();
        struct json_object *groups = json_object_new_array(), *resources = json_object_new_array(),
                           *verbs = json_object_new_array();
        _cleanup_free_ char *collection = ns ? xstrdup_printf("/apis/rbac.authorization.k8s.io/v1/namespaces/%s/roles", ns)
                                             : strdup("/apis/rbac.authorization.k8s.io/v1/clusterroles");
        int r;

        json_object_array_add(groups, json_object_new_string(""));
        json_object_array_add(resources, json_object_new_string(resource));
        json_object_array_add(verbs, json_object_new_string(verb));
        json_object_object_add(rule, "apiGroups", groups);
        json_object_object_add(rule, "resources", resources);
        if (resource_name) {
                struct json_object *names = json_object_new_array();

                json_object_array_add(names, json_object_new_string(resource_name));
                json_object_object_add(rule, "resourceNames", names);
        }
        json_object_object_add(rule, "verbs", verbs);
        json_object_array_add(rules, rule);
        json_object_object_add(o, "rules", rules);
        r = collection ? apply(api, collection, name, o, true, err) : un_error(err, ENOMEM, "%s", name);
        json_object_put(o);
        return r;
}

/* A ConfigMap of one key; one that exists is replaced when replace, else kept (its controller owns it). */
static int configmap(const struct kubeapi *api, const char *ns, const char *name, const char *key, const char *value,
                     bool replace, struct un_error *err) {
        struct json_object *o = object("v1", "ConfigMap", ns, name), *data = json_object_new_object();
        _cleanup_free_ char *collection = xstrdup_printf("/api/v1/namespaces/%s/configmaps", ns);
        int r;

        json_object_object_add(data, key, json_object_new_string(value));
        json_object_object_add(o, "data", data);
        r = collection ? apply(api, collection, name, o, replace, err) : un_error(err, ENOMEM, "%s", name);
        json_object_put(o);
        return r;
}

static int service_account(const struct kubeapi *api, const char *ns, const char *name, struct un_error *err) {
        struct json_object *o = object("v1", "ServiceAccount", ns, name);
        _cleanup_free_ char *collection = xstrdup_printf("/api/v1/namespaces/%s/serviceaccounts", ns);
        int r = collection ? apply(api, collection, name, o, false, err) : un_error(err, ENOMEM, "%s", name);

        json_object_put(o);
        return r;
}

int clusterinit_token_create(const struct kubeapi *admin, const struct join_token *token, unsigned ttl_sec,
                             struct un_error *err) {
        _cleanup_free_ char *name = xstrdup_printf("bootstrap-token-%s", token->id);
        struct json_object *o = object("v1", "Secret", "kube-system", name ? name : ""), *data = json_object_new_object();
        time_t expires = time(NULL) + (time_t) ttl_sec;
        char when[32];
        struct tm tm;
        int r;

        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&expires, &tm));
        json_object_object_add(o, "type", json_object_new_string("bootstrap.kubernetes.io/token"));
        json_object_object_add(data, "token-id", json_object_new_string(token->id));
        json_object_object_add(data, "token-secret", json_object_new_string(token->secret));
        json_object_object_add(data, "expiration", json_object_new_string(when));
        json_object_object_add(data, "usage-bootstrap-authentication", json_object_new_string("true"));
        json_object_object_add(data, "usage-bootstrap-signing", json_object_new_string("true"));
        json_object_object_add(data, "auth-extra-groups", json_object_new_string(CLUSTERINIT_TOKEN_GROUP));
        json_object_object_add(o, "stringData", data);
        r = name ? apply(admin, "/api/v1/namespaces/kube-system/secrets", name, o, true, err)
                 : un_error(err, ENOMEM, "token");
        json_object_put(o);
        return r;
}

/* cluster-info's kubeconfig: the server and its CA, nothing secret. */
static int cluster_info(const struct clusterinit *c, struct un_error *err) {
        _cleanup_free_ char *kc = kubeconfig_render(&(struct kubeconfig_spec) { .server = c->server, .ca_pem = c->ca_pem });

        return kc ? configmap(c->admin, "kube-public", "cluster-info", "kubeconfig", kc, true, err)
                  : un_error(err, ENOMEM, "cluster-info");
}

/* Where an object of the CoreDNS add-on goes, and whether one that exists is brought up to date: the
 * workload and its rights follow usernode's version, the Corefile an admin may have edited stays. */
static const struct {
        const char *kind, *group_version, *resource;
        bool namespaced, replace;
        bool get_first;                 /* its POST is refused before its name is found taken: ask first */
} addon_kinds[] = {
        { "ServiceAccount", "api/v1", "serviceaccounts", true, false, false },
        { "ConfigMap", "api/v1", "configmaps", true, false, false },
        /* A Service's cluster IP is allocated before the name is looked up: POSTing kube-dns again gets 422 ("already
         * allocated"), not 409. */
        { "Service", "api/v1", "services", true, false, true },
        { "Deployment", "apis/apps/v1", "deployments", true, true, false },
        { "ClusterRole", "apis/rbac.authorization.k8s.io/v1", "clusterroles", false, true, false },
        { "ClusterRoleBinding", "apis/rbac.authorization.k8s.io/v1", "clusterrolebindings", false, true, false },
};

static int addon_object(const struct kubeapi *api, struct json_object *o, struct un_error *err) {
        struct json_object *meta = json_get(o, "metadata", json_type_object);
        const char *kind = json_object_get_string(json_get(o, "kind", json_type_string)),
                   *name = json_object_get_string(json_get(meta, "name", json_type_string)),
                   *ns = json_object_get_string(json_get(meta, "namespace", json_type_string));

        for (size_t i = 0; kind && name && i < ELEMENTSOF(addon_kinds); i++) {
                if (strcmp(kind, addon_kinds[i].kind) != 0 || addon_kinds[i].namespaced != !!ns)
                        continue;
                _cleanup_free_ char *collection =
                        ns ? xstrdup_printf("/%s/namespaces/%s/%s", addon_kinds[i].group_version, ns, addon_kinds[i].resource)
                           : xstrdup_printf("/%s/%s", addon_kinds[i].group_version, addon_kinds[i].resource);

                if (!collection)
                        return un_error(err, ENOMEM, "%s", name);
                if (addon_kinds[i].get_first) {
                        _cleanup_free_ char *path = xstrdup_printf("%s/%s", collection, name);
                        struct kubeapi_reply reply = {};
                        int r = path ? kubeapi_request(api, "GET", path, NULL, &reply, err) : un_error(err, ENOMEM, "%s", name);
                        bool exists = r >= 0 && reply.status == 200;

                        kubeapi_reply_done(&reply);
                        if (r < 0)
                                return r;
                        if (exists)
                                return 0;
                }
                return apply(api, collection, name, o, addon_kinds[i].replace, err);
        }
        return un_error(err, EINVAL, "coredns.yaml.in: an object usernode does not create (%s %s)", strna(kind),
                        strna(name));
}

static int coredns(const struct clusterinit *c, struct un_error *err) {
        static const char template[] = "coredns.yaml.in";
        const struct template_var vars[] = {
                { "image", c->coredns_image }, { "dns_ip", c->dns_ip }, { "dns_domain", c->dns_domain },
        };
        _cleanup_free_ char *yaml = NULL;
        struct json_object *doc = NULL, *items;
        int r;

        r = template_load_render(template, vars, ELEMENTSOF(vars), &yaml, err);
        if (r >= 0)
                r = yaml_to_json(template, yaml, strlen(yaml), &doc, err);
        if (r < 0)
                return r;
        items = json_get(doc, "items", json_type_array);
        if (!items)
                r = un_error(err, EINVAL, "%s: no list of items", template);
        for (size_t i = 0; r >= 0 && i < json_object_array_length(items); i++)
                r = addon_object(c->admin, json_object_array_get_idx(items, i), err);
        json_object_put(doc);
        return r;
}

/* kube-system/kubeadm-config's ClusterConfiguration, as `kubeadm init` writes it: the networks. */
static int kubeadm_config(const struct clusterinit *c, struct un_error *err) {
        _cleanup_free_ char *text = xstrdup_printf("apiVersion: kubeadm.k8s.io/v1beta3\n"
                                                   "kind: ClusterConfiguration\n"
                                                   "networking:\n"
                                                   "  dnsDomain: %s\n"
                                                   "  podSubnet: %s\n"
                                                   "  serviceSubnet: %s\n",
                                                   c->dns_domain, c->pod_subnet, c->service_subnet);

        return text ? configmap(c->admin, "kube-system", "kubeadm-config", "ClusterConfiguration", text, true, err)
                    : un_error(err, ENOMEM, "kubeadm-config");
}

int clusterinit_apply(const struct clusterinit *c, struct un_error *err) {
        static const char *const bootstrappers[] = { "Group:" CLUSTERINIT_TOKEN_GROUP, NULL };
        static const char *const nodes[] = { "Group:system:nodes", NULL };
        static const char *const nodes_and_bootstrappers[] = { "Group:system:nodes", "Group:" CLUSTERINIT_TOKEN_GROUP, NULL };
        static const char *const anonymous[] = { "User:system:anonymous", NULL };
        int r;

        r = clusterinit_token_create(c->admin, c->token, c->token_ttl_sec, err);
        /* A token's holder may ask for a kubelet certificate, and has it approved; a node renews its own. */
        if (r >= 0)
                r = bind(c->admin, NULL, "kubeadm:kubelet-bootstrap", "ClusterRole", "system:node-bootstrapper",
                         bootstrappers, err);
        if (r >= 0)
                r = bind(c->admin, NULL, "kubeadm:node-autoapprove-bootstrap", "ClusterRole",
                         "system:certificates.k8s.io:certificatesigningrequests:nodeclient", bootstrappers, err);
        if (r >= 0)
                r = bind(c->admin, NULL, "kubeadm:node-autoapprove-certificate-rotation", "ClusterRole",
                         "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", nodes, err);
        /* Discovery: cluster-info, readable without credentials (the bootstrap signer signs it per token). */
        if (r >= 0)
                r = cluster_info(c, err);
        if (r >= 0)
                r = role(c->admin, "kube-public", "kubeadm:bootstrap-signer-clusterinfo", "configmaps", "cluster-info", "get", err);
        if (r >= 0)
                r = bind(c->admin, "kube-public", "kubeadm:bootstrap-signer-clusterinfo", "Role",
                         "kubeadm:bootstrap-signer-clusterinfo", anonymous, err);
        /* What a joining node reads with its token, as from a kubeadm cluster. */
        if (r >= 0)
                r = configmap(c->admin, "kube-system", "kubelet-config", "kubelet", c->kubelet_config_yaml, true, err);
        if (r >= 0)
                r = role(c->admin, "kube-system", "kubeadm:kubelet-config", "configmaps", "kubelet-config", "get", err);
        if (r >= 0)
                r = bind(c->admin, "kube-system", "kubeadm:kubelet-config", "Role", "kubeadm:kubelet-config",
                         nodes_and_bootstrappers, err);
        /* The cluster's networks where kubeadm keeps them: a node that joins takes the pod network from there. */
        if (r >= 0)
                r = kubeadm_config(c, err);
        if (r >= 0)
                r = role(c->admin, "kube-system", "kubeadm:nodes-kubeadm-config", "configmaps", "kubeadm-config", "get",
                         err);
        if (r >= 0)
                r = bind(c->admin, "kube-system", "kubeadm:nodes-kubeadm-config", "Role", "kubeadm:nodes-kubeadm-config",
                         nodes_and_bootstrappers, err);
        /* kube-proxy runs inside each node with the node's credentials: it reads Services and EndpointSlices. */
        if (r >= 0)
                r = bind(c->admin, NULL, "usernode:node-proxier", "ClusterRole", "system:node-proxier", nodes, err);
        /* A node that leaves for good (down --purge) deletes its Node, and the other nodes' routes to its pods go
         * with it; NodeRestriction lets a node delete no other. */
        if (r >= 0)
                r = role(c->admin, NULL, "usernode:node-leave", "nodes", NULL, "delete", err);
        if (r >= 0)
                r = bind(c->admin, NULL, "usernode:node-leave", "ClusterRole", "usernode:node-leave", nodes, err);
        /* What the controller-manager makes a few seconds into its start, made now: a pod applied in the
         * default namespace the moment the node is Ready is admitted (its ServiceAccount exists) and mounts its
         * token's CA at once. The controllers find them made and keep them. */
        if (r >= 0)
                r = service_account(c->admin, "default", "default", err);
        if (r >= 0)
                r = configmap(c->admin, "default", "kube-root-ca.crt", "ca.crt", c->ca_pem, false, err);
        if (r >= 0 && c->coredns_image)
                r = coredns(c, err);
        return r;
}

int clusterinit_node_pod_cidr(const struct kubeapi *admin, const char *node, const char *cidr, struct un_error *err) {
        _cleanup_free_ char *path = xstrdup_printf("/api/v1/nodes/%s", node),
                            *what = xstrdup_printf("setting the pod CIDR of node %s", node);
        struct json_object *patch = json_object_new_object(), *spec = json_object_new_object(),
                           *cidrs = json_object_new_array();

        if (!path || !what || !patch || !spec || !cidrs) {
                json_object_put(patch);
                json_object_put(spec);
                json_object_put(cidrs);
                return un_error(err, ENOMEM, "pod CIDR");
        }
        json_object_array_add(cidrs, json_object_new_string(cidr));
        json_object_object_add(spec, "podCIDR", json_object_new_string(cidr));
        json_object_object_add(spec, "podCIDRs", cidrs);
        json_object_object_add(patch, "spec", spec);
        return kubeapi_patch(admin, path, patch, what, err);
}
