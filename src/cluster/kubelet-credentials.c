/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "kubeconfig.h"
#include "kubelet-credentials.h"
#include "nodeapi.h"
#include "util.h"

int kubelet_credentials_install(const char *data_dir, const char *server, const char *ca_pem, const char *cert_key_pem,
                                struct un_error *err) {
        _cleanup_free_ char *ca = xstrdup_printf("%s/%s", data_dir, NODE_KUBELET_CA),
                            *cert = xstrdup_printf("%s/%s", data_dir, NODE_KUBELET_CLIENT_CERT),
                            *kc = xstrdup_printf("%s/%s", data_dir, NODE_KUBELET_KUBECONFIG),
                            *bootstrap = xstrdup_printf("%s/%s", data_dir, NODE_KUBELET_BOOTSTRAP), *kubeconfig = NULL;
        const struct host *h = host_live();
        int r;

        if (!ca || !cert || !kc || !bootstrap)
                return un_error(err, ENOMEM, "kubelet");
        kubeconfig = kubeconfig_render(&(struct kubeconfig_spec) { .server = server, .ca_file = ca, .cert_file = cert,
                                                                   .key_file = cert });
        if (!kubeconfig)
                return un_error(err, ENOMEM, "kubelet");
        r = host_write_atomic(h, ca, ca_pem, strlen(ca_pem), 0644, (uid_t) -1, (gid_t) -1, err);
        if (r >= 0)
                r = host_write_atomic(h, cert, cert_key_pem, strlen(cert_key_pem), 0600, (uid_t) -1, (gid_t) -1, err);
        if (r >= 0)
                r = host_write_atomic(h, kc, kubeconfig, strlen(kubeconfig), 0600, (uid_t) -1, (gid_t) -1, err);
        /* No token on this node's disk: it has its certificate. */
        if (r >= 0 && host_exists(h, bootstrap))
                r = host_unlink(h, bootstrap, err);
        return r;
}
