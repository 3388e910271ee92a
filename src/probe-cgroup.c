/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "checks.h"
#include "util.h"

#define PROBE_TIMEOUT_MS 2000
#define PROBE_MEMORY_MAX "67108864"

/* Fills o; returns 0 so that callers can "return outcome(...)". */
_printf_(3, 4) static int outcome(struct probe_outcome *o, enum probe_state state, const char *fmt, ...) {
        va_list ap;

        o->state = state;
        va_start(ap, fmt);
        vsnprintf(o->detail, sizeof o->detail, fmt, ap);
        va_end(ap);
        return 0;
}

/* Becomes the user for good and checks that it took (bubblewrap's switch_to_user_with_privs).
 * Without root the caller already is the user (run_probe made sure) and keeps its groups. */
static int become_user(uid_t uid, gid_t gid) {
        uid_t ru, eu, su;
        gid_t rg, eg, sg, groups[2];

        if (geteuid() == 0 && uid != 0) {
                if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
                        return negative_errno();
                if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
                        return negative_errno();
                if (ru != uid || eu != uid || su != uid || rg != gid || eg != gid || sg != gid)
                        return -EPERM;
                if (getgroups(ELEMENTSOF(groups), groups) != 1 || groups[0] != gid || setuid(0) == 0)
                        return -EPERM;
        } else if (geteuid() != uid)
                return -EPERM;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return negative_errno();
        return 0;
}

static int read_at(int dfd, const char *name, char *buf, size_t size) {
        _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        ssize_t n;

        if (fd < 0)
                return negative_errno();
        n = read(fd, buf, size - 1);
        if (n < 0)
                return negative_errno();
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        return 0;
}

/* In the child, as the user: make a cgroup under the manager's, set memory.max, read it back. */
static int probe_child(const struct host *h, const char *mgr, uid_t uid, gid_t gid, const char *unit,
                        struct probe_outcome *o) {
        _cleanup_close_ int dfd = -EBADF, cfd = -EBADF, mfd = -EBADF;
        char name[64], got[64], parent[256];
        ssize_t n;
        int r;

        r = become_user(uid, gid);
        if (r < 0)
                return outcome(o, PROBE_FAILED, "cannot become UID %u: %s", (unsigned) uid, strerror(-r));
        dfd = host_open(h, mgr, O_RDONLY | O_DIRECTORY, 0, HOST_NO_SYMLINKS);
        if (dfd < 0)
                return outcome(o, PROBE_FAILED, "cannot open the cgroup of %s: %s", unit, strerror(-dfd));
        snprintf(name, sizeof name, "usernode-probe-%d", (int) getpid());
        if (mkdirat(dfd, name, 0755) < 0)
                return outcome(o, PROBE_FAILED, "cannot create a child cgroup in %s as UID %u: %s (not delegated)",
                               unit, (unsigned) uid, strerror(errno));
        cfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (cfd < 0) {
                outcome(o, PROBE_FAILED, "cannot open the child cgroup: %s", strerror(errno));
                goto out;
        }
        mfd = openat(cfd, "memory.max", O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (mfd < 0 && errno == ENOENT) {
                /* The user manager owns its subtree_control and enables memory when a unit wants it:
                 * delegated but not yet enabled is fine, and not ours to change. */
                if (read_at(dfd, "cgroup.controllers", parent, sizeof parent) >= 0 &&
                    (controllers_from_string(parent, NULL) & CONTROLLER_MEMORY))
                        outcome(o, PROBE_OK, "child cgroup created in %s; memory is delegated but not enabled in "
                                "its subtree yet, memory.max not written", unit);
                else
                        outcome(o, PROBE_FAILED, "child cgroup in %s has no memory.max: memory is not delegated", unit);
                goto out;
        }
        if (mfd < 0) {
                outcome(o, PROBE_FAILED, "cannot open memory.max in a child cgroup of %s: %s", unit, strerror(errno));
                goto out;
        }
        n = write(mfd, PROBE_MEMORY_MAX, strlen(PROBE_MEMORY_MAX));
        if (n != (ssize_t) strlen(PROBE_MEMORY_MAX)) {
                outcome(o, PROBE_FAILED, "cannot write memory.max in a child cgroup of %s: %s", unit,
                        n < 0 ? strerror(errno) : "short write");
                goto out;
        }
        r = read_at(cfd, "memory.max", got, sizeof got);
        if (r < 0)
                outcome(o, PROBE_FAILED, "cannot read memory.max back: %s", strerror(-r));
        else if (strcmp(got, PROBE_MEMORY_MAX) != 0)
                outcome(o, PROBE_FAILED, "memory.max reads back '%.32s' after writing " PROBE_MEMORY_MAX, got);
        else
                outcome(o, PROBE_OK, "as UID %u wrote memory.max in a child cgroup of %s and read it back",
                        (unsigned) uid, unit);
out:
        if (mfd >= 0)
                close(TAKE_FD(mfd));
        if (cfd >= 0)
                close(TAKE_FD(cfd));
        if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && o->state == PROBE_OK)
                outcome(o, PROBE_FAILED, "cannot remove the probe cgroup %s/%s: %s", unit, name, strerror(errno));
        return 0;
}

static long ms_since(const struct timespec *start) {
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        return (now.tv_sec - start->tv_sec) * 1000L + (now.tv_nsec - start->tv_nsec) / 1000000L;
}

static int run_probe(struct check_ctx *c, struct probe_outcome *o) {
        _cleanup_free_ char *mgr = NULL, *unit = NULL;
        _cleanup_close_ int rfd = -EBADF;
        struct timespec start;
        struct stat st;
        int fds[2], status = 0;
        size_t got = 0;
        bool timed_out = false;
        pid_t pid;

        if (c->host->offline)
                return outcome(o, PROBE_SKIPPED, "--root: no live cgroup tree to probe");
        if (c->no_probes)
                return outcome(o, PROBE_SKIPPED, "--no-probes");
        if (c->cgroup.layout != CGROUP_LAYOUT_V2)
                return outcome(o, PROBE_SKIPPED, "no cgroup v2 at /sys/fs/cgroup");
        mgr = cgroup_user_manager_path(CGROUP_LAYOUT_V2, c->user.uid);
        unit = xstrdup_printf("user@%u.service", (unsigned) c->user.uid);
        if (!mgr || !unit)
                return outcome(o, PROBE_FAILED, "out of memory");
        if (host_stat(c->host, mgr, &st, false) < 0 || !S_ISDIR(st.st_mode))
                return outcome(o, PROBE_SKIPPED, "no user manager runs for %s (no %s cgroup)", strna(c->user.name),
                               unit);
        if (geteuid() != 0 && geteuid() != c->user.uid)
                return outcome(o, PROBE_SKIPPED, "cannot act as %s: run as %s or as root", strna(c->user.name),
                               strna(c->user.name));

        if (pipe2(fds, O_CLOEXEC) < 0)
                return outcome(o, PROBE_FAILED, "pipe: %s", strerror(errno));
        pid = fork();
        if (pid < 0) {
                close(fds[0]);
                close(fds[1]);
                return outcome(o, PROBE_FAILED, "fork: %s", strerror(errno));
        }
        if (pid == 0) {
                struct probe_outcome child = {};

                close(fds[0]);
                (void) probe_child(c->host, mgr, c->user.uid, c->user.gid, unit, &child);
                _exit(write(fds[1], &child, sizeof child) == (ssize_t) sizeof child ? 0 : 1);
        }
        close(fds[1]);
        rfd = fds[0];

        *o = (struct probe_outcome) {};
        clock_gettime(CLOCK_MONOTONIC, &start);
        while (got < sizeof *o) {
                struct pollfd p = { .fd = rfd, .events = POLLIN };
                long left = PROBE_TIMEOUT_MS - ms_since(&start);
                ssize_t n;
                int k;

                if (left <= 0) {
                        timed_out = true;
                        break;
                }
                k = poll(&p, 1, (int) left);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        timed_out = k == 0;
                        break;
                }
                n = read(rfd, (char *) o + got, sizeof *o - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                got += (size_t) n;
        }
        if (timed_out)
                (void) kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (timed_out) {
                _cleanup_free_ char *child = xstrdup_printf("%s/usernode-probe-%d", mgr, (int) pid);
                _cleanup_close_ int dfd = host_open(c->host, mgr, O_RDONLY | O_DIRECTORY, 0, HOST_NO_SYMLINKS);
                char name[64];

                /* The child may have died between mkdir and rmdir: take its cgroup away ourselves. */
                snprintf(name, sizeof name, "usernode-probe-%d", (int) pid);
                if (dfd >= 0)
                        (void) unlinkat(dfd, name, AT_REMOVEDIR);
                return outcome(o, PROBE_FAILED, "the probe did not finish within %d ms (%s)", PROBE_TIMEOUT_MS,
                               strna(child));
        }
        if (got != sizeof *o || o->state == PROBE_NOT_RUN || o->state > PROBE_SKIPPED)
                return outcome(o, PROBE_FAILED, "the probe child %s %d without a result",
                               WIFSIGNALED(status) ? "died of signal" : "exited with",
                               WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        o->detail[sizeof o->detail - 1] = '\0';
        return 0;
}

const struct probe_outcome *probe_cgroup(struct check_ctx *c) {
        if (!c->probes.cgroup_ran) {
                c->probes.cgroup_ran = true;
                (void) run_probe(c, &c->probes.cgroup);
        }
        return &c->probes.cgroup;
}
