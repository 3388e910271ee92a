/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>

#include "rules.h"
#include "suites.h"

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

Suite *rules_suite(void) {
        Suite *s = suite_create("rules");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_table_matches_design);
        tcase_add_test(tc, test_all_pass);
        tcase_add_test(tc, test_cgroup_v1_host);
        tcase_add_test(tc, test_one_controller);
        tcase_add_test(tc, test_skip_and_warn);
        suite_add_tcase(s, tc);
        return s;
}
