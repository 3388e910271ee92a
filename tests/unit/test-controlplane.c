/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "controlplane.h"
#include "kubeadm-init.h"
#include "suites.h"
#include "util.h"

START_TEST(test_service_ip) {
        char buf[16];

        ck_assert_int_eq(controlplane_service_ip("10.43.0.0/16", 1, buf, sizeof buf), 0);
        ck_assert_str_eq(buf, "10.43.0.1");
        ck_assert_int_eq(controlplane_service_ip("10.96.0.0/12", 10, buf, sizeof buf), 0);
        ck_assert_str_eq(buf, "10.96.0.10");
        /* Host bits in the CIDR do not move the network (the API server masks them too). */
        ck_assert_int_eq(controlplane_service_ip("10.43.7.9/16", 1, buf, sizeof buf), 0);
        ck_assert_str_eq(buf, "10.43.0.1");
        ck_assert_int_eq(controlplane_service_ip("10.43.0.0/30", 3, buf, sizeof buf), -ERANGE);
        ck_assert_int_eq(controlplane_service_ip("10.43.0.0/16", 0, buf, sizeof buf), -ERANGE);
        ck_assert_int_eq(controlplane_service_ip("10.96.0.0", 1, buf, sizeof buf), -EINVAL);
        ck_assert_int_eq(controlplane_service_ip("10.96.0.0/33", 1, buf, sizeof buf), -EINVAL);
        ck_assert_int_eq(controlplane_service_ip("bogus/16", 1, buf, sizeof buf), -EINVAL);
        ck_assert_int_eq(controlplane_service_ip("10.96.0.0/16", 1, buf, 4), -ENOSPC);
}
END_TEST

static bool has(char **argv, const char *arg) {
        return strv_contains(argv, arg);
}

START_TEST(test_argv) {
        const struct controlplane cp = {
                .pki_dir = "/d/pki", .etcd_dir = "/d/etcd", .conf_dir = "/r/cp", .node_name = "n1",
                .advertise_ip = "10.41.0.100", .service_cidr = "10.43.0.0/16",
        };
        struct un_error err = {};
        char **a = NULL;

        ck_assert_int_eq(controlplane_argv(&cp, CONTROLPLANE_APISERVER, &a, &err), 0);
        ck_assert_str_eq(a[0], "kube-apiserver");
        ck_assert(has(a, "--advertise-address=10.41.0.100"));
        ck_assert(has(a, "--service-cluster-ip-range=10.43.0.0/16"));
        ck_assert(has(a, "--tls-cert-file=/d/pki/apiserver.crt"));
        ck_assert(has(a, "--etcd-certfile=/d/pki/apiserver-etcd-client.crt"));
        ck_assert(has(a, "--authorization-mode=Node,RBAC"));
        strv_free(a);
        a = NULL;
        /* etcd: client certificates required, only loopback. */
        ck_assert_int_eq(controlplane_argv(&cp, CONTROLPLANE_ETCD, &a, &err), 0);
        ck_assert_str_eq(a[0], "etcd");
        ck_assert(has(a, "--client-cert-auth=true"));
        ck_assert(has(a, "--listen-client-urls=https://127.0.0.1:2379"));
        ck_assert(has(a, "--data-dir=/d/etcd"));
        strv_free(a);
        a = NULL;
        ck_assert_int_eq(controlplane_argv(&cp, CONTROLPLANE_CONTROLLER_MANAGER, &a, &err), 0);
        ck_assert(has(a, "--kubeconfig=/r/cp/controller-manager.conf"));
        ck_assert(!has(a, "--allocate-node-cidrs=true"));
        ck_assert(has(a, "--controllers=*,bootstrapsigner,tokencleaner"));
        ck_assert(has(a, "--secure-port=0"));
        strv_free(a);
        a = NULL;
        ck_assert_int_eq(controlplane_argv(&cp, CONTROLPLANE_SCHEDULER, &a, &err), 0);
        /* No serving port: no RSA keys made at each start, no delegated authentication to set up. */
        ck_assert(has(a, "--secure-port=0"));
        ck_assert(!has(a, "--authentication-kubeconfig=/r/cp/scheduler.conf"));
        strv_free(a);
        ck_assert_int_eq(controlplane_argv(&cp, _CONTROLPLANE_MAX, &a, &err), -EINVAL);
}
END_TEST

START_TEST(test_token_generate) {
        struct join_token a, b, parsed;
        char text[32];

        ck_assert_int_eq(clusterinit_token_generate(&a), 0);
        ck_assert_int_eq(clusterinit_token_generate(&b), 0);
        ck_assert_uint_eq(strlen(a.id), 6);
        ck_assert_uint_eq(strlen(a.secret), 16);
        ck_assert(strcmp(a.secret, b.secret) != 0);
        /* What kubeadm's parser accepts. */
        snprintf(text, sizeof text, "%s.%s", a.id, a.secret);
        ck_assert_int_eq(join_token_parse(text, &parsed), 0);
        ck_assert_str_eq(parsed.id, a.id);
}
END_TEST

Suite *controlplane_suite(void) {
        Suite *s = suite_create("controlplane");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_service_ip);
        tcase_add_test(tc, test_argv);
        tcase_add_test(tc, test_token_generate);
        suite_add_tcase(s, tc);
        return s;
}
