/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The init's children: containerd, the kubelet and kube-proxy, how each is started (its command line, its
 * config, its log) and how the init waits on them (READY=1 on the notify socket, a pidfd for their death). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "init.h"
#include "log.h"
#include "nodeapi.h"
#include "util.h"

int init_exit_code(const struct proc *p) {
        return WIFEXITED(p->status) ? WEXITSTATUS(p->status) : 128 + WTERMSIG(p->status);
}

/* A klog error line's message ("E1129 17:30:00.123456    1234 file.go:12] message"). */
static const char *klog_error(const char *line) {
        const char *body = strstr(line, "] ");

        return line[0] == 'E' && strspn(line + 1, "0123456789") == 4 && body ? body + 2 : NULL;
}

/* The kubelet's last error in its log, without klog's header: what `up` quotes when it fails. */
static char *kubelet_last_error(struct init *in) {
        _cleanup_free_ char *path = xstrdup_printf("%s/kubelet.log", in->runtime_dir);

        return path ? log_last_match(path, klog_error, 600) : NULL;
}

void init_stage_kubelet_failed(struct init *in, const char *what) {
        _cleanup_free_ char *why = kubelet_last_error(in);

        if (why && strstr(why, "Unauthorized") && strstr(why, "certificate signing request"))
                init_stage(in, "error the API server refused the bootstrap token: Unauthorized (%s); see %s/kubelet.log",
                           what, in->runtime_dir);
        else
                init_stage(in, "error %s: %s; see %s/kubelet.log", what, why ? why : "it printed no error",
                           in->runtime_dir);
}

int init_wait_child_ready(struct init *in, struct proc *child, int timeout_ms) {
        uint64_t deadline = timeout_ms < 0 ? 0 : now_usec() + (uint64_t) timeout_ms * 1000u;

        for (;;) {
                struct pollfd pf[3] = {
                        { .fd = in->notify_fd, .events = POLLIN },
                        { .fd = child->pidfd, .events = POLLIN },
                        { .fd = in->signal_fd, .events = POLLIN },
                };
                uint64_t now = now_usec();
                int r;

                if (deadline && now >= deadline)
                        return -ETIME;
                r = poll(pf, 3, deadline ? (int) ((deadline - now) / 1000u) + 1 : -1);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (pf[2].revents)
                        return -EINTR;
                if (pf[0].revents && notify_socket_read_ready(in->notify_fd) == 1)
                        return 0;
                if (pf[1].revents) {
                        (void) proc_try_reap(child);
                        return -ECHILD;
                }
        }
}

int init_idle_for(struct init *in, int timeout_ms) {
        struct pollfd pf[4 + _INIT_DAEMON_MAX + INIT_WORKERS_MAX] = { { .fd = in->signal_fd, .events = POLLIN },
                                                                      { .fd = in->notify_fd, .events = POLLIN } };
        const size_t request = 2 + _INIT_DAEMON_MAX + INIT_WORKERS_MAX, overlay = request + 1;
        int r;

        pf[request] = (struct pollfd) { .fd = in->request_fd, .events = POLLIN };
        pf[overlay] = (struct pollfd) { .fd = in->overlay_watch_fd, .events = POLLIN };
        for (enum init_daemon d = 0; d < _INIT_DAEMON_MAX; d++) {
                const struct proc *p = init_daemon_proc(in, d);

                pf[2 + d] = (struct pollfd) { .fd = p->pid > 0 ? p->pidfd : -1, .events = POLLIN };
        }
        /* A worker that dies wakes the wait; it is reaped here and dealt with by workers.c. */
        for (unsigned w = 0; w < INIT_WORKERS_MAX; w++)
                pf[2 + _INIT_DAEMON_MAX + w] = (struct pollfd) { .fd = init_worker_pidfd(in, w), .events = POLLIN };
        r = poll(pf, ELEMENTSOF(pf), in->healing ? init_health_timeout_ms(in, timeout_ms) : timeout_ms);
        if (r < 0)
                return errno == EINTR ? 0 : -errno;
        if (pf[0].revents)
                return -EINTR;
        if (pf[1].revents)
                (void) notify_socket_read_ready(in->notify_fd);
        /* Drained and acted on by the idle loop (init_overlay_guard_refresh). */
        if (pf[overlay].revents)
                in->overlay_changed = true;
        if (pf[request].revents) {
                struct signalfd_siginfo si;

                while (read(in->request_fd, &si, sizeof si) == sizeof si)
                        in->workers_requested = true;
        }
        for (unsigned w = 0; w < INIT_WORKERS_MAX; w++)
                if (pf[2 + _INIT_DAEMON_MAX + w].revents)
                        (void) proc_try_reap(&in->workers[w].proc);
        for (enum init_daemon d = 0; d < _INIT_DAEMON_MAX; d++) {
                struct proc *p = init_daemon_proc(in, d);

                if (!pf[2 + d].revents)
                        continue;
                (void) proc_try_reap(p);
                if (in->healing) {
                        init_health_exited(in, d);
                        continue;
                }
                if (d == INIT_DAEMON_KUBELET) {
                        char what[64];

                        snprintf(what, sizeof what, "kubelet exited with status %d", init_exit_code(p));
                        init_stage_kubelet_failed(in, what);
                } else {
                        _cleanup_free_ char *log = xstrdup_printf("%s/%s", in->runtime_dir, init_daemon_log(d));
                        _cleanup_free_ char *why = log ? log_last_match(log, init_error_line, 300) : NULL;

                        init_stage(in, "error %s exited with status %d%s%s; see %s", init_daemon_to_string(d),
                                   init_exit_code(p), why ? ": " : "", why ? why : "", strna(log));
                }
                return -ECHILD;
        }
        if (in->healing)
                init_health_restart_due(in);
        return 0;
}

static int spawn_containerd(struct init *in, struct un_error *err) {
        char *argv[] = { (char *) "containerd", (char *) "--config", in->containerd_config, NULL };
        char *env[] = { in->notify_env, NULL };

        /* Its output goes where the init's goes: node.log. */
        return proc_spawn(argv, env, -1, -1, -1, &in->containerd, err);
}

int init_start_containerd(struct init *in, struct un_error *err) {
        _cleanup_free_ char *notify = xstrdup_printf("%s/init-notify.sock", in->runtime_dir);

        if (!notify)
                return un_error(err, ENOMEM, "containerd");
        in->notify_fd = notify_socket_open(notify, err);
        in->notify_env = xstrdup_printf("NOTIFY_SOCKET=%s", notify);
        if (in->notify_fd < 0 || !in->notify_env)
                return -EIO;
        return spawn_containerd(in, err);
}

/* The kubelet's config (usernode's settings over the cluster's), written where --config reads it. */
static int write_kubelet_config(struct init *in, const char *path, struct un_error *err) {
        _cleanup_free_ char *cluster_path = xstrdup_printf("%s/%s", in->data_dir, NODE_KUBELET_CLUSTER_CONFIG);
        _cleanup_free_ char *ca = xstrdup_printf("%s/%s", in->data_dir, NODE_KUBELET_CA);
        _cleanup_free_ char *cluster = NULL, *text = NULL;
        struct kubelet_params p = in->params;
        const struct host *h = host_live();
        int r;

        if (!cluster_path || !ca)
                return un_error(err, ENOMEM, "kubelet");
        if (in->server) {
                r = host_read_file(h, cluster_path, 1024 * 1024, &cluster, NULL);
                if (r < 0 && r != -ENOENT)
                        return un_error(err, -r, "cannot read %s", cluster_path);
                p.cluster_config = cluster;
                p.client_ca_file = ca;
                p.port = (uint16_t) in->kubelet_port;
        }
        p.pod_pids_limit = in->pod_pids_limit;
        r = kubelet_render_kubelet_config(&p, &text, err);
        return r < 0 ? r : init_write_file(path, text, err);
}

int init_start_kubelet(struct init *in, const char *kubelet, struct un_error *err) {
        _cleanup_free_ char *kdir = xstrdup_printf("%s/kubelet", in->data_dir);
        _cleanup_free_ char *config = xstrdup_printf("%s/kubelet/config.json", in->data_dir);
        _cleanup_free_ char *bootstrap = xstrdup_printf("%s/%s", in->data_dir, NODE_KUBELET_BOOTSTRAP);
        _cleanup_free_ char *a_config = NULL, *a_root = NULL, *a_certs = NULL, *a_name = NULL, *a_kubeconfig = NULL,
                            *a_bootstrap = NULL, *a_ip = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        char *env[] = { in->notify_env, NULL };
        int r;

        if (!kdir || !config || !bootstrap)
                return un_error(err, ENOMEM, "kubelet");
        r = write_kubelet_config(in, config, err);
        if (r < 0)
                return r;
        a_config = xstrdup_printf("--config=%s", config);
        a_root = xstrdup_printf("--root-dir=%s", kdir);
        /* Its certificates with the node's data, not in /var/lib (a tmpfs here): a restart keeps them. */
        a_certs = xstrdup_printf("--cert-dir=%s/pki", kdir);
        a_name = xstrdup_printf("--hostname-override=%s", in->name);
        a_kubeconfig = xstrdup_printf("--kubeconfig=%s/%s", in->data_dir, NODE_KUBELET_KUBECONFIG);
        a_bootstrap = xstrdup_printf("--bootstrap-kubeconfig=%s", bootstrap);
        a_ip = in->node_ip ? xstrdup_printf("--node-ip=%s", in->node_ip) : NULL;
        if (!a_config || !a_root || !a_certs || !a_name || !a_kubeconfig || !a_bootstrap || (in->node_ip && !a_ip) ||
            strv_push(&argv, kubelet) < 0 || strv_push(&argv, a_config) < 0 || strv_push(&argv, a_root) < 0 ||
            strv_push(&argv, a_certs) < 0 || strv_push(&argv, a_name) < 0)
                return un_error(err, ENOMEM, "kubelet");
        if (in->server && (strv_push(&argv, a_kubeconfig) < 0 ||
                           (access(bootstrap, F_OK) == 0 && strv_push(&argv, a_bootstrap) < 0) ||
                           (a_ip && strv_push(&argv, a_ip) < 0)))
                return un_error(err, ENOMEM, "kubelet");
        in->kubelet_started = time(NULL);
        return init_spawn_logged(in, "kubelet.log", argv, env, &in->kubelet, err);
}

/* kube-proxy with the node's own credentials, in settings a user namespace allows: conntrack limits are
 * the host's and stay as they are. */
int init_start_kube_proxy(struct init *in, const char *binary, struct un_error *err) {
        _cleanup_free_ char *dir = xstrdup_printf("%s/kube-proxy", in->data_dir);
        _cleanup_free_ char *config = xstrdup_printf("%s/kube-proxy/config.yaml", in->data_dir);
        _cleanup_free_ char *text = NULL, *a_config = NULL;
        int r;

        if (!dir || !config)
                return un_error(err, ENOMEM, "kube-proxy");
        if (init_mkdir_p(dir) < 0)
                return un_error(err, errno, "cannot create %s", dir);
        text = xstrdup_printf("apiVersion: kubeproxy.config.k8s.io/v1alpha1\n"
                              "kind: KubeProxyConfiguration\n"
                              "clientConnection:\n"
                              "  kubeconfig: \"%s/%s\"\n"
                              "hostnameOverride: \"%s\"\n"
                              "mode: iptables\n"
                              "clusterCIDR: \"%s\"\n"
                              "metricsBindAddress: 127.0.0.1:10249\n"
                              "healthzBindAddress: 127.0.0.1:10256\n"
                              "conntrack:\n"
                              "  maxPerCore: 0\n"
                              "  min: 0\n"
                              "  tcpEstablishedTimeout: 0s\n"
                              "  tcpCloseWaitTimeout: 0s\n",
                              in->data_dir, NODE_KUBELET_KUBECONFIG, in->name, in->pod_cidr);
        a_config = xstrdup_printf("--config=%s", config);
        if (!text || !a_config)
                return un_error(err, ENOMEM, "kube-proxy");
        r = init_write_file(config, text, err);
        if (r < 0)
                return r;
        char *argv[] = { (char *) binary, a_config, NULL };
        return init_spawn_logged(in, "kube-proxy.log", argv, NULL, &in->kube_proxy, err);
}

/* kube-proxy runs with the node's credentials: the Node authorizer lets a node read Services but not
 * EndpointSlices, which only a cluster admin can grant. Without them it would only log errors. */
bool init_kube_proxy_allowed(struct init *in) {
        struct node_api api = {};
        struct un_error err = {};
        int r = node_api_open(in->data_dir, in->server, in->name, &api, &err);

        if (r >= 0)
                r = node_api_may_list(&api, "/apis/discovery.k8s.io/v1/endpointslices", &err);
        node_api_done(&api);
        if (r < 0)
                fprintf(stderr, "usernode-init: cannot ask the cluster what kube-proxy may read: %s\n", err.msg);
        if (r == 0)
                init_stage(in, "warn kube-proxy not started: the cluster does not let node %s list EndpointSlices, so "
                               "pods here cannot reach Services; a cluster admin can allow it for usernode's nodes "
                               "with: kubectl create clusterrolebinding usernode-node-proxier "
                               "--clusterrole=system:node-proxier --group=system:nodes", in->name);
        return r != 0;
}

int init_daemon_start(struct init *in, enum init_daemon d, struct un_error *err) {
        static const enum controlplane_component components[_INIT_DAEMON_MAX] = {
                [INIT_DAEMON_ETCD] = CONTROLPLANE_ETCD,
                [INIT_DAEMON_APISERVER] = CONTROLPLANE_APISERVER,
                [INIT_DAEMON_CONTROLLER_MANAGER] = CONTROLPLANE_CONTROLLER_MANAGER,
                [INIT_DAEMON_SCHEDULER] = CONTROLPLANE_SCHEDULER,
        };
        int r;

        switch (d) {
        case INIT_DAEMON_CONTAINERD:
                r = spawn_containerd(in, err);
                if (r >= 0)
                        init_stage(in, "pid containerd %d", (int) in->containerd.pid);
                return r;
        case INIT_DAEMON_KUBELET:
                r = init_start_kubelet(in, in->kubelet_bin, err);
                if (r >= 0)
                        init_stage(in, "pid engine %d", (int) in->kubelet.pid);
                return r;
        case INIT_DAEMON_KUBE_PROXY:
                return init_start_kube_proxy(in, in->kube_proxy_bin, err);
        case INIT_DAEMON_FLANNEL:
                return init_start_flannel(in, err);
        case INIT_DAEMON_K3S:
                return init_start_k3s(in, err);
        default:
                return init_restart_control_plane(in, components[d], err);
        }
}

int init_spawn_logged(struct init *in, const char *log, char **argv, char **env, struct proc *ret,
                      struct un_error *err) {
        _cleanup_free_ char *path = xstrdup_printf("%s/%s", in->runtime_dir, log);
        _cleanup_close_ int fd = path ? open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600)
                                      : -ENOMEM;

        if (fd < 0)
                return un_error(err, fd == -ENOMEM ? ENOMEM : errno, "cannot open %s", strna(path));
        return proc_spawn(argv, env, fd, -1, -1, ret, err);
}
