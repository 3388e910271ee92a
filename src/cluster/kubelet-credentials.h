/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "error.h"

/* A kubelet's credentials where a TLS bootstrap leaves them under a node's data directory (nodeapi.h's
 * NODE_KUBELET_*, in DATA_DIR/kubelet/pki, which the caller made): the cluster's CA (0644), its client certificate and key as one PEM (0600), the kubeconfig naming
 * them and server (0600); the bootstrap kubeconfig, with its token, removed. Written atomically, never through a
 * symlink. */
int kubelet_credentials_install(const char *data_dir, const char *server, const char *ca_pem, const char *cert_key_pem,
                                struct un_error *err);
