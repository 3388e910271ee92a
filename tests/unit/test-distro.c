/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "distro.h"
#include "hostconf.h"
#include "service-manager.h"
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

/* Issue 23: hosts that are not Debian with systemd. */
START_TEST(test_other_hosts) {
        struct distro d = {};
        const struct hostconf *hc;
        struct service_manager_info sm;
        char *line = NULL;
        bool ro = true;

        ck_assert_int_eq(family("ID=nixos\nVERSION_ID=\"24.05\"\n"), DISTRO_NIXOS);
        ck_assert_int_eq(family("ID=alpine\n"), DISTRO_ALPINE);
        ck_assert_int_eq(distro_parse_os_release("ID=nixos\n", &d), 0);
        hc = hostconf_for(&d);
        ck_assert_ptr_nonnull(hc);
        ck_assert(hostconf_owns(hc, "/etc/systemd/system/user@.service.d/50-usernode-delegate.conf"));
        ck_assert(hostconf_owns(hc, "/etc/subuid"));
        ck_assert(!hostconf_owns(hc, "/etc/subuid-"));
        ck_assert(!hostconf_owns(hc, "/var/lib/usernode/setup/alice.manifest"));
        ck_assert_int_eq(hostconf_render(hc, HOSTCONF_DELEGATE, (const struct template_var[]) { { "controllers", "cpu io" } }, 1,
                                         &line), 0);
        ck_assert_str_eq(line, "systemd.services.\"user@\".serviceConfig.Delegate = \"cpu io\";");
        free(line);
        /* A setting without its variable never renders half-filled. */
        ck_assert_int_lt(hostconf_render(hc, HOSTCONF_LINGER, NULL, 0, &line), 0);
        distro_done(&d);
        ck_assert_int_eq(distro_parse_os_release("ID=debian\n", &d), 0);
        ck_assert_ptr_null(hostconf_for(&d));
        distro_done(&d);

        service_manager_decide(&(struct service_manager_markers) { .openrc_running = true, .pid1 = "init" }, &sm);
        ck_assert_int_eq(sm.manager, SERVICE_MANAGER_OPENRC);
        ck_assert(sm.running);
        service_manager_decide(&(struct service_manager_markers) { .pid1 = "sh", .systemd_installed = true }, &sm);
        ck_assert_int_eq(sm.manager, SERVICE_MANAGER_NONE);
        service_manager_decide(&(struct service_manager_markers) { .openrc_installed = true }, &sm);
        ck_assert_int_eq(sm.manager, SERVICE_MANAGER_OPENRC);
        ck_assert(!sm.running);
        service_manager_decide(&(struct service_manager_markers) {}, &sm);
        ck_assert_int_eq(sm.manager, SERVICE_MANAGER_SYSTEMD);

        ck_assert_int_eq(cgroup_v2_read_only_from_mountinfo(
                                 "517 516 0:26 / /sys/fs/cgroup ro,nosuid,nodev - cgroup2 cgroup rw,nsdelegate\n", &ro),
                         0);
        ck_assert(ro);
        ck_assert_int_eq(cgroup_v2_read_only_from_mountinfo(
                                 "31 22 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n", &ro), 0);
        ck_assert(!ro);
        /* A tmpfs mounted over it later (v1 layout): no cgroup2 there. */
        ck_assert_int_eq(cgroup_v2_read_only_from_mountinfo("31 22 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
                                                            "40 22 0:30 / /sys/fs/cgroup ro - tmpfs tmpfs ro\n", &ro),
                         -ENOENT);
}
END_TEST

/* OpenRC's rc_cgroup_mode as /etc/rc.conf sets it: shell quoting, comments, the last assignment. */
START_TEST(test_openrc_cgroup_mode) {
        const char *mode = NULL;

        ck_assert_int_eq(openrc_cgroup_mode_parse("#rc_cgroup_mode=\"hybrid\"\nrc_cgroup_mode=\"unified\"\n", &mode), 0);
        ck_assert_str_eq(mode, "unified");
        ck_assert_int_eq(openrc_cgroup_mode_parse("  rc_cgroup_mode='legacy' # old\nx=1", &mode), 0);
        ck_assert_str_eq(mode, "legacy");
        ck_assert_int_eq(openrc_cgroup_mode_parse("rc_cgroup_mode=unified\nrc_cgroup_mode=hybrid", &mode), 0);
        ck_assert_str_eq(mode, "hybrid");
        ck_assert_int_eq(openrc_cgroup_mode_parse("# rc_cgroup_mode=\"unified\"\n\n", &mode), -ENODATA);
        ck_assert_int_eq(openrc_cgroup_mode_parse("", &mode), -ENODATA);
        ck_assert_int_eq(openrc_cgroup_mode_parse("rc_cgroup_mode=\"unified\nfoo\"\n", &mode), -EINVAL);
        ck_assert_int_eq(openrc_cgroup_mode_parse("rc_cgroup_mode=\"$MODE\"\n", &mode), -EINVAL);
        ck_assert_int_eq(openrc_cgroup_mode_parse("rc_cgroup_mode=unifiedx\n", &mode), -EINVAL);
        ck_assert_int_eq(openrc_cgroup_mode_parse("rc_cgroup_mode=\n", &mode), -EINVAL);
        /* A bad line earlier does not outlive a good one after it, nor the reverse. */
        ck_assert_int_eq(openrc_cgroup_mode_parse("rc_cgroup_mode=bad\nrc_cgroup_mode=legacy\n", &mode), 0);
        ck_assert_int_eq(openrc_cgroup_mode_parse("rc_cgroup_mode=legacy\nrc_cgroup_mode=bad\n", &mode), -EINVAL);
        ck_assert_int_eq(openrc_cgroup_mode_parse("xrc_cgroup_mode=legacy\n", &mode), -ENODATA);
}
END_TEST

Suite *distro_suite(void) {
        Suite *s = suite_create("distro");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_os_release);
        tcase_add_test(tc, test_fixes);
        tcase_add_test(tc, test_other_hosts);
        tcase_add_test(tc, test_openrc_cgroup_mode);
        suite_add_tcase(s, tc);
        return s;
}
