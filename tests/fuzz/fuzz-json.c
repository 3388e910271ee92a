/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>

#include "fuzz.h"
#include "json.h"

/* Whatever bytes a host file held, the JSON written for them must be valid UTF-8 without raw
 * control characters. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_text(data, size), *out = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&out, &n);

        json_write_string(f, text);
        fclose(f);
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) out[i] < 0x20)
                        abort();
        free(out);
        free(text);
        return 0;
}
