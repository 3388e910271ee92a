/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* A small streaming JSON writer: enough for usernode's reports and status objects. */
struct json {
        FILE *f;
        unsigned depth;
        bool need_comma[32];
        bool pretty;
};

void json_begin_object(struct json *j, const char *key);
void json_end_object(struct json *j);
void json_begin_array(struct json *j, const char *key);
void json_end_array(struct json *j);
void json_string(struct json *j, const char *key, const char *value);   /* NULL writes null */
void json_int(struct json *j, const char *key, int64_t value);
void json_bool(struct json *j, const char *key, bool value);
/* Writes s as a JSON string literal (quotes included), escaping control characters and
 * replacing invalid UTF-8 with U+FFFD. */
void json_write_string(FILE *f, const char *s);
/* Length of the valid UTF-8 sequence at s (NUL-terminated), or 0. */
size_t utf8_valid(const unsigned char *s);
