/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "suites.h"
#include "tree.h"
#include "unitfile.h"
#include "util.h"

/* Collects "section|key|value" for each assignment. */
static int collect(const char *section, const char *key, const char *value, void *userdata) {
        struct buf *b = userdata;

        return buf_printf(b, "%s|%s|%s\n", section ? section : "(none)", key, value);
}

static char *parse(const char *text, int *ret, unsigned *line) {
        struct buf b = {};

        *ret = unit_file_parse(text, strlen(text), collect, &b, line);
        return b.data ? buf_steal(&b) : strdup("");
}

START_TEST(test_syntax) {
        int r;
        unsigned line = 0;
        _cleanup_free_ char *s = NULL, *t = NULL, *u = NULL;

        s = parse("Early=1\n"
                  "# comment\n"
                  "; also a comment\n"
                  "   \n"
                  "[Unit]\n"
                  "Description = User Manager for UID %i  \n"
                  "no equals sign here\n"
                  "=nokey\n"
                  "[Service]\r\n"
                  "Delegate=\n"
                  "Delegate=pids \\\n"
                  "# a comment inside a continuation is dropped\n"
                  "  memory \\\n"
                  "  cpu\n"
                  "Path=C:\\\\\n"
                  "Key=a=b\n",
                  &r, &line);
        ck_assert_int_eq(r, 0);
        ck_assert_str_eq(s, "(none)|Early|1\n"
                            "Unit|Description|User Manager for UID %i\n"
                            "Service|Delegate|\n"
                            "Service|Delegate|pids    memory    cpu\n"
                            "Service|Path|C:\\\\\n"
                            "Service|Key|a=b\n");

        /* A continuation at the end of the file still counts. */
        t = parse("[Service]\nDelegate=io \\", &r, &line);
        ck_assert_int_eq(r, 0);
        ck_assert_str_eq(t, "Service|Delegate|io\n");

        u = parse("", &r, &line);
        ck_assert_int_eq(r, 0);
        ck_assert_str_eq(u, "");
}
END_TEST

START_TEST(test_hostile) {
        static const char nul[] = "[Service]\nDelegate=yes\0\nDelegate=no\n";
        struct buf b = {};
        char *big;
        unsigned line = 0;
        int r;

        r = unit_file_parse(nul, sizeof nul - 1, collect, &b, &line);
        ck_assert_int_eq(r, -EBADMSG);
        ck_assert_uint_eq(line, 2);
        buf_free(&b);

        free(parse("[Service]\n[Broken\nDelegate=yes\n", &r, &line));
        ck_assert_int_eq(r, -EBADMSG);
        ck_assert_uint_eq(line, 2);

        big = malloc(UNIT_LINE_MAX + 64);
        ck_assert_ptr_nonnull(big);
        strcpy(big, "[Service]\nDelegate=");
        memset(big + strlen(big), 'x', UNIT_LINE_MAX);
        big[19 + UNIT_LINE_MAX] = '\0';
        free(parse(big, &r, &line));
        ck_assert_int_eq(r, -E2BIG);
        ck_assert_uint_eq(line, 2);

        /* Short lines that continue forever are as long as one long line. */
        {
                struct buf many = {};

                ck_assert_int_eq(buf_puts(&many, "[Service]\n"), 0);
                for (unsigned i = 0; i < UNIT_LINE_MAX / 7 + 10; i++)
                        ck_assert_int_eq(buf_puts(&many, "Delega\\\n"), 0);
                free(parse(many.data, &r, &line));
                ck_assert_int_eq(r, -E2BIG);
                buf_free(&many);
        }
        free(big);

        /* Garbage without NUL bytes: nothing to assign, no crash. */
        {
                char g[512];
                _cleanup_free_ char *s = NULL;

                for (size_t i = 0; i < sizeof g - 1; i++)
                        g[i] = (char) (1 + (i * 37 + 11) % 255);
                g[sizeof g - 1] = '\0';
                for (size_t i = 0; i < sizeof g - 1; i++)
                        if (g[i] == '[' || g[i] == '=')
                                g[i] = '_';
                s = parse(g, &r, &line);
                ck_assert_int_eq(r, 0);
                ck_assert_str_eq(s, "");
        }
}
END_TEST

static struct unit_delegate apply_all(const char *const *values) {
        struct unit_delegate d = {};

        for (; *values; values++)
                unit_delegate_apply(&d, *values);
        return d;
}

#define APPLY(...) apply_all((const char *const[]) { __VA_ARGS__, NULL })

/* Found by fuzzing: a word over 63 bytes after a blank looped forever; quoted blanks inside it too. */
START_TEST(test_delegate_overlong_word) {
        char v[512];
        struct unit_delegate d;

        snprintf(v, sizeof v, "cpu %0200d memory", 0);
        d = APPLY(v);
        ck_assert(d.delegate);
        ck_assert_uint_eq(d.controllers, CONTROLLER_CPU | CONTROLLER_MEMORY);
        ck_assert_uint_eq(d.invalid, 1);
        snprintf(v, sizeof v, "  \"%0100d %0100d\" pids", 0, 1);
        d = APPLY(v);
        ck_assert_uint_eq(d.controllers, CONTROLLER_PIDS);
        ck_assert_uint_eq(d.invalid, 1);
}
END_TEST

START_TEST(test_delegate_semantics) {
        struct unit_delegate d;

        d = APPLY("pids memory cpu");
        ck_assert(d.delegate);
        ck_assert_uint_eq(d.controllers, CONTROLLER_PIDS | CONTROLLER_MEMORY | CONTROLLER_CPU);
        /* Lists merge. */
        d = APPLY("pids memory cpu", "cpuset io");
        ck_assert_uint_eq(d.controllers, CONTROLLERS_WANTED);
        /* An empty assignment resets the list but keeps delegation on. */
        d = APPLY("pids memory cpu", "", "io");
        ck_assert(d.delegate);
        ck_assert_uint_eq(d.controllers, CONTROLLER_IO);
        d = APPLY("yes", "");
        ck_assert(d.delegate);
        ck_assert_uint_eq(d.controllers, 0);
        /* Booleans replace. */
        d = APPLY("pids", "no");
        ck_assert(!d.delegate);
        ck_assert_uint_eq(d.controllers, 0);
        d = APPLY("no", "memory");
        ck_assert(d.delegate);
        ck_assert_uint_eq(d.controllers, CONTROLLER_MEMORY);
        for (const char *const *y = (const char *const[]) { "yes", "true", "1", "on", "YES", "On", "y", "t", NULL };
             *y; y++) {
                d = APPLY("memory", *y);
                ck_assert_msg(d.delegate && d.controllers == CONTROLLERS_WANTED, "%s", *y);
        }
        for (const char *const *n = (const char *const[]) { "no", "false", "0", "off", "NO", "n", "f", NULL }; *n;
             n++) {
                d = APPLY("memory", *n);
                ck_assert_msg(!d.delegate && d.controllers == 0, "%s", *n);
        }
        /* systemd never delegates hugetlb: an invalid name, ignored. Known non-v2 names add nothing. */
        d = APPLY("hugetlb memory bogus cpuacct blkio devices bpf-firewall");
        ck_assert_uint_eq(d.controllers, CONTROLLER_MEMORY);
        ck_assert_uint_eq(d.invalid, 2);
        /* Quoting: quotes are removed within words; a quoted blank makes one (invalid) word. */
        d = APPLY("\"cpu\" 'io' m\"emo\"ry");
        ck_assert_uint_eq(d.controllers, CONTROLLER_CPU | CONTROLLER_IO | CONTROLLER_MEMORY);
        d = APPLY("\"cpu memory\"");
        ck_assert(d.delegate);
        ck_assert_uint_eq(d.controllers, 0);
        ck_assert_uint_eq(d.invalid, 1);
        /* "yes" in quotes is not a boolean but a word, and no controller. */
        d = APPLY("pids", "\"yes\"");
        ck_assert_uint_eq(d.controllers, CONTROLLER_PIDS);
        /* An unterminated quote voids the whole assignment, as systemd's extract_first_word does. */
        d = APPLY("pids", "memory \"cpu");
        ck_assert_uint_eq(d.controllers, CONTROLLER_PIDS);
        d = APPLY("memory\\");
        ck_assert(!d.delegate);
        /* An overlong word is skipped, not truncated into a name. */
        {
                char w[200];

                memset(w, 'a', sizeof w - 1);
                w[sizeof w - 1] = '\0';
                memcpy(w + 150, " pids", 6);
                d = APPLY(w);
                ck_assert_uint_eq(d.controllers, CONTROLLER_PIDS);
        }
}
END_TEST

static char root[TREE_PATH_MAX];

static int load(const char *name, struct unit_info *u, struct un_error *err) {
        struct host h = { .root_fd = -1 };
        int r;

        ck_assert_int_eq(host_init(&h, root, NULL), 0);
        r = unit_load(&h, name, u, err);
        host_done(&h);
        return r;
}

#define DEBIAN_USER_SERVICE                                                            \
        "[Unit]\nDescription=User Manager for UID %i\nAfter=systemd-user-sessions.service\n" \
        "[Service]\nUser=%i\nPAMName=systemd-user\nType=notify\nExecStart=/lib/systemd/systemd --user\n" \
        "Slice=user-%i.slice\nKillMode=mixed\nDelegate=pids memory cpu\nTasksMax=infinity\n"

START_TEST(test_load_precedence) {
        struct unit_info u = {};
        struct un_error err = {};

        tree_make(root, "unit");
        tree_link(root, "usr/lib", "lib");        /* merged /usr: /lib/systemd/system is the same directory */
        tree_put(root, "usr/lib/systemd/system/user@.service", DEBIAN_USER_SERVICE);
        tree_put(root, "usr/lib/systemd/system/user@.service.d/10-login-barrier.conf", "[Unit]\nAfter=systemd-logind.service\n");
        ck_assert_int_eq(load("user@1000.service", &u, &err), 0);
        ck_assert(u.found && !u.masked);
        ck_assert_str_eq(u.fragment, "/usr/lib/systemd/system/user@.service");
        ck_assert_uint_eq(u.delegate.controllers, CONTROLLER_PIDS | CONTROLLER_MEMORY | CONTROLLER_CPU);
        /* The merged /lib copy is the same name and dedupes away. */
        ck_assert_uint_eq(strv_length(u.dropins), 1);
        unit_info_done(&u);

        /* Drop-ins from every directory, lexical order by file name across directories. */
        tree_put(root, "etc/systemd/system/user@.service.d/50-usernode-delegate.conf",
            "[Service]\nDelegate=cpu cpuset io memory pids\n");
        tree_put(root, "usr/lib/systemd/system/user@.service.d/90-late.conf", "[Service]\nDelegate=\nDelegate=memory\n");
        tree_put(root, "run/systemd/system/user@1000.service.d/20-instance.conf", "[Service]\nDelegate=no\n");
        tree_put(root, "usr/local/lib/systemd/system/service.d/05-all.conf", "[Service]\nDelegate=io\n");
        ck_assert_int_eq(load("user@1000.service", &u, &err), 0);
        ck_assert_uint_eq(strv_length(u.dropins), 5);
        ck_assert_str_eq(u.dropins[0], "/usr/local/lib/systemd/system/service.d/05-all.conf");
        ck_assert_str_eq(u.dropins[1], "/usr/lib/systemd/system/user@.service.d/10-login-barrier.conf");
        ck_assert_str_eq(u.dropins[2], "/run/systemd/system/user@1000.service.d/20-instance.conf");
        ck_assert_str_eq(u.dropins[3], "/etc/systemd/system/user@.service.d/50-usernode-delegate.conf");
        ck_assert_str_eq(u.dropins[4], "/usr/lib/systemd/system/user@.service.d/90-late.conf");
        ck_assert(u.delegate.delegate);
        ck_assert_uint_eq(u.delegate.controllers, CONTROLLER_MEMORY);
        unit_info_done(&u);

        /* The template itself does not see the instance's drop-ins. */
        ck_assert_int_eq(load("user@.service", &u, &err), 0);
        ck_assert_uint_eq(strv_length(u.dropins), 4);
        unit_info_done(&u);

        /* A same-named drop-in in a higher directory replaces a lower one; a /dev/null link masks it. */
        tree_put(root, "etc/systemd/system/user@.service.d/90-late.conf", "[Service]\nDelegate=pids\n");
        tree_link(root, "/dev/null", "etc/systemd/system/service.d/05-all.conf");
        ck_assert_int_eq(load("user@1000.service", &u, &err), 0);
        ck_assert_uint_eq(strv_length(u.dropins), 4);
        ck_assert_uint_eq(u.masked_dropins, 1);
        ck_assert_str_eq(u.dropins[3], "/etc/systemd/system/user@.service.d/90-late.conf");
        ck_assert_uint_eq(u.delegate.controllers, CONTROLLERS_WANTED);
        unit_info_done(&u);

        /* A unit file in /etc wins over /usr/lib; an instance file anywhere wins over the template. */
        tree_put(root, "etc/systemd/system/user@.service", "[Service]\nDelegate=yes\n");
        ck_assert_int_eq(load("user@1000.service", &u, &err), 0);
        ck_assert_str_eq(u.fragment, "/etc/systemd/system/user@.service");
        unit_info_done(&u);
        tree_put(root, "usr/lib/systemd/system/user@1000.service", "[Service]\nDelegate=no\n");
        ck_assert_int_eq(load("user@1000.service", &u, &err), 0);
        ck_assert_str_eq(u.fragment, "/usr/lib/systemd/system/user@1000.service");
        unit_info_done(&u);
        tree_remove(root);
}
END_TEST

START_TEST(test_load_masked) {
        struct unit_info u = {};
        struct un_error err = {};

        tree_make(root, "unit");
        tree_put(root, "usr/lib/systemd/system/user@.service", DEBIAN_USER_SERVICE);
        tree_put(root, "usr/lib/systemd/system/user@.service.d/50-x.conf", "[Service]\nDelegate=yes\n");
        tree_link(root, "/dev/null", "etc/systemd/system/user@.service");
        ck_assert_int_eq(load("user@1000.service", &u, &err), 0);
        ck_assert(u.found && u.masked);
        ck_assert_str_eq(u.fragment, "/etc/systemd/system/user@.service");
        ck_assert(!u.delegate.delegate);
        ck_assert_ptr_null(u.dropins);
        unit_info_done(&u);

        /* An empty unit file masks too (null_or_empty). */
        tree_remove(root);
        tree_make(root, "unit");
        tree_put(root, "usr/lib/systemd/system/user@.service", DEBIAN_USER_SERVICE);
        tree_put(root, "run/systemd/system/user@.service", "");
        ck_assert_int_eq(load("user@1000.service", &u, &err), 0);
        ck_assert(u.masked);
        unit_info_done(&u);

        /* No unit at all; a dangling link is no unit either. */
        tree_remove(root);
        tree_make(root, "unit");
        tree_link(root, "/nonexistent", "etc/systemd/system/user@.service");
        ck_assert_int_eq(load("user@1000.service", &u, &err), 0);
        ck_assert(!u.found && !u.masked);
        ck_assert_ptr_null(u.fragment);
        unit_info_done(&u);

        ck_assert_int_eq(load("../etc/passwd", &u, &err), -EINVAL);
        ck_assert_int_eq(load("noext", &u, &err), -EINVAL);
        tree_remove(root);
}
END_TEST

START_TEST(test_load_bounds) {
        struct unit_info u = {};
        struct un_error err = {};
        char rel[128];

        tree_make(root, "unit");
        tree_put(root, "usr/lib/systemd/system/user@.service", DEBIAN_USER_SERVICE);
        for (unsigned i = 0; i < UNIT_DROPINS_MAX; i++) {
                snprintf(rel, sizeof rel, "etc/systemd/system/user@.service.d/%04u.conf", i);
                tree_put(root, rel, i == UNIT_DROPINS_MAX - 1 ? "[Service]\nDelegate=cpuset io\n" : "[Unit]\n");
        }
        tree_put(root, "etc/systemd/system/user@.service.d/README", "not a drop-in\n");
        tree_put(root, "etc/systemd/system/user@.service.d/.hidden.conf", "[Service]\nDelegate=no\n");
        tree_mkdir(root, "etc/systemd/system/user@.service.d/dir.conf");
        ck_assert_int_eq(load("user@1000.service", &u, &err), 0);
        ck_assert_uint_eq(strv_length(u.dropins), UNIT_DROPINS_MAX);
        ck_assert_uint_eq(u.delegate.controllers, CONTROLLERS_WANTED);
        unit_info_done(&u);

        tree_put(root, "etc/systemd/system/user@.service.d/9999.conf", "[Unit]\n");
        ck_assert_int_eq(load("user@1000.service", &u, &err), -E2BIG);
        ck_assert_ptr_nonnull(strstr(err.msg, "more than 1000 drop-ins"));
        tree_remove(root);

        /* A malformed or oversized drop-in fails the load with its name. */
        tree_make(root, "unit");
        tree_put(root, "usr/lib/systemd/system/user@.service", DEBIAN_USER_SERVICE);
        tree_put(root, "etc/systemd/system/user@.service.d/50-bad.conf", "[Service\nDelegate=yes\n");
        ck_assert_int_eq(load("user@1000.service", &u, &err), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err.msg, "/etc/systemd/system/user@.service.d/50-bad.conf:1"));
        {
                char p[512];
                FILE *f;

                snprintf(p, sizeof p, "%s/etc/systemd/system/user@.service.d/50-bad.conf", root);
                f = fopen(p, "we");
                ck_assert_ptr_nonnull(f);
                ck_assert_int_eq(ftruncate(fileno(f), UNIT_FILE_MAX + 1), 0);
                fclose(f);
        }
        ck_assert_int_eq(load("user@1000.service", &u, &err), -EFBIG);
        tree_remove(root);
}
END_TEST

Suite *unitfile_suite(void) {
        Suite *s = suite_create("unitfile");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_syntax);
        tcase_add_test(tc, test_hostile);
        tcase_add_test(tc, test_delegate_semantics);
        tcase_add_test(tc, test_delegate_overlong_word);
        tcase_add_test(tc, test_load_precedence);
        tcase_add_test(tc, test_load_masked);
        tcase_add_test(tc, test_load_bounds);
        tcase_set_timeout(tc, 30);
        suite_add_tcase(s, tc);
        return s;
}
