/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `up` from the user's side: takes the node's lock, joins a cluster first when asked, has the node
 * supervised (by a user unit, a supervisor forked here, or this process with --foreground) and relays
 * its stages, held back until the checks that run beside the start have passed. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "process.h"
#include "rm-rf.h"
#include "up.h"
#include "util.h"

#define STOP_BOUND_MS 10000

/* One progress line for the user; into held[] (stdout's, stderr's) while the checks still run. */
static void progress_line(struct buf *held, FILE *out, const struct up_options *o, const char *line, uint64_t t0) {
        unsigned ms = (unsigned) ((now_usec() - t0) / 1000u);
        const char *kind_end = strchr(line, ' '), *text;
        bool stage = startswith(line, "stage "), mark = startswith(line, "mark ");
        FILE *f = (stage || mark) && !o->json ? out : stderr;
        char msg[STAGE_LINE_MAX + 128];

        if (!kind_end || !(text = strchr(kind_end + 1, ' ')))
                return;
        text++;
        if (stage)
                snprintf(msg, sizeof msg, "usernode: %-10s ready after %u ms\n", text, ms);
        else if (mark)
                snprintf(msg, sizeof msg, "usernode: %s after %u ms\n", text, ms);
        else if (startswith(line, "warn "))
                snprintf(msg, sizeof msg, "usernode: warning: %s\n", text);
        else if (startswith(line, "degraded "))
                snprintf(msg, sizeof msg, "usernode: node degraded after %u ms: %s\n", ms, text);
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

char *node_up_last_error(const struct node *n) {
        _cleanup_free_ char *path = node_runtime_path(n, "node.log");

        return path ? log_last_match(path, node_log_error, 300) : NULL;
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

static void progress_refused(int fd, const struct up_options *o, const struct preflight *pf) {
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

/* The checks are done; read_r < 0: their output could not be read, which refuses too. On a refusal a
 * waiting `up` is told, the supervisor is stopped and the progress held back is dropped (-ECANCELED);
 * otherwise the node gets the labels and the user that progress. */
static int up_checks_decided(struct node_up *u, int read_r) {
        if (read_r < 0 || (u->pf && preflight_refused(u->pf))) {
                progress_refused(u->progress_fd, u->o, u->pf);
                if (u->stages_fd >= 0)
                        close(u->stages_fd);
                u->stages_fd = -EBADF;
                held_drop(u->held);
                stop_refused(u->n, u->supervisor);
                return -ECANCELED;
        }
        if (u->pf)
                (void) preflight_save_labels(u->pf, u->n);
        held_flush(u->held, u->out);
        return 0;
}

int node_up_begin(struct node_up *u, const struct up_options *o, struct node *n, struct preflight *pf, FILE *out,
                  struct un_error *err) {
        _cleanup_free_ char *purge = NULL;
        int r;

        *u = (struct node_up) {
                .o = o, .n = n, .pf = pf, .out = out, .t0 = now_usec(), .wait_sec = o->wait ? o->wait_sec : 30u,
                .progress_fd = -EBADF, .stages_fd = -EBADF, .reached = _STAGE_MAX,
        };
        r = node_create_and_lock(n, err);
        if (r < 0)
                return r;
        /* Left over from an earlier run of the same name. */
        purge = node_runtime_path(n, "purge");
        if (purge)
                (void) unlink(purge);
        /* Started by a unit for an `up` that waits: its FIFO takes the stages, and a refusal at once
         * (ENXIO: nobody reads). */
        if (o->foreground) {
                _cleanup_free_ char *fifo = node_runtime_path(n, "progress");

                if (fifo) {
                        u->progress_fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
                        (void) unlink(fifo);
                }
        }
        return 0;
}

int node_up_join(struct node_up *u, struct un_error *err) {
        /* k3s server makes its cluster's certificates itself. */
        int r = !u->o->control_plane                   ? node_join_prepare(u->n, u->o, err)
                : u->o->engine == ENGINE_KUBELET        ? node_cluster_prepare(u->n, u->o, err)
                                                        : 0;

        if (r < 0) {
                progress_fail(u->progress_fd, err->msg);
                if (u->n->ephemeral)
                        (void) rm_rf(u->n->runtime_dir);
        }
        return r;
}

int node_up_check(struct node_up *u) {
        if (!u->pf || !(u->o->foreground || userunit_available()))
                return 0;
        return up_checks_decided(u, preflight_finish(u->pf));
}

int node_up_supervise(struct node_up *u) {
        (void) setpgid(0, 0);
        return supervisor_run(u->n, u->o, TAKE_FD(u->progress_fd), u->out, u->t0);
}

/* The unit's `up --foreground` reports its stages into a FIFO that this `up` reads. */
static int up_start_unit(struct node_up *u, struct un_error *err) {
        _cleanup_free_ char *fifo = node_runtime_path(u->n, "progress");

        if (!fifo)
                return un_error(err, ENOMEM, "node %s", u->n->name);
        (void) unlink(fifo);
        if (mkfifo(fifo, 0600) < 0 || (u->stages_fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
                return un_error(err, errno, "cannot create %s", fifo);
        /* The unit takes the node's lock itself. */
        close(u->n->lock_fd);
        u->n->lock_fd = -EBADF;
        return userunit_start(u->n, u->o, err);
}

/* The forked supervisor, in a session of its own (it outlives this `up`), writing to supervisor.log. Its exit
 * status is read by no one. */
static int up_supervisor_child(struct node_up *u, int progress_fd) {
        _cleanup_free_ char *log = node_runtime_path(u->n, "supervisor.log");
        int fd;

        if (u->pf && u->pf->fd >= 0)
                close(u->pf->fd);
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
        return supervisor_run(u->n, u->o, progress_fd, NULL, u->t0) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static int up_fork_supervisor(struct node_up *u, struct un_error *err) {
        int pp[2];
        pid_t pid;

        if (pipe2(pp, O_CLOEXEC) < 0)
                return un_error(err, errno, "pipe");
        fflush(NULL);
        /* Not PROC_DEATHSIG: the supervisor outlives this `up`. */
        pid = proc_fork(NULL, NULL, 0, -1);
        if (pid < 0) {
                close(pp[0]);
                close(pp[1]);
                return un_error(err, -pid, "fork");
        }
        if (pid == 0) {
                close(pp[0]);
                _exit(up_supervisor_child(u, pp[1]));
        }
        close(pp[1]);
        u->stages_fd = pp[0];
        u->supervisor = pid;
        close(u->n->lock_fd);
        u->n->lock_fd = -EBADF;
        return 0;
}

int node_up_start(struct node_up *u, struct un_error *err) {
        return userunit_available() ? up_start_unit(u, err) : up_fork_supervisor(u, err);
}

/* One line from the supervisor: relayed to the user, and what it says about the node kept. */
static void up_take_line(struct node_up *u, const char *line) {
        const char *stage;

        progress_line(u->pf && !u->pf->done ? u->held : NULL, u->out, u->o, line, u->t0);
        if (startswith(line, "error "))
                u->failed = true;
        else if ((stage = startswith(line, "stage ")) && (stage = strchr(stage, ' '))) {
                enum up_stage st;

                if (up_stage_from_string(stage + 1, &st) >= 0)
                        u->reached = st;
        }
}

/* Relays the lines the supervisor wrote since the last call: 0 once it wrote its last, else 1. */
static int up_relay_progress(struct node_up *u) {
        ssize_t k = read(u->stages_fd, u->line + u->line_len, sizeof u->line - 1 - u->line_len);

        if (k < 0 && errno == EINTR)
                return 1;
        if (k <= 0)
                return 0;
        u->line_len += (size_t) k;
        u->line[u->line_len] = '\0';
        for (char *nl; (nl = strchr(u->line, '\n'));) {
                *nl = '\0';
                up_take_line(u, u->line);
                memmove(u->line, nl + 1, u->line_len - (size_t) (nl + 1 - u->line) + 1);
                u->line_len -= (size_t) (nl + 1 - u->line);
        }
        /* A line longer than the buffer is dropped. */
        if (u->line_len == sizeof u->line - 1)
                u->line_len = 0;
        return 1;
}

/* Ready, or without --wait its namespace exists. */
static bool up_node_started(const struct node_up *u) {
        return u->reached == STAGE_READY || (!u->o->wait && u->reached != _STAGE_MAX);
}

/* Nothing more to wait for: the checks are done and the node started or failed. */
static bool up_settled(const struct node_up *u) {
        return (!u->pf || u->pf->done) && (u->failed || up_node_started(u));
}

int node_up_wait(struct node_up *u) {
        uint64_t deadline = u->t0 + (uint64_t) u->wait_sec * 1000000u;

        /* Without --wait, `up` returns once the namespace exists (or the node failed); in both cases
         * only once the checks passed. Progress is held back until then. */
        while (!up_settled(u)) {
                struct pollfd pfd[2] = { { .fd = u->stages_fd, .events = POLLIN }, { .fd = -1, .events = POLLIN } };
                uint64_t now = now_usec();
                int r;

                if (now >= deadline)
                        break;
                if (u->pf && !u->pf->done)
                        pfd[1].fd = u->pf->fd;
                if (poll(pfd, 2, (int) ((deadline - now) / 1000u) + 1) <= 0)
                        continue;
                if (pfd[1].revents) {
                        r = preflight_read(u->pf);
                        if (r != 0 && up_checks_decided(u, r) < 0)
                                return -ECANCELED;
                }
                if (pfd[0].revents && up_relay_progress(u) == 0) {
                        /* The supervisor wrote its last: the checks decide now. */
                        if (u->pf && !u->pf->done)
                                (void) preflight_finish(u->pf);
                        if (up_checks_decided(u, 0) < 0)
                                return -ECANCELED;
                        break;
                }
        }
        if (u->pf && !u->pf->done) {
                (void) preflight_finish(u->pf);
                if (up_checks_decided(u, 0) < 0)
                        return -ECANCELED;
        }
        held_drop(u->held);
        if (u->failed)
                return -EIO;
        return up_node_started(u) ? 0 : -ETIMEDOUT;
}

void node_up_done(struct node_up *u) {
        if (u->progress_fd >= 0)
                close(u->progress_fd);
        if (u->stages_fd >= 0)
                close(u->stages_fd);
        u->progress_fd = u->stages_fd = -EBADF;
        held_drop(u->held);
}
