/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* A kubeconfig of one cluster, one user and one context, all named "usernode" (clientcmd's Config, as JSON,
 * which every kubeconfig reader takes). The CA by path or embedded; the user by a bearer token, by
 * certificate and key files, or embedded; no user at all for cluster-info. */
struct kubeconfig_spec {
        const char *server;
        const char *ca_file, *ca_pem;
        const char *token;
        const char *cert_file, *key_file;
        const char *cert_pem, *key_pem;
};

/* The text, newline-terminated; NULL on ENOMEM. It may hold a secret: the caller wipes and frees it. */
char *kubeconfig_render(const struct kubeconfig_spec *s);
