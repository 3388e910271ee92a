/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "error.h"
#include "macro.h"
#include "process.h"
#include "controlplane.h"

/* usernode's init inside the node's namespaces (kubelet engine), shared by its files: main.c runs the
 * sequence, base.c holds what all of them use (the stage line, file writes, binaries), mounts.c mounts,
 * config.c writes the node's files, daemons.c starts and watches containerd, the kubelet and kube-proxy,
 * overlay.c runs flannel's VXLAN to other nodes' pods, images.c imports the user's image archives, controlplane.c runs the cluster a node brings along,
 * ready.c waits for each to be ready. */

/* What the user's side knows of the init: how it is started and what it takes. */

/* main.c: usernode's init inside the namespace (argv[0] is "__node-init"). */
int kubelet_init_main(int argc, char **argv);
/* The environment variable naming the stage pipe's fd in the init (kubelet engine). */
#define UP_STAGE_FD_ENV "USERNODE_STAGE_FD"
/* The kubelet's port, unless `up` publishes it at another. */
#define UP_KUBELET_PORT 10250
/* The pause image of Kubernetes 1.28 (kubeadm's): import it on a host without a registry. */
#define UP_SANDBOX_IMAGE "registry.k8s.io/pause:3.9"
/* The prefix of the labels `up` writes from its checks ("features" in the runtime dir), which the init takes
 * to the Node. */
#define UP_LABEL_PREFIX "usernode.io/"
/* Under the node's data directory: the token a k3s agent joins with (0600; `up` writes it, k3s reads it). */
#define NODE_K3S_TOKEN "k3s-token"
/* Under the node's data directory: a kubelet without a cluster runs the pods whose manifests are here. */
#define NODE_STATIC_PODS "manifests"

/* The files the init renders for containerd, the CNI plugins and the kubelet (config.c, kubeletconfig.c),
 * exposed for golden tests. */
struct kubelet_params {
        const char *root;               /* containerd root (data) */
        const char *state;              /* containerd state (runtime) */
        const char *address;            /* containerd socket */
        const char *snapshotter;        /* overlayfs, fuse-overlayfs, native */
        const char *runtime;            /* crun or runc: the default */
        const char *crun_binary;
        const char *runc_binary;
        bool disable_cgroup;
        const char *cni_bin_dir;
        const char *cni_conf_dir;
        const char *pod_cidr;
        unsigned mtu;
        const char *cgroup_driver;      /* cgroupfs or systemd */
        const char *kubelet_dir;
        const char *opt_dir;
        const char *sandbox_image;      /* the pause image containerd runs pods in */
        const char *cluster_config;     /* the cluster's KubeletConfiguration (YAML), NULL: none */
        const char *client_ca_file;     /* the cluster's CA: who may call the kubelet's API; NULL standalone */
        const char *static_pod_dir;     /* standalone: the static pods' manifests; NULL: none */
        bool without_cluster_dns;       /* the cluster runs no DNS server: drop its clusterDNS */
        bool overlay;                   /* other nodes' pods are reached as they are (flannel, or the bridge to a node's
                                         * workers): the bridge plugin masquerades nothing, the init does (workers.c) */
        int64_t pod_pids_limit;
        uint16_t port;                  /* the kubelet's; 0: its default */
};
int kubelet_render_containerd_config(const struct kubelet_params *p, char **ret, struct un_error *err);
int kubelet_render_cni(const struct kubelet_params *p, char **ret_conflist, char **ret_loopback,
                       struct un_error *err);
/* The cluster's configuration adapted to this node, usernode's settings over it (JSON). */
int kubelet_render_kubelet_config(const struct kubelet_params *p, char **ret, struct un_error *err);

/* What the init's files share. */
#define INIT_CNI_CONF_DIR "/etc/cni/net.d"
#define INIT_CNI_BIN_DIR "/opt/cni/bin"

#define INIT_IMAGES_MAX 32               /* archives imported at a start */

struct init_import {
        struct proc proc;               /* ctr images import, reading the archive */
        char name[256];
};

/* The node's daemons, in the order they are started again (what one needs comes before it). */
enum init_daemon {
        INIT_DAEMON_CONTAINERD,
        INIT_DAEMON_ETCD,
        INIT_DAEMON_APISERVER,
        INIT_DAEMON_CONTROLLER_MANAGER,
        INIT_DAEMON_SCHEDULER,
        INIT_DAEMON_KUBELET,
        INIT_DAEMON_KUBE_PROXY,
        INIT_DAEMON_FLANNEL,
        INIT_DAEMON_K3S,                /* the k3s engine's one daemon (its containerd, kubelet, … inside) */
        _INIT_DAEMON_MAX,
};

/* Deaths within restart.c's interval after which a daemon is not started again (systemd's StartLimitBurst). */
#define INIT_START_LIMIT_BURST 5u

enum init_health_state { INIT_HEALTH_RUNNING, INIT_HEALTH_RESTARTING, INIT_HEALTH_FAILED };

/* A daemon's life since the node was ready (restart.c). */
struct init_health {
        bool tracked;                   /* it ran when the node became ready */
        enum init_health_state state;
        unsigned restarts;
        time_t since;                   /* wall clock of the state's start */
        uint64_t exits[INIT_START_LIMIT_BURST];  /* monotonic µs of its last exits */
        unsigned next_exit;
        uint64_t restart_at;            /* monotonic µs when it is to be started again; 0: not */
        char last_error[256];           /* how it last ended, with its log's last error line */
};

#define INIT_WORKERS_MAX 8u
/* Under the node's data and runtime directories: a directory per worker. In a worker's data directory, what
 * `usernode down --name WORKER` asks for (files): that it be stopped and stay so, that its Node and state go too; in
 * the node's runtime directory, NAME.state: the node's answer ("running", "stopped", "purged", "failed: WHY"). */
#define INIT_WORKERS_DIR "workers"
#define INIT_WORKER_STOPPED "stopped"
#define INIT_WORKER_PURGE "purge"

/* A worker of this node (workers.c): another node of the cluster on this host. */
struct init_worker {
        char name[64];
        char address[INET_ADDRSTRLEN];  /* on the bridge to this node: its kubelet's, its pods' next hop */
        char pod_cidr[48];
        char *data_dir, *runtime_dir;   /* under this node's, workers/NAME */
        struct proc proc;               /* PID 1 of its namespaces, then its init */
        uint64_t started;               /* monotonic µs */
        uint64_t restart_at;            /* monotonic µs when it is to be started again; 0: not */
        bool held;                      /* stopped by `usernode down --name NAME`: not started again */
        bool failed;                    /* died INIT_START_LIMIT_BURST times within 300 s: not started again */
        uint64_t exits[INIT_START_LIMIT_BURST];  /* monotonic µs of its last deaths */
        unsigned next_exit;
};

struct init {
        const char *name, *runtime_dir, *data_dir, *server, *pod_cidr, *resolv_conf, *node_ip, *sandbox_image;
        unsigned mtu;
        uint32_t kubelet_port;
        int64_t pod_pids_limit;
        bool containerd_only;
        bool engine_k3s;                /* --engine k3s: the init runs k3s (k3s.c) instead of the daemons below */
        int stage_fd;
        int notify_fd;
        int signal_fd;
        int request_fd;                 /* SIGUSR1: `usernode down/up --name WORKER` asked something of a worker */
        bool workers_requested;
        char *notify_env;               /* "NOTIFY_SOCKET=...": containerd's and the kubelet's */
        struct proc containerd, kubelet, kube_proxy, flannel, k3s;
        char **k3s_argv, **k3s_env;     /* k3s's command line and environment, kept to start it again */
        unsigned k3s_starts;
        bool control_plane;             /* the node brings its own cluster (controlplane.c) */
        const char *service_cidr;
        const char *apiserver_url;      /* the control plane's API server where other nodes reach it; NULL: none do */
        const char *overlay_address;    /* where other nodes send this one's pod traffic (flannel's public IP); NULL: none */
        bool overlay_guard;             /* the port driver keeps senders' addresses: VXLAN only from the nodes */
        int overlay_watch_fd;           /* netlink: flannel.1's forwarding entries changed */
        bool overlay_changed;
        char **overlay_allowed;         /* the senders the VXLAN port takes now (NULL: none) */
        bool overlay_guard_set;         /* the rules for them are in place */
        bool routed_pod_network;        /* other nodes' pods are routed to without NAT (a worker, or a node with workers) */
        unsigned n_workers;
        const char *workers_cidr;       /* the bridge between this node and its workers ("10.0.3.0/24") */
        struct init_worker workers[INIT_WORKERS_MAX];
        char self[PATH_MAX];            /* this binary, which the workers run as their init */
        const char *images_dir;         /* archives imported at each start (images.c); NULL: none */
        struct init_import imports[INIT_IMAGES_MAX];
        size_t n_imports;
        struct proc cp[_CONTROLPLANE_MAX];
        time_t kubelet_started;         /* wall clock, seconds: Ready conditions older than this are stale */
        bool node_ready_marked;         /* "mark node-ready" sent: this kubelet posted its Node Ready */
        char cni_cidr[48];              /* the pod CIDR the CNI config has, "" before it is written */
        struct kubelet_params params;
        /* What params points to, owned here. */
        char *containerd_root, *containerd_state, *containerd_address, *containerd_config, *containerd_opt,
                *kubelet_dir, *static_pod_dir, *crun, *runc;
        char *kubelet_bin, *kube_proxy_bin, *flannel_bin;      /* as found on PATH at the start; run again from there */
        char tick_error[sizeof ((struct un_error) {}).msg];   /* the last error of init_control_plane_tick, "" none */
        bool gogc_own;                  /* the user's GOGC, kept for every daemon (main.c) */
        bool healing;                   /* the node has been ready: a daemon's death restarts it (restart.c) */
        struct init_health health[_INIT_DAEMON_MAX];
};

/* base.c */
/* One line to the supervisor through the stage pipe ("stage NAME", "pid WHAT N", "error TEXT", "warn TEXT")
 * and to the node's log. */
void init_stage(struct init *in, const char *fmt, ...) _printf_(2, 3);
/* Writes path through a temporary file and rename; no symlink-refusing host layer (see there). */
int init_write_file(const char *path, const char *text, struct un_error *err);
int init_mkdir_p(const char *path);
char *init_find_binary(const char *name);
/* Runs tool (found on PATH) with args, its output to node.log, and waits for it, bounded: 0 when it exited 0. */
int init_run_tool(struct init *in, const char *tool, char *const *args, struct un_error *err);
/* The node's own address in its namespace: the one it sends from by its default route (tap0's with rootlesskit's
 * slirp4netns), what its kubelet takes as its InternalIP, its API server advertises and its VXLAN endpoint sends
 * from. Nothing is sent; without a route (no network yet), loopback. */
void init_node_address(char buf[static INET_ADDRSTRLEN]);

/* mounts.c */
/* /sys/fs/cgroup/unified hidden on a hybrid host, /opt/cni/bin, /var/log: staged errors. */
int init_mount(struct init *in);
/* Whether the node has a cgroup v2 tree of its own with the memory controller for its children. */
bool init_cgroup_delegated(void);
/* "overlayfs", "fuse-overlayfs" or "native": what containerd can use in this user namespace. */
const char *init_probe_snapshotter(struct init *in);
/* Replaces the node's /etc/resolv.conf by the file the host side prepared. */
int init_install_resolv_conf(const char *src);
/* The node's /etc/hosts (the host's with a line added, in RUNTIME/hosts mounted over it) names the node, at
 * 127.0.1.1 as Debian names a host without a fixed address: the kubelet looks its own name up for its address (a
 * loopback answer is none: it takes the default route's), which without the line goes to the host's DNS server,
 * 10 s each time where that server is out of reach, and tells that server the node's name. */
int init_install_hosts(const char *name, const char *runtime_dir);
/* Unmounts every mount at or below dir (deepest first, lazily). */
void init_umount_under(const char *dir);
/* down --purge: unmounts what the node mounted under its directories, then removes them. */
void init_purge(struct init *in);

/* config.c */
/* Fills in->params and writes containerd's config and, when it is known already, the CNI config. */
int init_install_config(struct init *in);
/* The CNI config for pod_cidr (the bridge's file last: containerd watches the directory). */
int init_write_cni(struct init *in, const char *pod_cidr, struct un_error *err);
/* Under a joined node's data directory: its pod CIDR, for its next start (a worker's, from its node before its first). */
#define POD_CIDR_FILE "kubelet/pod-cidr"
/* Keeps a joined node's pod CIDR for its next start. */
void init_pod_cidr_save(struct init *in, const char *cidr);
/* The labels `up` wrote from its checks (one "KEY=VALUE" per line); -ENOENT until it has. */
int init_read_features(struct init *in, char ***ret);

/* controlplane.c */
/* Where the node's kubelet and the control plane's components reach the API server, inside the node. */
#define INIT_CONTROLPLANE_SERVER "https://127.0.0.1:6443"
/* The control plane in three steps, alongside containerd's start and the node's kubelet: etcd and the API server
 * (started while containerd starts); the kubelet's serving certificate, the images (whether the cluster has DNS)
 * and the API server answering (its post-start hooks meanwhile write the cluster's defaults), after which the
 * kubelet starts; then, the API server ready, the controller-manager, the scheduler and kubeadm's cluster
 * objects. */
int init_start_control_plane(struct init *in);
int init_await_apiserver(struct init *in);
int init_finish_control_plane(struct init *in);
/* One component started again with the command line it had (its pid staged). */
int init_restart_control_plane(struct init *in, enum controlplane_component c, struct un_error *err);
/* Until the cluster takes a pod in its default namespace: the controller-manager made its default
 * ServiceAccount (a pod applied before that is refused). */
int init_wait_cluster_usable(struct init *in);

/* What the cluster's nodes wait for from it: a pod CIDR for each Node that has none (the controller-manager's
 * node IPAM does not run), its kubelet-serving certificate request approved or denied (cluster/csr.c). Errors to
 * the log, each new one once. */
void init_control_plane_tick(struct init *in);

/* The i-th /24 of the cluster network (this node's is the 0th): the pod CIDR of a node of this host. */
int init_pod_cidr_nth(const struct init *in, unsigned i, char *buf, size_t size);
/* The cluster's CA and its admin's client certificate and key, PEM: for requests as the cluster's admin. */
int init_admin_credentials(struct init *in, char **ret_ca_pem, char **ret_client);
/* A serving certificate for node's kubelet at address from the cluster's CA in pki, where the kubelet under
 * data_dir finds it (0600). */
int init_kubelet_serving_cert(const char *pki, const char *node, const char *data_dir, const char *address,
                              struct un_error *err);

/* k3s.c */
/* Under the node's runtime directory: the admin's kubeconfig a k3s server writes (0600). */
#define INIT_K3S_KUBECONFIG "k3s-kubeconfig.yaml"
/* Where the init binds the node's k3s data in the node's mount namespace, and k3s sees it: the kubelet's sockets
 * under it (agent/kubelet/pod-resources/NUMBER) must fit in 108 bytes, whatever the user's home. */
#define INIT_K3S_DATA_INSIDE "/var/lib/usernode-k3s"
/* k3s server or agent in the node's namespaces, until its Node is Ready in the API. */
int init_run_k3s(struct init *in);
/* k3s (again) with the command line of its first start; its pid staged. */
int init_start_k3s(struct init *in, struct un_error *err);

/* workers.c */
/* Names, addresses, pod CIDRs and directories of the workers (in->n_workers of them). */
int init_workers_plan(struct init *in);
/* Whether cidr overlaps a worker's pod CIDR. */
bool init_workers_overlap(const struct init *in, const char *cidr);
/* The worker named name, or NULL. */
const struct init_worker *init_worker_find(const struct init *in, const char *name);
/* In this node's namespace: the bridge to the workers, the routes to their pods, forwarding (staged errors). */
int init_workers_network(struct init *in);
/* NAT for the node's pods' traffic out of the cluster network (and a node's workers' out of the node), where no
 * CNI plugin masquerades it since other nodes' pods are routed to as they are. */
int init_masquerade_pods(struct init *in, struct un_error *err);
/* Each worker in namespaces of its own, joined to the cluster here (staged errors). */
int init_workers_start(struct init *in);
/* Until every worker's Node is Ready, giving them their pod CIDRs meanwhile (staged errors). */
int init_workers_wait_ready(struct init *in);
/* A worker that died is started again a second later. */
void init_workers_reap(struct init *in);
bool init_workers_restarting(const struct init *in);
/* What `usernode down/up --name WORKER` asked (its markers in the worker's data directory, WORKER_STOPPED and
 * WORKER_PURGE): a worker stopped and held, purged (its Node deleted, its state removed, held), or started again;
 * the answer in RUNTIME/workers/NAME.state. */
void init_workers_requests(struct init *in);
/* Worker i's pidfd while it runs and is not reaped, else -1: what the idle waits watch. */
int init_worker_pidfd(const struct init *in, unsigned i);
void init_workers_stop(struct init *in);
void init_workers_done(struct init *in);

/* restart.c */
/* An error line of a Go daemon's log (log_last_match's match): klog's "E1207 ..." and "F1207 ...", logrus's
 * level=error and fatal. */
const char *init_error_line(const char *line);
const char *init_daemon_to_string(enum init_daemon d);
struct proc *init_daemon_proc(struct init *in, enum init_daemon d);
/* Its log under the runtime directory (containerd's output goes to the node's own log). */
const char *init_daemon_log(enum init_daemon d);
/* The node is ready: the daemons running now are watched and started again when they exit. */
void init_health_begin(struct init *in);
/* d exited (reaped): schedules its restart after a back-off, or gives it up past the start limit. */
void init_health_exited(struct init *in, enum init_daemon d);
/* timeout_ms (-1: none) shortened to the next restart that is due. */
int init_health_timeout_ms(const struct init *in, int timeout_ms);
/* Starts every daemon whose restart is due and whose dependency runs. */
void init_health_restart_due(struct init *in);

/* daemons.c */
/* Starts d again as it was started first (the control plane's in controlplane.c). */
int init_daemon_start(struct init *in, enum init_daemon d, struct un_error *err);
/* Starts argv with its output appended to RUNTIME/log. */
int init_spawn_logged(struct init *in, const char *log, char **argv, char **env, struct proc *ret, struct un_error *err);
/* Opens the notify socket, starts containerd with its config. */
int init_start_containerd(struct init *in, struct un_error *err);
int init_start_kubelet(struct init *in, const char *kubelet, struct un_error *err);
int init_start_kube_proxy(struct init *in, const char *binary, struct un_error *err);
/* Whether the cluster lets the node's credentials list EndpointSlices; stages a warning when not. */
bool init_kube_proxy_allowed(struct init *in);
/* Waits until child sends READY=1, dies, a signal asks us to stop, or timeout_ms pass (-1: no bound).
 * 0 ready, -ECHILD died, -EINTR stop, -ETIME timeout. */
int init_wait_child_ready(struct init *in, struct proc *child, int timeout_ms);
/* Waits up to timeout_ms for a stop signal or a child's death: -EINTR, -ECHILD (with the error staged), 0.
 * Once the node is healing, a death is not an error: the daemon is started again (restart.c). */
int init_idle_for(struct init *in, int timeout_ms);
int init_exit_code(const struct proc *p);
/* Stages what went wrong with the kubelet, quoting its last error from kubelet.log. */
void init_stage_kubelet_failed(struct init *in, const char *what);

/* overlay.c */
/* A node with other nodes' pods to reach (--overlay-address): flanneld with the node's credentials, until it
 * has its VXLAN device and the routes to the others (its subnet file). */
int init_run_overlay(struct init *in);
/* With overlay_guard: the VXLAN port takes packets only from the nodes flannel knows (its forwarding entries),
 * followed as they change (overlay_changed, set by the idle wait); staged errors. */
int init_overlay_guard_start(struct init *in);
void init_overlay_guard_refresh(struct init *in);
int init_start_flannel(struct init *in, struct un_error *err);

/* images.c */
/* Starts importing every NAME.tar of images_dir into the node's image store (once the CRI answers);
 * what cannot be imported is a staged warning. */
int init_images_start(struct init *in);
/* Waits for the imports started: 0, or -EINTR when a signal asks the init to stop. */
int init_images_wait(struct init *in);

/* ready.c */
/* containerd's CRI answers (its READY=1 comes before its CRI plugin has restored its state). */
int init_wait_cri(struct init *in);
/* A standalone kubelet's healthz says ok. */
int init_wait_healthz(struct init *in);
/* A joined kubelet holds its client certificate; a CSR not approved in time is reported. */
int init_wait_client_cert(struct init *in);
/* A joined node's Node object is Ready, with its pod network and its labels. */
int init_wait_node_ready(struct init *in);
struct node_api;
/* One look at the Node (api opened by node_api_open), for when this kubelet first posts it Ready: "mark
 * node-ready" then, once. For a start that waits for something else meanwhile (the API server ready). */
void init_look_node_ready(struct init *in, const struct node_api *api);
/* The feature labels `up` wrote ("features" in the runtime dir) onto the Node: true when done, or refused, or when
 * FEATURES_WAIT_MS after since (now_usec()) there are none to put. */
bool init_label_node(struct init *in, const struct node_api *api, uint64_t since);
/* The Node's Ready condition to False while its kubelet does not run; errors only go to the log. */
void init_node_not_ready(struct init *in, const char *reason, const char *message, unsigned timeout_ms);
