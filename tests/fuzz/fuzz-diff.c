/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "diff.h"
#include "fuzz.h"

/* The unified diff setup --dry-run prints of a host file (any content) against what it would write:
 * "OLD\0NEW". */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct buf out = {};
        char *old, *new;

        fuzz_split(data, size, &old, &new);
        (void) diff_unified("/etc/fuzz", old, strlen(old), new, strlen(new), &out);
        buf_free(&out);
        (void) diff_unified("/etc/fuzz", NULL, 0, new, strlen(new), &out);
        buf_free(&out);
        (void) diff_unified("/etc/fuzz", old, strlen(old), NULL, 0, &out);
        buf_free(&out);
        free(old);
        free(new);
        return 0;
}
