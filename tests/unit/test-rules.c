/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "rules.h"
#include "suites.h"
#include "util.h"

/* DESIGN.md's feature list: the table must have exactly these, in this order. */
static const char *const design_features[] = {
        "pods", "limits.cpu", "limits.memory", "limits.pids", "limits.io", "limits.cpuset",
        "limits.hugepages", "limits.swap", "ports.privileged", "service.nodeport",
        "service.loadbalancer", "network.source-ip", "network.host-loopback", "network.ipv6",
        "network.multi-node", "network.icmp", "storage.overlayfs", "storage.block-volumes",
        "pods.privileged", "pods.host-network", "pods.sysctls", "security.apparmor",
        "security.selinux", "events.oom", "storage.ephemeral-isolation", "devices",
};

static const struct feature_result *find(const struct feature_result *f, const char *id) {
        for (size_t i = 0; i < rules_count(); i++)
                if (strcmp(f[i].id, id) == 0)
                        return &f[i];
        ck_abort_msg("no feature %s", id);
        return NULL;
}

static bool has_reason(const struct feature_result *f, const char *id) {
        for (size_t i = 0; f->reason[i]; i++)
                if (strcmp(f->reason[i], id) == 0)
                        return true;
        return false;
}

/* A report where every check the rules name passes. */
static void all_pass(struct report *r) {
        for (const char *const *id = rules_check_ids(); *id; id++)
                ck_assert_int_eq(report_add(r, *id, CHECK_PASS, NULL, "ok"), 0);
}

static void set_status(struct report *r, const char *id, enum check_status s) {
        for (size_t i = 0; i < r->n_checks; i++)
                if (strcmp(r->checks[i].id, id) == 0)
                        r->checks[i].status = s;
}

START_TEST(test_table_matches_design) {
        ck_assert_uint_eq(rules_count(), ELEMENTSOF(design_features));
        for (size_t i = 0; i < ELEMENTSOF(design_features); i++)
                ck_assert_str_eq(rules_feature_id(i), design_features[i]);
}
END_TEST

START_TEST(test_all_pass) {
        struct report r = {};
        struct feature_result f[64];

        all_pass(&r);
        ck_assert_int_eq(rules_evaluate(&r, f), 0);
        ck_assert_int_eq(find(f, "pods")->status, FEATURE_AVAILABLE);
        ck_assert_int_eq(find(f, "limits.cpu")->status, FEATURE_AVAILABLE);
        ck_assert_ptr_null(find(f, "limits.cpu")->reason[0]);
        /* Limits of rootless mode itself stay whatever the host does. */
        ck_assert_int_eq(find(f, "storage.block-volumes")->status, FEATURE_UNAVAILABLE);
        ck_assert(has_reason(find(f, "storage.block-volumes"), REASON_ROOTLESS));
        ck_assert_int_eq(find(f, "pods.privileged")->status, FEATURE_DEGRADED);
        report_done(&r);
}
END_TEST

START_TEST(test_cgroup_v1_host) {
        struct report r = {};
        struct feature_result f[64];

        all_pass(&r);
        set_status(&r, "cgroup.v2", CHECK_FAIL);
        ck_assert_int_eq(rules_evaluate(&r, f), 0);
        for (size_t i = 0; i < rules_count(); i++)
                if (strncmp(f[i].id, "limits.", 7) == 0) {
                        ck_assert_int_eq(f[i].status, FEATURE_UNAVAILABLE);
                        ck_assert(has_reason(&f[i], "cgroup.v2"));
                }
        ck_assert_int_eq(find(f, "pods")->status, FEATURE_DEGRADED);
        ck_assert_int_eq(find(f, "events.oom")->status, FEATURE_UNAVAILABLE);
        report_done(&r);
}
END_TEST

START_TEST(test_one_controller) {
        struct report r = {};
        struct feature_result f[64];

        all_pass(&r);
        set_status(&r, "cgroup.controller.cpuset", CHECK_FAIL);
        set_status(&r, "cgroup.controller.hugetlb", CHECK_WARN);
        ck_assert_int_eq(rules_evaluate(&r, f), 0);
        ck_assert_int_eq(find(f, "limits.cpuset")->status, FEATURE_UNAVAILABLE);
        ck_assert_int_eq(find(f, "limits.hugepages")->status, FEATURE_UNAVAILABLE);
        ck_assert_int_eq(find(f, "limits.cpu")->status, FEATURE_AVAILABLE);
        ck_assert_int_eq(find(f, "limits.memory")->status, FEATURE_AVAILABLE);
        report_done(&r);
}
END_TEST

START_TEST(test_skip_and_warn) {
        struct report r = {};
        struct feature_result f[64];

        all_pass(&r);
        set_status(&r, "fs.overlay", CHECK_WARN);
        set_status(&r, "net.tun", CHECK_SKIP);
        ck_assert_int_eq(rules_evaluate(&r, f), 0);
        ck_assert_int_eq(find(f, "storage.overlayfs")->status, FEATURE_DEGRADED);
        ck_assert(has_reason(find(f, "storage.overlayfs"), "fs.overlay"));
        ck_assert_int_eq(find(f, "pods")->status, FEATURE_AVAILABLE);
        set_status(&r, "subid.uid", CHECK_FAIL);
        ck_assert_int_eq(rules_evaluate(&r, f), 0);
        ck_assert_int_eq(find(f, "pods")->status, FEATURE_UNAVAILABLE);
        ck_assert(has_reason(find(f, "pods"), "subid.uid"));
        report_done(&r);
}
END_TEST

/* A rule naming a check the registry does not know would never apply: every one is known. */
START_TEST(test_rules_name_registered_checks) {
        for (const char *const *id = rules_check_ids(); *id; id++)
                ck_assert_msg(check_id_known(*id), "rules.c names %s, which no check reports", *id);
}
END_TEST

START_TEST(test_check_registry) {
        _cleanup_strv_free_ char **ids = NULL;
        struct report r = {};

        ck_assert_int_eq(check_ids_list(&ids), 0);
        /* Families expand from their modules' tables. */
        ck_assert(strv_contains(ids, "cgroup.controller.hugetlb"));
        ck_assert(strv_contains(ids, "kmod.vxlan"));
        ck_assert(!strv_contains(ids, "kmod.*"));
        for (char **id = ids; *id; id++) {
                ck_assert_msg(check_id_known(*id), "%s listed but not known", *id);
                for (char **other = id + 1; *other; other++)
                        ck_assert_msg(strcmp(*id, *other) != 0, "%s listed twice", *id);
        }
        ck_assert(!check_id_known("kmod.no_such_module"));
        ck_assert(!check_id_known("kmod."));
        ck_assert(!check_id_known("cgroup.controller.rdma"));
        /* An ID outside the registry cannot get into a report. */
        ck_assert_int_eq(report_add(&r, "no.such.check", CHECK_PASS, NULL, "ok"), -EINVAL);
        ck_assert_uint_eq(r.n_checks, 0);
        report_done(&r);
}
END_TEST

Suite *rules_suite(void) {
        Suite *s = suite_create("rules");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_table_matches_design);
        tcase_add_test(tc, test_all_pass);
        tcase_add_test(tc, test_cgroup_v1_host);
        tcase_add_test(tc, test_one_controller);
        tcase_add_test(tc, test_skip_and_warn);
        tcase_add_test(tc, test_rules_name_registered_checks);
        tcase_add_test(tc, test_check_registry);
        suite_add_tcase(s, tc);
        return s;
}
