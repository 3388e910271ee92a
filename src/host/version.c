/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "process.h"
#include "util.h"
#include "version.h"


/* Output past this is drained and dropped; a child that keeps talking is killed. */
#define VERSION_OUTPUT_DRAIN_MAX (64u * 1024)

/* Who runs the queries when we are root: the user the check is for (their PATH found the binaries), else
 * nobody. Root's own privileges never reach a binary found for someone else. */
static uid_t query_uid = 65534;
static gid_t query_gid = 65534;

void version_query_identity(uid_t uid, gid_t gid) {
        query_uid = uid ? uid : 65534;
        query_gid = gid ? gid : 65534;
}

/* A binary that only root or the user it runs as can have put there: the file and every directory above it
 * owned by one of them, and writable by no one else unless sticky (as /tmp: there only an entry's owner
 * may replace it, and the next component's owner is checked). */
static int path_trusted(const char *path, uid_t as) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *end = p + strlen(p);;) {
                struct stat st;

                *end = '\0';
                if (stat(p[0] ? p : "/", &st) < 0)
                        return -errno;
                if ((st.st_uid != 0 && st.st_uid != as) ||
                    ((st.st_mode & 022) && !(S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX))))
                        return -EPERM;
                if (end == p)
                        return 0;
                end = strrchr(p, '/');
                if (!end)
                        return 0;
        }
}

/* A pseudo-terminal as a pipe would be: p[0] the side we read (the master), p[1] the child's. */
static int terminal_open(int p[2]) {
        char name[64];
        int master, slave;

        master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
                return negative_errno();
        if (grantpt(master) < 0 || unlockpt(master) < 0 || ptsname_r(master, name, sizeof name) != 0 ||
            (slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
                int r = negative_errno();

                close(master);
                return r;
        }
        p[0] = master;
        p[1] = slave;
        return 0;
}

static int spawn_one(struct version_query *q) {
        char *argv[] = { (char *) q->path, (char *) (q->arg ? q->arg : "--version"), NULL };
        /* As root, an environment made for it, never ours: ours is root's, and the user it runs as could read it
         * in /proc/PID/environ while it runs. A user's own query keeps the user's own. */
        char *envp[] = { (char *) "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", (char *) "LANG=C",
                         NULL };
        /* As root, it runs as the user the check is for, with no groups and no capabilities. */
        const struct proc_creds creds = { .uid = query_uid, .gid = query_gid };
        int p[2], r;

        if (geteuid() == 0) {
                r = path_trusted(q->path, query_uid);
                if (r < 0)
                        return r;
        }
        if (q->terminal)
                r = terminal_open(p);
        else
                r = pipe2(p, O_CLOEXEC) < 0 ? negative_errno() : 0;
        if (r < 0)
                return r;
        /* Its own process group, so that a wrapper script's children die with it at the deadline. A version
         * query needs no privilege, and no setuid bit or file capability may add any. */
        r = proc_exec_start(&(struct proc_exec) {
                                    .argv = argv, .envp = geteuid() == 0 ? envp : NULL, .keep_fd = -1,
                                    .stdio = { PROC_STDIO_NULL, p[1], p[1] },
                                    .creds = geteuid() == 0 ? &creds : NULL,
                                    .flags = PROC_NEW_PGRP | PROC_DEATHSIG | PROC_NO_NEW_PRIVS,
                            },
                            &q->proc);
        close(p[1]);
        if (r < 0) {
                close(p[0]);
                return r;
        }
        q->fd = p[0];
        return 0;
}

/* Collects its status once it is gone; with kill, first kills its process group. */
static void reap(struct version_query *q, bool kill) {
        int k;

        if (q->proc.pid <= 0)
                return;
        k = kill ? proc_reap(&q->proc, now_usec(), true) : proc_try_reap(&q->proc);
        if (k <= 0 && !kill)
                return;
        q->exited = !q->timed_out;
        q->exit_status = proc_exit_code(q->proc.status);
        proc_done(&q->proc);
}

static void drain(struct version_query *q) {
        char scratch[4096];
        ssize_t n;

        if (q->len + 1 < sizeof q->output)
                n = read(q->fd, q->output + q->len, sizeof q->output - 1 - q->len);
        else
                n = read(q->fd, scratch, sizeof scratch);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return;
        if (n <= 0 || q->len + (size_t) n > VERSION_OUTPUT_DRAIN_MAX) {
                close(q->fd);
                q->fd = -1;
                return;
        }
        if (q->len + 1 < sizeof q->output) {
                q->len += (size_t) n;
                q->output[q->len] = '\0';
        }
}

int version_query_run(struct version_query *q, size_t n, unsigned timeout_ms) {
        int64_t deadline = (int64_t) (now_usec() / 1000) + timeout_ms;
        struct pollfd pfd[2 * 16];

        if (n > 16)
                return -E2BIG;
        for (size_t i = 0; i < n; i++) {
                q[i].output[0] = '\0';
                q[i].len = 0;
                q[i].proc = PROC_NULL;
                q[i].fd = -1;
                q[i].exited = q[i].timed_out = false;
                q[i].spawn_error = spawn_one(&q[i]);
        }

        for (;;) {
                size_t m = 0;
                int64_t left = deadline - (int64_t) (now_usec() / 1000);
                bool fallback = false;

                for (size_t i = 0; i < n; i++) {
                        if (q[i].fd >= 0)
                                pfd[m++] = (struct pollfd) { .fd = q[i].fd, .events = POLLIN };
                        if (q[i].fd < 0 && q[i].proc.pid > 0) {
                                reap(&q[i], false);
                                if (q[i].proc.pid > 0) {
                                        if (q[i].proc.pidfd >= 0)
                                                pfd[m++] = (struct pollfd) { .fd = q[i].proc.pidfd, .events = POLLIN };
                                        else
                                                fallback = true;
                                }
                        }
                }
                if (m == 0 && !fallback)
                        break;
                if (left <= 0)
                        break;
                if (fallback && left > 1)
                        left = 1;       /* no pidfd (kernel < 5.3): look again in a millisecond */
                if (poll(pfd, m, (int) left) < 0 && errno != EINTR)
                        break;
                for (size_t i = 0; i < n; i++)
                        for (size_t j = 0; j < m; j++)
                                if (pfd[j].revents && pfd[j].fd == q[i].fd && q[i].fd >= 0)
                                        drain(&q[i]);
        }

        for (size_t i = 0; i < n; i++) {
                if (q[i].proc.pid > 0) {
                        q[i].timed_out = true;
                        reap(&q[i], true);
                }
                if (q[i].fd >= 0)
                        close(q[i].fd);
                q[i].fd = -1;
        }
        return 0;
}

int version_extract(const char *text, char *buf, size_t size) {
        /* Only the first line: a commit hash further down is not the version. */
        size_t line = strcspn(text, "\n");

        for (size_t i = 0; i < line; i++) {
                size_t j = i, n;

                if (i > 0 && !isspace((unsigned char) text[i - 1]))
                        continue;
                if (text[j] == 'v' || text[j] == 'V')
                        j++;
                if (!isdigit((unsigned char) text[j]))
                        continue;
                while (j < line && isdigit((unsigned char) text[j]))
                        j++;
                if (j >= line || text[j] != '.' || !isdigit((unsigned char) text[j + 1]))
                        continue;
                n = i;
                while (j < line && !isspace((unsigned char) text[j]) && text[j] != ',' && text[j] != ')')
                        j++;
                if (j - n >= size)
                        return -ENOBUFS;
                memcpy(buf, text + n, j - n);
                buf[j - n] = '\0';
                return 0;
        }
        return -ENOENT;
}

int version_extract_word(const char *text, char *buf, size_t size) {
        size_t line = strcspn(text, "\r\n"), at, n;

        at = strcspn(text, " \t");
        if (at >= line)
                return -ENOENT;
        at += strspn(text + at, " \t");
        n = strcspn(text + at, " \t\r\n");
        if (n == 0 || at + n > line || (n == 7 && strncmp(text + at, "unknown", 7) == 0))
                return -ENOENT;
        if (n >= size)
                return -ENOBUFS;
        memcpy(buf, text + at, n);
        buf[n] = '\0';
        return 0;
}

static const char *next_number(const char *s, unsigned long *ret) {
        unsigned long v = 0;

        if (!isdigit((unsigned char) *s)) {
                *ret = 0;
                return s;
        }
        while (isdigit((unsigned char) *s)) {
                if (v < 100000000ul)
                        v = v * 10 + (unsigned long) (*s - '0');
                s++;
        }
        *ret = v;
        return *s == '.' ? s + 1 : s;
}

int version_compare(const char *a, const char *b) {
        if (*a == 'v' || *a == 'V')
                a++;
        if (*b == 'v' || *b == 'V')
                b++;
        for (int i = 0; i < 4; i++) {
                unsigned long x, y;

                a = next_number(a, &x);
                b = next_number(b, &y);
                if (x != y)
                        return x < y ? -1 : 1;
        }
        return 0;
}
