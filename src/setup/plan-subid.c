/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Sub-IDs: a user with a good range is left alone; one without enough gets the lowest free range in
 * both files (/etc/subuid, /etc/subgid); an overlapping or self-containing range is the admin's to fix. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "setup-internal.h"

/* The sub-ID files and the real IDs a new range must avoid. */
struct subid_files {
        struct subid_file uf, gf;
        struct id_table pw, gr;
        struct subid_verdict uv, gv;
};

static void subid_files_done(struct subid_files *f) {
        subid_file_done(&f->uf);
        subid_file_done(&f->gf);
        id_table_done(&f->pw);
        id_table_done(&f->gr);
}

static int refuse_broken_ranges(const struct subid_files *f, const struct user *u, struct un_error *err) {
        for (int g = 0; g < 2; g++) {
                const struct subid_verdict *v = g ? &f->gv : &f->uv;
                const char *path = g ? "/etc/subgid" : "/etc/subuid";

                if (v->overlap_mine)
                        return un_error(err, EEXIST, "%s:%u: %s's range %u-%u overlaps %s's range (line %u); fix it "
                                        "by hand (usermod --del-subuids/--del-subgids), then rerun setup",
                                        path, v->overlap_mine->line, u->name, v->overlap_mine->start,
                                        v->overlap_mine->start + v->overlap_mine->count - 1, v->overlap_other->owner,
                                        v->overlap_other->line);
                if (v->contains_own)
                        return un_error(err, EEXIST, "%s:%u: %s's range contains the user's own ID %u; fix it by "
                                        "hand, then rerun setup", path, v->contains_own->line, u->name,
                                        g ? (unsigned) u->gid : (unsigned) u->uid);
        }
        return 0;
}

/* Where the user's new range starts. */
static int find_start(const struct subid_files *f, uint32_t count, uint32_t min, uint32_t *ret_start,
                      struct un_error *err) {
        /* A user with a range in one file only (a setup interrupted between the two writes, or an admin)
         * gets the same start in the other file when it is free there. */
        for (int g = 0; g < 2; g++) {
                const struct subid_verdict *have = g ? &f->uv : &f->gv;
                uint32_t s2;

                if (have->total >= count && have->best && have->best->count >= count &&
                    subid_find_free(g ? &f->gf : &f->uf, g ? &f->gr : &f->pw, have->best->start, count, &s2) >= 0 &&
                    s2 == have->best->start) {
                        *ret_start = s2;
                        return 0;
                }
        }
        /* One start free in both files, so that the user's UIDs and GIDs line up as usermod users expect. */
        *ret_start = 0;
        for (unsigned i = 0; i < 1000; i++) {
                uint32_t a, b;
                int r;

                r = subid_find_free(&f->uf, &f->pw, min, count, &a);
                if (r >= 0)
                        r = subid_find_free(&f->gf, &f->gr, a, count, &b);
                if (r < 0)
                        return un_error(err, -r, "no free range of %u sub-IDs at or above %u", count, min);
                if (a == b) {
                        *ret_start = a;
                        break;
                }
                min = b;
        }
        return 0;
}

int setup_plan_subids(const struct host *h, const struct setup_options *o, const struct user *u, struct plan *p,
                      struct un_error *err) {
        struct subid_files f = {};
        uint32_t count = o->subids ? o->subids : SUBID_MIN_COUNT, min, start;
        int r;

        r = setup_user_login_defs_u32(h, "SUB_UID_MIN", SUBID_FIRST, &min);
        if (r < 0)
                return r;
        r = subid_file_load(h, "/etc/subuid", &f.uf, NULL, err);
        if (r >= 0)
                r = subid_file_load(h, "/etc/subgid", &f.gf, NULL, err);
        if (r < 0) {
                r = r == -ENOMEM ? r : -EBADMSG;
                goto out;
        }
        subid_evaluate(&f.uf, u->name, u->uid, u->uid, &f.uv);
        subid_evaluate(&f.gf, u->name, u->uid, u->gid, &f.gv);
        r = refuse_broken_ranges(&f, u, err);
        if (r < 0 || (f.uv.total >= count && f.gv.total >= count))
                goto out;

        r = id_table_load(h, "/etc/passwd", true, &f.pw, err);
        if (r >= 0)
                r = id_table_load(h, "/etc/group", false, &f.gr, err);
        if (r >= 0)
                r = find_start(&f, count, min, &start, err);
        for (int g = 0; r >= 0 && g < 2; g++) {
                _cleanup_free_ char *line = NULL;

                if ((g ? f.gv.total : f.uv.total) >= count)
                        continue;
                line = xstrdup_printf("%s:%u:%u", u->name, start, count);
                r = line ? setup_plan_add_line(h, g ? "/etc/subgid" : "/etc/subuid", line, NULL, p, err) : -ENOMEM;
        }
out:
        subid_files_done(&f);
        return r;
}
