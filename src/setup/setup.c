/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `setup` computes a plan (every file's old and new content, every setting), prints it under
 * --dry-run, and otherwise applies it in an order a crash cannot spoil: the manifest (with the old
 * contents) first, then each file atomically, then the runtime settings. A rerun finds what is
 * already done and finishes the rest; the manifest keeps the oldest "before" of every file. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <shadow.h>
#include <stdarg.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bus.h"
#include "cgroup.h"
#include "diff.h"
#include "manifest.h"
#include "cgroup-probe.h"
#include "setup-internal.h"
#include "sha256.h"
#include "command.h"
#include "subid.h"
#include "sysctl.h"
#include "template.h"
#include "users.h"

void plan_done(struct plan *p) {
        for (size_t i = 0; i < p->n_changes; i++) {
                free(p->changes[i].path);
                free(p->changes[i].old);
                free(p->changes[i].new);
                free(p->changes[i].line);
        }
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

static void test_step(const char *step, const char *arg) {
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

int note(char ***l, const char *fmt, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        return strv_contains(*l, s) ? 0 : strv_push(l, s);
}

/* Reads a file setup may rewrite: never through a symlink, only regular files, bounded. */
int read_target(const struct host *h, const char *path, size_t max, struct change *c, struct un_error *err) {
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

static bool is_ours(const struct change *c) {
        return c->existed && startswith(c->old, OURS);
}

/* Adds a change when new differs from what is on disk; takes ownership of new. */
static int plan_change(struct plan *p, struct change *c, char *new, size_t new_len) {
        struct change *n;

        if (c->existed && new && c->old_len == new_len && memcmp(c->old, new, new_len) == 0) {
                free(new);
                free(c->path);
                free(c->old);
                free(c->line);
                *c = (struct change) {};
                return 0;
        }
        n = realloc(p->changes, (p->n_changes + 1) * sizeof *n);
        if (!n) {
                free(new);
                return -ENOMEM;
        }
        p->changes = n;
        c->new = new;
        c->new_len = new_len;
        p->changes[p->n_changes++] = *c;
        *c = (struct change) {};
        return 0;
}

static int missing_dirs(const struct host *h, const char *path, char ***dirs) {
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

/* Adds line + '\n' at the end; before the last line when that one lacks its '\n', so that every byte
 * of the old file stays as it was and removing "line\n" later restores it exactly. */
static int text_append_line(const char *old, size_t len, const char *line, char **ret, size_t *ret_len,
                            bool *ret_added_eol) {
        struct buf b = {};
        size_t at = len;

        if (len > 0 && old[len - 1] != '\n') {
                const char *nl = memrchr(old, '\n', len);

                at = nl ? (size_t) (nl - old) + 1 : 0;
        }
        if (buf_append(&b, old ? old : "", at) < 0 || buf_puts(&b, line) < 0 || buf_puts(&b, "\n") < 0 ||
            buf_append(&b, old ? old + at : "", len - at) < 0) {
                buf_free(&b);
                return -ENOMEM;
        }
        *ret_added_eol = false;
        *ret_len = b.len;
        *ret = buf_steal(&b);
        return 0;
}

/* Removes the last whole line equal to line; undoes an added '\n' when it was the last line. */
int text_remove_line(const char *old, size_t len, const char *line, bool added_eol, char **ret,
                            size_t *ret_len) {
        size_t n = strlen(line), found = SIZE_MAX;
        struct buf b = {};

        for (size_t pos = 0; pos < len;) {
                const char *nl = memchr(old + pos, '\n', len - pos);
                size_t k = nl ? (size_t) (nl - old - pos) : len - pos;

                if (k == n && memcmp(old + pos, line, n) == 0)
                        found = pos;
                pos += k + 1;
        }
        if (found == SIZE_MAX)
                return -ENOENT;
        if (buf_append(&b, old, found) < 0) {
                buf_free(&b);
                return -ENOMEM;
        }
        if (found + n + 1 < len) {
                if (buf_append(&b, old + found + n + 1, len - found - n - 1) < 0) {
                        buf_free(&b);
                        return -ENOMEM;
                }
        } else if (added_eol && b.len > 0 && b.data[b.len - 1] == '\n')
                b.data[--b.len] = '\0';
        *ret_len = b.len;
        *ret = buf_steal(&b);
        return *ret ? 0 : -ENOMEM;
}

static int login_defs_u32(const struct host *h, const char *key, uint32_t def, uint32_t *ret) {
        _cleanup_free_ char *text = NULL;
        char *cursor, *line;
        int r = 0;

        *ret = def;
        if (host_read_file(h, "/etc/login.defs", SMALL_FILE_MAX, &text, NULL) < 0)
                return 0;
        cursor = text;
        while ((line = line_next(&cursor, HOST_LINE_MAX, &r))) {
                _cleanup_strv_free_ char **w = NULL;
                uint32_t v;

                if (strv_split(line, " \t", &w) < 0)
                        return -ENOMEM;
                if (strv_length(w) >= 2 && strcmp(w[0], key) == 0 && parse_u32(w[1], &v) >= 0)
                        *ret = v;
        }
        return 0;
}

int setup_parse_delegate(const char *list, char **ret) {
        _cleanup_free_ char *copy = strdup(list);
        unsigned mask, unknown = 0;

        if (!copy)
                return -ENOMEM;
        if (strlen(list) > 256)
                return -EINVAL;
        for (char *c = copy; *c; c++)
                if (*c == ',')
                        *c = ' ';
        mask = controllers_from_string(copy, &unknown);
        if (mask == 0 || unknown)
                return -EINVAL;
        *ret = controllers_to_string(mask);
        return *ret ? 0 : -ENOMEM;
}

/* The delegation drop-in, and any drop-in that sorts after ours and sets Delegate= (it wins). */
static int plan_dropin(const struct host *h, const struct setup_options *o, uid_t uid, struct plan *p,
                       bool *ret_changed, struct un_error *err) {
        static const char *const unit_dirs[] = { "/etc/systemd/system", "/run/systemd/system",
                                                 "/usr/local/lib/systemd/system", "/usr/lib/systemd/system",
                                                 "/lib/systemd/system" };
        const char *base = strrchr(SETUP_DROPIN, '/') + 1;
        struct change c = { .path = strdup(SETUP_DROPIN) };
        char *new;
        int r;

        *ret_changed = false;
        if (!c.path)
                return -ENOMEM;
        r = read_target(h, SETUP_DROPIN, SMALL_FILE_MAX, &c, err);
        if (r < 0)
                goto out;
        for (size_t i = 0; i < ELEMENTSOF(unit_dirs); i++)
                for (int per_user = 0; per_user < 2; per_user++) {
                        _cleanup_free_ char *dir = per_user ? xstrdup_printf("%s/user@%u.service.d", unit_dirs[i], uid)
                                                            : xstrdup_printf("%s/user@.service.d", unit_dirs[i]);
                        _cleanup_closedir_ DIR *d = NULL;
                        struct dirent *de;

                        if (!dir) {
                                r = -ENOMEM;
                                goto out;
                        }
                        if (host_opendir(h, dir, &d) < 0)
                                continue;
                        while ((de = readdir(d))) {
                                _cleanup_free_ char *path = NULL, *text = NULL;
                                size_t n = strlen(de->d_name);

                                if (n < 6 || strcmp(de->d_name + n - 5, ".conf") != 0 || strcmp(de->d_name, base) <= 0)
                                        continue;
                                path = xstrdup_printf("%s/%s", dir, de->d_name);
                                if (path && host_read_file(h, path, SMALL_FILE_MAX, &text, NULL) >= 0 &&
                                    (startswith(text, "Delegate=") || strstr(text, "\nDelegate=")))
                                        note(&p->notes, "warning: %s sets Delegate= and sorts after %s, so it "
                                             "overrides usernode's delegation; remove its Delegate= line or merge the "
                                             "lists", path, base);
                        }
                }
        if (c.existed && !is_ours(&c)) {
                r = note(&p->notes, "warning: %s exists and was not written by usernode: left alone", SETUP_DROPIN);
                goto out;
        }
        new = xstrdup_printf(OURS ": delegates cgroup controllers to user managers so that a rootless\n"
                             "# Kubernetes node can set resource limits. `usernode unsetup` removes it.\n"
                             "[Service]\nDelegate=%s\n",
                             o->delegate ? o->delegate : SETUP_DEFAULT_DELEGATE);
        if (!new) {
                r = -ENOMEM;
                goto out;
        }
        c.shared = true;
        *ret_changed = !c.existed || strlen(new) != c.old_len || memcmp(new, c.old, c.old_len) != 0;
        if (*ret_changed)
                p->reload = true;
        return plan_change(p, &c, new, strlen(new));
out:
        free(c.path);
        free(c.old);
        return r;
}

/* Host-wide networking changes only when the admin asks for them: the option that enables each. */
enum knob_option {
        KNOB_ALWAYS,
        KNOB_FAST_NET,          /* --fast-net: routing for the veth path (and k3s --rootless, which insists) */
        KNOB_PRIVILEGED_PORTS,  /* --privileged-ports */
};

struct knob {
        const char *key, *value;
        enum knob_option option;
};

static const struct knob knobs[] = {
        { "kernel.unprivileged_userns_clone", "1", KNOB_ALWAYS },
        { "user.max_user_namespaces", STRINGIFY(USERNS_MAX_DEFAULT), KNOB_ALWAYS },
        { "net.ipv4.ip_forward", "1", KNOB_FAST_NET },
        { "net.ipv4.ip_unprivileged_port_start", "0", KNOB_PRIVILEGED_PORTS },
};

char *sysctl_path(const char *key) {
        char *p = xstrdup_printf("/proc/sys/%s", key);

        for (char *c = p ? p + 10 : NULL; c && *c; c++)
                if (*c == '.')
                        *c = '/';
        return p;
}

/* Whether the host lacks the knob's setting; *ret_runtime gets the current value (NULL if unknown). */
static bool knob_lacking(const struct host *h, const struct knob *k, char **ret_runtime) {
        _cleanup_free_ char *path = sysctl_path(k->key), *v = NULL;
        uint64_t n;

        *ret_runtime = NULL;
        if (!path || host_read_line(h, path, &v) < 0) {
                /* Unknown (an image without /proc): only knobs that exist on every kernel are written. */
                return h->offline && startswith(k->key, "net.ipv4.");
        }
        *ret_runtime = strdup(strstrip(v));
        if (!*ret_runtime || parse_u64(*ret_runtime, &n) < 0)
                return false;
        if (strcmp(k->key, "net.ipv4.ip_unprivileged_port_start") == 0)
                return n > 0;
        if (strcmp(k->key, "user.max_user_namespaces") == 0)
                return n == 0;
        return strcmp(*ret_runtime, k->value) != 0;
}

static int plan_sysctl(const struct host *h, const struct setup_options *o, struct plan *p, struct un_error *err) {
        struct change c = { .path = strdup(SETUP_SYSCTL) };
        struct buf b = {};
        bool any = false;
        int r;

        if (!c.path)
                return -ENOMEM;
        r = read_target(h, SETUP_SYSCTL, SMALL_FILE_MAX, &c, err);
        if (r < 0)
                goto out;
        if (c.existed && !is_ours(&c)) {
                r = note(&p->notes, "warning: %s exists and was not written by usernode: left alone", SETUP_SYSCTL);
                goto out;
        }
        r = buf_puts(&b, OURS ": kernel settings a rootless Kubernetes node needs that this\n"
                         "# host lacked. `usernode unsetup` removes it.\n");
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(knobs); i++) {
                const struct knob *k = &knobs[i];
                _cleanup_free_ char *runtime = NULL, *line = xstrdup_printf("%s = %s\n", k->key, k->value);
                bool lacking, listed;

                if (!line) {
                        r = -ENOMEM;
                        break;
                }
                if ((k->option == KNOB_PRIVILEGED_PORTS && !o->privileged_ports) ||
                    (k->option == KNOB_FAST_NET && !o->fast_net))
                        continue;
                lacking = knob_lacking(h, k, &runtime);
                /* Once written, a setting stays in the file even though the host no longer lacks it. */
                listed = c.existed && strstr(c.old, line);
                if (!lacking && !listed)
                        continue;
                any = true;
                r = buf_puts(&b, line);
                /* Applied at once on the live host; under --root there is nothing running to change. */
                if (r >= 0 && lacking && runtime && !h->offline) {
                        struct manifest_sysctl *n = realloc(p->sysctls, (p->n_sysctls + 1) * sizeof *n);

                        if (!n) {
                                r = -ENOMEM;
                                break;
                        }
                        p->sysctls = n;
                        n[p->n_sysctls] = (struct manifest_sysctl) { strdup(k->key), strdup(runtime),
                                                                      strdup(k->value) };
                        if (!n[p->n_sysctls].key || !n[p->n_sysctls].prev || !n[p->n_sysctls].value)
                                r = -ENOMEM;
                        p->n_sysctls++;
                }
        }
        if (r < 0)
                goto out;
        if (!any) {
                r = 0;
                goto out;
        }
        c.shared = true;
        {
                size_t len = b.len;

                return plan_change(p, &c, buf_steal(&b), len);
        }
out:
        buf_free(&b);
        free(c.path);
        free(c.old);
        return r;
}

/* The modules the node needs (kmod.c's list, the one the kmod.<name> checks read): those not built
 * in go to SETUP_MODULES for every boot, and those not loaded are loaded now. */
static int plan_modules(const struct host *h, struct plan *p, struct un_error *err) {
        _cleanup_free_ char *release = NULL;
        const struct kmod_need *needs;
        struct change c = { .path = strdup(SETUP_MODULES) };
        struct kmod_db db = {};
        struct buf b = {};
        bool any = false;
        size_t n_needs;
        int r;

        if (!c.path)
                return -ENOMEM;
        r = read_target(h, SETUP_MODULES, SMALL_FILE_MAX, &c, err);
        if (r < 0)
                goto out;
        if (c.existed && !is_ours(&c)) {
                r = note(&p->notes, "warning: %s exists and was not written by usernode: left alone", SETUP_MODULES);
                goto out;
        }
        if (h->offline)
                (void) host_read_line(h, "/proc/sys/kernel/osrelease", &release);
        else {
                struct utsname u;

                if (uname(&u) >= 0)
                        release = strdup(u.release);
        }
        kmod_db_init(&db, h, release ? strstrip(release) : NULL);
        if (release && !db.release) {
                r = -ENOMEM;
                goto out;
        }

        r = buf_puts(&b, OURS ": kernel modules a rootless Kubernetes node needs and cannot\n"
                         "# load from inside its user namespace. `usernode unsetup` removes it.\n");
        needs = kmod_needs(&n_needs);
        for (size_t i = 0; r >= 0 && i < n_needs; i++) {
                const char *m = needs[i].name;
                _cleanup_free_ char *line = xstrdup_printf("%s\n", m);
                struct kmod_info info;
                bool module_lists;

                if (!line) {
                        r = -ENOMEM;
                        break;
                }
                r = kmod_lookup(&db, m, needs[i].config, &info);
                if (r < 0)
                        break;
                if (info.state == KMOD_BUILTIN)
                        continue;
                /* Without modules.dep and modules.builtin nothing says a module is absent: list it. */
                module_lists = db.dep || db.builtin;
                if (info.state == KMOD_ABSENT && module_lists && !(c.existed && strstr(c.old, line))) {
                        note(&p->notes, "module %s is neither built into kernel %s nor available as a module (%s)", m,
                             strna(db.release), info.source);
                        continue;
                }
                any = true;
                r = buf_puts(&b, line);
                if (r >= 0 && !h->offline && info.state != KMOD_LOADED)
                        r = strv_push(&p->modprobe, m);
        }
        if (r < 0)
                goto out;
        if (db.read_builtin && db.read_dep && !db.dep && !db.builtin)
                note(&p->notes, "no module list for kernel %s under /lib/modules: %s lists every module the "
                     "engine may need", strna(db.release), SETUP_MODULES);
        if (!any) {
                r = 0;
                goto out;
        }
        kmod_db_done(&db);
        c.shared = true;
        {
                size_t len = b.len;

                return plan_change(p, &c, buf_steal(&b), len);
        }
out:
        kmod_db_done(&db);
        buf_free(&b);
        free(c.path);
        free(c.old);
        return r;
}

static int plan_line(const struct host *h, const char *path, const char *line, const char *exists_prefix,
                     struct plan *p, struct un_error *err) {
        struct change c = { .path = strdup(path) };
        char *new = NULL;
        size_t len;
        int r;

        if (!c.path)
                return -ENOMEM;
        r = read_target(h, path, SUBID_FILE_MAX, &c, err);
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
        r = text_append_line(c.old, c.old_len, line, &new, &len, &c.added_eol);
        if (r < 0)
                goto out;
        return plan_change(p, &c, new, len);
out:
        free(c.path);
        free(c.old);
        free(c.line);
        return r;
}

/* Sub-IDs: a user with a good range is left alone; one without enough gets the lowest free range in
 * both files; an overlapping or self-containing range is the admin's to fix. */
static int plan_subids(const struct host *h, const struct setup_options *o, const struct user *u, struct plan *p,
                       struct un_error *err) {
        struct subid_file uf = {}, gf = {};
        struct id_table pw = {}, gr = {};
        struct subid_verdict uv, gv;
        uint32_t count = o->subids ? o->subids : SUBID_MIN_COUNT, min, start = 0;
        int r;

        r = login_defs_u32(h, "SUB_UID_MIN", SUBID_FIRST, &min);
        if (r < 0)
                return r;
        r = subid_file_load(h, "/etc/subuid", &uf, NULL, err);
        if (r >= 0)
                r = subid_file_load(h, "/etc/subgid", &gf, NULL, err);
        if (r < 0) {
                r = r == -ENOMEM ? r : -EBADMSG;
                goto out;
        }
        subid_evaluate(&uf, u->name, u->uid, u->uid, &uv);
        subid_evaluate(&gf, u->name, u->uid, u->gid, &gv);
        for (int g = 0; g < 2; g++) {
                const struct subid_verdict *v = g ? &gv : &uv;
                const char *path = g ? "/etc/subgid" : "/etc/subuid";

                if (v->overlap_mine) {
                        r = un_error(err, EEXIST, "%s:%u: %s's range %u-%u overlaps %s's range (line %u); fix it "
                                     "by hand (usermod --del-subuids/--del-subgids), then rerun setup",
                                     path, v->overlap_mine->line, u->name, v->overlap_mine->start,
                                     v->overlap_mine->start + v->overlap_mine->count - 1, v->overlap_other->owner,
                                     v->overlap_other->line);
                        goto out;
                }
                if (v->contains_own) {
                        r = un_error(err, EEXIST, "%s:%u: %s's range contains the user's own ID %u; fix it by hand, "
                                     "then rerun setup", path, v->contains_own->line, u->name,
                                     g ? (unsigned) u->gid : (unsigned) u->uid);
                        goto out;
                }
        }
        if (uv.total >= count && gv.total >= count)
                goto out;

        r = id_table_load(h, "/etc/passwd", true, &pw, err);
        if (r >= 0)
                r = id_table_load(h, "/etc/group", false, &gr, err);
        if (r < 0)
                goto out;
        /* A user with a range in one file only (a setup interrupted between the two writes, or an admin)
         * gets the same start in the other file when it is free there. */
        for (int g = 0; g < 2; g++) {
                const struct subid_verdict *have = g ? &uv : &gv;
                uint32_t s2;

                if (have->total >= count && have->best && have->best->count >= count &&
                    subid_find_free(g ? &gf : &uf, g ? &gr : &pw, have->best->start, count, &s2) >= 0 &&
                    s2 == have->best->start) {
                        start = s2;
                        goto write;
                }
        }
        /* One start free in both files, so that the user's UIDs and GIDs line up as usermod users expect. */
        for (unsigned i = 0; i < 1000; i++) {
                uint32_t a, b;

                r = subid_find_free(&uf, &pw, min, count, &a);
                if (r >= 0)
                        r = subid_find_free(&gf, &gr, a, count, &b);
                if (r < 0) {
                        r = un_error(err, -r, "no free range of %u sub-IDs at or above %u", count, min);
                        goto out;
                }
                if (a == b) {
                        start = a;
                        break;
                }
                min = b;
        }
write:
        for (int g = 0; g < 2; g++) {
                _cleanup_free_ char *line = NULL;

                if ((g ? gv.total : uv.total) >= count)
                        continue;
                line = xstrdup_printf("%s:%u:%u", u->name, start, count);
                r = line ? plan_line(h, g ? "/etc/subgid" : "/etc/subuid", line, NULL, p, err) : -ENOMEM;
                if (r < 0)
                        goto out;
        }
out:
        subid_file_done(&uf);
        subid_file_done(&gf);
        id_table_done(&pw);
        id_table_done(&gr);
        return r;
}

static const char *const apparmor_binaries[] = { "rootlesskit", "k3s", "pasta" };

static int plan_apparmor(const struct host *h, struct plan *p, struct un_error *err) {
        _cleanup_free_ char *restrict_ = NULL, *tmpl = NULL;
        int r;

        if (host_read_line(h, "/proc/sys/kernel/apparmor_restrict_unprivileged_userns", &restrict_) < 0 ||
            strcmp(strstrip(restrict_), "1") != 0)
                return 0;
        r = template_load("apparmor-userns.in", &tmpl, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(apparmor_binaries); i++) {
                _cleanup_free_ char *bin = NULL, *name = NULL, *path = NULL, *body = NULL, *new = NULL;
                struct change c = {};

                if (host_find_executable(h, apparmor_binaries[i], &bin) < 0)
                        continue;
                if (strpbrk(bin, " \t\n\"{}"))
                        continue;       /* cannot be written into a profile header safely */
                name = xstrdup_printf("usernode-%s", apparmor_binaries[i]);
                path = xstrdup_printf("/etc/apparmor.d/%s", name);
                if (!name || !path)
                        return -ENOMEM;
                r = template_render("apparmor-userns.in", tmpl,
                                    (const struct template_var[]) { { "profile_name", name }, { "binary", bin } }, 2,
                                    &body, err);
                if (r < 0)
                        return r;
                new = xstrdup_printf(OURS ": `usernode unsetup` removes it.\n%s", body);
                if (!new)
                        return -ENOMEM;
                c.path = TAKE_PTR(path);
                r = read_target(h, c.path, SMALL_FILE_MAX, &c, err);
                if (r >= 0 && c.existed && !is_ours(&c)) {
                        note(&p->notes, "warning: %s exists and was not written by usernode: left alone", c.path);
                        free(c.path);
                        free(c.old);
                        continue;
                }
                if (r < 0) {
                        free(c.path);
                        return r;
                }
                c.shared = true;
                if (!h->offline && !(c.existed && c.old_len == strlen(new) && memcmp(c.old, new, c.old_len) == 0) &&
                    strv_push(&p->apparmor, c.path) < 0)
                        return -ENOMEM;
                {
                        size_t len = strlen(new);

                        r = plan_change(p, &c, TAKE_PTR(new), len);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static const char *const lxc_user_nic_paths[] = {
        "/usr/lib/x86_64-linux-gnu/lxc/lxc-user-nic", "/usr/lib/aarch64-linux-gnu/lxc/lxc-user-nic",
        "/usr/libexec/lxc/lxc-user-nic", "/usr/lib/lxc/lxc-user-nic",
};

/* --fast-net: lxc-user-nic (setuid, from the lxc package) may give U up to 10 veths on usernode0, a
 * bridge systemd-networkd makes and masquerades. */
static int plan_fast_net(const struct host *h, const struct user *u, struct plan *p, struct un_error *err) {
        static const struct {
                const char *path, *body;
        } files[] = {
                { "/etc/systemd/network/50-" SETUP_BRIDGE ".netdev",
                  "[NetDev]\nName=" SETUP_BRIDGE "\nKind=bridge\n" },
                { "/etc/systemd/network/50-" SETUP_BRIDGE ".network",
                  "[Match]\nName=" SETUP_BRIDGE "\n\n[Network]\nAddress=10.44.0.1/24\nIPMasquerade=ipv4\n"
                  "ConfigureWithoutCarrier=yes\n"
                  /* rootlesskit's lxc-user-nic driver configures the node by DHCP, DNS included. */
                  "DHCPServer=yes\n\n[DHCPServer]\nPoolOffset=16\nEmitDNS=yes\n" },
        };
        _cleanup_free_ char *line = xstrdup_printf("%s veth %s 10", u->name, SETUP_BRIDGE);
        _cleanup_free_ char *prefix = xstrdup_printf("%s veth %s ", u->name, SETUP_BRIDGE);
        bool have_nic = false;
        int r;

        if (!line || !prefix)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(lxc_user_nic_paths); i++)
                have_nic = have_nic || host_exists(h, lxc_user_nic_paths[i]);
        if (!have_nic)
                note(&p->notes, "lxc-user-nic is not installed: install the lxc package for --fast-net to take effect");
        r = plan_line(h, SETUP_LXC_USERNET, line, prefix, p, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                struct change c = { .path = strdup(files[i].path) };
                char *new;

                if (!c.path)
                        return -ENOMEM;
                r = read_target(h, c.path, SMALL_FILE_MAX, &c, err);
                if (r >= 0 && c.existed && !is_ours(&c)) {
                        note(&p->notes, "warning: %s exists and was not written by usernode: left alone", c.path);
                        r = 1;
                }
                if (r != 0) {
                        free(c.path);
                        free(c.old);
                        if (r < 0)
                                return r;
                        continue;
                }
                new = xstrdup_printf(OURS ": the bridge for --fast-net. `usernode unsetup` removes it.\n%s",
                                     files[i].body);
                if (!new)
                        return -ENOMEM;
                c.shared = true;
                if (!c.existed || c.old_len != strlen(new) || memcmp(c.old, new, c.old_len) != 0)
                        p->networkd = true;
                r = plan_change(p, &c, new, strlen(new));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Linger: over the bus on a live host with logind; otherwise the file logind itself keeps. */
static int plan_linger(const struct host *h, sd_bus *bus, const struct user *u, struct plan *p, bool *ret_new,
                       struct un_error *err) {
        _cleanup_free_ char *path = xstrdup_printf(LINGER_DIR "/%s", u->name);
        struct change c = {};
        int r;

        *ret_new = false;
        if (!path)
                return -ENOMEM;
        if (host_exists(h, path))
                return 0;
        *ret_new = true;
        if (bus) {
                p->linger_bus = true;
                return 0;
        }
        c.path = TAKE_PTR(path);
        r = read_target(h, c.path, SMALL_FILE_MAX, &c, err);
        if (r < 0) {
                free(c.path);
                return r;
        }
        note(&p->todo, "logind reads %s/%s when it starts (or: loginctl enable-linger %s)", LINGER_DIR, u->name,
             u->name);
        return plan_change(p, &c, strdup(""), 0);
}

/* The wanted controllers that reach user@UID.service's cgroup but that the running manager does not give
 * its units: it learnt what it may use when it started, before they were delegated (check's
 * cgroup.delegation tells the same from the same probe). 0 when it cannot be told. */
static unsigned user_manager_lacks(const struct host *h, const struct user *u) {
        _cleanup_free_ char *mgr = cgroup_user_manager_path(CGROUP_LAYOUT_V2, u->uid), *file = NULL, *line = NULL;
        struct cgroup_probe probe;

        file = mgr ? xstrdup_printf("%s/cgroup.controllers", mgr) : NULL;
        if (!file || host_read_line(h, file, &line) < 0)
                return 0;
        if (cgroup_probe_run(h, u->uid, u->gid, u->name, &probe) < 0 || probe.unit.state != PROBE_OK)
                return 0;
        return CONTROLLERS_WANTED & controllers_from_string(line, NULL) & ~probe.unit_controllers;
}

/* Start a lingering user's manager that does not run, restart one that runs with the old delegation
 * when asked (--restart-user-manager), and otherwise say what the user has to do. */
static int plan_user_manager(const struct host *h, const struct setup_options *o, sd_bus *bus, const struct user *u,
                             bool dropin_changed, bool linger_new, struct plan *p) {
        _cleanup_free_ char *unit = xstrdup_printf("user@%u.service", (unsigned) u->uid), *state = NULL;
        _cleanup_free_ char *linger_file = xstrdup_printf(LINGER_DIR "/%s", u->name), *lacks_list = NULL;
        unsigned lacks;

        if (!unit || !linger_file)
                return -ENOMEM;
        if (bus_unit_active_state(bus, unit, &state, NULL) < 0)
                return 0;
        if (strcmp(state, "active") != 0 && strcmp(state, "activating") != 0) {
                /* Without linger a started manager has no session to keep it: logind's business, not
                 * ours. It starts with the user's next login. */
                if ((dropin_changed || linger_new) && (linger_new || host_exists(h, linger_file)))
                        p->manager = MANAGER_START;
                return 0;
        }
        lacks = dropin_changed ? 0 : user_manager_lacks(h, u);
        if (!dropin_changed && !lacks)
                return 0;
        if (o->restart_user_manager) {
                p->manager = MANAGER_RESTART;
                return 0;
        }
        lacks_list = controllers_to_string(lacks);
        if (!lacks_list)
                return -ENOMEM;
        if (lacks)
                return note(&p->notes, "%s runs without %s (it started before they were delegated, and never gives "
                            "them to its units): %s must log out of every session and back in, or rerun with "
                            "--restart-user-manager (stops %s's processes)",
                            unit, lacks_list, u->name, u->name);
        return note(&p->notes, "%s runs with the old delegation: %s must log out of every session and back in, or "
                    "rerun with --restart-user-manager (stops %s's processes)",
                    unit, u->name, u->name);
}

int manifest_load(const struct host *h, const char *path, struct manifest *ret, bool *ret_exists,
                         struct un_error *err) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        r = host_read_file(h, path, MANIFEST_MAX, &text, &len);
        if (r == -ENOENT) {
                *ret_exists = false;
                return 0;
        }
        if (r < 0)
                return un_error(err, -r, "cannot read %s", path);
        r = manifest_parse(text, len, ret, err);
        if (r < 0)
                return un_error_wrap(err, EBADMSG, "%s", path);
        *ret_exists = true;
        return 0;
}

/* Serializes setup/unsetup runs on one root. A flock on /etc itself: a directory that always exists,
 * so that taking the lock creates no file an unsetup would have to remove. */
int take_run_lock(const struct host *h, int *ret_fd, struct un_error *err) {
        int fd = host_open(h, "/etc", O_RDONLY | O_DIRECTORY, 0, HOST_NO_SYMLINKS);

        if (fd < 0)
                return un_error(err, -fd, "cannot open %s/etc", h->offline ? h->root : "");
        if (flock(fd, LOCK_EX) < 0) {
                int r = un_error(err, errno, "cannot lock /etc");

                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

/* The locks shadow's usermod --add-subuids takes: lckpwdf() on the live host, then subuid, subgid. */
int shadow_locks_take(const struct host *h, struct shadow_locks *l, struct un_error *err) {
        int r;

        *l = (struct shadow_locks) { .uid.dfd = -EBADF, .gid.dfd = -EBADF };
        if (!h->offline) {
                if (lckpwdf() < 0)
                        return un_error(err, errno, "cannot take the password file lock (/etc/.pwd.lock)");
                l->pwdf = true;
        }
        r = subid_lock_take(h, "/etc/subuid", &l->uid, err);
        if (r >= 0)
                r = subid_lock_take(h, "/etc/subgid", &l->gid, err);
        return r;
}

void shadow_locks_release(struct shadow_locks *l) {
        subid_lock_release(&l->gid);
        subid_lock_release(&l->uid);
        if (l->pwdf)
                (void) ulckpwdf();
        l->pwdf = false;
}

static int validate_user(const struct host *h, const struct setup_options *o, struct user *u, struct un_error *err) {
        uint32_t sys_max;
        int r;

        if (!o->user)
                return un_error(err, EINVAL, "--user is required");
        if (strchr(o->user, ':') || strchr(o->user, '\n'))
                return un_error(err, EINVAL, "invalid user name '%.64s': ':' and newlines cannot appear in /etc/subuid",
                                o->user);
        r = user_lookup(h, o->user, u, err);
        if (r < 0)
                return r;
        if (!valid_user_name(u->name)) {
                r = un_error(err, EINVAL, "user name '%.64s' cannot be written to /etc/subuid", u->name);
                user_done(u);
                return r;
        }
        r = login_defs_u32(h, "SYS_UID_MAX", 999, &sys_max);
        if (r >= 0 && !o->force && (u->uid == 0 || u->uid <= sys_max))
                r = un_error(err, EPERM, "refusing to set up %s: %s (UID %u%s); a rootless node is for an "
                             "ordinary login user (--force to insist)", u->name,
                             u->uid == 0 ? "that is root" : "a system user", (unsigned) u->uid,
                             u->uid == 0 ? "" : " <= SYS_UID_MAX from /etc/login.defs");
        if (r < 0)
                user_done(u);
        return r;
}

int print_changes(const struct plan *p, const char *manifest_path, const char *manifest_old,
                         size_t manifest_old_len, const char *manifest_new, size_t manifest_new_len, struct buf *out) {
        for (size_t i = 0; i < p->n_changes; i++) {
                const struct change *c = &p->changes[i];

                if (diff_unified(c->path, c->existed ? c->old : NULL, c->old_len, c->new, c->new_len, out) < 0)
                        return -ENOMEM;
        }
        if (manifest_path && diff_unified(manifest_path, manifest_old, manifest_old_len, manifest_new, manifest_new_len,
                                          out) < 0)
                return -ENOMEM;
        return 0;
}

int print_list(struct buf *out, const char *title, char **l) {
        if (strv_length(l) == 0)
                return 0;
        if (buf_printf(out, "%s\n", title) < 0)
                return -ENOMEM;
        for (char **i = l; *i; i++)
                if (buf_printf(out, "  %s\n", *i) < 0)
                        return -ENOMEM;
        return 0;
}

static int find_tool(const struct host *h, const char *name, char **ret) {
        return host_find_executable(h, name, ret);
}

int run_tool(const struct host *h, const char *name, const char *a1, const char *a2, struct plan *p) {
        _cleanup_free_ char *exe = NULL;
        char *argv[4] = { NULL, (char *) a1, (char *) a2, NULL };
        int status = 0, r;

        r = find_tool(h, name, &exe);
        if (r < 0)
                return note(&p->notes, "%s is not installed: could not run %s %s %s", name, name, a1, strempty(a2));
        argv[0] = exe;
        r = spawn_capture(argv, 64 * 1024, 30000, false, NULL, &status);     /* modprobe: needs root */
        if (r < 0 || status != 0)
                return note(&p->notes, "warning: %s %s %s failed (%s)", name, a1, strempty(a2),
                            r < 0 ? strerror(-r) : "non-zero exit status");
        return 0;
}

int write_sysctl(const struct host *h, const char *key, const char *value) {
        _cleanup_free_ char *path = sysctl_path(key);
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

char *manifest_path_for(const char *name) {
        return xstrdup_printf(MANIFEST_DIR "/%s.manifest", name);
}

int write_change(const struct host *h, const struct change *c, struct un_error *err) {
        test_step("write", c->path);
        if (!c->new) {
                int r = host_unlink(h, c->path, err);

                return r == -ENOENT ? 0 : r;
        }
        return host_write_atomic(h, c->path, c->new, c->new_len, c->mode, c->uid, c->gid, err);
}

int setup_run(const struct host *h, const struct setup_options *o, struct buf *out, struct un_error *err) {
        _cleanup_free_ char *mpath = NULL, *mtext_old = NULL, *mtext_new = NULL, *unit = NULL;
        struct shadow_locks locks = { .uid.dfd = -EBADF, .gid.dfd = -EBADF };
        struct user u = {};
        struct manifest m = {};
        struct plan p = {};
        sd_bus *bus = NULL;
        bool have_manifest = false, dropin_changed = false, linger_new = false;
        size_t mold_len = 0, mnew_len = 0;
        int lock_fd = -EBADF, r;

        r = validate_user(h, o, &u, err);
        if (r < 0)
                return r;
        mpath = manifest_path_for(u.name);
        unit = xstrdup_printf("user@%u.service", (unsigned) u.uid);
        if (!mpath || !unit) {
                r = -ENOMEM;
                goto out;
        }
        if (!h->offline && bus_open_system(&bus, NULL) < 0) {
                bus = NULL;
                note(&p.notes, "no system bus here (is PID 1 systemd?): files are written; reloads, linger and "
                     "the user manager are left to do by hand, see below");
        }
        if (!o->dry_run) {
                r = take_run_lock(h, &lock_fd, err);
                if (r < 0)
                        goto out;
                r = shadow_locks_take(h, &locks, err);
                if (r < 0)
                        goto out;
                test_step("locked", NULL);
        }
        r = manifest_load(h, mpath, &m, &have_manifest, err);
        if (r < 0)
                goto out;
        if (have_manifest && (strcmp(m.user, u.name) != 0 || m.uid != u.uid)) {
                r = un_error(err, EEXIST, "%s belongs to %s (UID %u), not %s (UID %u)", mpath, m.user, m.uid, u.name,
                             (unsigned) u.uid);
                goto out;
        }
        if (!have_manifest) {
                m.user = strdup(u.name);
                m.uid = u.uid;
                if (!m.user) {
                        r = -ENOMEM;
                        goto out;
                }
        } else
                mtext_old = manifest_format(&m, &mold_len);

        r = plan_dropin(h, o, u.uid, &p, &dropin_changed, err);
        if (r >= 0)
                r = plan_subids(h, o, &u, &p, err);
        if (r >= 0)
                r = plan_sysctl(h, o, &p, err);
        if (r >= 0)
                r = plan_modules(h, &p, err);
        if (r >= 0)
                r = plan_apparmor(h, &p, err);
        if (r >= 0 && o->fast_net)
                r = plan_fast_net(h, &u, &p, err);
        if (r >= 0 && !o->no_linger)
                r = plan_linger(h, bus, &u, &p, &linger_new, err);
        if (r < 0)
                goto out;
        if (bus) {
                r = plan_user_manager(h, o, bus, &u, dropin_changed, linger_new, &p);
                if (r < 0)
                        goto out;
        }

        if (p.n_changes == 0 && p.n_sysctls == 0 && strv_length(p.modprobe) == 0 && !p.linger_bus &&
            p.manager == MANAGER_NONE) {
                r = buf_printf(out, "nothing to do: %s is set up\n", u.name);
                if (r >= 0)
                        r = print_list(out, "notes:", p.notes);
                goto out;
        }

        /* Record the plan in the manifest: the oldest "before" of each file wins. */
        for (size_t i = 0; i < p.n_changes; i++) {
                struct change *c = &p.changes[i];
                struct manifest_file *f;

                if (c->line) {
                        bool seen = false;

                        for (size_t k = 0; k < m.n_lines; k++)
                                seen = seen || (strcmp(m.lines[k].path, c->path) == 0 &&
                                                strcmp(m.lines[k].line, c->line) == 0);
                        if (!seen && (r = manifest_add_line(&m, c->path, c->line, c->line_created, c->added_eol)) < 0)
                                goto out;
                        continue;
                }
                r = manifest_add_file(&m, c->path, c->old, c->old_len, !c->existed, c->mode,
                                      c->uid == (uid_t) -1 ? 0 : c->uid, c->gid == (gid_t) -1 ? 0 : c->gid, &f);
                if (r < 0)
                        goto out;
                sha256_hex(c->new, c->new_len, f->new_hash);
        }
        for (size_t i = 0; i < p.n_changes; i++)
                if ((r = missing_dirs(h, p.changes[i].path, &p.dirs)) < 0)
                        goto out;
        if ((r = missing_dirs(h, mpath, &p.dirs)) < 0)
                goto out;
        for (char **d = p.dirs; d && *d; d++)
                if (!strv_contains(m.dirs, *d) && (r = strv_push(&m.dirs, *d)) < 0)
                        goto out;
        for (size_t i = 0; i < p.n_sysctls; i++)
                if ((r = manifest_add_sysctl(&m, p.sysctls[i].key, p.sysctls[i].prev, p.sysctls[i].value)) < 0)
                        goto out;
        for (char **mod = p.modprobe; mod && *mod; mod++)
                if (!strv_contains(m.modules, *mod) && (r = strv_push(&m.modules, *mod)) < 0)
                        goto out;
        if (p.linger_bus)
                m.linger = true;
        mtext_new = manifest_format(&m, &mnew_len);
        if (!mtext_new) {
                r = -ENOMEM;
                goto out;
        }

        if (o->dry_run) {
                r = print_changes(&p, mpath, mtext_old, mold_len, mtext_new, mnew_len, out);
                for (size_t i = 0; r >= 0 && i < p.n_sysctls; i++)
                        r = note(&p.todo, "would set %s = %s (now %s)", p.sysctls[i].key, p.sysctls[i].value,
                                 p.sysctls[i].prev);
                for (char **mod = p.modprobe; r >= 0 && mod && *mod; mod++)
                        r = note(&p.todo, "would run: modprobe %s", *mod);
                for (char **a = p.apparmor; r >= 0 && a && *a; a++)
                        r = note(&p.todo, "would run: apparmor_parser -r %s", *a);
                if (r >= 0 && p.reload && bus)
                        r = note(&p.todo, "would call org.freedesktop.systemd1.Manager.Reload()");
                if (r >= 0 && p.linger_bus)
                        r = note(&p.todo, "would call org.freedesktop.login1.Manager.SetUserLinger(%u, true, false)",
                                 (unsigned) u.uid);
                if (r >= 0 && p.manager != MANAGER_NONE)
                        r = note(&p.todo, "would call org.freedesktop.systemd1.Manager.%s(\"%s\", \"replace\")",
                                 p.manager == MANAGER_START ? "StartUnit" : "RestartUnit", unit);
                if (r >= 0 && p.networkd && bus)
                        r = note(&p.todo, "would call org.freedesktop.network1.Manager.Reload()");
                if (r >= 0)
                        r = print_list(out, "settings (--dry-run: nothing changed):", p.todo);
                if (r >= 0)
                        r = print_list(out, "notes:", p.notes);
                goto out;
        }

        /* The manifest's own directory first; every other directory after the manifest records it. */
        for (char **d = p.dirs; d && *d; d++)
                if (startswith(MANIFEST_DIR, *d) &&
                    (r = host_mkdir_p(h, *d, strcmp(*d, MANIFEST_DIR) == 0 ? 0700 : 0755, err)) < 0)
                        goto out;
        test_step("mkdir", NULL);
        r = host_write_atomic(h, mpath, mtext_new, mnew_len, 0600, 0, 0, err);
        if (r < 0)
                goto out;
        test_step("manifest", NULL);
        for (char **d = p.dirs; d && *d; d++)
                if ((r = host_mkdir_p(h, *d, strcmp(*d, MANIFEST_DIR) == 0 ? 0700 : 0755, err)) < 0)
                        goto out;
        for (size_t i = 0; i < p.n_changes; i++) {
                r = write_change(h, &p.changes[i], err);
                if (r < 0)
                        goto out;
                r = buf_printf(out, "%s %s%s%s\n", p.changes[i].existed ? "updated" : "created", p.changes[i].path,
                               p.changes[i].line ? ": added " : "", strempty(p.changes[i].line));
                if (r < 0)
                        goto out;
        }
        shadow_locks_release(&locks);
        test_step("files", NULL);

        for (size_t i = 0; i < p.n_sysctls; i++) {
                test_step("sysctl", p.sysctls[i].key);
                r = write_sysctl(h, p.sysctls[i].key, p.sysctls[i].value);
                if (r < 0)
                        note(&p.notes, "warning: cannot set %s = %s now: %s (it applies at the next boot)",
                             p.sysctls[i].key, p.sysctls[i].value, strerror(-r));
                else
                        buf_printf(out, "set %s = %s (was %s)\n", p.sysctls[i].key, p.sysctls[i].value,
                                   p.sysctls[i].prev);
        }
        for (char **mod = p.modprobe; mod && *mod; mod++) {
                test_step("modprobe", *mod);
                run_tool(h, "modprobe", *mod, NULL, &p);
        }
        for (char **a = p.apparmor; a && *a; a++) {
                test_step("apparmor", *a);
                run_tool(h, "apparmor_parser", "-r", *a, &p);
        }
        if (bus) {
                struct un_error e = {};

                if (p.reload) {
                        test_step("bus", "Reload");
                        if (bus_daemon_reload(bus, &e) < 0)
                                note(&p.notes, "warning: daemon-reload failed: %s", e.msg);
                }
                if (p.linger_bus) {
                        test_step("bus", "SetUserLinger");
                        if (bus_set_linger(bus, u.uid, true, &e) < 0)
                                note(&p.notes, "warning: cannot enable linger: %s", e.msg);
                }
                if (p.manager != MANAGER_NONE) {
                        test_step("bus", "StartUnit");
                        r = p.manager == MANAGER_START ? bus_start_unit(bus, unit, &e) : bus_restart_unit(bus, unit, &e);
                        if (r < 0)
                                note(&p.notes, "warning: cannot start %s: %s", unit, e.msg);
                }
        } else {
                if (p.reload)
                        note(&p.todo, "systemctl daemon-reload");
                if (p.n_changes > 0 && !h->offline && !o->no_linger)
                        note(&p.todo, "systemctl start %s", unit);
        }
        if (h->offline) {
                for (size_t i = 0; i < p.n_changes; i++) {
                        if (strcmp(p.changes[i].path, SETUP_SYSCTL) == 0)
                                note(&p.todo, "sysctl --system");
                        else if (strcmp(p.changes[i].path, SETUP_MODULES) == 0)
                                note(&p.todo, "systemctl restart systemd-modules-load.service");
                        else if (startswith(p.changes[i].path, "/etc/apparmor.d/"))
                                note(&p.todo, "apparmor_parser -r %s", p.changes[i].path);
                }
        }
        if (p.networkd)
                note(&p.todo, "networkctl reload");
        test_step("done", NULL);
        r = print_list(out, h->offline ? "under --root nothing was reloaded; on that host run (or boot it):"
                                       : "still to do by hand:", p.todo);
        if (r >= 0)
                r = print_list(out, "notes:", p.notes);
out:
        shadow_locks_release(&locks);
        if (lock_fd >= 0)
                close(lock_fd);
        bus_close(bus);
        plan_done(&p);
        manifest_done(&m);
        user_done(&u);
        return r;
}

