/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `exec`: a command inside a running node's namespaces. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "process.h"
#include "up.h"

/* The node's namespaces, the user namespace first: it grants the rights to enter the others. */
static const struct {
        const char *name;
        int type;
} exec_namespaces[] = {
        { "user", CLONE_NEWUSER }, { "mnt", CLONE_NEWNS },  { "net", CLONE_NEWNET },
        { "pid", CLONE_NEWPID },   { "uts", CLONE_NEWUTS }, { "ipc", CLONE_NEWIPC },
        { "cgroup", CLONE_NEWCGROUP },
};

/* Enters the namespaces of the node's first process (child). */
static int exec_enter_namespaces(pid_t child, struct un_error *err) {
        int fds[ELEMENTSOF(exec_namespaces)], r = 0;

        for (size_t i = 0; i < ELEMENTSOF(exec_namespaces); i++) {
                char path[64];

                snprintf(path, sizeof path, "/proc/%d/ns/%s", (int) child, exec_namespaces[i].name);
                fds[i] = open(path, O_RDONLY | O_CLOEXEC);
                if (fds[i] < 0) {
                        r = un_error(err, errno, "cannot open %s", path);
                        for (size_t j = 0; j < i; j++)
                                close(fds[j]);
                        return r;
                }
        }
        for (size_t i = 0; i < ELEMENTSOF(exec_namespaces); i++) {
                if (r >= 0 && setns(fds[i], exec_namespaces[i].type) < 0)
                        r = un_error(err, errno, "cannot enter the node's %s namespace", exec_namespaces[i].name);
                close(fds[i]);
        }
        return r;
}

/* Runs argv in a child (entering a PID namespace takes effect for children only) and waits for it. A command
 * that cannot run: its errno comes back through a pipe that its exec closes, into err. */
static int exec_run(char **argv, int *ret_status, struct un_error *err) {
        const struct proc_exec x = {
                .argv = argv, .keep_fd = -1, .flags = PROC_PATH_SEARCH,
                .stdio = { PROC_STDIO_INHERIT, PROC_STDIO_INHERIT, PROC_STDIO_INHERIT },
        };
        struct proc p = PROC_NULL;
        int r;

        fflush(NULL);
        r = proc_exec_start(&x, &p);
        if (r < 0) {
                /* As a shell has it: status 127, and why. */
                (void) un_error(err, -r, "cannot run %s", argv[0]);
                *ret_status = 127;
                return 0;
        }
        /* The command has the terminal: ^C and ^\ are its. */
        signal(SIGINT, SIG_IGN);
        signal(SIGQUIT, SIG_IGN);
        r = proc_reap(&p, 0, false);
        *ret_status = proc_exit_code(p.status);
        proc_done(&p);
        return r < 0 ? un_error(err, -r, "waiting for %s", argv[0]) : 0;
}

int node_exec(const char *name, char **argv, int *ret_status, struct un_error *err) {
        struct node_status s;
        pid_t child;
        int r;

        r = node_status_get(name, &s, err);
        if (r < 0)
                return r;
        child = s.pids[NODE_PID_CHILD];
        if (!node_state_alive(s.state)) {
                r = un_error(err, ESRCH, "node '%s' is %s, not running", name, node_state_to_string(s.state));
                node_status_done(&s);
                return r;
        }
        if (child <= 0) {
                node_status_done(&s);
                return un_error(err, ESRCH, "node '%s' has no namespaces (yet)", name);
        }
        if (s.containerd_socket)
                (void) setenv("CONTAINERD_ADDRESS", s.containerd_socket, 0);
        node_status_done(&s);
        r = exec_enter_namespaces(child, err);
        if (r < 0)
                return r;
        if (chdir("/") < 0)
                return un_error(err, errno, "chdir /");
        return exec_run(argv, ret_status, err);
}
