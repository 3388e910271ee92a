/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Direct supervision of a node (no systemd user manager, or --foreground): the supervisor runs in
 * its own process group, starts the engine's command, learns each stage through a pipe (kubelet
 * engine: usernode's init inside rootlesskit) or sd_notify (k3s), and then sleeps in poll() on
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

#include "process.h"
#include "up.h"
#include "util.h"

#define STOP_BOUND_MS 10000
#define STAGE_LINE_MAX 1024

extern char **environ;

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
        int notify_fd;                  /* sd_notify from k3s */
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

/* Publishes the ports asked for with --publish through rootlesskit's API socket. */
static int sv_publish(struct supervisor *s) {
        _cleanup_free_ char *api = xstrdup_printf("%s/api.sock", s->rk_state_dir);

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
                struct host h = { .root_fd = -EBADF };

                snprintf(path, sizeof path, "/proc/%d/%s", (int) child, maps[i]);
                if (!dst || proc_read_small(path, text, sizeof text) < 0 || host_init(&h, "/", NULL) < 0)
                        continue;
                (void) host_write_runtime(&h, dst, text, strlen(text), 0600, NULL);
                host_done(&h);
        }
}

/* rootlesskit writes child_pid a moment after the child runs: until then, find its child that lives
 * in another PID namespace (slirp4netns, its other child, does not). */
static pid_t child_in_new_pidns(pid_t rk) {
        char path[64], mine[64], text[1024], *cursor, *word;
        ssize_t n = readlink("/proc/self/ns/pid", mine, sizeof mine - 1);

        if (n <= 0)
                return 0;
        mine[n] = '\0';
        snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int) rk, (int) rk);
        if (proc_read_small(path, text, sizeof text) < 0)
                return 0;
        cursor = text;
        while ((word = strsep(&cursor, " \n"))) {
                char ns[64];
                uint32_t pid;

                if (parse_u32(word, &pid) < 0)
                        continue;
                snprintf(path, sizeof path, "/proc/%u/ns/pid", pid);
                n = readlink(path, ns, sizeof ns - 1);
                if (n > 0 && (ns[n] = '\0', strcmp(ns, mine) != 0))
                        return (pid_t) pid;
        }
        return 0;
}

/* rootlesskit does not notice when slirp4netns dies, the node just loses its network: watch it. rootlesskit is
 * a Go program: the thread that forked it, whose children file lists it, is any of its threads. */
static bool top_runs_slirp4netns(const struct supervisor *s) {
        char path[64], cmdline[4096];
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;

        snprintf(path, sizeof path, "/proc/%d/cmdline", (int) s->top.pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        n = read(fd, cmdline, sizeof cmdline - 1);
        if (n <= 0)
                return false;
        cmdline[n] = '\0';
        for (char *p = cmdline; p < cmdline + n; p += strlen(p) + 1)
                if (strcmp(p, "--net=slirp4netns") == 0)
                        return true;
        return false;
}

/* Returns -ESRCH when rootlesskit was to run slirp4netns and it is gone already (killed before we looked). */
static int sv_watch_net_helper(struct supervisor *s) {
        char path[96], text[1024], comm[32], *cursor, *word;
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        if (s->net_pidfd >= 0 || s->top.pid <= 0)
                return 0;
        snprintf(path, sizeof path, "/proc/%d/task", (int) s->top.pid);
        d = opendir(path);
        if (!d)
                return 0;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof path, "/proc/%d/task/%.20s/children", (int) s->top.pid, de->d_name);
                if (proc_read_small(path, text, sizeof text) < 0)
                        continue;
                cursor = text;
                while ((word = strsep(&cursor, " \n"))) {
                        uint32_t pid;

                        if (parse_u32(word, &pid) < 0)
                                continue;
                        snprintf(path, sizeof path, "/proc/%u/comm", pid);
                        if (proc_read_small(path, comm, sizeof comm) < 0)
                                continue;
                        comm[strcspn(comm, "\n")] = '\0';
                        if (strcmp(comm, "slirp4netns") != 0 && strcmp(comm, "pasta") != 0)
                                continue;
                        s->net_pidfd = pidfd_open_pid((pid_t) pid);
                        if (s->net_pidfd >= 0)
                                snprintf(s->net_helper, sizeof s->net_helper, "%s", comm);
                        return 0;
                }
        }
        if (!top_runs_slirp4netns(s))
                return 0;
        /* When rootlesskit itself is failing (slirp4netns goes with it), that is the failure to report. */
        {
                struct pollfd top = { .fd = s->top.pidfd, .events = POLLIN };

                return poll(&top, 1, 200) > 0 ? 0 : -ESRCH;
        }
}

static void sv_find_child(struct supervisor *s) {
        pid_t child;

        if (!s->engine->has_init || s->status.pids[NODE_PID_CHILD] > 0)
                return;
        if (rootlesskit_child_pid(s->rk_state_dir, &child) >= 0 || (child = child_in_new_pidns(s->top.pid)) > 0) {
                s->status.pids[NODE_PID_CHILD] = child;
                sv_keep_id_map(s, child);
        }
}

static int sv_stage(struct supervisor *s, enum up_stage st) {
        sv_find_child(s);
        if (st == STAGE_NETWORK && s->engine->has_init && sv_watch_net_helper(s) < 0) {
                char msg[512];

                snprintf(msg, sizeof msg, "slirp4netns (the node's network) is not running; see %s/node.log",
                         s->node->runtime_dir);
                sv_fail(s, msg);
                return -EIO;
        }
        if (st == STAGE_NETWORK && s->engine->has_init && sv_publish(s) < 0)
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

/* One line from the init: "stage NAME", "pid NAME NSPID", "warn TEXT" or "error TEXT". */
static int sv_line(struct supervisor *s, char *line) {
        const char *arg;

        if ((arg = startswith(line, "stage "))) {
                enum up_stage st;

                if (up_stage_from_string(arg, &st) < 0)
                        return 0;
                return sv_stage(s, st);
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
        if ((arg = startswith(line, "warn "))) {
                sv_progress(s, "warn", arg);
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
                if (s->engine->has_init && init > 0)
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

/* rootlesskit's errors: "[rootlesskit:parent] error: failed to setup network ...". */
static const char *rootlesskit_parent_error(const char *line) {
        const char *e = startswith(line, "[rootlesskit:parent]") ? strstr(line, "] error: ") : NULL;

        return e ? e + 9 : NULL;
}

static const char *rootlesskit_any_error(const char *line) {
        const char *e = startswith(line, "[rootlesskit:") ? strstr(line, "] error: ") : NULL;

        return e ? e + 9 : NULL;
}

/* rootlesskit's own last word in node.log. The parent's error says what failed; its child, left without a parent,
 * only says that it is gone ("parsing message from fd 3: EOF"): the parent's wins when there is one. */
static char *rootlesskit_last_error(const struct supervisor *s) {
        _cleanup_free_ char *path = node_runtime_path(s->node, "node.log");
        char *found;

        if (!path)
                return NULL;
        found = node_log_last_match(path, rootlesskit_parent_error, 400);
        return found ? found : node_log_last_match(path, rootlesskit_any_error, 400);
}

static int sv_loop(struct supervisor *s) {
        bool stopping = false;

        for (;;) {
                struct pollfd pf[5];
                nfds_t k = 0;
                int stage_i = -1, notify_i = -1, net_i = -1, r;

                pf[k++] = (struct pollfd) { .fd = s->signal_fd, .events = POLLIN };
                pf[k++] = (struct pollfd) { .fd = s->top.pidfd, .events = POLLIN };
                if (s->stage_fd >= 0) {
                        stage_i = (int) k;
                        pf[k++] = (struct pollfd) { .fd = s->stage_fd, .events = POLLIN };
                }
                if (s->notify_fd >= 0) {
                        notify_i = (int) k;
                        pf[k++] = (struct pollfd) { .fd = s->notify_fd, .events = POLLIN };
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
                if (notify_i >= 0 && pf[notify_i].revents) {
                        if (notify_socket_read_ready(s->notify_fd) == 1 && s->reached != STAGE_READY && !stopping)
                                if (sv_stage(s, STAGE_READY) < 0)
                                        stopping = true;
                }
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
                        _cleanup_free_ char *why = s->engine->has_init ? rootlesskit_last_error(s) : NULL;
                        char msg[1024];

                        (void) proc_try_reap(&s->top);
                        snprintf(msg, sizeof msg, "%s exited with status %d%s%s; see %s/node.log",
                                 s->engine->has_init ? "rootlesskit" : s->engine->name,
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
        if (s->engine->has_init) {
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
        if (s->engine->has_init) {
                _cleanup_free_ char *fd_env = xstrdup_printf("%s=%d", UP_STAGE_FD_ENV, UP_STAGE_FD);

                if (!fd_env || strv_push(&env, fd_env) < 0)
                        return un_error(err, ENOMEM, "supervisor");
                if (pipe2(pipefd, O_CLOEXEC) < 0)
                        return un_error(err, errno, "pipe");
        } else {
                _cleanup_free_ char *path = node_runtime_path(s->node, "notify.sock"), *ne = NULL;

                if (!path)
                        return un_error(err, ENOMEM, "supervisor");
                s->notify_fd = notify_socket_open(path, err);
                if (s->notify_fd < 0)
                        return s->notify_fd;
                ne = xstrdup_printf("NOTIFY_SOCKET=%s", path);
                if (!ne || strv_push(&env, ne) < 0)
                        return un_error(err, ENOMEM, "supervisor");
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
        s->status.pids[s->engine->has_init ? NODE_PID_ROOTLESSKIT : NODE_PID_ENGINE] = s->top.pid;
        sv_save(s);
        if (!s->engine->has_init)
                (void) sv_stage(s, STAGE_ENGINE);
        return 0;
}

/* Runs the supervisor in this process until the node stops. Returns an exit code. */
static int supervisor_main(struct node *n, const struct up_options *o, int progress_fd, FILE *human,
                           uint64_t t0) {
        struct supervisor s = {
                .node = n, .opts = o, .engine = node_engine_get(o->engine), .top = PROC_NULL,
                .stage_fd = -1, .notify_fd = -1, .signal_fd = -1, .net_pidfd = -1, .progress_fd = progress_fd,
                .human = human, .t0 = t0,
        };
        struct un_error err = {};
        sigset_t mask;
        int r, ret = 3;
        bool purge;

        signal(SIGPIPE, SIG_IGN);
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        s.signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

        s.status.name = strdup(n->name);
        s.status.engine = strdup(s.engine->name);
        s.status.state_dir = strdup(n->runtime_dir);
        s.status.data_dir = strdup(n->data_dir);
        s.status.net = strdup(o->net ? o->net : "auto");
        s.status.port_driver = strdup(port_driver_to_string(o->port_driver));
        s.status.ephemeral = n->ephemeral;
        s.status.started_usec = (int64_t) time(NULL) * 1000000;
        s.status.pids[NODE_PID_SUPERVISOR] = getpid();
        s.status.kubeconfig = o->engine == ENGINE_K3S && !o->server ? node_kubeconfig_path(n) : NULL;
        if (o->engine == ENGINE_KUBELET)
                s.status.containerd_socket = node_runtime_path(n, "containerd/containerd.sock");
        for (size_t i = 0; i < o->n_publish; i++)
                s.status.ports[s.status.n_ports++] = o->publish[i];
        /* A joined kubelet is reached by the API server (logs, exec, port-forward) at the node's address. */
        if (o->engine == ENGINE_KUBELET && o->server && o->node_ip && o->kubelet_port &&
            s.status.n_ports < NODE_PORTS_MAX) {
                struct node_port *p = &s.status.ports[s.status.n_ports++];

                *p = (struct node_port) { .proto = "tcp", .host_port = o->kubelet_port, .node_port = o->kubelet_port,
                                          .id = -1 };
                snprintf(p->host_ip, sizeof p->host_ip, "%s", o->node_ip);
        }
        s.rk_state_dir = node_runtime_path(n, "rootlesskit");
        (void) node_status_set_state(&s.status, NODE_STARTING);
        if (s.signal_fd < 0 || !s.status.name || !s.rk_state_dir) {
                sv_fail(&s, "out of memory or no signalfd");
                goto out;
        }
        sv_save(&s);

        r = sv_start(&s, &err);
        if (r < 0) {
                sv_fail(&s, err.msg);
                goto out;
        }
        r = sv_loop(&s);
        ret = r < 0 ? 1 : 0;
out:
        if (s.top.pid > 0 && !s.top.reaped)
                sv_stop(&s);
        else if (s.top.pid > 0)
                /* rootlesskit died: its child (PID 1 of the node) and slirp4netns are left in its process group. */
                (void) kill(-s.top.pid, SIGKILL);
        /* After the processes: a cgroup with processes in it cannot be removed. */
        n->cgroup = NULL;
        node_cgroup_release(&s.cgroup);
        purge = purge_requested(n);
        if (purge) {
                /* The init removed what sub-IDs own from inside the namespace; what is left is ours. */
                if (access(n->data_dir, F_OK) == 0)
                        (void) node_purge_files(n, NULL);
                (void) node_rm_rf(n->data_dir);
                (void) node_rm_rf(n->runtime_dir);
                /* Started as a user unit: its file goes with the node. */
                if (getenv("USERNODE_UNIT"))
                        (void) userunit_remove(n);
        } else {
                if (s.status.state != NODE_FAILED)
                        (void) node_status_set_state(&s.status, NODE_STOPPED);
                /* The supervisor's own PID stays until it exits: `down` waits for it while the lock is held. */
                for (size_t i = 0; i < _NODE_PID_MAX; i++)
                        if (i != NODE_PID_SUPERVISOR)
                                s.status.pids[i] = 0;
                sv_save(&s);
        }
        if (s.stage_fd >= 0)
                close(s.stage_fd);
        if (s.notify_fd >= 0)
                close(s.notify_fd);
        if (s.progress_fd >= 0)
                close(s.progress_fd);
        if (s.signal_fd >= 0)
                close(s.signal_fd);
        if (s.net_pidfd >= 0)
                close(s.net_pidfd);
        proc_done(&s.top);
        free(s.rk_state_dir);
        node_status_done(&s.status);
        return ret;
}

/* One progress line for the user; into held[] (stdout's, stderr's) while the checks still run. */
static void progress_line(struct buf *held, FILE *out, const struct up_options *o, const char *line, uint64_t t0) {
        unsigned ms = (unsigned) ((now_usec() - t0) / 1000u);
        const char *kind_end = strchr(line, ' '), *text;
        bool stage = startswith(line, "stage ");
        FILE *f = stage && !o->json ? out : stderr;
        char msg[STAGE_LINE_MAX + 128];

        if (!kind_end || !(text = strchr(kind_end + 1, ' ')))
                return;
        text++;
        if (stage)
                snprintf(msg, sizeof msg, "usernode: %-10s ready after %u ms\n", text, ms);
        else if (startswith(line, "warn "))
                snprintf(msg, sizeof msg, "usernode: warning: %s\n", text);
        else
                snprintf(msg, sizeof msg, "usernode: node failed after %u ms: %s\n", ms, text);
        if (held)
                (void) buf_puts(&held[f == out ? 0 : 1], msg);
        else
                fputs(msg, f);
}

static void held_flush(struct buf held[2], FILE *out) {
        if (held[0].len)
                fputs(held[0].data, out);
        if (held[1].len)
                fputs(held[1].data, stderr);
        buf_free(&held[0]);
        buf_free(&held[1]);
}

static void held_drop(struct buf held[2]) {
        buf_free(&held[0]);
        buf_free(&held[1]);
}

/* A line of node.log that reports an error: containerd's "level=error", rootlesskit's "error:", the init's. */
static const char *node_log_error(const char *line) {
        return strstr(line, "level=error") || strstr(line, "] error: ") || startswith(line, "usernode-init: error ")
                       ? line
                       : NULL;
}

/* For a timeout that would otherwise say only which stage did not come. */
static char *node_log_last_error(const struct node *n) {
        _cleanup_free_ char *path = node_runtime_path(n, "node.log");

        return path ? node_log_last_match(path, node_log_error, 300) : NULL;
}

/* Stops a supervisor whose node the checks refused: an ephemeral node leaves nothing behind. */
static void stop_refused(struct node *n, pid_t pid) {
        if (pid <= 0)
                return;
        if (n->ephemeral) {
                _cleanup_free_ char *marker = node_runtime_path(n, "purge");
                _cleanup_close_ int fd = marker ? open(marker, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)
                                                : -EBADF;

                (void) fd;
        }
        (void) kill(pid, SIGTERM);
        if (pid_wait_gone(pid, STOP_BOUND_MS) != 1)
                (void) kill(-pid, SIGKILL);
        (void) waitpid(pid, NULL, 0);
}

/* An `up` that waits for a unit learns why the unit's `up --foreground` gave up: one error line on the FIFO. */
static void progress_fail(int fd, const char *msg) {
        char line[STAGE_LINE_MAX];
        int n;

        if (fd < 0)
                return;
        n = snprintf(line, sizeof line, "error 0 %s", msg);
        for (int i = 0; n > 0 && i < n && i < (int) sizeof line; i++)
                if (line[i] == '\n')
                        line[i] = ' ';
        if (n > 0 && (size_t) n < sizeof line - 1) {
                line[n++] = '\n';
                (void) !write(fd, line, (size_t) n);
        }
}

static void progress_refused(int fd, const struct up_options *o, const struct up_preflight *pf) {
        struct buf b = {};

        if (fd < 0)
                return;
        if (pf->result < 0)
                (void) buf_printf(&b, "%s", strna(pf->error));
        else {
                (void) buf_printf(&b, "this host cannot run the %s engine; failing checks:", engine_to_string(o->engine));
                for (char **i = pf->failed; i && *i; i++)
                        (void) buf_printf(&b, " %s", *i);
                (void) buf_printf(&b, " (see usernode check --engine %s)", engine_to_string(o->engine));
        }
        if (b.data)
                progress_fail(fd, b.data);
        buf_free(&b);
}

int node_up(const struct up_options *o, struct node *n, struct up_preflight *pf, FILE *out, struct un_error *err) {
        _cleanup_close_ int progress_fd = -EBADF;
        uint64_t t0 = now_usec(), deadline;
        int pp[2];
        pid_t pid;
        char buf[STAGE_LINE_MAX + 64];
        size_t len = 0;
        struct buf held[2] = {};        /* progress for out and for stderr while the checks run */
        enum up_stage reached = _STAGE_MAX;
        bool failed = false;
        int r;

        r = node_create_and_lock(n, err);
        if (r < 0)
                return r == -EBUSY ? 1 : 3;
        /* Left over from an earlier run of the same name. */
        {
                _cleanup_free_ char *p = node_runtime_path(n, "purge");

                if (p)
                        (void) unlink(p);
        }
        /* Started by a unit for an `up` that waits: its FIFO takes the stages, and a refusal at once
         * (ENXIO: nobody reads). */
        if (o->foreground) {
                _cleanup_free_ char *fifo = node_runtime_path(n, "progress");

                if (fifo) {
                        progress_fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
                        (void) unlink(fifo);
                }
        }
        /* Joining: the cluster proves itself (and takes the token) before anything starts. */
        r = node_join_prepare(n, o, err);
        if (r < 0) {
                progress_fail(progress_fd, err->msg);
                if (n->ephemeral)
                        (void) node_rm_rf(n->runtime_dir);
                return r == -EINVAL ? 2 : 1;
        }
        /* Under a user manager or in the foreground the checks decide before anything starts. */
        if (pf && (o->foreground || userunit_available())) {
                r = up_preflight_finish(pf);
                if (r < 0 || pf->result < 0 || (pf->failed && pf->failed[0])) {
                        progress_refused(progress_fd, o, pf);
                        return UP_REFUSED;
                }
                (void) up_preflight_save_labels(pf, n);
        }
        if (!o->foreground && userunit_available()) {
                /* The unit's `up --foreground` reports its stages into a FIFO that this `up` reads. */
                _cleanup_free_ char *fifo = node_runtime_path(n, "progress");

                if (!fifo)
                        return un_error(err, ENOMEM, "node %s", n->name), 3;
                (void) unlink(fifo);
                if (mkfifo(fifo, 0600) < 0 || (pp[0] = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
                        return un_error(err, errno, "cannot create %s", fifo), 3;
                /* The unit takes the node's lock itself. */
                close(n->lock_fd);
                n->lock_fd = -EBADF;
                r = userunit_start(n, o, err);
                if (r < 0) {
                        close(pp[0]);
                        return 3;
                }
                pid = 0;
                goto wait_progress;
        }
        if (o->foreground) {
                (void) setpgid(0, 0);
                return supervisor_main(n, o, TAKE_FD(progress_fd), out, t0);
        }
        if (pipe2(pp, O_CLOEXEC) < 0)
                return un_error(err, errno, "pipe"), 3;
        fflush(NULL);
        pid = fork();
        if (pid < 0)
                return un_error(err, errno, "fork"), 3;
        if (pid == 0) {
                _cleanup_free_ char *log = node_runtime_path(n, "supervisor.log");
                int fd;

                close(pp[0]);
                if (pf && pf->fd >= 0)
                        close(pf->fd);
                (void) setsid();
                fd = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (fd >= 0)
                        (void) dup2(fd, 0);
                fd = log ? open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : -1;
                if (fd >= 0) {
                        (void) dup2(fd, 1);
                        (void) dup2(fd, 2);
                }
                (void) chdir("/");
                _exit(supervisor_main(n, o, pp[1], NULL, t0));
        }
        close(pp[1]);
        close(n->lock_fd);
        n->lock_fd = -EBADF;
wait_progress:

        /* Without --wait, `up` returns once the namespace exists (or the node failed); in both cases
         * only once the checks passed. Progress is held back until then. */
        deadline = t0 + (uint64_t) (o->wait ? o->wait_sec : 30u) * 1000000u;
        for (;;) {
                struct pollfd pfd[2] = { { .fd = pp[0], .events = POLLIN }, { .fd = -1, .events = POLLIN } };
                bool checks_done = !pf || pf->done;
                uint64_t now = now_usec();
                ssize_t k;

                if (now >= deadline)
                        break;
                if (!checks_done)
                        pfd[1].fd = pf->fd;
                r = poll(pfd, 2, (int) ((deadline - now) / 1000u) + 1);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        continue;
                if (pfd[1].revents) {
                        r = up_preflight_read(pf);
                        if (r < 0 || (r == 1 && (pf->result < 0 || (pf->failed && pf->failed[0])))) {
                                close(pp[0]);
                                held_drop(held);
                                stop_refused(n, pid);
                                return UP_REFUSED;
                        }
                        if (r == 1) {
                                (void) up_preflight_save_labels(pf, n);
                                held_flush(held, out);
                        }
                }
                if (!pfd[0].revents) {
                        if (pf && pf->done && (failed || reached == STAGE_READY || (!o->wait && reached != _STAGE_MAX)))
                                break;
                        continue;
                }
                k = read(pp[0], buf + len, sizeof buf - 1 - len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        if (pf && !pf->done)
                                (void) up_preflight_finish(pf);
                        if (pf && (pf->result < 0 || (pf->failed && pf->failed[0]))) {
                                close(pp[0]);
                                held_drop(held);
                                stop_refused(n, pid);
                                return UP_REFUSED;
                        }
                        if (pf)
                                (void) up_preflight_save_labels(pf, n);
                        held_flush(held, out);
                        break;
                }
                len += (size_t) k;
                buf[len] = '\0';
                for (char *nl; (nl = strchr(buf, '\n'));) {
                        const char *stage;

                        *nl = '\0';
                        progress_line(pf && !pf->done ? held : NULL, out, o, buf, t0);
                        if (startswith(buf, "error "))
                                failed = true;
                        else if ((stage = startswith(buf, "stage ")) && (stage = strchr(stage, ' '))) {
                                enum up_stage st;

                                if (up_stage_from_string(stage + 1, &st) >= 0)
                                        reached = st;
                        }
                        memmove(buf, nl + 1, len - (size_t) (nl + 1 - buf) + 1);
                        len -= (size_t) (nl + 1 - buf);
                }
                if (len == sizeof buf - 1)
                        len = 0;
                if ((!pf || pf->done) && (failed || reached == STAGE_READY || (!o->wait && reached != _STAGE_MAX)))
                        break;
        }
        if (pf && !pf->done) {
                (void) up_preflight_finish(pf);
                if (pf->result < 0 || (pf->failed && pf->failed[0])) {
                        close(pp[0]);
                        held_drop(held);
                        stop_refused(n, pid);
                        return UP_REFUSED;
                }
                (void) up_preflight_save_labels(pf, n);
                held_flush(held, out);
        }
        held_drop(held);
        close(pp[0]);
        if (failed)
                return 1;
        if (reached == STAGE_READY || (!o->wait && reached != _STAGE_MAX))
                return 0;
        if (reached == _STAGE_MAX || reached + 1 < _STAGE_MAX) {
                _cleanup_free_ char *last = node_log_last_error(n);

                fprintf(stderr,
                        "usernode: node '%s' not ready after %u s: waiting for stage '%s' (last reached: %s)%s%s; see "
                        "%s/node.log and %s/supervisor.log, stop it with: usernode down --name %s --purge\n",
                        n->name, o->wait ? o->wait_sec : 30u,
                        up_stage_to_string(reached == _STAGE_MAX ? STAGE_NAMESPACE : reached + 1),
                        reached == _STAGE_MAX ? "none" : up_stage_to_string(reached), last ? "; its last error: " : "",
                        strempty(last), n->runtime_dir, n->runtime_dir, n->name);
        }
        return 1;
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
