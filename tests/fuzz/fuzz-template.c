/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fuzz.h"
#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const struct template_var vars[] = { { "a", "value" }, { "mtu", "65520" }, { "x_1", "" } };
        char *text = fuzz_text(data, size), *out = NULL;
        struct un_error err = {};

        if (template_render("fuzz", text, vars, 3, &out, &err) >= 0)
                free(out);
        free(text);
        return 0;
}
