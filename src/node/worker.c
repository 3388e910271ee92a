/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `usernode down/up --name WORKER` for a worker of a node of this host (`up --workers`, init/workers.c): the node's
 * init runs it, so the request goes to that init — markers in the worker's data directory, then SIGUSR1 — and the
 * init answers in RUNTIME/workers/NAME.state, which this side waits for. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host.h"
#include "init.h"
#include "nodeapi.h"
#include "up.h"
#include "util.h"

#define WORKER_ANSWER_MS 30000          /* the init stops a worker within 10 s, and deletes its Node */
#define WORKER_POLL_MS 50

int node_worker_of(const char *name, struct node *ret_parent, struct un_error *err) {
        _cleanup_free_ char *parent = NULL, *dir = NULL;
        const char *suffix = strrchr(name, '-');
        struct node n;
        uint32_t i;
        int r;

        /* NODE-workerN, N one of the node's, whose directory the node made. */
        if (!suffix || !startswith(suffix, "-worker") || parse_u32(suffix + strlen("-worker"), &i) < 0 || i == 0 ||
            i > UP_WORKERS_MAX || suffix == name)
                return 0;
        parent = strndup(name, (size_t) (suffix - name));
        if (!parent)
                return un_error(err, ENOMEM, "worker %s", name);
        if (!node_name_valid(parent) || node_resolve(parent, false, &n, NULL) < 0)
                return 0;
        dir = xstrdup_printf("%s/" INIT_WORKERS_DIR "/%s", n.data_dir, name);
        r = dir && access(dir, F_OK) == 0;
        if (r)
                *ret_parent = n;
        else
                node_done(&n);
        return r;
}

static char *worker_path(const char *dir, const char *name, const char *file) {
        return file ? xstrdup_printf("%s/" INIT_WORKERS_DIR "/%s/%s", dir, name, file)
                    : xstrdup_printf("%s/" INIT_WORKERS_DIR "/%s.state", dir, name);
}

static int marker_set(const struct node *parent, const char *name, const char *marker, bool on, struct un_error *err) {
        _cleanup_free_ char *path = worker_path(parent->data_dir, name, marker);

        if (!path)
                return un_error(err, ENOMEM, "worker %s", name);
        if (on)
                return host_write_atomic(host_live(), path, "", 0, 0600, (uid_t) -1, (gid_t) -1, err);
        return unlink(path) < 0 && errno != ENOENT ? un_error(err, errno, "cannot remove %s", path) : 0;
}

/* The node's init, when it runs: its PID on this host, verified to be ours and usernode's init. 0: not running. */
static pid_t parent_init(const struct node *parent, const struct node_status *s) {
        char path[64], cmdline[256] = "";
        FILE *f;
        size_t n;
        pid_t pid = s->pids[NODE_PID_INIT];
        struct stat st;

        if (!node_is_locked(parent) || !node_state_alive(s->state) || pid <= 0)
                return 0;
        snprintf(path, sizeof path, "/proc/%d/cmdline", (int) pid);
        if (stat(path, &st) < 0 || st.st_uid != getuid() || !(f = fopen(path, "re")))
                return 0;
        n = fread(cmdline, 1, sizeof cmdline - 1, f);
        fclose(f);
        /* argv[0] NUL argv[1]: "usernode\0__node-init\0..." */
        return n > 0 && memmem(cmdline, n, "\0__node-init", strlen("__node-init") + 1) ? pid : 0;
}

/* Asks the running node's init to look at the worker's markers; waits for its answer, one of want or a failure. */
static int ask_init(const struct node *parent, pid_t init, const char *name, const char *want, struct un_error *err) {
        _cleanup_free_ char *state = worker_path(parent->runtime_dir, name, NULL);

        if (!state)
                return un_error(err, ENOMEM, "worker %s", name);
        if (unlink(state) < 0 && errno != ENOENT)
                return un_error(err, errno, "cannot remove %s", state);
        if (kill(init, SIGUSR1) < 0)
                return un_error(err, errno, "cannot ask node %s's init (PID %d)", parent->name, (int) init);
        for (int i = 0; i < WORKER_ANSWER_MS / WORKER_POLL_MS; i++) {
                _cleanup_free_ char *answer = NULL;

                if (host_read_line(host_live(), state, &answer) >= 0) {
                        if (strcmp(answer, want) == 0)
                                return 0;
                        return un_error(err, EIO, "node %s's init: worker %s %s", parent->name, name, answer);
                }
                usleep(WORKER_POLL_MS * 1000);
        }
        return un_error(err, ETIME, "node %s's init did not answer for worker %s within %d s; see %s/node.log",
                        parent->name, name, WORKER_ANSWER_MS / 1000, parent->runtime_dir);
}

int node_worker_down(struct node *parent, const char *name, bool purge, FILE *out, struct un_error *err) {
        struct node_status s = {};
        pid_t init;
        int r;

        (void) node_status_read(parent, &s, NULL);
        init = parent_init(parent, &s);
        node_status_done(&s);
        /* Its Node and its files of sub-IDs go only through the node's init, in the cluster it runs. */
        if (purge && !init)
                return un_error(err, ESRCH, "node %s, which runs worker %s, is not running: start it (usernode up --name "
                                "%s) to purge the worker, or purge the node with its workers (usernode down --name %s "
                                "--purge)", parent->name, name, parent->name, parent->name);
        r = marker_set(parent, name, INIT_WORKER_STOPPED, true, err);
        if (r >= 0 && purge)
                r = marker_set(parent, name, INIT_WORKER_PURGE, true, err);
        if (r < 0)
                return r;
        if (!init) {
                fprintf(out, "usernode: node %s is not running; worker %s stays stopped when it starts\n", parent->name,
                        name);
                return 0;
        }
        return ask_init(parent, init, name, purge ? "purged" : "stopped", err);
}

/* Until the worker's Node is Ready, asked with its own credentials at the node's published API server. */
static int wait_ready(const struct node *parent, const char *name, unsigned wait_sec, struct un_error *err) {
        _cleanup_free_ char *data = xstrdup_printf("%s/" INIT_WORKERS_DIR "/%s", parent->data_dir, name);
        struct node_status s = {};
        struct node_api api = {};
        char server[64];
        int r;

        if (!data)
                return un_error(err, ENOMEM, "worker %s", name);
        r = node_status_read(parent, &s, err);
        if (r >= 0)
                r = node_api_open(data, node_status_apiserver(&s, server, sizeof server) >= 0 ? server : NULL, name,
                                  &api, err);
        node_status_done(&s);
        for (uint64_t deadline = now_usec() + wait_sec * 1000000ull; r >= 0;) {
                struct node_object o = {};
                bool ready = node_api_get(&api, &o, NULL) >= 0 && o.exists && o.ready;

                node_object_done(&o);
                if (ready)
                        break;
                if (now_usec() >= deadline)
                        r = un_error(err, ETIME, "worker %s's Node is not Ready after %u s", name, wait_sec);
                else
                        usleep(200 * 1000);
        }
        node_api_done(&api);
        return r;
}

int node_worker_up(struct node *parent, const char *name, unsigned wait_sec, FILE *out, struct un_error *err) {
        struct node_status s = {};
        pid_t init;
        int r;

        r = marker_set(parent, name, INIT_WORKER_STOPPED, false, err);
        if (r >= 0)
                r = marker_set(parent, name, INIT_WORKER_PURGE, false, err);
        if (r < 0)
                return r;
        (void) node_status_read(parent, &s, NULL);
        init = parent_init(parent, &s);
        node_status_done(&s);
        if (!init) {
                fprintf(out, "usernode: node %s is not running; worker %s starts with it (usernode up --name %s)\n",
                        parent->name, name, parent->name);
                return 0;
        }
        r = ask_init(parent, init, name, "running", err);
        return r < 0 || wait_sec == 0 ? r : wait_ready(parent, name, wait_sec, err);
}
