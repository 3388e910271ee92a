/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdlib.h>

#include "cgroup.h"
#include "suites.h"

static enum cgroup_layout layout(const char *mi) {
        enum cgroup_layout l = CGROUP_LAYOUT_UNKNOWN;

        ck_assert_int_eq(cgroup_layout_from_mountinfo(mi, &l), 0);
        return l;
}

START_TEST(test_layout) {
        ck_assert_int_eq(layout("30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"),
                         CGROUP_LAYOUT_V2);
        ck_assert_int_eq(layout("25 22 0:22 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"
                                "26 25 0:23 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
                                "27 25 0:24 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n"
                                "30 25 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"),
                         CGROUP_LAYOUT_HYBRID);
        ck_assert_int_eq(layout("25 22 0:22 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"
                                "30 25 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"),
                         CGROUP_LAYOUT_V1);
        ck_assert_int_eq(layout("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"), CGROUP_LAYOUT_UNKNOWN);
        ck_assert_int_eq(layout(""), CGROUP_LAYOUT_UNKNOWN);
        /* Optional fields and garbage lines. */
        ck_assert_int_eq(layout("garbage\n - \n30 23 0:26 / /sys/fs/cgroup rw shared:4 master:1 - cgroup2 none rw\n"),
                         CGROUP_LAYOUT_V2);
        /* A tmpfs mounted over a cgroup2 root hides it. */
        ck_assert_int_eq(layout("30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
                                "31 30 0:27 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"),
                         CGROUP_LAYOUT_UNKNOWN);
}
END_TEST

START_TEST(test_controllers) {
        unsigned unknown = 0;
        char *s;

        ck_assert_uint_eq(controllers_from_string("cpuset cpu io memory hugetlb pids rdma misc", &unknown),
                          CONTROLLERS_WANTED | CONTROLLER_HUGETLB);
        ck_assert_uint_eq(unknown, 2);
        ck_assert_uint_eq(controllers_from_string("", NULL), 0);
        s = controllers_to_string(CONTROLLER_MEMORY | CONTROLLER_PIDS);
        ck_assert_str_eq(s, "memory pids");
        free(s);
        s = controllers_to_string(0);
        ck_assert_str_eq(s, "none");
        free(s);
}
END_TEST

Suite *cgroup_suite(void) {
        Suite *s = suite_create("cgroup");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_layout);
        tcase_add_test(tc, test_controllers);
        suite_add_tcase(s, tc);
        return s;
}
