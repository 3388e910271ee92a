/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "conffile.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const struct config_key keys[] = {
                { "engine", CONFIG_STRING }, { "wait", CONFIG_UINT }, { "ephemeral", CONFIG_BOOL },
                { "publish", CONFIG_LIST },
        };
        char *text = fuzz_text(data, size);
        struct config c = {};
        struct un_error err = {};

        (void) config_parse("fuzz.yaml", text, size, keys, 4, &c, &err);
        (void) config_get(&c, "ci", "engine");
        config_done(&c);
        free(text);
        return 0;
}
