/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "checks.h"
#include "error.h"
#include "join.h"
#include "net-driver.h"
#include "node.h"
#include "util.h"

/* `up`, `down`, `status`, `exec`: the user's side of usernode (DESIGN.md "up: engines and networking").
 * The verbs (verbs-up.c, verbs-node.c) fill struct up_options and call these; engines plug in through the
 * interface below, network drivers through driver.h's. */

#define UP_WAIT_DEFAULT_SEC 120u

struct up_options {
        enum engine engine;
        const char *name;               /* NULL: "default", or a fresh name with ephemeral */
        bool ephemeral;
        const char *net;                /* "auto", "slirp4netns", "pasta", "lxc-user-nic" */
        enum port_driver port_driver;
        bool wait;
        unsigned wait_sec;
        bool foreground;                /* supervise in this process, never through a user manager */
        struct node_port publish[NODE_PORTS_MAX];
        size_t n_publish;
        const char *server;             /* join this API server ... */
        const char *token;              /* ... with this bootstrap token (never on a command line we make) */
        const char *token_file;         /* ... or the one in this file (0600) */
        const char *ca_cert_hashes[JOIN_PINS_MAX];      /* kubeadm's --discovery-token-ca-cert-hash */
        size_t n_ca_cert_hashes;
        const char *ca_file;            /* the cluster's CA, instead of discovery */
        bool unsafe_skip_ca_verification;
        const char *node_ip;            /* the address the cluster reaches the node at; NULL: picked */
        char node_ip_buf[16];
        uint16_t kubelet_port;          /* published on node_ip; picked by node_join_address */
        bool control_plane;             /* no --server: the node brings its own cluster (cluster.c) */
        uint16_t apiserver_port;        /* its API server on the host at apiserver_address */
        const char *apiserver_address;  /* NULL: 127.0.0.1; another: other nodes can join the cluster */
        const char *overlay_address;    /* the pod network's UDP port published here (overlay.c); NULL: none */
        int64_t pod_pids_limit;         /* kubelet's podPidsLimit; -1: none */
        bool json;
        char **ignore;                  /* check IDs (and patterns) that do not decide readiness */
        bool containerd_only;           /* kubelet engine without a kubelet, allowed by --ignore engine.kubelet */
        bool enable_ipv6;
        const char *self;               /* absolute path of this usernode binary (re-executed as the init) */
        const char *cidr;               /* rootlesskit's slirp4netns network; NULL: picked clear of host routes */
        const char *cluster_cidr;       /* pods */
        const char *service_cidr;       /* services (k3s server) */
        bool dry_run;                   /* print what would run, start nothing */
        const char *config;             /* --config FILE, absolute: a unit reads it again */
        unsigned workers;               /* more nodes of its cluster on this host (control plane only) */
};
/* At most this many workers (the init's bound). */
#define UP_WORKERS_MAX 8u

/* The node's networks, chosen by up_pick_cidrs. */
struct up_cidrs {
        char slirp[48];
        char cluster[48];
        char service[48];
        char workers[48];               /* "" without workers */
};
struct net_host_table;
/* Given CIDRs are taken as they are (parsed strictly); the others get usernode's defaults
 * (netlink.h) unless those collide with t or each other, then the first free /16. */
int up_pick_cidrs_from(const struct net_host_table *t, const struct up_options *o, struct up_cidrs *ret,
                       struct un_error *err);
/* The same against the live host's addresses and routes (netlink). */
int up_pick_cidrs(const struct up_options *o, struct up_cidrs *ret, struct un_error *err);

/* The node's resolv.conf when the host's cannot serve the node: when /etc/resolv.conf names only
 * loopback nameservers (a stub such as 127.0.0.53), the upstreams from systemd-resolved's
 * /run/systemd/resolve/resolv.conf with the host's search line. *ret NULL: the host's is fine.
 * -ENOENT: neither names a nameserver reachable from the node. */
int up_node_resolv_conf(const struct host *h, char **ret);
/* Writes the node's resolv.conf (up_node_resolv_conf) to its runtime dir; *ret_path NULL when the
 * host's serves. Not written with dry_run (the path is still returned). */
int node_resolv_conf_file(const struct node *n, const struct up_options *o, char **ret_path, struct un_error *err);


/* cgroup.c: the node's own cgroup on a cgroup v2 host with delegation. */
#define NODE_CGROUP_EVACUATE "init"     /* rootlesskit --evacuate-cgroup2: the leaf its processes go to */
struct node_cgroup {
        char *path;                     /* below /sys/fs/cgroup; NULL: the node runs without cgroups */
        char *origin;                   /* the supervisor's cgroup before, when path was made for the node */
};
/* Moves this process (the supervisor, before it starts rootlesskit) into a cgroup of the node's own:
 * 1 with ret->path set; 0 when the host has no cgroup v2 at /sys/fs/cgroup; -errno with err saying
 * why the node gets none (nothing delegated). */
int node_cgroup_prepare(const char *name, struct node_cgroup *ret, struct un_error *err);
/* Once the node's processes are gone: removes the cgroup made for it (back to origin first). */
void node_cgroup_release(struct node_cgroup *c);

/* An engine: what the supervisor starts, and what it does once the node is ready. */
struct node_engine {
        enum engine id;
        const char *name;
        /* The top-level command the supervisor starts (argv), and environment to add ("K=V"). */
        int (*command)(const struct node *n, const struct up_options *o, char ***ret_argv, char ***ret_env,
                       struct un_error *err);
        /* Called once the engine reported ready: kubeconfig copies and the like; fills s. */
        int (*ready)(const struct node *n, const struct up_options *o, struct node_status *s, struct un_error *err);
};
/* engine-init.c: the command of both engines, rootlesskit and usernode's init in it (`__node-init --engine E`). */
int node_init_command(const struct node *n, const struct up_options *o, char ***ret_argv, char ***ret_env,
                      struct un_error *err);

const struct node_engine *node_engine_get(enum engine e);
extern const struct node_engine engine_kubelet;
extern const struct node_engine engine_k3s;

/* upconfig.c: config.yaml's keys are the long options of `up`. */
#define UP_CONFIG_SYSTEM "/etc/usernode/config.yaml"
struct config;
struct config_key;
extern const struct config_key *const up_config_keys_ptr;
extern const size_t up_config_n_keys;
/* The system's file, the user's ($XDG_CONFIG_HOME or ~/.config), then extra (must exist). */
int up_config_load(const struct host *h, const char *extra, struct config *cfg, struct un_error *err);
/* Sets o's fields from cfg for node (NULL: top level only); strings point into cfg. A bad value
 * is -EINVAL with file:line:column. */
int up_config_apply(const struct config *cfg, const char *node, struct up_options *o, bool *ret_engine_set,
                    struct un_error *err);
/* An https:// URL, or HOST:PORT as `kubeadm join` takes it. */
bool up_server_valid(const char *s);
/* The URL of a valid server: https:// added to HOST:PORT. */
char *up_server_url(const char *s);
/* "sha256:" and 64 hex digits: 0, else -EINVAL. */
int up_ca_cert_hash_valid(const char *s);
bool up_node_ip_valid(const char *s);
bool up_ignore_id_valid(const char *s);
/* NULL or "true": wait with the default; "false"; or seconds 1-86400. */
int up_wait_parse(const char *s, bool *ret_wait, unsigned *ret_sec);
/* Usage errors of --net and --port-driver together, known before anything runs: -EINVAL, err says why. */
int net_options_check(const struct up_options *o, struct un_error *err);

/* The readiness stages, in order; --wait prints one line per stage. */
enum up_stage {
        STAGE_NAMESPACE,
        STAGE_NETWORK,
        STAGE_CONTAINERD,
        STAGE_ENGINE,
        STAGE_READY,
        _STAGE_MAX,
};
const char *up_stage_to_string(enum up_stage s);
int up_stage_from_string(const char *s, enum up_stage *ret);

/* The fd the stage pipe gets in the rootlesskit command: high, so rootlesskit's own fds never clobber it. */
#define UP_STAGE_FD 50
/* A progress line from the supervisor to `up`, at most (longer ones are cut). */
#define STAGE_LINE_MAX 1024

/* preflight.c: the checks of `up`, run in a child beside the node's start. */
struct preflight {
        pid_t pid;
        int fd, pidfd;
        struct buf out;
        bool done;
        int result;                     /* once done: 0, -EINVAL (usage), or another -errno */
        char *error;
        char **failed;                  /* failing check IDs not ignored */
        char **labels;                  /* "usernode.io/FEATURE=STATUS" */
};
int preflight_start(const struct up_options *o, struct preflight *p, struct un_error *err);
/* Reads what is there: 1 once done, 0 when more is to come, -errno. */
int preflight_read(struct preflight *p);
/* Reads until done: 1, or -errno. */
int preflight_finish(struct preflight *p);
/* Once done: the node may not run (the checks could not run, or one that decides failed). */
bool preflight_refused(const struct preflight *p);
/* Writes the labels to the node's runtime dir ("features"), where its init takes them to the Node. */
int preflight_save_labels(const struct preflight *p, const struct node *n);
void preflight_done(struct preflight *p);

/* supervisor.c: supervises the node in this process until it stops: 0 when it was stopped (asked to, or after
 * its init reported an error), 1 when its engine or network ended on their own or could no longer be watched,
 * -errno when it could not be started. Progress lines go to progress_fd (an `up` that waits), progress in
 * words to human (--foreground); what happened, to the node's status. */
int supervisor_run(struct node *n, const struct up_options *o, int progress_fd, FILE *human, uint64_t t0);

/* start.c: `up` from the user's side, in steps that the verb takes in order: each failing one returns
 * -errno (err says why, where it takes one), and the verb picks the exit code by the step. */
struct node_up {
        const struct up_options *o;
        struct node *n;
        struct preflight *pf;           /* the checks, run beside the start; NULL: none */
        FILE *out;                      /* the stages; warnings and errors go to stderr */
        uint64_t t0;
        unsigned wait_sec;              /* node_up_wait's bound: --wait's, else 30 s for the namespace */
        int progress_fd;                /* --foreground in a unit: the FIFO of the `up` that waits */
        int stages_fd;                  /* the supervisor's progress lines */
        pid_t supervisor;               /* forked by this `up`; 0 when a unit runs it */
        enum up_stage reached;          /* the last stage reported; _STAGE_MAX: none */
        bool failed;                    /* the node reported an error */
        struct buf held[2];             /* progress for out and for stderr, held back while the checks run */
        char line[STAGE_LINE_MAX + 64];
        size_t line_len;
};
/* Takes the node's lock (-EBUSY: it runs). */
int node_up_begin(struct node_up *u, const struct up_options *o, struct node *n, struct preflight *pf, FILE *out,
                  struct un_error *err);
/* Joining (--server): the cluster proves itself and takes the token before anything starts. On a failure
 * (-EINVAL: bad options) a waiting `up` is told, and an ephemeral node leaves nothing. */
int node_up_join(struct node_up *u, struct un_error *err);
/* Under a user manager or in the foreground the checks decide before anything starts: -ECANCELED when they
 * refuse (u->pf says why). */
int node_up_check(struct node_up *u);
/* --foreground: supervisor_run in this process. */
int node_up_supervise(struct node_up *u);
/* Has the node supervised: by a user unit when a user manager runs, else by a supervisor forked here. */
int node_up_start(struct node_up *u, struct un_error *err);
/* Relays the stages until the node is ready (without --wait: its namespace exists) and the checks passed: 0.
 * -ECANCELED: the checks refused (the node is stopped; u->pf says why). -EIO: the node failed (said on the
 * way). -ETIMEDOUT: not ready within u->wait_sec, or the supervisor ended without a word; u->reached is the
 * last stage. */
int node_up_wait(struct node_up *u);
void node_up_done(struct node_up *u);
/* The last error line of the node's log: for a timeout that would otherwise say only which stage did not come. */
char *node_up_last_error(const struct node *n);

/* down.c: stops the node in order; with purge removes all of its state. */
int node_down(const char *name, bool purge, FILE *out, struct un_error *err);

/* worker.c: a worker of a node of this host (`up --workers`) by its name. */
/* 1 with *ret_parent the node that runs worker name (NODE-workerN, its directory there), 0 when name is none. */
int node_worker_of(const char *name, struct node *ret_parent, struct un_error *err);
/* Stops the worker and keeps it stopped (its Node NotReady at once); with purge its Node and state go too. */
int node_worker_down(struct node *parent, const char *name, bool purge, FILE *out, struct un_error *err);
/* Starts a stopped worker again; with wait_sec, until its Node is Ready. */
int node_worker_up(struct node *parent, const char *name, unsigned wait_sec, FILE *out, struct un_error *err);
/* status-live.c: the status object with liveness checked against the processes. */
int node_status_get(const char *name, struct node_status *ret, struct un_error *err);
/* exec.c: runs argv inside the node's namespaces and waits for it: *ret_status is its exit status (128 +
 * signal when killed), 127 when it could not run (err says why, although 0 is returned). */
int node_exec(const char *name, char **argv, int *ret_status, struct un_error *err);
/* purge.c: removes the node's directories, files of sub-IDs included, from a fresh user namespace with
 * the node's ID map. */
int node_purge_files(const struct node *n, struct un_error *err);

/* join.c */
/* Joining (--server, kubelet engine): discovery and the bootstrap kubeconfig, before anything starts.
 * Without a token, a node that joined before is started as it is. */
int node_join_prepare(const struct node *n, const struct up_options *o, struct un_error *err);
/* A joined node's cluster pod network as its cluster says (kubeadm-config, read at the join): 1 with buf, 0 when
 * the user gave --cluster-cidr or the cluster said nothing. */
int node_join_pod_network(const struct node *n, const struct up_options *o, char buf[static 48]);
/* The node's address (--node-ip, else this host's source address towards the server) and the port the
 * kubelet is published at there (10250 unless taken). */
int node_join_address(struct up_options *o, struct un_error *err);
struct host;
/* The CA and the kubelet's bootstrap kubeconfig (the token, 0600) under the node's data directory: what a
 * kubelet needs to join, from kubeadm's discovery or from the cluster the node brings along. */
int node_join_write_bootstrap(const struct host *h, const struct node *n, const char *server, const char *ca_pem,
                              const char *token, struct un_error *err);

/* cluster.c: the cluster a kubelet node brings along. Wanted for the kubelet engine without --server
 * when kube-apiserver, kube-controller-manager, kube-scheduler and etcd are on PATH (check reports the same
 * from engine.c's table); sets o->control_plane and the host port of the API server (6443 on 127.0.0.1
 * unless taken). */
int node_cluster_address(struct up_options *o, struct un_error *err);
/* overlay.c: a node in a cluster with other hosts' nodes (joined, or joinable) runs flannel's VXLAN when
 * flanneld is on PATH: sets o->overlay_address to where its UDP port is published (after the two above). */
int node_overlay_address(struct up_options *o, struct un_error *err);
/* join-line.c: the line another host runs to join the cluster node s brought along, with a fresh bootstrap token
 * valid for ttl_sec (in token_file, 0600, when given; else on the line). */
int node_join_line(const struct node_status *s, unsigned ttl_sec, const char *token_file, char **ret_line,
                   struct un_error *err);
/* Where the API server of the cluster the node brings along is reached from the host: --apiserver-address, else
 * 127.0.0.1. */
const char *up_apiserver_address(const struct up_options *o);
/* Whether other nodes can join that cluster: its API server published on an address others reach. */
bool up_cluster_joinable(const struct up_options *o);
/* Before the node starts: its PKI, the components' kubeconfigs, the admin's kubeconfig
 * (~/.kube/usernode-NAME.yaml), the kubelet's CA, bootstrap token and settings. */
int node_cluster_prepare(const struct node *n, const struct up_options *o, struct un_error *err);
/* Whether the node brought its own cluster (its PKI is in its data). */
bool node_brought_cluster(const struct node *n);

/* userunit.c */
/* Whether a systemd user manager runs for this user (its private socket answers on the user bus). */
bool userunit_available(void);
int userunit_render(const struct node *n, const struct up_options *o, char **ret, struct un_error *err);
/* Writes the unit to $XDG_RUNTIME_DIR/systemd/user and starts it over sd-bus. */
int userunit_start(const struct node *n, const struct up_options *o, struct un_error *err);
/* Stops the node's unit through the user manager (and forgets a failed one): 1 when it did, 0 when the node
 * has no unit or no manager runs. StopUnit returns once the stop is queued: the caller waits for the
 * supervisor. */
int userunit_stop(const struct node *n, struct un_error *err);
/* Removes the node's unit file ($XDG_RUNTIME_DIR/systemd/user/usernode-NAME.service): down --purge. */
int userunit_remove(const struct node *n);
/* The `usernode up --foreground ...` command line the unit runs. */
int up_options_to_argv(const struct up_options *o, const char *name, char ***ret);
