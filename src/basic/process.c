/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The processes usernode starts and watches: spawned with pidfds, reaped, stopped; sd_notify readiness;
 * a PID seen from a PID namespace. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
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

int pidfd_open_pid(pid_t pid) {
        int fd = (int) syscall(SYS_pidfd_open, pid, 0);

        return fd < 0 ? -errno : fd;
}

static void child_exec_failed(int err_fd, int e) {
        ssize_t n = write(err_fd, &e, sizeof e);

        (void) n;
        _exit(127);
}

int proc_spawn(char * const *argv, char * const *env_add, int log_fd, int keep_fd, int keep_fd_as,
               struct proc *ret, struct un_error *err) {
        _cleanup_strv_free_ char **env = NULL;
        int ep[2], e = 0;
        ssize_t n;
        pid_t pid, parent;

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
        if (pipe2(ep, O_CLOEXEC) < 0)
                return un_error(err, errno, "pipe");
        parent = getpid();
        pid = fork();
        if (pid < 0) {
                e = errno;
                close(ep[0]);
                close(ep[1]);
                return un_error(err, e, "fork");
        }
        if (pid == 0) {
                sigset_t none;
                int null_fd;

                close(ep[0]);
                /* Its own process group: what it leaves behind can be killed as a group (KillMode=mixed). */
                (void) setpgid(0, 0);
                /* It dies with the one that started it: a supervisor killed with SIGKILL leaves no node behind
                 * (rootlesskit's child, PID 1 of the node, dies with rootlesskit, and the namespace with it). */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                        child_exec_failed(ep[1], ESRCH);
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                signal(SIGPIPE, SIG_DFL);
                null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (null_fd < 0 || dup2(null_fd, 0) < 0)
                        child_exec_failed(ep[1], errno);
                if (log_fd >= 0 && (dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0))
                        child_exec_failed(ep[1], errno);
                if (keep_fd >= 0) {
                        /* dup2 onto itself would keep O_CLOEXEC: go through fcntl then. */
                        if (keep_fd == keep_fd_as) {
                                if (fcntl(keep_fd, F_SETFD, 0) < 0)
                                        child_exec_failed(ep[1], errno);
                        } else if (dup2(keep_fd, keep_fd_as) < 0)
                                child_exec_failed(ep[1], errno);
                }
                execvpe(argv[0], argv, env);
                child_exec_failed(ep[1], errno);
        }
        close(ep[1]);
        do
                n = read(ep[0], &e, sizeof e);
        while (n < 0 && errno == EINTR);
        close(ep[0]);
        if (n == sizeof e) {
                (void) waitpid(pid, NULL, 0);
                return un_error(err, e, "cannot run %s", argv[0]);
        }
        *ret = (struct proc) { .pid = pid, .pidfd = pidfd_open_pid(pid) };
        if (ret->pidfd < 0) {
                e = -ret->pidfd;
                kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                *ret = PROC_NULL;
                return un_error(err, e, "pidfd_open");
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
