/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

static int v2_path(const char *text, const char *want) {
        char *got = NULL;
        int r = cgroup_v2_path_from_proc(text, &got);

        if (r >= 0)
                ck_assert_str_eq(got, want);
        else
                ck_assert_ptr_null(got);
        free(got);
        return r;
}

START_TEST(test_v2_path) {
        char big[6000];

        ck_assert_int_eq(v2_path("0::/user.slice/user-1000.slice/user@1000.service/app.slice/x.service\n",
                                 "/user.slice/user-1000.slice/user@1000.service/app.slice/x.service"),
                         0);
        /* Hybrid: v1 lines first, the unified line last, no trailing newline. */
        ck_assert_int_eq(v2_path("12:memory:/a\n1:name=systemd:/a\n0::/system.slice/job.service/job",
                                 "/system.slice/job.service/job"),
                         0);
        ck_assert_int_eq(v2_path("0::/\n", "/"), 0);
        ck_assert_int_eq(v2_path("1:name=systemd:/a\n", NULL), -ENODATA);
        ck_assert_int_eq(v2_path("", NULL), -ENODATA);
        /* Seen from inside a cgroupns, relative, or with path tricks: unusable. */
        ck_assert_int_eq(v2_path("0::/../../user.slice\n", NULL), -EINVAL);
        ck_assert_int_eq(v2_path("0::/a/..\n", NULL), -EINVAL);
        ck_assert_int_eq(v2_path("0::a/b\n", NULL), -EINVAL);
        ck_assert_int_eq(v2_path("0::/a//b\n", NULL), -EINVAL);
        ck_assert_int_eq(v2_path("0::/a/./b\n", NULL), -EINVAL);
        ck_assert_int_eq(v2_path("0::/a/\n", NULL), -EINVAL);
        ck_assert_int_eq(v2_path("0::\n", NULL), -EINVAL);
        /* An overlong line ends the reading (nothing found); a long clean path is fine. */
        memset(big, 'a', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        memcpy(big, "0::/", 4);
        ck_assert_int_lt(v2_path(big, NULL), 0);
        big[4090] = '\0';
        ck_assert_int_eq(v2_path(big, big + 3), 0);
}
END_TEST

START_TEST(test_node_plan) {
        const char *job = "/system.slice/ci-job.service/job";
        const char *unit = "/user.slice/user-1000.slice/user@1000.service/app.slice/usernode-n.service";

        ck_assert_int_eq(cgroup_node_plan(unit, true, true, true), NODE_CGROUP_CURRENT);
        ck_assert_int_eq(cgroup_node_plan(unit, true, true, false), NODE_CGROUP_CURRENT);
        /* A CI job's leaf with its shell in it: next to it, in the job's delegated unit. */
        ck_assert_int_eq(cgroup_node_plan(job, true, false, true), NODE_CGROUP_SIBLING);
        ck_assert_int_eq(cgroup_node_plan(job, false, false, true), NODE_CGROUP_SIBLING);
        ck_assert_int_eq(cgroup_node_plan(job, true, false, false), NODE_CGROUP_NONE);
        /* Never into a slice (systemd's subtree_control) or the root. */
        ck_assert_int_eq(cgroup_node_plan("/user.slice/user-1000.slice/user@1000.service/app.slice/run-u7.service",
                                          true, false, true),
                         NODE_CGROUP_NONE);
        ck_assert_int_eq(cgroup_node_plan("/job", true, false, true), NODE_CGROUP_NONE);
        ck_assert_int_eq(cgroup_node_plan("/", true, true, true), NODE_CGROUP_NONE);
        ck_assert_int_eq(cgroup_node_plan(NULL, true, true, true), NODE_CGROUP_NONE);
        ck_assert_int_eq(cgroup_node_plan("relative", true, true, true), NODE_CGROUP_NONE);
        ck_assert_int_eq(cgroup_node_plan("/session-3.scope", false, true, false), NODE_CGROUP_NONE);
}
END_TEST

Suite *cgroup_suite(void) {
        Suite *s = suite_create("cgroup");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_layout);
        tcase_add_test(tc, test_controllers);
        tcase_add_test(tc, test_v2_path);
        tcase_add_test(tc, test_node_plan);
        suite_add_tcase(s, tc);
        return s;
}
