/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `setup` computes a plan (every file's old and new content, every setting), prints it under
 * --dry-run, and otherwise applies it in an order a crash cannot spoil: the manifest (with the old
 * contents) first, then each file atomically, then the runtime settings. A rerun finds what is
 * already done and finishes the rest; the manifest keeps the oldest "before" of every file. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "setup-internal.h"
#include "service-manager.h"
#include "sha256.h"

/* One setup run: the session, and what only setup keeps. */
struct setup_ctx {
        struct setup_session s;
        char *unit;                     /* user@UID.service */
        char *mtext_old, *mtext_new;    /* the manifest before (NULL: none) and after this run */
        size_t mold_len, mnew_len;
        bool dropin_changed, linger_new;
};

static void setup_ctx_done(struct setup_ctx *run) {
        setup_session_done(&run->s);
        free(run->unit);
        free(run->mtext_old);
        free(run->mtext_new);
}

/* The user, what is named after them, the bus and the locks. */
static int setup_begin(struct setup_ctx *run, struct un_error *err) {
        struct setup_session *s = &run->s;
        int r;

        r = setup_user_validate(s->h, s->o, &s->u, err);
        if (r < 0)
                return r;
        r = setup_refuse_for_hostconf(s->h, s->o, &s->u, s->out, err);
        if (r < 0)
                return r;
        s->mpath = manifest_path_for(s->u.name);
        run->unit = xstrdup_printf("user@%u.service", (unsigned) s->u.uid);
        if (!s->mpath || !run->unit)
                return -ENOMEM;
        if (setup_session_open_bus(s) < 0)
                setup_plan_note(&s->p.notes, "no system bus here (is PID 1 systemd?): files are written; reloads, "
                                "linger and the user manager are left to do by hand, see below");
        r = setup_session_lock(s, err);
        if (r < 0)
                return r;
        if (!s->o->dry_run)
                setup_plan_test_step("locked", NULL);
        return 0;
}

/* The user's manifest as an earlier run left it, or a new one; one that names another user is refused. */
static int load_manifest(struct setup_ctx *run, struct un_error *err) {
        struct setup_session *s = &run->s;
        bool have = false;
        int r;

        r = manifest_load(s->h, s->mpath, &s->m, &have, err);
        if (r < 0)
                return r;
        if (!have) {
                s->m.user = strdup(s->u.name);
                s->m.uid = s->u.uid;
                return s->m.user ? 0 : -ENOMEM;
        }
        if (strcmp(s->m.user, s->u.name) != 0 || s->m.uid != s->u.uid)
                return un_error(err, EEXIST, "%s belongs to %s (UID %u), not %s (UID %u)", s->mpath, s->m.user,
                                s->m.uid, s->u.name, (unsigned) s->u.uid);
        run->mtext_old = manifest_format(&s->m, &run->mold_len);
        return 0;
}

/* Every planner in turn, each adding what this host lacks. */
static int plan_everything(struct setup_ctx *run, struct un_error *err) {
        struct setup_session *s = &run->s;
        const struct setup_options *o = s->o;
        struct service_manager_info sm;
        bool systemd;
        int r;

        /* Without systemd (OpenRC, a container) no user@.service and no logind read a drop-in or linger. */
        service_manager_detect(s->h, &sm);
        systemd = sm.manager == SERVICE_MANAGER_SYSTEMD;
        if (!systemd && setup_plan_note(&s->p.notes, "no systemd here (%s): no user@.service drop-in and no linger; "
                                        "`usernode check` says how this host gives %s a cgroup",
                                        service_manager_to_string(sm.manager), s->u.name) < 0)
                return -ENOMEM;
        r = systemd ? setup_plan_dropin(s->h, o, s->u.uid, &s->p, &run->dropin_changed, err) : 0;
        if (r >= 0)
                r = setup_plan_subids(s->h, o, &s->u, &s->p, err);
        if (r >= 0)
                r = setup_plan_sysctls(s->h, o, &s->p, err);
        if (r >= 0)
                r = setup_plan_modules(s->h, o, &s->p, err);
        if (r >= 0)
                r = setup_plan_apparmor(s->h, &s->p, err);
        if (r >= 0 && o->fast_net)
                r = setup_plan_fast_net(s->h, &s->u, &s->p, err);
        if (r >= 0 && systemd && !o->no_linger)
                r = setup_plan_linger(s->h, s->bus, &s->u, &s->p, &run->linger_new, err);
        if (r >= 0 && s->bus)
                r = setup_plan_user_manager(s->h, o, s->bus, &s->u, run->dropin_changed, run->linger_new, &s->p);
        return r;
}

static bool plan_is_empty(const struct plan *p) {
        return p->n_changes == 0 && p->n_sysctls == 0 && strv_length(p->modprobe) == 0 && !p->linger_bus &&
               p->manager == MANAGER_NONE;
}

/* A line is recorded once; a file keeps the oldest "before" an earlier run recorded. */
static int record_change(struct manifest *m, const struct change *c) {
        struct manifest_file *f;
        int r;

        if (c->line) {
                for (size_t k = 0; k < m->n_lines; k++)
                        if (strcmp(m->lines[k].path, c->path) == 0 && strcmp(m->lines[k].line, c->line) == 0)
                                return 0;
                return manifest_add_line(m, c->path, c->line, c->line_created, c->added_eol);
        }
        r = manifest_add_file(m, c->path, c->old, c->old_len, !c->existed, c->mode,
                              c->uid == (uid_t) -1 ? 0 : c->uid, c->gid == (gid_t) -1 ? 0 : c->gid, &f);
        if (r < 0)
                return r;
        sha256_hex(c->new, c->new_len, f->new_hash);
        return 0;
}

/* Records the whole plan in the manifest, directories to create included, and formats it. */
static int record_plan(struct setup_ctx *run) {
        struct setup_session *s = &run->s;
        struct plan *p = &s->p;
        int r;

        for (size_t i = 0; i < p->n_changes; i++)
                if ((r = record_change(&s->m, &p->changes[i])) < 0)
                        return r;
        for (size_t i = 0; i < p->n_changes; i++)
                if ((r = setup_plan_missing_dirs(s->h, p->changes[i].path, &p->dirs)) < 0)
                        return r;
        if ((r = setup_plan_missing_dirs(s->h, s->mpath, &p->dirs)) < 0)
                return r;
        for (char **d = p->dirs; d && *d; d++)
                if (!strv_contains(s->m.dirs, *d) && (r = strv_push(&s->m.dirs, *d)) < 0)
                        return r;
        for (size_t i = 0; i < p->n_sysctls; i++)
                if ((r = manifest_add_sysctl(&s->m, p->sysctls[i].key, p->sysctls[i].prev, p->sysctls[i].value)) < 0)
                        return r;
        for (char **mod = p->modprobe; mod && *mod; mod++)
                if (!strv_contains(s->m.modules, *mod) && (r = strv_push(&s->m.modules, *mod)) < 0)
                        return r;
        if (p->linger_bus)
                s->m.linger = true;
        run->mtext_new = manifest_format(&s->m, &run->mnew_len);
        return run->mtext_new ? 0 : -ENOMEM;
}

/* --dry-run: the diffs, then what would be set, loaded and called. */
static int print_dry_run(struct setup_ctx *run) {
        struct setup_session *s = &run->s;
        struct plan *p = &s->p;
        int r;

        r = setup_print_changes(p, s->mpath, run->mtext_old, run->mold_len, run->mtext_new, run->mnew_len, s->out);
        for (size_t i = 0; r >= 0 && i < p->n_sysctls; i++)
                r = setup_plan_note(&p->todo, "would set %s = %s (now %s)", p->sysctls[i].key, p->sysctls[i].value,
                                    p->sysctls[i].prev);
        for (char **mod = p->modprobe; r >= 0 && mod && *mod; mod++)
                r = setup_plan_note(&p->todo, "would run: modprobe %s", *mod);
        for (char **a = p->apparmor; r >= 0 && a && *a; a++)
                r = setup_plan_note(&p->todo, "would run: apparmor_parser -r %s", *a);
        if (r >= 0 && p->reload && s->bus)
                r = setup_plan_note(&p->todo, "would call org.freedesktop.systemd1.Manager.Reload()");
        if (r >= 0 && p->linger_bus)
                r = setup_plan_note(&p->todo,
                                    "would call org.freedesktop.login1.Manager.SetUserLinger(%u, true, false)",
                                    (unsigned) s->u.uid);
        if (r >= 0 && p->manager != MANAGER_NONE)
                r = setup_plan_note(&p->todo, "would call org.freedesktop.systemd1.Manager.%s(\"%s\", \"replace\")",
                                    p->manager == MANAGER_START ? "StartUnit" : "RestartUnit", run->unit);
        if (r >= 0 && p->networkd && s->bus)
                r = setup_plan_note(&p->todo, "would call org.freedesktop.network1.Manager.Reload()");
        if (r >= 0)
                r = setup_print_todo_and_notes(s->out, "settings (--dry-run: nothing changed):", p);
        return r;
}

static mode_t dir_mode(const char *dir) {
        return strcmp(dir, MANIFEST_DIR) == 0 ? 0700 : 0755;
}

/* The manifest first (its own directory before it; every other directory after the manifest records
 * it), then each file atomically. Shadow's locks go once /etc/subuid and /etc/subgid are written. */
static int write_files(struct setup_ctx *run, struct un_error *err) {
        struct setup_session *s = &run->s;
        struct plan *p = &s->p;
        int r;

        for (char **d = p->dirs; d && *d; d++)
                if (startswith(MANIFEST_DIR, *d) && (r = host_mkdir_p(s->h, *d, dir_mode(*d), err)) < 0)
                        return r;
        setup_plan_test_step("mkdir", NULL);
        r = host_write_atomic(s->h, s->mpath, run->mtext_new, run->mnew_len, 0600, 0, 0, err);
        if (r < 0)
                return r;
        setup_plan_test_step("manifest", NULL);
        for (char **d = p->dirs; d && *d; d++)
                if ((r = host_mkdir_p(s->h, *d, dir_mode(*d), err)) < 0)
                        return r;
        for (size_t i = 0; i < p->n_changes; i++) {
                const struct change *c = &p->changes[i];

                r = setup_plan_write_change(s->h, c, err);
                if (r < 0)
                        return r;
                r = buf_printf(s->out, "%s %s%s%s\n", c->existed ? "updated" : "created", c->path,
                               c->line ? ": added " : "", strempty(c->line));
                if (r < 0)
                        return r;
        }
        setup_session_unlock_shadow(s);
        setup_plan_test_step("files", NULL);
        return 0;
}

/* Sysctls, modules and AppArmor profiles take effect now; where one fails, the files written apply it
 * at the next boot, and a note says so. */
static void apply_runtime_settings(struct setup_ctx *run) {
        struct setup_session *s = &run->s;
        struct plan *p = &s->p;

        for (size_t i = 0; i < p->n_sysctls; i++) {
                const struct manifest_sysctl *sc = &p->sysctls[i];
                int r;

                setup_plan_test_step("sysctl", sc->key);
                r = setup_plan_write_sysctl(s->h, sc->key, sc->value);
                if (r < 0)
                        setup_plan_note(&p->notes, "warning: cannot set %s = %s now: %s (it applies at the next boot)",
                                        sc->key, sc->value, strerror(-r));
                else
                        buf_printf(s->out, "set %s = %s (was %s)\n", sc->key, sc->value, sc->prev);
        }
        for (char **mod = p->modprobe; mod && *mod; mod++) {
                setup_plan_test_step("modprobe", *mod);
                setup_plan_run_tool(s->h, "modprobe", *mod, NULL, p);
        }
        for (char **a = p->apparmor; a && *a; a++) {
                setup_plan_test_step("apparmor", *a);
                setup_plan_run_tool(s->h, "apparmor_parser", "-r", *a, p);
        }
}

/* Reload, linger and the user manager over the bus; without a bus, what to run by hand. */
static void apply_bus_calls(struct setup_ctx *run) {
        struct setup_session *s = &run->s;
        struct plan *p = &s->p;
        struct un_error e = {};

        if (!s->bus) {
                if (p->reload)
                        setup_plan_note(&p->todo, "systemctl daemon-reload");
                if (p->n_changes > 0 && !s->h->offline && !s->o->no_linger)
                        setup_plan_note(&p->todo, "systemctl start %s", run->unit);
                return;
        }
        if (p->reload) {
                setup_plan_test_step("bus", "Reload");
                if (bus_daemon_reload(s->bus, &e) < 0)
                        setup_plan_note(&p->notes, "warning: daemon-reload failed: %s", e.msg);
        }
        if (p->linger_bus) {
                setup_plan_test_step("bus", "SetUserLinger");
                if (bus_set_linger(s->bus, s->u.uid, true, &e) < 0)
                        setup_plan_note(&p->notes, "warning: cannot enable linger: %s", e.msg);
        }
        if (p->manager != MANAGER_NONE) {
                int r;

                setup_plan_test_step("bus", "StartUnit");
                r = p->manager == MANAGER_START ? bus_start_unit(s->bus, run->unit, &e)
                                                : bus_restart_unit(s->bus, run->unit, &e);
                if (r < 0)
                        setup_plan_note(&p->notes, "warning: cannot start %s: %s", run->unit, e.msg);
        }
}

/* Under --root nothing runs that could reload what was written: what to run on that host. */
static void note_offline_todo(struct plan *p) {
        for (size_t i = 0; i < p->n_changes; i++) {
                const char *path = p->changes[i].path;

                if (strcmp(path, SETUP_SYSCTL) == 0)
                        setup_plan_note(&p->todo, "sysctl --system");
                else if (strcmp(path, SETUP_MODULES) == 0)
                        setup_plan_note(&p->todo, "systemctl restart systemd-modules-load.service");
                else if (startswith(path, "/etc/apparmor.d/"))
                        setup_plan_note(&p->todo, "apparmor_parser -r %s", path);
        }
}

int setup_run(const struct host *h, const struct setup_options *o, struct buf *out, struct un_error *err) {
        struct setup_ctx run = { .s = SETUP_SESSION_INIT(h, o, out) };
        struct plan *p = &run.s.p;
        int r;

        r = setup_begin(&run, err);
        if (r >= 0)
                r = load_manifest(&run, err);
        if (r >= 0)
                r = plan_everything(&run, err);
        if (r < 0)
                goto out;
        if (plan_is_empty(p)) {
                r = buf_printf(out, "nothing to do: %s is set up\n", run.s.u.name);
                if (r >= 0)
                        r = setup_print_list(out, "notes:", p->notes);
                goto out;
        }
        r = record_plan(&run);
        if (r < 0)
                goto out;
        if (o->dry_run) {
                r = print_dry_run(&run);
                goto out;
        }
        r = write_files(&run, err);
        if (r < 0)
                goto out;
        apply_runtime_settings(&run);
        apply_bus_calls(&run);
        if (h->offline)
                note_offline_todo(p);
        if (p->networkd)
                setup_plan_note(&p->todo, "networkctl reload");
        setup_plan_test_step("done", NULL);
        r = setup_print_todo_and_notes(out,
                                       h->offline ? "under --root nothing was reloaded; on that host run (or boot it):"
                                                  : "still to do by hand:",
                                       p);
out:
        setup_ctx_done(&run);
        return r;
}
