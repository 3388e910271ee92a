/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "join.h"
#include "suites.h"
#include "yamljson.h"

/* A self-signed CA and its kubeadm pin (openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256sum). */
static const char ca_pem[] =
        "-----BEGIN CERTIFICATE-----\n"
        "MIIC/zCCAeegAwIBAgIUBNwCtsthqC6UpCpQs1I5LgDeQbswDQYJKoZIhvcNAQEL\n"
        "BQAwDzENMAsGA1UEAwwEc2VlZDAeFw0yNjExMjkxODA4MzlaFw0yNjExMzAxODA4\n"
        "MzlaMA8xDTALBgNVBAMMBHNlZWQwggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEK\n"
        "AoIBAQCT9Tab6sKLTXatCzhPaZWnQ9+ncURKyvjGmdfSU834J698GAlsmI7Fe4M3\n"
        "LtZYvw9sNtzerWRW7JOj8nBkn7WPtmPuq+SALhGl4emVsVMbmDgwH2vsMnurm4QZ\n"
        "F77VvioE7FfmHP89PLViGv75HFD0Omv/J9INot5WB9KJB8W0z37yOvTe6wYgjd/S\n"
        "Fp3hCrPhpGGOcaYgY5hdSyB9mGu6ydbqUzFNApFRgYm8gffdhGaUsI+JiZqGILDe\n"
        "G5txjCvjutXgMqkOBE7+vG0ur68EhGfyIrYHHrJD0AucD7qSEGrL2oCtXAMojXSI\n"
        "Go0PZkeNWmC60vCVQ63TSLWEXPqxAgMBAAGjUzBRMB0GA1UdDgQWBBTGvgjSnQpi\n"
        "w1oaPl3JlhRtMG+dsjAfBgNVHSMEGDAWgBTGvgjSnQpiw1oaPl3JlhRtMG+dsjAP\n"
        "BgNVHRMBAf8EBTADAQH/MA0GCSqGSIb3DQEBCwUAA4IBAQA7VEhYe0Va6phXVGly\n"
        "BFayb8fXGF2ul3iWn5eUNOFvk2IaLvz/RXj3XLQG8+i3Qolv0ChEL31JJmuuGvpB\n"
        "POr9vQnBJbI0xdsx3NaHjhsLybV+peItVHjv7d30H3dSlQhQqDtVPWyg1wu5EmBq\n"
        "APe4Uxk389filtjzhjNnnrZVWS/SR/SOFMMeRIN53KEKkmckoq1pAu98nIv36ryT\n"
        "FHhhsvLGCIYhqJT+aPi4LKO5amRRjb8CkaPrM0lwrEuRD8bwrAZdSw97Ug6eqpH6\n"
        "4rMkX8JzeDJEiLEBUKcT+3Rsr0HiQJOANgWOubabniVEJSQ+WpSnZftyaxpgqlAG\n"
        "+J++\n"
        "-----END CERTIFICATE-----\n"
        ;
static const char ca_pin[] = "sha256:3bc183ee1e4501526b51e0d0b0358701c7751535fa3d584cd8b10f6570b21e85";

START_TEST(test_token_parse) {
        struct join_token t;

        ck_assert_int_eq(join_token_parse("abcdef.0123456789abcdef", &t), 0);
        ck_assert_str_eq(t.id, "abcdef");
        ck_assert_str_eq(t.secret, "0123456789abcdef");
        ck_assert_int_eq(join_token_parse("ABCDEF.0123456789abcdef", &t), -EINVAL);
        ck_assert_int_eq(join_token_parse("abcdef.0123456789abcde", &t), -EINVAL);
        ck_assert_int_eq(join_token_parse("abcdef:0123456789abcdef", &t), -EINVAL);
        ck_assert_int_eq(join_token_parse("abcdef.0123456789abcdef ", &t), -EINVAL);
        ck_assert(join_token_k3s_pinned("K10" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                                        "::server:secret"));
        ck_assert(!join_token_k3s_pinned("K10abc::server:secret"));
        ck_assert(!join_token_k3s_pinned("secret"));
        ck_assert(!join_token_valid("a b"));
        ck_assert(!join_token_valid(""));
        ck_assert(join_token_valid("K10abc::server:x"));
}
END_TEST

START_TEST(test_pins) {
        struct join_pin p, *pins = NULL;
        char s[72];
        size_t n;

        ck_assert_int_eq(join_pin_parse(ca_pin, &p), 0);
        join_pin_format(&p, s);
        ck_assert_str_eq(s, ca_pin);
        ck_assert_int_eq(join_pin_parse("sha256:3BC183EE1E4501526B51E0D0B0358701C7751535FA3D584CD8B10F6570B21E85", &p), 0);
        ck_assert_int_eq(join_pin_parse("sha1:3bc183ee1e4501526b51e0d0b0358701c7751535", &p), -EINVAL);
        ck_assert_int_eq(join_pin_parse("sha256:3bc1", &p), -EINVAL);
        ck_assert_int_eq(join_pin_parse("sha256:zz" "c183ee1e4501526b51e0d0b0358701c7751535fa3d584cd8b10f6570b21e85", &p), -EINVAL);
        /* The pin is of the public key, as kubeadm computes it. */
        ck_assert_int_eq(join_pins_of_pem(ca_pem, &pins, &n), 0);
        ck_assert_uint_eq(n, 1);
        join_pin_format(&pins[0], s);
        ck_assert_str_eq(s, ca_pin);
        ck_assert(join_pem_matches(ca_pem, pins, 1));
        pins[0].sha256[0] ^= 1;
        ck_assert(!join_pem_matches(ca_pem, pins, 1));
        free(pins);
        ck_assert(join_pem_valid(ca_pem));
        ck_assert(!join_pem_valid("-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n"));
        ck_assert(!join_pem_valid(""));
}
END_TEST

/* What the bootstrapsigner writes for token abcdef.0123456789abcdef over this payload (go-jose's HS256,
 * computed with Python's hmac for this test). */
static const char payload[] = "apiVersion: v1\nclusters:\n- cluster:\n    server: https://10.0.0.1:6443\n";
static const char signature[] = "eyJhbGciOiJIUzI1NiIsImtpZCI6ImFiY2RlZiJ9..MbK8Yz5iPVy-zs8UMTgwvBSMwhcHLjW-6St4rX-ktx8";

START_TEST(test_jws) {
        struct join_token t, wrong;
        char *tampered;

        ck_assert_int_eq(join_token_parse("abcdef.0123456789abcdef", &t), 0);
        ck_assert_int_eq(join_jws_verify(signature, payload, &t), 0);
        /* Another secret, another payload, another kid: no. */
        ck_assert_int_eq(join_token_parse("abcdef.ffffffffffffffff", &wrong), 0);
        ck_assert_int_eq(join_jws_verify(signature, payload, &wrong), -EBADMSG);
        ck_assert_int_eq(join_jws_verify(signature, "apiVersion: v2\n", &t), -EBADMSG);
        ck_assert_int_eq(join_token_parse("zzzzzz.0123456789abcdef", &wrong), 0);
        ck_assert_int_eq(join_jws_verify(signature, payload, &wrong), -EINVAL);
        tampered = strdup(signature);
        tampered[strlen(tampered) - 2] ^= 1;
        ck_assert_int_eq(join_jws_verify(tampered, payload, &t), -EBADMSG);
        free(tampered);
        /* Not a detached JWS; "alg": "none". */
        ck_assert_int_eq(join_jws_verify("a.b.c", payload, &t), -EINVAL);
        ck_assert_int_eq(join_jws_verify("..x", payload, &t), -EINVAL);
        ck_assert_int_eq(join_jws_verify("eyJhbGciOiJub25lIiwia2lkIjoiYWJjZGVmIn0..", payload, &t), -EINVAL);
}
END_TEST

START_TEST(test_token_file) {
        char dir[] = "/tmp/test-join.XXXXXX", path[64];
        struct un_error err = {};
        char *token = NULL;
        int fd;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/token", dir);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, "abcdef.0123456789abcdef\n", 24), 24);
        close(fd);
        ck_assert_int_eq(join_token_read_file(path, &token, &err), 0);
        ck_assert_str_eq(token, "abcdef.0123456789abcdef");
        free(token);
        /* Readable by the group: refused, saying how to fix it. */
        ck_assert_int_eq(chmod(path, 0640), 0);
        ck_assert_int_eq(join_token_read_file(path, &token, &err), -EPERM);
        ck_assert_ptr_nonnull(strstr(err.msg, "chmod 600"));
        ck_assert_int_eq(unlink(path), 0);
        ck_assert_int_eq(mkfifo(path, 0600), 0);
        ck_assert_int_eq(join_token_read_file(path, &token, &err), -EINVAL);
        ck_assert_int_eq(unlink(path), 0);
        ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_yaml_to_json) {
        static const char text[] = "a: yes\nb: \"yes\"\nc: 10\nd: -3\ne: 0s\nf: ~\ng: [1, x]\nh: {k: 1.5}\ni: '0'\n";
        struct json_object *o = NULL;
        struct un_error err = {};

        ck_assert_int_eq(yaml_to_json("t", text, strlen(text), &o, &err), 0);
        ck_assert_str_eq(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                         "{\"a\":true,\"b\":\"yes\",\"c\":10,\"d\":-3,\"e\":\"0s\",\"f\":null,\"g\":[1,\"x\"],"
                         "\"h\":{\"k\":1.5},\"i\":\"0\"}");
        json_object_put(o);
        /* An alias could expand without bound: refused. */
        ck_assert_int_eq(yaml_to_json("t", "a: &x [1]\nb: *x\n", strlen("a: &x [1]\nb: *x\n"), &o, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.msg, "aliases"));
        ck_assert_int_eq(yaml_to_json("t", "a: [\n", 5, &o, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.msg, "t:"));
}
END_TEST

START_TEST(test_pod_subnet) {
        char *s = NULL;

        ck_assert_int_eq(join_pod_subnet_parse("apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\n"
                                               "networking:\n  podSubnet: 10.244.0.0/16\n  serviceSubnet: 10.96.0.0/12\n",
                                               &s), 0);
        ck_assert_str_eq(s, "10.244.0.0/16");
        free(s);
        /* Dual-stack: its IPv4 network, whichever comes first. */
        ck_assert_int_eq(join_pod_subnet_parse("networking:\n  podSubnet: \"fd00:10:244::/56, 10.245.0.0/16\"\n", &s), 0);
        ck_assert_str_eq(s, "10.245.0.0/16");
        free(s);
        /* kubeadm init without --pod-network-cidr: none. */
        ck_assert_int_eq(join_pod_subnet_parse("networking:\n  serviceSubnet: 10.96.0.0/12\n", &s), -ENOENT);
        ck_assert_int_eq(join_pod_subnet_parse("networking:\n  podSubnet: 10.244.0.1/16\n", &s), -ENOENT);
        ck_assert_int_eq(join_pod_subnet_parse("networking:\n  podSubnet: [1]\n", &s), -ENOENT);
        ck_assert_int_eq(join_pod_subnet_parse("- a list\n", &s), -EINVAL);
        ck_assert_int_eq(join_pod_subnet_parse("a: [\n", &s), -EINVAL);
}
END_TEST

Suite *join_suite(void) {
        Suite *s = suite_create("join");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_token_parse);
        tcase_add_test(tc, test_pins);
        tcase_add_test(tc, test_jws);
        tcase_add_test(tc, test_token_file);
        tcase_add_test(tc, test_yaml_to_json);
        tcase_add_test(tc, test_pod_subnet);
        suite_add_tcase(s, tc);
        return s;
}
