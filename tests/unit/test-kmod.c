/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmod.h"
#include "suites.h"
#include "tree.h"

START_TEST(test_proc_modules) {
        const char *m = "br_netfilter 32768 0 - Live 0x0000000000000000\n"
                        "bridge 311296 1 br_netfilter, Live 0x0000000000000000\n"
                        "nf_tables 299008 0 - Live 0x0000000000000000\n";

        ck_assert(kmod_proc_modules_has(m, "br_netfilter"));
        ck_assert(kmod_proc_modules_has(m, "br-netfilter"));
        ck_assert(kmod_proc_modules_has(m, "nf_tables"));
        ck_assert(!kmod_proc_modules_has(m, "br"));
        ck_assert(!kmod_proc_modules_has(m, "netfilter"));
        ck_assert(!kmod_proc_modules_has(m, "vxlan"));
        ck_assert(!kmod_proc_modules_has("", "vxlan"));
        ck_assert(!kmod_proc_modules_has("\n\n   \n", "vxlan"));
        ck_assert(!kmod_proc_modules_has("vxlan\0 1 0 - Live\n", "vx"));
}
END_TEST

START_TEST(test_module_lists) {
        const char *dep = "kernel/net/bridge/br_netfilter.ko.xz: kernel/net/bridge/bridge.ko.xz kernel/net/llc/llc.ko.xz\n"
                          "kernel/net/ipv4/netfilter/iptable_nat.ko.zst: kernel/net/netfilter/nf_nat.ko.zst\n"
                          "kernel/drivers/net/vxlan/vxlan.ko:\n"
                          "kernel/fs/overlayfs/overlay.ko.gz:\n";
        const char *builtin = "kernel/net/ipv4/netfilter/ip_tables.ko\nkernel/drivers/net/tun.ko\n";

        ck_assert(kmod_list_has(dep, "br_netfilter"));
        ck_assert(kmod_list_has(dep, "iptable_nat"));
        ck_assert(kmod_list_has(dep, "vxlan"));
        ck_assert(kmod_list_has(dep, "overlay"));
        /* A dependency on the right of ':' is not the module itself. */
        ck_assert(!kmod_list_has(dep, "bridge"));
        ck_assert(!kmod_list_has(dep, "nf_nat"));
        ck_assert(!kmod_list_has(dep, "iptable"));
        ck_assert(kmod_list_has(builtin, "ip_tables"));
        ck_assert(kmod_list_has(builtin, "tun"));
        ck_assert(!kmod_list_has(builtin, "tu"));
        ck_assert(!kmod_list_has("kernel/x/tun.kox\nkernel/x/tun\ntun.ko", "tu"));
        ck_assert(kmod_list_has("tun.ko", "tun"));
        ck_assert(!kmod_list_has("", "tun"));
        ck_assert(!kmod_list_has(":\n::\n/\n.ko\n", "tun"));
}
END_TEST

START_TEST(test_kconfig) {
        const char *cfg = "#\n# Automatically generated file; DO NOT EDIT.\n"
                          "CONFIG_VXLAN=m\nCONFIG_VXLAN_EXTRA=y\nCONFIG_TUN=y\n# CONFIG_NF_TABLES is not set\n"
                          "CONFIG_IP_NF_NAT=\"y\"\nCONFIG_OVERLAY_FS=yy\n";

        ck_assert_int_eq(kconfig_value(cfg, "CONFIG_VXLAN"), 'm');
        ck_assert_int_eq(kconfig_value(cfg, "CONFIG_TUN"), 'y');
        ck_assert_int_eq(kconfig_value(cfg, "CONFIG_NF_TABLES"), 'n');
        ck_assert_int_eq(kconfig_value(cfg, "CONFIG_IP_NF_NAT"), 'n');
        ck_assert_int_eq(kconfig_value(cfg, "CONFIG_OVERLAY_FS"), 'n');
        ck_assert_int_eq(kconfig_value(cfg, "CONFIG_ABSENT"), 'n');
        ck_assert_int_eq(kconfig_value(cfg, "CONFIG_VXLAN_EXTRA"), 'y');
        ck_assert_int_eq(kconfig_value("", "CONFIG_TUN"), 'n');
}
END_TEST

START_TEST(test_lookup_root) {
        char root[TREE_PATH_MAX];
        struct host h = { .root_fd = -1 };
        struct kmod_db db;
        struct kmod_info info;

        tree_make(root, "kmod");
        tree_put(root, "/proc/modules", "br_netfilter 32768 0 - Live 0x0\n");
        tree_put(root, "/lib/modules/6.1.0-9-amd64/modules.builtin", "kernel/fs/overlayfs/overlay.ko\n");
        tree_put(root, "/lib/modules/6.1.0-9-amd64/modules.dep", "kernel/drivers/net/vxlan/vxlan.ko.xz: x.ko\n");
        tree_put(root, "/boot/config-6.1.0-9-amd64", "CONFIG_NF_TABLES=y\nCONFIG_IP_NF_NAT=m\n");
        tree_put(root, "/sys/module/ip_tables/initstate", "live\n");
        tree_put(root, "/sys/module/tun/parameters/x", "");
        ck_assert_int_eq(host_init(&h, root, NULL), 0);
        kmod_db_init(&db, &h, "6.1.0-9-amd64");
        ck_assert_int_eq(kmod_lookup(&db, "br_netfilter", "CONFIG_BRIDGE_NETFILTER", &info), 0);
        ck_assert_int_eq(info.state, KMOD_LOADED);
        ck_assert_int_eq(kmod_lookup(&db, "overlay", "CONFIG_OVERLAY_FS", &info), 0);
        ck_assert_int_eq(info.state, KMOD_BUILTIN);
        ck_assert_int_eq(kmod_lookup(&db, "vxlan", "CONFIG_VXLAN", &info), 0);
        ck_assert_int_eq(info.state, KMOD_AVAILABLE);
        ck_assert_int_eq(kmod_lookup(&db, "nf_tables", "CONFIG_NF_TABLES", &info), 0);
        ck_assert_int_eq(info.state, KMOD_BUILTIN);
        ck_assert_str_eq(info.source, "CONFIG_NF_TABLES=y in /boot/config-RELEASE");
        ck_assert_int_eq(kmod_lookup(&db, "iptable_nat", "CONFIG_IP_NF_NAT", &info), 0);
        ck_assert_int_eq(info.state, KMOD_ABSENT);
        ck_assert_int_eq(kmod_lookup(&db, "ip_tables", NULL, &info), 0);
        ck_assert_int_eq(info.state, KMOD_LOADED);
        ck_assert_int_eq(kmod_lookup(&db, "tun", NULL, &info), 0);
        ck_assert_int_eq(info.state, KMOD_BUILTIN);
        kmod_db_done(&db);
        host_done(&h);
        tree_remove(root);
}
END_TEST

START_TEST(test_load_list) {
        const char *conf = "# modules for the node\n; old comment\noverlay\n  br-netfilter  \nvxlan # not a comment\n"
                           "nf_tables\r\n";

        ck_assert(kmod_load_list_has(conf, "overlay"));
        ck_assert(kmod_load_list_has(conf, "br_netfilter"));
        ck_assert(kmod_load_list_has(conf, "nf_tables"));
        ck_assert(!kmod_load_list_has(conf, "vxlan"));          /* modules-load.d has no trailing comments */
        ck_assert(!kmod_load_list_has(conf, "modules"));
        ck_assert(!kmod_load_list_has(conf, "over"));
        ck_assert(!kmod_load_list_has("#overlay\n", "overlay"));
        ck_assert(!kmod_load_list_has("", "overlay"));
}
END_TEST

/* The one list: what setup writes is what kmod.<name> wants (six, nf_tables among them). */
START_TEST(test_needs) {
        size_t n;
        const struct kmod_need *needs = kmod_needs(&n);
        bool nf_tables = false;

        ck_assert_uint_eq(n, 6);
        for (size_t i = 0; i < n; i++) {
                ck_assert_ptr_nonnull(needs[i].config);
                ck_assert_ptr_nonnull(needs[i].why);
                nf_tables = nf_tables || strcmp(needs[i].name, "nf_tables") == 0;
        }
        ck_assert(nf_tables);
}
END_TEST

START_TEST(test_load_listed_root) {
        char root[TREE_PATH_MAX], *file = NULL;
        struct host h = { .root_fd = -1 };

        tree_make(root, "kmodload");
        tree_put(root, "/usr/lib/modules-load.d/usernode.conf", "vxlan\n");
        tree_put(root, "/etc/modules-load.d/usernode.conf", "overlay\n");   /* masks the one in /usr/lib */
        tree_put(root, "/lib/modules-load.d/zz.conf", "nf_tables\n");
        tree_put(root, "/etc/modules-load.d/notconf", "iptable_nat\n");
        ck_assert_int_eq(host_init(&h, root, NULL), 0);
        ck_assert_int_eq(kmod_load_listed(&h, "overlay", &file), 1);
        ck_assert_str_eq(file, "/etc/modules-load.d/usernode.conf");
        free(file);
        ck_assert_int_eq(kmod_load_listed(&h, "nf_tables", NULL), 1);
        ck_assert_int_eq(kmod_load_listed(&h, "vxlan", NULL), 0);
        ck_assert_int_eq(kmod_load_listed(&h, "iptable_nat", NULL), 0);
        host_done(&h);
        tree_remove(root);
}
END_TEST

Suite *kmod_suite(void) {
        Suite *s = suite_create("kmod");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_proc_modules);
        tcase_add_test(tc, test_module_lists);
        tcase_add_test(tc, test_kconfig);
        tcase_add_test(tc, test_lookup_root);
        tcase_add_test(tc, test_load_list);
        tcase_add_test(tc, test_needs);
        tcase_add_test(tc, test_load_listed_root);
        suite_add_tcase(s, tc);
        return s;
}
