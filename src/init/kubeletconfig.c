/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The kubelet's KubeletConfiguration: the cluster's own (kube-system/kubelet-config, what `kubeadm join`
 * takes) where it has one, adapted to a kubelet in a user namespace, then usernode's settings on top. */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "init.h"
#include "util.h"
#include "yamljson.h"

/* What the cluster's configuration says about its own (rootful, kubeadm-made) nodes and which does not
 * hold here: paths under /etc/kubernetes and /var/lib/kubelet that this node does not have, the cgroups
 * of a systemd-managed host, a serving certificate of the host's. */
static const char *const cluster_only_keys[] = {
        "staticPodPath", "tlsCertFile", "tlsPrivateKeyFile", "kubeletCgroups", "systemCgroups", "cgroupRoot",
        "kubeReservedCgroup", "systemReservedCgroup", "resolvConf", "volumePluginDir", "providerID",
        "enforceNodeAllocatable", "cgroupDriver", "cgroupsPerQOS", "containerRuntimeEndpoint", "port",
        "readOnlyPort", "healthzBindAddress", "podPidsLimit",
};

static int set(struct json_object *o, const char *key, struct json_object *v) {
        if (!v)
                return -ENOMEM;
        return json_object_object_add(o, key, v) < 0 ? -ENOMEM : 0;
}

/* o[key] as an object, created (or replaced, when it is something else) when missing. */
static struct json_object *object_at(struct json_object *o, const char *key) {
        struct json_object *v = json_get(o, key, json_type_object);

        if (v)
                return v;
        v = json_object_new_object();
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return NULL;
        }
        return v;
}

static int ours(struct json_object *c, const struct kubelet_params *p) {
        struct json_object *gates = object_at(c, "featureGates"), *authn = object_at(c, "authentication"),
                           *authz = object_at(c, "authorization"), *anon = authn ? object_at(authn, "anonymous") : NULL,
                           *webhook = authn ? object_at(authn, "webhook") : NULL,
                           *x509 = authn ? object_at(authn, "x509") : NULL, *none = json_object_new_array();
        _cleanup_free_ char *endpoint = xstrdup_printf("unix://%s", p->address);
        _cleanup_free_ char *plugins = xstrdup_printf("%s/volume-plugins", p->kubelet_dir);
        int r = 0;

        if (!gates || !authz || !anon || !webhook || !x509 || !none || !endpoint || !plugins) {
                json_object_put(none);
                return -ENOMEM;
        }
        r = r ?: set(c, "apiVersion", json_object_new_string("kubelet.config.k8s.io/v1beta1"));
        r = r ?: set(c, "kind", json_object_new_string("KubeletConfiguration"));
        r = r ?: set(gates, "KubeletInUserNamespace", json_object_new_boolean(1));
        /* cgroupfs, also under a user manager: its systemd would put pods in scopes of its own tree, outside the
         * node's cgroup namespace, and is not reachable over D-Bus from inside the node anyway. */
        r = r ?: set(c, "cgroupDriver", json_object_new_string(p->cgroup_driver));
        r = r ?: set(c, "cgroupsPerQOS", json_object_new_boolean(!p->disable_cgroup));
        r = r ?: set(c, "enforceNodeAllocatable", TAKE_PTR(none));
        r = r ?: set(c, "failSwapOn", json_object_new_boolean(0));
        r = r ?: set(c, "containerRuntimeEndpoint", json_object_new_string(endpoint));
        r = r ?: set(anon, "enabled", json_object_new_boolean(0));
        /* Callers of the kubelet's API are the cluster's (its CA, its webhook). Without a cluster there is
         * nobody to ask, and the kubelet refuses to start with a webhook: neither a CA nor a webhook, so every
         * caller is refused as unauthenticated (401; static-real.sh) before any authorization. */
        r = r ?: set(webhook, "enabled", json_object_new_boolean(p->client_ca_file != NULL));
        if (p->client_ca_file)
                r = r ?: set(x509, "clientCAFile", json_object_new_string(p->client_ca_file));
        else
                json_object_object_del(x509, "clientCAFile");
        r = r ?: set(authz, "mode", json_object_new_string(p->client_ca_file ? "Webhook" : "AlwaysAllow"));
        r = r ?: set(c, "volumePluginDir", json_object_new_string(plugins));
        r = r ?: set(c, "resolvConf", json_object_new_string("/etc/resolv.conf"));
        if (p->static_pod_dir)
                r = r ?: set(c, "staticPodPath", json_object_new_string(p->static_pod_dir));
        r = r ?: set(c, "readOnlyPort", json_object_new_int(0));
        r = r ?: set(c, "healthzBindAddress", json_object_new_string("127.0.0.1"));
        if (p->port)
                r = r ?: set(c, "port", json_object_new_int(p->port));
        r = r ?: set(c, "podPidsLimit", json_object_new_int64(p->pod_pids_limit));
        r = r ?: set(c, "rotateCertificates", json_object_new_boolean(1));
        /* A development host's disk is often fuller than a server's: evict at 3 %, not at kubelet's 10 %. */
        if (!json_get(c, "evictionHard", json_type_object)) {
                struct json_object *e = json_object_new_object();

                r = r ?: set(c, "evictionHard", e);
                r = r ?: set(e, "nodefs.available", json_object_new_string("3%"));
                r = r ?: set(e, "imagefs.available", json_object_new_string("3%"));
        }
        return r;
}

int kubelet_render_kubelet_config(const struct kubelet_params *p, char **ret, struct un_error *err) {
        struct json_object *c = NULL;
        int r;

        if (p->cluster_config) {
                r = yaml_to_json("the cluster's kubelet-config", p->cluster_config, strlen(p->cluster_config), &c,
                                 err);
                if (r < 0)
                        return r;
                if (!json_object_is_type(c, json_type_object)) {
                        json_object_put(c);
                        return un_error(err, EINVAL, "the cluster's kubelet-config is not a mapping");
                }
                if (!streq_ptr(json_object_get_string(json_get(c, "kind", json_type_string)), "KubeletConfiguration")) {
                        json_object_put(c);
                        return un_error(err, EINVAL, "the cluster's kubelet-config is not a KubeletConfiguration");
                }
                for (size_t i = 0; i < ELEMENTSOF(cluster_only_keys); i++)
                        json_object_object_del(c, cluster_only_keys[i]);
                /* Nothing answers at the cluster's DNS address: pods resolve as the node does. */
                if (p->without_cluster_dns)
                        json_object_object_del(c, "clusterDNS");
        } else if (!(c = json_object_new_object()))
                return un_error(err, ENOMEM, "kubelet configuration");
        r = ours(c, p);
        if (r >= 0) {
                *ret = xstrdup_printf("%s\n", json_object_to_json_string_ext(c, JSON_C_TO_STRING_PRETTY |
                                                                                         JSON_C_TO_STRING_SPACED |
                                                                                         JSON_C_TO_STRING_NOSLASHESCAPE));
                if (!*ret)
                        r = -ENOMEM;
        }
        json_object_put(c);
        return r < 0 ? un_error(err, -r, "kubelet configuration") : 0;
}
