/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>

#include "fuzz.h"
#include "subid.h"

/* /etc/subuid and /etc/subgid, and `getsubids` output: parse, evaluate, allocate, and the byte-for-byte
 * round trip setup relies on when it rewrites the file. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_text(data, size);
        struct subid_file f = {}, g = {};
        struct un_error err = {};

        if (subid_file_parse("fuzz", text, size, &f, &err) >= 0) {
                struct subid_verdict v;
                uint32_t start;
                size_t len;
                char *out;

                for (size_t i = 0; i < f.n && i < 8; i++)
                        subid_evaluate(&f, f.ranges[i].owner, 1000, 1000, &v);
                (void) subid_find_free(&f, NULL, SUBID_FIRST, SUBID_MIN_COUNT, &start);
                out = subid_file_format(&f, &len);
                /* Whatever parsed is written back unchanged (NUL bytes are refused by the parser). */
                assert(out && len == size && memcmp(out, text, size) == 0);
                free(out);
                if (subid_file_append(&f, "fuzz", 100000, 65536) >= 0)
                        assert(subid_file_remove_line(&f, "fuzz:100000:65536") == 0);
                if (f.n_lines > 0)
                        (void) subid_file_remove_line(&f, f.lines[0]);
                subid_file_done(&f);
        }
        if (subid_parse_getsubids(text, "alice", &g) >= 0)
                subid_file_done(&g);
        free(text);
        return 0;
}
