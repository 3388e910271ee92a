/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "net.h"
#include "net-driver.h"
#include "suites.h"
#include "util.h"

START_TEST(test_resolv_conf) {
        char **ns = NULL;

        ck_assert_int_eq(resolv_conf_parse("# generated\nsearch example.org\nnameserver 127.0.0.53\n"
                                           "options edns0 trust-ad\nnameserver\t192.0.2.1 # comment\n"
                                           "nameserverx 1.1.1.1\n  nameserver fe80::1%eth0\nnameserver\n", &ns), 0);
        ck_assert_uint_eq(strv_length(ns), 3);
        ck_assert_str_eq(ns[0], "127.0.0.53");
        ck_assert_str_eq(ns[1], "192.0.2.1");
        ck_assert_str_eq(ns[2], "fe80::1%eth0");
        strv_free(ns);

        ck_assert_int_eq(resolv_conf_parse("", &ns), 0);
        ck_assert_ptr_nonnull(ns);
        ck_assert_ptr_null(ns[0]);
        strv_free(ns);

        /* Bounded: no more than RESOLV_NAMESERVERS_MAX, overlong addresses dropped, overlong lines refused. */
        {
                struct buf b = {};
                char *big;

                for (int i = 0; i < 100; i++)
                        ck_assert_int_eq(buf_printf(&b, "nameserver 10.0.0.%d\n", i), 0);
                ck_assert_int_eq(buf_printf(&b, "nameserver %0100d\n", 1), 0);
                ck_assert_int_eq(resolv_conf_parse(b.data, &ns), 0);
                ck_assert_uint_eq(strv_length(ns), RESOLV_NAMESERVERS_MAX);
                strv_free(ns);
                buf_free(&b);
                big = malloc(HOST_LINE_MAX + 32);
                strcpy(big, "nameserver ");
                memset(big + 11, '1', HOST_LINE_MAX + 8);
                big[HOST_LINE_MAX + 19] = '\0';
                ck_assert_int_eq(resolv_conf_parse(big, &ns), -E2BIG);
                free(big);
        }
}
END_TEST

START_TEST(test_nameserver_usable) {
        ck_assert(nameserver_usable_in_pod("192.0.2.1"));
        ck_assert(nameserver_usable_in_pod("10.255.255.53"));
        ck_assert(nameserver_usable_in_pod("2001:db8::53"));
        ck_assert(!nameserver_usable_in_pod("127.0.0.53"));
        ck_assert(!nameserver_usable_in_pod("127.0.0.1"));
        ck_assert(!nameserver_usable_in_pod("::1"));
        ck_assert(!nameserver_usable_in_pod("::ffff:127.0.0.1"));
        ck_assert(!nameserver_usable_in_pod("fe80::1%eth0"));
        ck_assert(!nameserver_usable_in_pod("169.254.169.254"));
        ck_assert(!nameserver_usable_in_pod("224.0.0.251"));
        ck_assert(!nameserver_usable_in_pod("0.0.0.0"));
        ck_assert(!nameserver_usable_in_pod("::"));
        ck_assert(!nameserver_usable_in_pod("dns.example"));
        ck_assert(!nameserver_usable_in_pod(""));
}
END_TEST

START_TEST(test_proc_net_tcp) {
        const char *tcp =
                "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
                "   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 552 1 0\n"
                "   1: 0100007F:192B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 553 1 0\n"
                "   2: 0200000A:2802 0100000A:C350 01 00000000:00000000 00:00000000 00000000     0        0 554 1 0\n";
        const char *tcp6 =
                "  sl  local_address                         remote_address                        st tx_queue\n"
                "   0: 00000000000000000000000000000000:2802 00000000000000000000000000000000:0000 0A 00000000:0\n";

        ck_assert_int_eq(proc_net_tcp_listening(tcp, 2024), 1);
        ck_assert_int_eq(proc_net_tcp_listening(tcp, 6443), 1);
        /* 10242 is only an established connection's local port here. */
        ck_assert_int_eq(proc_net_tcp_listening(tcp, 10242), 0);
        ck_assert_int_eq(proc_net_tcp_listening(tcp, 10250), 0);
        ck_assert_int_eq(proc_net_tcp_listening(tcp6, 10242), 1);
        ck_assert_int_eq(proc_net_tcp_listening("header only\n", 6443), 0);
        ck_assert_int_eq(proc_net_tcp_listening("", 6443), 0);
        /* Garbage lines. */
        ck_assert_int_eq(proc_net_tcp_listening("h\n 0: 0100007F 0 0A\n", 6443), -EBADMSG);
        ck_assert_int_eq(proc_net_tcp_listening("h\n 0: 0100007F:ZZZZ 0 0A\n", 6443), -EBADMSG);
        ck_assert_int_eq(proc_net_tcp_listening("h\n 0: 0100007F:192B 0 A\n", 6443), -EBADMSG);
        ck_assert_int_eq(proc_net_tcp_listening("h\n 0: 0100007F:192B0 0 0A\n", 6443), -EBADMSG);
        ck_assert_int_eq(proc_net_tcp_listening("h\n 0: 7F:192B 0 0A\n", 6443), -EBADMSG);
        ck_assert_int_eq(proc_net_tcp_listening("h\n 0:\n", 6443), -EBADMSG);
}
END_TEST

START_TEST(test_lxc_usernet) {
        char *groups[] = { "devs", "alice", NULL };
        const char *text = "# USERNAME TYPE BRIDGE COUNT\nbob veth lxcbr0 10\n@devs veth lxcbr0 2\ncarol veth lxcbr0 0\n"
                           "dave macvlan eth0 5\nerin veth lxcbr0 -1\nfrank veth lxcbr0\n";

        ck_assert(lxc_usernet_allows(text, "bob", NULL));
        ck_assert(lxc_usernet_allows(text, "alice", groups));
        ck_assert(!lxc_usernet_allows(text, "alice", NULL));
        ck_assert(!lxc_usernet_allows(text, "carol", NULL));
        ck_assert(!lxc_usernet_allows(text, "dave", NULL));
        ck_assert(!lxc_usernet_allows(text, "erin", NULL));
        ck_assert(!lxc_usernet_allows(text, "frank", NULL));
        ck_assert(!lxc_usernet_allows("", "bob", NULL));
        ck_assert(!lxc_usernet_allows("bob veth lxcbr0 99999999999999999999\n", "bob", NULL));
        ck_assert(net_ipv4_loopback("127.0.0.1") && net_ipv4_loopback("127.255.3.4"));
        ck_assert(!net_ipv4_loopback("10.251.0.1") && !net_ipv4_loopback("128.0.0.1") && !net_ipv4_loopback("garbage"));
}
END_TEST

/* What rootlesskit runs together, and the one choice check and up --net auto make from it. */
START_TEST(test_net_driver_port_rules) {
        struct net_driver_facts f = { .rootlesskit = "/usr/bin/rootlesskit", .slirp4netns = "/usr/bin/slirp4netns",
                                      .pasta = "/usr/bin/pasta", .versions_read = true, .tun = 1 };
        enum net_driver_id d;
        enum port_driver p;
        const char *reason = NULL;

        ck_assert_int_eq(port_driver_allowed(NET_DRIVER_SLIRP4NETNS, PORT_DRIVER_BUILTIN, &reason), 0);
        ck_assert_int_eq(port_driver_allowed(NET_DRIVER_SLIRP4NETNS, PORT_DRIVER_SLIRP4NETNS, &reason), 0);
        ck_assert_int_eq(port_driver_allowed(NET_DRIVER_SLIRP4NETNS, PORT_DRIVER_IMPLICIT, &reason), -EOPNOTSUPP);
        ck_assert_ptr_nonnull(strstr(reason, "needs --net pasta"));
        ck_assert_int_eq(port_driver_allowed(NET_DRIVER_PASTA, PORT_DRIVER_BUILTIN, &reason), -EOPNOTSUPP);
        ck_assert_ptr_nonnull(strstr(reason, "every address of this host"));
        ck_assert_int_eq(port_driver_allowed(NET_DRIVER_PASTA, PORT_DRIVER_SLIRP4NETNS, &reason), -EOPNOTSUPP);
        ck_assert_int_eq(port_driver_allowed(NET_DRIVER_PASTA, PORT_DRIVER_IMPLICIT, &reason), 0);
        ck_assert_int_eq(port_driver_allowed(NET_DRIVER_LXC_USER_NIC, PORT_DRIVER_BUILTIN, &reason), 0);
        ck_assert_int_eq(port_driver_allowed(NET_DRIVER_LXC_USER_NIC, PORT_DRIVER_SLIRP4NETNS, &reason), -EOPNOTSUPP);
        ck_assert(port_driver_explicit(PORT_DRIVER_BUILTIN) && !port_driver_explicit(PORT_DRIVER_IMPLICIT));
        ck_assert_int_eq(port_driver_from_string("implicit", &p), 0);
        ck_assert_int_eq(p, PORT_DRIVER_IMPLICIT);
        ck_assert_int_eq(port_driver_from_string("none", &p), -EINVAL);

        /* Debian 13: rootlesskit 2.0.2 drives pasta, but only with pasta's own forwarding. */
        strcpy(f.v_rootlesskit, "2.0.2");
        ck_assert_int_eq(net_driver_usable(&f, ENGINE_KUBELET, NET_DRIVER_PASTA, &reason), 0);
        ck_assert_int_eq(net_driver_choose(&f, ENGINE_KUBELET, PORT_DRIVER_DEFAULT, &d, &reason), 0);
        ck_assert_int_eq(d, NET_DRIVER_SLIRP4NETNS);
        ck_assert_int_eq(net_driver_choose(&f, ENGINE_KUBELET, PORT_DRIVER_IMPLICIT, &d, &reason), 0);
        ck_assert_int_eq(d, NET_DRIVER_PASTA);
        ck_assert_int_eq(net_driver_choose(&f, ENGINE_KUBELET, PORT_DRIVER_SLIRP4NETNS, &d, &reason), 0);
        ck_assert_int_eq(d, NET_DRIVER_SLIRP4NETNS);

        /* Debian 12: rootlesskit 1.1 has no pasta at all. */
        strcpy(f.v_rootlesskit, "1.1.0");
        ck_assert_int_eq(net_driver_choose(&f, ENGINE_KUBELET, PORT_DRIVER_DEFAULT, &d, &reason), 0);
        ck_assert_int_eq(d, NET_DRIVER_SLIRP4NETNS);
        ck_assert_int_eq(net_driver_choose(&f, ENGINE_KUBELET, PORT_DRIVER_IMPLICIT, &d, &reason), -ENOENT);

        /* Without slirp4netns, the default port driver leaves nothing to pick even where pasta runs. */
        f.slirp4netns = NULL;
        strcpy(f.v_rootlesskit, "2.0.2");
        ck_assert_int_eq(net_driver_choose(&f, ENGINE_KUBELET, PORT_DRIVER_DEFAULT, &d, &reason), -ENOENT);
        ck_assert_int_eq(net_driver_choose(&f, ENGINE_KUBELET, PORT_DRIVER_IMPLICIT, &d, &reason), 0);
        ck_assert_int_eq(d, NET_DRIVER_PASTA);
}
END_TEST

Suite *net_suite(void) {
        Suite *s = suite_create("net");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_resolv_conf);
        tcase_add_test(tc, test_nameserver_usable);
        tcase_add_test(tc, test_proc_net_tcp);
        tcase_add_test(tc, test_lxc_usernet);
        tcase_add_test(tc, test_net_driver_port_rules);
        suite_add_tcase(s, tc);
        return s;
}
