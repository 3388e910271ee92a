/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "macro.h"

static const char alphabets[2][65] = {
        [BASE64_STD] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        [BASE64_URL] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
};

char *base64_encode(const void *data, size_t len, enum base64_form form) {
        const char *alphabet = alphabets[form == BASE64_URL];
        const unsigned char *p = data;
        char *out, *o;

        if (len > (SIZE_MAX - 1) / 4 * 3 - 2)
                return NULL;
        out = malloc((len + 2) / 3 * 4 + 1);
        if (!out)
                return NULL;
        o = out;
        for (size_t i = 0; i < len; i += 3) {
                uint32_t v = (uint32_t) p[i] << 16 | (i + 1 < len ? (uint32_t) p[i + 1] << 8 : 0) |
                             (i + 2 < len ? p[i + 2] : 0);

                *o++ = alphabet[v >> 18 & 63];
                *o++ = alphabet[v >> 12 & 63];
                if (i + 1 < len)
                        *o++ = alphabet[v >> 6 & 63];
                else if (form == BASE64_STD)
                        *o++ = '=';
                if (i + 2 < len)
                        *o++ = alphabet[v & 63];
                else if (form == BASE64_STD)
                        *o++ = '=';
        }
        *o = '\0';
        return out;
}

static int digit(const char *alphabet, char ch) {
        const char *c = ch ? strchr(alphabet, ch) : NULL;

        return c ? (int) (c - alphabet) : -1;
}

int base64_decode(const char *s, enum base64_form form, unsigned char **ret, size_t *ret_len) {
        const char *alphabet = alphabets[form == BASE64_URL];
        size_t n = strlen(s), digits = n, len = 0;
        _cleanup_free_ unsigned char *out = NULL;
        uint32_t acc = 0;
        unsigned bits = 0;

        if (form == BASE64_STD) {
                if (n % 4 != 0)
                        return -EINVAL;
                /* At most two '=', at the end only. */
                while (digits > 0 && n - digits < 2 && s[digits - 1] == '=')
                        digits--;
        } else if (n % 4 == 1)
                return -EINVAL;         /* a lone 6 bits are no byte */
        out = malloc(n / 4 * 3 + 3);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < digits; i++) {
                int v = digit(alphabet, s[i]);

                if (v < 0)
                        return -EINVAL;
                acc = acc << 6 | (uint32_t) v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[len++] = (unsigned char) (acc >> bits);
                }
        }
        /* The bits left over must be zero: one text per value (RFC 4648 section 3.5). */
        if (acc & ((1u << bits) - 1))
                return -EINVAL;
        if (form == BASE64_STD && n > 0 && (n - digits) != (3 - (len % 3)) % 3)
                return -EINVAL;
        out[len] = '\0';
        *ret = TAKE_PTR(out);
        *ret_len = len;
        return 0;
}
