/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Line edits of files others edit too (/etc/subuid, /etc/lxc/lxc-usernet): setup adds one line and
 * unsetup takes back exactly that one, every other byte of the file as it was. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "setup-internal.h"

/* Adds line + '\n' at the end; before the last line when that one lacks its '\n', so that every byte
 * of the old file stays as it was and removing "line\n" later restores it exactly. */
int setup_text_append_line(const char *old, size_t len, const char *line, char **ret, size_t *ret_len,
                           bool *ret_added_eol) {
        struct buf b = {};
        size_t at = len;

        if (len > 0 && old[len - 1] != '\n') {
                const char *nl = memrchr(old, '\n', len);

                at = nl ? (size_t) (nl - old) + 1 : 0;
        }
        if (buf_append(&b, old ? old : "", at) < 0 || buf_puts(&b, line) < 0 || buf_puts(&b, "\n") < 0 ||
            buf_append(&b, old ? old + at : "", len - at) < 0) {
                buf_free(&b);
                return -ENOMEM;
        }
        *ret_added_eol = false;
        *ret_len = b.len;
        *ret = buf_steal(&b);
        return 0;
}

/* Removes the last whole line equal to line; undoes an added '\n' when it was the last line. */
int setup_text_remove_line(const char *old, size_t len, const char *line, bool added_eol, char **ret,
                           size_t *ret_len) {
        size_t n = strlen(line), found = SIZE_MAX;
        struct buf b = {};

        for (size_t pos = 0; pos < len;) {
                const char *nl = memchr(old + pos, '\n', len - pos);
                size_t k = nl ? (size_t) (nl - old - pos) : len - pos;

                if (k == n && memcmp(old + pos, line, n) == 0)
                        found = pos;
                pos += k + 1;
        }
        if (found == SIZE_MAX)
                return -ENOENT;
        if (buf_append(&b, old, found) < 0) {
                buf_free(&b);
                return -ENOMEM;
        }
        if (found + n + 1 < len) {
                if (buf_append(&b, old + found + n + 1, len - found - n - 1) < 0) {
                        buf_free(&b);
                        return -ENOMEM;
                }
        } else if (added_eol && b.len > 0 && b.data[b.len - 1] == '\n')
                b.data[--b.len] = '\0';
        *ret_len = b.len;
        *ret = buf_steal(&b);
        return *ret ? 0 : -ENOMEM;
}
