/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `unsetup`: takes back exactly what the manifest lists. Host-wide files another user's setup still
 * needs are handed over to that user's manifest instead of being removed. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "bus.h"
#include "diff.h"
#include "setup-internal.h"
#include "sha256.h"
#include "users.h"

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

static struct change *plan_find(struct plan *p, const char *path) {
        for (size_t i = 0; i < p->n_changes; i++)
                if (strcmp(p->changes[i].path, path) == 0)
                        return &p->changes[i];
        return NULL;
}

static int plan_push(struct plan *p, struct change *c) {
        struct change *n = realloc(p->changes, (p->n_changes + 1) * sizeof *n);

        if (!n)
                return -ENOMEM;
        p->changes = n;
        p->changes[p->n_changes++] = *c;
        *c = (struct change) {};
        return 0;
}

static int dir_depth_cmp(const void *a, const void *b) {
        size_t x = strlen(*(char * const *) a), y = strlen(*(char * const *) b);

        return x < y ? 1 : x > y ? -1 : 0;
}

int unsetup_run(const struct host *h, const struct setup_options *o, struct buf *out, struct un_error *err) {
        _cleanup_free_ char *mpath = NULL, *mtext = NULL, *heir_path = NULL, *heir_old = NULL, *heir_new = NULL;
        _cleanup_free_ char *unit = NULL;
        _cleanup_strv_free_ char **conflicts = NULL;
        struct shadow_locks locks = { .uid.dfd = -EBADF, .gid.dfd = -EBADF };
        struct manifest m = {}, heir = {};
        struct plan p = {};
        sd_bus *bus = NULL;
        bool have = false, have_heir = false, dropin_removed = false;
        size_t mlen = 0, heir_old_len = 0, heir_new_len = 0;
        int lock_fd = -EBADF, r;
        struct user u = {};

        if (!o->user || strchr(o->user, ':') || strchr(o->user, '/') || strchr(o->user, '\n'))
                return un_error(err, EINVAL, "invalid user name '%.64s'", strempty(o->user));
        /* The user may be gone already; the manifest is named after them. */
        if (user_lookup(h, o->user, &u, NULL) < 0) {
                if (!valid_user_name(o->user))
                        return un_error(err, EINVAL, "invalid user name '%.64s'", o->user);
                u.name = strdup(o->user);
                if (!u.name)
                        return -ENOMEM;
        }
        mpath = manifest_path_for(u.name);
        if (!mpath) {
                r = -ENOMEM;
                goto out;
        }
        if (!h->offline && bus_open_system(&bus, NULL) < 0)
                bus = NULL;
        if (!o->dry_run) {
                r = take_run_lock(h, &lock_fd, err);
                if (r >= 0)
                        r = shadow_locks_take(h, &locks, err);
                if (r < 0)
                        goto out;
        }
        r = manifest_load(h, mpath, &m, &have, err);
        if (r < 0)
                goto out;
        if (!have) {
                r = buf_printf(out, "nothing to undo: no %s\n", mpath);
                goto out;
        }
        mtext = manifest_format(&m, &mlen);
        unit = xstrdup_printf("user@%u.service", m.uid);
        if (!mtext || !unit) {
                r = -ENOMEM;
                goto out;
        }
        r = find_heir(h, strrchr(mpath, '/') + 1, &heir_path);
        if (r > 0) {
                r = manifest_load(h, heir_path, &heir, &have_heir, err);
                if (r < 0)
                        goto out;
                heir_old = manifest_format(&heir, &heir_old_len);
        }
        if (r < 0)
                goto out;

        for (size_t i = 0; i < m.n_files; i++) {
                const struct manifest_file *f = &m.files[i];
                struct change c = { .path = strdup(f->path) };
                char hash[SHA256_HEX_LEN + 1];

                if (!c.path) {
                        r = -ENOMEM;
                        goto out;
                }
                if (have_heir && !per_user_path(f->path)) {
                        struct manifest_file *hf = manifest_find_file(&heir, f->path);

                        free(c.path);
                        if (!hf) {
                                r = manifest_add_file(&heir, f->path, f->prev, f->prev_len, f->prev_absent,
                                                      f->prev_mode, f->prev_uid, f->prev_gid, &hf);
                                if (r < 0)
                                        goto out;
                                memcpy(hf->new_hash, f->new_hash, sizeof hf->new_hash);
                        } else {
                                /* Ours is the older "before": the heir restores that one. */
                                char *prev = f->prev_absent ? NULL : malloc(f->prev_len + 1);

                                if (!f->prev_absent && !prev) {
                                        r = -ENOMEM;
                                        goto out;
                                }
                                if (prev)
                                        memcpy(prev, f->prev, f->prev_len + 1);
                                free(hf->prev);
                                hf->prev = prev;
                                hf->prev_len = f->prev_len;
                                hf->prev_absent = f->prev_absent;
                                hf->prev_mode = f->prev_mode;
                                hf->prev_uid = f->prev_uid;
                                hf->prev_gid = f->prev_gid;
                        }
                        note(&p.notes, "kept %s: still in use by %s", f->path, strrchr(heir_path, '/') + 1);
                        continue;
                }
                r = read_target(h, f->path, MANIFEST_MAX, &c, err);
                if (r < 0) {
                        free(c.path);
                        goto out;
                }
                if (!c.existed && f->prev_absent) {
                        free(c.path);
                        continue;
                }
                if (c.existed && !f->prev_absent && c.old_len == f->prev_len &&
                    memcmp(c.old, f->prev, c.old_len) == 0) {
                        free(c.path);
                        free(c.old);
                        continue;
                }
                if (c.existed)
                        sha256_hex(c.old, c.old_len, hash);
                if (!c.existed || strcmp(hash, f->new_hash) != 0) {
                        r = strv_push(&conflicts, f->path);
                        if (r < 0 || !o->force) {
                                free(c.path);
                                free(c.old);
                                if (r < 0)
                                        goto out;
                                continue;
                        }
                }
                if (!f->prev_absent) {
                        c.new = malloc(f->prev_len + 1);
                        if (!c.new) {
                                r = -ENOMEM;
                                goto out;
                        }
                        memcpy(c.new, f->prev, f->prev_len);
                        c.new_len = f->prev_len;
                        c.mode = f->prev_mode;
                        c.uid = f->prev_uid;
                        c.gid = f->prev_gid;
                } else if (startswith(f->path, "/etc/apparmor.d/") && !h->offline)
                        (void) strv_push(&p.apparmor, f->path);
                if (strcmp(f->path, SETUP_DROPIN) == 0)
                        dropin_removed = true;
                r = plan_push(&p, &c);
                if (r < 0)
                        goto out;
        }

        for (size_t i = 0; i < m.n_lines; i++) {
                const struct manifest_line *l = &m.lines[i];
                struct change *pc = plan_find(&p, l->path);
                struct change c = {};
                const char *cur;
                size_t cur_len;
                char *new = NULL;
                size_t new_len;

                if (!pc) {
                        c.path = strdup(l->path);
                        if (!c.path) {
                                r = -ENOMEM;
                                goto out;
                        }
                        r = read_target(h, l->path, SUBID_FILE_MAX, &c, err);
                        if (r < 0) {
                                free(c.path);
                                goto out;
                        }
                        if (!c.existed) {
                                note(&p.notes, "%s is gone: nothing to remove from it", l->path);
                                free(c.path);
                                continue;
                        }
                        c.new = malloc(c.old_len + 1);
                        if (!c.new) {
                                r = -ENOMEM;
                                goto out;
                        }
                        memcpy(c.new, c.old, c.old_len + 1);
                        c.new_len = c.old_len;
                        r = plan_push(&p, &c);
                        if (r < 0)
                                goto out;
                        pc = &p.changes[p.n_changes - 1];
                }
                cur = pc->new;
                cur_len = pc->new_len;
                r = cur ? text_remove_line(cur, cur_len, l->line, l->added_eol, &new, &new_len) : -ENOENT;
                if (r == -ENOENT) {
                        note(&p.notes, "%s no longer has the line setup added (%s): left as it is", l->path, l->line);
                        continue;
                }
                if (r < 0)
                        goto out;
                free(pc->new);
                pc->new = new;
                pc->new_len = new_len;
                if (l->created && new_len == 0) {
                        free(pc->new);
                        pc->new = NULL;
                }
        }
        /* Line files whose content did not change are not changes. */
        for (size_t i = 0; i < p.n_changes;) {
                struct change *c = &p.changes[i];

                if (c->existed && c->new && c->new_len == c->old_len && memcmp(c->new, c->old, c->old_len) == 0) {
                        free(c->path);
                        free(c->old);
                        free(c->new);
                        memmove(c, c + 1, (p.n_changes - i - 1) * sizeof *c);
                        p.n_changes--;
                } else
                        i++;
        }

        if (strv_length(conflicts) > 0 && !o->force) {
                r = print_list(out, "changed since setup wrote them (left alone; --force restores them anyway):",
                               conflicts);
                if (r >= 0)
                        r = un_error(err, EBUSY, "%zu file(s) changed since setup", strv_length(conflicts));
                goto out;
        }

        for (size_t i = 0; i < m.n_sysctls; i++) {
                const struct manifest_sysctl *s = &m.sysctls[i];
                _cleanup_free_ char *path = sysctl_path(s->key), *cur = NULL;

                if (have_heir) {
                        r = manifest_add_sysctl(&heir, s->key, s->prev, s->value);
                        if (r < 0)
                                goto out;
                        continue;
                }
                if (h->offline || !path || host_read_line(h, path, &cur) < 0 || strcmp(strstrip(cur), s->value) != 0)
                        continue;
                {
                        struct manifest_sysctl *n = realloc(p.sysctls, (p.n_sysctls + 1) * sizeof *n);

                        if (!n) {
                                r = -ENOMEM;
                                goto out;
                        }
                        p.sysctls = n;
                        n[p.n_sysctls++] = (struct manifest_sysctl) { strdup(s->key), strdup(s->value),
                                                                      strdup(s->prev) };
                }
        }
        if (have_heir) {
                for (char **mod = m.modules; mod && *mod; mod++)
                        if (!strv_contains(heir.modules, *mod) && (r = strv_push(&heir.modules, *mod)) < 0)
                                goto out;
                for (char **d = m.dirs; d && *d; d++)
                        if (!strv_contains(heir.dirs, *d) && (r = strv_push(&heir.dirs, *d)) < 0)
                                goto out;
                heir_new = manifest_format(&heir, &heir_new_len);
                if (!heir_new) {
                        r = -ENOMEM;
                        goto out;
                }
        }

        if (o->dry_run) {
                r = print_changes(&p, mpath, mtext, mlen, NULL, 0, out);
                if (r >= 0 && heir_new)
                        r = diff_unified(heir_path, heir_old, heir_old_len, heir_new, heir_new_len, out) < 0
                                    ? -ENOMEM
                                    : 0;
                for (size_t i = 0; r >= 0 && i < p.n_sysctls; i++)
                        r = note(&p.todo, "would set %s = %s (back from %s)", p.sysctls[i].key, p.sysctls[i].value,
                                 p.sysctls[i].prev);
                for (char **a = p.apparmor; r >= 0 && a && *a; a++)
                        r = note(&p.todo, "would run: apparmor_parser -R %s", *a);
                if (r >= 0 && dropin_removed && bus)
                        r = note(&p.todo, "would call org.freedesktop.systemd1.Manager.Reload()");
                if (r >= 0 && m.linger && bus)
                        r = note(&p.todo, "would call org.freedesktop.login1.Manager.SetUserLinger(%u, false, false)",
                                 m.uid);
                if (r >= 0)
                        r = print_list(out, "settings (--dry-run: nothing changed):", p.todo);
                if (r >= 0)
                        r = print_list(out, "notes:", p.notes);
                goto out;
        }

        if (heir_new) {
                r = host_write_atomic(h, heir_path, heir_new, heir_new_len, 0600, 0, 0, err);
                if (r < 0)
                        goto out;
        }
        /* A profile is unloaded while its file still exists. */
        for (char **a = p.apparmor; a && *a; a++)
                run_tool(h, "apparmor_parser", "-R", *a, &p);
        for (size_t i = 0; i < p.n_changes; i++) {
                r = write_change(h, &p.changes[i], err);
                if (r < 0)
                        goto out;
                r = buf_printf(out, "%s %s\n", p.changes[i].new ? "restored" : "removed", p.changes[i].path);
                if (r < 0)
                        goto out;
        }
        shadow_locks_release(&locks);
        for (size_t i = 0; i < p.n_sysctls; i++)
                if (write_sysctl(h, p.sysctls[i].key, p.sysctls[i].value) >= 0)
                        buf_printf(out, "set %s = %s (back from %s)\n", p.sysctls[i].key, p.sysctls[i].value,
                                   p.sysctls[i].prev);
        if (bus) {
                struct un_error e = {};

                if (dropin_removed && bus_daemon_reload(bus, &e) < 0)
                        note(&p.notes, "warning: daemon-reload failed: %s", e.msg);
                if (m.linger && bus_set_linger(bus, m.uid, false, &e) < 0)
                        note(&p.notes, "warning: cannot disable linger: %s", e.msg);
        } else {
                if (dropin_removed)
                        note(&p.todo, "systemctl daemon-reload");
                if (m.linger)
                        note(&p.todo, "loginctl disable-linger %s", m.user);
        }
        /* Modules setup loaded go again, newest first: rmmod, not modprobe -r, which would also take
         * away dependencies that were loaded before setup. One in use stays, and rmmod says why. */
        if (!have_heir)
                for (size_t i = strv_length(m.modules); i-- > 0;) {
                        if (h->offline)
                                note(&p.todo, "rmmod %s", m.modules[i]);
                        else
                                (void) run_tool(h, "rmmod", m.modules[i], NULL, &p);
                }
        r = host_unlink(h, mpath, err);
        if (r < 0 && r != -ENOENT)
                goto out;
        /* usernode's own state directories go when empty, recorded or not (a crash may have left them
         * created but unrecorded). */
        if (!have_heir && (strv_contains(m.dirs, MANIFEST_DIR) || (r = strv_push(&m.dirs, MANIFEST_DIR)) >= 0) &&
            (strv_contains(m.dirs, "/var/lib/usernode") || (r = strv_push(&m.dirs, "/var/lib/usernode")) >= 0)) {
                qsort(m.dirs, strv_length(m.dirs), sizeof(char *), dir_depth_cmp);
                for (char **d = m.dirs; *d; d++) {
                        _cleanup_free_ char *parent = strdup(*d);
                        char *slash = parent ? strrchr(parent, '/') : NULL;
                        _cleanup_close_ int dfd = -EBADF;

                        if (!slash)
                                continue;
                        *slash = '\0';
                        dfd = host_open(h, slash == parent ? "/" : parent, O_PATH | O_DIRECTORY, 0, HOST_NO_SYMLINKS);
                        if (dfd >= 0 && unlinkat(dfd, slash + 1, AT_REMOVEDIR) < 0 && errno != ENOENT &&
                            errno != ENOTEMPTY && errno != EEXIST)
                                note(&p.notes, "cannot remove directory %s: %s", *d, strerror(errno));
                }
        }
        r = buf_printf(out, "removed %s\n", mpath);
        if (r >= 0)
                r = print_list(out, h->offline ? "under --root nothing was reloaded; on that host run:"
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
        manifest_done(&heir);
        user_done(&u);
        return r;
}
