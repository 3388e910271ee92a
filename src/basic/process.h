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
/* fork + exec argv (PATH searched) with env_add ("K=V") on top of environ; stdout and stderr go
 * to log_fd; keep_fd (if >= 0) is handed over as fd keep_fd_as. Exec failures come back as -errno. */
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

/* sd_notify receiver: a datagram socket bound at path; NOTIFY_SOCKET for the daemons we start. */
int notify_socket_open(const char *path, struct un_error *err);
/* Reads one datagram; 1 when it holds READY=1. */
int notify_socket_read_ready(int fd);

/* One read of a small kernel file (/proc/PID/…), NUL-terminated, at most size - 1 bytes. */
int proc_read_small(const char *path, char *buf, size_t size);
/* Host PID of the process whose PID is nspid in the PID namespace of ns_member (a host PID). */
pid_t pid_from_namespace(pid_t ns_member, pid_t nspid);
