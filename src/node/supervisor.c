/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Direct supervision of a node (no systemd user manager, or --foreground): the supervisor runs in
 * its own process group, starts the engine's command (rootlesskit and usernode's init inside it), learns
 * each stage through a pipe from the init, and then sleeps in poll() on
 * pidfds, the stage pipe and a signalfd until something happens. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "init.h"
#include "netlink.h"
#include "process.h"
#include "rm-rf.h"
#include "rootlesskit.h"
#include "up.h"
#include "util.h"

#define STOP_BOUND_MS 10000

const struct node_engine *node_engine_get(enum engine e) {
        return e == ENGINE_K3S ? &engine_k3s : &engine_kubelet;
}

/* The supervisor's state while the node lives. */
struct supervisor {
        struct node *node;
        const struct up_options *opts;
        const struct node_engine *engine;
        struct node_status status;
        struct proc top;                /* rootlesskit (kubelet) or k3s */
        char *rk_state_dir;
        struct node_cgroup cgroup;      /* the node's own, on a cgroup v2 host with delegation */
        int stage_fd;                   /* read end: lines from the init */
        int signal_fd;
        int net_pidfd;                  /* rootlesskit's network helper (slirp4netns): it dies silently */
        char net_helper[32];
        int progress_fd;                /* to the `up` that waits, -1 once it is gone */
        FILE *human;                    /* --foreground: progress printed here */
        uint64_t t0;
        enum up_stage reached;
        bool have_stage;
        char line[STAGE_LINE_MAX];
        size_t line_len;
};

static void sv_save(struct supervisor *s) {
        (void) node_status_write(s->node, &s->status, NULL);
}

static void sv_progress(struct supervisor *s, const char *kind, const char *text) {
        unsigned ms = (unsigned) ((now_usec() - s->t0) / 1000u);

        if (s->progress_fd >= 0) {
                char buf[STAGE_LINE_MAX + 64];
                int n = snprintf(buf, sizeof buf, "%s %u %s", kind, ms, text);

                /* One line per event: a message quoting a peer's reply may hold newlines. */
                if (n > 0 && (size_t) n >= sizeof buf - 1)
                        n = (int) sizeof buf - 2;
                for (int i = 0; n > 0 && i < n; i++)
                        if (buf[i] == '\n' || buf[i] == '\r')
                                buf[i] = ' ';
                if (n > 0)
                        buf[n++] = '\n';

                if (n > 0 && write(s->progress_fd, buf, (size_t) n < sizeof buf ? (size_t) n : sizeof buf - 1) < 0) {
                        close(s->progress_fd);
                        s->progress_fd = -1;
                }
        }
        if (s->human) {
                fprintf(s->human, "usernode: %s %s (%u ms)\n", kind, text, ms);
                fflush(s->human);
        }
}

static void sv_fail(struct supervisor *s, const char *msg) {
        free(s->status.last_error);
        s->status.last_error = strdup(msg);
        (void) node_status_set_state(&s->status, NODE_FAILED);
        sv_save(s);
        sv_progress(s, "error", msg);
}

/* Publishes the ports asked for with --publish through rootlesskit's API socket. pasta's implicit forwarding
 * publishes every port the node listens on by itself: there is nothing to ask. */
static int sv_publish(struct supervisor *s) {
        _cleanup_free_ char *api = xstrdup_printf("%s/api.sock", s->rk_state_dir);

        if (!port_driver_explicit(s->opts->port_driver))
                return 0;
        if (!api)
                return -ENOMEM;
        for (size_t i = 0; i < s->status.n_ports; i++) {
                struct un_error err = {};

                if (rootlesskit_add_port(api, &s->status.ports[i], &err) < 0) {
                        sv_fail(s, err.msg);
                        return -err.code;
                }
        }
        return 0;
}

/* Keeps the node's ID map so that `down --purge` can re-enter it when the node is gone. */
static void sv_keep_id_map(struct supervisor *s, pid_t child) {
        static const char *const maps[] = { "uid_map", "gid_map" };

        for (size_t i = 0; i < ELEMENTSOF(maps); i++) {
                char path[64], text[4096];
                _cleanup_free_ char *dst = node_runtime_path(s->node, maps[i]);
                const struct host *h = host_live();

                snprintf(path, sizeof path, "/proc/%d/%s", (int) child, maps[i]);
                if (!dst || proc_read_small(path, text, sizeof text) < 0)
                        continue;
                (void) host_write_runtime(h, dst, text, strlen(text), 0600, NULL);
        }
}

/* rootlesskit does not notice when slirp4netns dies, the node just loses its network: watch it. Returns -ESRCH
 * when rootlesskit was to run slirp4netns and it is gone already (killed before we looked). */
static int sv_watch_net_helper(struct supervisor *s) {
        char comm[32];
        pid_t pid;

        if (s->net_pidfd >= 0 || s->top.pid <= 0)
                return 0;
        pid = rootlesskit_find_net_helper(s->top.pid, comm, sizeof comm);
        if (pid < 0)
                return 0;
        if (pid > 0) {
                s->net_pidfd = pidfd_open_pid(pid);
                if (s->net_pidfd >= 0)
                        snprintf(s->net_helper, sizeof s->net_helper, "%s", comm);
                return 0;
        }
        if (!rootlesskit_runs_slirp4netns(s->top.pid))
                return 0;
        /* When rootlesskit itself is failing (slirp4netns goes with it), that is the failure to report. */
        {
                struct pollfd top = { .fd = s->top.pidfd, .events = POLLIN };

                return poll(&top, 1, 200) > 0 ? 0 : -ESRCH;
        }
}

static void sv_find_child(struct supervisor *s) {
        pid_t child;

        if (s->status.pids[NODE_PID_CHILD] > 0)
                return;
        if (rootlesskit_child_pid(s->rk_state_dir, &child) >= 0 || (child = rootlesskit_find_child(s->top.pid)) > 0) {
                s->status.pids[NODE_PID_CHILD] = child;
                sv_keep_id_map(s, child);
        }
}

static int sv_stage(struct supervisor *s, enum up_stage st) {
        sv_find_child(s);
        if (st == STAGE_NETWORK && sv_watch_net_helper(s) < 0) {
                char msg[512];

                snprintf(msg, sizeof msg, "slirp4netns (the node's network) is not running; see %s/node.log",
                         s->node->runtime_dir);
                sv_fail(s, msg);
                return -EIO;
        }
        if (st == STAGE_NETWORK && sv_publish(s) < 0)
                return -EIO;
        if (st == STAGE_READY) {
                struct un_error err = {};

                if (s->engine->ready && s->engine->ready(s->node, s->opts, &s->status, &err) < 0) {
                        sv_fail(s, err.msg);
                        return -EIO;
                }
                (void) node_status_set_state(&s->status, NODE_RUNNING);
        }
        s->reached = st;
        s->have_stage = true;
        sv_save(s);
        sv_progress(s, "stage", up_stage_to_string(st));
        if (st == STAGE_READY && s->progress_fd >= 0) {
                close(s->progress_fd);
                s->progress_fd = -1;
        }
        return 0;
}

/* "NAME STATE RESTARTS SINCE [WHY]" from the init (init/restart.c), into the status. */
static int sv_daemon(struct supervisor *s, const char *arg) {
        char name[32], state[16];
        unsigned restarts;
        long long since;
        int at = 0;

        if (sscanf(arg, "%31s %15s %u %lld%n", name, state, &restarts, &since, &at) != 4)
                return 0;
        arg += at;
        if (*arg == ' ')
                arg++;
        if (node_status_set_daemon(&s->status, name, state, restarts, since, *arg ? arg : NULL) >= 0)
                sv_save(s);
        return 0;
}

/* When the start reached name, in the status: ms since the supervisor began it (up's checks come before). */
static void sv_stage_time(struct supervisor *s, const char *name) {
        int64_t now = realtime_usec();

        if (now >= s->status.started_usec && node_status_add_stage(&s->status, name, (now - s->status.started_usec) / 1000) >= 0)
                sv_save(s);
}

/* One line from the init: "stage NAME", "mark NAME" (a step of the start that changes nothing: the API server
 * ready, the Node Ready, pods schedulable), "pid NAME NSPID", "warn TEXT", "error TEXT", and once the node is
 * ready "daemon NAME STATE RESTARTS SINCE [WHY]" and "degraded TEXT". */
static int sv_line(struct supervisor *s, char *line) {
        const char *arg;

        if ((arg = startswith(line, "stage "))) {
                enum up_stage st;

                if (up_stage_from_string(arg, &st) < 0)
                        return 0;
                /* Its time first: api-ready ends `up --wait`, which reads the status. */
                sv_stage_time(s, arg);
                return sv_stage(s, st);
        }
        if ((arg = startswith(line, "mark "))) {
                sv_stage_time(s, arg);
                sv_progress(s, "mark", arg);
                return 0;
        }
        if ((arg = startswith(line, "pid "))) {
                static const struct {
                        const char *name;
                        enum node_pid id;
                } names[] = { { "init", NODE_PID_INIT }, { "containerd", NODE_PID_CONTAINERD },
                              { "engine", NODE_PID_ENGINE } };
                const char *sp = strchr(arg, ' ');
                uint32_t nspid;

                sv_find_child(s);
                if (!sp || parse_u32(sp + 1, &nspid) < 0 || s->status.pids[NODE_PID_CHILD] <= 0)
                        return 0;
                for (size_t i = 0; i < ELEMENTSOF(names); i++)
                        if (strncmp(arg, names[i].name, (size_t) (sp - arg)) == 0 &&
                            strlen(names[i].name) == (size_t) (sp - arg))
                                s->status.pids[names[i].id] =
                                        pid_from_namespace(s->status.pids[NODE_PID_CHILD], (pid_t) nspid);
                sv_save(s);
                return 0;
        }
        if ((arg = startswith(line, "error "))) {
                sv_fail(s, arg);
                return -EIO;
        }
        if ((arg = startswith(line, "daemon ")))
                return sv_daemon(s, arg);
        if ((arg = startswith(line, "degraded "))) {
                sv_progress(s, "degraded", arg);
                free(s->status.last_error);
                s->status.last_error = strdup(arg);
                (void) node_status_set_state(&s->status, NODE_DEGRADED);
                sv_save(s);
                return 0;
        }
        if ((arg = startswith(line, "warn "))) {
                sv_progress(s, "warn", arg);
                /* `status` says it for as long as the node runs. */
                if (node_status_add_warning(&s->status, arg) >= 0)
                        sv_save(s);
                return 0;
        }
        return 0;
}

static int sv_read_stages(struct supervisor *s) {
        char buf[512];
        ssize_t n = read(s->stage_fd, buf, sizeof buf);

        if (n < 0)
                return errno == EINTR || errno == EAGAIN ? 0 : -errno;
        if (n == 0) {
                close(s->stage_fd);
                s->stage_fd = -1;
                return 0;
        }
        for (ssize_t i = 0; i < n; i++) {
                if (buf[i] != '\n') {
                        if (s->line_len < sizeof s->line - 1)
                                s->line[s->line_len++] = buf[i];
                        continue;
                }
                s->line[s->line_len] = '\0';
                s->line_len = 0;
                if (sv_line(s, s->line) < 0)
                        return -EIO;
        }
        return 0;
}

/* Stops the node in order: the init stops the engine and containerd itself (it has them as
 * children); then rootlesskit ends the namespaces. */
static void sv_stop(struct supervisor *s) {
        pid_t init = s->status.pids[NODE_PID_INIT];

        (void) node_status_set_state(&s->status, NODE_STOPPING);
        sv_save(s);
        if (s->top.pid > 0 && !s->top.reaped) {
                if (init > 0)
                        kill(init, SIGTERM);
                else
                        kill(s->top.pid, SIGTERM);
                if (proc_wait(&s->top, STOP_BOUND_MS) != 1) {
                        if (s->status.pids[NODE_PID_CHILD] > 0)
                                kill(s->status.pids[NODE_PID_CHILD], SIGKILL);
                        kill(s->top.pid, SIGKILL);
                        (void) proc_wait(&s->top, 5000);
                }
        }
        if (s->top.pid > 0)
                (void) kill(-s->top.pid, SIGKILL);
}

static bool purge_requested(const struct node *n) {
        _cleanup_free_ char *p = node_runtime_path(n, "purge");

        return p && access(p, F_OK) == 0;
}

static char *sv_rootlesskit_error(const struct supervisor *s) {
        _cleanup_free_ char *path = node_runtime_path(s->node, "node.log");

        return path ? rootlesskit_last_error(path) : NULL;
}

static int sv_loop(struct supervisor *s) {
        bool stopping = false;

        for (;;) {
                struct pollfd pf[4];
                nfds_t k = 0;
                int stage_i = -1, net_i = -1, r;

                pf[k++] = (struct pollfd) { .fd = s->signal_fd, .events = POLLIN };
                pf[k++] = (struct pollfd) { .fd = s->top.pidfd, .events = POLLIN };
                if (s->stage_fd >= 0) {
                        stage_i = (int) k;
                        pf[k++] = (struct pollfd) { .fd = s->stage_fd, .events = POLLIN };
                }
                if (s->net_pidfd >= 0) {
                        net_i = (int) k;
                        pf[k++] = (struct pollfd) { .fd = s->net_pidfd, .events = POLLIN };
                }
                r = poll(pf, k, -1);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (pf[0].revents) {
                        struct signalfd_siginfo si;

                        if (read(s->signal_fd, &si, sizeof si) == sizeof si)
                                stopping = true;
                }
                if (stage_i >= 0 && pf[stage_i].revents && !stopping && sv_read_stages(s) < 0)
                        stopping = true;
                if (stopping) {
                        sv_stop(s);
                        return 0;
                }
                if (net_i >= 0 && pf[net_i].revents && !(pf[1].revents)) {
                        struct pollfd top = { .fd = s->top.pidfd, .events = POLLIN };
                        char msg[512];

                        /* slirp4netns also ends when rootlesskit dies: then rootlesskit is what failed. */
                        if (poll(&top, 1, 200) > 0)
                                continue;
                        snprintf(msg, sizeof msg, "%s (the node's network) exited; see %s/node.log", s->net_helper,
                                 s->node->runtime_dir);
                        sv_fail(s, msg);
                        sv_stop(s);
                        (void) node_status_set_state(&s->status, NODE_FAILED);
                        return -ECHILD;
                }
                if (pf[1].revents) {
                        _cleanup_free_ char *why = sv_rootlesskit_error(s);
                        char msg[1024];

                        (void) proc_try_reap(&s->top);
                        snprintf(msg, sizeof msg, "rootlesskit exited with status %d%s%s; see %s/node.log",
                                 WIFEXITED(s->top.status) ? WEXITSTATUS(s->top.status) : 128 + WTERMSIG(s->top.status),
                                 why ? ": " : "", strempty(why), s->node->runtime_dir);
                        if (s->status.state != NODE_FAILED)
                                sv_fail(s, msg);
                        return -ECHILD;
                }
        }
}

static int sv_start(struct supervisor *s, struct un_error *err) {
        _cleanup_strv_free_ char **argv = NULL, **env = NULL;
        _cleanup_free_ char *log = node_runtime_path(s->node, "node.log");
        _cleanup_close_ int log_fd = -EBADF;
        int pipefd[2] = { -EBADF, -EBADF }, r;

        if (!log)
                return un_error(err, ENOMEM, "supervisor");
        log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (log_fd < 0)
                return un_error(err, errno, "cannot open %s", log);
        {
                struct un_error cg_err = {};

                /* No delegated cgroup is no failure: the node then runs with cgroups disabled, as on v1. */
                r = node_cgroup_prepare(s->node->name, &s->cgroup, &cg_err);
                if (r < 0)
                        dprintf(log_fd, "usernode: no cgroup of the node's own, containers get no limits: %s\n",
                                cg_err.msg);
                else if (r > 0)
                        dprintf(log_fd, "usernode: the node's cgroup is %s\n", s->cgroup.path);
                s->node->cgroup = s->cgroup.path;
        }
        r = s->engine->command(s->node, s->opts, &argv, &env, err);
        if (r < 0)
                return r;
        {
                _cleanup_free_ char *fd_env = xstrdup_printf("%s=%d", UP_STAGE_FD_ENV, UP_STAGE_FD);

                if (!fd_env || strv_push(&env, fd_env) < 0)
                        return un_error(err, ENOMEM, "supervisor");
                if (pipe2(pipefd, O_CLOEXEC) < 0)
                        return un_error(err, errno, "pipe");
        }
        r = proc_spawn(argv, env, log_fd, pipefd[1], UP_STAGE_FD, &s->top, err);
        if (pipefd[1] >= 0)
                close(pipefd[1]);
        if (r < 0) {
                if (pipefd[0] >= 0)
                        close(pipefd[0]);
                return r;
        }
        s->stage_fd = pipefd[0];
        s->status.pids[NODE_PID_ROOTLESSKIT] = s->top.pid;
        sv_save(s);
        return 0;
}

/* A port the node publishes on host_ip (pasta's implicit forwarding: on every address) beside --publish's. */
static void sv_port_add(struct supervisor *s, const char *proto, const char *host_ip, uint16_t host_port,
                        uint16_t node_port) {
        struct node_port *p;

        if (s->status.n_ports >= NODE_PORTS_MAX)
                return;
        p = &s->status.ports[s->status.n_ports++];
        *p = (struct node_port) { .host_port = host_port, .node_port = node_port, .id = -1 };
        snprintf(p->proto, sizeof p->proto, "%s", proto);
        snprintf(p->host_ip, sizeof p->host_ip, "%s", port_driver_explicit(s->opts->port_driver) ? host_ip : "0.0.0.0");
}

/* The status a starting node begins with: who, how, and the ports it publishes. */
static int sv_status_init(struct supervisor *s) {
        const struct up_options *o = s->opts;
        struct node *n = s->node;

        s->status.name = strdup(n->name);
        s->status.engine = strdup(s->engine->name);
        s->status.state_dir = strdup(n->runtime_dir);
        s->status.data_dir = strdup(n->data_dir);
        s->status.net = strdup(o->net ? o->net : "auto");
        s->status.port_driver = strdup(port_driver_to_string(o->port_driver));
        s->status.ephemeral = n->ephemeral;
        s->status.started_usec = realtime_usec();
        s->status.pids[NODE_PID_SUPERVISOR] = getpid();
        s->status.kubeconfig = o->control_plane ? node_kubeconfig_path(n) : NULL;
        if (o->engine == ENGINE_KUBELET)
                s->status.containerd_socket = node_runtime_path(n, "containerd/containerd.sock");
        for (size_t i = 0; i < o->n_publish; i++)
                s->status.ports[s->status.n_ports++] = o->publish[i];
        /* A joined kubelet is reached by the API server (logs, exec, port-forward) at the node's address. */
        if (o->server && o->node_ip && o->kubelet_port)
                sv_port_add(s, "tcp", o->node_ip, o->kubelet_port, o->kubelet_port);
        /* The API server of the cluster the node brings along, on the host's loopback or --apiserver-address. */
        if (o->control_plane && o->apiserver_port)
                sv_port_add(s, "tcp", up_apiserver_address(o), o->apiserver_port, 6443);
        /* The pod network's VXLAN, reached by the other nodes at this node's address. */
        if (o->overlay_address)
                sv_port_add(s, "udp", o->overlay_address, USERNODE_OVERLAY_PORT, USERNODE_OVERLAY_PORT);
        s->rk_state_dir = node_runtime_path(n, "rootlesskit");
        (void) node_status_set_state(&s->status, NODE_STARTING);
        return s->status.name && s->rk_state_dir ? 0 : -ENOMEM;
}

/* Once the node's processes are gone: its cgroup, and its state (all of it when a purge was asked for). */
static void sv_end(struct supervisor *s) {
        struct node *n = s->node;

        if (s->top.pid > 0 && !s->top.reaped)
                sv_stop(s);
        else if (s->top.pid > 0)
                /* rootlesskit died: its child (PID 1 of the node) and slirp4netns are left in its process group. */
                (void) kill(-s->top.pid, SIGKILL);
        /* After the processes: a cgroup with processes in it cannot be removed. */
        n->cgroup = NULL;
        node_cgroup_release(&s->cgroup);
        if (purge_requested(n)) {
                /* The init removed what sub-IDs own from inside the namespace; what is left is ours. */
                if (access(n->data_dir, F_OK) == 0)
                        (void) node_purge_files(n, NULL);
                (void) rm_rf(n->data_dir);
                (void) rm_rf(n->runtime_dir);
                /* Started as a user unit: its file goes with the node. */
                if (getenv("USERNODE_UNIT"))
                        (void) userunit_remove(n);
        } else {
                if (s->status.state != NODE_FAILED)
                        (void) node_status_set_state(&s->status, NODE_STOPPED);
                /* The supervisor's own PID stays until it exits: `down` waits for it while the lock is held. */
                for (size_t i = 0; i < _NODE_PID_MAX; i++)
                        if (i != NODE_PID_SUPERVISOR)
                                s->status.pids[i] = 0;
                sv_save(s);
        }
}

static void sv_done(struct supervisor *s) {
        if (s->stage_fd >= 0)
                close(s->stage_fd);
        if (s->progress_fd >= 0)
                close(s->progress_fd);
        if (s->signal_fd >= 0)
                close(s->signal_fd);
        if (s->net_pidfd >= 0)
                close(s->net_pidfd);
        proc_done(&s->top);
        free(s->rk_state_dir);
        node_status_done(&s->status);
}

int supervisor_run(struct node *n, const struct up_options *o, int progress_fd, FILE *human, uint64_t t0) {
        struct supervisor s = {
                .node = n, .opts = o, .engine = node_engine_get(o->engine), .top = PROC_NULL,
                .stage_fd = -1, .signal_fd = -1, .net_pidfd = -1, .progress_fd = progress_fd,
                .human = human, .t0 = t0,
        };
        struct un_error err = {};
        int r, k;

        s.signal_fd = stop_signal_fd();
        r = s.signal_fd < 0 ? s.signal_fd : 0;

        k = sv_status_init(&s);
        if (r < 0 || k < 0) {
                sv_fail(&s, "out of memory or no signalfd");
                r = r < 0 ? r : k;
        } else {
                sv_save(&s);
                r = sv_start(&s, &err);
                if (r < 0)
                        sv_fail(&s, err.msg);
                else
                        /* Whatever ended the loop, the node ran: its end, not a failure to start it. */
                        r = sv_loop(&s) < 0 ? 1 : 0;
        }
        sv_end(&s);
        sv_done(&s);
        return r;
}

static const char *const stage_names[_STAGE_MAX] = {
        [STAGE_NAMESPACE] = "namespace", [STAGE_NETWORK] = "network", [STAGE_CONTAINERD] = "containerd",
        [STAGE_ENGINE] = "engine",       [STAGE_READY] = "api-ready",
};

const char *up_stage_to_string(enum up_stage s) {
        return s < _STAGE_MAX ? stage_names[s] : "unknown";
}

int up_stage_from_string(const char *s, enum up_stage *ret) {
        for (size_t i = 0; i < _STAGE_MAX; i++)
                if (strcmp(stage_names[i], s) == 0) {
                        *ret = (enum up_stage) i;
                        return 0;
                }
        return -EINVAL;
}
