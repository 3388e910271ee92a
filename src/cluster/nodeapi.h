/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <time.h>

#include "error.h"

struct json_object;

/* A node's name: [a-z0-9][a-z0-9_.-]*, at most NODE_NAME_MAX bytes. It is its Node's name in the cluster and, on
 * the host, a directory and a unit name. */
#define NODE_NAME_MAX 48
bool node_name_valid(const char *name);

/* The kubelet's files under the node's data directory: its credentials in the cluster, which `up` writes,
 * the kubelet and the init read, and the node's requests below are made with. */
#define NODE_KUBELET_CA "kubelet/pki/ca.crt"                    /* the cluster's CA, verified */
#define NODE_KUBELET_BOOTSTRAP "kubelet/bootstrap-kubeconfig.json"      /* 0600: holds the token until the CSR */
#define NODE_KUBELET_KUBECONFIG "kubelet/kubeconfig.yaml"       /* the kubelet's own, after TLS bootstrap */
#define NODE_KUBELET_CLIENT_CERT "kubelet/pki/kubelet-client-current.pem"
#define NODE_KUBELET_CLUSTER_CONFIG "kubelet/cluster-config.yaml"       /* kube-system/kubelet-config */
#define NODE_CLUSTER_POD_NETWORK "kubelet/cluster-pod-network"  /* kubeadm-config's podSubnet, one line */

/* A joined node's requests to its cluster as the node itself: the kubelet's client certificate (under
 * the node's data directory) and the cluster's CA that `up` verified. */
struct node_api {
        char *server;
        char *ca_pem;
        char *client_cert;              /* PEM, certificate and key, read once: `down` deletes the files */
        char *name;
};

/* server NULL: the one in the kubelet's kubeconfig. */
int node_api_open(const char *data_dir, const char *server, const char *name, struct node_api *ret,
                  struct un_error *err);
/* From a kubeconfig file (k3s's: its admin's, or its agent's kubelet's): its server, CA and client certificate and
 * key, inline (-data) or in the files it names. */
int node_api_open_kubeconfig(const char *path, const char *name, struct node_api *ret, struct un_error *err);
void node_api_done(struct node_api *a);

struct node_object {
        bool exists;                    /* registered */
        bool ready;                     /* its Ready condition is True */
        char *ready_message;
        time_t ready_heartbeat;         /* when the kubelet last posted that condition (0: unknown) */
        char *pod_cidr;                 /* spec.podCIDR, NULL when none was allocated */
        bool not_ready_taint;           /* the node lifecycle controller's not-ready or unreachable taint: no pod is
                                         * scheduled here until it lifts it */
        char *overlay_address;          /* flannel's public-ip annotation: where the other nodes send its pods' traffic */
};
void node_object_done(struct node_object *o);

/* GET the Node: ret->exists false when it is not registered (404). */
int node_api_get(const struct node_api *a, struct node_object *ret, struct un_error *err);
/* Merges labels ("KEY=VALUE") into the Node's: -EACCES when the cluster refuses them, -EAGAIN when it is busy
 * (5xx, 429), another error when it was not reached. */
int node_api_label(const struct node_api *a, char *const *labels, struct un_error *err);
/* flannel reads where the other nodes reach this one (its VXLAN endpoint) from this annotation of the Node when it
 * takes its lease, instead of its interface's address. */
#define NODE_OVERLAY_ADDRESS_ANNOTATION "flannel.alpha.coreos.com/public-ip-overwrite"
/* Merges the annotation key=value into the Node's (as node_api_label's errors). */
int node_api_annotate(const struct node_api *a, const char *key, const char *value, struct un_error *err);
/* Deletes the Node (404 counts as done); -EACCES when the cluster does not let a node delete itself. */
int node_api_delete(const struct node_api *a, struct un_error *err);

/* The token in the node's bootstrap kubeconfig (until the kubelet has its certificate). */
int node_api_bootstrap_token(const char *data_dir, char **ret, struct un_error *err);
/* With the bootstrap token: the newest of its certificate signing requests that is not approved (ret_name
 * NULL when there is none), and whether it was denied. */
int node_api_csr_state(const char *data_dir, const char *server, char **ret_name, bool *ret_denied,
                       struct un_error *err);
/* Whether the node may list what path names (1 yes, 0 forbidden): what kube-proxy needs. */
int node_api_may_list(const struct node_api *a, const char *path, struct un_error *err);
/* Sets the Node's Ready condition to False (reason, message) as its kubelet would: for a node that stops,
 * and before a kubelet starts again (a kubelet that finds its Node Ready skips its quick status updates
 * and reports its readiness only at its next sync, 10 s later). Its addresses go too: while no kubelet runs,
 * the API server has nothing to connect to, and another user who binds the node's published kubelet port
 * gets no logs, exec or port-forward (an API server that does not verify kubelet certificates would talk to
 * whoever answers there). */
int node_api_set_not_ready(const struct node_api *a, const char *reason, const char *message, unsigned timeout_ms,
                           struct un_error *err);

/* The pods bound to this node (field spec.nodeName), served from the API server's cache: the PodList. */
int node_api_list_pods(const struct node_api *a, struct json_object **ret_list, struct un_error *err);
/* Posts a Warning Event about a pod (an object of that list), reported by usernode on this node. */
int node_api_pod_event(const struct node_api *a, struct json_object *pod, const char *reason, const char *message,
                       struct un_error *err);
