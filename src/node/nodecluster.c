/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The cluster a kubelet node brings along when it joins none: prepared by `up` before the node starts
 * (its PKI, kubeconfigs, the kubelet's bootstrap token), run inside the node by the init
 * (init-controlplane.c), reached by the user at 127.0.0.1:PORT through ~/.kube/usernode-NAME.yaml. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clusterinit.h"
#include "controlplane.h"
#include "host.h"
#include "pki.h"
#include "up.h"
#include "util.h"

/* 0 with *ret_port when port (0: any) is free on 127.0.0.1. */
static int loopback_port_free(uint16_t port, uint16_t *ret_port) {
        _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                                  .sin_port = htons(port) };
        socklen_t len = sizeof sa;

        if (fd < 0)
                return negative_errno();
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 || getsockname(fd, (struct sockaddr *) &sa, &len) < 0)
                return negative_errno();
        *ret_port = ntohs(sa.sin_port);
        return 0;
}

int node_cluster_address(struct up_options *o, struct un_error *err) {
        struct host h = { .root_fd = -EBADF };
        int r;

        if (o->engine != ENGINE_KUBELET || o->server || o->containerd_only)
                return 0;
        r = host_init(&h, "/", err);
        if (r < 0)
                return r;
        o->control_plane = engine_brings_control_plane(&h, o->engine, NULL);
        host_done(&h);
        if (!o->control_plane)
                return 0;
        r = loopback_port_free(CONTROLPLANE_APISERVER_PORT, &o->apiserver_port);
        if (r == -EADDRINUSE)
                r = loopback_port_free(0, &o->apiserver_port);
        return r < 0 ? un_error(err, -r, "no free port on 127.0.0.1 for the API server") : 0;
}

/* kube-system/kubelet-config of the cluster, and the node's kubelet reads it the same way as a joined
 * node reads its cluster's: DNS at the service network's tenth address, as kubeadm sets it. */
static char *kubelet_cluster_config(const char *service_cidr) {
        char dns[16];
        struct json_object *o, *servers;
        char *text;

        if (controlplane_service_ip(service_cidr, 10, dns, sizeof dns) < 0)
                return NULL;
        o = json_object_new_object();
        servers = json_object_new_array();
        json_object_array_add(servers, json_object_new_string(dns));
        json_object_object_add(o, "apiVersion", json_object_new_string("kubelet.config.k8s.io/v1beta1"));
        json_object_object_add(o, "kind", json_object_new_string("KubeletConfiguration"));
        json_object_object_add(o, "clusterDNS", servers);
        json_object_object_add(o, "clusterDomain", json_object_new_string(CONTROLPLANE_DNS_DOMAIN));
        text = xstrdup_printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
        json_object_put(o);
        return text;
}

/* The kubelet's way in: the CA, and a bootstrap token the init gives the cluster before the kubelet asks. */
static int kubelet_bootstrap(const struct host *h, const struct node *n, const char *pki, struct un_error *err) {
        _cleanup_free_ char *ca_file = xstrdup_printf("%s/ca.crt", pki), *ca_pem = NULL, *token = NULL,
                            *kubeconfig = node_data_path(n, NODE_KUBELET_KUBECONFIG),
                            *kubelet_ca = node_data_path(n, NODE_KUBELET_CA), *have_ca = NULL;
        struct join_token t;
        int r;

        if (!ca_file || !kubeconfig || !kubelet_ca)
                return un_error(err, ENOMEM, "kubelet");
        r = host_read_file(h, ca_file, 64 * 1024, &ca_pem, NULL);
        if (r < 0)
                return un_error(err, -r, "cannot read %s", ca_file);
        /* Joined before, with a certificate of this CA: it starts as it is (with another CA, it joins anew). */
        if (host_exists(h, kubeconfig) && host_read_file(h, kubelet_ca, 64 * 1024, &have_ca, NULL) >= 0 &&
            strcmp(have_ca, ca_pem) == 0)
                return 0;
        r = clusterinit_token_generate(&t);
        if (r < 0)
                return un_error(err, -r, "no random bytes for a token");
        token = xstrdup_printf("%s.%s", t.id, t.secret);
        explicit_bzero(&t, sizeof t);
        if (!token)
                return un_error(err, ENOMEM, "token");
        r = node_join_write_bootstrap(h, n, "https://127.0.0.1:6443", ca_pem, token, err);
        explicit_bzero(token, strlen(token));
        return r;
}

int node_cluster_prepare(const struct node *n, const struct up_options *o, struct un_error *err) {
        _cleanup_free_ char *pki = node_data_path(n, NODE_PKI), *conf = node_data_path(n, NODE_CONTROLPLANE),
                            *cm = NULL, *sched = NULL, *admin = node_kubeconfig_path(n), *admin_dir = NULL,
                            *server = NULL, *cluster_config = node_data_path(n, NODE_KUBELET_CLUSTER_CONFIG),
                            *kubelet_dir = node_data_path(n, "kubelet"), *text = NULL;
        struct host h = { .root_fd = -EBADF };
        struct up_cidrs nets;
        int r;

        if (!o->control_plane)
                return 0;
        if (!pki || !conf || !admin || !cluster_config || !kubelet_dir)
                return un_error(err, ENOMEM, "cluster");
        r = up_pick_cidrs(o, &nets, err);
        if (r < 0)
                return r;
        const struct pki_request req = { .node_name = n->name, .service_cidr = nets.service };
        r = pki_ensure(pki, &req, err);
        if (r < 0)
                return r;
        cm = xstrdup_printf("%s/controller-manager.conf", conf);
        sched = xstrdup_printf("%s/scheduler.conf", conf);
        server = xstrdup_printf("https://127.0.0.1:%u", (unsigned) o->apiserver_port);
        admin_dir = strdup(admin);
        text = kubelet_cluster_config(nets.service);
        if (!cm || !sched || !server || !admin_dir || !text)
                return un_error(err, ENOMEM, "cluster");
        *strrchr(admin_dir, '/') = '\0';
        r = host_init(&h, "/", err);
        if (r < 0)
                return r;
        r = host_mkdir_p(&h, conf, 0700, err);
        if (r >= 0)
                r = host_mkdir_p(&h, admin_dir, 0700, err);
        if (r >= 0)
                r = host_mkdir_p(&h, kubelet_dir, 0700, err);
        if (r >= 0)
                r = pki_kubeconfig(pki, "controller-manager", "https://127.0.0.1:6443", cm, err);
        if (r >= 0)
                r = pki_kubeconfig(pki, "scheduler", "https://127.0.0.1:6443", sched, err);
        if (r >= 0)
                r = pki_kubeconfig(pki, "admin", server, admin, err);
        if (r >= 0)
                r = host_write_atomic(&h, cluster_config, text, strlen(text), 0600, (uid_t) -1, (gid_t) -1, err);
        if (r >= 0)
                r = kubelet_bootstrap(&h, n, pki, err);
        host_done(&h);
        return r;
}
