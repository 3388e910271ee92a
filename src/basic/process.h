/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* A child this process started and will reap, watched through a pidfd (STYLE.md "Privilege and
 * processes"): no polling, no sleeps. */
struct proc {
        pid_t pid;
        int pidfd;
        bool reaped;
        int status;             /* wait status once reaped */
};

#define PROC_NULL ((struct proc) { .pid = 0, .pidfd = -EBADF })

int pidfd_open_pid(pid_t pid);

/* Another user for a child, taken for good and verified (bubblewrap's switch_to_user_with_privs). */
struct proc_creds {
        uid_t uid;
        gid_t gid;
        const gid_t *groups;            /* its supplementary groups, n_groups of them */
        size_t n_groups;
};

enum {
        PROC_NEW_PGRP = 1u << 0,        /* its own process group: a kill of the group reaches what it starts */
        PROC_DEATHSIG = 1u << 1,        /* SIGKILL when this process dies (set after the UID change, which clears it) */
        PROC_NO_NEW_PRIVS = 1u << 2,    /* no setuid bit or file capability adds privileges */
        PROC_PATH_SEARCH = 1u << 3,     /* argv[0] is looked up in PATH */
};

#define PROC_STDIO_NULL (-1)            /* /dev/null */
#define PROC_STDIO_INHERIT (-2)         /* ours */

/* Becomes c for good in this process, and verifies it took: what proc_fork does with creds. */
int proc_become(const struct proc_creds *c);

/* The one fork: every child of usernode starts here (systemd's safe_fork_full). Returns 0 in the child
 * once it is set up: stdio[i] as fd i, an empty signal mask and SIGPIPE's default, creds (NULL: stays
 * who we are) taken, flags applied; when that fails the child writes errno to err_fd (if >= 0) and exits
 * 127. Returns the child's PID in the parent, -errno when fork() fails. */
pid_t proc_fork(const int stdio[3], const struct proc_creds *creds, unsigned flags, int err_fd);

/* A program to run: proc_fork, then exec. */
struct proc_exec {
        const char *path;               /* the program; NULL: argv[0] */
        char *const *argv;
        char *const *envp;              /* NULL: this process's environment */
        int stdio[3];                   /* PROC_STDIO_NULL, PROC_STDIO_INHERIT or an fd */
        int keep_fd, keep_fd_as;        /* keep_fd (if >= 0) is handed over as fd keep_fd_as */
        const struct proc_creds *creds;
        unsigned flags;
};
/* 0 once the program runs (ret: its PID and pidfd); -errno when it could not be started, the child
 * reaped already. */
int proc_exec_start(const struct proc_exec *x, struct proc *ret);
/* The one reaper: waits for the child until deadline_usec (0: no deadline); past it SIGKILLs it (its
 * process group with kill_group) and reaps it. 1 when it ended by itself, 0 when killed, -errno. */
int proc_reap(struct proc *p, uint64_t deadline_usec, bool kill_group);
/* A wait status as a shell says it: the exit code, or 128 + the signal. */
int proc_exit_code(int status);

/* fork + exec argv (PATH searched) with env_add ("K=V") on top of environ, in its own process group,
 * dying with us; stdout and stderr go to log_fd; keep_fd (if >= 0) is handed over as fd keep_fd_as.
 * Exec failures come back as -errno. */
int proc_spawn(char * const *argv, char * const *env_add, int log_fd, int keep_fd, int keep_fd_as,
               struct proc *ret, struct un_error *err);
/* Reaps the child if it exited; 1 when reaped, 0 when still running. */
int proc_try_reap(struct proc *p);
/* Waits up to timeout_ms for the child to exit; 1 when it did. */
int proc_wait(struct proc *p, int timeout_ms);
/* SIGTERM, wait up to timeout_ms, then SIGKILL and reap. */
void proc_stop(struct proc *p, int timeout_ms);
void proc_done(struct proc *p);
/* Waits for a process that is not our child to exit (pidfd); 1 when gone. */
int pid_wait_gone(pid_t pid, int timeout_ms);

/* SIGTERM, SIGINT and SIGHUP blocked and delivered as events on the returned signalfd (a daemon's
 * waits stop on them); SIGPIPE ignored. -errno on failure. */
int stop_signal_fd(void);

/* sd_notify receiver: a datagram socket bound at path; NOTIFY_SOCKET for the daemons we start. */
int notify_socket_open(const char *path, struct un_error *err);
/* Reads one datagram; 1 when it holds READY=1. */
int notify_socket_read_ready(int fd);

/* One read of a small kernel file (/proc/PID/…), NUL-terminated, at most size - 1 bytes. */
int proc_read_small(const char *path, char *buf, size_t size);
/* Host PID of the process whose PID is nspid in the PID namespace of ns_member (a host PID). */
pid_t pid_from_namespace(pid_t ns_member, pid_t nspid);
