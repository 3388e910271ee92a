/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The plan a setup or unsetup run makes before it touches anything: every file's old and new content,
 * every runtime setting, every tool to run. The planners (plan-*.c) fill it; the steps here apply it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "command.h"
#include "setup-internal.h"

void setup_plan_change_done(struct change *c) {
        free(c->path);
        free(c->old);
        free(c->new);
        free(c->line);
        *c = (struct change) {};
}

void setup_plan_done(struct plan *p) {
        for (size_t i = 0; i < p->n_changes; i++)
                setup_plan_change_done(&p->changes[i]);
        free(p->changes);
        for (size_t i = 0; i < p->n_sysctls; i++) {
                free(p->sysctls[i].key);
                free(p->sysctls[i].prev);
                free(p->sysctls[i].value);
        }
        free(p->sysctls);
        strv_free(p->dirs);
        strv_free(p->modprobe);
        strv_free(p->apparmor);
        strv_free(p->notes);
        strv_free(p->todo);
        *p = (struct plan) {};
}

int setup_plan_note(char ***l, const char *fmt, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;

        va_start(ap, fmt);
        s = xstrdup_vprintf(fmt, ap);
        va_end(ap);
        if (!s)
                return -ENOMEM;
        return strv_contains(*l, s) ? 0 : strv_push(l, s);
}

int setup_plan_read_target(const struct host *h, const char *path, size_t max, struct change *c,
                           struct un_error *err) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        c->mode = 0644;
        c->uid = (uid_t) -1;
        c->gid = (gid_t) -1;
        fd = host_open(h, path, O_PATH | O_NOFOLLOW, 0, HOST_NO_SYMLINKS);
        if (fd == -ENOENT || fd == -ENOTDIR) {
                c->existed = false;
                return 0;
        }
        if (fd == -ELOOP)
                return un_error(err, ELOOP, "refusing to touch %s: it, or a directory on its way, is a symlink", path);
        if (fd < 0)
                return un_error(err, -fd, "cannot open %s", path);
        if (fstat(fd, &st) < 0)
                return un_error(err, errno, "cannot stat %s", path);
        if (S_ISLNK(st.st_mode))
                return un_error(err, ELOOP, "refusing to touch %s: it is a symlink", path);
        if (!S_ISREG(st.st_mode))
                return un_error(err, EINVAL, "refusing to touch %s: not a regular file", path);
        if ((uint64_t) st.st_size > max)
                return un_error(err, EFBIG, "%s is larger than %zu bytes", path, max);
        r = host_read_file(h, path, max, &c->old, &c->old_len);
        if (r < 0)
                return un_error(err, -r, "cannot read %s", path);
        c->existed = true;
        c->mode = st.st_mode & 07777;
        c->uid = st.st_uid;
        c->gid = st.st_gid;
        return 0;
}

bool setup_plan_is_ours(const struct change *c) {
        return c->existed && startswith(c->old, OURS);
}

int setup_plan_read_own_file(const struct host *h, struct change *c, struct plan *p, struct un_error *err) {
        int r = setup_plan_read_target(h, c->path, SMALL_FILE_MAX, c, err);

        if (r < 0)
                return r;
        if (!c->existed || setup_plan_is_ours(c))
                return 0;
        r = setup_plan_note(&p->notes, "warning: %s exists and was not written by usernode: left alone", c->path);
        return r < 0 ? r : 1;
}

bool setup_plan_unchanged(const struct change *c, const char *new, size_t new_len) {
        return c->existed && new && c->old_len == new_len && memcmp(c->old, new, new_len) == 0;
}

int setup_plan_push(struct plan *p, struct change *c) {
        struct change *n = realloc(p->changes, (p->n_changes + 1) * sizeof *n);

        if (!n)
                return -ENOMEM;
        p->changes = n;
        p->changes[p->n_changes++] = *c;
        *c = (struct change) {};
        return 0;
}

int setup_plan_add_change(struct plan *p, struct change *c, char *new, size_t new_len) {
        int r;

        if (setup_plan_unchanged(c, new, new_len)) {
                free(new);
                setup_plan_change_done(c);
                return 0;
        }
        c->new = new;
        c->new_len = new_len;
        r = setup_plan_push(p, c);
        if (r < 0)
                setup_plan_change_done(c);
        return r;
}

int setup_plan_add_own_change(struct plan *p, struct change *c, char *new) {
        size_t len;
        bool changed;
        int r;

        if (!new) {
                setup_plan_change_done(c);
                return 0;
        }
        len = strlen(new);
        c->shared = true;
        changed = !setup_plan_unchanged(c, new, len);
        r = setup_plan_add_change(p, c, new, len);
        return r < 0 ? r : changed;
}

int setup_plan_add_own_file(const struct host *h, struct plan *p, const char *path, char *new,
                            struct un_error *err) {
        struct change c = { .path = strdup(path) };
        int r;

        r = c.path && new ? setup_plan_read_own_file(h, &c, p, err) : -ENOMEM;
        if (r != 0) {
                free(new);
                setup_plan_change_done(&c);
                return r < 0 ? r : 0;
        }
        return setup_plan_add_own_change(p, &c, new);
}

/* Adds line + '\n'; the manifest records the line, so that unsetup takes back just that. */
int setup_plan_add_line(const struct host *h, const char *path, const char *line, const char *exists_prefix,
                        struct plan *p, struct un_error *err) {
        struct change c = { .path = strdup(path) };
        char *new = NULL;
        size_t len;
        int r;

        if (!c.path)
                return -ENOMEM;
        r = setup_plan_read_target(h, path, SUBID_FILE_MAX, &c, err);
        if (r < 0)
                goto out;
        if (c.existed && exists_prefix) {
                const char *hit = strstr(c.old, exists_prefix);

                if (hit && (hit == c.old || hit[-1] == '\n')) {
                        r = 0;
                        goto out;
                }
        }
        c.line = strdup(line);
        if (!c.line) {
                r = -ENOMEM;
                goto out;
        }
        c.line_created = !c.existed;
        if (!c.existed)
                c.mode = 0644;
        r = setup_text_append_line(c.old, c.old_len, line, &new, &len, &c.added_eol);
        if (r < 0)
                goto out;
        return setup_plan_add_change(p, &c, new, len);
out:
        setup_plan_change_done(&c);
        return r;
}

int setup_plan_add_sysctl(struct plan *p, const char *key, const char *prev, const char *value) {
        struct manifest_sysctl *n = realloc(p->sysctls, (p->n_sysctls + 1) * sizeof *n), *s;

        if (!n)
                return -ENOMEM;
        p->sysctls = n;
        s = &n[p->n_sysctls++];
        *s = (struct manifest_sysctl) { .key = strdup(key), .prev = strdup(prev), .value = strdup(value) };
        return s->key && s->prev && s->value ? 0 : -ENOMEM;
}

struct change *setup_plan_find(struct plan *p, const char *path) {
        for (size_t i = 0; i < p->n_changes; i++)
                if (strcmp(p->changes[i].path, path) == 0)
                        return &p->changes[i];
        return NULL;
}

void setup_plan_drop_unchanged(struct plan *p) {
        for (size_t i = 0; i < p->n_changes;) {
                struct change *c = &p->changes[i];

                if (setup_plan_unchanged(c, c->new, c->new_len)) {
                        setup_plan_change_done(c);
                        memmove(c, c + 1, (p->n_changes - i - 1) * sizeof *c);
                        p->n_changes--;
                } else
                        i++;
        }
}

int setup_plan_missing_dirs(const struct host *h, const char *path, char ***dirs) {
        _cleanup_free_ char *p = strdup(path);
        char *slash;

        if (!p)
                return -ENOMEM;
        for (slash = strchr(p + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
                *slash = '\0';
                if (!host_exists(h, p) && !strv_contains(*dirs, p) && strv_push(dirs, p) < 0)
                        return -ENOMEM;
                *slash = '/';
        }
        return 0;
}

void setup_plan_test_step(const char *step, const char *arg) {
#ifdef ENABLE_TEST_HOOKS
        /* Crash-consistency tests: trace every step, or die at one (USERNODE_TEST_CRASH_AT=write:/etc/subuid). */
        const char *trace = secure_getenv("USERNODE_TEST_TRACE"), *crash = secure_getenv("USERNODE_TEST_CRASH_AT");
        char name[512];

        snprintf(name, sizeof name, "%s%s%s", step, arg ? ":" : "", arg ? arg : "");
        if (trace && *trace) {
                int fd = open(trace, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

                if (fd >= 0) {
                        dprintf(fd, "%s\n", name);
                        close(fd);
                }
        }
        if (crash && strcmp(crash, name) == 0)
                _exit(99);
#else
        (void) step;
        (void) arg;
#endif
}

int setup_plan_write_change(const struct host *h, const struct change *c, struct un_error *err) {
        setup_plan_test_step("write", c->path);
        if (!c->new) {
                int r = host_unlink(h, c->path, err);

                return r == -ENOENT ? 0 : r;
        }
        return host_write_atomic(h, c->path, c->new, c->new_len, c->mode, c->uid, c->gid, err);
}

char *setup_plan_sysctl_path(const char *key) {
        char *p = xstrdup_printf("/proc/sys/%s", key);

        for (char *c = p ? p + 10 : NULL; c && *c; c++)
                if (*c == '.')
                        *c = '/';
        return p;
}

int setup_plan_write_sysctl(const struct host *h, const char *key, const char *value) {
        _cleanup_free_ char *path = setup_plan_sysctl_path(key);
        _cleanup_close_ int fd = -EBADF;
        size_t n = strlen(value);

        if (!path)
                return -ENOMEM;
        fd = host_open(h, path, O_WRONLY | O_NOCTTY, 0, HOST_NO_SYMLINKS);
        if (fd < 0)
                return fd;
        if (write(fd, value, n) != (ssize_t) n)
                return negative_errno();
        return 0;
}

int setup_plan_run_tool(const struct host *h, const char *name, const char *a1, const char *a2, struct plan *p) {
        _cleanup_free_ char *exe = NULL;
        char *argv[4] = { NULL, (char *) a1, (char *) a2, NULL };
        int status = 0, r;

        r = host_find_executable(h, name, &exe);
        if (r < 0)
                return setup_plan_note(&p->notes, "%s is not installed: could not run %s %s %s", name, name, a1,
                                       strempty(a2));
        argv[0] = exe;
        r = spawn_capture(argv, 64 * 1024, 30000, false, NULL, &status);     /* modprobe: needs root */
        if (r < 0 || status != 0)
                return setup_plan_note(&p->notes, "warning: %s %s%s%s failed (%s)", name, a1, a2 ? " " : "",
                                       strempty(a2), r < 0 ? strerror(-r) : "non-zero exit status");
        return 0;
}
