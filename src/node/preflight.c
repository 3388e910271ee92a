/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The checks of `up`, run in a child beside the node's start: both take ~100 ms and neither needs the
 * other. Their verdict decides whether the node may run, and their feature labels go to the node. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"
#include "process.h"
#include "report.h"
#include "rules.h"
#include "up.h"
#include "util.h"

/* The checks for o's engine: the IDs of the failing ones that o does not ignore, and one label per feature. */
static int preflight_run_checks(const struct up_options *o, char ***ret_failed, char ***ret_labels,
                                struct un_error *err) {
        struct check_ctx ctx = {};
        struct report report = {};
        _cleanup_strv_free_ char **failed = NULL, **labels = NULL;
        _cleanup_free_ struct feature_result *features = NULL;
        const char *unknown = NULL;
        int r;

        ctx.host = host_live();
        ctx.engine = o->engine;
        r = user_lookup_default(ctx.host, &ctx.user, err);
        if (r >= 0)
                r = distro_load(ctx.host, &ctx.distro);
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
        if (r < 0)
                return err && err->code ? -err->code : un_error(err, -r, "checks");
        *ret_failed = TAKE_PTR(failed);
        *ret_labels = TAKE_PTR(labels);
        return 0;
}

/* The child writes "ok", "usage MSG" or "internal MSG", then one "fail ID" line per failing check and one
 * "label L" line per feature. */
int preflight_start(const struct up_options *o, struct preflight *p, struct un_error *err) {
        int fds[2];
        pid_t pid;

        *p = (struct preflight) { .fd = -EBADF, .pidfd = -EBADF };
        if (pipe2(fds, O_CLOEXEC) < 0)
                return un_error(err, errno, "pipe");
        fflush(NULL);
        /* The checks die with the `up` that waits for them. */
        pid = proc_fork(NULL, NULL, PROC_DEATHSIG, -1);
        if (pid < 0) {
                close(fds[0]);
                close(fds[1]);
                return un_error(err, -pid, "fork");
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
                r = preflight_run_checks(o, &failed, &labels, &e);
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

static void preflight_parse(struct preflight *p) {
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

int preflight_read(struct preflight *p) {
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

int preflight_finish(struct preflight *p) {
        int r;

        while ((r = preflight_read(p)) == 0) {
                struct pollfd pf = { .fd = p->fd, .events = POLLIN };

                (void) poll(&pf, 1, -1);
        }
        return r;
}

bool preflight_refused(const struct preflight *p) {
        return p->result < 0 || (p->failed && p->failed[0]);
}

void preflight_done(struct preflight *p) {
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
        *p = (struct preflight) { .fd = -EBADF, .pidfd = -EBADF };
}

int preflight_save_labels(const struct preflight *p, const struct node *n) {
        _cleanup_free_ char *path = node_runtime_path(n, "features");
        const struct host *h = host_live();
        struct buf b = {};
        int r;

        if (!p->done || p->result < 0 || !path)
                return -EINVAL;
        for (char **i = p->labels; i && *i; i++)
                if (buf_printf(&b, "%s\n", *i) < 0) {
                        buf_free(&b);
                        return -ENOMEM;
                }
        r = host_write_runtime(h, path, b.data ? b.data : "", b.len, 0600, NULL);
        buf_free(&b);
        return r;
}
