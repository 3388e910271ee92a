/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "suites.h"
#include "sysctl.h"
#include "tree.h"

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

START_TEST(test_read_configured) {
        char root[TREE_PATH_MAX], *file = NULL;
        struct host h = { .root_fd = -1 };
        int64_t v[2];

        tree_make(root, "sysctlconf");
        tree_put(root, "/usr/lib/sysctl.d/50-default.conf", "-net.ipv4.ping_group_range = 0 2147483647\n");
        tree_put(root, "/etc/sysctl.d/50-default.conf", "# masks the one in /usr/lib\n");
        tree_put(root, "/etc/sysctl.d/60-a.conf", "net.ipv4.ip_forward = 0\n");
        tree_put(root, "/run/sysctl.d/70-b.conf", "net/ipv4/ip_forward=1\n");
        ck_assert_int_eq(host_init(&h, root, NULL), 0);
        ck_assert_int_eq(sysctl_read_configured(&h, "net.ipv4.ping_group_range", v, 2, NULL), 0);
        ck_assert_int_eq(sysctl_read_configured(&h, "net.ipv4.ip_forward", v, 1, &file), 1);
        ck_assert_int_eq(v[0], 1);
        ck_assert_str_eq(file, "/run/sysctl.d/70-b.conf");
        free(file);
        tree_put(root, "/etc/sysctl.conf", "net.ipv4.ping_group_range = 100\t200\n");
        ck_assert_int_eq(sysctl_read_configured(&h, "net.ipv4.ping_group_range", v, 2, NULL), 1);
        ck_assert_int_eq(v[0], 100);
        ck_assert_int_eq(v[1], 200);
        host_done(&h);
        tree_remove(root);
}
END_TEST

static const struct check_result *sysctl_check(const char *root, const char *id, struct report *r) {
        struct host h = { .root_fd = -1 };
        struct check_ctx c = { .engine = ENGINE_KUBELET };

        report_done(r);
        ck_assert_int_eq(host_init(&h, root, NULL), 0);
        c.host = &h;
        c.user = (struct user) { .name = strdup("alice"), .uid = 1000, .gid = 1000 };
        ck_assert_int_eq(check_sysctl(&c, r), 0);
        free(c.user.name);
        host_done(&h);
        return report_find(r, id);
}

/* What setup writes but the running kernel lacks is applied, not set up again; ICMP is the admin's. */
START_TEST(test_checks_configured_not_applied) {
        char root[TREE_PATH_MAX];
        struct report r = {};
        const struct check_result *c;

        tree_make(root, "sysctlchk");
        tree_put(root, "/proc/sys/net/ipv4/ip_forward", "0\n");
        tree_put(root, "/proc/sys/net/ipv4/ping_group_range", "1\t0\n");
        c = sysctl_check(root, "sysctl.ip_forward", &r);
        ck_assert_int_eq(c->status, CHECK_WARN);
        ck_assert_ptr_nonnull(strstr(c->fix, "sudo usernode setup --user alice --fast-net --root "));
        c = sysctl_check(root, "sysctl.ping_group_range", &r);
        ck_assert_int_eq(c->status, CHECK_WARN);
        ck_assert_ptr_null(strstr(c->fix, "usernode setup"));
        ck_assert_ptr_nonnull(strstr(c->fix, "/etc/sysctl.d/60-ping-group-range.conf"));
        ck_assert_ptr_nonnull(strstr(c->detail, "leaves to the admin"));

        tree_put(root, "/etc/sysctl.d/50-usernode.conf", "net.ipv4.ip_forward = 1\n");
        tree_put(root, "/etc/sysctl.d/60-ping-group-range.conf", "net.ipv4.ping_group_range = 0 2147483647\n");
        c = sysctl_check(root, "sysctl.ip_forward", &r);
        ck_assert_int_eq(c->status, CHECK_WARN);
        ck_assert_ptr_nonnull(strstr(c->detail, "though /etc/sysctl.d/50-usernode.conf sets it to 1: not applied yet"));
        ck_assert_ptr_null(strstr(c->fix, "usernode setup"));
        ck_assert_ptr_nonnull(strstr(c->fix, "sudo sysctl --system"));
        c = sysctl_check(root, "sysctl.ping_group_range", &r);
        ck_assert_int_eq(c->status, CHECK_WARN);
        ck_assert_ptr_nonnull(strstr(c->detail, "though /etc/sysctl.d/60-ping-group-range.conf covers"));

        tree_put(root, "/proc/sys/net/ipv4/ip_forward", "1\n");
        c = sysctl_check(root, "sysctl.ip_forward", &r);
        ck_assert_int_eq(c->status, CHECK_PASS);
        report_done(&r);
        tree_remove(root);
}
END_TEST

Suite *sysctl_suite(void) {
        Suite *s = suite_create("sysctl");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_parse_ints);
        tcase_add_test(tc, test_conf_find);
        tcase_add_test(tc, test_read_configured);
        tcase_add_test(tc, test_checks_configured_not_applied);
        suite_add_tcase(s, tc);
        return s;
}
