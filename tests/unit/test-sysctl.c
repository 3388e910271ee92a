/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "sysctl.h"

START_TEST(test_parse_ints) {
        int64_t v[2];

        ck_assert_int_eq(sysctl_parse_ints("1\n", v, 1), 0);
        ck_assert_int_eq(v[0], 1);
        ck_assert_int_eq(sysctl_parse_ints("0", v, 1), 0);
        ck_assert_int_eq(sysctl_parse_ints("1\t0\n", v, 2), 0);
        ck_assert_int_eq(v[0], 1);
        ck_assert_int_eq(v[1], 0);
        ck_assert_int_eq(sysctl_parse_ints("0\t2147483647\n", v, 2), 0);
        ck_assert_int_eq(v[1], 2147483647);
        ck_assert_int_eq(sysctl_parse_ints("-1\n", v, 1), 0);
        ck_assert_int_eq(v[0], -1);
        /* Hostile: empty, blanks, garbage, too few or too many, huge, two newlines, NUL inside. */
        ck_assert_int_lt(sysctl_parse_ints("", v, 1), 0);
        ck_assert_int_lt(sysctl_parse_ints("\n", v, 1), 0);
        ck_assert_int_lt(sysctl_parse_ints(" 1", v, 1), 0);
        ck_assert_int_lt(sysctl_parse_ints("1 ", v, 1), 0);
        ck_assert_int_lt(sysctl_parse_ints("1x", v, 1), 0);
        ck_assert_int_lt(sysctl_parse_ints("0x10", v, 1), 0);
        ck_assert_int_lt(sysctl_parse_ints("+1", v, 1), 0);
        ck_assert_int_lt(sysctl_parse_ints("1\n\n", v, 1), 0);
        ck_assert_int_lt(sysctl_parse_ints("1", v, 2), 0);
        ck_assert_int_lt(sysctl_parse_ints("1\t2\t3", v, 2), 0);
        ck_assert_int_lt(sysctl_parse_ints("99999999999999999999", v, 1), 0);
        ck_assert_int_lt(sysctl_parse_ints("123456789012345678901234567890", v, 1), 0);
        ck_assert_int_lt(sysctl_parse_ints("1", v, 0), 0);
        ck_assert_int_lt(sysctl_parse_ints("1", v, 9), 0);
        ck_assert_int_eq(sysctl_parse_ints("1\0" "2", v, 1), 0);        /* the string ends at the NUL */
}
END_TEST

START_TEST(test_conf_find) {
        char *v = NULL;

        ck_assert_int_eq(sysctl_conf_find("# comment\n; also\nnet.ipv4.ip_forward = 1\n", "net.ipv4.ip_forward", &v), 1);
        ck_assert_str_eq(v, "1");
        free(v);
        /* Slash form, "-" prefix, last one wins, other keys ignored. */
        ck_assert_int_eq(sysctl_conf_find("net/ipv4/ip_forward=1\n-net.ipv4.ip_forward= 0 \nnet.ipv4.ip_forward_x=5\n",
                                          "net.ipv4.ip_forward", &v), 1);
        ck_assert_str_eq(v, "0");
        free(v);
        /* In the slash form, dots belong to the name: net/ipv4/conf/eth0.100/rp_filter. */
        ck_assert_int_eq(sysctl_conf_find("net/ipv4/conf/eth0.100/rp_filter = 2\n", "net.ipv4.conf.eth0/100.rp_filter", &v), 1);
        ck_assert_str_eq(v, "2");
        free(v);
        ck_assert_int_eq(sysctl_conf_find("net.ipv4.ping_group_range = 0   2147483647\n", "net.ipv4.ping_group_range", &v), 1);
        ck_assert_str_eq(v, "0   2147483647");
        free(v);
        ck_assert_int_eq(sysctl_conf_find("garbage line\n=\n = 5\n", "net.ipv4.ip_forward", &v), 0);
        ck_assert_int_eq(sysctl_conf_find("", "net.ipv4.ip_forward", &v), 0);
        {
                char *big = malloc(HOST_LINE_MAX + 16);

                memset(big, 'a', HOST_LINE_MAX + 8);
                big[HOST_LINE_MAX + 8] = '\0';
                ck_assert_int_eq(sysctl_conf_find(big, "a", &v), -E2BIG);
                free(big);
        }
}
END_TEST

Suite *sysctl_suite(void) {
        Suite *s = suite_create("sysctl");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_parse_ints);
        tcase_add_test(tc, test_conf_find);
        suite_add_tcase(s, tc);
        return s;
}
