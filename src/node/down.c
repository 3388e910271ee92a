/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `down`: the node's supervisor stopped (through its user unit when it has one), and with a purge all of its
 * state removed and a joined node taken out of its cluster. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nodeapi.h"
#include "process.h"
#include "rm-rf.h"
#include "up.h"
#include "util.h"

#define DOWN_BOUND_MS 15000

/* The node's recorded processes that are still ours: waited for, a bounded time. */
static int down_wait_processes_gone(const struct node_status *s, const char *name, struct un_error *err) {
        static const enum node_pid which[] = { NODE_PID_ROOTLESSKIT, NODE_PID_CHILD };

        for (size_t i = 0; i < ELEMENTSOF(which); i++) {
                pid_t pid = s->pids[which[i]];
                char path[32];
                struct stat st;

                snprintf(path, sizeof path, "/proc/%d", (int) pid);
                if (pid <= 0 || stat(path, &st) < 0 || st.st_uid != getuid())
                        continue;
                if (pid_wait_gone(pid, DOWN_BOUND_MS) != 1)
                        return un_error(err, EBUSY, "node '%s': its %s (PID %d) still runs; nothing was removed",
                                        name, node_pid_to_string(which[i]), (int) pid);
        }
        return 0;
}

/* Waits, bounded, for a supervisor on its way out to release the node's lock: whether it still holds it. */
static bool down_wait_unlocked(const struct node *n) {
        for (int i = 0; i < DOWN_BOUND_MS / 10 && node_is_locked(n); i++)
                usleep(10000);
        return node_is_locked(n);
}

/* Tells the supervisor to remove the node's state once its processes are gone. */
static int down_mark_purge(const struct node *n, struct un_error *err) {
        _cleanup_free_ char *marker = node_runtime_path(n, "purge");
        _cleanup_close_ int fd = -EBADF;

        if (!marker)
                return un_error(err, ENOMEM, "cannot mark node for purge");
        fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return un_error(err, errno, "cannot mark node for purge");
        return 0;
}

/* SIGTERM to the supervisor, only to the process that holds this node's lock: status.json could name anyone.
 * 1 when signalled, 0 when it is gone already. */
static int down_signal_supervisor(const struct node *n, const char *name, pid_t sup, struct un_error *err) {
        _cleanup_close_ int pidfd = node_supervisor_pidfd(n, sup);

        if (pidfd < 0) {
                /* A supervisor on its way out closed its files (the lock) a moment before its lock is released:
                 * wait for that, bounded, before calling it a stranger. */
                if (!down_wait_unlocked(n))
                        return 0;
                return un_error(err, pidfd == -ESRCH || pidfd == -EPERM ? ESRCH : -pidfd,
                                "node '%s' is locked, but PID %d named in its status is not its supervisor: not "
                                "signalling it", name, (int) sup);
        }
        if (syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0) < 0 && errno != ESRCH)
                return un_error(err, errno, "cannot signal the supervisor (PID %d)", (int) sup);
        return 1;
}

/* Stops the supervisor of a running node (PID sup), through its user unit when it has one, and waits for it,
 * bounded: one that does not stop in time is killed with its process group. */
static int down_stop_supervisor(const struct node *n, const char *name, pid_t sup, bool purge, FILE *out,
                                struct un_error *err) {
        int r;

        if (sup <= 0)
                return un_error(err, ESRCH, "node '%s' runs but its status names no supervisor", name);
        if (purge) {
                r = down_mark_purge(n, err);
                if (r < 0)
                        return r;
        }
        /* A node that runs as a user unit stops through its manager, or the unit restarts it. */
        r = userunit_stop(n, err);
        if (r < 0)
                return r;
        if (r == 0) {
                r = down_signal_supervisor(n, name, sup, err);
                if (r <= 0)
                        return r;
        }
        if (pid_wait_gone(sup, DOWN_BOUND_MS) != 1) {
                /* Its process group holds everything it started; each child dies with its parent. */
                kill(-sup, SIGKILL);
                (void) pid_wait_gone(sup, 2000);
                fprintf(out, "usernode: node '%s' did not stop within %d ms: killed\n", name, DOWN_BOUND_MS);
        }
        return 0;
}

/* Once the kubelet is gone: a running kubelet would only post its status again. */
static void down_leave_cluster(struct node_api *api, const char *name, FILE *out) {
        struct un_error e = {};

        if (node_api_delete(api, &e) < 0)
                fprintf(out, "usernode: node '%s' could not remove itself from its cluster (%s); an admin "
                        "can: kubectl delete node %s\n", name, e.msg, name);
}

/* down --purge, once nothing of the node runs: its data (files of sub-IDs included), its runtime
 * directory and its kubeconfig. */
static int down_remove_state(const struct node *n, const char *kubeconfig, struct un_error *err) {
        int r;

        if (access(n->data_dir, F_OK) == 0) {
                r = node_purge_files(n, err);
                if (r < 0)
                        return r;
        }
        if (rm_rf(n->runtime_dir) < 0 || access(n->runtime_dir, F_OK) == 0 || access(n->data_dir, F_OK) == 0)
                return un_error(err, EBUSY, "could not remove all of %s and %s", n->runtime_dir, n->data_dir);
        if (kubeconfig)
                (void) unlink(kubeconfig);
        return 0;
}

int node_down(const char *name, bool purge, FILE *out, struct un_error *err) {
        struct node n, parent;
        struct node_status s = {};
        struct node_api api = {};
        _cleanup_free_ char *kubeconfig = NULL;
        bool have_status, running, joined = false;
        int r;

        r = node_open(name, &n, err);
        if (r < 0)
                return r;
        kubeconfig = node_kubeconfig_path(&n);
        if (access(n.runtime_dir, F_OK) < 0 && access(n.data_dir, F_OK) < 0) {
                /* Not a node: a worker of one? */
                r = node_worker_of(name, &parent, err);
                if (r > 0) {
                        r = node_worker_down(&parent, name, purge, out, err);
                        node_done(&parent);
                } else if (r == 0)
                        r = un_error(err, ENOENT, "no node named '%s'", name);
                goto out;
        }
        have_status = node_status_read(&n, &s, NULL) >= 0;
        running = node_is_locked(&n);
        /* A joined node leaves its cluster: its credentials are read now, before the purge removes them. A node
         * that brought its own cluster (its PKI in its data) takes the cluster with it. */
        if (purge && have_status && streq_ptr(s.engine, "kubelet") && !node_brought_cluster(&n) &&
            node_api_open(n.data_dir, NULL, name, &api, NULL) >= 0)
                joined = true;
        /* A supervisor on its way out has cleared its PIDs (or, on a full disk, could not write its status at
         * all) but holds the lock a moment longer. */
        if (running && (!have_status || s.pids[NODE_PID_SUPERVISOR] <= 0))
                running = down_wait_unlocked(&n);
        if (running) {
                r = down_stop_supervisor(&n, name, have_status ? s.pids[NODE_PID_SUPERVISOR] : 0, purge, out, err);
                if (r < 0)
                        goto out;
        }
        /* Nothing is removed while a process of the node still runs: its processes die with the supervisor
         * (a killed one included), a moment after it. */
        if (purge && have_status) {
                r = down_wait_processes_gone(&s, name, err);
                if (r < 0)
                        goto out;
        }
        /* A unit waiting to restart a node that failed stops too: nothing starts behind the user's back. */
        if (!running) {
                r = userunit_stop(&n, err);
                if (r < 0)
                        goto out;
        }
        if (joined)
                down_leave_cluster(&api, name, out);
        r = 0;
        if (purge)
                r = down_remove_state(&n, kubeconfig, err);
        else if (!running)
                fprintf(out, "usernode: node '%s' is not running\n", name);
out:
        node_api_done(&api);
        node_status_done(&s);
        node_done(&n);
        return r;
}
