/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The user a run is for: who may be set up, and whose manifest an unsetup takes back. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "setup-internal.h"

int setup_user_login_defs_u32(const struct host *h, const char *key, uint32_t def, uint32_t *ret) {
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

int setup_user_validate(const struct host *h, const struct setup_options *o, struct user *u, struct un_error *err) {
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
        r = setup_user_login_defs_u32(h, "SYS_UID_MAX", 999, &sys_max);
        if (r >= 0 && !o->force && (u->uid == 0 || u->uid <= sys_max))
                r = un_error(err, EPERM, "refusing to set up %s: %s (UID %u%s); a rootless node is for an "
                             "ordinary login user (--force to insist)", u->name,
                             u->uid == 0 ? "that is root" : "a system user", (unsigned) u->uid,
                             u->uid == 0 ? "" : " <= SYS_UID_MAX from /etc/login.defs");
        if (r < 0)
                user_done(u);
        return r;
}

int setup_user_lookup_maybe_gone(const struct host *h, const struct setup_options *o, struct user *u,
                                 struct un_error *err) {
        if (!o->user || strchr(o->user, ':') || strchr(o->user, '/') || strchr(o->user, '\n'))
                return un_error(err, EINVAL, "invalid user name '%.64s'", strempty(o->user));
        if (user_lookup(h, o->user, u, NULL) >= 0)
                return 0;
        if (!valid_user_name(o->user))
                return un_error(err, EINVAL, "invalid user name '%.64s'", o->user);
        u->name = strdup(o->user);
        return u->name ? 0 : -ENOMEM;
}
