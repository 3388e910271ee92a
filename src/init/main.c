/* SPDX-License-Identifier: GPL-2.0-or-later */
/* usernode's init: PID 1's child in the node's namespaces (started by rootlesskit, argv[0] "__node-init"),
 * root of the node's user namespace. It mounts what the node needs, runs containerd, the kubelet and
 * kube-proxy, reports each stage to the supervisor through the stage pipe and, for a joined node, tells
 * the node ready only when its Node object is Ready in the API. Here: its arguments, the sequence, the
 * idle loop and the shutdown. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "driver.h"
#include "init.h"
#include "netlink.h"
#include "nodeapi.h"
#include "podlimits.h"
#include "util.h"

#define CHILD_STOP_MS 3000
#define LIMITS_POLL_MS 5000             /* how soon a pod with limits the host cannot enforce is told */
/* How soon a joining node has its pod CIDR and its kubelet its certificate; in a cluster nobody else joins, only the
 * kubelet's own renewal waits on it (each tick costs the init ~5 ms of CPU: two requests as the cluster's admin). */
#define TICK_MS 1000
#define TICK_ALONE_MS 30000

/* The init's command line, as engine-kubelet.c writes it. 0, or -EINVAL with the complaint printed. */
static int parse_args(struct init *in, int argc, char **argv) {
        for (int i = 1; i < argc; i++) {
                const char **dst = NULL;

                if (strcmp(argv[i], "--containerd-only") == 0) {
                        in->containerd_only = true;
                        continue;
                }
                if (strcmp(argv[i], "--overlay-guard") == 0) {
                        in->overlay_guard = true;
                        continue;
                }
                if (strcmp(argv[i], "--routed-pod-network") == 0) {
                        in->routed_pod_network = true;
                        continue;
                }
                if (strcmp(argv[i], "--workers") == 0) {
                        if (i + 1 >= argc || parse_u32(argv[i + 1], &in->n_workers) < 0 || in->n_workers == 0 ||
                            in->n_workers > INIT_WORKERS_MAX) {
                                fprintf(stderr, "usernode __node-init: bad --workers\n");
                                return -EINVAL;
                        }
                        i++;
                        continue;
                }
                if (strcmp(argv[i], "--engine") == 0) {
                        if (i + 1 >= argc || (strcmp(argv[i + 1], "k3s") != 0 && strcmp(argv[i + 1], "kubelet") != 0)) {
                                fprintf(stderr, "usernode __node-init: bad --engine\n");
                                return -EINVAL;
                        }
                        in->engine_k3s = strcmp(argv[++i], "k3s") == 0;
                        continue;
                }
                if (strcmp(argv[i], "--name") == 0)
                        dst = &in->name;
                else if (strcmp(argv[i], "--runtime-dir") == 0)
                        dst = &in->runtime_dir;
                else if (strcmp(argv[i], "--data-dir") == 0)
                        dst = &in->data_dir;
                else if (strcmp(argv[i], "--server") == 0)
                        dst = &in->server;
                else if (strcmp(argv[i], "--pod-cidr") == 0)
                        dst = &in->pod_cidr;
                else if (strcmp(argv[i], "--resolv-conf") == 0)
                        dst = &in->resolv_conf;
                else if (strcmp(argv[i], "--node-ip") == 0)
                        dst = &in->node_ip;
                else if (strcmp(argv[i], "--sandbox-image") == 0)
                        dst = &in->sandbox_image;
                else if (strcmp(argv[i], "--service-cidr") == 0)
                        dst = &in->service_cidr;
                else if (strcmp(argv[i], "--images-dir") == 0)
                        dst = &in->images_dir;
                else if (strcmp(argv[i], "--apiserver-url") == 0)
                        dst = &in->apiserver_url;
                else if (strcmp(argv[i], "--overlay-address") == 0)
                        dst = &in->overlay_address;
                else if (strcmp(argv[i], "--workers-cidr") == 0)
                        dst = &in->workers_cidr;
                else if (strcmp(argv[i], "--control-plane") == 0) {
                        in->control_plane = true;
                        /* The node's kubelet joins the control plane it runs, as a node joins any cluster (k3s: its
                         * agent is its server's own). */
                        if (!in->engine_k3s)
                                in->server = INIT_CONTROLPLANE_SERVER;
                        continue;
                }
                else if (strcmp(argv[i], "--mtu") == 0 || strcmp(argv[i], "--kubelet-port") == 0) {
                        bool mtu = argv[i][2] == 'm';
                        uint32_t v;

                        if (i + 1 >= argc || parse_u32(argv[i + 1], &v) < 0 ||
                            (mtu ? v < 1280 || v > UP_MTU : v == 0 || v > 65535)) {
                                fprintf(stderr, "usernode __node-init: bad %s\n", argv[i]);
                                return -EINVAL;
                        }
                        *(mtu ? &in->mtu : &in->kubelet_port) = v;
                        i++;
                        continue;
                } else if (strcmp(argv[i], "--pod-pids-limit") == 0) {
                        if (i + 1 >= argc || up_pod_pids_limit_parse(argv[i + 1], &in->pod_pids_limit) < 0) {
                                fprintf(stderr, "usernode __node-init: bad --pod-pids-limit\n");
                                return -EINVAL;
                        }
                        i++;
                        continue;
                }
                if (!dst || i + 1 >= argc || strlen(argv[i + 1]) > 4096) {
                        fprintf(stderr, "usernode __node-init: bad argument '%s'\n", argv[i]);
                        return -EINVAL;
                }
                *dst = argv[++i];
        }
        if (in->engine_k3s && (in->n_workers > 0 || in->containerd_only || in->overlay_guard)) {
                fprintf(stderr, "usernode __node-init: --workers, --containerd-only and --overlay-guard are the "
                                "kubelet engine's\n");
                return -EINVAL;
        }
        if (in->n_workers > 0 && (!in->control_plane || !in->workers_cidr || !net_cidr_ipv4_valid(in->workers_cidr))) {
                fprintf(stderr, "usernode __node-init: --workers needs --control-plane and --workers-cidr\n");
                return -EINVAL;
        }
        /* A node with workers routes to their pods as they route to its. */
        if (in->n_workers > 0)
                in->routed_pod_network = true;
        if (in->control_plane && !in->service_cidr) {
                fprintf(stderr, "usernode __node-init: --control-plane needs --service-cidr\n");
                return -EINVAL;
        }
        if (!in->name || !in->runtime_dir || !in->data_dir || in->runtime_dir[0] != '/' || in->data_dir[0] != '/') {
                fprintf(stderr, "usernode __node-init: --name, --runtime-dir and --data-dir are required\n");
                return -EINVAL;
        }
        return 0;
}

/* The stage pipe from the supervisor (its fd in UP_STAGE_FD_ENV), kept from the daemons we start. */
static void take_stage_fd(struct init *in) {
        const char *fd_env = getenv(UP_STAGE_FD_ENV);
        uint32_t fd;

        if (fd_env && parse_u32(fd_env, &fd) >= 0 && fd > 2 && fd < 1024 && fcntl((int) fd, F_GETFD) >= 0) {
                in->stage_fd = (int) fd;
                (void) fcntl(in->stage_fd, F_SETFD, FD_CLOEXEC);
        }
        unsetenv(UP_STAGE_FD_ENV);
}

/* SIGTERM, SIGINT and SIGHUP as events on a signalfd: the waits stop on them. */
static int open_signal_fd(struct init *in) {
        sigset_t usr1;

        in->signal_fd = stop_signal_fd();
        if (in->signal_fd < 0) {
                init_stage(in, "error signalfd: %s", strerror(-in->signal_fd));
                return in->signal_fd;
        }
        /* Requests for the workers on a signalfd of their own: pending until the idle loop takes them, never
         * mistaken for a stop by the waits of the start. */
        sigemptyset(&usr1);
        sigaddset(&usr1, SIGUSR1);
        if (sigprocmask(SIG_BLOCK, &usr1, NULL) < 0 ||
            (in->request_fd = signalfd(-1, &usr1, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
                init_stage(in, "error signalfd: %s", strerror(errno));
                return -errno;
        }
        return 0;
}

/* The namespaces as rootlesskit made them, with the node's hostname, DNS and address. */
static int setup_namespace(struct init *in) {
        int r;

        init_stage(in, "stage namespace");
        init_stage(in, "pid init %d", (int) getpid());
        (void) sethostname(in->name, strlen(in->name));
        r = init_install_hosts(in->name, in->runtime_dir);
        if (r < 0) {
                init_stage(in, "error cannot write the node's /etc/hosts: %s", strerror(-r));
                return r;
        }
        if (in->resolv_conf) {
                r = init_install_resolv_conf(in->resolv_conf);
                if (r < 0) {
                        init_stage(in, "error cannot write the node's /etc/resolv.conf from %s: %s", in->resolv_conf,
                                   strerror(-r));
                        return r;
                }
        }
        if (in->node_ip) {
                r = netlink_add_unrouted_address(in->node_ip);
                if (r < 0) {
                        init_stage(in, "error cannot give the node its address %s: %s", in->node_ip, strerror(-r));
                        return r;
                }
        }
        if (in->n_workers > 0) {
                r = init_workers_plan(in);
                if (r < 0) {
                        init_stage(in, "error no names, addresses or pod CIDRs for %u workers of %s in %s and %s",
                                   in->n_workers, in->name, in->workers_cidr, in->pod_cidr);
                        return r;
                }
                r = init_workers_network(in);
                if (r < 0)
                        return r;
        }
        if (in->routed_pod_network) {
                struct un_error err = {};

                r = init_masquerade_pods(in, &err);
                if (r < 0) {
                        init_stage(in, "error %s", err.msg);
                        return r;
                }
        }
        init_stage(in, "stage network");
        return 0;
}

static int run_containerd(struct init *in) {
        struct un_error err = {};
        int r;

        r = init_start_containerd(in, &err);
        if (r < 0) {
                init_stage(in, "error %s", err.msg);
                return r;
        }
        init_stage(in, "pid containerd %d", (int) in->containerd.pid);
        /* The control plane needs nothing of containerd: it starts meanwhile. */
        if (in->control_plane) {
                r = init_start_control_plane(in);
                if (r < 0)
                        return r;
        }
        r = init_wait_child_ready(in, &in->containerd, -1);
        if (r == -ECHILD) {
                init_stage(in, "error containerd exited during start; see %s/node.log", in->runtime_dir);
                return r;
        }
        if (r < 0)
                return r;
        r = init_wait_cri(in);
        if (r < 0)
                return r;
        init_stage(in, "stage containerd");
        (void) init_images_start(in);
        return 0;
}

/* No kubelet: an error, unless the node was asked to run containerd only. */
static int run_without_kubelet(struct init *in) {
        if (!in->containerd_only) {
                init_stage(in, "error no kubelet on PATH: the kubelet engine needs the Kubernetes node binary "
                               "(not packaged by Debian); install it, use --engine k3s, or pass --ignore "
                               "engine.kubelet to run containerd only");
                return -ENOENT;
        }
        fprintf(stderr, "usernode-init: no kubelet on PATH: this node runs containerd only\n");
        init_stage(in, "stage engine");
        init_stage(in, "stage api-ready");
        return 0;
}

static int run_kubelet(struct init *in, const char *kubelet) {
        struct un_error err = {};
        int r;

        if (in->server)
                init_node_not_ready(in, "KubeletStarting", "usernode is starting the kubelet", 2000);
        r = init_start_kubelet(in, kubelet, &err);
        if (r < 0) {
                init_stage(in, "error %s", err.msg);
                return r;
        }
        init_stage(in, "pid engine %d", (int) in->kubelet.pid);
        r = init_wait_child_ready(in, &in->kubelet, -1);
        if (r == -ECHILD) {
                char what[64];

                snprintf(what, sizeof what, "kubelet exited with status %d during start",
                         init_exit_code(&in->kubelet));
                init_stage_kubelet_failed(in, what);
        }
        return r;
}

/* No API server: the kubelet is ready when its own health check says so (READY=1 comes before its
 * modules run, and it can die right after). */
static int wait_standalone_ready(struct init *in) {
        int r;

        init_stage(in, "stage engine");
        r = init_wait_healthz(in);
        if (r < 0)
                return r;
        init_stage(in, "stage api-ready");
        return 0;
}

/* kube-proxy when there is one and the cluster lets the node's credentials read what it needs. */
static int run_kube_proxy(struct init *in) {
        struct un_error err = {};
        int r;

        in->kube_proxy_bin = init_find_binary("kube-proxy");
        if (in->kube_proxy_bin && !init_kube_proxy_allowed(in)) {
                free(in->kube_proxy_bin);
                in->kube_proxy_bin = NULL;
        }
        if (!in->kube_proxy_bin) {
                fprintf(stderr, "usernode-init: no kube-proxy on PATH: pods on this node cannot reach Services\n");
                return 0;
        }
        r = init_start_kube_proxy(in, in->kube_proxy_bin, &err);
        if (r < 0) {
                init_stage(in, "error %s", err.msg);
                return r;
        }
        init_stage(in, "pid kube-proxy %d", (int) in->kube_proxy.pid);
        return 0;
}

static int wait_joined_ready(struct init *in) {
        _cleanup_free_ char *bootstrap = xstrdup_printf("%s/%s", in->data_dir, NODE_KUBELET_BOOTSTRAP);
        int r;

        r = init_wait_client_cert(in);
        if (r < 0)
                return r;
        init_stage(in, "stage engine");
        /* The kubelet has its certificate: the token leaves the disk, as after `kubeadm join`. */
        if (bootstrap && unlink(bootstrap) < 0 && errno != ENOENT)
                fprintf(stderr, "usernode-init: cannot remove %s: %s\n", bootstrap, strerror(errno));
        r = run_kube_proxy(in);
        if (r < 0)
                return r;
        r = init_wait_node_ready(in);
        if (r < 0)
                return r;
        /* Ready when its pods reach the other nodes' too: the overlay needs the Node's pod CIDR. */
        r = init_run_overlay(in);
        if (r < 0)
                return r;
        /* A cluster with workers is ready with all its nodes. */
        r = init_workers_wait_ready(in);
        if (r < 0)
                return r;
        init_stage(in, "stage api-ready");
        return 0;
}

static int init_run(struct init *in) {
        int r;

        r = setup_namespace(in);
        if (r < 0)
                return r;
        r = init_mount(in);
        if (r < 0)
                return r;
        if (in->engine_k3s)
                return init_run_k3s(in);
        r = init_install_config(in);
        if (r < 0)
                return r;
        r = run_containerd(in);
        if (r < 0)
                return r;
        /* The kubelet starts as soon as the API server answers: it registers its Node (the node authorizer needs no
         * role) while the API server writes the cluster's defaults, instead of after. */
        if (in->control_plane) {
                r = init_await_apiserver(in);
                if (r < 0)
                        return r;
        }
        /* The images before the kubelet: its first pods find theirs. */
        r = init_images_wait(in);
        if (r < 0)
                return r;
        in->kubelet_bin = init_find_binary("kubelet");
        if (in->kubelet_bin)
                r = run_kubelet(in, in->kubelet_bin);
        if (r >= 0 && in->control_plane)
                r = init_finish_control_plane(in);
        if (r < 0)
                return r;
        if (!in->kubelet_bin)
                return run_without_kubelet(in);
        /* The workers start once the cluster has what they join with, alongside this node's kubelet. */
        r = init_workers_start(in);
        if (r < 0)
                return r;
        if (!in->server)
                return wait_standalone_ready(in);
        return wait_joined_ready(in);
}

/* Which limits this node cannot enforce, from the labels `up` wrote (0 for a node without a cluster). */
static unsigned unenforced_limits(struct init *in) {
        _cleanup_strv_free_ char **labels = NULL;

        if (!in->server || init_read_features(in, &labels) < 0)
                return 0;
        return pod_limits_unenforced(labels);
}

/* Idles until told to stop, starting again each daemon that dies (restart.c). On a host that cannot enforce
 * some limits, looks at this node's pods every LIMITS_POLL_MS and tells those that set them; a node that brings
 * its cluster gives its nodes what they wait for from it every TICK_MS (init_control_plane_tick; TICK_ALONE_MS in a
 * cluster nobody else joins). */
static int init_idle(struct init *in) {
        const unsigned unenforced = unenforced_limits(in);
        _cleanup_strv_free_ char **warned = NULL;
        struct node_api api = {};
        char last[sizeof ((struct un_error) {}).msg] = "";
        uint64_t next_limits = 0;
        int idle_ms = !in->control_plane ? -1 : in->apiserver_url ? TICK_MS : TICK_ALONE_MS;
        int r;

        if (unenforced) {
                struct un_error err = {};

                if (node_api_open(in->data_dir, in->server, in->name, &api, &err) < 0) {
                        fprintf(stderr, "usernode-init: pods with limits will not be told: %s\n", err.msg);
                        node_api_done(&api);
                }
        }
        if (api.name && (idle_ms < 0 || idle_ms > LIMITS_POLL_MS))
                idle_ms = LIMITS_POLL_MS;
        init_health_begin(in);
        for (;;) {
                uint64_t now = now_usec();

                if (in->control_plane)
                        init_control_plane_tick(in);
                if (in->overlay_changed)
                        init_overlay_guard_refresh(in);
                if (in->workers_requested) {
                        in->workers_requested = false;
                        init_workers_requests(in);
                }
                init_workers_reap(in);
                if (api.name && now >= next_limits) {
                        struct un_error err = {};

                        next_limits = now + LIMITS_POLL_MS * 1000ull;
                        /* Each new error once: a cluster that refuses is not worth a line every 5 s. */
                        if (pod_limits_warn(&api, unenforced, &warned, &err) < 0 && strcmp(err.msg, last) != 0) {
                                fprintf(stderr, "usernode-init: %s\n", err.msg);
                                snprintf(last, sizeof last, "%s", err.msg);
                        }
                }
                r = init_idle_for(in, init_workers_restarting(in) && (idle_ms < 0 || idle_ms > 200) ? 200 : idle_ms);
                if (r < 0)
                        break;
        }
        node_api_done(&api);
        return r == -EINTR ? 0 : r;
}

static void init_shutdown(struct init *in) {
        _cleanup_free_ char *purge = xstrdup_printf("%s/purge", in->runtime_dir);

        /* In order: the workers (whose kubelets tell the API server here), flannel, kube-proxy and the kubelet,
         * then containerd, then what they left (shims, containers). */
        init_workers_stop(in);
        /* k3s stops its kubelet, control plane and containerd itself; what it leaves dies below. */
        proc_stop(&in->k3s, CHILD_STOP_MS);
        proc_stop(&in->flannel, CHILD_STOP_MS);
        proc_stop(&in->kube_proxy, CHILD_STOP_MS);
        proc_stop(&in->kubelet, CHILD_STOP_MS);
        /* The cluster learns at once that this node is gone, not 40 s later from missed heartbeats. */
        if (in->server && in->kubelet.pid > 0)
                init_node_not_ready(in, "NodeStopped", "usernode stopped this node", 1000);
        /* The control plane after the kubelet (which said so to it), the store last. */
        for (int c = _CONTROLPLANE_MAX - 1; c >= 0; c--)
                proc_stop(&in->cp[c], CHILD_STOP_MS);
        proc_stop(&in->containerd, CHILD_STOP_MS);
        (void) kill(-1, SIGKILL);
        if (purge && access(purge, F_OK) == 0)
                init_purge(in);
}

static void init_done(struct init *in) {
        if (in->overlay_watch_fd >= 0)
                close(in->overlay_watch_fd);
        strv_free(in->overlay_allowed);
        init_workers_done(in);
        proc_done(&in->containerd);
        proc_done(&in->kubelet);
        proc_done(&in->kube_proxy);
        proc_done(&in->flannel);
        proc_done(&in->k3s);
        strv_free(in->k3s_argv);
        strv_free(in->k3s_env);
        for (size_t c = 0; c < _CONTROLPLANE_MAX; c++)
                proc_done(&in->cp[c]);
        free(in->notify_env);
        free(in->containerd_root);
        free(in->containerd_state);
        free(in->containerd_address);
        free(in->containerd_config);
        free(in->containerd_opt);
        free(in->kubelet_dir);
        free(in->crun);
        free(in->runc);
        free(in->static_pod_dir);
        free(in->kubelet_bin);
        free(in->kube_proxy_bin);
        free(in->flannel_bin);
}

int kubelet_init_main(int argc, char **argv) {
        struct init in = {
                .pod_cidr = USERNODE_POD_CIDR, .mtu = UP_MTU, .stage_fd = -1, .notify_fd = -1, .signal_fd = -1,
                .request_fd = -1, .overlay_watch_fd = -1,
                .containerd = PROC_NULL, .kubelet = PROC_NULL, .kube_proxy = PROC_NULL,
                .flannel = PROC_NULL, .k3s = PROC_NULL, .kubelet_port = UP_KUBELET_PORT, .pod_pids_limit = UP_POD_PIDS_LIMIT_DEFAULT,
                .sandbox_image = UP_SANDBOX_IMAGE,
        };
        int r;

        for (size_t c = 0; c < _CONTROLPLANE_MAX; c++)
                in.cp[c] = PROC_NULL;
        for (size_t w = 0; w < INIT_WORKERS_MAX; w++)
                in.workers[w].proc = PROC_NULL;
        if (parse_args(&in, argc, argv) < 0)
                return 2;
        if (in.n_workers > 0 && readlink("/proc/self/exe", in.self, sizeof in.self - 1) < 0) {
                fprintf(stderr, "usernode __node-init: cannot tell where this binary is: %s\n", strerror(errno));
                return 1;
        }
        /* Every daemon of the node is a Go program whose heap grows to twice what it holds before it collects
         * (GOGC=100). Half that saves ~40 MiB of the cluster's memory; only the API server's start pays for it
         * (collecting its start's garbage that often took ~0.45 s from every start here), so it alone keeps
         * Go's default (controlplane.c; tests/bench/cluster.sh). A GOGC of the user's own is kept for all. */
        in.gogc_own = getenv("GOGC") != NULL;
        (void) setenv("GOGC", "50", 0);
        take_stage_fd(&in);
        if (open_signal_fd(&in) < 0)
                return 1;
        r = init_run(&in);
        if (r >= 0)
                r = init_idle(&in);
        init_shutdown(&in);
        init_done(&in);
        return r < 0 ? 1 : 0;
}
