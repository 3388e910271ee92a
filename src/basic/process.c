/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The processes usernode starts and watches: spawned with pidfds, reaped, stopped; sd_notify readiness;
 * a PID seen from a PID namespace. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "process.h"
#include "util.h"

extern char **environ;

/* More supplementary groups than this are refused (getgroups cannot be compared beyond it). */
#define NGROUPS_MAX_PROBED 256

int pidfd_open_pid(pid_t pid) {
        int fd = (int) syscall(SYS_pidfd_open, pid, 0);

        return fd < 0 ? -errno : fd;
}

_Noreturn static void child_failed(int err_fd, int e) {
        if (err_fd >= 0)
                (void) !write(err_fd, &e, sizeof e);
        _exit(127);
}

static int child_stdio(const int stdio[3]) {
        for (int i = 0; i < 3; i++) {
                int fd = stdio ? stdio[i] : PROC_STDIO_INHERIT;

                if (fd == PROC_STDIO_INHERIT)
                        continue;
                if (fd == PROC_STDIO_NULL) {
                        fd = open("/dev/null", O_RDWR | O_CLOEXEC);
                        if (fd < 0)
                                return -errno;
                }
                /* dup2 onto itself would keep O_CLOEXEC. */
                if (fd == i ? fcntl(fd, F_SETFD, 0) < 0 : dup2(fd, i) < 0)
                        return -errno;
        }
        return 0;
}

int proc_become(const struct proc_creds *c) {
        uid_t ru, eu, su;
        gid_t rg, eg, sg, have[NGROUPS_MAX_PROBED];
        int n;

        if (setgroups(c->n_groups, c->groups) < 0 || setresgid(c->gid, c->gid, c->gid) < 0 ||
            setresuid(c->uid, c->uid, c->uid) < 0)
                return -errno;
        if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
                return -errno;
        if (ru != c->uid || eu != c->uid || su != c->uid || rg != c->gid || eg != c->gid || sg != c->gid)
                return -EPERM;
        n = getgroups(ELEMENTSOF(have), have);
        if (n < 0 || (size_t) n != c->n_groups)
                return -EPERM;
        for (int i = 0; i < n; i++)
                if (have[i] != c->groups[i])
                        return -EPERM;
        /* A way back to root would mean the switch did not take. */
        if (c->uid != 0 && setuid(0) == 0)
                return -EPERM;
        return 0;
}

pid_t proc_fork(const int stdio[3], const struct proc_creds *creds, unsigned flags, int err_fd) {
        pid_t parent = getpid(), pid;
        sigset_t none;
        int r;

        pid = fork();
        if (pid != 0)
                return pid < 0 ? negative_errno() : pid;
        if ((flags & PROC_NEW_PGRP) && setpgid(0, 0) < 0)
                child_failed(err_fd, errno);
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        (void) signal(SIGPIPE, SIG_DFL);
        r = child_stdio(stdio);
        if (r >= 0 && creds)
                r = proc_become(creds);
        if (r < 0)
                child_failed(err_fd, -r);
        /* After the UID change, which clears it; and the parent may have gone before. */
        if ((flags & PROC_DEATHSIG) && (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent))
                child_failed(err_fd, ESRCH);
        if ((flags & PROC_NO_NEW_PRIVS) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                child_failed(err_fd, errno);
        return 0;
}

int proc_exec_start(const struct proc_exec *x, struct proc *ret) {
        int ep[2], e = 0, r;
        ssize_t n;
        pid_t pid;

        if (pipe2(ep, O_CLOEXEC) < 0)
                return negative_errno();
        pid = proc_fork(x->stdio, x->creds, x->flags, ep[1]);
        if (pid < 0) {
                close(ep[0]);
                close(ep[1]);
                return pid;
        }
        if (pid == 0) {
                if (x->keep_fd >= 0 && (x->keep_fd == x->keep_fd_as ? fcntl(x->keep_fd, F_SETFD, 0) < 0
                                                                     : dup2(x->keep_fd, x->keep_fd_as) < 0))
                        child_failed(ep[1], errno);
                if (x->flags & PROC_PATH_SEARCH)
                        execvpe(x->path ?: x->argv[0], x->argv, x->envp ? x->envp : environ);
                else
                        execve(x->path ?: x->argv[0], x->argv, x->envp ? x->envp : environ);
                child_failed(ep[1], errno);
        }
        close(ep[1]);
        /* The exec closes ep[1] (O_CLOEXEC): EOF is success, a number is why it failed. */
        do
                n = read(ep[0], &e, sizeof e);
        while (n < 0 && errno == EINTR);
        close(ep[0]);
        *ret = (struct proc) { .pid = pid, .pidfd = pidfd_open_pid(pid) };
        if (n == sizeof e) {
                (void) proc_reap(ret, 0, false);
                proc_done(ret);
                return -e;
        }
        if (ret->pidfd < 0) {
                r = ret->pidfd;
                (void) kill(pid, SIGKILL);
                (void) proc_reap(ret, 0, false);
                proc_done(ret);
                return r;
        }
        return 0;
}

int proc_exit_code(int status) {
        return WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 128;
}

int proc_spawn(char * const *argv, char * const *env_add, int log_fd, int keep_fd, int keep_fd_as,
               struct proc *ret, struct un_error *err) {
        _cleanup_strv_free_ char **env = NULL;
        struct proc_exec x = {
                .argv = argv, .keep_fd = keep_fd, .keep_fd_as = keep_fd_as,
                .stdio = { PROC_STDIO_NULL, log_fd >= 0 ? log_fd : PROC_STDIO_INHERIT,
                           log_fd >= 0 ? log_fd : PROC_STDIO_INHERIT },
                /* Its own process group: what it leaves behind can be killed as a group (KillMode=mixed). It
                 * dies with the one that started it: a supervisor killed with SIGKILL leaves no node behind
                 * (rootlesskit's child, PID 1 of the node, dies with rootlesskit, and the namespace with it). */
                .flags = PROC_NEW_PGRP | PROC_DEATHSIG | PROC_PATH_SEARCH,
        };
        int r;

        for (char **v = environ; v && *v; v++) {
                bool overridden = false;

                for (char * const *a = env_add; a && *a && !overridden; a++) {
                        size_t k = strcspn(*a, "=");

                        overridden = strncmp(*v, *a, k + 1) == 0;
                }
                if (!overridden && strv_push(&env, *v) < 0)
                        return un_error(err, ENOMEM, "spawn %s", argv[0]);
        }
        for (char * const *a = env_add; a && *a; a++)
                if (strv_push(&env, *a) < 0)
                        return un_error(err, ENOMEM, "spawn %s", argv[0]);
        if (!env && strv_push(&env, "PATH=/usr/local/bin:/usr/bin:/bin") < 0)
                return un_error(err, ENOMEM, "spawn %s", argv[0]);
        x.envp = env;
        r = proc_exec_start(&x, ret);
        if (r < 0) {
                *ret = PROC_NULL;
                return un_error(err, -r, "cannot run %s", argv[0]);
        }
        return 0;
}

int proc_try_reap(struct proc *p) {
        siginfo_t si = {};

        if (p->pid <= 0 || p->reaped)
                return 1;
        if (waitid(P_PID, (id_t) p->pid, &si, WEXITED | WNOHANG) < 0)
                return -errno;
        if (si.si_pid == 0)
                return 0;
        p->reaped = true;
        p->status = si.si_code == CLD_EXITED ? si.si_status << 8 : si.si_status;
        return 1;
}

int proc_wait(struct proc *p, int timeout_ms) {
        uint64_t deadline = now_usec() + (uint64_t) timeout_ms * 1000u;

        for (;;) {
                struct pollfd pf = { .fd = p->pidfd, .events = POLLIN };
                int left = (int) ((deadline - now_usec()) / 1000u), k;

                k = proc_try_reap(p);
                if (k != 0)
                        return k;
                if (now_usec() >= deadline)
                        return 0;
                k = poll(&pf, 1, left > 0 ? left : 1);
                if (k < 0 && errno != EINTR)
                        return -errno;
        }
}

int proc_reap(struct proc *p, uint64_t deadline_usec, bool kill_group) {
        for (;;) {
                struct pollfd pf = { .fd = p->pidfd, .events = POLLIN };
                int k = proc_try_reap(p);

                if (k != 0)
                        return k;
                if (deadline_usec > 0 && now_usec() >= deadline_usec)
                        break;
                if (p->pidfd < 0) {
                        /* No pidfd: only a blocking wait, so only without a deadline. */
                        if (deadline_usec > 0)
                                break;
                        while (waitpid(p->pid, &p->status, 0) < 0)
                                if (errno != EINTR)
                                        return -errno;
                        p->reaped = true;
                        return 1;
                }
                k = poll(&pf, 1, deadline_usec > 0 ? msec_until(deadline_usec) : -1);
                if (k < 0 && errno != EINTR)
                        return -errno;
        }
        (void) kill(kill_group ? -p->pid : p->pid, SIGKILL);
        while (waitpid(p->pid, &p->status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        p->reaped = true;
        return 0;
}

void proc_stop(struct proc *p, int timeout_ms) {
        if (p->pid <= 0 || p->reaped)
                return;
        kill(p->pid, SIGTERM);
        if (proc_wait(p, timeout_ms) == 1)
                return;
        kill(p->pid, SIGKILL);
        (void) proc_wait(p, 5000);
}

void proc_done(struct proc *p) {
        if (p->pidfd >= 0)
                close(p->pidfd);
        *p = PROC_NULL;
}

int pid_wait_gone(pid_t pid, int timeout_ms) {
        _cleanup_close_ int fd = pidfd_open_pid(pid);
        struct pollfd pf;
        int k;

        if (fd == -ESRCH)
                return 1;
        if (fd < 0)
                return fd;
        pf = (struct pollfd) { .fd = fd, .events = POLLIN };
        do
                k = poll(&pf, 1, timeout_ms);
        while (k < 0 && errno == EINTR);
        return k < 0 ? -errno : k > 0;
}

int stop_signal_fd(void) {
        sigset_t mask;
        int fd;

        (void) signal(SIGPIPE, SIG_IGN);
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return negative_errno();
        fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        return fd < 0 ? negative_errno() : fd;
}

int notify_socket_open(const char *path, struct un_error *err) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;

        if (strlen(path) >= sizeof sa.sun_path)
                return un_error(err, ENAMETOOLONG, "notify socket %s", path);
        strcpy(sa.sun_path, path);
        (void) unlink(path);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return un_error(err, errno, "socket");
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return un_error(err, errno, "cannot bind %s", path);
        return TAKE_FD(fd);
}

int notify_socket_read_ready(int fd) {
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
        char *cursor = buf, *line;

        if (n < 0)
                return errno == EAGAIN ? 0 : -errno;
        buf[n] = '\0';
        while ((line = line_next(&cursor, sizeof buf, NULL)))
                if (strcmp(line, "READY=1") == 0)
                        return 1;
        return 0;
}

int proc_read_small(const char *path, char *buf, size_t size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return -errno;
        n = read(fd, buf, size - 1);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        return 0;
}

pid_t pid_from_namespace(pid_t ns_member, pid_t nspid) {
        _cleanup_closedir_ DIR *d = opendir("/proc");
        char path[64], want[64], have[64];
        struct dirent *de;
        ssize_t n;

        snprintf(path, sizeof path, "/proc/%d/ns/pid", (int) ns_member);
        n = readlink(path, want, sizeof want - 1);
        if (n <= 0 || !d)
                return 0;
        want[n] = '\0';
        while ((de = readdir(d))) {
                char status[2048], *p, *cursor, *line;
                uint32_t pid;

                if (parse_u32(de->d_name, &pid) < 0)
                        continue;
                snprintf(path, sizeof path, "/proc/%u/status", pid);
                if (proc_read_small(path, status, sizeof status) < 0)
                        continue;
                cursor = status;
                while ((line = line_next(&cursor, sizeof status, NULL))) {
                        if (!(p = (char *) startswith(line, "NSpid:")))
                                continue;
                        p = strrchr(p, '\t');
                        if (p && strtol(p + 1, NULL, 10) == nspid) {
                                snprintf(path, sizeof path, "/proc/%u/ns/pid", pid);
                                n = readlink(path, have, sizeof have - 1);
                                if (n > 0 && (have[n] = '\0', strcmp(have, want) == 0))
                                        return (pid_t) pid;
                        }
                        break;
                }
        }
        return 0;
}
