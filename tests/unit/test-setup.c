/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The pieces setup stands on: SHA-256, base64, the manifest format and the unified diff. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "manifest.h"
#include "setup.h"
#include "sha256.h"
#include "suites.h"

START_TEST(test_sha256) {
        char hex[SHA256_HEX_LEN + 1];
        char *million = malloc(1000000);

        sha256_hex("", 0, hex);
        ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        sha256_hex("abc", 3, hex);
        ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
        ck_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
        memset(million, 'a', 1000000);
        sha256_hex(million, 1000000, hex);
        ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
        free(million);
}
END_TEST

START_TEST(test_manifest_roundtrip) {
        struct manifest m = { .user = strdup("alice"), .uid = 1000 }, back = {};
        struct manifest_file *f;
        struct un_error e = {};
        char *text, *text2;
        size_t len, len2;

        ck_assert_int_eq(manifest_add_file(&m, "/etc/sysctl.d/50-usernode.conf", NULL, 0, true, 0644, 0, 0, &f), 0);
        sha256_hex("x", 1, f->new_hash);
        ck_assert_int_eq(manifest_add_file(&m, "/etc/lxc/old", "a\0b\nc", 5, false, 0640, 0, 4, &f), 0);
        sha256_hex("y", 1, f->new_hash);
        ck_assert_int_eq(manifest_add_line(&m, "/etc/subuid", "alice:100000:65536", false, true), 0);
        ck_assert_int_eq(manifest_add_sysctl(&m, "net.ipv4.ip_forward", "0", "1"), 0);
        ck_assert_int_eq(manifest_add_sysctl(&m, "net.ipv4.ip_forward", "1", "1"), 0);     /* first prev kept */
        ck_assert_int_eq(strv_push(&m.modules, "br_netfilter"), 0);
        ck_assert_int_eq(strv_push(&m.dirs, "/etc/sysctl.d"), 0);
        m.linger = true;
        ck_assert_int_eq(manifest_add_line(&m, "relative", "x", false, false), -EINVAL);
        ck_assert_int_eq(manifest_add_line(&m, "/etc/x", "a\nb", false, false), -EINVAL);
        ck_assert_int_eq(manifest_add_file(&m, "/etc/a b", NULL, 0, true, 0644, 0, 0, &f), -EINVAL);

        text = manifest_format(&m, &len);
        ck_assert_int_eq(manifest_parse(text, len, &back, &e), 0);
        ck_assert_str_eq(back.user, "alice");
        ck_assert_uint_eq(back.n_files, 2);
        ck_assert(back.files[0].prev_absent);
        ck_assert_uint_eq(back.files[1].prev_len, 5);
        ck_assert_int_eq(memcmp(back.files[1].prev, "a\0b\nc", 5), 0);
        ck_assert_uint_eq(back.files[1].prev_mode, 0640);
        ck_assert_uint_eq(back.files[1].prev_gid, 4);
        ck_assert_uint_eq(back.n_lines, 1);
        ck_assert(back.lines[0].added_eol);
        ck_assert(!back.lines[0].created);
        ck_assert_uint_eq(back.n_sysctls, 1);
        ck_assert_str_eq(back.sysctls[0].prev, "0");
        ck_assert(back.linger);
        text2 = manifest_format(&back, &len2);
        ck_assert_str_eq(text, text2);
        free(text2);
        manifest_done(&back);

        /* Damage: a flipped byte in the stored old content no longer matches its hash. */
        {
                char *p = strstr(text, "data=");
                char saved = p[6];

                p[6] = p[6] == 'A' ? 'B' : 'A';
                ck_assert_int_lt(manifest_parse(text, len, &back, &e), 0);
                p[6] = saved;
        }
        free(text);
        manifest_done(&m);

        static const char *const bad[] = {
                "",
                "usernode-setup-manifest 2\nuser a 1\n",
                "usernode-setup-manifest 1\n",
                "usernode-setup-manifest 1\nuser a:b 1\n",
                "usernode-setup-manifest 1\nuser a 1\nfile /x new=zz prev=absent\n",
                "usernode-setup-manifest 1\nuser a 1\nfrobnicate\n",
                "usernode-setup-manifest 1\nuser a 1\nline /etc/subuid !!!\n",
                "usernode-setup-manifest 1\nuser a 1\nmodule ../x\n",
                "usernode-setup-manifest 1\nuser a 1\nsysctl k prev=a b\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(manifest_parse(bad[i], strlen(bad[i]), &back, &e) < 0, "accepted: %s", bad[i]);
        ck_assert_int_lt(manifest_parse("usernode-setup-manifest 1\nuser a 1\0\n", 35, &back, &e), 0);
}
END_TEST

static char *diff_of(const char *a, const char *b) {
        struct buf out = {};

        ck_assert_int_ge(diff_unified("/etc/x", a, a ? strlen(a) : 0, b, b ? strlen(b) : 0, &out), 0);
        return buf_steal(&out);
}

START_TEST(test_diff) {
        char *d;

        d = diff_of("a\nb\n", "a\nb\n");
        ck_assert_str_eq(d, "");
        free(d);
        d = diff_of(NULL, "x\n");
        ck_assert_str_eq(d, "--- /dev/null\n+++ b/etc/x\n@@ -0,0 +1 @@\n+x\n");
        free(d);
        d = diff_of("x\ny\n", NULL);
        ck_assert_str_eq(d, "--- a/etc/x\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-x\n-y\n");
        free(d);
        d = diff_of("1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nfive\n6\n7\n8\n9\n");
        ck_assert_str_eq(d, "--- a/etc/x\n+++ b/etc/x\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n");
        free(d);
        d = diff_of("a", "a\nb\n");
        ck_assert_str_eq(d, "--- a/etc/x\n+++ b/etc/x\n@@ -1 +1,2 @@\n-a\n\\ No newline at end of file\n+a\n+b\n");
        free(d);
        /* Two changes far apart are two hunks. */
        d = diff_of("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", "one\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\ntwelve\n");
        ck_assert_str_eq(d, "--- a/etc/x\n+++ b/etc/x\n@@ -1,4 +1,4 @@\n-1\n+one\n 2\n 3\n 4\n"
                            "@@ -9,4 +9,4 @@\n 9\n 10\n 11\n-12\n+twelve\n");
        free(d);
        /* An empty existing file is not an absent one. */
        d = diff_of("", NULL);
        ck_assert_str_eq(d, "--- a/etc/x\n+++ /dev/null\n");
        free(d);
}
END_TEST

START_TEST(test_parse_delegate) {
        char *s;

        ck_assert_int_eq(setup_parse_delegate("pids,memory cpu", &s), 0);
        ck_assert_str_eq(s, "cpu memory pids");
        free(s);
        ck_assert_int_eq(setup_parse_delegate("cpu,bogus", &s), -EINVAL);
        ck_assert_int_eq(setup_parse_delegate("", &s), -EINVAL);
        ck_assert_int_eq(setup_parse_delegate("cpu\nDelegate=yes", &s), -EINVAL);
}
END_TEST

Suite *setup_suite(void) {
        Suite *s = suite_create("setup");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_sha256);
        tcase_add_test(tc, test_manifest_roundtrip);
        tcase_add_test(tc, test_diff);
        tcase_add_test(tc, test_parse_delegate);
        suite_add_tcase(s, tc);
        return s;
}
