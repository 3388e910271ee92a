/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

#include "error.h"

/* The PKI of the single-node control plane usernode runs itself (etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler), in kubeadm's layout of /etc/kubernetes/pki: ca, front-proxy-ca
 * and etcd/ca; apiserver, apiserver-kubelet-client, front-proxy-client, etcd/server, apiserver-etcd-client;
 * sa.key/sa.pub; and the client certificates of the kubeconfigs (admin, controller-manager, scheduler,
 * kubelet), which kubeadm embeds in its *.conf files only. ECDSA P-256 keys, PKCS#8 PEM. */

#define PKI_FILE_MAX (64u * 1024)       /* bytes of any file read from the directory */

struct pki_request {
        const char *node_name;          /* etcd server's CN, a SAN of both serving certificates */
        const char *service_cidr;       /* "10.96.0.0/12"; its first address is a SAN of apiserver */
        char *const *extra_ips;         /* more apiserver SANs (the node's IP, ...); NULL-terminated or NULL */
        char *const *extra_dns;
};

/* Creates what is missing or unusable in dir (created 0700 in an existing parent; refused when it is a symlink,
 * not a directory, not the caller's, or writable by others) and keeps the rest: a CA whose certificate and key load, match
 * and stay valid for 30 days more is reused; a leaf is issued again when it is missing, does not match its
 * key, was not signed by its CA as it is now, expires within 30 days, or (apiserver, etcd/server) lacks a
 * SAN of the request; sa.key is kept whenever it loads. Writes are atomic, keys 0600, certificates 0644,
 * never through a symlink (a symlink in the way is refused with -ELOOP). */
int pki_ensure(const char *dir, const struct pki_request *req, struct un_error *err);

/* Writes a kubeconfig (JSON) for client ("admin", "controller-manager", "scheduler", "kubelet") of dir,
 * pointing at server ("https://127.0.0.1:6443"), with the CA, certificate and key embedded and a context
 * "usernode": atomically, mode 0600, not through a symlink; unchanged when it already says the same. */
int pki_kubeconfig(const char *dir, const char *client, const char *server, const char *path,
                   struct un_error *err);

/* The cluster admin's client certificate and key of dir, as one PEM (the caller wipes and frees it): what
 * requests as the cluster's admin present. -EIO when either cannot be read. */
int pki_admin_client(const char *dir, char **ret_pem);

/* A serving certificate for node's kubelet, signed by dir's CA as the kubelet-serving signer would sign its
 * request (CN system:node:NODE, O system:nodes, server use, DNS name node, IP address ip), with a new key: one PEM,
 * certificate then key, as the kubelet keeps it (the caller wipes and frees it). */
int pki_kubelet_serving(const char *dir, const char *node, const char *ip, char **ret_pem, struct un_error *err);
/* A client certificate for node's kubelet (CN system:node:NODE, O system:nodes, client use) with a new key, one PEM
 * as above: what the controller-manager would sign for its request, issued directly to a node of this host. */
int pki_kubelet_client(const char *dir, const char *node, char **ret_pem, struct un_error *err);

/* "sha256:" + 64 hex digits of dir/ca.crt's public key, as kubeadm's --discovery-token-ca-cert-hash;
 * -ENOBUFS when size is below 72. */
#define PKI_PIN_MAX 72u
int pki_ca_pin(const char *dir, char *buf, size_t size);
