/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>

#include "distro.h"
#include "suites.h"

static enum distro_family family(const char *text) {
        struct distro d = {};
        enum distro_family f;

        ck_assert_int_eq(distro_parse_os_release(text, &d), 0);
        f = d.family;
        distro_done(&d);
        return f;
}

START_TEST(test_os_release) {
        struct distro d = {};

        ck_assert_int_eq(distro_parse_os_release("# comment\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
                                                 "NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n",
                                                 &d),
                         0);
        ck_assert_int_eq(d.family, DISTRO_DEBIAN);
        ck_assert_str_eq(d.id, "debian");
        ck_assert_str_eq(d.version_id, "12");
        ck_assert_str_eq(d.pretty_name, "Debian GNU/Linux 12 (bookworm)");
        distro_done(&d);

        ck_assert_int_eq(family("ID=ubuntu\nID_LIKE=debian\n"), DISTRO_UBUNTU);
        ck_assert_int_eq(family("ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n"), DISTRO_UBUNTU);
        ck_assert_int_eq(family("ID=\"rhel\"\nID_LIKE=\"fedora\"\n"), DISTRO_RHEL);
        ck_assert_int_eq(family("ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n"), DISTRO_RHEL);
        ck_assert_int_eq(family("ID=fedora\n"), DISTRO_FEDORA);
        ck_assert_int_eq(family("ID='opensuse-tumbleweed'\n"), DISTRO_SUSE);
        ck_assert_int_eq(family("ID=gentoo\n"), DISTRO_OTHER);
        ck_assert_int_eq(family(""), DISTRO_OTHER);
        ck_assert_int_eq(family("garbage without equals\n=\n==\nID\n"), DISTRO_OTHER);
}
END_TEST

START_TEST(test_fixes) {
        struct distro deb = { .family = DISTRO_DEBIAN }, fed = { .family = DISTRO_FEDORA };
        char *s;

        ck_assert_str_eq(distro_package(&deb, "uidmap"), "uidmap");
        ck_assert_str_eq(distro_package(&fed, "uidmap"), "shadow-utils");
        ck_assert_str_eq(distro_package(&fed, "slirp4netns"), "slirp4netns");
        s = distro_kernel_cmdline_fix(&fed, "systemd.unified_cgroup_hierarchy=1");
        ck_assert(strstr(s, "grubby") && strstr(s, "systemd.unified_cgroup_hierarchy=1"));
        free(s);
        s = distro_kernel_cmdline_fix(&deb, "systemd.unified_cgroup_hierarchy=1");
        ck_assert(strstr(s, "update-grub") && strstr(s, "systemd.unified_cgroup_hierarchy=1"));
        free(s);
}
END_TEST

Suite *distro_suite(void) {
        Suite *s = suite_create("distro");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_os_release);
        tcase_add_test(tc, test_fixes);
        suite_add_tcase(s, tc);
        return s;
}
