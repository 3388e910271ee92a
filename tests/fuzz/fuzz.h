/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The parsers take NUL-terminated text, as host_read_file returns it. */
static inline char *fuzz_text(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);

        if (!s)
                abort();
        memcpy(s, data, size);
        s[size] = '\0';
        return s;
}

/* Two NUL-terminated texts from one input, split at its first NUL byte (the second is "" without one):
 * for parsers that take a text and a key, or an old and a new file. */
static inline void fuzz_split(const uint8_t *data, size_t size, char **ret_a, char **ret_b) {
        const uint8_t *nul = memchr(data, 0, size);
        size_t na = nul ? (size_t) (nul - data) : size;

        *ret_a = fuzz_text(data, na);
        *ret_b = nul ? fuzz_text(nul + 1, size - na - 1) : fuzz_text(data, 0);
}
