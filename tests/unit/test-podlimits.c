/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <json-c/json.h>

#include "podlimits.h"
#include "suites.h"
#include "util.h"

START_TEST(test_unenforced_from_labels) {
        char *none[] = { (char *) "usernode.io/limits.memory=available", (char *) "usernode.io/limits.cpu=available", NULL };
        char *v1[] = { (char *) "usernode.io/limits.pids=unavailable", (char *) "usernode.io/limits.memory=unavailable",
                       (char *) "usernode.io/limits.cpu=unavailable", NULL };
        char *cpu[] = { (char *) "usernode.io/limits.memory=available", (char *) "usernode.io/limits.cpu=unavailable", NULL };
        char *other[] = { (char *) "example.io/limits.memory=unavailable", (char *) "usernode.io/limits.memory=unavailablex", NULL };

        ck_assert_uint_eq(pod_limits_unenforced(NULL), 0);
        ck_assert_uint_eq(pod_limits_unenforced(none), 0);
        ck_assert_uint_eq(pod_limits_unenforced(v1), POD_LIMIT_MEMORY | POD_LIMIT_CPU);
        ck_assert_uint_eq(pod_limits_unenforced(cpu), POD_LIMIT_CPU);
        ck_assert_uint_eq(pod_limits_unenforced(other), 0);
}
END_TEST

START_TEST(test_labels_without_cgroups) {
        char **l = NULL;

        ck_assert_int_ge(strv_split("usernode.io/limits.memory=available\nusernode.io/limits.cpu=degraded\n"
                                    "usernode.io/limits.pids=available\nusernode.io/ports.privileged=available\n"
                                    "example.io/limits.memory=available", "\n", &l), 0);
        ck_assert_int_eq(pod_limits_labels_without_cgroups(l), 0);
        ck_assert_str_eq(l[0], "usernode.io/limits.memory=unavailable");
        ck_assert_str_eq(l[1], "usernode.io/limits.cpu=unavailable");
        /* Only the limits the node tells pods of; the rest as the host is. */
        ck_assert_str_eq(l[3], "usernode.io/ports.privileged=available");
        ck_assert_str_eq(l[4], "example.io/limits.memory=available");
        ck_assert_uint_eq(pod_limits_unenforced(l), POD_LIMIT_MEMORY | POD_LIMIT_CPU);
        strv_free(l);
        ck_assert_int_eq(pod_limits_labels_without_cgroups(NULL), 0);
}
END_TEST

static unsigned limits_of(const char *json, unsigned mask) {
        struct json_object *pod = json_tokener_parse(json);
        unsigned set;

        ck_assert_ptr_nonnull(pod);
        set = pod_limits_set(pod, mask);
        json_object_put(pod);
        return set;
}

START_TEST(test_pod_limits_set) {
        const unsigned both = POD_LIMIT_MEMORY | POD_LIMIT_CPU;

        ck_assert_uint_eq(limits_of("{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}", both), 0);
        /* Requests are not limits. */
        ck_assert_uint_eq(limits_of("{\"spec\":{\"containers\":[{\"resources\":{\"requests\":{\"memory\":\"1Gi\"}}}]}}", both), 0);
        ck_assert_uint_eq(limits_of("{\"spec\":{\"containers\":[{\"resources\":{\"limits\":{\"memory\":\"64Mi\"}}}]}}", both),
                          POD_LIMIT_MEMORY);
        /* Only what the host cannot enforce counts. */
        ck_assert_uint_eq(limits_of("{\"spec\":{\"containers\":[{\"resources\":{\"limits\":{\"memory\":\"64Mi\"}}}]}}",
                                    POD_LIMIT_CPU), 0);
        /* Any container, init containers included. */
        ck_assert_uint_eq(limits_of("{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"resources\":{\"limits\":{\"cpu\":\"1\"}}}],"
                                    "\"initContainers\":[{\"resources\":{\"limits\":{\"memory\":\"1Gi\"}}}]}}", both), both);
        /* Hostile shapes are no limits. */
        ck_assert_uint_eq(limits_of("{\"spec\":{\"containers\":{\"resources\":{\"limits\":{\"cpu\":\"1\"}}}}}", both), 0);
        ck_assert_uint_eq(limits_of("{\"spec\":{\"containers\":[1,\"x\",{\"resources\":[]}]}}", both), 0);
        ck_assert_uint_eq(limits_of("[]", both), 0);
}
END_TEST

Suite *podlimits_suite(void) {
        Suite *s = suite_create("podlimits");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_unenforced_from_labels);
        tcase_add_test(tc, test_pod_limits_set);
        tcase_add_test(tc, test_labels_without_cgroups);
        suite_add_tcase(s, tc);
        return s;
}
