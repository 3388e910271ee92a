/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "limits-conf.h"
#include "suites.h"

START_TEST(test_limits_conf) {
        char *groups[] = { "users", "devs", NULL };
        struct limits_nofile l = {};

        /* Comments, soft-only lines and other items are ignored; "*" applies. */
        ck_assert_int_eq(limits_conf_apply("# <domain> <type> <item> <value>\n*  soft nofile 1024\n"
                                           "*  hard nofile 4096 # default\n*  hard nproc 100\n",
                                           "alice", 1000, groups, &l), 0);
        ck_assert(l.set);
        ck_assert_uint_eq(l.hard, 4096);
        /* A group entry beats "*" even when "*" comes later. */
        ck_assert_int_eq(limits_conf_apply("@devs hard nofile 65536\n* hard nofile 1024\n", "alice", 1000, groups, &l), 0);
        ck_assert_uint_eq(l.hard, 65536);
        ck_assert_int_eq(l.priority, 2);
        /* A user entry beats the group; "-" sets both soft and hard. */
        ck_assert_int_eq(limits_conf_apply("alice - nofile 2048\n@devs hard nofile 99999\n", "alice", 1000, groups, &l), 0);
        ck_assert_uint_eq(l.hard, 2048);
        ck_assert_int_eq(l.priority, 3);
        /* UID ranges. */
        l = (struct limits_nofile) {};
        ck_assert_int_eq(limits_conf_apply("1000:1999 hard nofile 70000\n2000: hard nofile 1\n:999 hard nofile 2\n",
                                           "alice", 1000, NULL, &l), 0);
        ck_assert_uint_eq(l.hard, 70000);
        l = (struct limits_nofile) {};
        ck_assert_int_eq(limits_conf_apply("2000: hard nofile 1\n", "alice", 1000, NULL, &l), 0);
        ck_assert(!l.set);
        /* unlimited, and "*" never applies to root. */
        ck_assert_int_eq(limits_conf_apply("alice hard nofile unlimited\n", "alice", 1000, NULL, &l), 0);
        ck_assert(l.unlimited);
        l = (struct limits_nofile) {};
        ck_assert_int_eq(limits_conf_apply("* hard nofile 10\n", "root", 0, NULL, &l), 0);
        ck_assert(!l.set);
        /* Garbage: wrong field count, bad numbers, negative, huge, other users. */
        l = (struct limits_nofile) {};
        ck_assert_int_eq(limits_conf_apply("alice hard nofile\nalice hard nofile 12x\nalice hard nofile -5\n"
                                           "alice hard nofile 999999999999999999999999\nbob hard nofile 5\n"
                                           "alice hard nofile 1 2\n:\n: hard nofile 3\n@ hard nofile 4\n",
                                           "alice", 1000, groups, &l), 0);
        ck_assert(!l.set);
        {
                char *big = malloc(HOST_LINE_MAX + 16);

                memset(big, 'a', HOST_LINE_MAX + 8);
                big[HOST_LINE_MAX + 8] = '\0';
                ck_assert_int_eq(limits_conf_apply(big, "alice", 1000, NULL, &l), -E2BIG);
                free(big);
        }
}
END_TEST

Suite *limits_suite(void) {
        Suite *s = suite_create("limits");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_limits_conf);
        suite_add_tcase(s, tc);
        return s;
}
