/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "suites.h"
#include "version.h"

START_TEST(test_extract) {
        char v[32];

        ck_assert_int_eq(version_extract("slirp4netns version 1.2.0\ncommit: 656041d\n", v, sizeof v), 0);
        ck_assert_str_eq(v, "1.2.0");
        ck_assert_int_eq(version_extract("k3s version v1.30.2+k3s1 (aa4794b3)\ngo version go1.22.4\n", v, sizeof v), 0);
        ck_assert_str_eq(v, "v1.30.2+k3s1");
        ck_assert_int_eq(version_extract("Kubernetes v1.31.0", v, sizeof v), 0);
        ck_assert_str_eq(v, "v1.31.0");
        ck_assert_int_eq(version_extract("containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1", v, sizeof v), 0);
        ck_assert_str_eq(v, "1.6.20~ds1");
        ck_assert_int_eq(version_extract("pasta unknown version\nCopyright Red Hat\n", v, sizeof v), -ENOENT);
        ck_assert_int_eq(version_extract("commit: 1.2.3\n", v, sizeof v), 0);
        ck_assert_int_eq(version_extract("x\n1.2.3\n", v, sizeof v), -ENOENT);  /* first line only */
        ck_assert_int_eq(version_extract("abc1.2 7 7.", v, sizeof v), -ENOENT);
        ck_assert_int_eq(version_extract("", v, sizeof v), -ENOENT);
        ck_assert_int_eq(version_extract("1.2.3456789012345678901234567890123456789", v, sizeof v), -ENOBUFS);
}
END_TEST

/* passt's own forms: upstream's date and commit, Debian's package version, and bookworm's none. */
START_TEST(test_extract_word) {
        char v[40];

        ck_assert_int_eq(version_extract_word("pasta 2025_05_12.8ec1341\r\nCopyright Red Hat\r\n", v, sizeof v), 0);
        ck_assert_str_eq(v, "2025_05_12.8ec1341");
        ck_assert_int_eq(version_extract_word("pasta 0.0~git20250503.587980c-2+deb13u1\n", v, sizeof v), 0);
        ck_assert_str_eq(v, "0.0~git20250503.587980c-2+deb13u1");
        ck_assert_int_eq(version_extract_word("pasta unknown version\nCopyright Red Hat\n", v, sizeof v), -ENOENT);
        ck_assert_int_eq(version_extract_word("pasta\n2025_05_12.8ec1341\n", v, sizeof v), -ENOENT);
        ck_assert_int_eq(version_extract_word("", v, sizeof v), -ENOENT);
        ck_assert_int_eq(version_extract_word("pasta 0123456789012345678901234567890123456789x", v, sizeof v), -ENOBUFS);
}
END_TEST

START_TEST(test_compare) {
        ck_assert_int_lt(version_compare("1.1.0", "2.0"), 0);
        ck_assert_int_eq(version_compare("v2.0.0", "2.0"), 0);
        ck_assert_int_gt(version_compare("2.3.1", "2.0"), 0);
        ck_assert_int_gt(version_compare("10.0", "9.9"), 0);
        ck_assert_int_eq(version_compare("garbage", "0"), 0);
        ck_assert_int_gt(version_compare("99999999999999999999.1", "1"), 0);
}
END_TEST

static int64_t ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

START_TEST(test_run) {
        struct version_query q[4] = {
                { .path = "/bin/echo", .arg = "tool version 3.4.5" },
                { .path = "/bin/sleep", .arg = "5" },
                { .path = "/nonexistent/tool" },
                { .path = "/bin/false" },
        };
        char v[32];
        int64_t t0 = ms();

        /* A deadline echo and false meet even on a loaded machine, far below the sleeper's 5 s. */
        ck_assert_int_eq(version_query_run(q, 4, 1000), 0);
        /* The sleeper was killed at the deadline, not waited for. */
        ck_assert_int_lt(ms() - t0, 4000);
        ck_assert(q[0].exited);
        ck_assert_int_eq(q[0].exit_status, 0);
        ck_assert_int_eq(version_extract(q[0].output, v, sizeof v), 0);
        ck_assert_str_eq(v, "3.4.5");
        ck_assert(q[1].timed_out);
        ck_assert(!q[1].exited);
        ck_assert_int_eq(q[2].spawn_error, -ENOENT);
        ck_assert(q[3].exited);
        ck_assert_int_eq(q[3].exit_status, 1);
}
END_TEST

/* A tool that writes its version only to a terminal, as passt does: read with .terminal, nothing without. */
START_TEST(test_run_terminal) {
        char dir[] = "/tmp/usernode-test-version.XXXXXX", path[64], v[40];
        struct version_query q[2] = {};
        FILE *f;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        ck_assert_int_eq(chmod(dir, 0755), 0);
        snprintf(path, sizeof path, "%s/pasta", dir);
        f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        fputs("#!/bin/sh\n[ -t 1 ] && echo 'pasta 2025_05_12.8ec1341'\nexit 0\n", f);
        ck_assert_int_eq(fclose(f), 0);
        ck_assert_int_eq(chmod(path, 0755), 0);
        q[0] = (struct version_query) { .path = path, .terminal = true };
        q[1] = (struct version_query) { .path = path };
        ck_assert_int_eq(version_query_run(q, 2, 5000), 0);
        ck_assert_msg(q[0].exited && q[0].exit_status == 0, "%s", q[0].output);
        ck_assert_int_eq(version_extract_word(q[0].output, v, sizeof v), 0);
        ck_assert_str_eq(v, "2025_05_12.8ec1341");
        ck_assert(q[1].exited);
        ck_assert_str_eq(q[1].output, "");
        ck_assert_int_eq(unlink(path), 0);
        ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_run_bounded_output) {
        /* A chatty binary: output is truncated to the buffer, and the child is still reaped. */
        struct version_query q = { .path = "/usr/bin/yes", .arg = "y" };

        ck_assert_int_eq(version_query_run(&q, 1, 300), 0);
        ck_assert_uint_eq(strlen(q.output), sizeof q.output - 1);
        ck_assert(!q.exited || q.exit_status != 0);
}
END_TEST

Suite *version_suite(void) {
        Suite *s = suite_create("version");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_extract);
        tcase_add_test(tc, test_extract_word);
        tcase_add_test(tc, test_compare);
        tcase_add_test(tc, test_run_terminal);
        tcase_add_test(tc, test_run);
        tcase_add_test(tc, test_run_bounded_output);
        suite_add_tcase(s, tc);
        return s;
}
