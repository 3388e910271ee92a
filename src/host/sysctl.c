/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sysctl.h"
#include "util.h"

int sysctl_parse_ints(const char *text, int64_t *ret, size_t n) {
        const char *p = text;
        int64_t v[8];

        if (n == 0 || n > ELEMENTSOF(v))
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                char word[24];
                size_t len;

                if (i > 0) {
                        if (*p != ' ' && *p != '\t')
                                return -EINVAL;
                        p += strspn(p, " \t");
                }
                len = strcspn(p, " \t\n");
                if (len == 0 || len >= sizeof word)
                        return len == 0 ? -EINVAL : -ERANGE;
                memcpy(word, p, len);
                word[len] = '\0';
                if (parse_i64(word, &v[i]) < 0)
                        return -EINVAL;
                p += len;
        }
        if (*p == '\n')
                p++;
        if (*p != '\0')
                return -EINVAL;
        memcpy(ret, v, n * sizeof *v);
        return 0;
}

/* "net/ipv4/ip_forward" and "net.ipv4.ip_forward" name one key; the first separator decides. */
static void key_normalize(char *k) {
        char *sep = k + strcspn(k, "./");

        if (*sep != '/')
                return;
        for (char *p = k; *p; p++)
                *p = *p == '/' ? '.' : *p == '.' ? '/' : *p;
}

int sysctl_conf_find(const char *text, const char *key, char **ret_value) {
        _cleanup_free_ char *copy = strdup(text), *found = NULL;
        char *cursor = copy, *line;
        int err = 0;

        if (!copy)
                return -ENOMEM;
        while ((line = line_next(&cursor, HOST_LINE_MAX, &err))) {
                char *eq, *k, *v;

                line = strstrip(line);
                if (line[0] == '\0' || line[0] == '#' || line[0] == ';')
                        continue;
                eq = strchr(line, '=');
                if (!eq)
                        continue;       /* systemd-sysctl ignores such lines with a warning */
                *eq = '\0';
                k = strstrip(line);
                if (k[0] == '-')
                        k++;    /* "-key = value": errors ignored when applied */
                v = strstrip(eq + 1);
                key_normalize(k);
                if (strcmp(k, key) != 0)
                        continue;
                free(found);
                found = strdup(v);
                if (!found)
                        return -ENOMEM;
        }
        if (err < 0)
                return err;
        if (!found)
                return 0;
        *ret_value = TAKE_PTR(found);
        return 1;
}

/* sysctl.d(5): files by name across the directories, an earlier directory masking a later one's
 * file of the same name; /etc/sysctl.conf last, as `sysctl --system` applies it. ret_file (may be
 * NULL) gets the file that set it. */
static int conf_lookup(const struct host *h, const char *key, char **ret_value, char **ret_file) {
        _cleanup_strv_free_ char **files = NULL;
        _cleanup_free_ char *value = NULL, *file = NULL;
        int r;

        r = host_conf_files(h, "sysctl.d", &files);
        if (r < 0)
                return r;
        if (strv_push(&files, "/etc/sysctl.conf") < 0)
                return -ENOMEM;
        for (char **f = files; *f; f++) {
                _cleanup_free_ char *text = NULL, *v = NULL;

                if (host_read_file(h, *f, 1024 * 1024, &text, NULL) < 0)
                        continue;
                r = sysctl_conf_find(text, key, &v);
                if (r < 0)
                        return r;
                if (r > 0) {
                        free(value);
                        value = TAKE_PTR(v);
                        free(file);
                        file = strdup(*f);
                        if (!file)
                                return -ENOMEM;
                }
        }
        if (!value)
                return 0;
        *ret_value = TAKE_PTR(value);
        if (ret_file)
                *ret_file = TAKE_PTR(file);
        return 1;
}

/* sysctl.d separates vectors with any run of blanks: one tab as /proc/sys prints them. */
static void conf_value_normalize(char *text) {
        char *w = text;

        for (char *p = text; *p; p++) {
                bool blank = *p == ' ' || *p == '\t';

                if (blank && w > text && w[-1] == '\t')
                        continue;
                *w++ = blank ? '\t' : *p;
        }
        *w = '\0';
}

int sysctl_read_configured(const struct host *h, const char *key, int64_t *ret, size_t n, char **ret_file) {
        _cleanup_free_ char *text = NULL, *file = NULL;
        int r;

        r = conf_lookup(h, key, &text, &file);
        if (r <= 0)
                return r;
        conf_value_normalize(text);
        r = sysctl_parse_ints(text, ret, n);
        if (r < 0)
                return r;
        if (ret_file)
                *ret_file = TAKE_PTR(file);
        return 1;
}

int sysctl_read(const struct host *h, const char *key, const char *kernel_default, int64_t *ret, size_t n,
                enum sysctl_source *ret_source) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        int r;

        path = xstrdup_printf("/proc/sys/%s", key);
        if (!path)
                return -ENOMEM;
        for (char *p = path + strlen("/proc/sys/"); *p; p++)
                if (*p == '.')
                        *p = '/';
        r = host_read_file(h, path, 4096, &text, NULL);
        if (r >= 0) {
                r = sysctl_parse_ints(text, ret, n);
                if (r >= 0 && ret_source)
                        *ret_source = SYSCTL_SOURCE_PROC;
                return r;
        }
        if (r != -ENOENT || !h->offline)
                return r;
        r = conf_lookup(h, key, &text, NULL);
        if (r < 0)
                return r;
        if (r > 0) {
                conf_value_normalize(text);
                r = sysctl_parse_ints(text, ret, n);
                if (r >= 0 && ret_source)
                        *ret_source = SYSCTL_SOURCE_CONF;
                return r;
        }
        if (!kernel_default)
                return -ENOENT;
        r = sysctl_parse_ints(kernel_default, ret, n);
        if (r >= 0 && ret_source)
                *ret_source = SYSCTL_SOURCE_DEFAULT;
        return r;
}

const char *sysctl_source_to_string(enum sysctl_source s) {
        switch (s) {
        case SYSCTL_SOURCE_PROC:
                return "/proc/sys";
        case SYSCTL_SOURCE_CONF:
                return "sysctl.d";
        default:
                return "kernel default, set nowhere";
        }
}
