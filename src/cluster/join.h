/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Joining a cluster the way `kubeadm join` does: a bootstrap token, the cluster's CA pinned by the
 * hash of its public key, and discovery through the signed cluster-info ConfigMap. */

#define JOIN_TOKEN_MAX 1024u            /* bytes of a token or a token file */
#define JOIN_PINS_MAX 8u

/* kubeadm's bootstrap token "ID.SECRET": [a-z0-9]{6} "." [a-z0-9]{16}. */
struct join_token {
        char id[7];
        char secret[17];
};
int join_token_parse(const char *s, struct join_token *ret);
/* k3s's token that pins the server's CA: "K10" + 64 hex digits + "::" + credentials. */
bool join_token_k3s_pinned(const char *s);
/* A token as `up` accepts one: kubeadm's form, k3s's forms; printable, bounded, no blanks. */
bool join_token_valid(const char *s);

/* Reads a secret from a file the way ssh reads a key: a regular file owned by the caller (or root), not
 * readable or writable by group or others, one line of at most JOIN_TOKEN_MAX bytes. The error names the
 * file and what to do ("chmod 600 FILE"). */
int join_token_read_file(const char *path, char **ret, struct un_error *err);

/* "sha256:" + 64 hex digits: the SHA-256 of a CA certificate's DER SubjectPublicKeyInfo. */
struct join_pin {
        uint8_t sha256[32];
};
int join_pin_parse(const char *s, struct join_pin *ret);
void join_pin_format(const struct join_pin *p, char ret[72]);
/* The pins of every certificate in a PEM bundle; -EINVAL when it holds none. */
int join_pins_of_pem(const char *pem, struct join_pin **ret, size_t *ret_n);
/* Whether one certificate of the PEM bundle has one of the pins. */
bool join_pem_matches(const char *pem, const struct join_pin *pins, size_t n_pins);
/* Whether text holds at least one certificate and nothing that is not PEM. */
bool join_pem_valid(const char *pem);

/* Verifies a detached JWS (RFC 7515 appendix F, "HEADER..SIGNATURE", HS256 keyed with the token's
 * secret, kid = the token's ID) over payload: what the bootstrap signer puts in cluster-info.
 * 0, -EBADMSG when the signature does not match, -EINVAL when it is not such a JWS. */
int join_jws_verify(const char *detached, const char *payload, const struct join_token *t);

struct join_request {
        const char *server;             /* https://HOST:PORT */
        const char *token;              /* kubeadm's bootstrap token */
        const struct join_pin *pins;    /* --discovery-token-ca-cert-hash */
        size_t n_pins;
        const char *ca_pem;             /* --ca-file's contents instead of discovery */
        bool unsafe_skip_ca_verification;
        unsigned timeout_ms;            /* per request; 0: 10 s */
};

struct join_result {
        char *ca_pem;                   /* the cluster's CA bundle, verified as asked */
        char *kubelet_config;           /* kube-system/kubelet-config's "kubelet" (YAML); NULL: the cluster has none */
        char *ca_pin;                   /* "sha256:…" of the CA's first certificate, for messages */
        char *pod_subnet;               /* kube-system/kubeadm-config's networking.podSubnet (IPv4); NULL: unknown */
};
void join_result_done(struct join_result *r);

/* kubeadm's discovery: cluster-info read without credentials, its signature checked with the token,
 * the CA in it compared with the pins; then, over TLS verified with that CA, cluster-info again (it must
 * be the same), the kubelet-config ConfigMap and kubeadm-config's pod network with the token. With ca_pem, the CA is given and only
 * the authenticated part runs. Errors say which step failed: "the API server refused the bootstrap
 * token: …", "the cluster's CA … does not match …", "cannot reach …". */
int join_discover(const struct join_request *req, struct join_result *ret, struct un_error *err);

/* The IPv4 pod network of a ClusterConfiguration (kubeadm-config's YAML): networking.podSubnet, or its IPv4 part
 * when it is dual-stack ("10.244.0.0/16,fd00:10:244::/56"). -ENOENT when it names none, -EINVAL when it is not
 * a ClusterConfiguration. */
int join_pod_subnet_parse(const char *cluster_configuration, char **ret);
