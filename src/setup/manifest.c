/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "base64.h"
#include "host.h"
#include "manifest.h"
#include "util.h"

static void manifest_file_done(struct manifest_file *f) {
        free(f->path);
        free(f->prev);
}

void manifest_done(struct manifest *m) {
        for (size_t i = 0; i < m->n_files; i++)
                manifest_file_done(&m->files[i]);
        free(m->files);
        for (size_t i = 0; i < m->n_lines; i++) {
                free(m->lines[i].path);
                free(m->lines[i].line);
        }
        free(m->lines);
        for (size_t i = 0; i < m->n_sysctls; i++) {
                free(m->sysctls[i].key);
                free(m->sysctls[i].prev);
                free(m->sysctls[i].value);
        }
        free(m->sysctls);
        strv_free(m->modules);
        strv_free(m->dirs);
        free(m->user);
        *m = (struct manifest) {};
}

bool manifest_empty(const struct manifest *m) {
        return m->n_files == 0 && m->n_lines == 0 && m->n_sysctls == 0 && strv_length(m->modules) == 0 &&
               strv_length(m->dirs) == 0 && !m->linger;
}

/* Paths, keys and module names the manifest holds: no blanks, nothing a shell or a parser trips on. */
static bool valid_word(const char *s, bool path) {
        size_t n = strlen(s);

        if (n == 0 || n > 512 || (path && (s[0] != '/' || strstr(s, "/../") || strstr(s, "/./"))))
                return false;
        return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._@-+:") == n;
}

struct manifest_file *manifest_find_file(struct manifest *m, const char *path) {
        for (size_t i = 0; i < m->n_files; i++)
                if (strcmp(m->files[i].path, path) == 0)
                        return &m->files[i];
        return NULL;
}

#define GROW(array, n)                                                                  \
        ({                                                                              \
                __typeof__(array) _a = realloc(array, ((n) + 1) * sizeof *(array));     \
                if (_a)                                                                 \
                        (array) = _a;                                                   \
                _a != NULL;                                                             \
        })

int manifest_add_file(struct manifest *m, const char *path, const char *prev, size_t prev_len, bool prev_absent,
                      mode_t mode, uid_t uid, gid_t gid, struct manifest_file **ret) {
        struct manifest_file *f = manifest_find_file(m, path), n = {};

        if (f) {
                *ret = f;
                return 0;
        }
        if (!valid_word(path, true))
                return -EINVAL;
        if (!GROW(m->files, m->n_files))
                return -ENOMEM;
        n.path = strdup(path);
        n.prev_absent = prev_absent;
        n.prev_mode = mode & 07777;
        n.prev_uid = uid;
        n.prev_gid = gid;
        if (!prev_absent) {
                n.prev = malloc(prev_len + 1);
                if (n.prev) {
                        memcpy(n.prev, prev, prev_len);
                        n.prev[prev_len] = '\0';
                }
                n.prev_len = prev_len;
        }
        if (!n.path || (!prev_absent && !n.prev)) {
                manifest_file_done(&n);
                return -ENOMEM;
        }
        m->files[m->n_files] = n;
        *ret = &m->files[m->n_files++];
        return 0;
}

void manifest_remove_file(struct manifest *m, size_t i) {
        manifest_file_done(&m->files[i]);
        memmove(m->files + i, m->files + i + 1, (m->n_files - i - 1) * sizeof *m->files);
        m->n_files--;
}

int manifest_add_line(struct manifest *m, const char *path, const char *line, bool created, bool added_eol) {
        struct manifest_line l;

        if (!valid_word(path, true) || strchr(line, '\n'))
                return -EINVAL;
        if (!GROW(m->lines, m->n_lines))
                return -ENOMEM;
        l = (struct manifest_line) { strdup(path), strdup(line), created, added_eol };
        if (!l.path || !l.line) {
                free(l.path);
                free(l.line);
                return -ENOMEM;
        }
        m->lines[m->n_lines++] = l;
        return 0;
}

int manifest_add_sysctl(struct manifest *m, const char *key, const char *prev, const char *value) {
        struct manifest_sysctl s;

        if (!valid_word(key, false) || !valid_word(prev, false) || !valid_word(value, false))
                return -EINVAL;
        for (size_t i = 0; i < m->n_sysctls; i++)
                if (strcmp(m->sysctls[i].key, key) == 0)
                        return 0;       /* the first previous value is the one to restore */
        if (!GROW(m->sysctls, m->n_sysctls))
                return -ENOMEM;
        s = (struct manifest_sysctl) { strdup(key), strdup(prev), strdup(value) };
        if (!s.key || !s.prev || !s.value) {
                free(s.key);
                free(s.prev);
                free(s.value);
                return -ENOMEM;
        }
        m->sysctls[m->n_sysctls++] = s;
        return 0;
}

char *manifest_format(const struct manifest *m, size_t *ret_len) {
        struct buf b = {};
        int r;

        r = buf_printf(&b, "usernode-setup-manifest 1\nuser %s %u\n", m->user, m->uid);
        for (size_t i = 0; r >= 0 && i < m->n_files; i++) {
                const struct manifest_file *f = &m->files[i];

                if (f->prev_absent)
                        r = buf_printf(&b, "file %s new=%s prev=absent\n", f->path, f->new_hash);
                else {
                        _cleanup_free_ char *data = base64_encode(f->prev, f->prev_len, BASE64_STD);
                        char hash[SHA256_HEX_LEN + 1];

                        sha256_hex(f->prev, f->prev_len, hash);
                        r = data ? buf_printf(&b, "file %s new=%s prev=%s mode=%04o uid=%u gid=%u data=%s\n", f->path,
                                              f->new_hash, hash, (unsigned) f->prev_mode, (unsigned) f->prev_uid,
                                              (unsigned) f->prev_gid, data)
                                 : -ENOMEM;
                }
        }
        for (size_t i = 0; r >= 0 && i < m->n_lines; i++) {
                _cleanup_free_ char *data = base64_encode(m->lines[i].line, strlen(m->lines[i].line), BASE64_STD);

                r = data ? buf_printf(&b, "line %s %s%s%s\n", m->lines[i].path, data,
                                      m->lines[i].created ? " created" : "", m->lines[i].added_eol ? " added-eol" : "")
                         : -ENOMEM;
        }
        for (size_t i = 0; r >= 0 && i < m->n_sysctls; i++)
                r = buf_printf(&b, "sysctl %s prev=%s new=%s\n", m->sysctls[i].key, m->sysctls[i].prev,
                               m->sysctls[i].value);
        for (char **mod = m->modules; r >= 0 && mod && *mod; mod++)
                r = buf_printf(&b, "module %s\n", *mod);
        for (char **d = m->dirs; r >= 0 && d && *d; d++)
                r = buf_printf(&b, "dir %s\n", *d);
        if (r >= 0 && m->linger)
                r = buf_puts(&b, "linger\n");
        if (r < 0) {
                buf_free(&b);
                return NULL;
        }
        if (ret_len)
                *ret_len = b.len;
        return buf_steal(&b);
}

static const char *field(char **w, size_t n, const char *key) {
        for (size_t i = 0; i < n; i++) {
                const char *v = startswith(w[i], key);

                if (v && *v == '=')
                        return v + 1;
        }
        return NULL;
}

static int parse_record(struct manifest *m, char **w, size_t n) {
        int r;

        if (strcmp(w[0], "user") == 0 && n == 3) {
                if (m->user || !valid_user_name(w[1]) || parse_id(w[2], &m->uid) < 0)
                        return -EBADMSG;
                m->user = strdup(w[1]);
                return m->user ? 0 : -ENOMEM;
        }
        if (strcmp(w[0], "file") == 0 && n >= 4) {
                const char *new = field(w, n, "new"), *prev = field(w, n, "prev");
                _cleanup_free_ char *data = NULL;
                struct manifest_file *f;
                size_t len = 0;
                uint32_t mode = 0644, uid = 0, gid = 0;
                bool absent;

                if (!new || strlen(new) != SHA256_HEX_LEN || strspn(new, "0123456789abcdef") != SHA256_HEX_LEN ||
                    !prev || manifest_find_file(m, w[1]))
                        return -EBADMSG;
                absent = strcmp(prev, "absent") == 0;
                if (!absent) {
                        const char *d = field(w, n, "data"), *ms = field(w, n, "mode"), *us = field(w, n, "uid"),
                                   *gs = field(w, n, "gid");
                        char hash[SHA256_HEX_LEN + 1];
                        char *end;

                        if (!d || !ms || !us || !gs || parse_id(us, &uid) < 0 || parse_id(gs, &gid) < 0)
                                return -EBADMSG;
                        errno = 0;
                        mode = (uint32_t) strtoul(ms, &end, 8);
                        if (errno || *end || mode > 07777 || base64_decode(d, BASE64_STD, (unsigned char **) &data, &len) < 0)
                                return -EBADMSG;
                        sha256_hex(data, len, hash);
                        if (strcmp(hash, prev) != 0)
                                return -EBADMSG;        /* the stored old content is damaged */
                }
                r = manifest_add_file(m, w[1], data, len, absent, mode, uid, gid, &f);
                if (r < 0)
                        return r == -EINVAL ? -EBADMSG : r;
                memcpy(f->new_hash, new, sizeof f->new_hash);
                return 0;
        }
        if (strcmp(w[0], "line") == 0 && n >= 3 && n <= 5) {
                _cleanup_free_ char *line = NULL;
                bool created = false, added_eol = false;
                size_t len;

                for (size_t i = 3; i < n; i++)
                        if (strcmp(w[i], "created") == 0)
                                created = true;
                        else if (strcmp(w[i], "added-eol") == 0)
                                added_eol = true;
                        else
                                return -EBADMSG;
                if (base64_decode(w[2], BASE64_STD, (unsigned char **) &line, &len) < 0 || strlen(line) != len)
                        return -EBADMSG;
                r = manifest_add_line(m, w[1], line, created, added_eol);
                return r == -EINVAL ? -EBADMSG : r;
        }
        if (strcmp(w[0], "sysctl") == 0 && n == 4) {
                const char *prev = field(w, n, "prev"), *value = field(w, n, "new");

                if (!prev || !value)
                        return -EBADMSG;
                r = manifest_add_sysctl(m, w[1], prev, value);
                return r == -EINVAL ? -EBADMSG : r;
        }
        if (strcmp(w[0], "module") == 0 && n == 2) {
                if (!valid_word(w[1], false) || strchr(w[1], '/'))
                        return -EBADMSG;
                return strv_contains(m->modules, w[1]) ? 0 : strv_push(&m->modules, w[1]);
        }
        if (strcmp(w[0], "dir") == 0 && n == 2) {
                if (!valid_word(w[1], true))
                        return -EBADMSG;
                return strv_contains(m->dirs, w[1]) ? 0 : strv_push(&m->dirs, w[1]);
        }
        if (strcmp(w[0], "linger") == 0 && n == 1) {
                m->linger = true;
                return 0;
        }
        return -EBADMSG;
}

int manifest_parse(const char *text, size_t len, struct manifest *ret, struct un_error *err) {
        _cleanup_free_ char *copy = NULL;
        struct manifest m = {};
        char *cursor, *line;
        unsigned lineno = 0;
        int r = 0;

        if (len > MANIFEST_MAX)
                return un_error(err, EFBIG, "manifest larger than %u bytes", MANIFEST_MAX);
        if (strlen(text) != len)
                return un_error(err, EBADMSG, "manifest contains a NUL byte");
        copy = strdup(text);
        if (!copy)
                return un_error(err, ENOMEM, "manifest");
        cursor = copy;
        while ((line = line_next(&cursor, MANIFEST_MAX, &r))) {
                _cleanup_strv_free_ char **w = NULL;

                lineno++;
                if (lineno == 1) {
                        if (strcmp(line, "usernode-setup-manifest 1") != 0) {
                                r = -EBADMSG;
                                break;
                        }
                        continue;
                }
                if (strv_split(line, " ", &w) < 0) {
                        r = -ENOMEM;
                        break;
                }
                if (strv_length(w) == 0)
                        continue;
                r = parse_record(&m, w, strv_length(w));
                if (r < 0)
                        break;
        }
        if (r >= 0 && (lineno == 0 || !m.user))
                r = -EBADMSG;
        if (r < 0) {
                manifest_done(&m);
                return un_error(err, -r, "manifest line %u", lineno);
        }
        *ret = m;
        return 0;
}

char *manifest_path_for(const char *name) {
        return xstrdup_printf(MANIFEST_DIR "/%s.manifest", name);
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
