/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "csr.h"
#include "suites.h"

/* A kubelet-serving CSR object as the API returns it: by user (in system:nodes unless not_node), subject CN and O,
 * subjectAltName san (OpenSSL's syntax), usages. */
static struct json_object *csr(const char *user, bool not_node, const char *cn, const char *o, const char *san,
                               const char *const *usages) {
        EVP_PKEY *key = EVP_EC_gen("P-256");
        X509_REQ *req = X509_REQ_new();
        X509_NAME *name = X509_NAME_new();
        STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
        X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
        BIO *bio = BIO_new(BIO_s_mem());
        struct json_object *c = json_object_new_object(), *spec = json_object_new_object(),
                           *groups = json_object_new_array(), *u = json_object_new_array(), *meta = json_object_new_object();
        char *pem, *b64;
        long len;

        ck_assert_ptr_nonnull(key);
        ck_assert_ptr_nonnull(ext);
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *) o, -1, -1, 0);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *) cn, -1, -1, 0);
        X509_REQ_set_subject_name(req, name);
        X509_REQ_set_pubkey(req, key);
        sk_X509_EXTENSION_push(exts, ext);
        X509_REQ_add_extensions(req, exts);
        ck_assert_int_gt(X509_REQ_sign(req, key, EVP_sha256()), 0);
        ck_assert_int_eq(PEM_write_bio_X509_REQ(bio, req), 1);
        len = BIO_get_mem_data(bio, &pem);
        b64 = base64_encode(pem, (size_t) len, BASE64_STD);
        ck_assert_ptr_nonnull(b64);
        json_object_object_add(meta, "name", json_object_new_string("csr-test"));
        json_object_object_add(c, "metadata", meta);
        json_object_object_add(spec, "username", json_object_new_string(user));
        json_object_array_add(groups, json_object_new_string(not_node ? "system:authenticated" : "system:nodes"));
        json_object_object_add(spec, "groups", groups);
        json_object_object_add(spec, "request", json_object_new_string(b64));
        json_object_object_add(spec, "signerName", json_object_new_string("kubernetes.io/kubelet-serving"));
        for (; *usages; usages++)
                json_object_array_add(u, json_object_new_string(*usages));
        json_object_object_add(spec, "usages", u);
        json_object_object_add(c, "spec", spec);
        free(b64);
        BIO_free(bio);
        sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
        X509_NAME_free(name);
        X509_REQ_free(req);
        EVP_PKEY_free(key);
        return c;
}

/* Two Nodes: b at 10.0.0.2, a at 10.0.0.1. */
static struct json_object *nodes(void) {
        static const char text[] =
                "[{\"metadata\":{\"name\":\"a\"},\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"10.0.0.1\"},"
                "{\"type\":\"Hostname\",\"address\":\"a\"}]}},"
                "{\"metadata\":{\"name\":\"b\"},\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"10.0.0.2\"},"
                "{\"type\":\"Hostname\",\"address\":\"b\"}]}}]";

        return json_tokener_parse(text);
}

static int judge(struct json_object *c, char *why, size_t size) {
        struct json_object *n = nodes();
        int r = csr_kubelet_serving_judge(c, n, why, size);

        json_object_put(n);
        json_object_put(c);
        return r;
}

START_TEST(test_kubelet_serving_judge) {
        static const char *const serving[] = { "digital signature", "server auth", NULL };
        static const char *const rsa[] = { "digital signature", "key encipherment", "server auth", NULL };
        static const char *const client[] = { "digital signature", "client auth", NULL };
        static const char *const no_server[] = { "digital signature", NULL };
        char why[256];

        /* What a kubelet asks for: its name and its own address. */
        ck_assert_int_eq(judge(csr("system:node:b", false, "system:node:b", "system:nodes", "DNS:b,IP:10.0.0.2", serving),
                               why, sizeof why), 0);
        ck_assert_int_eq(judge(csr("system:node:b", false, "system:node:b", "system:nodes", "DNS:b", rsa), why, sizeof why), 0);
        /* Another node's address, name or identity. */
        ck_assert_int_eq(judge(csr("system:node:b", false, "system:node:b", "system:nodes", "DNS:b,IP:10.0.0.1", serving),
                               why, sizeof why), -EPERM);
        ck_assert_str_eq(why, "IP address 10.0.0.1 is Node a's");
        ck_assert_int_eq(judge(csr("system:node:b", false, "system:node:b", "system:nodes", "IP:192.0.2.1", serving),
                               why, sizeof why), -EPERM);
        ck_assert_str_eq(why, "IP address 192.0.2.1 is not among Node b's addresses");
        ck_assert_int_eq(judge(csr("system:node:b", false, "system:node:b", "system:nodes", "DNS:a", serving), why, sizeof why),
                         -EPERM);
        ck_assert_str_eq(why, "DNS name a is not the node's name");
        ck_assert_int_eq(judge(csr("system:node:b", false, "system:node:a", "system:nodes", "DNS:b", serving), why, sizeof why),
                         -EPERM);
        ck_assert_int_eq(judge(csr("system:node:b", false, "system:node:b", "system:masters", "DNS:b", serving), why, sizeof why),
                         -EPERM);
        /* Names of other kinds, other uses, other requesters. */
        ck_assert_int_eq(judge(csr("system:node:b", false, "system:node:b", "system:nodes", "DNS:b,URI:spiffe://x/y", serving),
                               why, sizeof why), -EPERM);
        ck_assert_int_eq(judge(csr("system:node:b", false, "system:node:b", "system:nodes", "DNS:b", client), why, sizeof why),
                         -EPERM);
        ck_assert_int_eq(judge(csr("system:node:b", false, "system:node:b", "system:nodes", "DNS:b", no_server), why, sizeof why),
                         -EPERM);
        ck_assert_int_eq(judge(csr("system:node:b", true, "system:node:b", "system:nodes", "DNS:b", serving), why, sizeof why),
                         -EPERM);
        ck_assert_int_eq(judge(csr("alice", false, "system:node:b", "system:nodes", "DNS:b", serving), why, sizeof why), -EPERM);
        /* A node not registered yet: later. */
        ck_assert_int_eq(judge(csr("system:node:c", false, "system:node:c", "system:nodes", "DNS:c", serving), why, sizeof why),
                         -EAGAIN);
}
END_TEST

Suite *csr_suite(void) {
        Suite *s = suite_create("csr");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_kubelet_serving_judge);
        suite_add_tcase(s, tc);
        return s;
}
