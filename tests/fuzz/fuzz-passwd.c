/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fuzz.h"
#include "users.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_text(data, size);
        struct id_table t = {};
        unsigned line;

        for (int passwd = 0; passwd < 2; passwd++)
                if (id_table_parse(text, passwd, &t, &line) >= 0) {
                        for (size_t i = 0; i < t.n; i++)
                                (void) id_table_find_name(&t, t.entries[i].name);
                        id_table_done(&t);
                }
        free(text);
        return 0;
}
