/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "error.h"
#include "join.h"
#include "kubeapi.h"

/* What `kubeadm init` sets up in a new cluster for nodes to join it, done by usernode for the cluster a
 * node brings along: a bootstrap token, the RBAC that lets its holder ask for a kubelet certificate and
 * has that request approved, the signed cluster-info (kube-public) that `kubeadm join` and `usernode up
 * --server` discover, the kubelet-config ConfigMap, kube-proxy's reading of EndpointSlices, and the CoreDNS
 * add-on. */
#define CLUSTERINIT_TOKEN_GROUP "system:bootstrappers:kubeadm:default-node-token"

/* A fresh token, from the kernel's random bytes, in kubeadm's alphabet. */
int clusterinit_token_generate(struct join_token *ret);
/* Its bootstrap-token Secret, valid for ttl_sec, for authentication and cluster-info's signature, in kubeadm's
 * group for joining nodes (replaced when it exists). */
int clusterinit_token_create(const struct kubeapi *admin, const struct join_token *token, unsigned ttl_sec,
                             struct un_error *err);

struct clusterinit {
        const struct kubeapi *admin;    /* the API server, as the cluster's admin */
        const struct join_token *token;
        unsigned token_ttl_sec;
        const char *server;             /* the API server's URL for cluster-info */
        const char *ca_pem;
        const char *kubelet_config_yaml; /* the kubelet-config ConfigMap's "kubelet" key */
        const char *coredns_image;      /* CoreDNS (templates/coredns.yaml.in) with it; NULL: the cluster has no DNS */
        const char *dns_ip;             /* its Service's address */
        const char *dns_domain;
        const char *pod_subnet;         /* the cluster's networks, in kubeadm-config as kubeadm writes them */
        const char *service_subnet;
};

/* Creates (or brings up to date) every object; idempotent across restarts of the node. */
int clusterinit_apply(const struct clusterinit *c, struct un_error *err);

/* spec.podCIDR and spec.podCIDRs of the Node, as the node IPAM controller sets them (once: the API server
 * refuses a change). */
int clusterinit_node_pod_cidr(const struct kubeapi *admin, const char *node, const char *cidr, struct un_error *err);
