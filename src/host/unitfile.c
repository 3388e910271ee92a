/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "cgroup.h"
#include "unitfile.h"
#include "util.h"

/* systemd's lookup_paths_init() order for the system manager, highest priority first. /lib comes
 * after /usr/lib: on merged-/usr hosts it is the same directory and its entries dedupe away. */
const char *const unit_search_path[] = {
        "/etc/systemd/system.control",
        "/run/systemd/system.control",
        "/run/systemd/transient",
        "/run/systemd/generator.early",
        "/etc/systemd/system",
        "/etc/systemd/system.attached",
        "/run/systemd/system",
        "/run/systemd/system.attached",
        "/run/systemd/generator",
        "/usr/local/lib/systemd/system",
        "/usr/lib/systemd/system",
        "/lib/systemd/system",
        "/run/systemd/generator.late",
};
const size_t unit_search_path_len = ELEMENTSOF(unit_search_path);

static bool is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int parse_logical_line(char *l, char **section, unit_assignment_fn fn, void *userdata) {
        char *eq, *key, *value;
        size_t n;

        l = strstrip(l);
        if (*l == '\0')
                return 0;
        if (*l == '[') {
                char *s;

                n = strlen(l);
                if (n < 2 || l[n - 1] != ']')
                        return -EBADMSG;
                s = strndup(l + 1, n - 2);
                if (!s)
                        return -ENOMEM;
                free(*section);
                *section = s;
                return 0;
        }
        /* systemd logs "Missing '='" and goes on; so do we. */
        eq = strchr(l, '=');
        if (!eq)
                return 0;
        *eq = '\0';
        key = strstrip(l);
        value = strstrip(eq + 1);
        if (*key == '\0')
                return 0;
        return fn(*section, key, value, userdata);
}

int unit_file_parse(const char *text, size_t len, unit_assignment_fn fn, void *userdata, unsigned *ret_line) {
        _cleanup_free_ char *section = NULL;
        struct buf cont = {};
        const char *p = text, *end = text + len;
        const char *nul = memchr(text, '\0', len);
        unsigned line = 0;
        bool in_cont = false;
        int r = 0;

        if (nul) {
                line = 1;
                for (const char *q = text; q < nul; q++)
                        line += *q == '\n';
                r = -EBADMSG;
                goto out_line;
        }

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);
                const char *l = p;
                bool escaped = false;

                line++;
                p = nl ? nl + 1 : end;
                if (n > UNIT_LINE_MAX) {
                        r = -E2BIG;
                        goto out_line;
                }
                if (n > 0 && l[n - 1] == '\r')
                        n--;

                /* Comment lines are dropped even in the middle of a continuation, as systemd does. */
                {
                        size_t i = 0;

                        while (i < n && is_blank(l[i]))
                                i++;
                        if (i < n && (l[i] == '#' || l[i] == ';'))
                                continue;
                }

                if (cont.len + n > UNIT_LINE_MAX) {
                        r = -E2BIG;
                        goto out_line;
                }
                r = buf_append(&cont, l, n);
                if (r < 0)
                        goto out;

                for (size_t i = 0; i < n; i++)
                        escaped = escaped ? false : l[i] == '\\';
                if (escaped) {
                        cont.data[cont.len - 1] = ' ';
                        in_cont = true;
                        continue;
                }

                in_cont = false;
                r = parse_logical_line(cont.data, &section, fn, userdata);
                cont.len = 0;
                if (r < 0)
                        goto out_line;
        }
        if (in_cont) {
                r = parse_logical_line(cont.data, &section, fn, userdata);
                if (r < 0)
                        goto out_line;
        }
        r = 0;
        goto out;
out_line:
        if (ret_line)
                *ret_line = line;
out:
        buf_free(&cont);
        return r;
}

/* parse_boolean() of systemd. */
static int parse_boolean(const char *v) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(v, yes[i]) == 0)
                        return 1;
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(v, no[i]) == 0)
                        return 0;
        return -EINVAL;
}

/* The controller names systemd accepts in Delegate= (cgroup_controller_from_string); those it
 * delegates on cgroup v2 that a node needs map to a CONTROLLER_* bit, the rest to 0. */
static int systemd_controller(const char *w, unsigned *ret) {
        static const struct {
                const char *name;
                unsigned bit;
        } table[] = {
                { "cpu", CONTROLLER_CPU },
                { "cpuacct", 0 },
                { "cpuset", CONTROLLER_CPUSET },
                { "io", CONTROLLER_IO },
                { "blkio", 0 },
                { "memory", CONTROLLER_MEMORY },
                { "devices", 0 },
                { "pids", CONTROLLER_PIDS },
                { "bpf-firewall", 0 },
                { "bpf-devices", 0 },
                { "bpf-foreign", 0 },
                { "bpf-socket-bind", 0 },
                { "bpf-restrict-network-interfaces", 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (strcmp(w, table[i].name) == 0) {
                        *ret = table[i].bit;
                        return 0;
                }
        return -EINVAL;
}

/* extract_first_word(EXTRACT_UNQUOTE): blanks separate words, '…' and "…" quote within a word, a
 * backslash takes the next character literally. Returns 1 with a word, 0 at the end, -EINVAL on
 * an unterminated quote or a trailing backslash, -E2BIG past a word that does not fit in size. */
static int next_word(const char **p, char *word, size_t size) {
        const char *s = *p;
        size_t n = 0;
        char quote = 0;

        while (is_blank(*s))
                s++;
        if (*s == '\0') {
                *p = s;
                return 0;
        }
        for (; *s; s++) {
                char c = *s;

                if (!quote && is_blank(c))
                        break;
                if (c == '\\') {
                        if (*++s == '\0')
                                return -EINVAL;
                        c = *s;
                } else if (!quote && (c == '\'' || c == '"')) {
                        quote = c;
                        continue;
                } else if (quote && c == quote) {
                        quote = 0;
                        continue;
                }
                /* An overlong word is read to its end all the same (so the caller moves on), not kept. */
                if (n + 1 < size)
                        word[n] = c;
                n++;
        }
        if (quote)
                return -EINVAL;
        *p = s;
        if (n >= size)
                return -E2BIG;
        word[n] = '\0';
        return 1;
}

void unit_delegate_apply(struct unit_delegate *d, const char *value) {
        const char *p = value;
        unsigned mask = 0, invalid = 0;
        char word[64];
        int b, r;

        d->assigned = true;
        if (*value == '\0') {
                d->delegate = true;
                d->controllers = 0;
                return;
        }
        b = parse_boolean(value);
        if (b >= 0) {
                d->delegate = b;
                d->controllers = b ? CONTROLLERS_WANTED : 0;
                return;
        }
        while ((r = next_word(&p, word, sizeof word)) != 0) {
                unsigned bit;

                if (r == -E2BIG) {
                        /* An overlong word is no controller name (next_word moved past it). */
                        invalid++;
                        continue;
                }
                if (r < 0) {
                        /* systemd ignores the whole assignment on a syntax error. */
                        d->invalid++;
                        return;
                }
                if (systemd_controller(word, &bit) < 0)
                        invalid++;
                else
                        mask |= bit;
        }
        d->delegate = true;
        d->controllers |= mask;
        d->invalid += invalid;
}

static int delegate_assignment(const char *section, const char *key, const char *value, void *userdata) {
        if (streq_ptr(section, "Service") && strcmp(key, "Delegate") == 0)
                unit_delegate_apply(userdata, value);
        return 0;
}

static int load_file(const struct host *h, const char *path, struct unit_delegate *d, struct un_error *err) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        unsigned line = 0;
        int r;

        r = host_read_file(h, path, UNIT_FILE_MAX, &text, &len);
        if (r < 0)
                return un_error(err, -r, "cannot read %s", path);
        r = unit_file_parse(text, len, delegate_assignment, d, &line);
        if (r < 0)
                return un_error(err, -r, "%s:%u: %s", path, line,
                                r == -E2BIG ? "line too long" : r == -EBADMSG ? "malformed" : "cannot parse");
        return 0;
}

int unit_file_delegate(const struct host *h, const char *path, struct unit_delegate *ret, struct un_error *err) {
        struct unit_delegate d = {};
        int r = load_file(h, path, &d, err);

        if (r < 0)
                return r;
        *ret = d;
        return 0;
}

/* What a unit file or drop-in path is, as systemd's null_or_empty_path() and conf-files see it. */
enum entry_kind {
        ENTRY_MISSING,          /* absent, dangling, or not a file */
        ENTRY_MASKED,           /* a link to /dev/null, the null device, or an empty file */
        ENTRY_FILE,
};

static int classify(const struct host *h, const char *path, enum entry_kind *ret) {
        struct stat st;
        int r;

        r = host_stat(h, path, &st, false);
        if (r == -ENOENT || r == -ENOTDIR || r == -ELOOP) {
                *ret = ENTRY_MISSING;
                return 0;
        }
        if (r < 0)
                return r;
        if (S_ISLNK(st.st_mode)) {
                _cleanup_close_ int fd = host_open(h, path, O_PATH | O_NOFOLLOW, 0, HOST_FOLLOW);
                char target[PATH_MAX];
                ssize_t n;

                if (fd < 0)
                        return fd;
                n = readlinkat(fd, "", target, sizeof target - 1);
                if (n < 0)
                        return negative_errno();
                target[n] = '\0';
                /* Under --root the image's /dev is usually empty: judge the link by its target. */
                if (strcmp(target, "/dev/null") == 0) {
                        *ret = ENTRY_MASKED;
                        return 0;
                }
                r = host_stat(h, path, &st, true);
                if (r == -ENOENT || r == -ENOTDIR || r == -ELOOP) {
                        *ret = ENTRY_MISSING;
                        return 0;
                }
                if (r < 0)
                        return r;
        }
        if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))
                *ret = ENTRY_MASKED;
        else if (S_ISREG(st.st_mode))
                *ret = st.st_size == 0 ? ENTRY_MASKED : ENTRY_FILE;
        else
                *ret = ENTRY_MISSING;
        return 0;
}

struct dropin {
        char *name;
        char *path;             /* NULL when masked */
};

struct dropin_set {
        struct dropin *v;
        size_t n, cap;
};

static void dropin_set_done(struct dropin_set *s) {
        for (size_t i = 0; i < s->n; i++) {
                free(s->v[i].name);
                free(s->v[i].path);
        }
        free(s->v);
}

static bool dropin_set_has(const struct dropin_set *s, const char *name) {
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->v[i].name, name) == 0)
                        return true;
        return false;
}

static bool is_conf_name(const char *name) {
        size_t n = strlen(name);

        return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".conf") == 0;
}

static int compare_dropin(const void *a, const void *b) {
        return strcmp(((const struct dropin *) a)->name, ((const struct dropin *) b)->name);
}

/* Adds the drop-ins of one directory that no higher-priority directory already named. */
static int scan_dropin_dir(const struct host *h, const char *dir, struct dropin_set *s, struct un_error *err) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        unsigned count = 0, seen = 0;
        int r;

        r = host_opendir(h, dir, &d);
        if (r == -ENOENT || r == -ENOTDIR)
                return 0;
        if (r < 0)
                return un_error(err, -r, "cannot open %s", dir);
        while ((errno = 0, de = readdir(d))) {
                _cleanup_free_ char *path = NULL;
                enum entry_kind kind;

                /* Other entries are bounded too: a directory of a million files is no drop-in dir. */
                if (++seen > 16 * UNIT_DROPINS_MAX)
                        return un_error(err, E2BIG, "more than %u entries in %s", 16 * UNIT_DROPINS_MAX, dir);
                if (!is_conf_name(de->d_name) || de->d_type == DT_DIR)
                        continue;
                if (++count > UNIT_DROPINS_MAX)
                        return un_error(err, E2BIG, "more than %u drop-ins in %s", UNIT_DROPINS_MAX, dir);
                if (dropin_set_has(s, de->d_name))
                        continue;
                if (s->n >= UNIT_DROPINS_MAX)
                        return un_error(err, E2BIG, "more than %u drop-ins for one unit (in %s)", UNIT_DROPINS_MAX,
                                        dir);
                path = xstrdup_printf("%s/%s", dir, de->d_name);
                if (!path)
                        return un_error(err, ENOMEM, "%s", dir);
                r = classify(h, path, &kind);
                if (r < 0)
                        return un_error(err, -r, "cannot examine %s", path);
                if (kind == ENTRY_MISSING)
                        continue;
                if (s->n == s->cap) {
                        size_t cap = s->cap ? s->cap * 2 : 16;
                        struct dropin *v = realloc(s->v, cap * sizeof *v);

                        if (!v)
                                return un_error(err, ENOMEM, "%s", dir);
                        s->v = v;
                        s->cap = cap;
                }
                s->v[s->n] = (struct dropin) { .name = strdup(de->d_name) };
                if (!s->v[s->n].name)
                        return un_error(err, ENOMEM, "%s", dir);
                if (kind == ENTRY_FILE)
                        s->v[s->n].path = TAKE_PTR(path);
                s->n++;
        }
        if (errno != 0)
                return un_error(err, errno, "cannot read %s", dir);
        return 0;
}

/* "user@1000.service" -> "user@.service"; NULL when name is no instance. */
static int template_of(const char *name, char **ret) {
        const char *at = strchr(name, '@'), *dot = strrchr(name, '.');

        *ret = NULL;
        if (!at || !dot || dot < at)
                return 0;
        if (dot == at + 1)
                return 0;       /* already the template */
        *ret = xstrdup_printf("%.*s%s", (int) (at - name + 1), name, dot);
        return *ret ? 0 : -ENOMEM;
}

static bool valid_unit_name(const char *name) {
        const char *dot = strrchr(name, '.');

        return *name && strlen(name) < 256 && !strchr(name, '/') && dot && dot != name && dot[1] &&
               strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

int unit_load(const struct host *h, const char *name, struct unit_info *ret, struct un_error *err) {
        _cleanup_free_ char *template = NULL;
        struct unit_info u = {};
        struct dropin_set set = {};
        const char *names[3];
        size_t n_names = 0;
        int r;

        if (!valid_unit_name(name))
                return un_error(err, EINVAL, "invalid unit name '%s'", name);
        r = template_of(name, &template);
        if (r < 0)
                return un_error(err, -r, "%s", name);
        names[n_names++] = name;
        if (template)
                names[n_names++] = template;

        /* The instance's own file anywhere beats the template's (systemd's unit name map). */
        for (size_t i = 0; i < n_names && !u.found; i++)
                for (size_t j = 0; j < unit_search_path_len && !u.found; j++) {
                        _cleanup_free_ char *path = xstrdup_printf("%s/%s", unit_search_path[j], names[i]);
                        enum entry_kind kind;

                        if (!path) {
                                r = un_error(err, ENOMEM, "%s", name);
                                goto fail;
                        }
                        r = classify(h, path, &kind);
                        if (r < 0) {
                                r = un_error(err, -r, "cannot examine %s", path);
                                goto fail;
                        }
                        if (kind == ENTRY_MISSING)
                                continue;
                        u.found = true;
                        u.masked = kind == ENTRY_MASKED;
                        if (!u.masked) {
                                r = load_file(h, path, &u.delegate, err);
                                if (r < 0)
                                        goto fail;
                        }
                        u.fragment = TAKE_PTR(path);
                }
        /* A masked unit never loads, drop-ins included. */
        if (u.masked) {
                *ret = u;
                return 0;
        }

        {
                const char *type = strrchr(name, '.') + 1;
                _cleanup_free_ char *type_dir = xstrdup_printf("%s.d", type);

                if (!type_dir) {
                        r = un_error(err, ENOMEM, "%s", name);
                        goto fail;
                }
                for (size_t j = 0; j < unit_search_path_len; j++) {
                        for (size_t i = 0; i <= n_names; i++) {
                                const char *base = unit_search_path[j];
                                _cleanup_free_ char *dir = i < n_names ? xstrdup_printf("%s/%s.d", base, names[i])
                                                                       : xstrdup_printf("%s/%s", base, type_dir);

                                if (!dir) {
                                        r = un_error(err, ENOMEM, "%s", name);
                                        goto fail;
                                }
                                r = scan_dropin_dir(h, dir, &set, err);
                                if (r < 0)
                                        goto fail;
                        }
                }
        }
        if (set.n > 0)
                qsort(set.v, set.n, sizeof *set.v, compare_dropin);
        for (size_t i = 0; i < set.n; i++) {
                if (!set.v[i].path) {
                        u.masked_dropins++;
                        continue;
                }
                r = load_file(h, set.v[i].path, &u.delegate, err);
                if (r < 0)
                        goto fail;
                r = strv_push(&u.dropins, set.v[i].path);
                if (r < 0) {
                        r = un_error(err, -r, "%s", name);
                        goto fail;
                }
        }
        dropin_set_done(&set);
        *ret = u;
        return 0;
fail:
        dropin_set_done(&set);
        unit_info_done(&u);
        return r;
}

void unit_info_done(struct unit_info *u) {
        free(u->fragment);
        strv_free(u->dropins);
        *u = (struct unit_info) {};
}
