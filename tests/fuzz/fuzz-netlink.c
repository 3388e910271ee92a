/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fuzz.h"
#include "netlink.h"

/* One buffer of rtnetlink dump replies as the kernel would send them: raw bytes, no NUL needed. The
 * sequence number and port are 0, which libmnl does not compare, so every byte reaches the parser. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct net_host_table t = {};
        struct net_prefix p, free_net;
        void *copy;

        /* An exact-size heap copy, so that ASan sees any read past the kernel's buffer. */
        copy = malloc(size ? size : 1);
        if (!copy)
                abort();
        memcpy(copy, data, size);
        if (netlink_parse_dump(copy, size, 0, 0, &t) >= 0) {
                if (net_prefix_parse("10.42.0.0/16", &p) >= 0)
                        (void) net_host_table_collision(&t, &p);
                (void) net_cidr_pick_free(&t, 16, NULL, 0, &free_net);
        }
        net_host_table_done(&t);
        free(copy);
        return 0;
}
