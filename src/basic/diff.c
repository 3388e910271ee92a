/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A small line diff for --dry-run: common prefix and suffix trimmed, then an LCS table on what is
 * left (files setup writes are small; a huge middle falls back to delete-all/add-all). */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "diff.h"

#define CONTEXT 3
#define LCS_CELLS_MAX (4u * 1024 * 1024)

struct line {
        const char *s;
        size_t n;
        bool nl;                /* ends with '\n' */
};

struct op {
        char type;              /* ' ', '-', '+' */
        size_t a, b;            /* line indexes in old and new */
};

static int split(const char *t, size_t len, struct line **ret, size_t *ret_n) {
        size_t n = 0, cap = 0, pos = 0;
        struct line *l = NULL;

        while (t && pos < len) {
                const char *nl = memchr(t + pos, '\n', len - pos);
                size_t k = nl ? (size_t) (nl - (t + pos)) : len - pos;

                if (n == cap) {
                        struct line *x;

                        cap = cap ? cap * 2 : 32;
                        x = realloc(l, cap * sizeof *x);
                        if (!x) {
                                free(l);
                                return -ENOMEM;
                        }
                        l = x;
                }
                l[n++] = (struct line) { t + pos, k, nl != NULL };
                pos += k + (nl ? 1 : 0);
        }
        /* An empty file is an empty array, never NULL: callers do pointer arithmetic on it. */
        if (!l) {
                l = malloc(sizeof *l);
                if (!l)
                        return -ENOMEM;
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

static bool line_eq(const struct line *x, const struct line *y) {
        return x->n == y->n && x->nl == y->nl && memcmp(x->s, y->s, x->n) == 0;
}

/* The edit script for a[lo_a..hi_a) -> b[lo_b..hi_b), appended to ops. */
static int script_middle(const struct line *a, size_t na, const struct line *b, size_t nb, struct op *ops,
                         size_t *n_ops, size_t off_a, size_t off_b) {
        _cleanup_free_ uint32_t *t = NULL;
        size_t i = 0, j = 0;

        if ((uint64_t) (na + 1) * (nb + 1) <= LCS_CELLS_MAX && na > 0 && nb > 0) {
                t = calloc((na + 1) * (nb + 1), sizeof *t);
                if (!t)
                        return -ENOMEM;
                /* t[i][j]: LCS length of a[i..] and b[j..]. */
                for (size_t x = na; x-- > 0;)
                        for (size_t y = nb; y-- > 0;)
                                t[x * (nb + 1) + y] = line_eq(&a[x], &b[y])
                                                              ? t[(x + 1) * (nb + 1) + y + 1] + 1
                                                              : (t[(x + 1) * (nb + 1) + y] >= t[x * (nb + 1) + y + 1]
                                                                         ? t[(x + 1) * (nb + 1) + y]
                                                                         : t[x * (nb + 1) + y + 1]);
                while (i < na && j < nb) {
                        if (line_eq(&a[i], &b[j])) {
                                ops[(*n_ops)++] = (struct op) { ' ', off_a + i++, off_b + j++ };
                        } else if (t[(i + 1) * (nb + 1) + j] >= t[i * (nb + 1) + j + 1])
                                ops[(*n_ops)++] = (struct op) { '-', off_a + i++, off_b + j };
                        else
                                ops[(*n_ops)++] = (struct op) { '+', off_a + i, off_b + j++ };
                }
        }
        while (i < na)
                ops[(*n_ops)++] = (struct op) { '-', off_a + i++, off_b + j };
        while (j < nb)
                ops[(*n_ops)++] = (struct op) { '+', off_a + i, off_b + j++ };
        return 0;
}

static int emit_line(struct buf *out, char type, const struct line *l) {
        if (buf_append(out, &type, 1) < 0 || buf_append(out, l->s, l->n) < 0 || buf_puts(out, "\n") < 0)
                return -ENOMEM;
        if (!l->nl && buf_puts(out, "\\ No newline at end of file\n") < 0)
                return -ENOMEM;
        return 0;
}

static int emit_range(struct buf *out, char sign, size_t start, size_t count) {
        /* As GNU diff: an empty range names the line before it; a range of one has no count. */
        if (count == 1)
                return buf_printf(out, "%c%zu", sign, start + 1);
        return buf_printf(out, "%c%zu,%zu", sign, count == 0 ? start : start + 1, count);
}

int diff_unified(const char *path, const char *old, size_t old_len, const char *new, size_t new_len,
                 struct buf *out) {
        _cleanup_free_ struct line *a = NULL, *b = NULL;
        _cleanup_free_ struct op *ops = NULL;
        size_t na, nb, pre = 0, suf = 0, n_ops = 0;
        int r;

        if ((old == NULL) == (new == NULL) && old_len == new_len && (old_len == 0 || memcmp(old, new, old_len) == 0))
                return 0;
        if (split(old, old_len, &a, &na) < 0 || split(new, new_len, &b, &nb) < 0)
                return -ENOMEM;
        while (pre < na && pre < nb && line_eq(&a[pre], &b[pre]))
                pre++;
        while (suf < na - pre && suf < nb - pre && line_eq(&a[na - 1 - suf], &b[nb - 1 - suf]))
                suf++;
        ops = calloc(na + nb + 1, sizeof *ops);
        if (!ops)
                return -ENOMEM;
        for (size_t i = 0; i < pre; i++)
                ops[n_ops++] = (struct op) { ' ', i, i };
        r = script_middle(a + pre, na - pre - suf, b + pre, nb - pre - suf, ops, &n_ops, pre, pre);
        if (r < 0)
                return r;
        for (size_t i = 0; i < suf; i++)
                ops[n_ops++] = (struct op) { ' ', na - suf + i, nb - suf + i };

        if (buf_printf(out, "--- %s%s\n+++ %s%s\n", old ? "a" : "", old ? path : "/dev/null", new ? "b" : "",
                       new ? path : "/dev/null") < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n_ops;) {
                size_t first, last, end, a_start, b_start, a_count = 0, b_count = 0;

                while (i < n_ops && ops[i].type == ' ')
                        i++;
                if (i == n_ops)
                        break;
                first = i;
                last = i;
                /* Extend over changes separated by at most 2*CONTEXT unchanged lines. */
                for (size_t j = i + 1; j < n_ops; j++)
                        if (ops[j].type != ' ') {
                                if (j - last - 1 > 2 * CONTEXT)
                                        break;
                                last = j;
                        }
                first = first >= CONTEXT ? first - CONTEXT : 0;
                end = last + CONTEXT + 1 < n_ops ? last + CONTEXT + 1 : n_ops;
                a_start = ops[first].a;
                b_start = ops[first].b;
                for (size_t j = first; j < end; j++) {
                        a_count += ops[j].type != '+';
                        b_count += ops[j].type != '-';
                }
                if (buf_puts(out, "@@ ") < 0 || emit_range(out, '-', a_start, a_count) < 0 || buf_puts(out, " ") < 0 ||
                    emit_range(out, '+', b_start, b_count) < 0 || buf_puts(out, " @@\n") < 0)
                        return -ENOMEM;
                for (size_t j = first; j < end; j++)
                        if (emit_line(out, ops[j].type, ops[j].type == '+' ? &b[ops[j].b] : &a[ops[j].a]) < 0)
                                return -ENOMEM;
                i = end;
        }
        return 1;
}
