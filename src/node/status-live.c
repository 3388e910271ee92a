/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A node's status as status.json records it, checked against the processes that still live. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "up.h"

static bool pid_alive(pid_t pid) {
        return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

int node_status_get(const char *name, struct node_status *ret, struct un_error *err) {
        struct node n;
        struct node_status s;
        int r;

        r = node_open(name, &n, err);
        if (r < 0)
                return r;
        if (access(n.runtime_dir, F_OK) < 0) {
                r = un_error(err, ENOENT, "no node named '%s' (nothing in %s)", name, n.runtime_dir);
                node_done(&n);
                return r;
        }
        r = node_status_read(&n, &s, err);
        if (r >= 0 && !node_is_locked(&n) &&
            (node_state_alive(s.state) || s.state == NODE_STOPPING)) {
                /* The supervisor died without writing its last word. */
                (void) node_status_set_state(&s, NODE_FAILED);
                if (!s.last_error)
                        s.last_error = strdup("the supervisor is gone");
        }
        if (r >= 0)
                for (size_t i = 0; i < _NODE_PID_MAX; i++)
                        if (!pid_alive(s.pids[i]))
                                s.pids[i] = 0;
        node_done(&n);
        if (r < 0)
                return r;
        *ret = s;
        return 0;
}
