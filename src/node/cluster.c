/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The cluster a kubelet node brings along when it joins none: prepared by `up` before the node starts
 * (its PKI, kubeconfigs, the kubelet's bootstrap token), run inside the node by the init
 * (init/controlplane.c), reached by the user at 127.0.0.1:PORT through ~/.kube/usernode-NAME.yaml. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "controlplane.h"
#include "host.h"
#include "kubeconfig.h"
#include "kubelet-credentials.h"
#include "net.h"
#include "netlink.h"
#include "nodeapi.h"
#include "pki.h"
#include "up.h"
#include "util.h"

bool node_brought_cluster(const struct node *n) {
        _cleanup_free_ char *ca = node_data_path(n, NODE_PKI "/ca.crt");

        return ca && access(ca, F_OK) == 0;
}

/* 0 with *ret_port when port (0: any) is free on 127.0.0.1. */
const char *up_apiserver_address(const struct up_options *o) {
        return o->apiserver_address ? o->apiserver_address : "127.0.0.1";
}

bool up_cluster_joinable(const struct up_options *o) {
        return o->apiserver_address && !net_ipv4_loopback(o->apiserver_address);
}

/* Where the API server is published: the host's 127.0.0.1 or --apiserver-address; with pasta's implicit
 * forwarding every address, under its own port. */
static int apiserver_port_free(const struct up_options *o, uint16_t port, uint16_t *ret_port) {
        struct in_addr where = { .s_addr = htonl(INADDR_ANY) };

        if (port_driver_explicit(o->port_driver) && inet_pton(AF_INET, up_apiserver_address(o), &where) != 1)
                return -EINVAL;
        return net_port_free(SOCK_STREAM, where, port, ret_port);
}

int node_cluster_address(struct up_options *o, struct un_error *err) {
        const struct host *h = host_live();
        int r;

        if (o->server || o->containerd_only)
                return 0;
        o->control_plane = engine_brings_control_plane(h, o->engine, NULL);
        if (o->workers && o->engine != ENGINE_KUBELET)
                return un_error(err, EINVAL, "--workers: only the kubelet engine runs workers; with --engine %s, start "
                                "each further node with `usernode up --server ...`", engine_to_string(o->engine));
        if (!o->control_plane && (o->apiserver_address || o->workers))
                return un_error(err, EINVAL, "%s: this node brings no cluster along (no control plane's binaries on PATH, "
                                "or --server)", o->apiserver_address ? "--apiserver-address" : "--workers");
        if (!o->control_plane)
                return 0;
        /* Flannel on the other hosts would not know the way to the workers' pods (only this node's Node says
         * where its VXLAN endpoint is). */
        if (o->workers && up_cluster_joinable(o))
                return un_error(err, EINVAL, "--workers with --apiserver-address: a cluster others join cannot have "
                                "workers on this host yet; start the other nodes with `usernode up --server ...` "
                                "instead");
        if (o->apiserver_address && !port_driver_explicit(o->port_driver))
                return un_error(err, EINVAL, "--apiserver-address with --port-driver implicit: pasta publishes the API "
                                "server on every address of this host");
        if (o->apiserver_address) {
                uint16_t any;

                r = apiserver_port_free(o, 0, &any);
                if (r == -EADDRNOTAVAIL)
                        return un_error(err, EINVAL, "--apiserver-address %s is not an address of this host",
                                        o->apiserver_address);
        }
        if (!port_driver_explicit(o->port_driver)) {
                if (o->apiserver_port && o->apiserver_port != CONTROLPLANE_APISERVER_PORT)
                        return un_error(err, EINVAL, "--apiserver-port %u: with --port-driver implicit the API server is "
                                        "published under its own port, %u", (unsigned) o->apiserver_port,
                                        CONTROLPLANE_APISERVER_PORT);
                r = apiserver_port_free(o, CONTROLPLANE_APISERVER_PORT, &o->apiserver_port);
                return r < 0 ? un_error(err, -r, "port %u is not free on this host: with --port-driver implicit the API "
                                        "server is published there, on every address", CONTROLPLANE_APISERVER_PORT)
                             : 0;
        }
        if (o->apiserver_port) {
                r = apiserver_port_free(o, o->apiserver_port, &o->apiserver_port);
                return r < 0 ? un_error(err, -r, "--apiserver-port %u: %s:%u is not free", (unsigned) o->apiserver_port,
                                        up_apiserver_address(o), (unsigned) o->apiserver_port)
                             : 0;
        }
        r = apiserver_port_free(o, CONTROLPLANE_APISERVER_PORT, &o->apiserver_port);
        if (r == -EADDRINUSE)
                r = apiserver_port_free(o, 0, &o->apiserver_port);
        return r < 0 ? un_error(err, -r, "no free port on %s for the API server", up_apiserver_address(o)) : 0;
}

/* kube-system/kubelet-config of the cluster, and the node's kubelet reads it the same way as a joined
 * node reads its cluster's: DNS at the service network's tenth address, as kubeadm sets it. */
static char *kubelet_cluster_config(const char *service_cidr) {
        char dns[16];
        struct json_object *o, *servers;
        char *text;

        if (controlplane_service_ip(service_cidr, CONTROLPLANE_DNS_HOST, dns, sizeof dns) < 0)
                return NULL;
        o = json_object_new_object();
        servers = json_object_new_array();
        json_object_array_add(servers, json_object_new_string(dns));
        json_object_object_add(o, "apiVersion", json_object_new_string("kubelet.config.k8s.io/v1beta1"));
        json_object_object_add(o, "kind", json_object_new_string("KubeletConfiguration"));
        json_object_object_add(o, "clusterDNS", servers);
        json_object_object_add(o, "clusterDomain", json_object_new_string(CONTROLPLANE_DNS_DOMAIN));
        /* Each kubelet's serving certificate from the cluster's CA, which the API server verifies (the node that
         * brings the cluster approves the requests: cluster/csr.c). */
        json_object_object_add(o, "serverTLSBootstrap", json_object_new_boolean(true));
        text = xstrdup_printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
        json_object_put(o);
        return text;
}

/* The kubelet's own credentials, issued by the cluster's CA as the controller-manager would sign its CSR
 * (system:node:NAME in system:nodes), where a TLS bootstrap leaves them: the node is Ready without waiting
 * for the controller-manager's CSR approval (~5 s of its start on 2 cores). Other nodes join with a
 * bootstrap token (init/controlplane.c sets kubeadm's objects up); this one renews its certificate as they
 * do, through a CSR of its own. */
static int kubelet_credentials(const struct host *h, const struct node *n, const char *pki, struct un_error *err) {
        _cleanup_free_ char *ca_file = xstrdup_printf("%s/ca.crt", pki), *crt_file = xstrdup_printf("%s/kubelet.crt", pki),
                            *key_file = xstrdup_printf("%s/kubelet.key", pki), *ca_pem = NULL, *crt = NULL, *key = NULL,
                            *pem = NULL, *pki_dir = node_data_path(n, "kubelet/pki");
        int r;

        if (!ca_file || !crt_file || !key_file || !pki_dir)
                return un_error(err, ENOMEM, "kubelet");
        if (host_read_file(h, ca_file, 64 * 1024, &ca_pem, NULL) < 0 || host_read_file(h, crt_file, 64 * 1024, &crt, NULL) < 0 ||
            host_read_file(h, key_file, 64 * 1024, &key, NULL) < 0)
                return un_error(err, EIO, "cannot read the kubelet's certificate under %s", pki);
        pem = xstrdup_printf("%s%s", crt, key);
        explicit_bzero(key, strlen(key));
        if (!pem)
                return un_error(err, ENOMEM, "kubelet");
        r = host_mkdir_p(h, pki_dir, 0700, err);
        if (r >= 0)
                r = kubelet_credentials_install(n->data_dir, "https://127.0.0.1:6443", ca_pem, pem, err);
        explicit_bzero(pem, strlen(pem));
        return r;
}

int node_cluster_prepare(const struct node *n, const struct up_options *o, struct un_error *err) {
        _cleanup_free_ char *pki = node_data_path(n, NODE_PKI), *conf = node_data_path(n, NODE_CONTROLPLANE),
                            *cm = NULL, *sched = NULL, *admin = node_kubeconfig_path(n), *admin_dir = NULL,
                            *server = NULL, *cluster_config = node_data_path(n, NODE_KUBELET_CLUSTER_CONFIG),
                            *kubelet_dir = node_data_path(n, "kubelet"), *text = NULL;
        const struct host *h = host_live();
        struct up_cidrs nets;
        int r;

        if (!o->control_plane)
                return 0;
        if (!pki || !conf || !admin || !cluster_config || !kubelet_dir)
                return un_error(err, ENOMEM, "cluster");
        r = up_pick_cidrs(o, &nets, err);
        if (r < 0)
                return r;
        /* Other nodes verify the API server at the address it is published on, workers at the bridge's. */
        char bridge[INET_ADDRSTRLEN];
        char *const joinable_ips[] = { (char *) up_apiserver_address(o), NULL }, *const workers_ips[] = { bridge, NULL };
        if (o->workers && net_cidr_ipv4_host(nets.workers, 1, bridge) < 0)
                return un_error(err, EINVAL, "the workers' network %s has no address for the node", nets.workers);
        const struct pki_request req = { .node_name = n->name, .service_cidr = nets.service,
                                         .extra_ips = up_cluster_joinable(o) ? joinable_ips
                                                      : o->workers           ? workers_ips
                                                                             : NULL };
        r = pki_ensure(pki, &req, err);
        if (r < 0)
                return r;
        cm = xstrdup_printf("%s/controller-manager.conf", conf);
        sched = xstrdup_printf("%s/scheduler.conf", conf);
        server = xstrdup_printf("https://%s:%u", up_apiserver_address(o), (unsigned) o->apiserver_port);
        admin_dir = strdup(admin);
        text = kubelet_cluster_config(nets.service);
        if (!cm || !sched || !server || !admin_dir || !text)
                return un_error(err, ENOMEM, "cluster");
        *strrchr(admin_dir, '/') = '\0';
        r = host_mkdir_p(h, conf, 0700, err);
        if (r >= 0)
                r = host_mkdir_p(h, admin_dir, 0700, err);
        if (r >= 0)
                r = host_mkdir_p(h, kubelet_dir, 0700, err);
        if (r >= 0)
                r = pki_kubeconfig(pki, "controller-manager", "https://127.0.0.1:6443", cm, err);
        if (r >= 0)
                r = pki_kubeconfig(pki, "scheduler", "https://127.0.0.1:6443", sched, err);
        if (r >= 0)
                r = pki_kubeconfig(pki, "admin", server, admin, err);
        if (r >= 0)
                r = host_write_atomic(h, cluster_config, text, strlen(text), 0600, (uid_t) -1, (gid_t) -1, err);
        if (r >= 0)
                r = kubelet_credentials(h, n, pki, err);
        return r;
}
