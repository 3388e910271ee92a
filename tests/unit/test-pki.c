/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "join.h"
#include "pki.h"
#include "suites.h"
#include "tree.h"

static char root[TREE_PATH_MAX];
static char dir[TREE_PATH_MAX + 8];

static void setup(void) {
        tree_make(root, "pki");
        snprintf(dir, sizeof dir, "%s/pki", root);
}

static void teardown(void) {
        tree_remove(root);
}

static char *const extra_ips[] = { "192.0.2.10", NULL };
static char *const extra_dns[] = { "node.example.org", NULL };
static const struct pki_request request = {
        .node_name = "node1",
        .service_cidr = "10.96.0.0/12",
        .extra_ips = extra_ips,
        .extra_dns = extra_dns,
};

static void ensure_ok(const struct pki_request *req) {
        struct un_error err = {};

        ck_assert_msg(pki_ensure(dir, req, &err) == 0, "pki_ensure: %s", err.msg);
}

static char *path_of(const char *name) {
        static char p[256];

        snprintf(p, sizeof p, "%s/%s", dir, name);
        return p;
}

static X509 *cert_load(const char *name) {
        FILE *f = fopen(path_of(name), "re");
        X509 *x;

        ck_assert_msg(f, "open %s", name);
        x = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
        ck_assert_msg(x, "parse %s", name);
        return x;
}

static X509 *cert_parse(const char *pem, size_t len) {
        BIO *b = BIO_new_mem_buf(pem, (int) len);
        X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);

        BIO_free(b);
        ck_assert(x);
        return x;
}

/* Verifies the certificate against the CA alone, for the purpose asked (X509_PURPOSE_SSL_SERVER, ...). */
static bool verifies(X509 *leaf, X509 *ca, int purpose) {
        X509_STORE *store = X509_STORE_new();
        X509_STORE_CTX *ctx = X509_STORE_CTX_new();
        bool ok;

        ck_assert(store && ctx);
        ck_assert_int_eq(X509_STORE_add_cert(store, ca), 1);
        ck_assert_int_eq(X509_STORE_CTX_init(ctx, store, leaf, NULL), 1);
        X509_STORE_CTX_set_purpose(ctx, purpose);
        ok = X509_verify_cert(ctx) == 1;
        X509_STORE_CTX_free(ctx);
        X509_STORE_free(store);
        return ok;
}

static void assert_signed(const char *leaf_name, const char *ca_name, int purpose) {
        X509 *leaf = cert_load(leaf_name), *ca = cert_load(ca_name);

        ck_assert_msg(verifies(leaf, ca, purpose), "%s does not verify against %s", leaf_name, ca_name);
        X509_free(leaf);
        X509_free(ca);
}

static void assert_mode(const char *name, mode_t mode) {
        struct stat st;

        ck_assert_int_eq(lstat(path_of(name), &st), 0);
        ck_assert_msg(S_ISREG(st.st_mode) && (st.st_mode & 07777) == mode, "%s has mode %o", name,
                      (unsigned) (st.st_mode & 07777));
}

static bool subject_is(X509 *x, const char *want) {
        char s[256];

        X509_NAME_oneline(X509_get_subject_name(x), s, sizeof s);
        return strcmp(s, want) == 0;
}

START_TEST(test_pki_layout) {
        static const struct {
                const char *leaf, *ca, *subject;
                int purpose;
        } leaves[] = {
                { "apiserver", "ca", "/CN=kube-apiserver", X509_PURPOSE_SSL_SERVER },
                { "apiserver-kubelet-client", "ca", "/O=system:masters/CN=kube-apiserver-kubelet-client",
                  X509_PURPOSE_SSL_CLIENT },
                { "front-proxy-client", "front-proxy-ca", "/CN=front-proxy-client", X509_PURPOSE_SSL_CLIENT },
                { "etcd/server", "etcd/ca", "/CN=node1", X509_PURPOSE_SSL_SERVER },
                { "etcd/server", "etcd/ca", "/CN=node1", X509_PURPOSE_SSL_CLIENT },
                { "apiserver-etcd-client", "etcd/ca", "/O=system:masters/CN=kube-apiserver-etcd-client",
                  X509_PURPOSE_SSL_CLIENT },
                { "admin", "ca", "/O=system:masters/CN=kubernetes-admin", X509_PURPOSE_SSL_CLIENT },
                { "controller-manager", "ca", "/CN=system:kube-controller-manager", X509_PURPOSE_SSL_CLIENT },
                { "scheduler", "ca", "/CN=system:kube-scheduler", X509_PURPOSE_SSL_CLIENT },
                { "kubelet", "ca", "/O=system:nodes/CN=system:node:node1", X509_PURPOSE_SSL_CLIENT },
        };
        static const char *const cas[] = { "ca", "front-proxy-ca", "etcd/ca" };
        char name[64], ca[64];

        ensure_ok(&request);
        for (size_t i = 0; i < ELEMENTSOF(leaves); i++) {
                X509 *x;

                snprintf(name, sizeof name, "%s.crt", leaves[i].leaf);
                snprintf(ca, sizeof ca, "%s.crt", leaves[i].ca);
                x = cert_load(name);
                ck_assert_msg(subject_is(x, leaves[i].subject), "subject of %s", name);
                X509_free(x);
                assert_signed(name, ca, leaves[i].purpose);
                snprintf(name, sizeof name, "%s.key", leaves[i].leaf);
                assert_mode(name, 0600);
        }
        for (size_t i = 0; i < ELEMENTSOF(cas); i++) {
                snprintf(name, sizeof name, "%s.crt", cas[i]);
                assert_mode(name, 0644);
                snprintf(name, sizeof name, "%s.key", cas[i]);
                assert_mode(name, 0600);
        }
        assert_mode("apiserver.key", 0600);
        assert_mode("apiserver.crt", 0644);
        assert_mode("sa.key", 0600);
        assert_mode("sa.pub", 0644);
}
END_TEST

static bool has_ip(X509 *x, const char *ip) {
        return X509_check_ip_asc(x, ip, 0) == 1;
}

static bool has_dns(X509 *x, const char *name) {
        return X509_check_host(x, name, 0, X509_CHECK_FLAG_NO_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, NULL) == 1;
}

START_TEST(test_pki_sans) {
        static const char *const names[] = {
                "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
                "localhost", "node1", "node.example.org",
        };
        X509 *x;

        ensure_ok(&request);
        x = cert_load("apiserver.crt");
        ck_assert(has_ip(x, "10.96.0.1"));
        ck_assert(has_ip(x, "127.0.0.1"));
        ck_assert(has_ip(x, "192.0.2.10"));
        ck_assert(!has_ip(x, "192.0.2.11"));
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                ck_assert_msg(has_dns(x, names[i]), "apiserver lacks %s", names[i]);
        ck_assert(!has_dns(x, "kubernetes.evil"));
        X509_free(x);
        x = cert_load("etcd/server.crt");
        ck_assert(has_ip(x, "127.0.0.1"));
        ck_assert(has_ip(x, "::1"));
        ck_assert(has_dns(x, "localhost"));
        ck_assert(!has_ip(x, "192.0.2.10"));
        X509_free(x);
}
END_TEST

START_TEST(test_pki_service_ip) {
        struct pki_request req = { .node_name = "node1", .service_cidr = "10.43.0.0/16" };
        struct un_error err = {};
        X509 *x;

        ensure_ok(&req);
        x = cert_load("apiserver.crt");
        ck_assert(has_ip(x, "10.43.0.1"));
        ck_assert(!has_ip(x, "10.96.0.1"));
        X509_free(x);
        req.service_cidr = "10.96.0.0";
        ck_assert_int_eq(pki_ensure(dir, &req, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.msg, "service CIDR"));
        req.service_cidr = "10.96.0.0/12";
        req.extra_ips = (char *const[]) { "10.0.0.300", NULL };
        ck_assert_int_eq(pki_ensure(dir, &req, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.msg, "10.0.0.300"));
        req.extra_ips = NULL;
        req.extra_dns = (char *const[]) { "a,IP:1.2.3.4", NULL };
        ck_assert_int_eq(pki_ensure(dir, &req, &err), -EINVAL);
        req.extra_dns = NULL;
        req.node_name = "Node/1";
        ck_assert_int_eq(pki_ensure(dir, &req, &err), -EINVAL);
}
END_TEST

static void stat_of(const char *name, struct stat *ret) {
        ck_assert_msg(lstat(path_of(name), ret) == 0, "stat %s", name);
}

static bool same_file(const struct stat *a, const struct stat *b) {
        return a->st_ino == b->st_ino && a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

START_TEST(test_pki_idempotent) {
        static const char *const files[] = { "ca.crt", "ca.key", "apiserver.crt", "apiserver.key", "etcd/server.crt",
                                             "admin.crt", "sa.key", "sa.pub" };
        struct stat before[ELEMENTSOF(files)], after;

        ensure_ok(&request);
        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                stat_of(files[i], &before[i]);
        ensure_ok(&request);
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                stat_of(files[i], &after);
                ck_assert_msg(same_file(&before[i], &after), "%s was written again", files[i]);
        }
}
END_TEST

START_TEST(test_pki_new_ip) {
        struct pki_request req = request;
        struct stat ca, api, etcd, after;
        X509 *x;

        ensure_ok(&request);
        stat_of("ca.crt", &ca);
        stat_of("apiserver.crt", &api);
        stat_of("etcd/server.crt", &etcd);
        req.extra_ips = (char *const[]) { "192.0.2.10", "198.51.100.7", NULL };
        ensure_ok(&req);
        stat_of("ca.crt", &after);
        ck_assert(same_file(&ca, &after));
        stat_of("etcd/server.crt", &after);
        ck_assert(same_file(&etcd, &after));
        stat_of("apiserver.crt", &after);
        ck_assert(!same_file(&api, &after));
        x = cert_load("apiserver.crt");
        ck_assert(has_ip(x, "198.51.100.7"));
        X509_free(x);
        assert_signed("apiserver.crt", "ca.crt", X509_PURPOSE_SSL_SERVER);
        /* Fewer SANs than the certificate has: still covered, kept. */
        stat_of("apiserver.crt", &api);
        ensure_ok(&request);
        stat_of("apiserver.crt", &after);
        ck_assert(same_file(&api, &after));
}
END_TEST

static void put(const char *name, const char *content) {
        FILE *f = fopen(path_of(name), "we");

        ck_assert(f);
        ck_assert_int_ge(fputs(content, f), 0);
        ck_assert_int_eq(fclose(f), 0);
}

static bool key_matches(const char *key_name, const char *crt_name) {
        FILE *f = fopen(path_of(key_name), "re");
        EVP_PKEY *k;
        X509 *x;
        bool ok;

        ck_assert(f);
        k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
        x = cert_load(crt_name);
        ok = k && X509_check_private_key(x, k) == 1;
        EVP_PKEY_free(k);
        X509_free(x);
        return ok;
}

START_TEST(test_pki_damaged) {
        struct stat ca, etcd, after;

        ensure_ok(&request);
        put("apiserver.key", "garbage\n");
        ensure_ok(&request);
        ck_assert(key_matches("apiserver.key", "apiserver.crt"));
        assert_mode("apiserver.key", 0600);
        assert_signed("apiserver.crt", "ca.crt", X509_PURPOSE_SSL_SERVER);

        /* A new CA: every leaf it signed is issued again, the other CAs' leaves stay. */
        stat_of("ca.crt", &ca);
        stat_of("etcd/server.crt", &etcd);
        put("ca.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        ensure_ok(&request);
        stat_of("ca.crt", &after);
        ck_assert(!same_file(&ca, &after));
        stat_of("etcd/server.crt", &after);
        ck_assert(same_file(&etcd, &after));
        assert_signed("apiserver.crt", "ca.crt", X509_PURPOSE_SSL_SERVER);
        assert_signed("admin.crt", "ca.crt", X509_PURPOSE_SSL_CLIENT);
        assert_signed("apiserver-kubelet-client.crt", "ca.crt", X509_PURPOSE_SSL_CLIENT);

        /* Over PKI_FILE_MAX: refused as input, issued again. */
        {
                char *big = malloc(PKI_FILE_MAX + 2);

                ck_assert(big);
                memset(big, 'A', PKI_FILE_MAX + 1);
                big[PKI_FILE_MAX + 1] = '\0';
                put("front-proxy-client.crt", big);
                free(big);
        }
        ensure_ok(&request);
        assert_signed("front-proxy-client.crt", "front-proxy-ca.crt", X509_PURPOSE_SSL_CLIENT);

        /* sa.pub follows sa.key, which is kept. */
        stat_of("sa.key", &ca);
        put("sa.pub", "stale\n");
        ensure_ok(&request);
        stat_of("sa.key", &after);
        ck_assert(same_file(&ca, &after));
        assert_mode("sa.pub", 0644);
}
END_TEST

START_TEST(test_pki_symlink) {
        struct un_error err = {};
        char target[TREE_PATH_MAX + 16], buf[64] = {};
        FILE *f;

        ensure_ok(&request);
        snprintf(target, sizeof target, "%s/target", root);
        tree_put(root, "target", "keep\n");
        ck_assert_int_eq(unlink(path_of("apiserver.key")), 0);
        ck_assert_int_eq(symlink(target, path_of("apiserver.key")), 0);
        ck_assert_int_eq(pki_ensure(dir, &request, &err), -ELOOP);
        ck_assert_ptr_nonnull(strstr(err.msg, "symlink"));
        f = fopen(target, "re");
        ck_assert(f);
        ck_assert_uint_eq(fread(buf, 1, sizeof buf - 1, f), 5);
        fclose(f);
        ck_assert_str_eq(buf, "keep\n");

        /* The directory itself: a symlink, a file, or writable by others is refused. */
        ck_assert_int_eq(unlink(path_of("apiserver.key")), 0);
        ensure_ok(&request);
        snprintf(target, sizeof target, "%s/link", root);
        ck_assert_int_eq(symlink(dir, target), 0);
        ck_assert_int_lt(pki_ensure(target, &request, &err), 0);
        tree_put(root, "file", "x");
        snprintf(target, sizeof target, "%s/file", root);
        ck_assert_int_lt(pki_ensure(target, &request, &err), 0);
        ck_assert_int_eq(chmod(dir, 0777), 0);
        ck_assert_int_eq(pki_ensure(dir, &request, &err), -EPERM);
}
END_TEST

static unsigned char *base64_decode(const char *s, int *ret_len) {
        size_t n = strlen(s);
        unsigned char *out = malloc(n);
        int len;

        ck_assert(out && n % 4 == 0);
        len = EVP_DecodeBlock(out, (const unsigned char *) s, (int) n);
        ck_assert_int_gt(len, 0);
        /* EVP_DecodeBlock counts the padding's zero bytes. */
        while (n > 0 && s[--n] == '=')
                len--;
        *ret_len = len;
        return out;
}

static const char *field(json_object *o, const char *list, const char *kind, const char *key) {
        json_object *l, *entry, *inner, *v;

        ck_assert(json_object_object_get_ex(o, list, &l) && json_object_array_length(l) == 1);
        entry = json_object_array_get_idx(l, 0);
        ck_assert(json_object_object_get_ex(entry, "name", &v));
        ck_assert_str_eq(json_object_get_string(v), "usernode");
        ck_assert(json_object_object_get_ex(entry, kind, &inner));
        ck_assert(json_object_object_get_ex(inner, key, &v));
        return json_object_get_string(v);
}

START_TEST(test_pki_kubeconfig) {
        struct un_error err = {};
        char conf[TREE_PATH_MAX + 16], target[TREE_PATH_MAX + 16];
        unsigned char *pem;
        json_object *o, *v;
        struct stat st, again;
        X509 *x, *ca;
        int len;

        ensure_ok(&request);
        snprintf(conf, sizeof conf, "%s/admin.conf", root);
        ck_assert_msg(pki_kubeconfig(dir, "admin", "https://127.0.0.1:6443", conf, &err) == 0, "%s", err.msg);
        ck_assert_int_eq(stat(conf, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        o = json_object_from_file(conf);
        ck_assert(o);
        ck_assert(json_object_object_get_ex(o, "current-context", &v));
        ck_assert_str_eq(json_object_get_string(v), "usernode");
        ck_assert_str_eq(field(o, "clusters", "cluster", "server"), "https://127.0.0.1:6443");
        ck_assert_str_eq(field(o, "contexts", "context", "user"), "usernode");
        pem = base64_decode(field(o, "users", "user", "client-certificate-data"), &len);
        x = cert_parse((const char *) pem, (size_t) len);
        free(pem);
        pem = base64_decode(field(o, "clusters", "cluster", "certificate-authority-data"), &len);
        ca = cert_parse((const char *) pem, (size_t) len);
        free(pem);
        ck_assert(verifies(x, ca, X509_PURPOSE_SSL_CLIENT));
        ck_assert(subject_is(x, "/O=system:masters/CN=kubernetes-admin"));
        X509_free(x);
        X509_free(ca);
        x = cert_load("ca.crt");
        ck_assert(verifies(x, x, X509_PURPOSE_ANY));
        X509_free(x);
        pem = base64_decode(field(o, "users", "user", "client-key-data"), &len);
        ck_assert_ptr_nonnull(strstr((const char *) pem, "PRIVATE KEY"));
        free(pem);
        json_object_put(o);

        /* The same again: not rewritten. */
        ck_assert_int_eq(pki_kubeconfig(dir, "admin", "https://127.0.0.1:6443", conf, &err), 0);
        ck_assert_int_eq(stat(conf, &again), 0);
        ck_assert(same_file(&st, &again));

        ck_assert_int_eq(pki_kubeconfig(dir, "root", "https://127.0.0.1:6443", conf, &err), -EINVAL);
        ck_assert_int_eq(pki_kubeconfig(dir, "admin", "http://127.0.0.1:6443", conf, &err), -EINVAL);
        ck_assert_int_eq(pki_kubeconfig(dir, "admin", "https://a b", conf, &err), -EINVAL);

        /* Not through a symlink. */
        snprintf(target, sizeof target, "%s/target", root);
        tree_put(root, "target", "keep\n");
        snprintf(conf, sizeof conf, "%s/scheduler.conf", root);
        ck_assert_int_eq(symlink(target, conf), 0);
        ck_assert_int_eq(pki_kubeconfig(dir, "scheduler", "https://127.0.0.1:6443", conf, &err), -ELOOP);
        ck_assert_int_eq(stat(target, &st), 0);
        ck_assert_int_eq(st.st_size, 5);
}
END_TEST

START_TEST(test_pki_pin) {
        char pin[PKI_PIN_MAX], want[72];
        struct join_pin *pins;
        char *pem;
        size_t n;
        FILE *f;

        ck_assert_int_lt(pki_ca_pin(dir, pin, sizeof pin), 0);
        ensure_ok(&request);
        ck_assert_int_eq(pki_ca_pin(dir, pin, sizeof pin), 0);
        ck_assert_int_eq(pki_ca_pin(dir, pin, sizeof pin - 1), -ENOBUFS);
        f = fopen(path_of("ca.crt"), "re");
        ck_assert(f);
        pem = calloc(1, PKI_FILE_MAX);
        ck_assert(pem);
        ck_assert_uint_gt(fread(pem, 1, PKI_FILE_MAX - 1, f), 0);
        fclose(f);
        ck_assert_int_eq(join_pins_of_pem(pem, &pins, &n), 0);
        join_pin_format(&pins[0], want);
        ck_assert_str_eq(pin, want);
        ck_assert_uint_eq(strlen(pin), 71);
        free(pins);
        free(pem);
}
END_TEST

Suite *pki_suite(void) {
        Suite *s = suite_create("pki");
        TCase *tc = tcase_create("pki");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_pki_layout);
        tcase_add_test(tc, test_pki_sans);
        tcase_add_test(tc, test_pki_service_ip);
        tcase_add_test(tc, test_pki_idempotent);
        tcase_add_test(tc, test_pki_new_ip);
        tcase_add_test(tc, test_pki_damaged);
        tcase_add_test(tc, test_pki_symlink);
        tcase_add_test(tc, test_pki_kubeconfig);
        tcase_add_test(tc, test_pki_pin);
        suite_add_tcase(s, tc);
        return s;
}
