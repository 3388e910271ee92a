/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>

#include "fuzz.h"
#include "port.h"

/* --publish "[IP:]HOSTPORT:NODEPORT[/PROTO]". */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_text(data, size);
        struct node_port p;

        if (node_port_parse(text, &p) >= 0) {
                assert(p.host_port > 0 && p.node_port > 0);
                assert(memchr(p.proto, 0, sizeof p.proto) && memchr(p.host_ip, 0, sizeof p.host_ip));
        }
        free(text);
        return 0;
}
