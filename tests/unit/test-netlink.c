/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "netlink.h"
#include "suites.h"

/* Crafted rtnetlink replies, built the way the kernel lays them out. */
static struct nlmsghdr *put_addr(char *buf, uint32_t seq, uint32_t pid, int family, const char *addr, unsigned plen,
                                 unsigned ifindex, const char *label) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
        uint8_t a[16];

        nlh->nlmsg_type = RTM_NEWADDR;
        nlh->nlmsg_flags = NLM_F_MULTI;
        nlh->nlmsg_seq = seq;
        nlh->nlmsg_pid = pid;
        ifa->ifa_family = (uint8_t) family;
        ifa->ifa_prefixlen = (uint8_t) plen;
        ifa->ifa_index = ifindex;
        ck_assert_int_eq(inet_pton(family, addr, a), 1);
        mnl_attr_put(nlh, family == AF_INET ? IFA_LOCAL : IFA_ADDRESS, family == AF_INET ? 4 : 16, a);
        if (label)
                mnl_attr_put_strz(nlh, IFA_LABEL, label);
        return nlh;
}

static struct nlmsghdr *put_route(char *buf, uint32_t seq, uint32_t pid, int family, const char *dst, unsigned plen,
                                  unsigned table, unsigned type, unsigned oif) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);

        nlh->nlmsg_type = RTM_NEWROUTE;
        nlh->nlmsg_flags = NLM_F_MULTI;
        nlh->nlmsg_seq = seq;
        nlh->nlmsg_pid = pid;
        rtm->rtm_family = (uint8_t) family;
        rtm->rtm_dst_len = (uint8_t) plen;
        rtm->rtm_table = (uint8_t) (table < 256 ? table : RT_TABLE_COMPAT);
        rtm->rtm_type = (uint8_t) type;
        if (dst) {
                uint8_t a[16];

                ck_assert_int_eq(inet_pton(family, dst, a), 1);
                mnl_attr_put(nlh, RTA_DST, family == AF_INET ? 4 : 16, a);
        }
        mnl_attr_put_u32(nlh, RTA_TABLE, table);
        if (oif)
                mnl_attr_put_u32(nlh, RTA_OIF, oif);
        return nlh;
}

static struct nlmsghdr *put_done(char *buf, uint32_t seq, uint32_t pid) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

        nlh->nlmsg_type = NLMSG_DONE;
        nlh->nlmsg_flags = NLM_F_MULTI;
        nlh->nlmsg_seq = seq;
        nlh->nlmsg_pid = pid;
        mnl_attr_put_u32(nlh, 0, 0);    /* the kernel's DONE carries an int */
        nlh->nlmsg_len = NLMSG_LENGTH(sizeof(int));
        return nlh;
}

static size_t append(char *stream, size_t off, const struct nlmsghdr *nlh) {
        memcpy(stream + off, nlh, nlh->nlmsg_len);
        return off + NLMSG_ALIGN(nlh->nlmsg_len);
}

START_TEST(test_parse_dump) {
        char stream[8192] __attribute__((aligned(4))) = {}, m[1024] __attribute__((aligned(4)));
        struct net_host_table t = {};
        struct net_prefix p;
        const struct net_host_entry *e;
        char s[64];
        size_t off = 0;

        memset(m, 0, sizeof m);
        off = append(stream, off, put_addr(m, 7, 42, AF_INET, "10.42.3.4", 24, 3, "eth1"));
        memset(m, 0, sizeof m);
        off = append(stream, off, put_addr(m, 7, 42, AF_INET6, "fd00::2", 64, 2, NULL));
        memset(m, 0, sizeof m);
        off = append(stream, off, put_route(m, 7, 42, AF_INET, "10.43.0.0", 16, RT_TABLE_MAIN, RTN_UNICAST, 5));
        memset(m, 0, sizeof m);
        /* Local-table and broadcast routes are not networks in use. */
        off = append(stream, off, put_route(m, 7, 42, AF_INET, "10.41.0.1", 32, RT_TABLE_LOCAL, RTN_LOCAL, 5));
        memset(m, 0, sizeof m);
        off = append(stream, off, put_route(m, 7, 42, AF_INET, NULL, 0, RT_TABLE_MAIN, RTN_UNICAST, 2));
        ck_assert_int_eq(netlink_parse_dump(stream, off, 7, 42, &t), 1);
        ck_assert_uint_eq(t.n, 4);
        ck_assert_uint_eq(t.n_v4, 3);
        ck_assert_uint_eq(t.n_v6, 1);
        ck_assert_str_eq(t.entries[0].ifname, "eth1");
        ck_assert_str_eq(net_prefix_to_string(&t.entries[0].prefix, s, sizeof s), "10.42.3.0/24");
        ck_assert_uint_eq(t.entries[2].ifindex, 5);

        ck_assert_int_eq(net_prefix_parse(USERNODE_POD_CIDR, &p), 0);
        e = net_host_table_collision(&t, &p);
        ck_assert_ptr_nonnull(e);
        ck_assert_int_eq(e->kind, NET_ENTRY_ADDRESS);
        ck_assert_int_eq(net_prefix_parse(USERNODE_SERVICE_CIDR, &p), 0);
        e = net_host_table_collision(&t, &p);
        ck_assert_ptr_nonnull(e);
        ck_assert_int_eq(e->kind, NET_ENTRY_ROUTE);
        /* The default route collides with nothing; the local /32 was skipped. */
        ck_assert_int_eq(net_prefix_parse(USERNODE_SLIRP_CIDR, &p), 0);
        ck_assert_ptr_null(net_host_table_collision(&t, &p));

        /* NLMSG_DONE ends the dump. */
        memset(m, 0, sizeof m);
        off = append(stream, 0, put_done(m, 7, 42));
        ck_assert_int_eq(netlink_parse_dump(stream, off, 7, 42, &t), 0);
        net_host_table_done(&t);
}
END_TEST

START_TEST(test_parse_hostile) {
        char stream[4096] __attribute__((aligned(4))) = {}, m[1024] __attribute__((aligned(4))) = {};
        struct net_host_table t = {};
        struct nlmsghdr *nlh;
        size_t off;

        /* Wrong sequence number and wrong port id are refused (mnl_cb_run's ESRCH/EPROTO). */
        off = append(stream, 0, put_addr(m, 8, 42, AF_INET, "10.0.0.1", 8, 1, NULL));
        ck_assert_int_lt(netlink_parse_dump(stream, off, 7, 42, &t), 0);
        ck_assert_int_lt(netlink_parse_dump(stream, off, 8, 43, &t), 0);
        ck_assert_uint_eq(t.n, 0);

        /* Truncated: the header claims more than the buffer holds. */
        ck_assert_int_eq(netlink_parse_dump(stream, off - 4, 8, 42, &t), -EBADMSG);
        /* Found by fuzzing: a length >= 2^31 is negative as libmnl's int and walked off the buffer. */
        nlh = (struct nlmsghdr *) stream;
        {
                uint32_t saved = nlh->nlmsg_len;

                nlh->nlmsg_len = 0xffffff00u;
                ck_assert_int_eq(netlink_parse_dump(stream, off, 8, 42, &t), -EBADMSG);
                /* Also found by fuzzing: an unpadded last message, whose attributes libmnl reads up to the
                 * aligned end, past the buffer. */
                nlh->nlmsg_len = saved - 1;
                ck_assert_int_eq(netlink_parse_dump(stream, saved - 1, 8, 42, &t), -EBADMSG);
                nlh->nlmsg_len = saved;
        }
        /* Trailing garbage shorter than a header. */
        ck_assert_int_eq(netlink_parse_dump(stream, off + 8, 8, 42, &t), -EBADMSG);
        ck_assert_int_eq(netlink_parse_dump(stream, 0, 8, 42, &t), -EBADMSG);
        ck_assert_int_eq(netlink_parse_dump("\xff\xff\xff\xff\x00\x00", 6, 0, 0, &t), -EBADMSG);

        /* An address attribute of the wrong size. */
        memset(m, 0, sizeof m);
        nlh = mnl_nlmsg_put_header(m);
        nlh->nlmsg_type = RTM_NEWADDR;
        {
                struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);

                ifa->ifa_family = AF_INET;
                ifa->ifa_prefixlen = 24;
        }
        mnl_attr_put(nlh, IFA_LOCAL, 3, "abc");
        ck_assert_int_eq(netlink_parse_dump(nlh, nlh->nlmsg_len, 0, 0, &t), -EBADMSG);

        /* A prefix length beyond the family's width. */
        memset(m, 0, sizeof m);
        nlh = put_addr(m, 0, 0, AF_INET, "10.0.0.1", 33, 1, NULL);
        ck_assert_int_eq(netlink_parse_dump(nlh, nlh->nlmsg_len, 0, 0, &t), -EBADMSG);

        /* A payload shorter than struct rtmsg. */
        memset(m, 0, sizeof m);
        nlh = mnl_nlmsg_put_header(m);
        nlh->nlmsg_type = RTM_NEWROUTE;
        nlh->nlmsg_len += 4;
        ck_assert_int_eq(netlink_parse_dump(nlh, nlh->nlmsg_len, 0, 0, &t), -EBADMSG);

        /* A route with a prefix length but no destination. */
        memset(m, 0, sizeof m);
        nlh = put_route(m, 0, 0, AF_INET, NULL, 16, RT_TABLE_MAIN, RTN_UNICAST, 0);
        ck_assert_int_eq(netlink_parse_dump(nlh, nlh->nlmsg_len, 0, 0, &t), -EBADMSG);

        /* The kernel's error reply becomes its -errno. */
        memset(m, 0, sizeof m);
        nlh = mnl_nlmsg_put_header(m);
        nlh->nlmsg_type = NLMSG_ERROR;
        {
                struct nlmsgerr *err = mnl_nlmsg_put_extra_header(nlh, sizeof *err);

                err->error = -EPERM;
        }
        ck_assert_int_eq(netlink_parse_dump(nlh, nlh->nlmsg_len, 0, 0, &t), -EPERM);

        /* Unknown families and message types are skipped, not errors. */
        memset(m, 0, sizeof m);
        nlh = put_route(m, 0, 0, AF_INET, "10.1.0.0", 16, RT_TABLE_MAIN, RTN_UNICAST, 0);
        ((struct rtmsg *) mnl_nlmsg_get_payload(nlh))->rtm_family = AF_MPLS;
        ck_assert_int_eq(netlink_parse_dump(nlh, nlh->nlmsg_len, 0, 0, &t), 1);
        ck_assert_uint_eq(t.n, 0);
        net_host_table_done(&t);
}
END_TEST

START_TEST(test_prefix) {
        struct net_prefix a, b;
        char s[64];

        ck_assert_int_eq(net_prefix_parse("10.42.0.0/16", &a), 0);
        ck_assert_str_eq(net_prefix_to_string(&a, s, sizeof s), "10.42.0.0/16");
        ck_assert_int_eq(net_prefix_parse("10.42.1.0/16", &b), -EINVAL);       /* host bits set */
        ck_assert_int_eq(net_prefix_parse("10.42.0.0/33", &b), -EINVAL);
        ck_assert_int_eq(net_prefix_parse("10.42.0.0", &b), -EINVAL);
        ck_assert_int_eq(net_prefix_parse("10.42.0.0/", &b), -EINVAL);
        ck_assert_int_eq(net_prefix_parse("10.42.0.0/-1", &b), -EINVAL);
        ck_assert_int_eq(net_prefix_parse("garbage/8", &b), -EINVAL);
        ck_assert_int_eq(net_prefix_parse("fd00::/64", &b), 0);
        ck_assert(!net_prefix_overlaps(&a, &b));
        ck_assert_int_eq(net_prefix_parse("10.0.0.0/8", &b), 0);
        ck_assert(net_prefix_overlaps(&a, &b));
        ck_assert(net_prefix_overlaps(&b, &a));
        ck_assert_int_eq(net_prefix_parse("10.43.0.0/16", &b), 0);
        ck_assert(!net_prefix_overlaps(&a, &b));
        ck_assert_int_eq(net_prefix_parse("10.42.255.252/30", &b), 0);
        ck_assert(net_prefix_overlaps(&a, &b));
}
END_TEST

START_TEST(test_proc_route) {
        struct net_host_table t = {};
        struct net_prefix p;
        char s[64];

        ck_assert_int_eq(net_route_parse_proc(
                "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
                "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
                "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
                "vpn0\t0000000A\t00000000\t0001\t0\t0\t0\t000000FF\t0\t0\t0\n", false, &t), 0);
        ck_assert_uint_eq(t.n, 3);
        ck_assert_str_eq(net_prefix_to_string(&t.entries[1].prefix, s, sizeof s), "192.0.2.0/24");
        ck_assert_str_eq(t.entries[2].ifname, "vpn0");
        ck_assert_int_eq(net_prefix_parse(USERNODE_POD_CIDR, &p), 0);
        ck_assert_ptr_eq(net_host_table_collision(&t, &p), &t.entries[2]);

        ck_assert_int_eq(net_route_parse_proc(
                "fd000000000000000000000000000000 40 00000000000000000000000000000000 00 "
                "00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n", true, &t), 0);
        ck_assert_str_eq(net_prefix_to_string(&t.entries[3].prefix, s, sizeof s), "fd00::/64");
        ck_assert_uint_eq(t.n_v6, 1);

        /* Garbage: a non-contiguous mask, short lines, bad hex, an overlong device name, a huge prefix. */
        ck_assert_int_eq(net_route_parse_proc("h\neth0\t0000000A\t0\t0\t0\t0\t0\t00FF00FF\n", false, &t), -EBADMSG);
        ck_assert_int_eq(net_route_parse_proc("h\neth0 0000000A\n", false, &t), -EBADMSG);
        ck_assert_int_eq(net_route_parse_proc("h\neth0\tZZZZZZZZ\t0\t0\t0\t0\t0\t000000FF\n", false, &t), -EBADMSG);
        ck_assert_int_eq(net_route_parse_proc("h\nabcdefghijklmnopqrstuvwxyz\t0000000A\t0\t0\t0\t0\t0\t000000FF\n", false,
                                              &t), -EBADMSG);
        ck_assert_int_eq(net_route_parse_proc("fd000000000000000000000000000000 ff 0 0 0 0 0 0 0 eth0\n", true, &t),
                         -EBADMSG);
        {
                char *big = malloc(HOST_LINE_MAX + 16);

                memset(big, 'a', HOST_LINE_MAX + 8);
                big[HOST_LINE_MAX + 8] = '\0';
                ck_assert_int_eq(net_route_parse_proc(big, true, &t), -E2BIG);
                free(big);
        }
        net_host_table_done(&t);
}
END_TEST

START_TEST(test_pick_free) {
        struct net_host_table t = {};
        struct net_prefix ours[3], p;
        char s[64];

        ck_assert_int_eq(net_prefix_parse(USERNODE_POD_CIDR, &ours[0]), 0);
        ck_assert_int_eq(net_prefix_parse(USERNODE_SERVICE_CIDR, &ours[1]), 0);
        ck_assert_int_eq(net_prefix_parse(USERNODE_SLIRP_CIDR, &ours[2]), 0);
        ck_assert_int_eq(net_cidr_pick_free(&t, 16, ours, 3, &p), 0);
        ck_assert_str_eq(net_prefix_to_string(&p, s, sizeof s), "10.44.0.0/16");
        /* A host route over 10.44-10.47 pushes the pick past it; a /24 for slirp. */
        ck_assert_int_eq(net_route_parse_proc("h\nwg0\t00002C0A\t0\t0\t0\t0\t0\t0000FCFF\n", false, &t), 0);
        ck_assert_int_eq(net_cidr_pick_free(&t, 16, ours, 3, &p), 0);
        ck_assert_str_eq(net_prefix_to_string(&p, s, sizeof s), "10.48.0.0/16");
        ck_assert_int_eq(net_cidr_pick_free(&t, 24, ours, 3, &p), 0);
        ck_assert_str_eq(net_prefix_to_string(&p, s, sizeof s), "10.48.0.0/24");
        /* All of 10/8 taken: 172.16/12 next. */
        ck_assert_int_eq(net_route_parse_proc("h\nvpn\t0000000A\t0\t0\t0\t0\t0\t000000FF\n", false, &t), 0);
        ck_assert_int_eq(net_cidr_pick_free(&t, 16, NULL, 0, &p), 0);
        ck_assert_str_eq(net_prefix_to_string(&p, s, sizeof s), "172.16.0.0/16");
        ck_assert_int_eq(net_cidr_pick_free(&t, 7, NULL, 0, &p), -EINVAL);
        ck_assert_int_eq(net_cidr_pick_free(&t, 31, NULL, 0, &p), -EINVAL);
        net_host_table_done(&t);
}
END_TEST

Suite *netlink_suite(void) {
        Suite *s = suite_create("netlink");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_parse_dump);
        tcase_add_test(tc, test_parse_hostile);
        tcase_add_test(tc, test_prefix);
        tcase_add_test(tc, test_proc_route);
        tcase_add_test(tc, test_pick_free);
        suite_add_tcase(s, tc);
        return s;
}
