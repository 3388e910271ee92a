/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <stdio.h>

#include "fuzz.h"
#include "node.h"

/* status.json as `status` and `down` read it (another process of the user wrote it): whatever parses
 * prints as JSON that parses to the same again. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_text(data, size), *out = NULL;
        struct node_status s, again;
        size_t len = 0;
        FILE *f;

        node_status_init(&s);
        if (node_status_parse(text, &s) >= 0) {
                f = open_memstream(&out, &len);
                assert(f);
                node_status_print_json(f, &s);
                assert(fclose(f) == 0);
                node_status_init(&again);
                assert(node_status_parse(out, &again) >= 0);
                assert(again.state == s.state && again.n_ports == s.n_ports);
                node_status_done(&again);
                free(out);
        }
        node_status_done(&s);
        free(text);
        return 0;
}
