/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "users.h"
#include "util.h"

static void id_entry_done(struct id_entry *e) {
        free(e->name);
        free(e->home);
}

void id_table_done(struct id_table *t) {
        for (size_t i = 0; i < t->n; i++)
                id_entry_done(&t->entries[i]);
        free(t->entries);
        *t = (struct id_table) {};
}

/* Splits a colon-separated line into exactly n fields (in place). */
static int split_fields(char *line, char **fields, size_t n) {
        size_t i = 0;

        fields[i++] = line;
        for (char *p = line; *p; p++)
                if (*p == ':') {
                        if (i == n)
                                return -EINVAL;
                        *p = '\0';
                        fields[i++] = p + 1;
                }
        return i == n ? 0 : -EINVAL;
}

int id_table_parse(const char *text, bool passwd, struct id_table *ret, unsigned *ret_line) {
        _cleanup_free_ char *copy = strdup(text);
        struct id_table t = {};
        char *cursor = copy, *line;
        unsigned lineno = 0;
        size_t cap = 0;
        int r = 0;

        if (!copy)
                return -ENOMEM;
        while ((line = line_next(&cursor, HOST_LINE_MAX, &r))) {
                char *f[7];
                struct id_entry e = {};

                lineno++;
                if (line[0] == '\0' || line[0] == '#' || line[0] == '+' || line[0] == '-')
                        continue;
                if (split_fields(line, f, passwd ? 7 : 4) < 0 || f[0][0] == '\0' ||
                    parse_id(f[2], &e.id) < 0 || (passwd && parse_id(f[3], &e.gid) < 0)) {
                        r = -EBADMSG;
                        break;
                }
                if (t.n >= ID_TABLE_MAX_ENTRIES) {
                        r = -E2BIG;
                        break;
                }
                if (t.n == cap) {
                        struct id_entry *n;

                        cap = cap ? cap * 2 : 64;
                        n = realloc(t.entries, cap * sizeof *n);
                        if (!n) {
                                r = -ENOMEM;
                                break;
                        }
                        t.entries = n;
                }
                e.name = strdup(f[0]);
                e.home = passwd ? strdup(f[5]) : NULL;
                if (!e.name || (passwd && !e.home)) {
                        id_entry_done(&e);
                        r = -ENOMEM;
                        break;
                }
                t.entries[t.n++] = e;
        }
        if (r < 0) {
                /* An overlong line stops line_next before it is counted. */
                if (ret_line)
                        *ret_line = r == -E2BIG && !cursor ? lineno + 1 : lineno;
                id_table_done(&t);
                return r;
        }
        *ret = t;
        return 0;
}

int id_table_load(const struct host *h, const char *path, bool passwd, struct id_table *ret, struct un_error *err) {
        _cleanup_free_ char *text = NULL;
        unsigned line = 0;
        size_t len;
        int r;

        r = host_read_file(h, path, HOST_FILE_MAX, &text, &len);
        if (r < 0)
                return un_error(err, -r, "cannot read %s", path);
        if (strlen(text) != len)
                return un_error(err, EBADMSG, "%s contains a NUL byte", path);
        r = id_table_parse(text, passwd, ret, &line);
        if (r == -EBADMSG || r == -E2BIG)
                return un_error(err, -r, "%s:%u: malformed line", path, line);
        if (r < 0)
                return un_error(err, -r, "cannot parse %s", path);
        return 0;
}

const struct id_entry *id_table_find_name(const struct id_table *t, const char *name) {
        for (size_t i = 0; i < t->n; i++)
                if (strcmp(t->entries[i].name, name) == 0)
                        return &t->entries[i];
        return NULL;
}

const struct id_entry *id_table_find_id(const struct id_table *t, uint32_t id) {
        for (size_t i = 0; i < t->n; i++)
                if (t->entries[i].id == id)
                        return &t->entries[i];
        return NULL;
}

void user_done(struct user *u) {
        free(u->name);
        free(u->home);
        *u = (struct user) {};
}

static int user_from_nss(const char *name_or_uid, struct user *ret, struct un_error *err) {
        struct passwd pw, *res = NULL;
        char buf[16384];
        uint32_t uid;
        int r;

        if (parse_id(name_or_uid, &uid) >= 0)
                r = getpwuid_r(uid, &pw, buf, sizeof buf, &res);
        else
                r = getpwnam_r(name_or_uid, &pw, buf, sizeof buf, &res);
        if (r != 0)
                return un_error(err, r, "cannot look up user '%s'", name_or_uid);
        if (!res)
                return un_error(err, ESRCH, "no such user '%s'", name_or_uid);
        *ret = (struct user) {
                .name = strdup(pw.pw_name),
                .uid = pw.pw_uid,
                .gid = pw.pw_gid,
                .home = strdup(pw.pw_dir),
        };
        if (!ret->name || !ret->home) {
                user_done(ret);
                return un_error(err, ENOMEM, "user '%s'", name_or_uid);
        }
        return 0;
}

int user_lookup(const struct host *h, const char *name_or_uid, struct user *ret, struct un_error *err) {
        struct id_table pw = {};
        const struct id_entry *e;
        uint32_t uid;
        int r;

        if (strlen(name_or_uid) > 256 || (!valid_user_name(name_or_uid) && parse_id(name_or_uid, &uid) < 0))
                return un_error(err, EINVAL, "invalid user name '%.64s'", name_or_uid);
        if (!h->offline)
                return user_from_nss(name_or_uid, ret, err);

        r = id_table_load(h, "/etc/passwd", true, &pw, err);
        if (r < 0)
                return r;
        e = parse_id(name_or_uid, &uid) >= 0 ? id_table_find_id(&pw, uid) : id_table_find_name(&pw, name_or_uid);
        if (!e) {
                id_table_done(&pw);
                /* No NSS under --root: an SSSD or LDAP user is not in the tree. */
                return un_error_msg(err, ESRCH,
                                    "no such user '%s' in %s/etc/passwd: --root reads users from the tree's "
                                    "/etc/passwd only, not from NSS (LDAP, SSSD)",
                                    name_or_uid, h->root);
        }
        *ret = (struct user) { .name = strdup(e->name), .uid = e->id, .gid = e->gid, .home = strdup(e->home) };
        id_table_done(&pw);
        if (!ret->name || !ret->home) {
                user_done(ret);
                return un_error(err, ENOMEM, "user '%s'", name_or_uid);
        }
        return 0;
}

int user_lookup_default(const struct host *h, struct user *ret, struct un_error *err) {
        const char *sudo_user = getuid() == 0 ? secure_getenv("SUDO_USER") : NULL;
        char uid[16];

        if (sudo_user && *sudo_user && strcmp(sudo_user, "root") != 0)
                return user_lookup(h, sudo_user, ret, err);
        snprintf(uid, sizeof uid, "%u", (unsigned) getuid());
        return user_lookup(h, uid, ret, err);
}
