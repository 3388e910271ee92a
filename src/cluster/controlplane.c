/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The command lines of a single-node control plane: what kubeadm's static pods run, with the paths of
 * usernode's node and only loopback listeners besides the API server. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane.h"
#include "util.h"

static const struct {
        const char *name, *binary;
} components[_CONTROLPLANE_MAX] = {
        [CONTROLPLANE_ETCD] = { "etcd", "etcd" },
        [CONTROLPLANE_APISERVER] = { "apiserver", "kube-apiserver" },
        [CONTROLPLANE_CONTROLLER_MANAGER] = { "controller-manager", "kube-controller-manager" },
        [CONTROLPLANE_SCHEDULER] = { "scheduler", "kube-scheduler" },
};

const char *controlplane_component_to_string(enum controlplane_component c) {
        return (unsigned) c < _CONTROLPLANE_MAX ? components[c].name : NULL;
}

const char *controlplane_binary(enum controlplane_component c) {
        return (unsigned) c < _CONTROLPLANE_MAX ? components[c].binary : NULL;
}

int controlplane_service_ip(const char *service_cidr, unsigned host, char *buf, size_t size) {
        char net[INET_ADDRSTRLEN];
        const char *slash = strchr(service_cidr, '/');
        uint32_t prefix, mask;
        struct in_addr a;

        if (!slash || (size_t) (slash - service_cidr) >= sizeof net || parse_u32(slash + 1, &prefix) < 0 ||
            prefix < 1 || prefix > 30)
                return -EINVAL;
        memcpy(net, service_cidr, (size_t) (slash - service_cidr));
        net[slash - service_cidr] = '\0';
        if (inet_pton(AF_INET, net, &a) != 1)
                return -EINVAL;
        /* The network's own address, as the API server takes it, then the host-th address in it. */
        mask = prefix == 32 ? 0xffffffffu : ~(0xffffffffu >> prefix);
        if (host == 0 || host > ~mask - 1)
                return -ERANGE;
        a.s_addr = htonl((ntohl(a.s_addr) & mask) + host);
        return inet_ntop(AF_INET, &a, buf, (socklen_t) size) ? 0 : -ENOSPC;
}

/* Pushes "--KEY=VALUE" with VALUE formatted. */
_printf_(3, 4) static int flag(char ***argv, const char *key, const char *fmt, ...) {
        _cleanup_free_ char *value = NULL, *arg = NULL;
        va_list ap;

        va_start(ap, fmt);
        value = xstrdup_vprintf(fmt, ap);
        va_end(ap);
        arg = value ? xstrdup_printf("--%s=%s", key, value) : NULL;
        return arg ? strv_push(argv, arg) : -ENOMEM;
}

/* No secure port for the controller-manager and the scheduler: serving one makes each generate two RSA keys
 * for its loopback client at every start (0.16-0.35 s of CPU here, on the way to the first pod: both start
 * when the API server is ready), and nothing reads their healthz or metrics — the init watches the processes
 * themselves. kubeadm serves them for its static pods' liveness probes; the deprecated ComponentStatus API
 * reports them unreachable. Without a port, no delegated authentication or authorization either. */
static int no_serving(char ***a) {
        return flag(a, "secure-port", "0");
}

static int etcd_argv(const struct controlplane *cp, char ***a) {
        const char *p = cp->pki_dir;
        int r = 0;

        r = r ?: flag(a, "name", "%s", cp->node_name);
        r = r ?: flag(a, "data-dir", "%s", cp->etcd_dir);
        r = r ?: flag(a, "listen-client-urls", "https://127.0.0.1:%u", CONTROLPLANE_ETCD_PORT);
        r = r ?: flag(a, "advertise-client-urls", "https://127.0.0.1:%u", CONTROLPLANE_ETCD_PORT);
        r = r ?: flag(a, "listen-peer-urls", "http://127.0.0.1:2380");
        r = r ?: flag(a, "initial-advertise-peer-urls", "http://127.0.0.1:2380");
        r = r ?: flag(a, "initial-cluster", "%s=http://127.0.0.1:2380", cp->node_name);
        r = r ?: flag(a, "listen-metrics-urls", "http://127.0.0.1:%u", CONTROLPLANE_ETCD_METRICS_PORT);
        r = r ?: flag(a, "client-cert-auth", "true");
        r = r ?: flag(a, "trusted-ca-file", "%s/etcd/ca.crt", p);
        r = r ?: flag(a, "cert-file", "%s/etcd/server.crt", p);
        r = r ?: flag(a, "key-file", "%s/etcd/server.key", p);
        /* One member on a laptop or a CI runner: snapshots less often than a production cluster's. */
        r = r ?: flag(a, "snapshot-count", "10000");
        return r;
}

static int apiserver_argv(const struct controlplane *cp, char ***a) {
        const char *p = cp->pki_dir;
        int r = 0;

        r = r ?: flag(a, "advertise-address", "%s", cp->advertise_ip);
        r = r ?: flag(a, "secure-port", "%u", CONTROLPLANE_APISERVER_PORT);
        r = r ?: flag(a, "etcd-servers", "https://127.0.0.1:%u", CONTROLPLANE_ETCD_PORT);
        r = r ?: flag(a, "etcd-cafile", "%s/etcd/ca.crt", p);
        r = r ?: flag(a, "etcd-certfile", "%s/apiserver-etcd-client.crt", p);
        r = r ?: flag(a, "etcd-keyfile", "%s/apiserver-etcd-client.key", p);
        r = r ?: flag(a, "service-cluster-ip-range", "%s", cp->service_cidr);
        r = r ?: flag(a, "client-ca-file", "%s/ca.crt", p);
        r = r ?: flag(a, "tls-cert-file", "%s/apiserver.crt", p);
        r = r ?: flag(a, "tls-private-key-file", "%s/apiserver.key", p);
        r = r ?: flag(a, "kubelet-client-certificate", "%s/apiserver-kubelet-client.crt", p);
        r = r ?: flag(a, "kubelet-client-key", "%s/apiserver-kubelet-client.key", p);
        r = r ?: flag(a, "kubelet-preferred-address-types", "InternalIP,ExternalIP,Hostname");
        /* Only a node's own kubelet answers for it: its serving certificate is the cluster's (serverTLSBootstrap). */
        r = r ?: flag(a, "kubelet-certificate-authority", "%s/ca.crt", p);
        r = r ?: flag(a, "service-account-key-file", "%s/sa.pub", p);
        r = r ?: flag(a, "service-account-signing-key-file", "%s/sa.key", p);
        r = r ?: flag(a, "service-account-issuer", "https://kubernetes.default.svc.%s", CONTROLPLANE_DNS_DOMAIN);
        r = r ?: flag(a, "enable-bootstrap-token-auth", "true");
        r = r ?: flag(a, "authorization-mode", "Node,RBAC");
        r = r ?: flag(a, "enable-admission-plugins", "NodeRestriction");
        r = r ?: flag(a, "allow-privileged", "true");
        r = r ?: flag(a, "requestheader-client-ca-file", "%s/front-proxy-ca.crt", p);
        r = r ?: flag(a, "proxy-client-cert-file", "%s/front-proxy-client.crt", p);
        r = r ?: flag(a, "proxy-client-key-file", "%s/front-proxy-client.key", p);
        r = r ?: flag(a, "requestheader-allowed-names", "front-proxy-client");
        r = r ?: flag(a, "requestheader-extra-headers-prefix", "X-Remote-Extra-");
        r = r ?: flag(a, "requestheader-group-headers", "X-Remote-Group");
        r = r ?: flag(a, "requestheader-username-headers", "X-Remote-User");
        /* No profiling endpoint on a node that serves one user. */
        r = r ?: flag(a, "profiling", "false");
        return r;
}

static int controller_manager_argv(const struct controlplane *cp, char ***a) {
        const char *p = cp->pki_dir;
        _cleanup_free_ char *kc = xstrdup_printf("%s/controller-manager.conf", cp->conf_dir);
        int r = kc ? 0 : -ENOMEM;

        r = r ?: flag(a, "kubeconfig", "%s", kc);
        r = r ?: flag(a, "cluster-signing-cert-file", "%s/ca.crt", p);
        r = r ?: flag(a, "cluster-signing-key-file", "%s/ca.key", p);
        r = r ?: flag(a, "root-ca-file", "%s/ca.crt", p);
        r = r ?: flag(a, "service-account-private-key-file", "%s/sa.key", p);
        r = r ?: flag(a, "use-service-account-credentials", "true");
        r = r ?: flag(a, "controllers", "*,bootstrapsigner,tokencleaner");
        /* No --allocate-node-cidrs: the init gives each Node its pod CIDR (init/controlplane.c), as 1.28's node
         * IPAM controller would after sleeping 10 s before its first list of Nodes, which holds up the controllers
         * started after it (a joinable cluster's Node was Ready after 33 s instead of 7). */
        r = r ?: flag(a, "service-cluster-ip-range", "%s", cp->service_cidr);
        /* Each controller starts with a ServiceAccount of its own (two or three requests) before the next,
         * and the informers run once all have: at the default 20 requests/s, the node lifecycle controller
         * lifts the new node's not-ready taint ~4 s after the controller-manager starts. */
        r = r ?: flag(a, "kube-api-qps", "100");
        r = r ?: flag(a, "kube-api-burst", "200");
        r = r ?: flag(a, "leader-elect", "false");
        r = r ?: no_serving(a);
        r = r ?: flag(a, "profiling", "false");
        return r;
}

static int scheduler_argv(const struct controlplane *cp, char ***a) {
        _cleanup_free_ char *kc = xstrdup_printf("%s/scheduler.conf", cp->conf_dir);
        int r = kc ? 0 : -ENOMEM;

        r = r ?: flag(a, "kubeconfig", "%s", kc);
        r = r ?: flag(a, "leader-elect", "false");
        r = r ?: no_serving(a);
        r = r ?: flag(a, "profiling", "false");
        return r;
}

int controlplane_argv(const struct controlplane *cp, enum controlplane_component c, char ***ret, struct un_error *err) {
        static int (*const builders[_CONTROLPLANE_MAX])(const struct controlplane *, char ***) = {
                [CONTROLPLANE_ETCD] = etcd_argv,
                [CONTROLPLANE_APISERVER] = apiserver_argv,
                [CONTROLPLANE_CONTROLLER_MANAGER] = controller_manager_argv,
                [CONTROLPLANE_SCHEDULER] = scheduler_argv,
        };
        _cleanup_strv_free_ char **argv = NULL;
        int r;

        if ((unsigned) c >= _CONTROLPLANE_MAX)
                return un_error(err, EINVAL, "no such control-plane component");
        r = strv_push(&argv, controlplane_binary(c));
        if (r >= 0)
                r = builders[c](cp, &argv);
        if (r < 0)
                return un_error(err, -r, "the command line of %s", controlplane_binary(c));
        *ret = TAKE_PTR(argv);
        return 0;
}
