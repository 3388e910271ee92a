/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Where the host's configuration owns the files setup writes (NixOS generates /etc/systemd/system and
 * rewrites /etc/subuid, /etc/subgid and linger at every activation), setup writes nothing: it says which
 * settings of that configuration make the host ready, and refuses. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "cgroup.h"
#include "distro.h"
#include "hostconf.h"
#include "setup-internal.h"
#include "unitfile.h"

static int add_setting(const struct hostconf *hc, enum hostconf_setting s, const struct template_var *vars,
                       size_t n_vars, struct buf *lines) {
        _cleanup_free_ char *line = NULL;
        int r = hostconf_render(hc, s, vars, n_vars, &line);

        return r < 0 ? r : buf_printf(lines, "  %s\n", line);
}

static int need_delegate(const struct host *h, const struct setup_options *o, const struct user *u,
                         const struct hostconf *hc, struct buf *lines) {
        _cleanup_free_ char *unit = xstrdup_printf("user@%u.service", (unsigned) u->uid), *wanted = NULL;
        struct unit_info info = {};
        unsigned configured = 0;
        int r;

        if (!unit)
                return -ENOMEM;
        r = setup_parse_delegate(o->delegate ? o->delegate : SETUP_DEFAULT_DELEGATE, &wanted);
        if (r < 0)
                return r;
        if (unit_load(h, unit, &info, NULL) >= 0 && !info.masked && info.delegate.delegate)
                configured = info.delegate.controllers;
        unit_info_done(&info);
        if (!(controllers_from_string(wanted, NULL) & ~configured))
                return 0;
        return add_setting(hc, HOSTCONF_DELEGATE, (const struct template_var[]) { { "controllers", wanted } }, 1, lines);
}

static int need_subids(const struct host *h, const struct setup_options *o, const struct user *u,
                       const struct hostconf *hc, struct buf *lines) {
        struct subid_file uf = {}, gf = {};
        struct subid_verdict vu, vg;
        uint32_t count = o->subids ? o->subids : SUBID_MIN_COUNT, start = SUBID_FIRST;
        char start_s[16], count_s[16];
        int r = 0;

        if (subid_file_load(h, "/etc/subuid", &uf, NULL, NULL) < 0 || subid_file_load(h, "/etc/subgid", &gf, NULL, NULL) < 0)
                uf = gf = (struct subid_file) {};
        subid_evaluate(&uf, u->name, (uint32_t) u->uid, (uint32_t) u->uid, &vu);
        subid_evaluate(&gf, u->name, (uint32_t) u->uid, (uint32_t) u->gid, &vg);
        if (!subid_verdict_good(&vu) || !subid_verdict_good(&vg) || vu.total < count || vg.total < count) {
                /* The ranges other users have now are the configuration's too: clear of them. */
                (void) subid_find_free(&uf, NULL, SUBID_FIRST, count, &start);
                (void) subid_find_free(&gf, NULL, start, count, &start);
                snprintf(start_s, sizeof start_s, "%u", start);
                snprintf(count_s, sizeof count_s, "%u", count);
                {
                        const struct template_var vars[] = { { "user", u->name }, { "start", start_s }, { "count", count_s } };

                        r = add_setting(hc, HOSTCONF_SUBUID, vars, ELEMENTSOF(vars), lines);
                        if (r >= 0)
                                r = add_setting(hc, HOSTCONF_SUBGID, vars, ELEMENTSOF(vars), lines);
                }
        }
        subid_file_done(&uf);
        subid_file_done(&gf);
        return r;
}

int setup_refuse_for_hostconf(const struct host *h, const struct setup_options *o, const struct user *u,
                              struct buf *out, struct un_error *err) {
        _cleanup_free_ char *linger = xstrdup_printf(LINGER_DIR "/%s", u->name);
        struct distro d = {};
        const struct hostconf *hc;
        struct buf lines = {};
        int r;

        if (!linger)
                return -ENOMEM;
        r = distro_load(h, &d);
        if (r < 0)
                return un_error(err, -r, "cannot read os-release");
        hc = hostconf_for(&d);
        distro_done(&d);
        if (!hc)
                return 0;
        r = need_delegate(h, o, u, hc, &lines);
        if (r >= 0)
                r = need_subids(h, o, u, hc, &lines);
        if (r >= 0 && !o->no_linger && !host_exists(h, linger))
                r = add_setting(hc, HOSTCONF_LINGER, (const struct template_var[]) { { "user", u->name } }, 1, &lines);
        if (r >= 0)
                r = buf_printf(out,
                               "%s owns /etc/systemd/system, /etc/subuid, /etc/subgid and linger here: setup writes "
                               "none of them. Put this in %s, then run %s%s\n%s",
                               hc->file, hc->file, hc->apply,
                               lines.len ? ":" : " (nothing for setup to add; sysctl.* and kmod.* of `usernode "
                                                 "check` name their settings)",
                               strempty(lines.data));
        buf_free(&lines);
        if (r < 0)
                return r;
        return un_error_msg(err, EPERM, "refusing to write files that %s generates; nothing was changed", hc->file);
}
