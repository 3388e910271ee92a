/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fuzz.h"
#include "net.h"
#include "netlink.h"

/* /proc/net/tcp{,6}, /proc/net/route, /proc/net/ipv6_route and /etc/lxc/lxc-usernet: the text files
 * the net checks read. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const uint16_t ports[] = { 0, 22, 6443, 10250, 65535 };
        char *groups[] = { (char *) "users", (char *) "wheel", NULL };
        char *text = fuzz_text(data, size);

        for (size_t i = 0; i < sizeof ports / sizeof *ports; i++)
                (void) proc_net_tcp_listening(text, ports[i]);
        for (int v6 = 0; v6 < 2; v6++) {
                struct net_host_table t = {};
                struct net_prefix p, free_net;

                if (net_route_parse_proc(text, v6, &t) >= 0) {
                        if (net_prefix_parse("10.42.0.0/16", &p) >= 0)
                                (void) net_host_table_collision(&t, &p);
                        (void) net_cidr_pick_free(&t, 16, NULL, 0, &free_net);
                }
                net_host_table_done(&t);
        }
        (void) lxc_usernet_allows(text, "alice", groups);
        free(text);
        return 0;
}
