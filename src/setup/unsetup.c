/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `unsetup`: takes back exactly what the manifest lists. Host-wide files another user's setup still
 * needs are handed over to that user's manifest instead of being removed. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "diff.h"
#include "setup-internal.h"
#include "sha256.h"

/* One unsetup run: the session, and the heir. */
struct unsetup_ctx {
        struct setup_session s;
        char *mtext;                    /* the manifest as setup left it */
        size_t mlen;
        struct manifest heir;           /* another user's manifest, which takes over the host-wide files */
        bool have_heir;
        char *heir_path, *heir_old, *heir_new;
        size_t heir_old_len, heir_new_len;
        char **conflicts;               /* files changed since setup wrote them */
        bool dropin_removed;
};

static void unsetup_ctx_done(struct unsetup_ctx *run) {
        setup_session_done(&run->s);
        manifest_done(&run->heir);
        free(run->mtext);
        free(run->heir_path);
        free(run->heir_old);
        free(run->heir_new);
        strv_free(run->conflicts);
}

/* n bytes and a NUL after them. */
static char *memdup_nul(const char *p, size_t n) {
        char *d = malloc(n + 1);

        if (!d)
                return NULL;
        memcpy(d, p, n);
        d[n] = '\0';
        return d;
}

static bool per_user_path(const char *path) {
        return startswith(path, LINGER_DIR "/") != NULL;
}

/* Another user's manifest, the heir of the host-wide files while that user still needs them. */
static int find_heir(const struct host *h, const char *own, char **ret) {
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_free_ char *best = NULL;
        struct dirent *de;

        *ret = NULL;
        if (host_opendir(h, MANIFEST_DIR, &d) < 0)
                return 0;
        while ((de = readdir(d))) {
                size_t n = strlen(de->d_name);

                if (n < 10 || strcmp(de->d_name + n - 9, ".manifest") != 0 || de->d_name[0] == '.' ||
                    strcmp(de->d_name, own) == 0)
                        continue;
                if (!best || strcmp(de->d_name, best) < 0) {
                        free(best);
                        best = strdup(de->d_name);
                        if (!best)
                                return -ENOMEM;
                }
        }
        if (best) {
                *ret = xstrdup_printf(MANIFEST_DIR "/%s", best);
                return *ret ? 1 : -ENOMEM;
        }
        return 0;
}

/* The user (who may be gone), their manifest's path, the bus and the locks. */
static int unsetup_begin(struct unsetup_ctx *run, struct un_error *err) {
        struct setup_session *s = &run->s;
        int r;

        r = setup_user_lookup_maybe_gone(s->h, s->o, &s->u, err);
        if (r < 0)
                return r;
        s->mpath = manifest_path_for(s->u.name);
        if (!s->mpath)
                return -ENOMEM;
        (void) setup_session_open_bus(s);
        return setup_session_lock(s, err);
}

/* The manifest as setup left it (for the diff), and the heir's manifest when there is an heir. */
static int load_heir(struct unsetup_ctx *run, struct un_error *err) {
        struct setup_session *s = &run->s;
        int r;

        run->mtext = manifest_format(&s->m, &run->mlen);
        if (!run->mtext)
                return -ENOMEM;
        r = find_heir(s->h, strrchr(s->mpath, '/') + 1, &run->heir_path);
        if (r <= 0)
                return r;
        r = manifest_load(s->h, run->heir_path, &run->heir, &run->have_heir, err);
        if (r < 0)
                return r;
        run->heir_old = manifest_format(&run->heir, &run->heir_old_len);
        return 0;
}

/* A host-wide file the heir still needs goes into its manifest, with the older "before". */
static int hand_over_file(struct unsetup_ctx *run, const struct manifest_file *f) {
        struct manifest_file *hf = manifest_find_file(&run->heir, f->path);
        int r;

        if (!hf) {
                r = manifest_add_file(&run->heir, f->path, f->prev, f->prev_len, f->prev_absent, f->prev_mode,
                                      f->prev_uid, f->prev_gid, &hf);
                if (r < 0)
                        return r;
                memcpy(hf->new_hash, f->new_hash, sizeof hf->new_hash);
        } else {
                /* Ours is the older "before": the heir restores that one. */
                char *prev = f->prev_absent ? NULL : memdup_nul(f->prev, f->prev_len);

                if (!f->prev_absent && !prev)
                        return -ENOMEM;
                free(hf->prev);
                hf->prev = prev;
                hf->prev_len = f->prev_len;
                hf->prev_absent = f->prev_absent;
                hf->prev_mode = f->prev_mode;
                hf->prev_uid = f->prev_uid;
                hf->prev_gid = f->prev_gid;
        }
        return setup_plan_note(&run->s.p.notes, "kept %s: still in use by %s", f->path,
                               strrchr(run->heir_path, '/') + 1);
}

/* A file setup wrote goes back to its "before", unless it is there already. One changed since setup
 * wrote it is a conflict, restored only with --force. */
static int plan_restore_file(struct unsetup_ctx *run, const struct manifest_file *f, struct un_error *err) {
        struct setup_session *s = &run->s;
        struct change c = { .path = strdup(f->path) };
        char hash[SHA256_HEX_LEN + 1];
        int r;

        if (!c.path)
                return -ENOMEM;
        r = setup_plan_read_target(s->h, f->path, MANIFEST_MAX, &c, err);
        if (r < 0 || (!c.existed && f->prev_absent) ||
            setup_plan_unchanged(&c, f->prev_absent ? NULL : f->prev, f->prev_len))
                goto out;
        if (c.existed)
                sha256_hex(c.old, c.old_len, hash);
        if (!c.existed || strcmp(hash, f->new_hash) != 0) {
                r = strv_push(&run->conflicts, f->path);
                if (r < 0 || !s->o->force)
                        goto out;
        }
        if (!f->prev_absent) {
                c.new = memdup_nul(f->prev, f->prev_len);
                if (!c.new) {
                        r = -ENOMEM;
                        goto out;
                }
                c.new_len = f->prev_len;
                c.mode = f->prev_mode;
                c.uid = f->prev_uid;
                c.gid = f->prev_gid;
        } else if (startswith(f->path, "/etc/apparmor.d/") && !s->h->offline)
                (void) strv_push(&s->p.apparmor, f->path);
        if (strcmp(f->path, SETUP_DROPIN) == 0)
                run->dropin_removed = true;
        r = setup_plan_push(&s->p, &c);
out:
        setup_plan_change_done(&c);
        return r;
}

static int plan_files(struct unsetup_ctx *run, struct un_error *err) {
        for (size_t i = 0; i < run->s.m.n_files; i++) {
                const struct manifest_file *f = &run->s.m.files[i];
                int r;

                if (run->have_heir && !per_user_path(f->path))
                        r = hand_over_file(run, f);
                else
                        r = plan_restore_file(run, f, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The change to a file a line goes out of: the one planned already, else a new one with the file as it
 * is; *ret NULL when the file is gone. */
static int line_file_change(struct unsetup_ctx *run, const char *path, struct change **ret, struct un_error *err) {
        struct plan *p = &run->s.p;
        struct change c = {};
        int r;

        *ret = setup_plan_find(p, path);
        if (*ret)
                return 0;
        c.path = strdup(path);
        if (!c.path)
                return -ENOMEM;
        r = setup_plan_read_target(run->s.h, path, SUBID_FILE_MAX, &c, err);
        if (r < 0 || !c.existed)
                goto out;
        c.new = memdup_nul(c.old, c.old_len);
        c.new_len = c.old_len;
        r = c.new ? setup_plan_push(p, &c) : -ENOMEM;
        if (r >= 0)
                *ret = &p->changes[p->n_changes - 1];
out:
        setup_plan_change_done(&c);
        return r;
}

/* Takes out the line setup added; a file setup created goes when nothing else is left in it. */
static int plan_line_removal(struct unsetup_ctx *run, const struct manifest_line *l, struct un_error *err) {
        struct plan *p = &run->s.p;
        struct change *pc;
        char *new = NULL;
        size_t new_len;
        int r;

        r = line_file_change(run, l->path, &pc, err);
        if (r < 0)
                return r;
        if (!pc)
                return setup_plan_note(&p->notes, "%s is gone: nothing to remove from it", l->path);
        r = pc->new ? setup_text_remove_line(pc->new, pc->new_len, l->line, l->added_eol, &new, &new_len) : -ENOENT;
        if (r == -ENOENT)
                return setup_plan_note(&p->notes, "%s no longer has the line setup added (%s): left as it is",
                                       l->path, l->line);
        if (r < 0)
                return r;
        free(pc->new);
        pc->new = new;
        pc->new_len = new_len;
        if (l->created && new_len == 0) {
                free(pc->new);
                pc->new = NULL;
        }
        return 0;
}

static int plan_lines(struct unsetup_ctx *run, struct un_error *err) {
        for (size_t i = 0; i < run->s.m.n_lines; i++) {
                int r = plan_line_removal(run, &run->s.m.lines[i], err);

                if (r < 0)
                        return r;
        }
        return 0;
}

static int refuse_conflicts(struct unsetup_ctx *run, struct un_error *err) {
        int r = setup_print_list(run->s.out,
                                 "changed since setup wrote them (left alone; --force restores them anyway):",
                                 run->conflicts);

        return r < 0 ? r : un_error(err, EBUSY, "%zu file(s) changed since setup", strv_length(run->conflicts));
}

/* A sysctl setup set goes back where it still has setup's value; with an heir it stays, recorded there. */
static int plan_sysctls(struct unsetup_ctx *run) {
        struct setup_session *s = &run->s;

        for (size_t i = 0; i < s->m.n_sysctls; i++) {
                const struct manifest_sysctl *sc = &s->m.sysctls[i];
                _cleanup_free_ char *path = setup_plan_sysctl_path(sc->key), *cur = NULL;
                int r;

                if (run->have_heir) {
                        r = manifest_add_sysctl(&run->heir, sc->key, sc->prev, sc->value);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (s->h->offline || !path || host_read_line(s->h, path, &cur) < 0 ||
                    strcmp(strstrip(cur), sc->value) != 0)
                        continue;
                r = setup_plan_add_sysctl(&s->p, sc->key, sc->value, sc->prev);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The heir also takes over the modules and the directories; its manifest as it will be written. */
static int hand_over_modules_and_dirs(struct unsetup_ctx *run) {
        struct manifest *m = &run->s.m;
        int r;

        for (char **mod = m->modules; mod && *mod; mod++)
                if (!strv_contains(run->heir.modules, *mod) && (r = strv_push(&run->heir.modules, *mod)) < 0)
                        return r;
        for (char **d = m->dirs; d && *d; d++)
                if (!strv_contains(run->heir.dirs, *d) && (r = strv_push(&run->heir.dirs, *d)) < 0)
                        return r;
        run->heir_new = manifest_format(&run->heir, &run->heir_new_len);
        return run->heir_new ? 0 : -ENOMEM;
}

/* --dry-run: the diffs (the manifest's removal, the heir's manifest), then what would be set and called. */
static int print_dry_run(struct unsetup_ctx *run) {
        struct setup_session *s = &run->s;
        struct plan *p = &s->p;
        int r;

        r = setup_print_changes(p, s->mpath, run->mtext, run->mlen, NULL, 0, s->out);
        if (r >= 0 && run->heir_new &&
            diff_unified(run->heir_path, run->heir_old, run->heir_old_len, run->heir_new, run->heir_new_len,
                         s->out) < 0)
                r = -ENOMEM;
        for (size_t i = 0; r >= 0 && i < p->n_sysctls; i++)
                r = setup_plan_note(&p->todo, "would set %s = %s (back from %s)", p->sysctls[i].key,
                                    p->sysctls[i].value, p->sysctls[i].prev);
        for (char **a = p->apparmor; r >= 0 && a && *a; a++)
                r = setup_plan_note(&p->todo, "would run: apparmor_parser -R %s", *a);
        if (r >= 0 && run->dropin_removed && s->bus)
                r = setup_plan_note(&p->todo, "would call org.freedesktop.systemd1.Manager.Reload()");
        if (r >= 0 && s->m.linger && s->bus)
                r = setup_plan_note(&p->todo,
                                    "would call org.freedesktop.login1.Manager.SetUserLinger(%u, false, false)",
                                    s->m.uid);
        if (r >= 0)
                r = setup_print_todo_and_notes(s->out, "settings (--dry-run: nothing changed):", p);
        return r;
}

/* The heir's manifest first, so that what it takes over is never unrecorded; a profile is unloaded while
 * its file still exists; then each file. Shadow's locks go once the files are written. */
static int write_files(struct unsetup_ctx *run, struct un_error *err) {
        struct setup_session *s = &run->s;
        struct plan *p = &s->p;
        int r;

        if (run->heir_new) {
                r = host_write_atomic(s->h, run->heir_path, run->heir_new, run->heir_new_len, 0600, 0, 0, err);
                if (r < 0)
                        return r;
        }
        for (char **a = p->apparmor; a && *a; a++)
                setup_plan_run_tool(s->h, "apparmor_parser", "-R", *a, p);
        for (size_t i = 0; i < p->n_changes; i++) {
                r = setup_plan_write_change(s->h, &p->changes[i], err);
                if (r < 0)
                        return r;
                r = buf_printf(s->out, "%s %s\n", p->changes[i].new ? "restored" : "removed", p->changes[i].path);
                if (r < 0)
                        return r;
        }
        setup_session_unlock_shadow(s);
        return 0;
}

static void restore_sysctls(struct unsetup_ctx *run) {
        struct setup_session *s = &run->s;

        for (size_t i = 0; i < s->p.n_sysctls; i++) {
                const struct manifest_sysctl *sc = &s->p.sysctls[i];

                if (setup_plan_write_sysctl(s->h, sc->key, sc->value) >= 0)
                        buf_printf(s->out, "set %s = %s (back from %s)\n", sc->key, sc->value, sc->prev);
        }
}

/* Reload and linger over the bus; without a bus, what to run by hand. */
static void undo_bus_settings(struct unsetup_ctx *run) {
        struct setup_session *s = &run->s;
        struct un_error e = {};

        if (!s->bus) {
                if (run->dropin_removed)
                        setup_plan_note(&s->p.todo, "systemctl daemon-reload");
                if (s->m.linger)
                        setup_plan_note(&s->p.todo, "loginctl disable-linger %s", s->m.user);
                return;
        }
        if (run->dropin_removed && bus_daemon_reload(s->bus, &e) < 0)
                setup_plan_note(&s->p.notes, "warning: daemon-reload failed: %s", e.msg);
        if (s->m.linger && bus_set_linger(s->bus, s->m.uid, false, &e) < 0)
                setup_plan_note(&s->p.notes, "warning: cannot disable linger: %s", e.msg);
}

/* The kernel's count of users of a loaded module (rules, sockets, other modules); -errno when unknown. */
static int module_users(const struct host *h, const char *module) {
        _cleanup_free_ char *path = xstrdup_printf("/sys/module/%s/refcnt", module), *line = NULL;
        uint32_t n;
        int r;

        if (!path)
                return -ENOMEM;
        r = host_read_line(h, path, &line);
        if (r < 0)
                return r;
        return parse_u32(line, &n) < 0 || n > INT32_MAX ? -EBADMSG : (int) n;
}

/* Modules setup loaded go again, newest first: rmmod, not modprobe -r, which would also take away
 * dependencies that were loaded before setup. One still in use (a node's iptables rules hold nf_tables)
 * stays loaded, and the note says so. */
static void unload_modules(struct unsetup_ctx *run) {
        struct setup_session *s = &run->s;

        for (size_t i = strv_length(s->m.modules); i-- > 0;) {
                const char *m = s->m.modules[i];
                int users;

                if (s->h->offline) {
                        setup_plan_note(&s->p.todo, "rmmod %s", m);
                        continue;
                }
                users = module_users(s->h, m);
                if (users > 0)
                        setup_plan_note(&s->p.notes, "%s is in use (%d users, e.g. a node's firewall rules): left loaded; "
                                        "'sudo rmmod %s' once nothing uses it", m, users, m);
                else if (users == 0)
                        (void) setup_plan_run_tool(s->h, "rmmod", m, NULL, &s->p);
        }
}

static int dir_depth_cmp(const void *a, const void *b) {
        size_t x = strlen(*(char * const *) a), y = strlen(*(char * const *) b);

        return x < y ? 1 : x > y ? -1 : 0;
}

/* The directories setup created go when empty, deepest first; usernode's own state directories too,
 * recorded or not (a crash may have left them created but unrecorded). */
static void remove_dirs(struct unsetup_ctx *run) {
        struct setup_session *s = &run->s;
        char ***dirs = &s->m.dirs;

        if ((!strv_contains(*dirs, MANIFEST_DIR) && strv_push(dirs, MANIFEST_DIR) < 0) ||
            (!strv_contains(*dirs, "/var/lib/usernode") && strv_push(dirs, "/var/lib/usernode") < 0))
                return;
        qsort(*dirs, strv_length(*dirs), sizeof(char *), dir_depth_cmp);
        for (char **d = *dirs; *d; d++) {
                _cleanup_free_ char *parent = strdup(*d);
                char *slash = parent ? strrchr(parent, '/') : NULL;
                _cleanup_close_ int dfd = -EBADF;

                if (!slash)
                        continue;
                *slash = '\0';
                dfd = host_open(s->h, slash == parent ? "/" : parent, O_PATH | O_DIRECTORY, 0, HOST_NO_SYMLINKS);
                if (dfd >= 0 && unlinkat(dfd, slash + 1, AT_REMOVEDIR) < 0 && errno != ENOENT && errno != ENOTEMPTY &&
                    errno != EEXIST)
                        setup_plan_note(&s->p.notes, "cannot remove directory %s: %s", *d, strerror(errno));
        }
}

/* The plan: files back (or handed over to the heir), lines out, sysctls back. */
static int plan_everything(struct unsetup_ctx *run, struct un_error *err) {
        int r;

        r = load_heir(run, err);
        if (r >= 0)
                r = plan_files(run, err);
        if (r >= 0)
                r = plan_lines(run, err);
        if (r < 0)
                return r;
        /* Line files whose content did not change are not changes. */
        setup_plan_drop_unchanged(&run->s.p);
        if (strv_length(run->conflicts) > 0 && !run->s.o->force)
                return refuse_conflicts(run, err);
        r = plan_sysctls(run);
        if (r >= 0 && run->have_heir)
                r = hand_over_modules_and_dirs(run);
        return r;
}

/* Applies the plan; the manifest goes last, so that a crash leaves a rerun something to finish. */
static int apply_plan(struct unsetup_ctx *run, struct un_error *err) {
        struct setup_session *s = &run->s;
        int r;

        r = write_files(run, err);
        if (r < 0)
                return r;
        restore_sysctls(run);
        undo_bus_settings(run);
        if (!run->have_heir)
                unload_modules(run);
        r = host_unlink(s->h, s->mpath, err);
        if (r < 0 && r != -ENOENT)
                return r;
        if (!run->have_heir)
                remove_dirs(run);
        return 0;
}

int unsetup_run(const struct host *h, const struct setup_options *o, struct buf *out, struct un_error *err) {
        struct unsetup_ctx run = { .s = SETUP_SESSION_INIT(h, o, out) };
        bool have = false;
        int r;

        r = unsetup_begin(&run, err);
        if (r >= 0)
                r = manifest_load(h, run.s.mpath, &run.s.m, &have, err);
        if (r < 0)
                goto out;
        if (!have) {
                r = buf_printf(out, "nothing to undo: no %s\n", run.s.mpath);
                goto out;
        }
        r = plan_everything(&run, err);
        if (r < 0)
                goto out;
        if (o->dry_run) {
                r = print_dry_run(&run);
                goto out;
        }
        r = apply_plan(&run, err);
        if (r < 0)
                goto out;
        r = buf_printf(out, "removed %s\n", run.s.mpath);
        if (r >= 0)
                r = setup_print_todo_and_notes(out, h->offline ? "under --root nothing was reloaded; on that host run:"
                                                               : "still to do by hand:",
                                               &run.s.p);
out:
        unsetup_ctx_done(&run);
        return r;
}
