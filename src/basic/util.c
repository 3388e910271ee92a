/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <time.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int parse_u64(const char *s, uint64_t *ret) {
        char *end;
        unsigned long long v;

        if (!s || !isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (errno != 0 || *end != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

int parse_u32(const char *s, uint32_t *ret) {
        uint64_t v;
        int r = parse_u64(s, &v);

        if (r < 0)
                return r;
        if (v > UINT32_MAX)
                return -ERANGE;
        *ret = (uint32_t) v;
        return 0;
}

int parse_i64(const char *s, int64_t *ret) {
        char *end;
        long long v;

        if (!s || !(isdigit((unsigned char) s[0]) || (s[0] == '-' && isdigit((unsigned char) s[1]))))
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (errno != 0 || *end != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

int parse_id(const char *s, uint32_t *ret) {
        uint32_t v;
        int r = parse_u32(s, &v);

        if (r < 0)
                return r;
        if (v == UINT32_MAX)
                return -ERANGE;
        *ret = v;
        return 0;
}

const char *startswith(const char *s, const char *prefix) {
        size_t n = strlen(prefix);

        return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}

char *strstrip(char *s) {
        char *e;

        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
                s++;
        e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
                *--e = '\0';
        return s;
}

char *line_next(char **cursor, size_t max_line, int *ret_error) {
        char *line = *cursor, *nl;
        size_t n;

        if (!line || *line == '\0')
                return NULL;
        nl = strchr(line, '\n');
        n = nl ? (size_t) (nl - line) : strlen(line);
        if (n > max_line) {
                if (ret_error)
                        *ret_error = -E2BIG;
                *cursor = NULL;
                return NULL;
        }
        if (nl) {
                *nl = '\0';
                *cursor = nl + 1;
        } else
                *cursor = line + n;
        return line;
}

char **strv_free(char **l) {
        if (!l)
                return NULL;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
        return NULL;
}

size_t strv_length(char * const *l) {
        size_t n = 0;

        while (l && l[n])
                n++;
        return n;
}

int strv_push(char ***l, const char *s) {
        size_t n = strv_length(*l);
        char **nl, *c;

        c = strdup(s);
        if (!c)
                return -ENOMEM;
        nl = realloc(*l, (n + 2) * sizeof(char *));
        if (!nl) {
                free(c);
                return -ENOMEM;
        }
        nl[n] = c;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

bool strv_contains(char * const *l, const char *s) {
        for (size_t i = 0; l && l[i]; i++)
                if (strcmp(l[i], s) == 0)
                        return true;
        return false;
}

int strv_split(const char *s, const char *seps, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        const char *p = s;

        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        while (*p) {
                size_t n;

                p += strspn(p, seps);
                n = strcspn(p, seps);
                if (n == 0)
                        break;
                _cleanup_free_ char *w = strndup(p, n);
                if (!w)
                        return -ENOMEM;
                if (strv_push(&l, w) < 0)
                        return -ENOMEM;
                p += n;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int buf_append(struct buf *b, const char *s, size_t n) {
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 256;
                char *d;

                while (cap < b->len + n + 1)
                        cap *= 2;
                d = realloc(b->data, cap);
                if (!d)
                        return -ENOMEM;
                b->data = d;
                b->cap = cap;
        }
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
        return 0;
}

int buf_puts(struct buf *b, const char *s) {
        return buf_append(b, s, strlen(s));
}

int buf_printf(struct buf *b, const char *fmt, ...) {
        va_list ap;
        _cleanup_free_ char *s = NULL;

        va_start(ap, fmt);
        s = xstrdup_vprintf(fmt, ap);
        va_end(ap);
        if (!s)
                return -ENOMEM;
        return buf_puts(b, s);
}

void buf_free(struct buf *b) {
        free(b->data);
        *b = (struct buf) {};
}

char *buf_steal(struct buf *b) {
        char *d = b->data ? b->data : strdup("");

        *b = (struct buf) {};
        return d;
}

char *xstrdup_vprintf(const char *fmt, va_list ap) {
        char *s;

        return vasprintf(&s, fmt, ap) < 0 ? NULL : s;
}

char *xstrdup_printf(const char *fmt, ...) {
        va_list ap;
        char *s;

        va_start(ap, fmt);
        s = xstrdup_vprintf(fmt, ap);
        va_end(ap);
        return s;
}

bool valid_user_name(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 32)
                return false;
        if (!(isalpha((unsigned char) s[0]) || s[0] == '_'))
                return false;
        for (size_t i = 1; i < n; i++) {
                unsigned char c = (unsigned char) s[i];

                if (isalnum(c) || c == '_' || c == '.' || c == '-')
                        continue;
                if (c == '$' && i == n - 1)
                        continue;
                return false;
        }
        return true;
}

uint64_t now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

int64_t realtime_usec(void) {
        struct timespec ts;

        if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
                return 0;
        return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int msec_until(uint64_t deadline_usec) {
        uint64_t n = now_usec(), left;

        if (n >= deadline_usec)
                return 0;
        left = (deadline_usec - n + 999) / 1000;
        return left > INT_MAX ? INT_MAX : (int) left;
}
