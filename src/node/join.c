/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The kubelet engine's join, prepared by `up` before anything starts: the cluster's CA verified (kubeadm's
 * discovery), the kubelet's bootstrap kubeconfig with the token in a 0600 file of the node's own, the
 * cluster's kubelet settings. The token goes no further: no command line, no environment, no unit file. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"
#include "init.h"
#include "join.h"
#include "kubeconfig.h"
#include "net.h"
#include "netlink.h"
#include "nodeapi.h"
#include "up.h"
#include "util.h"

static int write_private(const struct host *h, const char *path, const char *text, mode_t mode, struct un_error *err) {
        return host_write_atomic(h, path, text, strlen(text), mode, (uid_t) -1, (gid_t) -1, err);
}

/* The kubelet's credentials from an earlier join of another cluster are of no use: a CA that changed
 * means a new cluster, and a fresh CSR. */
static void forget_other_cluster(const struct host *h, const struct node *n, const char *ca_pem) {
        _cleanup_free_ char *ca = node_data_path(n, NODE_KUBELET_CA), *old = NULL;
        static const char *const stale[] = { NODE_KUBELET_KUBECONFIG, NODE_KUBELET_CLIENT_CERT };

        if (!ca || host_read_file(h, ca, 64 * 1024, &old, NULL) < 0 || strcmp(old, ca_pem) == 0)
                return;
        for (size_t i = 0; i < ELEMENTSOF(stale); i++) {
                _cleanup_free_ char *p = node_data_path(n, stale[i]);

                if (p)
                        (void) host_unlink(h, p, NULL);
        }
}

/* `up` read --token-file into o->token already (refusing a file others can read). */
static int read_token(const struct up_options *o, char **ret, struct un_error *err) {
        *ret = o->token ? strdup(o->token) : NULL;
        return !o->token || *ret ? 0 : un_error(err, ENOMEM, "token");
}

/* k3s verifies the server's CA only with a token of the K10<hash>:: form; it reads the token from a 0600 file
 * of the node's, never from its command line. */
static int k3s_token_prepare(const struct node *n, const struct up_options *o, const char *token, struct un_error *err) {
        _cleanup_free_ char *path = node_data_path(n, NODE_K3S_TOKEN);
        const struct host *h = host_live();
        int r;

        if (!path)
                return un_error(err, ENOMEM, "k3s token");
        if (!token) {
                bool have = host_exists(h, path);

                return have ? 0 : un_error(err, EINVAL, "joining %s needs the server's token: --token-file FILE "
                                           "(the server's /var/lib/rancher/k3s/server/node-token)", o->server);
        }
        if (!join_token_k3s_pinned(token) && !o->unsafe_skip_ca_verification) {
                return un_error(err, EINVAL, "this k3s token does not pin the server's CA (only the K10<sha256>::… "
                                "form of the server's node-token does): k3s would trust whoever answers at %s; use "
                                "the full token, or --discovery-token-unsafe-skip-ca-verification", o->server);
        }
        r = host_write_atomic(h, path, token, strlen(token), 0600, (uid_t) -1, (gid_t) -1, err);
        return r;
}

int node_join_write_bootstrap(const struct host *h, const struct node *n, const char *server, const char *ca_pem,
                              const char *token, struct un_error *err) {
        _cleanup_free_ char *pki = node_data_path(n, "kubelet/pki"), *ca = node_data_path(n, NODE_KUBELET_CA),
                            *bootstrap = node_data_path(n, NODE_KUBELET_BOOTSTRAP), *text = NULL;
        int r;

        if (!pki || !ca || !bootstrap)
                return un_error(err, ENOMEM, "join");
        r = host_mkdir_p(h, pki, 0700, err);
        if (r < 0)
                return r;
        forget_other_cluster(h, n, ca_pem);
        r = write_private(h, ca, ca_pem, 0644, err);
        if (r < 0)
                return r;
        text = kubeconfig_render(&(struct kubeconfig_spec) { .server = server, .ca_file = ca, .token = token });
        if (!text)
                return un_error(err, ENOMEM, "join");
        r = write_private(h, bootstrap, text, 0600, err);
        explicit_bzero(text, strlen(text));
        return r;
}

int node_join_prepare(const struct node *n, const struct up_options *o, struct un_error *err) {
        _cleanup_free_ char *token = NULL, *ca_pem = NULL, *pki = NULL, *ca = NULL, *bootstrap = NULL,
                            *kubeconfig = NULL, *cluster_config = NULL, *text = NULL, *pod_network = NULL;
        struct join_pin pins[JOIN_PINS_MAX];
        struct join_result res = {};
        const struct host *h = host_live();
        int r;

        if (!o->server)
                return 0;
        if (o->engine == ENGINE_K3S) {
                r = read_token(o, &token, err);
                if (r < 0)
                        return r;
                r = k3s_token_prepare(n, o, token, err);
                if (token)
                        explicit_bzero(token, strlen(token));
                return r;
        }
        pki = node_data_path(n, "kubelet/pki");
        ca = node_data_path(n, NODE_KUBELET_CA);
        bootstrap = node_data_path(n, NODE_KUBELET_BOOTSTRAP);
        kubeconfig = node_data_path(n, NODE_KUBELET_KUBECONFIG);
        cluster_config = node_data_path(n, NODE_KUBELET_CLUSTER_CONFIG);
        pod_network = node_data_path(n, NODE_CLUSTER_POD_NETWORK);
        if (!pki || !ca || !bootstrap || !kubeconfig || !cluster_config || !pod_network)
                return un_error(err, ENOMEM, "join");
        r = read_token(o, &token, err);
        if (r < 0)
                return r;
        if (!token) {
                /* Started again (or by its unit) without the token: fine once the kubelet has its certificate. */
                bool joined = host_exists(h, ca) && (host_exists(h, kubeconfig) || host_exists(h, bootstrap));

                return joined ? 0
                              : un_error(err, EINVAL, "joining %s needs the bootstrap token: --token-file FILE "
                                         "(kubeadm token create --print-join-command prints one)", o->server);
        }
        for (size_t i = 0; i < o->n_ca_cert_hashes; i++)
                if (join_pin_parse(o->ca_cert_hashes[i], &pins[i]) < 0) {
                        return un_error(err, EINVAL, "bad --discovery-token-ca-cert-hash %s", o->ca_cert_hashes[i]);
                }
        if (o->ca_file && host_read_file(h, o->ca_file, 1024 * 1024, &ca_pem, NULL) < 0) {
                return un_error(err, errno ? errno : EIO, "cannot read --ca-file %s", o->ca_file);
        }
        const struct join_request req = {
                .server = o->server, .token = token, .pins = pins, .n_pins = o->n_ca_cert_hashes, .ca_pem = ca_pem,
                .unsafe_skip_ca_verification = o->unsafe_skip_ca_verification,
        };
        r = join_discover(&req, &res, err);
        if (r < 0)
                goto out;
        r = node_join_write_bootstrap(h, n, o->server, res.ca_pem, token, err);
        if (r < 0)
                goto out;
        if (res.kubelet_config)
                r = write_private(h, cluster_config, res.kubelet_config, 0600, err);
        else if (host_exists(h, cluster_config))
                r = host_unlink(h, cluster_config, err);
        /* The cluster's pod network, which this node's pod network to the others (flannel's Network) and kube-proxy's
         * clusterCIDR must be: kept for every later start. */
        if (r >= 0 && res.pod_subnet) {
                _cleanup_free_ char *line = xstrdup_printf("%s\n", res.pod_subnet);

                r = line ? write_private(h, pod_network, line, 0600, err) : un_error(err, ENOMEM, "join");
        } else if (r >= 0 && host_exists(h, pod_network))
                r = host_unlink(h, pod_network, err);
out:
        explicit_bzero(token, strlen(token));
        join_result_done(&res);
        return r;
}

int node_join_pod_network(const struct node *n, const struct up_options *o, char buf[static 48]) {
        _cleanup_free_ char *path = NULL, *line = NULL;

        if (!o->server || o->cluster_cidr || !(path = node_data_path(n, NODE_CLUSTER_POD_NETWORK)) ||
            host_read_line(host_live(), path, &line) < 0 || !net_cidr_ipv4_valid(line))
                return 0;
        snprintf(buf, 48, "%s", line);
        return 1;
}

/* HOST of https://HOST[:PORT][/...], IPv4 resolved. */
static int server_address(const char *server, struct sockaddr_in *ret, struct un_error *err) {
        const char *host = startswith(server, "https://");
        _cleanup_free_ char *name = NULL;
        struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_DGRAM }, *ai = NULL;
        size_t n;
        int r;

        if (!host)
                return un_error(err, EINVAL, "--server %s is not an https:// URL", server);
        n = strcspn(host, ":/");
        name = strndup(host, n);
        if (!name)
                return un_error(err, ENOMEM, "server");
        r = getaddrinfo(name, "443", &hints, &ai);
        if (r != 0)
                return un_error(err, EHOSTUNREACH, "cannot resolve %s: %s", name, gai_strerror(r));
        *ret = *(struct sockaddr_in *) ai->ai_addr;
        freeaddrinfo(ai);
        return 0;
}

/* 0 when port is free on addr, -EADDRINUSE, or -EADDRNOTAVAIL when addr is not this host's. */
int node_join_address(struct up_options *o, struct un_error *err) {
        struct sockaddr_in server;
        struct in_addr ip;
        int r;

        if (!o->server)
                return 0;
        if (o->node_ip) {
                if (inet_pton(AF_INET, o->node_ip, &ip) != 1)
                        return un_error(err, EINVAL, "bad --node-ip %s", o->node_ip);
        } else {
                r = server_address(o->server, &server, err);
                if (r < 0)
                        return r;
                /* What the control plane can reach back. */
                r = net_source_address(&server, &ip);
                if (r < 0)
                        return un_error(err, -r, "no route to the API server");
                if (!inet_ntop(AF_INET, &ip, o->node_ip_buf, sizeof o->node_ip_buf))
                        return un_error(err, errno, "inet_ntop");
                o->node_ip = o->node_ip_buf;
        }
        /* The API server reaches the kubelet (logs, exec, port-forward) at the node's address: 10250 unless
         * another node of this host has it. pasta's implicit forwarding publishes it on every address. */
        r = net_port_free(SOCK_STREAM, ip, 0, &o->kubelet_port);
        if (r >= 0) {
                const struct in_addr where = port_driver_explicit(o->port_driver) ? ip : (struct in_addr) { INADDR_ANY };

                r = net_port_free(SOCK_STREAM, where, UP_KUBELET_PORT, &o->kubelet_port);
                if (r == -EADDRINUSE)
                        r = net_port_free(SOCK_STREAM, where, 0, &o->kubelet_port);
        }
        if (r == -EADDRNOTAVAIL)
                return un_error(err, EINVAL, "--node-ip %s is not an address of this host: the kubelet's port is "
                                "published there", o->node_ip);
        if (r < 0)
                return un_error(err, -r, "no free port for the kubelet on %s", o->node_ip);
        return 0;
}
