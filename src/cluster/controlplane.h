/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

#include "error.h"

/* The control plane a kubelet node brings along when it joins no cluster: etcd, kube-apiserver,
 * kube-controller-manager and kube-scheduler inside the node's namespaces, as kubeadm lays them out,
 * with the PKI of pki.c. */
enum controlplane_component {
        CONTROLPLANE_ETCD,
        CONTROLPLANE_APISERVER,
        CONTROLPLANE_CONTROLLER_MANAGER,
        CONTROLPLANE_SCHEDULER,
        _CONTROLPLANE_MAX,
};

#define CONTROLPLANE_APISERVER_PORT 6443u       /* inside the node; published on the host as the user chose */
#define CONTROLPLANE_ETCD_PORT 2379u
#define CONTROLPLANE_ETCD_METRICS_PORT 2381u    /* plain HTTP on loopback: /health */
#define CONTROLPLANE_DNS_DOMAIN "cluster.local"
/* The cluster's DNS, kubeadm v1.28's: started when the node's image store has it (no registry is asked). */
#define CONTROLPLANE_COREDNS_IMAGE "registry.k8s.io/coredns/coredns:v1.10.1"
#define CONTROLPLANE_DNS_HOST 10u               /* its Service: the service network's tenth address */

/* Where a node keeps the control plane it brings along, under its data directory: the PKI (pki.c), etcd's
 * data, the components' kubeconfigs (0600, keys embedded). */
#define NODE_PKI "pki"
#define NODE_ETCD "etcd"
#define NODE_CONTROLPLANE "controlplane"

struct controlplane {
        const char *pki_dir;            /* pki.c's directory */
        const char *etcd_dir;           /* etcd's data, kept across down/up */
        const char *conf_dir;           /* the components' kubeconfigs */
        const char *node_name;
        const char *advertise_ip;       /* the node's address, as the API server tells clients */
        const char *service_cidr;
};

const char *controlplane_component_to_string(enum controlplane_component c);
/* The component's binary: "etcd", "kube-apiserver", … */
const char *controlplane_binary(enum controlplane_component c);
/* Its command line (argv[0] is the binary's name, searched on PATH). */
int controlplane_argv(const struct controlplane *cp, enum controlplane_component c, char ***ret, struct un_error *err);
/* The first address of a service CIDR ("10.43.0.0/16" -> "10.43.0.1"): the kubernetes Service's. */
int controlplane_service_ip(const char *service_cidr, unsigned host, char *buf, size_t size);
