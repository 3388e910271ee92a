/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "error.h"
#include "port.h"

/* A node of one user: its name, where its state lives, its status file and its lock (dirs.c, status.c,
 * status-read.c).
 * Runtime state (sockets, logs, status, rootlesskit and containerd state) lives under
 * $XDG_RUNTIME_DIR/usernode/NAME; data (containerd root, kubelet and k3s data) under
 * ~/.local/share/usernode/nodes/NAME. An ephemeral node keeps both in the runtime directory. */
#define NODE_WARNINGS_MAX 8
#define NODE_WARNING_MAX 1024u          /* bytes of one warning */
#define NODE_STATUS_MAX (64u * 1024u)
#define NODE_STATUS_SCHEMA "usernode.node/v1"
#define NODE_STATUS_STRING_MAX 4096u
#define NODE_DAEMONS_MAX 8

/* A daemon of the node as its init last told (init/restart.c), once the node has been ready. */
struct node_daemon {
        char name[32];
        char state[16];                 /* running, restarting or failed */
        uint32_t restarts;
        char since[32];                 /* RFC 3339 UTC */
        char *last_error;               /* how it last ended; NULL: it never did */
};

/* A step of the node's start and when it came, in ms since started_usec: the init's stages (namespace, network,
 * containerd, engine, api-ready: `up --wait` returns) and its marks (apiserver-ready, node-ready, pods-schedulable). */
#define NODE_STAGES_MAX 12
struct node_stage {
        char name[24];
        int64_t ms;
};

struct node {
        char *name;
        char *runtime_dir;      /* status.json, lock, logs, sockets */
        char *data_dir;         /* persistent data; inside runtime_dir for an ephemeral node */
        bool ephemeral;
        int lock_fd;            /* held (flock LOCK_EX) by the supervisor while the node lives */
        const char *cgroup;     /* the node's own cgroup (set by the supervisor), NULL: none */
};

enum node_state {
        NODE_STARTING,
        NODE_RUNNING,
        NODE_STOPPING,
        NODE_STOPPED,
        NODE_FAILED,
        NODE_DEGRADED,          /* runs, but a daemon of it kept dying and is not started again */
        _NODE_STATE_MAX,
};

/* Processes of a node, as host PIDs (0: not running). */
enum node_pid {
        NODE_PID_SUPERVISOR,
        NODE_PID_ROOTLESSKIT,
        NODE_PID_CHILD,         /* rootlesskit's child: PID 1 of the node's namespaces */
        NODE_PID_INIT,          /* usernode's init inside the namespaces */
        NODE_PID_CONTAINERD,
        NODE_PID_ENGINE,        /* kubelet, or k3s for the k3s engine */
        _NODE_PID_MAX,
};

/* A worker of the node (`up --workers`), as the cluster sees it (asked by `status`, never in status.json). */
#define NODE_WORKERS_MAX 8u
struct node_worker {
        char name[64];
        bool known;                     /* the cluster answered, or it is stopped */
        bool stopped;                   /* by `usernode down --name NAME`: stays so until `up --name NAME` */
        bool ready;
        char *pod_cidr;
        char *message;                  /* why not Ready, or the API's error */
};

struct node_status {
        char *name;
        char *engine;
        enum node_state state;
        char *since;            /* RFC 3339 UTC, when the state was entered */
        int64_t started_usec;   /* CLOCK_REALTIME (µs) when the supervisor began the node's start */
        pid_t pids[_NODE_PID_MAX];
        char *state_dir;
        char *data_dir;
        char *kubeconfig;
        char *containerd_socket;
        char *net;
        char *port_driver;
        char *last_error;
        bool ephemeral;
        /* What the cluster says of a joined node (asked by `status`, never in status.json). */
        bool node_known;                /* the fields below hold an answer */
        bool node_ready;
        char *node_message;             /* why not, or the API's error */
        struct node_port ports[NODE_PORTS_MAX];
        size_t n_ports;
        /* What the node runs without and why (the init's "warn" lines: no kube-proxy, no cluster DNS). */
        char *warnings[NODE_WARNINGS_MAX];
        size_t n_warnings;
        struct node_daemon daemons[NODE_DAEMONS_MAX];
        size_t n_daemons;
        struct node_stage stages[NODE_STAGES_MAX];
        size_t n_stages;
        struct node_worker workers[NODE_WORKERS_MAX];
        size_t n_workers;
};

/* A fresh "ci-" + 8 hex digits of a random UUID (libuuid). */
int node_name_ephemeral(char **ret);

/* Computes the node's directories from the environment (XDG_RUNTIME_DIR, XDG_DATA_HOME, HOME).
 * Creates nothing. */
int node_resolve(const char *name, bool ephemeral, struct node *ret, struct un_error *err);
/* Where the user keeps image archives every kubelet node imports when it starts ($XDG_DATA_HOME/usernode/images,
 * or ~/.local/share/usernode/images); NULL without either variable. */
char *node_images_dir(void);
/* Resolves an existing node: an ephemeral one is recognised by its marker in the runtime dir. */
int node_open(const char *name, struct node *ret, struct un_error *err);
/* Creates the directories (0700, refusing symlinks) and takes the lock; -EBUSY when another
 * process holds it (the node runs). */
int node_create_and_lock(struct node *n, struct un_error *err);
/* A directory of the node's: must be ours and not a symlink; a wider mode than 0700 is narrowed. -EPERM with
 * what to do when another user owns it. */
int node_dir_check(const char *path, struct un_error *err);
/* A pidfd for pid once it is verified to be this node's supervisor: ours (UID), holding the node's lock file
 * open. -EPERM/-ESRCH otherwise: a status.json that names another process is not acted on. */
int node_supervisor_pidfd(const struct node *n, pid_t pid);
/* Whether a supervisor holds the node's lock. */
bool node_is_locked(const struct node *n);
/* A path inside the runtime dir ("status.json", "rootlesskit", ...). NULL on OOM. */
char *node_runtime_path(const struct node *n, const char *name);
char *node_data_path(const struct node *n, const char *name);
/* The stable kubeconfig path of a node: ~/.kube/usernode-NAME.yaml, or the state dir when ephemeral. */
char *node_kubeconfig_path(const struct node *n);
void node_done(struct node *n);

/* status.c, status-read.c: status.json, written by the supervisor, read by status, down and exec. */
const char *node_state_to_string(enum node_state s);
int node_state_from_string(const char *s, enum node_state *ret);
const char *node_pid_to_string(enum node_pid p);
/* A string the status file can hold: valid UTF-8 (the writer keeps it as it is), NODE_STATUS_STRING_MAX bytes
 * at most. */
bool node_status_string_valid(const char *s);

void node_status_init(struct node_status *s);
void node_status_done(struct node_status *s);
int node_status_set_state(struct node_status *s, enum node_state state);
/* Whether the node's processes run (starting, running or degraded). */
bool node_state_alive(enum node_state state);
/* Records what the init says of a daemon ("kubelet", "restarting", 2, a wall-clock second, why or NULL),
 * replacing what it said before; -EINVAL for what the status file could not hold, -E2BIG past NODE_DAEMONS_MAX. */
int node_status_set_daemon(struct node_status *s, const char *name, const char *state, uint32_t restarts,
                           int64_t since_sec, const char *last_error);
/* Records that the start reached name (lower-case letters and '-') ms after started_usec; the first time counts.
 * -EINVAL for another name or a negative time, -E2BIG past NODE_STAGES_MAX. */
int node_status_add_stage(struct node_status *s, const char *name, int64_t ms);
/* Records a warning once (a copy); -E2BIG for one of over NODE_WARNING_MAX bytes or past NODE_WARNINGS_MAX. */
int node_status_add_warning(struct node_status *s, const char *text);
/* The URL of the API server a node that brought its own cluster publishes on the host (https://127.0.0.1:PORT,
 * or the address it was published on);
 * -ENOENT for a node without one. */
int node_status_apiserver(const struct node_status *s, char *buf, size_t size);
/* Writes the status object (JSON, usernode.node/v1) to f. */
void node_status_print_json(FILE *f, const struct node_status *s);
/* Writes status.json atomically. */
int node_status_write(const struct node *n, const struct node_status *s, struct un_error *err);
/* Parses what node_status_print_json writes; bounded and strict (RFC 8259 through json-c, known keys of the
 * right types only, strings of valid UTF-8 up to 4096 bytes): anything else is -EINVAL, or -EFBIG, -E2BIG,
 * -ERANGE for what is too long or too large, -EPROTO for another schema. */
int node_status_parse(const char *text, struct node_status *ret);
int node_status_read(const struct node *n, struct node_status *ret, struct un_error *err);
