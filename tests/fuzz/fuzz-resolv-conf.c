/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>

#include "fuzz.h"
#include "net.h"

/* resolv.conf: the nameservers a node's pods would get. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_text(data, size), **ns = NULL;
        int n = resolv_conf_parse(text, &ns);

        if (n >= 0) {
                size_t i = 0;

                assert(ns);
                for (; ns[i]; i++) {
                        (void) nameserver_usable_in_pod(ns[i]);
                        free(ns[i]);
                }
                assert(i <= RESOLV_NAMESERVERS_MAX);
                free(ns);
        }
        free(text);
        return 0;
}
