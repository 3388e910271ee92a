/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control plane a node brings along when it joins no cluster (--control-plane): etcd, then the API
 * server until it is ready, then what `kubeadm init` sets up for joining nodes (cluster/kubeadm-init.c),
 * then the controller-manager and the scheduler. The node's kubelet then joins it with the certificate `up`
 * issued it (node/cluster.c); other nodes join with a bootstrap token and a CSR, as with kubeadm. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controlplane.h"
#include "cri.h"
#include "csr.h"
#include "host.h"
#include "init.h"
#include "kubeadm-init.h"
#include "kubeapi.h"
#include "log.h"
#include "net.h"
#include "netlink.h"
#include "nodeapi.h"
#include "pki.h"
#include "util.h"
#include "yamljson.h"

/* A first start takes 4 s here, 42-61 s in a software-emulated VM: the bound only decides when the init gives
 * up with the API server's last error; `up --wait` reports on its own clock meanwhile. */
#define APISERVER_READY_MS 600000
#define TOKEN_TTL_SEC 3600              /* the kubelet needs it once, for its first CSR */

static int read_data(struct init *in, const char *rel, char **ret) {
        _cleanup_free_ char *path = xstrdup_printf("%s/%s", in->data_dir, rel);

        return path ? host_read_live(path, 64 * 1024, ret) : -ENOMEM;
}

static int spawn(struct init *in, const struct controlplane *cp, enum controlplane_component c, struct un_error *err) {
        /* The API server keeps Go's default GOGC (main.c says why). */
        static char *const gogc_default[] = { (char *) "GOGC=100", NULL };
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *log = xstrdup_printf("%s.log", controlplane_component_to_string(c));
        int r;

        if (!log)
                return un_error(err, ENOMEM, "%s", controlplane_component_to_string(c));
        r = controlplane_argv(cp, c, &argv, err);
        if (r >= 0)
                r = init_spawn_logged(in, log, argv,
                                      c == CONTROLPLANE_APISERVER && !in->gogc_own ? (char **) gogc_default : NULL,
                                      &in->cp[c], err);
        if (r >= 0)
                init_stage(in, "pid %s %d", controlplane_component_to_string(c), (int) in->cp[c].pid);
        return r;
}

static int start(struct init *in, const struct controlplane *cp, enum controlplane_component c) {
        struct un_error err = {};
        int r = spawn(in, cp, c, &err);

        if (r < 0)
                init_stage(in, "error %s", err.msg);
        return r;
}

static const char *klog_error(const char *line) {
        return line[0] == 'E' || line[0] == 'F' ? line : NULL;
}

/* The API server answers path (anonymous, over TLS verified with the cluster's CA): with 200 when ready, with any
 * status when answering is enough (it serves, its post-start hooks may still be writing the cluster's defaults).
 * With node, the Node is looked at meanwhile: its kubelet may post it Ready before. */
static int wait_apiserver(struct init *in, const char *ca_pem, const char *path, bool ready, const struct node_api *node) {
        const struct kubeapi api = { .server = INIT_CONTROLPLANE_SERVER, .ca_pem = ca_pem, .timeout_ms = 2000 };
        uint64_t start_usec = now_usec(), deadline = start_usec + APISERVER_READY_MS * 1000ull;

        for (;;) {
                struct kubeapi_reply reply = {};
                struct un_error err = {};
                bool done = kubeapi_request(&api, "GET", path, NULL, &reply, &err) >= 0 &&
                            (!ready || reply.status == 200);
                int r;

                kubeapi_reply_done(&reply);
                if (done) {
                        fprintf(stderr, "usernode-init: the API server %s after %" PRIu64 " ms more\n",
                                ready ? "is ready" : "answers", (now_usec() - start_usec) / 1000);
                        return 0;
                }
                if (now_usec() >= deadline) {
                        _cleanup_free_ char *log = xstrdup_printf("%s/apiserver.log", in->runtime_dir);
                        _cleanup_free_ char *last = log ? log_last_match(log, klog_error, 300) : NULL;

                        init_stage(in, "error the API server is not %s after %d s%s%s", ready ? "ready" : "answering",
                                   APISERVER_READY_MS / 1000, last ? ": " : "; see apiserver.log", last ? last : "");
                        return -ETIME;
                }
                if (node)
                        init_look_node_ready(in, node);
                r = init_idle_for(in, ready ? 100 : 50);
                if (r < 0)
                        return r;
        }
}

static int admin_credentials(struct init *in, char **ret);

/* CoreDNS runs when the node's image store has its image (nothing is pulled: an offline CI runner or laptop
 * imports it); without it, the kubelet gives pods the node's resolver instead of an address nobody answers,
 * and the node's status says so. */
static void cluster_dns_decide(struct init *in) {
        struct un_error err = {};
        int r = cri_image_present(in->params.address, CONTROLPLANE_COREDNS_IMAGE, &err);

        in->params.without_cluster_dns = r <= 0;
        if (r < 0)
                init_stage(in, "warn no cluster DNS: cannot tell whether the node has CoreDNS's image: %s", err.msg);
        else if (r == 0)
                init_stage(in, "warn no cluster DNS: CoreDNS's image " CONTROLPLANE_COREDNS_IMAGE " is not in the "
                               "node's image store; pods resolve names as the node does (import the image with "
                               "`usernode exec --name %s -- ctr -n k8s.io images import FILE`, then run up again)",
                           in->name);
}

/* kubeadm's objects for joining nodes, with the node's bootstrap token, as the cluster's admin. */
static int apply_cluster_objects(struct init *in, const char *ca_pem, const char *advertise) {
        _cleanup_free_ char *client = NULL, *kubelet_config = NULL,
                            *server = in->apiserver_url ? strdup(in->apiserver_url)
                                                        : xstrdup_printf("https://%s:%u", advertise, CONTROLPLANE_APISERVER_PORT);
        char dns_ip[INET_ADDRSTRLEN];
        struct join_token token;
        struct un_error err = {};
        int r;

        if (controlplane_service_ip(in->service_cidr, CONTROLPLANE_DNS_HOST, dns_ip, sizeof dns_ip) < 0) {
                init_stage(in, "error the service network %s has no address for the cluster's DNS", in->service_cidr);
                return -EINVAL;
        }
        if (!server || admin_credentials(in, &client) < 0) {
                init_stage(in, "error cannot read the cluster admin's certificate under %s/" NODE_PKI, in->data_dir);
                return -EIO;
        }
        /* A token for other nodes to join with; this one's kubelet has its certificate. */
        r = clusterinit_token_generate(&token);
        if (r < 0) {
                init_stage(in, "error no random bytes for a bootstrap token: %s", strerror(-r));
                explicit_bzero(client, strlen(client));
                return r;
        }
        (void) read_data(in, NODE_KUBELET_CLUSTER_CONFIG, &kubelet_config);
        const struct kubeapi admin = { .server = INIT_CONTROLPLANE_SERVER, .ca_pem = ca_pem, .client_cert = client,
                                       .timeout_ms = 10000 };
        const struct clusterinit ci = { .admin = &admin, .token = &token, .token_ttl_sec = TOKEN_TTL_SEC,
                                        .server = server, .ca_pem = ca_pem,
                                        .kubelet_config_yaml = kubelet_config ? kubelet_config : "",
                                        .coredns_image = in->params.without_cluster_dns ? NULL : CONTROLPLANE_COREDNS_IMAGE,
                                        .dns_ip = dns_ip, .dns_domain = CONTROLPLANE_DNS_DOMAIN,
                                        .pod_subnet = in->pod_cidr, .service_subnet = in->service_cidr };
        r = clusterinit_apply(&ci, &err);
        explicit_bzero(client, strlen(client));
        explicit_bzero(&token, sizeof token);
        if (r < 0)
                init_stage(in, "error setting up the cluster for its nodes: %s", err.msg);
        return r;
}

/* The directories and the address the components' command lines name. */
struct cp_dirs {
        char *pki, *etcd, *conf;
        char advertise[INET_ADDRSTRLEN];
};

static void cp_dirs_done(struct cp_dirs *d) {
        free(d->pki);
        free(d->etcd);
        free(d->conf);
}

/* The control plane of this node, its strings in dirs. */
static int cp_settings(struct init *in, struct cp_dirs *dirs, struct controlplane *ret) {
        dirs->pki = xstrdup_printf("%s/" NODE_PKI, in->data_dir);
        dirs->etcd = xstrdup_printf("%s/" NODE_ETCD, in->data_dir);
        dirs->conf = xstrdup_printf("%s/" NODE_CONTROLPLANE, in->data_dir);
        if (!dirs->pki || !dirs->etcd || !dirs->conf)
                return -ENOMEM;
        init_node_address(dirs->advertise);
        *ret = (struct controlplane) {
                .pki_dir = dirs->pki, .etcd_dir = dirs->etcd, .conf_dir = dirs->conf, .node_name = in->name,
                .advertise_ip = dirs->advertise, .service_cidr = in->service_cidr,
        };
        return 0;
}

int init_pod_cidr_nth(const struct init *in, unsigned i, char *buf, size_t size) {
        struct net_prefix net;
        uint32_t a;

        if (net_prefix_parse(in->pod_cidr, &net) < 0 || net.family != AF_INET || net.len > 24 ||
            (net.len < 24 ? i >= (1u << (24 - net.len)) : i > 0))
                return -ENOSPC;
        a = (((uint32_t) net.addr[0] << 24) | ((uint32_t) net.addr[1] << 16) | ((uint32_t) net.addr[2] << 8)) + (i << 8);
        return snprintf(buf, size, "%u.%u.%u.0/24", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff) < (int) size ? 0 : -ENOBUFS;
}

/* This node's pod CIDR: the cluster network's first /24 (the network itself when it is that small), the next ones
 * for its workers, then for the nodes that join. Always so, not the whole network when the cluster has one node: its
 * Node keeps the CIDR it got first, and a cluster started again with workers or published for others to join needs
 * the room. */
static int own_pod_cidr(struct init *in, char *buf, size_t size) {
        struct net_prefix net;

        if (net_prefix_parse(in->pod_cidr, &net) >= 0 && net.family == AF_INET && net.len > 24)
                return snprintf(buf, size, "%s", in->pod_cidr) < (int) size ? 0 : -ENOBUFS;
        return init_pod_cidr_nth(in, 0, buf, size);
}

int init_kubelet_serving_cert(const char *pki, const char *node, const char *data_dir, const char *address,
                              struct un_error *err) {
        _cleanup_free_ char *path = xstrdup_printf("%s/kubelet/pki/kubelet-server-current.pem", data_dir), *pem = NULL;
        int r;

        if (!path)
                return un_error(err, ENOMEM, "the kubelet's serving certificate");
        r = pki_kubelet_serving(pki, node, address, &pem, err);
        if (r >= 0) {
                r = host_write_atomic(host_live(), path, pem, strlen(pem), 0600, (uid_t) -1, (gid_t) -1, err);
                explicit_bzero(pem, strlen(pem));
        }
        return r;
}

/* The kubelet's serving certificate, issued here by the cluster's CA for the node's name and address (the
 * kubelet's own, by its default route) before it starts: the API server verifies it from the first logs or exec,
 * without waiting for the kubelet's request to be approved and signed. It renews it through a request, which
 * init_control_plane_tick approves. */
static int kubelet_serving_cert(struct init *in, const char *pki, const char *address) {
        struct un_error err = {};
        int r = init_kubelet_serving_cert(pki, in->name, in->data_dir, address, &err);

        if (r < 0)
                init_stage(in, "error %s", err.msg);
        return r;
}

int init_start_control_plane(struct init *in) {
        _cleanup_(cp_dirs_done) struct cp_dirs dirs = {};
        _cleanup_free_ char *ca_pem = NULL;
        char own[48];
        struct controlplane cp;
        struct un_error err = {};
        int r;

        if (cp_settings(in, &dirs, &cp) < 0)
                return -ENOMEM;
        if (read_data(in, NODE_PKI "/ca.crt", &ca_pem) < 0) {
                init_stage(in, "error no cluster CA under %s: up writes it before the node starts", dirs.pki);
                return -ENOENT;
        }
        /* This node's pods' network before the kubelet starts: its first /24 (own_pod_cidr). */
        r = own_pod_cidr(in, own, sizeof own);
        if (r < 0) {
                init_stage(in, "error the cluster network %s has no /24 for this node", in->pod_cidr);
                return r;
        }
        r = init_write_cni(in, own, &err);
        if (r < 0) {
                init_stage(in, "error %s", err.msg);
                return r;
        }
        /* The API server retries etcd until it answers: no wait for etcd of its own. */
        r = start(in, &cp, CONTROLPLANE_ETCD);
        if (r >= 0)
                r = start(in, &cp, CONTROLPLANE_APISERVER);
        return r;
}

int init_await_apiserver(struct init *in) {
        _cleanup_(cp_dirs_done) struct cp_dirs dirs = {};
        _cleanup_free_ char *ca_pem = NULL;
        struct controlplane cp;
        int r;

        if (cp_settings(in, &dirs, &cp) < 0 || read_data(in, NODE_PKI "/ca.crt", &ca_pem) < 0)
                return -ENOMEM;
        r = kubelet_serving_cert(in, dirs.pki, dirs.advertise);
        /* The images imported meanwhile tell whether the cluster has DNS (the kubelet's config says). */
        if (r >= 0)
                r = init_images_wait(in);
        if (r >= 0) {
                cluster_dns_decide(in);
                r = wait_apiserver(in, ca_pem, "/livez", false, NULL);
        }
        return r;
}

int init_finish_control_plane(struct init *in) {
        _cleanup_(cp_dirs_done) struct cp_dirs dirs = {};
        _cleanup_free_ char *ca_pem = NULL;
        struct node_api node = {};
        struct controlplane cp;
        struct un_error err = {};
        int r;

        if (cp_settings(in, &dirs, &cp) < 0 || read_data(in, NODE_PKI "/ca.crt", &ca_pem) < 0)
                return -ENOMEM;
        /* The node's kubelet, started, posts its Node Ready while the API server gets ready: seen when it does. */
        if (in->kubelet.pid > 0 && node_api_open(in->data_dir, in->server, in->name, &node, &err) < 0)
                fprintf(stderr, "usernode-init: %s\n", err.msg);
        /* The controllers and the scheduler act with the roles the API server's post-start hooks write: ready first. */
        r = wait_apiserver(in, ca_pem, "/readyz", true, node.name ? &node : NULL);
        node_api_done(&node);
        if (r >= 0)
                init_stage(in, "mark apiserver-ready");
        /* The controller-manager takes seconds to start its controllers: first, then the objects. */
        if (r >= 0)
                r = start(in, &cp, CONTROLPLANE_CONTROLLER_MANAGER);
        if (r >= 0)
                r = start(in, &cp, CONTROLPLANE_SCHEDULER);
        if (r >= 0)
                r = apply_cluster_objects(in, ca_pem, dirs.advertise);
        return r;
}

int init_restart_control_plane(struct init *in, enum controlplane_component c, struct un_error *err) {
        _cleanup_(cp_dirs_done) struct cp_dirs dirs = {};
        struct controlplane cp;

        if (cp_settings(in, &dirs, &cp) < 0)
                return un_error(err, ENOMEM, "%s", controlplane_component_to_string(c));
        return spawn(in, &cp, c, err);
}

/* The admin's client certificate and key, PEM, for requests as the cluster's admin. */
static int admin_credentials(struct init *in, char **ret) {
        _cleanup_free_ char *pki = xstrdup_printf("%s/" NODE_PKI, in->data_dir);

        return pki ? pki_admin_client(pki, ret) : -ENOMEM;
}

int init_admin_credentials(struct init *in, char **ret_ca_pem, char **ret_client) {
        _cleanup_free_ char *ca_pem = NULL, *client = NULL;

        if (read_data(in, NODE_PKI "/ca.crt", &ca_pem) < 0 || admin_credentials(in, &client) < 0)
                return -EIO;
        *ret_ca_pem = TAKE_PTR(ca_pem);
        *ret_client = TAKE_PTR(client);
        return 0;
}

int init_wait_cluster_usable(struct init *in) {
        _cleanup_free_ char *ca_pem = NULL, *client = NULL;
        uint64_t deadline = now_usec() + (uint64_t) APISERVER_READY_MS * 1000u;
        int r;

        if (read_data(in, NODE_PKI "/ca.crt", &ca_pem) < 0 || admin_credentials(in, &client) < 0) {
                init_stage(in, "error cannot read the cluster admin's certificate under %s/" NODE_PKI, in->data_dir);
                return -EIO;
        }
        const struct kubeapi admin = { .server = INIT_CONTROLPLANE_SERVER, .ca_pem = ca_pem, .client_cert = client,
                                       .timeout_ms = 2000 };
        for (;;) {
                struct kubeapi_reply reply = {};
                struct un_error err = {};
                bool have = kubeapi_request(&admin, "GET", "/api/v1/namespaces/default/serviceaccounts/default", NULL,
                                            &reply, &err) >= 0 && reply.status == 200;

                kubeapi_reply_done(&reply);
                if (have)
                        break;
                if (now_usec() >= deadline) {
                        init_stage(in, "error the controller-manager made no default ServiceAccount within 60 s; see "
                                       "%s/controller-manager.log", in->runtime_dir);
                        r = -ETIME;
                        goto out;
                }
                r = init_idle_for(in, 100);
                if (r < 0)
                        goto out;
        }
        r = 0;
out:
        explicit_bzero(client, strlen(client));
        return r;
}

/* Whether cidr is one of the strv used. */
static bool cidr_used(char *const *used, const char *cidr) {
        for (char *const *u = used; u && *u; u++)
                if (strcmp(*u, cidr) == 0)
                        return true;
        return false;
}

/* The first /24 of the cluster network that is neither own nor used: "" when none is left. */
static void next_free_cidr(const struct net_prefix *net, const char *own, char *const *used, char buf[static 48]) {
        uint32_t base = ((uint32_t) net->addr[0] << 24) | ((uint32_t) net->addr[1] << 16) | ((uint32_t) net->addr[2] << 8);

        buf[0] = '\0';
        for (uint32_t i = 0; net->len <= 24 && i < (1u << (24 - net->len)); i++) {
                uint32_t a = base + (i << 8);

                snprintf(buf, 48, "%u.%u.%u.0/24", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff);
                if (strcmp(buf, own) != 0 && !cidr_used(used, buf))
                        return;
        }
        buf[0] = '\0';
}

/* Each Node without a pod CIDR gets one: this node the network's first /24, a worker its own, a node that joined the
 * first /24 no Node has. The API server keeps a Node's CIDR once set. */
static int assign_pod_cidrs(struct init *in, const struct kubeapi *admin, struct un_error *err) {
        struct json_object *list = NULL, *items;
        _cleanup_strv_free_ char **used = NULL;
        struct net_prefix net;
        char own[48];
        int r;

        if (own_pod_cidr(in, own, sizeof own) < 0 || net_prefix_parse(in->pod_cidr, &net) < 0 || net.family != AF_INET)
                return un_error(err, EINVAL, "the cluster network %s has no /24 for this node", in->pod_cidr);
        r = kubeapi_list(admin, "/api/v1/nodes", "nodes", &list, err);
        if (r < 0)
                return r;
        /* The workers' are theirs, whether their Nodes are there yet or not. */
        for (unsigned i = 0; r >= 0 && i < in->n_workers; i++)
                if (strv_push(&used, in->workers[i].pod_cidr) < 0)
                        r = un_error(err, ENOMEM, "pod CIDRs");
        items = json_get(list, "items", json_type_array);
        for (size_t i = 0; r >= 0 && i < json_object_array_length(items); i++) {
                struct json_object *cidr = json_get(json_get(json_object_array_get_idx(items, i), "spec", json_type_object),
                                                    "podCIDR", json_type_string);

                if (cidr && strv_push(&used, json_object_get_string(cidr)) < 0)
                        r = un_error(err, ENOMEM, "pod CIDRs");
        }
        for (size_t i = 0; r >= 0 && i < json_object_array_length(items); i++) {
                struct json_object *node = json_object_array_get_idx(items, i);
                struct json_object *name = json_get(json_get(node, "metadata", json_type_object), "name", json_type_string);
                const char *n = name ? json_object_get_string(name) : NULL;
                const struct init_worker *w;
                char next[48];

                if (!n || json_get(json_get(node, "spec", json_type_object), "podCIDR", json_type_string))
                        continue;
                if (strcmp(n, in->name) == 0)
                        snprintf(next, sizeof next, "%s", own);
                else if ((w = init_worker_find(in, n)))
                        snprintf(next, sizeof next, "%s", w->pod_cidr);
                else if (in->apiserver_url)
                        next_free_cidr(&net, own, used, next);
                else
                        continue;       /* a cluster published on loopback: only this host's nodes, no CIDR of their own */
                if (!next[0]) {
                        r = un_error(err, ENOSPC, "no /24 of the cluster network %s is left for node %s", in->pod_cidr, n);
                        break;
                }
                r = clusterinit_node_pod_cidr(admin, n, next, err);
                if (r >= 0) {
                        fprintf(stderr, "usernode-init: node %s takes the pod CIDR %s\n", n, next);
                        r = cidr_used(used, next) || strv_push(&used, next) >= 0 ? 0 : un_error(err, ENOMEM, "pod CIDRs");
                }
        }
        json_object_put(list);
        return r;
}

void init_control_plane_tick(struct init *in) {
        _cleanup_free_ char *ca_pem = NULL, *client = NULL;
        struct un_error err = {};
        int r;

        if (read_data(in, NODE_PKI "/ca.crt", &ca_pem) < 0 || admin_credentials(in, &client) < 0)
                r = un_error(&err, EIO, "cannot read the cluster admin's certificate under %s/" NODE_PKI, in->data_dir);
        else {
                const struct kubeapi admin = { .server = INIT_CONTROLPLANE_SERVER, .ca_pem = ca_pem, .client_cert = client,
                                               .timeout_ms = 2000 };

                r = assign_pod_cidrs(in, &admin, &err);
                if (r >= 0)
                        r = csr_decide_kubelet_serving(&admin, stderr, &err);
                explicit_bzero(client, strlen(client));
        }
        /* Each new error once: an API server that is away is not worth a line every tick. */
        if (r < 0 && strcmp(err.msg, in->tick_error) != 0)
                fprintf(stderr, "usernode-init: %s\n", err.msg);
        snprintf(in->tick_error, sizeof in->tick_error, "%s", r < 0 ? err.msg : "");
}
