/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The systemd side of setup: the Delegate= drop-in for user@.service, linger, and the user's manager,
 * started or restarted so that it runs with the delegation. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>

#include "bus.h"
#include "cgroup.h"
#include "cgroup-probe.h"
#include "setup-internal.h"
#include "unitfile.h"

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

/* Warns of every drop-in that sorts after ours and sets Delegate=: it wins. The drop-ins are the ones
 * systemd applies to the user's manager (unit_load, as check's cgroup.delegation reads them). */
static int note_overriding_dropins(const struct host *h, uid_t uid, struct plan *p) {
        _cleanup_free_ char *unit = xstrdup_printf("user@%u.service", (unsigned) uid);
        const char *base = strrchr(SETUP_DROPIN, '/') + 1;
        struct unit_info u = {};
        struct un_error err = {};
        int r = 0;

        if (!unit)
                return -ENOMEM;
        /* A unit that does not load is check's to report; setup writes its drop-in all the same. */
        if (unit_load(h, unit, &u, &err) < 0)
                return 0;
        for (char **d = u.dropins; d && *d && r >= 0; d++) {
                struct unit_delegate dg;

                if (strcmp(strrchr(*d, '/') + 1, base) <= 0 || unit_file_delegate(h, *d, &dg, &err) < 0 ||
                    !dg.assigned)
                        continue;
                r = setup_plan_note(&p->notes, "warning: %s sets Delegate= and sorts after %s, so it overrides "
                                    "usernode's delegation; remove its Delegate= line or merge the lists", *d, base);
        }
        unit_info_done(&u);
        return r;
}

/* The delegation drop-in; *ret_changed when it changes, so that the manager reloads. */
int setup_plan_dropin(const struct host *h, const struct setup_options *o, uid_t uid, struct plan *p,
                      bool *ret_changed, struct un_error *err) {
        char *content;
        int r;

        *ret_changed = false;
        r = note_overriding_dropins(h, uid, p);
        if (r < 0)
                return r;
        content = xstrdup_printf(OURS ": delegates cgroup controllers to user managers so that a rootless\n"
                                 "# Kubernetes node can set resource limits. `usernode unsetup` removes it.\n"
                                 "[Service]\nDelegate=%s\n",
                                 o->delegate ? o->delegate : SETUP_DEFAULT_DELEGATE);
        r = setup_plan_add_own_file(h, p, SETUP_DROPIN, content, err);
        if (r <= 0)
                return r;
        *ret_changed = true;
        p->reload = true;
        return 0;
}

/* Linger: over the bus on a live host with logind; otherwise the file logind itself keeps. */
int setup_plan_linger(const struct host *h, sd_bus *bus, const struct user *u, struct plan *p, bool *ret_new,
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
        r = setup_plan_read_target(h, c.path, SMALL_FILE_MAX, &c, err);
        if (r < 0) {
                free(c.path);
                return r;
        }
        setup_plan_note(&p->todo, "logind reads %s/%s when it starts (or: loginctl enable-linger %s)", LINGER_DIR,
                        u->name, u->name);
        return setup_plan_add_change(p, &c, strdup(""), 0);
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
int setup_plan_user_manager(const struct host *h, const struct setup_options *o, sd_bus *bus, const struct user *u,
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
                return setup_plan_note(&p->notes, "%s runs without %s (it started before they were delegated, and "
                                       "never gives them to its units): %s must log out of every session and back in, "
                                       "or rerun with --restart-user-manager (stops %s's processes)",
                                       unit, lacks_list, u->name, u->name);
        return setup_plan_note(&p->notes, "%s runs with the old delegation: %s must log out of every session and back "
                               "in, or rerun with --restart-user-manager (stops %s's processes)",
                               unit, u->name, u->name);
}

