/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "subid.h"
#include "suites.h"
#include "util.h"

static int parse(const char *text, struct subid_file *f, struct un_error *e) {
        return subid_file_parse("/etc/subuid", text, strlen(text), f, e);
}

START_TEST(test_parse_keeps_lines) {
        const char *text = "# comment\n\nalice:100000:65536\n  1005 : 300000 :65536  \nbob:165536:65536";
        struct subid_file f = {};
        struct un_error e = {};
        size_t len;
        char *out;

        ck_assert_int_eq(parse(text, &f, &e), 0);
        ck_assert_uint_eq(f.n, 3);
        ck_assert_str_eq(f.ranges[1].owner, "1005");
        ck_assert_uint_eq(f.ranges[1].start, 300000);
        ck_assert_uint_eq(f.ranges[1].line, 4);
        ck_assert(f.no_final_newline);
        out = subid_file_format(&f, &len);
        ck_assert_str_eq(out, text);
        ck_assert_uint_eq(len, strlen(text));
        free(out);
        ck_assert_int_eq(subid_file_append(&f, "carol", 231072, 65536), 0);
        out = subid_file_format(&f, NULL);
        ck_assert_str_eq(out, "# comment\n\nalice:100000:65536\n  1005 : 300000 :65536  \nbob:165536:65536\n"
                              "carol:231072:65536\n");
        free(out);
        ck_assert_int_eq(subid_file_remove_line(&f, "alice:100000:65536"), 0);
        ck_assert_uint_eq(f.n, 3);
        ck_assert_str_eq(f.ranges[0].owner, "1005");
        ck_assert_uint_eq(f.ranges[0].line, 3);
        ck_assert_int_eq(subid_file_remove_line(&f, "nope"), -ENOENT);
        subid_file_done(&f);
}
END_TEST

START_TEST(test_parse_hostile) {
        static const struct {
                const char *text;
                size_t len;
                const char *needle;
        } bad[] = {
                { "a:1:2\nb:1\n", 0, ":2: malformed" },
                { "a:1:2:3\n", 0, ":1: malformed" },
                { "a:-1:2\n", 0, "malformed" },
                { "a:0x10:2\n", 0, "malformed" },
                { ":1:2\n", 0, "invalid owner" },
                { "a b:1:2\n", 0, "invalid owner" },
                { "a:4294967295:2\n", 0, "overflows 32 bits" },
                { "a:4294967296:1\n", 0, "malformed" },
                { "a:99999999999999999999999:1\n", 0, "malformed" },
                { "ok:1:1\na:1\0:2\n", 15, ":2: NUL byte" },
        };
        char *big;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct subid_file f = {};
                struct un_error e = {};
                size_t len = bad[i].len ? bad[i].len : strlen(bad[i].text);

                ck_assert_int_lt(subid_file_parse("/etc/subuid", bad[i].text, len, &f, &e), 0);
                ck_assert_msg(strstr(e.msg, bad[i].needle), "'%s' -> '%s'", bad[i].text, e.msg);
                ck_assert_ptr_null(f.ranges);
        }

        big = malloc(SUBID_LINE_MAX + 10);
        memset(big, 'a', SUBID_LINE_MAX + 5);
        big[SUBID_LINE_MAX + 5] = '\0';
        {
                struct subid_file f = {};
                struct un_error e = {};

                ck_assert_int_eq(parse(big, &f, &e), -E2BIG);
                ck_assert(strstr(e.msg, ":1: line longer"));
                ck_assert(strstr(e.msg, "..."));
        }
        free(big);
        {
                struct subid_file f = {};
                struct un_error e = {};

                ck_assert_int_eq(subid_file_parse("x", "", SUBID_FILE_MAX + 1, &f, &e), -EFBIG);
        }
}
END_TEST

START_TEST(test_evaluate) {
        struct subid_file f = {};
        struct un_error e = {};
        struct subid_verdict v;

        ck_assert_int_eq(parse("alice:100000:65536\n1000:200000:10\nbob:150000:65536\ncarol:0:2000\n", &f, &e), 0);
        subid_evaluate(&f, "alice", 1000, 1000, &v);
        ck_assert_uint_eq(v.n_ranges, 2);
        ck_assert_uint_eq(v.total, 65546);
        ck_assert_ptr_nonnull(v.overlap_mine);
        ck_assert_str_eq(v.overlap_other->owner, "bob");
        ck_assert_ptr_null(v.contains_own);
        ck_assert(!subid_verdict_good(&v));
        subid_evaluate(&f, "carol", 1001, 1001, &v);
        ck_assert_ptr_nonnull(v.contains_own);
        ck_assert_uint_eq(v.total, 2000);
        subid_evaluate(&f, "dave", 1002, 1002, &v);
        ck_assert_uint_eq(v.n_ranges, 0);
        ck_assert_ptr_null(v.best);
        subid_file_done(&f);

        ck_assert_int_eq(parse("alice:100000:65536\n", &f, &e), 0);
        subid_evaluate(&f, "alice", 1000, 1000, &v);
        ck_assert(subid_verdict_good(&v));
        ck_assert_uint_eq(v.best->start, 100000);
        subid_file_done(&f);
}
END_TEST

START_TEST(test_find_free) {
        struct subid_file f = {};
        struct un_error e = {};
        struct id_entry ids[] = { { .name = (char *) "ldap", .id = 231100 }, { .name = (char *) "u", .id = 1000 } };
        struct id_table t = { ids, 2 };
        uint32_t s;

        ck_assert_int_eq(parse("", &f, &e), 0);
        ck_assert_int_eq(subid_find_free(&f, NULL, 100000, 65536, &s), 0);
        ck_assert_uint_eq(s, 100000);
        subid_file_done(&f);

        ck_assert_int_eq(parse("a:100000:65536\nb:300000:65536\nc:165536:100\n", &f, &e), 0);
        ck_assert_int_eq(subid_find_free(&f, NULL, 100000, 65536, &s), 0);
        ck_assert_uint_eq(s, 165636);
        /* A real UID at 231100 (LDAP) sits inside the next candidate: skip past it. */
        ck_assert_int_eq(subid_find_free(&f, &t, 100000, 65536, &s), 0);
        ck_assert_uint_eq(s, 231101);
        /* A gap that fits exactly. */
        ck_assert_int_eq(subid_find_free(&f, NULL, 100000, 100, &s), 0);
        ck_assert_uint_eq(s, 165636);
        ck_assert_int_eq(subid_find_free(&f, NULL, 100000, 0, &s), -EINVAL);
        subid_file_done(&f);

        /* Nothing fits below 2^32 - 1. */
        ck_assert_int_eq(parse("a:100000:4294867295\n", &f, &e), 0);
        ck_assert_int_eq(subid_find_free(&f, NULL, 100000, 65536, &s), -ENOSPC);
        subid_file_done(&f);
        ck_assert_int_eq(parse("", &f, &e), 0);
        ck_assert_int_eq(subid_find_free(&f, NULL, 4294967295u - 65535, 65536, &s), -ENOSPC);
        ck_assert_int_eq(subid_find_free(&f, NULL, 4294967295u - 65536, 65536, &s), 0);
        subid_file_done(&f);
}
END_TEST

START_TEST(test_getsubids) {
        struct subid_file f = {};

        ck_assert_int_eq(subid_parse_getsubids("0: alice 100000 65536\n1: alice 300000 10\n", "alice", &f), 0);
        ck_assert_uint_eq(f.n, 2);
        ck_assert_uint_eq(f.ranges[1].start, 300000);
        subid_file_done(&f);
        ck_assert_int_eq(subid_parse_getsubids("0: bob 100000 65536\n", "alice", &f), -EBADMSG);
        ck_assert_int_eq(subid_parse_getsubids("garbage\n", "alice", &f), -EBADMSG);
        ck_assert_int_eq(subid_parse_getsubids("0: alice 4294967295 2\n", "alice", &f), -EBADMSG);
        ck_assert_int_eq(subid_parse_getsubids("", "alice", &f), 0);
        ck_assert_uint_eq(f.n, 0);
        subid_file_done(&f);
}
END_TEST

/* Forked writers append under the lock: none may lose another's line. */
START_TEST(test_lock_excludes) {
        char root[] = "/tmp/usernode-lock-XXXXXX", path[128];
        struct host h = { .root_fd = -EBADF };
        struct un_error e = {};
        enum { N = 12 };
        FILE *fp;
        char line[64];
        int count = 0;

        ck_assert_ptr_nonnull(mkdtemp(root));
        snprintf(path, sizeof path, "%s/etc", root);
        ck_assert_int_eq(mkdir(path, 0755), 0);
        ck_assert_int_eq(host_init(&h, root, &e), 0);
        for (int i = 0; i < N; i++) {
                pid_t pid = fork();

                ck_assert_int_ge(pid, 0);
                if (pid == 0) {
                        struct subid_lock l;
                        struct subid_file f = {};
                        char *text;
                        size_t len;
                        char owner[16];

                        if (subid_lock_take(&h, "/etc/subuid", &l, &e) < 0)
                                _exit(2);
                        if (subid_file_load(&h, "/etc/subuid", &f, NULL, &e) < 0)
                                _exit(3);
                        snprintf(owner, sizeof owner, "u%d", i);
                        usleep(2000);   /* widen the race the lock must close */
                        if (subid_file_append(&f, owner, 100000u + 65536u * (uint32_t) i, 65536) < 0)
                                _exit(4);
                        text = subid_file_format(&f, &len);
                        if (host_write_atomic(&h, "/etc/subuid", text, len, 0644, (uid_t) -1, (gid_t) -1, &e) < 0)
                                _exit(5);
                        subid_lock_release(&l);
                        _exit(0);
                }
        }
        for (int i = 0; i < N; i++) {
                int status;

                ck_assert_int_gt(wait(&status), 0);
                ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        snprintf(path, sizeof path, "%s/etc/subuid", root);
        fp = fopen(path, "re");
        ck_assert_ptr_nonnull(fp);
        while (fgets(line, sizeof line, fp))
                count++;
        fclose(fp);
        ck_assert_int_eq(count, N);
        snprintf(path, sizeof path, "%s/etc/subuid.lock", root);
        ck_assert_int_ne(access(path, F_OK), 0);

        /* A lock left by a dead process is taken over; one held by a live process is not. */
        fp = fopen(path, "we");
        fprintf(fp, "%d", 999999999);
        fputc('\0', fp);
        fclose(fp);
        {
                struct subid_lock l;

                ck_assert_int_eq(subid_lock_take(&h, "/etc/subuid", &l, &e), 0);
                subid_lock_release(&l);
        }
        host_done(&h);
        snprintf(path, sizeof path, "rm -rf '%s'", root);
        ck_assert_int_eq(system(path), 0);
}
END_TEST

Suite *subid_suite(void) {
        Suite *s = suite_create("subid");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_parse_keeps_lines);
        tcase_add_test(tc, test_parse_hostile);
        tcase_add_test(tc, test_evaluate);
        tcase_add_test(tc, test_find_free);
        tcase_add_test(tc, test_getsubids);
        tcase_add_test(tc, test_lock_excludes);
        tcase_set_timeout(tc, 30);
        suite_add_tcase(s, tc);
        return s;
}
