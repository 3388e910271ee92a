/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "apparmor.h"
#include "template.h"
#include "util.h"

#define APPARMOR_FILE_MAX (1024u * 1024u)
#define WORD_MAX 4096u
#define WORDS_MAX 256u
#define DEPTH_MAX 64u
#define VARS_MAX 256u
#define EXPAND_DEPTH_MAX 8

enum token {
        TOK_EOF,
        TOK_WORD,
        TOK_COMMA,
        TOK_OPEN,
        TOK_CLOSE,
        TOK_NEWLINE,
};

struct lexer {
        const char *p;
        unsigned line;
        struct buf word;
};

static bool is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* A '{' opens a block when nothing follows it on its word ("flags=(unconfined) {"); inside a word
 * it starts a glob alternation ("/usr/bin/starter{,-suid}"). */
static bool opens_block(const char *p) {
        return p[1] == '\0' || p[1] == '\n' || is_blank(p[1]) || p[1] == '}';
}

static int lex_word(struct lexer *l) {
        unsigned brace = 0, paren = 0;

        l->word.len = 0;
        for (;;) {
                char c = *l->p;
                int r = 0;

                if (c == '\0')
                        break;
                if (c == '"') {
                        const char *end = l->p + 1;

                        while (*end && *end != '"')
                                end++;
                        if (*end != '"')
                                return -EINVAL;
                        for (const char *q = l->p + 1; q < end; q++)
                                if (*q == '\n')
                                        l->line++;
                        r = buf_append(&l->word, l->p + 1, (size_t) (end - l->p - 1));
                        l->p = end + 1;
                } else if (c == '\\' && l->p[1] && l->p[1] != '\n') {
                        r = buf_append(&l->word, l->p, 2);      /* kept: the glob matcher reads escapes */
                        l->p += 2;
                } else if (paren > 0 && (c == '\n' || is_blank(c))) {
                        /* "flags=(complain, attach_disconnected)" is one word, blanks dropped. */
                        if (c == '\n')
                                l->line++;
                        l->p++;
                } else if (c == '\n' || is_blank(c) || (c == ',' && brace == 0 && paren == 0))
                        break;
                else if (c == '{' && brace == 0 && paren == 0 && opens_block(l->p))
                        break;
                else if (c == '}' && brace == 0)
                        break;
                else {
                        if (c == '(')
                                paren++;
                        else if (c == ')' && paren > 0)
                                paren--;
                        else if (c == '{' && paren == 0)
                                brace++;
                        else if (c == '}' && paren == 0)
                                brace--;
                        r = buf_append(&l->word, l->p, 1);
                        l->p++;
                }
                if (r < 0)
                        return r;
                if (l->word.len > WORD_MAX)
                        return -E2BIG;
        }
        return buf_append(&l->word, "", 0) < 0 ? -ENOMEM : 0;
}

static int lex_next(struct lexer *l, enum token *ret) {
        for (;;) {
                char c = *l->p;

                if (c == '\0') {
                        *ret = TOK_EOF;
                        return 0;
                }
                if (c == '\n') {
                        l->p++;
                        l->line++;
                        *ret = TOK_NEWLINE;
                        return 0;
                }
                if (is_blank(c)) {
                        l->p++;
                        continue;
                }
                if (c == '#') {
                        /* "#include <...>" is the old include syntax: ignored like the new one. */
                        l->p += strcspn(l->p, "\n");
                        continue;
                }
                l->p++;
                if (c == ',') {
                        *ret = TOK_COMMA;
                        return 0;
                }
                if (c == '}') {
                        *ret = TOK_CLOSE;
                        return 0;
                }
                if (c == '{' && opens_block(l->p - 1)) {
                        *ret = TOK_OPEN;
                        return 0;
                }
                l->p--;
                *ret = TOK_WORD;
                return lex_word(l);
        }
}

struct variable {
        char *name;             /* "exec_path" for @{exec_path} */
        char **values;
};

struct parser {
        struct apparmor_file *file;
        struct variable vars[VARS_MAX];
        size_t n_vars;
};

static void parser_done(struct parser *ps) {
        for (size_t i = 0; i < ps->n_vars; i++) {
                free(ps->vars[i].name);
                strv_free(ps->vars[i].values);
        }
}

static bool is_path_like(const char *w) {
        return w[0] == '/' || startswith(w, "@{");
}

static int add_profile(struct parser *ps, char **w, unsigned line) {
        struct apparmor_file *f = ps->file;
        struct apparmor_profile *p, *np;
        _cleanup_free_ char *rest = NULL;
        struct buf b = {};
        size_t i;
        const char *flags;

        if (f->n >= APPARMOR_PROFILES_MAX)
                return -E2BIG;
        np = realloc(f->profiles, (f->n + 1) * sizeof *np);
        if (!np)
                return -ENOMEM;
        f->profiles = np;
        p = &f->profiles[f->n];
        *p = (struct apparmor_profile) { .line = line };
        if (strcmp(w[0], "profile") == 0) {
                p->name = strdup(w[1]);
                i = 2;
                if (w[2] && is_path_like(w[2]))
                        p->attachment = strdup(w[i++]);
                if (!p->name || (w[2] && is_path_like(w[2]) && !p->attachment))
                        goto oom;
        } else {
                p->name = strdup(w[0]);
                p->attachment = strdup(w[0]);
                i = 1;
                if (!p->name || !p->attachment)
                        goto oom;
        }
        for (; w[i]; i++)
                if (buf_puts(&b, w[i]) < 0) {
                        buf_free(&b);
                        goto oom;
                }
        rest = b.data ? buf_steal(&b) : strdup("");
        if (!rest)
                goto oom;
        /* "flags=(unconfined)", "flags = (unconfined)" or the old bare "(unconfined)". */
        flags = strstr(rest, "flags=(");
        flags = flags ? flags + 6 : rest[0] == '(' ? rest : NULL;
        if (flags) {
                size_t n = strcspn(flags + 1, ")");

                p->flags = strndup(flags + 1, n);
                if (!p->flags)
                        goto oom;
        }
        f->n++;
        return (int) (f->n - 1);
oom:
        free(p->name);
        free(p->attachment);
        return -ENOMEM;
}

/* "@{exec_path} = /usr/bin/a /usr/bin/b" and "@{x} += /opt/y", defined at the top level. */
static int add_variable(struct parser *ps, char **w) {
        _cleanup_strv_free_ char **values = NULL;
        _cleanup_free_ char *name = NULL;
        struct buf b = {};
        char *text, *eq, *close;
        bool append;
        int r = 0;

        for (size_t i = 0; w[i] && r >= 0; i++)
                r = buf_printf(&b, "%s%s", i ? " " : "", w[i]);
        if (r < 0 || !b.data) {
                buf_free(&b);
                return -ENOMEM;
        }
        text = b.data;
        eq = strchr(text, '=');
        close = strchr(text, '}');
        if (!eq || !close || close > eq) {
                buf_free(&b);
                return 0;
        }
        append = eq > text && eq[-1] == '+';
        name = strndup(text + 2, (size_t) (close - text - 2));
        r = name ? strv_split(eq + 1, " \t", &values) : -ENOMEM;
        buf_free(&b);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ps->n_vars; i++)
                if (strcmp(ps->vars[i].name, name) == 0) {
                        if (!append) {
                                strv_free(ps->vars[i].values);
                                ps->vars[i].values = TAKE_PTR(values);
                                return 0;
                        }
                        for (char **v = values; v && *v; v++)
                                if (strv_length(ps->vars[i].values) < WORDS_MAX &&
                                    strv_push(&ps->vars[i].values, *v) < 0)
                                        return -ENOMEM;
                        return 0;
                }
        if (ps->n_vars >= VARS_MAX)
                return 0;
        ps->vars[ps->n_vars++] = (struct variable) { .name = TAKE_PTR(name), .values = TAKE_PTR(values) };
        return 0;
}

static const struct variable *find_variable(const struct parser *ps, const char *name, size_t len) {
        for (size_t i = 0; i < ps->n_vars; i++)
                if (strlen(ps->vars[i].name) == len && strncmp(ps->vars[i].name, name, len) == 0)
                        return &ps->vars[i];
        return NULL;
}

/* Replaces @{var} by its value, or by "{a,b}" for several. NULL (errno set) when a variable is unknown. */
static char *expand_variables(const struct parser *ps, const char *s, int depth) {
        struct buf b = {};
        const char *p = s;

        if (depth > EXPAND_DEPTH_MAX) {
                errno = ELOOP;
                return NULL;
        }
        for (;;) {
                const char *at = strstr(p, "@{"), *close;
                const struct variable *v;
                int r;

                if (!at) {
                        if (buf_puts(&b, p) < 0)
                                goto fail;
                        break;
                }
                close = strchr(at, '}');
                v = close ? find_variable(ps, at + 2, (size_t) (close - at - 2)) : NULL;
                if (!v || !v->values || !v->values[0]) {
                        buf_free(&b);
                        errno = ENOENT;
                        return NULL;
                }
                r = buf_append(&b, p, (size_t) (at - p));
                if (r >= 0 && v->values[1])
                        r = buf_puts(&b, "{");
                for (char **val = v->values; r >= 0 && *val; val++) {
                        _cleanup_free_ char *e = expand_variables(ps, *val, depth + 1);

                        if (!e) {
                                buf_free(&b);
                                return NULL;
                        }
                        r = buf_printf(&b, "%s%s", val == v->values ? "" : ",", e);
                }
                if (r >= 0 && v->values[1])
                        r = buf_puts(&b, "}");
                if (r < 0)
                        goto fail;
                if (b.len > WORD_MAX) {
                        buf_free(&b);
                        errno = E2BIG;
                        return NULL;
                }
                p = close + 1;
        }
        return buf_steal(&b);
fail:
        buf_free(&b);
        errno = ENOMEM;
        return NULL;
}

/* A rule in a profile's own block: "userns,", "allow userns,", "audit deny userns create,". */
static void eval_rule(struct apparmor_profile *p, char **w) {
        bool deny = false;
        size_t i = 0;

        for (; w[i]; i++) {
                if (strcmp(w[i], "deny") == 0)
                        deny = true;
                else if (strcmp(w[i], "audit") != 0 && strcmp(w[i], "allow") != 0 && strcmp(w[i], "quiet") != 0)
                        break;
        }
        if (!w[i] || strcmp(w[i], "userns") != 0)
                return;
        if (w[i + 1] && (strcmp(w[i + 1], "create") != 0 || w[i + 2]))
                return;
        if (deny)
                p->userns_denied = true;
        else
                p->userns_allowed = true;
}

static bool is_include(char **w) {
        return w && w[0] && (strcmp(w[0], "include") == 0 || strcmp(w[0], "#include") == 0);
}

static bool is_assignment(char **w) {
        return w && w[0] && startswith(w[0], "@{") &&
               (strchr(w[0], '=') || (w[1] && (w[1][0] == '=' || startswith(w[1], "+="))));
}

int apparmor_parse(const char *text, struct apparmor_file *ret, unsigned *ret_line) {
        struct apparmor_file f = {};
        struct parser ps = { .file = &f };
        struct lexer l = { .p = text, .line = 1 };
        _cleanup_strv_free_ char **words = NULL;
        int stack[DEPTH_MAX];
        unsigned depth = 0;
        int r;

        for (;;) {
                enum token t;

                r = lex_next(&l, &t);
                if (r < 0)
                        goto fail;
                if (t == TOK_EOF)
                        break;
                switch (t) {
                case TOK_WORD:
                        if (strv_length(words) >= WORDS_MAX) {
                                r = -E2BIG;
                                goto fail;
                        }
                        r = strv_push(&words, l.word.data);
                        break;
                case TOK_NEWLINE:
                        /* Includes and variable definitions end at the line's end, without a comma. */
                        if (is_include(words) || (depth == 0 && is_assignment(words))) {
                                r = depth == 0 && is_assignment(words) ? add_variable(&ps, words) : 0;
                                words = strv_free(words);
                        }
                        break;
                case TOK_COMMA:
                        if (depth == 1 && stack[0] >= 0 && words)
                                eval_rule(&f.profiles[stack[0]], words);
                        words = strv_free(words);
                        break;
                case TOK_OPEN:
                        if (depth >= DEPTH_MAX) {
                                r = -E2BIG;
                                goto fail;
                        }
                        stack[depth] = -1;
                        /* Only top-level profiles attach to binaries; hats and child profiles do not. */
                        if (depth == 0 && words &&
                            ((strcmp(words[0], "profile") == 0 && words[1]) || is_path_like(words[0]))) {
                                r = add_profile(&ps, words, l.line);
                                if (r >= 0)
                                        stack[depth] = r;
                        }
                        depth++;
                        words = strv_free(words);
                        break;
                case TOK_CLOSE:
                        if (depth == 0) {
                                r = -EINVAL;
                                goto fail;
                        }
                        depth--;
                        words = strv_free(words);
                        break;
                case TOK_EOF:
                        break;
                }
                if (r < 0)
                        goto fail;
        }
        if (depth != 0) {
                r = -EINVAL;
                goto fail;
        }
        for (size_t i = 0; i < f.n; i++) {
                struct apparmor_profile *p = &f.profiles[i];

                if (!p->attachment)
                        continue;
                p->attachment_expanded = expand_variables(&ps, p->attachment, 0);
                if (!p->attachment_expanded && errno == ENOMEM) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        parser_done(&ps);
        buf_free(&l.word);
        *ret = f;
        return 0;
fail:
        if (ret_line)
                *ret_line = l.line;
        parser_done(&ps);
        buf_free(&l.word);
        apparmor_file_done(&f);
        return r;
}

void apparmor_file_done(struct apparmor_file *f) {
        for (size_t i = 0; i < f->n; i++) {
                free(f->profiles[i].name);
                free(f->profiles[i].attachment);
                free(f->profiles[i].attachment_expanded);
                free(f->profiles[i].flags);
        }
        free(f->profiles);
        *f = (struct apparmor_file) {};
}

/* Index of the '}' closing the '{' at s[0], honouring nesting and escapes; -1 when unbalanced. */
static long matching_brace(const char *s) {
        unsigned depth = 0;

        for (const char *p = s; *p; p++) {
                if (*p == '\\' && p[1])
                        p++;
                else if (*p == '{')
                        depth++;
                else if (*p == '}' && --depth == 0)
                        return p - s;
        }
        return -1;
}

/* Expands the first {a,b} of pattern, recursively, into out (at most APPARMOR_GLOB_MAX patterns). */
static int expand_alternations(const char *pattern, char ***out) {
        const char *open = NULL;
        long close;

        for (const char *p = pattern; *p; p++) {
                if (*p == '\\' && p[1])
                        p++;
                else if (*p == '{') {
                        open = p;
                        break;
                } else if (*p == '}')
                        return -EINVAL;
        }
        if (!open)
                return strv_length(*out) >= APPARMOR_GLOB_MAX ? -E2BIG : strv_push(out, pattern);
        close = matching_brace(open);
        if (close < 0)
                return -EINVAL;
        for (const char *alt = open + 1;;) {
                const char *end = alt;
                unsigned depth = 0;
                _cleanup_free_ char *next = NULL;
                int r;

                /* The end of this alternative: a ',' or the closing '}' at this level. */
                for (; end < open + close; end++) {
                        if (*end == '\\' && end[1])
                                end++;
                        else if (*end == '{')
                                depth++;
                        else if (*end == '}')
                                depth--;
                        else if (*end == ',' && depth == 0)
                                break;
                }
                next = xstrdup_printf("%.*s%.*s%s", (int) (open - pattern), pattern, (int) (end - alt), alt,
                                      open + close + 1);
                if (!next)
                        return -ENOMEM;
                r = expand_alternations(next, out);
                if (r < 0)
                        return r;
                if (end >= open + close)
                        break;
                alt = end + 1;
        }
        return 0;
}

enum atom_kind {
        ATOM_CHAR,
        ATOM_ANY,               /* '?': one character but '/' */
        ATOM_CLASS,             /* '[...]' */
        ATOM_STAR,              /* '*': any run without '/' */
        ATOM_STARSTAR,          /* '**': any run */
};

struct atom {
        enum atom_kind kind;
        char c;
        const char *class;      /* after '[' */
        size_t class_len;       /* up to, not including, ']' */
};

static bool class_matches(const struct atom *a, char c) {
        const char *s = a->class;
        size_t n = a->class_len, i = 0;
        bool negate = false, hit = false;

        if (n > 0 && (s[0] == '^' || s[0] == '!')) {
                negate = true;
                i = 1;
        }
        for (; i < n; i++) {
                char lo = s[i], hi = s[i];

                if (lo == '\\' && i + 1 < n)
                        lo = hi = s[++i];
                if (i + 2 < n && s[i + 1] == '-') {
                        hi = s[i + 2];
                        i += 2;
                }
                if ((unsigned char) c >= (unsigned char) lo && (unsigned char) c <= (unsigned char) hi)
                        hit = true;
        }
        return hit != negate;
}

static int compile_glob(const char *p, struct atom *atoms, size_t *ret_n) {
        size_t n = 0;

        while (*p) {
                struct atom a = { .kind = ATOM_CHAR, .c = *p };

                if (*p == '*') {
                        a.kind = p[1] == '*' ? ATOM_STARSTAR : ATOM_STAR;
                        while (*p == '*') {
                                if (p[1] == '*')
                                        a.kind = ATOM_STARSTAR;
                                p++;
                        }
                } else if (*p == '?') {
                        a.kind = ATOM_ANY;
                        p++;
                } else if (*p == '[') {
                        const char *end = p + 1;

                        if (*end == ']')
                                end++;
                        while (*end && *end != ']')
                                end += end[0] == '\\' && end[1] ? 2 : 1;
                        if (*end != ']')
                                return -EINVAL;
                        a = (struct atom) { .kind = ATOM_CLASS, .class = p + 1, .class_len = (size_t) (end - p - 1) };
                        p = end + 1;
                } else if (*p == '\\' && p[1]) {
                        a.c = p[1];
                        p += 2;
                } else
                        p++;
                atoms[n++] = a;
        }
        *ret_n = n;
        return 0;
}

/* Linear-time match: the set of pattern positions reachable after each character of s. */
static int glob_match_one(const char *pattern, const char *s) {
        size_t len = strlen(pattern), n = 0;
        _cleanup_free_ struct atom *atoms = calloc(len + 1, sizeof *atoms);
        _cleanup_free_ bool *cur = NULL, *next = NULL;
        int r;

        if (!atoms)
                return -ENOMEM;
        r = compile_glob(pattern, atoms, &n);
        if (r < 0)
                return r;
        cur = calloc(n + 1, sizeof *cur);
        next = calloc(n + 1, sizeof *next);
        if (!cur || !next)
                return -ENOMEM;
        cur[0] = true;
        for (const char *c = s;; c++) {
                /* Stars may match nothing: carry each live position past them. */
                for (size_t i = 0; i < n; i++)
                        if (cur[i] && (atoms[i].kind == ATOM_STAR || atoms[i].kind == ATOM_STARSTAR))
                                cur[i + 1] = true;
                if (!*c)
                        break;
                memset(next, 0, (n + 1) * sizeof *next);
                for (size_t i = 0; i < n; i++) {
                        const struct atom *a = &atoms[i];

                        if (!cur[i])
                                continue;
                        switch (a->kind) {
                        case ATOM_CHAR:
                                if (*c == a->c)
                                        next[i + 1] = true;
                                break;
                        case ATOM_ANY:
                                if (*c != '/')
                                        next[i + 1] = true;
                                break;
                        case ATOM_CLASS:
                                if (*c != '/' && class_matches(a, *c))
                                        next[i + 1] = true;
                                break;
                        case ATOM_STAR:
                                if (*c != '/')
                                        next[i] = true;
                                break;
                        case ATOM_STARSTAR:
                                next[i] = true;
                                break;
                        }
                }
                memcpy(cur, next, (n + 1) * sizeof *cur);
        }
        return cur[n] ? 1 : 0;
}

int apparmor_glob_match(const char *pattern, const char *path) {
        _cleanup_strv_free_ char **patterns = NULL;
        int r;

        if (strlen(pattern) > WORD_MAX || strlen(path) > WORD_MAX)
                return -E2BIG;
        r = expand_alternations(pattern, &patterns);
        if (r < 0)
                return r;
        for (char **p = patterns; p && *p; p++) {
                r = glob_match_one(*p, path);
                if (r != 0)
                        return r;
        }
        return 0;
}

bool apparmor_profile_allows_userns(const struct apparmor_profile *p, const char *path) {
        return p->userns_allowed && !p->userns_denied && p->attachment_expanded &&
               apparmor_glob_match(p->attachment_expanded, path) > 0;
}

void apparmor_match_done(struct apparmor_match *m) {
        free(m->file);
        free(m->profile);
        *m = (struct apparmor_match) {};
}

/* apparmor_parser's own skip list: dot files, backups, package manager leftovers, README. */
static bool skipped_name(const char *n) {
        static const char *const suffixes[] = { "~", ".dpkg-new", ".dpkg-old", ".dpkg-dist", ".dpkg-bak",
                                                ".dpkg-remove", ".pacsave", ".pacnew", ".rpmnew", ".rpmsave",
                                                ".orig", ".rej", ".swp" };
        size_t len = strlen(n);

        if (n[0] == '.' || strcmp(n, "README") == 0)
                return true;
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                size_t sl = strlen(suffixes[i]);

                if (len >= sl && strcmp(n + len - sl, suffixes[i]) == 0)
                        return true;
        }
        return false;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int apparmor_find_userns_profile(const struct host *h, const char *path, struct apparmor_match *ret,
                                 unsigned *ret_unparsed) {
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_strv_free_ char **names = NULL;
        unsigned unparsed = 0;
        struct dirent *de;
        size_t n = 0;
        int r;

        r = host_opendir(h, "/etc/apparmor.d", &d);
        if (r < 0)
                return r;
        while ((de = readdir(d))) {
                if (skipped_name(de->d_name) || (de->d_type != DT_REG && de->d_type != DT_UNKNOWN &&
                                                 de->d_type != DT_LNK))
                        continue;
                if (n++ >= APPARMOR_DIR_FILES_MAX)
                        break;
                r = strv_push(&names, de->d_name);
                if (r < 0)
                        return r;
        }
        if (!names)
                goto none;
        qsort(names, strv_length(names), sizeof *names, cmp_str);
        for (char **name = names; *name; name++) {
                _cleanup_free_ char *file = xstrdup_printf("/etc/apparmor.d/%s", *name);
                _cleanup_free_ char *disabled = xstrdup_printf("/etc/apparmor.d/disable/%s", *name);
                _cleanup_free_ char *text = NULL;
                struct apparmor_file f = {};

                if (!file || !disabled)
                        return -ENOMEM;
                if (host_exists(h, disabled))
                        continue;
                r = host_read_file(h, file, APPARMOR_FILE_MAX, &text, NULL);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        continue;       /* a directory through a symlink, a FIFO: not a profile file */
                r = apparmor_parse(text, &f, NULL);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        unparsed++;
                        continue;
                }
                for (size_t i = 0; i < f.n; i++) {
                        if (!apparmor_profile_allows_userns(&f.profiles[i], path))
                                continue;
                        ret->file = TAKE_PTR(file);
                        ret->profile = strdup(f.profiles[i].name);
                        apparmor_file_done(&f);
                        if (!ret->profile) {
                                apparmor_match_done(ret);
                                return -ENOMEM;
                        }
                        if (ret_unparsed)
                                *ret_unparsed = unparsed;
                        return 1;
                }
                apparmor_file_done(&f);
        }
none:
        if (ret_unparsed)
                *ret_unparsed = unparsed;
        return 0;
}

int apparmor_profile_loaded(const struct host *h, const char *name) {
        _cleanup_free_ char *text = NULL;
        char *cursor, *line;
        int r, error = 0;

        r = host_read_file(h, "/sys/kernel/security/apparmor/profiles", HOST_FILE_MAX, &text, NULL);
        if (r < 0)
                return r;
        /* "name (mode)" per line; names may hold blanks, the mode never does. */
        cursor = text;
        while ((line = line_next(&cursor, HOST_LINE_MAX, &error))) {
                char *mode = strrchr(line, '(');

                if (mode && mode > line && mode[-1] == ' ')
                        mode[-1] = '\0';
                if (strcmp(line, name) == 0)
                        return 1;
        }
        return error < 0 ? error : 0;
}

static bool plain_path(const char *s) {
        size_t n = strlen(s);

        return s[0] == '/' && n < 1024 &&
               strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._+-") == n &&
               !strstr(s, "/../") && s[n - 1] != '/';
}

char *apparmor_userns_profile_path(const char *binary) {
        if (!plain_path(binary))
                return NULL;
        return xstrdup_printf("/etc/apparmor.d/usernode-%s", strrchr(binary, '/') + 1);
}

int apparmor_userns_profile_render(const char *binary, char **ret, struct un_error *err) {
        _cleanup_free_ char *tmpl = NULL, *block = NULL, *name = NULL;
        char *out;
        int r;

        if (!plain_path(binary))
                return un_error(err, EINVAL, "cannot write an AppArmor profile for '%s'", binary);
        name = xstrdup_printf("usernode-%s", strrchr(binary, '/') + 1);
        if (!name)
                return un_error(err, ENOMEM, "profile name");
        r = template_load("apparmor-userns.in", &tmpl, err);
        if (r < 0)
                return r;
        r = template_render("apparmor-userns.in", tmpl,
                            (const struct template_var[]) { { "profile_name", name }, { "binary", binary } }, 2,
                            &block, err);
        if (r < 0)
                return r;
        /* The header comes once per file, the template's block once per binary. */
        out = xstrdup_printf("abi <abi/4.0>,\ninclude <tunables/global>\n\n%s", block);
        if (!out)
                return un_error(err, ENOMEM, "profile for %s", binary);
        *ret = out;
        return 0;
}
