/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "json.h"

size_t utf8_valid(const unsigned char *s) {
        size_t n;
        uint32_t cp;

        if (s[0] < 0x80)
                return 1;
        if ((s[0] & 0xe0) == 0xc0)
                n = 2, cp = s[0] & 0x1f;
        else if ((s[0] & 0xf0) == 0xe0)
                n = 3, cp = s[0] & 0x0f;
        else if ((s[0] & 0xf8) == 0xf0)
                n = 4, cp = s[0] & 0x07;
        else
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return n;
}

void json_write_string(FILE *f, const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        fputc('"', f);
        while (*p) {
                size_t n;

                switch (*p) {
                case '"':
                        fputs("\\\"", f);
                        p++;
                        continue;
                case '\\':
                        fputs("\\\\", f);
                        p++;
                        continue;
                case '\n':
                        fputs("\\n", f);
                        p++;
                        continue;
                case '\t':
                        fputs("\\t", f);
                        p++;
                        continue;
                case '\r':
                        fputs("\\r", f);
                        p++;
                        continue;
                default:
                        break;
                }
                if (*p < 0x20 || *p == 0x7f) {
                        fprintf(f, "\\u%04x", *p);
                        p++;
                        continue;
                }
                n = utf8_valid(p);
                if (n == 0) {
                        fputs("\\ufffd", f);
                        p++;
                        continue;
                }
                fwrite(p, 1, n, f);
                p += n;
        }
        fputc('"', f);
}

static void indent(struct json *j) {
        if (!j->pretty)
                return;
        fputc('\n', j->f);
        for (unsigned i = 0; i < j->depth; i++)
                fputs("  ", j->f);
}

static void member(struct json *j, const char *key) {
        if (j->depth > 0 && j->need_comma[j->depth])
                fputc(',', j->f);
        if (j->depth > 0)
                indent(j);
        if (j->depth < sizeof j->need_comma)
                j->need_comma[j->depth] = true;
        if (key) {
                json_write_string(j->f, key);
                fputs(j->pretty ? ": " : ":", j->f);
        }
}

static void open_(struct json *j, const char *key, char c) {
        member(j, key);
        fputc(c, j->f);
        j->depth++;
        j->need_comma[j->depth] = false;
}

static void close_(struct json *j, char c) {
        bool had = j->need_comma[j->depth];

        j->depth--;
        if (had)
                indent(j);
        fputc(c, j->f);
        if (j->depth == 0)
                fputc('\n', j->f);
}

void json_begin_object(struct json *j, const char *key) { open_(j, key, '{'); }
void json_end_object(struct json *j) { close_(j, '}'); }
void json_begin_array(struct json *j, const char *key) { open_(j, key, '['); }
void json_end_array(struct json *j) { close_(j, ']'); }

void json_string(struct json *j, const char *key, const char *value) {
        member(j, key);
        if (value)
                json_write_string(j->f, value);
        else
                fputs("null", j->f);
}

void json_int(struct json *j, const char *key, int64_t value) {
        member(j, key);
        fprintf(j->f, "%" PRId64, value);
}

void json_bool(struct json *j, const char *key, bool value) {
        member(j, key);
        fputs(value ? "true" : "false", j->f);
}
