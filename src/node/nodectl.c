/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The node from outside: preflight checks, down, status, exec, and purging what sub-IDs own. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nodeapi.h"
#include "report.h"
#include "rules.h"
#include "subid.h"
#include "process.h"
#include "up.h"
#include "util.h"

#define DOWN_BOUND_MS 15000

const struct node_engine *node_engine_get(enum engine e) {
        return e == ENGINE_K3S ? &engine_k3s : &engine_kubelet;
}

int up_preflight(const struct up_options *o, char ***ret_failed, char ***ret_labels, struct un_error *err) {
        struct host host = { .root_fd = -EBADF };
        struct check_ctx ctx = {};
        struct report report = {};
        _cleanup_strv_free_ char **failed = NULL, **labels = NULL;
        _cleanup_free_ struct feature_result *features = NULL;
        const char *unknown = NULL;
        int r;

        r = host_init(&host, "/", err);
        if (r < 0)
                return r;
        ctx.host = &host;
        ctx.engine = o->engine;
        r = user_lookup_default(&host, &ctx.user, err);
        if (r >= 0)
                r = distro_load(&host, &ctx.distro);
        if (r >= 0)
                r = checks_run(&ctx, &report);
        if (r >= 0 && report_ignore(&report, o->ignore, &unknown) < 0)
                r = un_error(err, EINVAL, "--ignore %s matches no check ID", unknown);
        if (r >= 0)
                for (size_t i = 0; i < report.n_checks; i++)
                        if (report.checks[i].status == CHECK_FAIL && !report.checks[i].ignored &&
                            strv_push(&failed, report.checks[i].id) < 0)
                                r = -ENOMEM;
        /* What the node cannot do, for the cluster to see: one label per workload feature. */
        if (r >= 0 && !(features = calloc(rules_count(), sizeof *features)))
                r = -ENOMEM;
        if (r >= 0 && rules_evaluate(&report, features) >= 0)
                for (size_t i = 0; r >= 0 && i < rules_count(); i++) {
                        _cleanup_free_ char *l = xstrdup_printf("%s%s=%s", UP_LABEL_PREFIX, features[i].id,
                                                                feature_status_to_string(features[i].status));

                        if (!l || strv_push(&labels, l) < 0)
                                r = -ENOMEM;
                }
        report_done(&report);
        check_ctx_done(&ctx);
        host_done(&host);
        if (r < 0)
                return err && err->code ? -err->code : un_error(err, r, "checks");
        *ret_failed = TAKE_PTR(failed);
        *ret_labels = TAKE_PTR(labels);
        return 0;
}

static int read_map(const struct node *n, const char *which, char ***ret) {
        _cleanup_free_ char *path = node_runtime_path(n, which), *text = NULL;
        struct host h = { .root_fd = -EBADF };
        int r;

        if (!path)
                return -ENOMEM;
        r = host_init(&h, "/", NULL);
        if (r < 0)
                return r;
        r = host_read_file(&h, path, 4096, &text, NULL);
        host_done(&h);
        if (r < 0)
                return r;
        r = strv_split(text, " \t\n", ret);
        if (r < 0)
                return r;
        /* Triplets of numbers, at most 5 lines (the kernel's limit without extents is 340). */
        if (strv_length(*ret) == 0 || strv_length(*ret) % 3 != 0 || strv_length(*ret) > 15)
                return -EINVAL;
        for (char **w = *ret; *w; w++) {
                uint32_t v;

                if (parse_u32(*w, &v) < 0)
                        return -EINVAL;
        }
        return 0;
}

/* The map rootlesskit makes: our own ID as 0, then the user's sub-IDs from file. */
static int default_map(const char *file, uint32_t id, char ***ret) {
        _cleanup_strv_free_ char **map = NULL;
        struct subid_file f = {};
        struct host h = { .root_fd = -EBADF };
        struct passwd *pw = getpwuid(getuid());
        uint64_t inside = 1;
        unsigned lines = 1;
        char buf[3][16];
        int r;

        if (!pw)
                return -ENOENT;
        r = host_init(&h, "/", NULL);
        if (r < 0)
                return r;
        r = subid_file_load(&h, file, &f, NULL, NULL);
        host_done(&h);
        if (r < 0)
                return r;
        snprintf(buf[0], sizeof buf[0], "%u", id);
        r = strv_push(&map, "0") < 0 || strv_push(&map, buf[0]) < 0 || strv_push(&map, "1") < 0 ? -ENOMEM : 0;
        for (size_t i = 0; r >= 0 && i < f.n && lines < 5; i++) {
                if (!subid_range_is_user(&f.ranges[i], pw->pw_name, (uint32_t) getuid()) || inside > UINT32_MAX)
                        continue;
                snprintf(buf[0], sizeof buf[0], "%" PRIu64, inside);
                snprintf(buf[1], sizeof buf[1], "%u", f.ranges[i].start);
                snprintf(buf[2], sizeof buf[2], "%u", f.ranges[i].count);
                for (int k = 0; k < 3 && r >= 0; k++)
                        r = strv_push(&map, buf[k]) < 0 ? -ENOMEM : 0;
                inside += f.ranges[i].count;
                lines++;
        }
        subid_file_done(&f);
        if (r < 0)
                return r;
        if (lines == 1)
                return -ENOENT;
        *ret = TAKE_PTR(map);
        return 0;
}

static int run_idmap_tool(const char *tool, pid_t pid, char **map) {
        _cleanup_strv_free_ char **argv = NULL;
        char pidstr[16];
        struct proc p = PROC_NULL;
        int r;

        snprintf(pidstr, sizeof pidstr, "%d", (int) pid);
        if (strv_push(&argv, tool) < 0 || strv_push(&argv, pidstr) < 0)
                return -ENOMEM;
        for (char **w = map; *w; w++)
                if (strv_push(&argv, *w) < 0)
                        return -ENOMEM;
        r = proc_spawn(argv, NULL, -1, -1, -1, &p, NULL);
        if (r < 0)
                return r;
        r = proc_wait(&p, 5000);
        if (r != 1) {
                proc_stop(&p, 100);
                proc_done(&p);
                return -ETIMEDOUT;
        }
        r = WIFEXITED(p.status) && WEXITSTATUS(p.status) == 0 ? 0 : -EPERM;
        proc_done(&p);
        return r;
}

int node_purge_files(const struct node *n, struct un_error *err) {
        _cleanup_strv_free_ char **uid_map = NULL, **gid_map = NULL;
        int go[2], ready[2], st, r;
        pid_t pid;

        /* Without a recorded map the node most likely never had sub-IDs at work: everything is ours. Unless
         * the map could not be recorded (a full disk): then it was rootlesskit's, made from /etc/sub[ug]id. */
        if (read_map(n, "uid_map", &uid_map) < 0 || read_map(n, "gid_map", &gid_map) < 0) {
                if (node_rm_rf(n->data_dir) >= 0)
                        return 0;
                strv_free(uid_map);
                strv_free(gid_map);
                uid_map = gid_map = NULL;
                if (default_map("/etc/subuid", (uint32_t) getuid(), &uid_map) < 0 ||
                    default_map("/etc/subgid", (uint32_t) getgid(), &gid_map) < 0)
                        return un_error(err, EPERM, "cannot remove %s", n->data_dir);
        }
        if (pipe2(go, O_CLOEXEC) < 0)
                return un_error(err, errno, "pipe");
        if (pipe2(ready, O_CLOEXEC) < 0) {
                close(go[0]);
                close(go[1]);
                return un_error(err, errno, "pipe");
        }
        pid = fork();
        if (pid < 0)
                return un_error(err, errno, "fork");
        if (pid == 0) {
                char c;

                close(go[1]);
                close(ready[0]);
                if (unshare(CLONE_NEWUSER) < 0)
                        _exit(2);
                if (write(ready[1], "x", 1) != 1)
                        _exit(2);
                /* The parent maps us once we are in the namespace; EOF without a byte means it failed. */
                if (read(go[0], &c, 1) != 1)
                        _exit(3);
                _exit(node_rm_rf(n->data_dir) < 0 ? 1 : 0);
        }
        close(go[0]);
        close(ready[1]);
        {
                char c;

                r = read(ready[0], &c, 1) == 1 ? 0 : -EPERM;
                close(ready[0]);
        }
        if (r >= 0)
                r = run_idmap_tool("newuidmap", pid, uid_map);
        if (r >= 0)
                r = run_idmap_tool("newgidmap", pid, gid_map);
        if (r >= 0 && write(go[1], "x", 1) != 1)
                r = -errno;
        close(go[1]);
        if (waitpid(pid, &st, 0) < 0)
                return un_error(err, errno, "waitpid");
        if (r < 0)
                return un_error(err, r, "cannot enter the node's user namespace to remove %s", n->data_dir);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                return un_error(err, EPERM, "cannot remove %s from inside the node's user namespace", n->data_dir);
        return 0;
}

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
            (s.state == NODE_STARTING || s.state == NODE_RUNNING || s.state == NODE_STOPPING)) {
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

/* The node's recorded processes that are still ours: waited for, a bounded time. */
static int node_wait_processes_gone(const struct node_status *s, const char *name, struct un_error *err) {
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

int node_down(const char *name, bool purge, FILE *out, struct un_error *err) {
        struct node n;
        struct node_status s = {};
        struct node_api api = {};
        _cleanup_free_ char *kubeconfig = NULL;
        bool have_status, running, joined = false;
        int unit;
        int r;

        r = node_open(name, &n, err);
        if (r < 0)
                return r;
        kubeconfig = node_kubeconfig_path(&n);
        if (access(n.runtime_dir, F_OK) < 0 && access(n.data_dir, F_OK) < 0) {
                r = un_error(err, ENOENT, "no node named '%s'", name);
                goto out;
        }
        have_status = node_status_read(&n, &s, NULL) >= 0;
        running = node_is_locked(&n);
        /* A joined node leaves its cluster: its credentials are read now, before the purge removes them. */
        if (purge && have_status && streq_ptr(s.engine, "kubelet") && node_api_open(n.data_dir, NULL, name, &api, NULL) >= 0)
                joined = true;
        if (running && (!have_status || s.pids[NODE_PID_SUPERVISOR] <= 0)) {
                /* A supervisor on its way out has cleared its PIDs (or, on a full disk, could not write its
                 * status at all) but holds the lock a moment longer. */
                for (int i = 0; i < DOWN_BOUND_MS / 10 && running; i++) {
                        usleep(10000);
                        running = node_is_locked(&n);
                }
        }
        if (running) {
                pid_t sup = have_status ? s.pids[NODE_PID_SUPERVISOR] : 0;

                if (sup <= 0) {
                        r = un_error(err, ESRCH, "node '%s' runs but its status names no supervisor", name);
                        goto out;
                }
                if (purge) {
                        _cleanup_free_ char *marker = node_runtime_path(&n, "purge");
                        _cleanup_close_ int fd = -EBADF;

                        fd = marker ? open(marker, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600) : -ENOMEM;
                        if (fd < 0) {
                                r = un_error(err, fd == -ENOMEM ? ENOMEM : errno, "cannot mark node for purge");
                                goto out;
                        }
                }
                /* A node that runs as a user unit stops through its manager, or the unit restarts it. */
                unit = userunit_stop(&n, err);
                if (unit < 0) {
                        r = unit;
                        goto out;
                }
                if (unit == 0) {
                        /* Only the process that holds this node's lock: status.json could name anyone. */
                        _cleanup_close_ int pidfd = node_supervisor_pidfd(&n, sup);

                        if (pidfd < 0) {
                                /* A supervisor on its way out closed its files (the lock) a moment before its
                                 * lock is released: wait for that, bounded, before calling it a stranger. */
                                for (int i = 0; i < DOWN_BOUND_MS / 10 && node_is_locked(&n); i++)
                                        usleep(10000);
                                if (!node_is_locked(&n))
                                        goto stopped;
                                r = un_error(err, -pidfd == ESRCH || -pidfd == EPERM ? ESRCH : -pidfd,
                                             "node '%s' is locked, but PID %d named in its status is not its "
                                             "supervisor: not signalling it", name, (int) sup);
                                goto out;
                        }
                        if (syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0) < 0 && errno != ESRCH) {
                                r = un_error(err, errno, "cannot signal the supervisor (PID %d)", (int) sup);
                                goto out;
                        }
                }
                if (pid_wait_gone(sup, DOWN_BOUND_MS) != 1) {
                        /* Its process group holds everything it started; each child dies with its parent. */
                        kill(-sup, SIGKILL);
                        (void) pid_wait_gone(sup, 2000);
                        fprintf(out, "usernode: node '%s' did not stop within %d ms: killed\n", name, DOWN_BOUND_MS);
                }
        }
stopped:
        /* Nothing is removed while a process of the node still runs: its processes die with the supervisor
         * (a killed one included), a moment after it. */
        if (purge && have_status) {
                r = node_wait_processes_gone(&s, name, err);
                if (r < 0)
                        goto out;
        }
        /* A unit waiting to restart a node that failed stops too: nothing starts behind the user's back. */
        if (!running) {
                unit = userunit_stop(&n, err);
                if (unit < 0) {
                        r = unit;
                        goto out;
                }
        }
        if (joined) {
                struct un_error e = {};

                /* Once the kubelet is gone: a running kubelet would only post its status again. */
                if (node_api_delete(&api, &e) < 0)
                        fprintf(out, "usernode: node '%s' could not remove itself from its cluster (%s); an admin "
                                "can: kubectl delete node %s\n", name, e.msg, name);
        }
        if (purge) {
                if (access(n.data_dir, F_OK) == 0) {
                        r = node_purge_files(&n, err);
                        if (r < 0)
                                goto out;
                }
                if (node_rm_rf(n.runtime_dir) < 0 || access(n.runtime_dir, F_OK) == 0 ||
                    access(n.data_dir, F_OK) == 0) {
                        r = un_error(err, EBUSY, "could not remove all of %s and %s", n.runtime_dir, n.data_dir);
                        goto out;
                }
                if (kubeconfig)
                        (void) unlink(kubeconfig);
        } else if (!running)
                fprintf(out, "usernode: node '%s' is not running\n", name);
        r = 0;
out:
        node_api_done(&api);

        node_status_done(&s);
        node_done(&n);
        return r;
}

int node_exec(const char *name, char **argv, struct un_error *err) {
        static const struct {
                const char *name;
                int type;
        } nss[] = {
                /* The user namespace first: it grants the rights to enter the others. */
                { "user", CLONE_NEWUSER }, { "mnt", CLONE_NEWNS },  { "net", CLONE_NEWNET },
                { "pid", CLONE_NEWPID },   { "uts", CLONE_NEWUTS }, { "ipc", CLONE_NEWIPC },
                { "cgroup", CLONE_NEWCGROUP },
        };
        struct node_status s;
        int fds[ELEMENTSOF(nss)], r, st;
        pid_t child, pid;

        r = node_status_get(name, &s, err);
        if (r < 0)
                return r;
        child = s.pids[NODE_PID_CHILD];
        if (s.state != NODE_RUNNING && s.state != NODE_STARTING) {
                node_status_done(&s);
                return un_error(err, ESRCH, "node '%s' is %s, not running", name, node_state_to_string(s.state));
        }
        if (child <= 0) {
                node_status_done(&s);
                return un_error(err, ESRCH, "node '%s' has no namespaces (yet)", name);
        }
        if (s.containerd_socket)
                (void) setenv("CONTAINERD_ADDRESS", s.containerd_socket, 0);
        node_status_done(&s);
        for (size_t i = 0; i < ELEMENTSOF(nss); i++) {
                char path[64];

                snprintf(path, sizeof path, "/proc/%d/ns/%s", (int) child, nss[i].name);
                fds[i] = open(path, O_RDONLY | O_CLOEXEC);
                if (fds[i] < 0) {
                        r = un_error(err, errno, "cannot open %s", path);
                        for (size_t j = 0; j < i; j++)
                                close(fds[j]);
                        return r;
                }
        }
        r = 0;
        for (size_t i = 0; i < ELEMENTSOF(nss); i++) {
                if (r >= 0 && setns(fds[i], nss[i].type) < 0)
                        r = un_error(err, errno, "cannot enter the node's %s namespace", nss[i].name);
                close(fds[i]);
        }
        if (r < 0)
                return r;
        if (chdir("/") < 0)
                return un_error(err, errno, "chdir /");
        /* Entering a PID namespace takes effect for children only. */
        fflush(NULL);
        pid = fork();
        if (pid < 0)
                return un_error(err, errno, "fork");
        if (pid == 0) {
                execvp(argv[0], argv);
                fprintf(stderr, "usernode exec: cannot run %s: %s\n", argv[0], strerror(errno));
                _exit(127);
        }
        signal(SIGINT, SIG_IGN);
        signal(SIGQUIT, SIG_IGN);
        while (waitpid(pid, &st, 0) < 0)
                if (errno != EINTR)
                        return un_error(err, errno, "waitpid");
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The checks run in a child while the node starts: both take ~100 ms and neither needs the other.
 * The child writes "ok", "usage MSG" or "internal MSG", then one "fail ID" line per failing check. */
int up_preflight_start(const struct up_options *o, struct up_preflight *p, struct un_error *err) {
        int fds[2];
        pid_t pid;

        *p = (struct up_preflight) { .fd = -EBADF, .pidfd = -EBADF };
        if (pipe2(fds, O_CLOEXEC) < 0)
                return un_error(err, errno, "pipe");
        fflush(NULL);
        pid = fork();
        if (pid < 0) {
                close(fds[0]);
                close(fds[1]);
                return un_error(err, errno, "fork");
        }
        if (pid == 0) {
                _cleanup_strv_free_ char **failed = NULL, **labels = NULL;
                struct un_error e = {};
                FILE *f;
                int r;

                close(fds[0]);
                f = fdopen(fds[1], "w");
                if (!f)
                        _exit(3);
                r = up_preflight(o, &failed, &labels, &e);
                if (r < 0)
                        fprintf(f, "%s %s\n", r == -EINVAL ? "usage" : "internal", e.msg);
                else {
                        fputs("ok\n", f);
                        for (char **i = failed; i && *i; i++)
                                fprintf(f, "fail %s\n", *i);
                        for (char **i = labels; i && *i; i++)
                                fprintf(f, "label %s\n", *i);
                }
                _exit(fclose(f) == 0 ? 0 : 3);
        }
        close(fds[1]);
        p->pid = pid;
        p->fd = fds[0];
        p->pidfd = pidfd_open_pid(pid);
        return 0;
}

static void preflight_parse(struct up_preflight *p) {
        char *cursor = p->out.data, *line, *arg;

        p->result = -EIO;
        while (cursor && (line = line_next(&cursor, 4096, NULL))) {
                if (strcmp(line, "ok") == 0)
                        p->result = 0;
                else if ((arg = (char *) startswith(line, "usage ")) || (arg = (char *) startswith(line, "internal "))) {
                        p->result = line[0] == 'u' ? -EINVAL : -EIO;
                        free(p->error);
                        p->error = strdup(arg);
                } else if ((arg = (char *) startswith(line, "fail ")) && strv_push(&p->failed, arg) < 0)
                        p->result = -ENOMEM;
                else if ((arg = (char *) startswith(line, "label ")) && strv_push(&p->labels, arg) < 0)
                        p->result = -ENOMEM;
        }
        if (p->result == -EIO && !p->error)
                p->error = strdup("the checks did not finish");
}

int up_preflight_read(struct up_preflight *p) {
        char chunk[4096];
        ssize_t n;

        if (p->done)
                return 1;
        n = read(p->fd, chunk, sizeof chunk);
        if (n < 0)
                return errno == EINTR || errno == EAGAIN ? 0 : -errno;
        if (n > 0) {
                if (p->out.len + (size_t) n > 1024 * 1024 || buf_append(&p->out, chunk, (size_t) n) < 0)
                        return -ENOMEM;
                return 0;
        }
        close(p->fd);
        p->fd = -EBADF;
        (void) waitpid(p->pid, NULL, 0);
        p->pid = 0;
        if (buf_append(&p->out, "", 1) < 0)
                return -ENOMEM;
        preflight_parse(p);
        p->done = true;
        return 1;
}

int up_preflight_finish(struct up_preflight *p) {
        int r;

        while ((r = up_preflight_read(p)) == 0) {
                struct pollfd pf = { .fd = p->fd, .events = POLLIN };

                (void) poll(&pf, 1, -1);
        }
        return r;
}

void up_preflight_done(struct up_preflight *p) {
        if (p->fd >= 0)
                close(p->fd);
        if (p->pidfd >= 0)
                close(p->pidfd);
        if (p->pid > 0) {
                kill(p->pid, SIGKILL);
                (void) waitpid(p->pid, NULL, 0);
        }
        buf_free(&p->out);
        strv_free(p->failed);
        strv_free(p->labels);
        free(p->error);
        *p = (struct up_preflight) { .fd = -EBADF, .pidfd = -EBADF };
}

int up_preflight_save_labels(const struct up_preflight *p, const struct node *n) {
        _cleanup_free_ char *path = node_runtime_path(n, "features");
        struct host h = { .root_fd = -EBADF };
        struct buf b = {};
        int r;

        if (!p->done || p->result < 0 || !path)
                return -EINVAL;
        for (char **i = p->labels; i && *i; i++)
                if (buf_printf(&b, "%s\n", *i) < 0) {
                        buf_free(&b);
                        return -ENOMEM;
                }
        r = host_init(&h, "/", NULL);
        if (r >= 0)
                r = host_write_runtime(&h, path, b.data ? b.data : "", b.len, 0600, NULL);
        host_done(&h);
        buf_free(&b);
        return r;
}
