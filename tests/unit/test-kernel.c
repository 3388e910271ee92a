/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "suites.h"
#include "tree.h"

START_TEST(test_build_from_version) {
        ck_assert_int_eq(kernel_build_from_version("#167-Ubuntu SMP Mon May 15 17:35:05 UTC 2023"), KERNEL_BUILD_UBUNTU);
        ck_assert_int_eq(kernel_build_from_version("#45~20.04.1-Ubuntu SMP PREEMPT_DYNAMIC Mon Apr 24 15:40:40 UTC 2023"),
                         KERNEL_BUILD_UBUNTU);
        ck_assert_int_eq(kernel_build_from_version("#1 SMP Debian 5.10.209-2 (2024-01-31)"), KERNEL_BUILD_DEBIAN);
        ck_assert_int_eq(kernel_build_from_version("#1 SMP PREEMPT_DYNAMIC Debian 6.1.123-1 (2025-01-02)"),
                         KERNEL_BUILD_DEBIAN);
        /* A mainline build and a kernel built by hand on an Ubuntu machine carry no Ubuntu patch. */
        ck_assert_int_eq(kernel_build_from_version("#202012132330 SMP Sun Dec 13 23:33:36 UTC 2020"), KERNEL_BUILD_OTHER);
        ck_assert_int_eq(kernel_build_from_version("#1 SMP built with gcc (Ubuntu 9.4.0-1ubuntu1~20.04.1)"),
                         KERNEL_BUILD_OTHER);
        ck_assert_int_eq(kernel_build_from_version("#1 SMP PREEMPT_DYNAMIC Fri Nov 29 2024"), KERNEL_BUILD_OTHER);
        ck_assert_int_eq(kernel_build_from_version("#1-Ubuntux SMP"), KERNEL_BUILD_OTHER);
        ck_assert_int_eq(kernel_build_from_version(""), KERNEL_BUILD_OTHER);
}
END_TEST

START_TEST(test_release_is_ubuntu) {
        ck_assert(kernel_release_is_ubuntu("5.4.0-150-generic"));
        ck_assert(kernel_release_is_ubuntu("5.15.0-1051-aws"));
        ck_assert(kernel_release_is_ubuntu("6.8.0-31-generic-64k"));
        ck_assert(kernel_release_is_ubuntu("5.4.0-1103-raspi"));
        ck_assert(!kernel_release_is_ubuntu("5.10.0-051000-generic"));   /* mainline build */
        ck_assert(!kernel_release_is_ubuntu("5.10.0-28-amd64"));         /* Debian */
        ck_assert(!kernel_release_is_ubuntu("5.10.0-28-cloud-amd64"));
        ck_assert(!kernel_release_is_ubuntu("4.18.0-513.5.1.el8_9.x86_64"));
        ck_assert(!kernel_release_is_ubuntu("5.4.0"));
        ck_assert(!kernel_release_is_ubuntu("5.4.0-150"));
        ck_assert(!kernel_release_is_ubuntu("5.4.0--generic"));
        ck_assert(!kernel_release_is_ubuntu("5.4.0-150-genericx"));
        ck_assert(!kernel_release_is_ubuntu(""));
}
END_TEST

START_TEST(test_overlay_userns_decide) {
        ck_assert_int_eq(kernel_overlay_userns_decide(5, 11, KERNEL_BUILD_OTHER, OVERLAY_PERMIT_ABSENT), KERNEL_OVERLAY_USERNS_UPSTREAM);
        ck_assert_int_eq(kernel_overlay_userns_decide(6, 1, KERNEL_BUILD_DEBIAN, OVERLAY_PERMIT_OFF), KERNEL_OVERLAY_USERNS_UPSTREAM);
        ck_assert_int_eq(kernel_overlay_userns_decide(5, 4, KERNEL_BUILD_UBUNTU, OVERLAY_PERMIT_ABSENT), KERNEL_OVERLAY_USERNS_UBUNTU);
        ck_assert_int_eq(kernel_overlay_userns_decide(5, 4, KERNEL_BUILD_OTHER, OVERLAY_PERMIT_ABSENT), KERNEL_OVERLAY_USERNS_NO);
        ck_assert_int_eq(kernel_overlay_userns_decide(5, 10, KERNEL_BUILD_DEBIAN, OVERLAY_PERMIT_OFF), KERNEL_OVERLAY_USERNS_NO);
        ck_assert_int_eq(kernel_overlay_userns_decide(5, 10, KERNEL_BUILD_DEBIAN, OVERLAY_PERMIT_ON), KERNEL_OVERLAY_USERNS_DEBIAN_PARAM);
        ck_assert_int_eq(kernel_overlay_userns_decide(4, 19, KERNEL_BUILD_UNKNOWN, OVERLAY_PERMIT_ON),
                         KERNEL_OVERLAY_USERNS_DEBIAN_PARAM);
        ck_assert_int_eq(kernel_overlay_userns_decide(5, 10, KERNEL_BUILD_UNKNOWN, OVERLAY_PERMIT_ABSENT), KERNEL_OVERLAY_USERNS_NO);
}
END_TEST

struct run {
        struct host host;
        struct check_ctx ctx;
        struct report report;
};

static void run_kernel(struct run *t, const char *root, enum distro_family family) {
        *t = (struct run) { .host = { .root_fd = -1 } };
        ck_assert_int_eq(host_init(&t->host, root, NULL), 0);
        t->ctx.host = &t->host;
        t->ctx.distro.family = family;
        ck_assert_int_eq(check_kernel(&t->ctx, &t->report), 0);
        ck_assert_int_eq((int) t->report.n_checks, 1);
}

static void run_done(struct run *t) {
        report_done(&t->report);
        check_ctx_done(&t->ctx);
        host_done(&t->host);
}

START_TEST(test_check_kernel_image) {
        char root[TREE_PATH_MAX];
        struct run t;

        tree_make(root, "kernel");
        /* An Ubuntu image (no version string): the distribution and the flavour tell. */
        tree_put(root, "proc/sys/kernel/osrelease", "5.4.0-150-generic\n");
        run_kernel(&t, root, DISTRO_UBUNTU);
        ck_assert_int_eq(t.ctx.kernel_build, KERNEL_BUILD_UBUNTU);
        ck_assert_int_eq(t.report.checks[0].status, CHECK_PASS);
        ck_assert_ptr_nonnull(strstr(t.report.checks[0].detail, "an Ubuntu kernel"));
        run_done(&t);
        /* The same release on another distribution is not taken for Ubuntu's. */
        run_kernel(&t, root, DISTRO_DEBIAN);
        ck_assert_int_eq(t.ctx.kernel_build, KERNEL_BUILD_UNKNOWN);
        ck_assert_int_eq(t.report.checks[0].status, CHECK_WARN);
        ck_assert_str_eq(t.report.checks[0].fix, "upgrade to a kernel >= 5.11 for overlayfs in user namespaces");
        run_done(&t);
        /* The version string, where there is one, decides: a mainline build on Ubuntu has no patch. */
        tree_put(root, "proc/sys/kernel/version", "#202012132330 SMP Sun Dec 13 23:33:36 UTC 2020\n");
        run_kernel(&t, root, DISTRO_UBUNTU);
        ck_assert_int_eq(t.ctx.kernel_build, KERNEL_BUILD_OTHER);
        ck_assert_int_eq(t.report.checks[0].status, CHECK_WARN);
        run_done(&t);

        /* Debian 11: the module parameter, off, then on. */
        tree_put(root, "proc/sys/kernel/osrelease", "5.10.0-28-amd64\n");
        tree_put(root, "proc/sys/kernel/version", "#1 SMP Debian 5.10.209-2 (2024-01-31)\n");
        run_kernel(&t, root, DISTRO_DEBIAN);
        ck_assert_int_eq(t.ctx.overlay_permit_param, OVERLAY_PERMIT_ABSENT);
        ck_assert_int_eq(t.report.checks[0].status, CHECK_WARN);
        ck_assert_ptr_nonnull(strstr(t.report.checks[0].fix, "options overlay permit_mounts_in_userns=1"));
        ck_assert_ptr_nonnull(strstr(t.report.checks[0].fix, root));
        run_done(&t);
        tree_put(root, "sys/module/overlay/parameters/permit_mounts_in_userns", "N\n");
        run_kernel(&t, root, DISTRO_DEBIAN);
        ck_assert_int_eq(t.ctx.overlay_permit_param, OVERLAY_PERMIT_OFF);
        ck_assert_int_eq(t.report.checks[0].status, CHECK_WARN);
        ck_assert_ptr_nonnull(strstr(t.report.checks[0].detail, "permit_mounts_in_userns is N"));
        run_done(&t);
        /* The fix as printed, applied to the image: only a reload of the module is left. */
        tree_put(root, "etc/modprobe.d/usernode-overlay.conf", "options overlay permit_mounts_in_userns=1\n");
        run_kernel(&t, root, DISTRO_DEBIAN);
        ck_assert_int_eq(t.report.checks[0].status, CHECK_WARN);
        ck_assert_ptr_nonnull(strstr(t.report.checks[0].detail, "set in modprobe.d, but not in the loaded module"));
        ck_assert_ptr_nonnull(strstr(t.report.checks[0].fix, "nothing to write: /etc/modprobe.d/usernode-overlay.conf"));
        run_done(&t);
        tree_put(root, "sys/module/overlay/parameters/permit_mounts_in_userns", "Y\n");
        run_kernel(&t, root, DISTRO_DEBIAN);
        ck_assert_int_eq(t.report.checks[0].status, CHECK_PASS);
        ck_assert_ptr_nonnull(strstr(t.report.checks[0].detail, "permit_mounts_in_userns=Y"));
        run_done(&t);
        /* Overlay not loaded: modprobe.d decides what it gets; a later file turning it off wins. */
        tree_remove(root);
        tree_make(root, "kernel");
        tree_put(root, "proc/sys/kernel/osrelease", "5.10.0-28-amd64\n");
        tree_put(root, "etc/modprobe.d/usernode-overlay.conf", "options overlay permit_mounts_in_userns=1\n");
        run_kernel(&t, root, DISTRO_DEBIAN);
        ck_assert_int_eq(t.report.checks[0].status, CHECK_PASS);
        ck_assert_ptr_nonnull(strstr(t.report.checks[0].detail, "which modprobe.d sets when overlay loads"));
        run_done(&t);
        tree_put(root, "lib/modprobe.d/zz-off.conf", "# off\noptions overlay permit_mounts_in_userns=0\n");
        run_kernel(&t, root, DISTRO_DEBIAN);
        ck_assert_int_eq(t.report.checks[0].status, CHECK_WARN);
        run_done(&t);
        /* Only Debian's overlay knows the parameter: other kernels ignore the option. */
        tree_remove(root);
        tree_make(root, "kernel");
        tree_put(root, "proc/sys/kernel/osrelease", "5.4.0-rc1\n");
        tree_put(root, "proc/sys/kernel/version", "#1 SMP PREEMPT Fri Nov 29 2024\n");
        tree_put(root, "etc/modprobe.d/usernode-overlay.conf", "options overlay permit_mounts_in_userns=1\n");
        run_kernel(&t, root, DISTRO_OTHER);
        ck_assert_int_eq(t.report.checks[0].status, CHECK_WARN);
        ck_assert_str_eq(t.report.checks[0].fix, "upgrade to a kernel >= 5.11 for overlayfs in user namespaces");
        run_done(&t);
        tree_remove(root);
}
END_TEST

START_TEST(test_modprobe_conf) {
        ck_assert_int_eq(kernel_modprobe_conf_overlay_permit("options overlay permit_mounts_in_userns=1\n"), 1);
        ck_assert_int_eq(kernel_modprobe_conf_overlay_permit("options overlay  metacopy=off permit_mounts_in_userns=Y"), 1);
        ck_assert_int_eq(kernel_modprobe_conf_overlay_permit("options overlay permit_mounts_in_userns=1\n"
                                                             "options overlay permit_mounts_in_userns=N\n"),
                         0);
        ck_assert_int_eq(kernel_modprobe_conf_overlay_permit("# options overlay permit_mounts_in_userns=1\n"), -ENOENT);
        ck_assert_int_eq(kernel_modprobe_conf_overlay_permit("options overlayfs permit_mounts_in_userns=1\n"), -ENOENT);
        ck_assert_int_eq(kernel_modprobe_conf_overlay_permit("options overlay permit_mounts_in_userns=10\n"), 0);
        ck_assert_int_eq(kernel_modprobe_conf_overlay_permit("blacklist overlay\n"), -ENOENT);
        ck_assert_int_eq(kernel_modprobe_conf_overlay_permit(""), -ENOENT);
}
END_TEST

Suite *kernel_suite(void) {
        Suite *s = suite_create("kernel");
        TCase *tc = tcase_create("kernel");

        tcase_add_test(tc, test_build_from_version);
        tcase_add_test(tc, test_release_is_ubuntu);
        tcase_add_test(tc, test_overlay_userns_decide);
        tcase_add_test(tc, test_modprobe_conf);
        tcase_add_test(tc, test_check_kernel_image);
        suite_add_tcase(s, tc);
        return s;
}
