/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <string.h>

#include "fuzz.h"
#include "unitfile.h"

static int on_assignment(const char *section, const char *key, const char *value, void *userdata) {
        struct unit_delegate *d = userdata;

        assert(key && value);
        if (section && strcmp(section, "Service") == 0 && strcmp(key, "Delegate") == 0)
                unit_delegate_apply(d, value);
        return 0;
}

/* A unit file or drop-in: sections, comments, continuations, and Delegate= with systemd's semantics. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_text(data, size);
        struct unit_delegate d = {};
        unsigned line = 0;

        (void) unit_file_parse(text, size, on_assignment, &d, &line);
        free(text);
        return 0;
}
