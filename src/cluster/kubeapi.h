/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* Requests to a Kubernetes API server over HTTPS (libcurl on OpenSSL). The server's certificate is
 * verified against the CA given, in memory; the one exception, `insecure`, is kubeadm's first read of
 * the public cluster-info, which carries no credential (a request with one is refused here). */
struct kubeapi {
        const char *server;             /* https://HOST[:PORT] */
        const char *ca_pem;             /* the cluster's CA bundle, PEM */
        bool insecure;                  /* no verification: anonymous discovery only */
        const char *token;              /* bearer token, or NULL */
        const char *client_cert;        /* PEM: the client certificate and its key, or NULL */
        unsigned timeout_ms;            /* whole request; 0: 10 s */
};

#define KUBEAPI_BODY_MAX (4u * 1024u * 1024u)

struct kubeapi_reply {
        long status;                    /* HTTP status */
        char *body;                     /* NUL-terminated */
        size_t len;
};

void kubeapi_reply_done(struct kubeapi_reply *r);

/* method "GET", "DELETE", "POST", "PATCH" (a strategic merge patch), …; body (JSON) may be NULL. Any HTTP status is a success here:
 * the caller reads ret->status. A transport or TLS failure is -errno with err saying what happened
 * (-ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH, -EPERM for a certificate that does not verify). */
int kubeapi_request(const struct kubeapi *a, const char *method, const char *path, const char *body,
                    struct kubeapi_reply *ret, struct un_error *err);

/* PATCHes path with patch (a strategic merge patch; taken, freed here): 0 when the API server answers 200,
 * else -errno by its answer (-ENOENT 404, -EACCES 401/403, -EAGAIN 429 and 5xx: worth again, -EINVAL another refusal) with
 * err saying "WHAT: its message". */
struct json_object;
int kubeapi_patch(const struct kubeapi *a, const char *path, struct json_object *patch, const char *what,
                  struct un_error *err);

/* GETs path, a List: *ret the List (its "items" an array) to json_object_put. -EACCES 401/403, -EIO another status,
 * -EBADMSG not a List, with err saying "listing WHAT: ...". */
int kubeapi_list(const struct kubeapi *a, const char *path, const char *what, struct json_object **ret,
                 struct un_error *err);

/* "Unauthorized", "Forbidden", … : the message of a Kubernetes Status object, else the HTTP reason. */
const char *kubeapi_status_message(const struct kubeapi_reply *r, char *buf, size_t size);

/* clusters[0].cluster[key] of a kubeconfig (YAML or JSON), as a string: "server",
 * "certificate-authority-data". -ENOENT when it has none. */
int kubeconfig_cluster_field(const char *what, const char *text, const char *key, char **ret, struct un_error *err);
