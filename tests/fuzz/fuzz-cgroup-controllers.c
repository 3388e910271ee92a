/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>

#include "cgroup.h"
#include "fuzz.h"

/* cgroup.controllers (the root's and user@UID.service's): a mask, printed and parsed back the same. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_text(data, size), *s;
        unsigned unknown = 0, mask = controllers_from_string(text, &unknown), again;

        s = controllers_to_string(mask);
        assert(s);
        again = controllers_from_string(s, NULL);
        assert(again == mask);
        free(s);
        free(text);
        return 0;
}
