/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What another host runs to join the cluster a node brought along, as `kubeadm token create
 * --print-join-command` prints it with `usernode up --engine kubelet --server` in front: a fresh bootstrap
 * token with a TTL, made as the cluster's admin (the node's PKI), the CA's hash, and the API server where the
 * node publishes it. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controlplane.h"
#include "host.h"
#include "join.h"
#include "kubeadm-init.h"
#include "kubeapi.h"
#include "nodeapi.h"
#include "pki.h"
#include "up.h"
#include "util.h"

/* The token, alone on a line, in a file of the user's: 0600, written atomically, never through a symlink
 * (host_write_atomic refuses one anywhere on the path). */
static int token_file_write(const char *path, const char *token, struct un_error *err) {
        _cleanup_free_ char *cwd = path[0] == '/' ? NULL : getcwd(NULL, 0), *full = NULL,
                            *text = xstrdup_printf("%s\n", token);
        int r;

        if (path[0] != '/' && !cwd)
                return un_error(err, errno, "--token-file %s", path);
        full = cwd ? xstrdup_printf("%s/%s", cwd, path) : strdup(path);
        r = full && text ? host_write_atomic(host_live(), full, text, strlen(text), 0600, (uid_t) -1, (gid_t) -1, err)
                         : un_error(err, ENOMEM, "token file");
        if (text)
                explicit_bzero(text, strlen(text));
        return r;
}

int node_join_line(const struct node_status *s, unsigned ttl_sec, const char *token_file, char **ret_line,
                   struct un_error *err) {
        _cleanup_free_ char *pki = s->data_dir ? xstrdup_printf("%s/" NODE_PKI, s->data_dir) : NULL, *client = NULL,
                            *ca = NULL, *ca_path = NULL;
        char url[64], pin[PKI_PIN_MAX], token[24];
        struct join_token t;
        const char *hostport;
        int r;

        if (!node_state_alive(s->state))
                return un_error(err, ESRCH, "node '%s' is %s, not running", s->name, node_state_to_string(s->state));
        if (node_status_apiserver(s, url, sizeof url) < 0 || !pki)
                return un_error(err, ENOENT, "node '%s' brought no cluster along: it joined one (--server), or runs "
                                "without a control plane", s->name);
        r = pki_ca_pin(pki, pin, sizeof pin);
        if (r < 0)
                return un_error(err, -r, "the CA of node '%s' under %s", s->name, pki);
        ca_path = xstrdup_printf("%s/ca.crt", pki);
        if (!ca_path || host_read_live(ca_path, 64 * 1024, &ca) < 0 || pki_admin_client(pki, &client) < 0)
                return un_error(err, EIO, "cannot read the cluster admin's certificate under %s", pki);
        r = clusterinit_token_generate(&t);
        if (r >= 0) {
                const struct kubeapi admin = { .server = url, .ca_pem = ca, .client_cert = client, .timeout_ms = 10000 };

                r = clusterinit_token_create(&admin, &t, ttl_sec, err);
        } else
                r = un_error(err, -r, "no random bytes for a bootstrap token");
        explicit_bzero(client, strlen(client));
        if (r < 0)
                return r;
        snprintf(token, sizeof token, "%s.%s", t.id, t.secret);
        explicit_bzero(&t, sizeof t);
        if (token_file) {
                r = token_file_write(token_file, token, err);
                if (r < 0) {
                        explicit_bzero(token, sizeof token);
                        return r;
                }
        }
        hostport = url + strlen("https://");
        *ret_line = token_file ? xstrdup_printf("usernode up --engine kubelet --server %s --token-file %s "
                                                "--discovery-token-ca-cert-hash %s", hostport, token_file, pin)
                               : xstrdup_printf("usernode up --engine kubelet --server %s --token %s "
                                                "--discovery-token-ca-cert-hash %s", hostport, token, pin);
        explicit_bzero(token, sizeof token);
        return *ret_line ? 0 : un_error(err, ENOMEM, "join line");
}
