/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

/* Strict decimal parsing: no sign, no blanks, no trailing garbage, range checked. */
int parse_u64(const char *s, uint64_t *ret);
int parse_u32(const char *s, uint32_t *ret);
int parse_i64(const char *s, int64_t *ret);
/* A UID/GID; (uid_t) -1 is refused. */
int parse_id(const char *s, uint32_t *ret);

/* Returns the part of s after prefix, or NULL. */
const char *startswith(const char *s, const char *prefix);
bool streq_ptr(const char *a, const char *b);
/* Trims ASCII blanks on both ends, in place. */
char *strstrip(char *s);

/* Splits buf (NUL-terminated, modified in place) into lines; returns the next line or NULL at the end.
 * Lines longer than max_line are refused with *ret_error = -E2BIG and the walk stops. */
char *line_next(char **cursor, size_t max_line, int *ret_error);

/* NULL-terminated string vectors. */
char **strv_free(char **l);
size_t strv_length(char * const *l);
int strv_push(char ***l, const char *s);       /* copies s */
bool strv_contains(char * const *l, const char *s);
/* Splits s at any char in seps, dropping empty words. */
int strv_split(const char *s, const char *seps, char ***ret);
static inline void strv_freep(char ***l) { strv_free(*l); }
#define _cleanup_strv_free_ _cleanup_(strv_freep)

/* The one clock for timeouts: CLOCK_MONOTONIC in microseconds, and the milliseconds left until a
 * deadline on it (0 once it has passed), for poll(). */
uint64_t now_usec(void);
/* CLOCK_REALTIME in µs (0 when unreadable): a time others read, in status files. */
int64_t realtime_usec(void);
int msec_until(uint64_t deadline_usec);

/* A growing string. */
struct buf {
        char *data;
        size_t len, cap;
};
int buf_append(struct buf *b, const char *s, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) _printf_(2, 3);
void buf_free(struct buf *b);
char *buf_steal(struct buf *b);

char *xstrdup_printf(const char *fmt, ...) _printf_(1, 2);
char *xstrdup_vprintf(const char *fmt, va_list ap) _printf_(1, 0);

/* A user name as shadow accepts it: [A-Za-z_][A-Za-z0-9_.-]*[$]?, at most 32 bytes, no ':'. */
bool valid_user_name(const char *s);
