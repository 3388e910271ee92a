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

#include "bus.h"
#include "cgroup.h"
#include "cgroup-probe.h"
#include "process.h"
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

/* Becomes the user for good, with only its primary group, verified (proc_become). Without root the
 * caller already is the user (run_probe made sure) and keeps its groups. */
static int become_user(uid_t uid, gid_t gid) {
        const struct proc_creds creds = { .uid = uid, .gid = gid, .groups = &gid, .n_groups = 1 };
        int r = 0;

        if (geteuid() == 0 && uid != 0)
                r = proc_become(&creds);
        else if (geteuid() != uid)
                r = -EPERM;
        if (r >= 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                r = negative_errno();
        return r;
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
static int probe_memory(const struct host *h, const char *mgr, uid_t uid, const char *unit, struct probe_outcome *o) {
        _cleanup_close_ int dfd = -EBADF, cfd = -EBADF, mfd = -EBADF;
        char name[64], got[64], parent[256];
        ssize_t n;
        int r;

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

/* In the child, as the user: what the running manager gives a unit with Delegate=yes, as it gives the
 * node's. The manager knows the controllers its own cgroup had when it started, not what was
 * delegated to it since: only one of its units can tell. */
static int probe_unit(const struct host *h, uid_t uid, struct probe_outcome *o, uint32_t *ret_controllers) {
        _cleanup_free_ char *proc = NULL, *path = NULL, *file = NULL, *line = NULL;
        struct un_error err = {};
        char scope[64];
        int r;

        snprintf(scope, sizeof scope, "usernode-probe-%d.scope", (int) getpid());
        r = bus_enter_delegated_user_scope(uid, scope, &err);
        if (r == -ENOENT || r == -ECONNREFUSED || r == -EACCES)
                return outcome(o, PROBE_SKIPPED, "%s", err.msg);
        if (r < 0)
                return outcome(o, PROBE_FAILED, "%s", err.msg);
        r = host_read_file(h, "/proc/self/cgroup", HOST_LINE_MAX, &proc, NULL);
        if (r >= 0)
                r = cgroup_v2_path_from_proc(proc, &path);
        if (r >= 0)
                file = xstrdup_printf("/sys/fs/cgroup%s/cgroup.controllers", path);
        if (r >= 0 && !file)
                r = -ENOMEM;
        if (r >= 0)
                r = host_read_line(h, file, &line);
        if (r < 0)
                return outcome(o, PROBE_FAILED, "in scope %s, cannot read its controllers: %s", scope, strerror(-r));
        *ret_controllers = controllers_from_string(line, NULL);
        return outcome(o, PROBE_OK, "a delegated unit of the running manager (scope %s) gets: %s", scope,
                       line[0] ? line : "none");
}

/* What the child sends back. */
struct cgroup_probe_wire {
        struct probe_outcome memory, unit;
        uint32_t unit_controllers;
};

static void probe_child(const struct host *h, const char *mgr, uid_t uid, gid_t gid, const char *unit,
                        struct cgroup_probe_wire *w) {
        int r = become_user(uid, gid);

        if (r < 0) {
                outcome(&w->memory, PROBE_FAILED, "cannot become UID %u: %s", (unsigned) uid, strerror(-r));
                outcome(&w->unit, PROBE_SKIPPED, "cannot become UID %u", (unsigned) uid);
                return;
        }
        (void) probe_memory(h, mgr, uid, unit, &w->memory);
        (void) probe_unit(h, uid, &w->unit, &w->unit_controllers);
}

static bool outcome_valid(const struct probe_outcome *o) {
        return o->state > PROBE_NOT_RUN && o->state <= PROBE_SKIPPED;
}

int cgroup_probe_run(const struct host *h, uid_t uid, gid_t gid, const char *user_name, struct cgroup_probe *ret) {
        _cleanup_free_ char *mgr = NULL, *unit = NULL;
        _cleanup_close_ int rfd = -EBADF;
        struct cgroup_probe_wire w = {};
        uint64_t deadline;
        struct stat st;
        int fds[2], status = 0;
        size_t got = 0;
        bool timed_out = false;
        struct proc child;
        pid_t pid;

        *ret = (struct cgroup_probe) {};
        mgr = cgroup_user_manager_path(CGROUP_LAYOUT_V2, uid);
        unit = xstrdup_printf("user@%u.service", (unsigned) uid);
        if (!mgr || !unit)
                return -ENOMEM;
        if (host_stat(h, mgr, &st, false) < 0 || !S_ISDIR(st.st_mode)) {
                outcome(&ret->memory, PROBE_SKIPPED, "no user manager runs for %s (no %s cgroup)", strna(user_name),
                        unit);
                return outcome(&ret->unit, PROBE_SKIPPED, "no user manager runs for %s", strna(user_name));
        }
        if (geteuid() != 0 && geteuid() != uid) {
                outcome(&ret->memory, PROBE_SKIPPED, "cannot act as %s: run as %s or as root", strna(user_name),
                        strna(user_name));
                return outcome(&ret->unit, PROBE_SKIPPED, "cannot act as %s", strna(user_name));
        }

        if (pipe2(fds, O_CLOEXEC) < 0)
                return negative_errno();
        pid = proc_fork(NULL, NULL, PROC_DEATHSIG, -1);
        if (pid < 0) {
                close(fds[0]);
                close(fds[1]);
                return pid;
        }
        if (pid == 0) {
                close(fds[0]);
                probe_child(h, mgr, uid, gid, unit, &w);
                _exit(write(fds[1], &w, sizeof w) == (ssize_t) sizeof w ? 0 : 1);
        }
        close(fds[1]);
        rfd = fds[0];

        deadline = now_usec() + PROBE_TIMEOUT_MS * 1000ull;
        while (got < sizeof w) {
                struct pollfd p = { .fd = rfd, .events = POLLIN };
                long left = msec_until(deadline);
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
                n = read(rfd, (char *) &w + got, sizeof w - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                got += (size_t) n;
        }
        child = (struct proc) { .pid = pid, .pidfd = pidfd_open_pid(pid) };
        (void) proc_reap(&child, timed_out ? now_usec() : 0, false);
        status = child.status;
        proc_done(&child);
        if (timed_out) {
                _cleanup_close_ int dfd = host_open(h, mgr, O_RDONLY | O_DIRECTORY, 0, HOST_NO_SYMLINKS);
                char name[64];

                /* The child may have died between mkdir and rmdir: take its cgroup away ourselves. A scope it
                 * entered goes by itself once empty. */
                snprintf(name, sizeof name, "usernode-probe-%d", (int) pid);
                if (dfd >= 0)
                        (void) unlinkat(dfd, name, AT_REMOVEDIR);
                outcome(&ret->memory, PROBE_FAILED, "the probe did not finish within %d ms (%s/%s)",
                        PROBE_TIMEOUT_MS, mgr, name);
                return outcome(&ret->unit, PROBE_FAILED, "the probe did not finish within %d ms", PROBE_TIMEOUT_MS);
        }
        if (got != sizeof w || !outcome_valid(&w.memory) || !outcome_valid(&w.unit)) {
                outcome(&ret->memory, PROBE_FAILED, "the probe child %s %d without a result",
                        WIFSIGNALED(status) ? "died of signal" : "exited with",
                        WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
                return outcome(&ret->unit, PROBE_FAILED, "the probe child gave no result");
        }
        w.memory.detail[sizeof w.memory.detail - 1] = '\0';
        w.unit.detail[sizeof w.unit.detail - 1] = '\0';
        ret->memory = w.memory;
        ret->unit = w.unit;
        ret->unit_controllers = w.unit.state == PROBE_OK ? w.unit_controllers : 0;
        return 0;
}
