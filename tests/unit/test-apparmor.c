/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apparmor.h"
#include "suites.h"
#include "tree.h"
#include "util.h"

/* Ubuntu 24.04's /etc/apparmor.d/rootlesskit, in shape. */
static const char ubuntu_rootlesskit[] =
        "# This profile allows everything and only exists to give the\n"
        "# application a name instead of having the label \"unconfined\"\n"
        "\n"
        "abi <abi/4.0>,\n"
        "include <tunables/global>\n"
        "\n"
        "profile rootlesskit /usr/bin/rootlesskit flags=(unconfined) {\n"
        "  userns,\n"
        "\n"
        "  # Site-specific additions and overrides. See local/README for details.\n"
        "  include if exists <local/rootlesskit>\n"
        "}\n";

static struct apparmor_file parse_ok(const char *text) {
        struct apparmor_file f = {};
        unsigned line = 0;

        ck_assert_int_eq(apparmor_parse(text, &f, &line), 0);
        return f;
}

static bool allows(const char *text, const char *path) {
        struct apparmor_file f = parse_ok(text);
        bool found = false;

        for (size_t i = 0; i < f.n; i++)
                found = found || apparmor_profile_allows_userns(&f.profiles[i], path);
        apparmor_file_done(&f);
        return found;
}

START_TEST(test_ubuntu_shape) {
        struct apparmor_file f = parse_ok(ubuntu_rootlesskit);

        ck_assert_uint_eq(f.n, 1);
        ck_assert_str_eq(f.profiles[0].name, "rootlesskit");
        ck_assert_str_eq(f.profiles[0].attachment, "/usr/bin/rootlesskit");
        ck_assert_str_eq(f.profiles[0].flags, "unconfined");
        ck_assert(f.profiles[0].userns_allowed);
        ck_assert(!f.profiles[0].userns_denied);
        ck_assert_uint_eq(f.profiles[0].line, 7);
        ck_assert(apparmor_profile_allows_userns(&f.profiles[0], "/usr/bin/rootlesskit"));
        ck_assert(!apparmor_profile_allows_userns(&f.profiles[0], "/usr/local/bin/rootlesskit"));
        ck_assert(!apparmor_profile_allows_userns(&f.profiles[0], "/usr/bin/rootlesskit2"));
        apparmor_file_done(&f);
}
END_TEST

START_TEST(test_header_forms) {
        struct apparmor_file f;

        /* No "profile" keyword: the attachment is the name. */
        f = parse_ok("/usr/local/bin/rootlesskit/rootlesskit flags=(unconfined) {\n  userns,\n}\n");
        ck_assert_uint_eq(f.n, 1);
        ck_assert_str_eq(f.profiles[0].name, "/usr/local/bin/rootlesskit/rootlesskit");
        ck_assert_str_eq(f.profiles[0].attachment, "/usr/local/bin/rootlesskit/rootlesskit");
        apparmor_file_done(&f);

        /* A header over two lines, with an alternation in the attachment (apptainer's). */
        f = parse_ok("profile apptainer /usr/libexec/apptainer/bin/starter{,-suid} \n    flags=(unconfined) {\n"
                     "  userns,\n  include if exists <local/apptainer> \n}\n");
        ck_assert_uint_eq(f.n, 1);
        ck_assert_str_eq(f.profiles[0].flags, "unconfined");
        ck_assert(apparmor_profile_allows_userns(&f.profiles[0], "/usr/libexec/apptainer/bin/starter"));
        ck_assert(apparmor_profile_allows_userns(&f.profiles[0], "/usr/libexec/apptainer/bin/starter-suid"));
        ck_assert(!apparmor_profile_allows_userns(&f.profiles[0], "/usr/libexec/apptainer/bin/starter-x"));
        apparmor_file_done(&f);

        /* Flags with blanks, the old bare form, no attachment, quoted names. */
        f = parse_ok("profile a /usr/bin/a flags = ( complain, attach_disconnected ) {\n}\n"
                     "profile b /usr/bin/b (unconfined) {\n}\n"
                     "profile c flags=(unconfined) {\n  userns,\n}\n"
                     "profile \"my prof\" \"/opt/my app/bin/x\" {\n  userns,\n}\n");
        ck_assert_uint_eq(f.n, 4);
        ck_assert_str_eq(f.profiles[0].flags, "complain,attach_disconnected");
        ck_assert_str_eq(f.profiles[1].flags, "unconfined");
        ck_assert_ptr_null(f.profiles[2].attachment);
        ck_assert(f.profiles[2].userns_allowed);
        ck_assert(!apparmor_profile_allows_userns(&f.profiles[2], "/usr/bin/c"));
        ck_assert_str_eq(f.profiles[3].name, "my prof");
        ck_assert(apparmor_profile_allows_userns(&f.profiles[3], "/opt/my app/bin/x"));
        apparmor_file_done(&f);

        /* Blocks opened straight after the flags, and on the next line. */
        ck_assert(allows("profile k /usr/bin/k flags=(unconfined){\n userns,\n}\n", "/usr/bin/k"));
        ck_assert(allows("profile k /usr/bin/k\n{\n userns,\n}\n", "/usr/bin/k"));
}
END_TEST

START_TEST(test_globs_in_attachment) {
        const char *bitbake = "abi <abi/4.0>,\ninclude <tunables/global>\n"
                              "profile bitbake /**/bitbake/bin/bitbake* flags=(unconfined) {\n        userns,\n}\n";

        ck_assert(allows(bitbake, "/home/a/poky/bitbake/bin/bitbake-worker"));
        ck_assert(!allows(bitbake, "/home/a/bitbake/bin/x/bitbake"));
        ck_assert(allows("/usr/{,local/}bin/rootlesskit {\n userns,\n}\n", "/usr/local/bin/rootlesskit"));
        ck_assert(allows("/usr/{,local/}bin/rootlesskit {\n userns,\n}\n", "/usr/bin/rootlesskit"));
        ck_assert(allows("/usr/bin/rootless[a-z]it {\n userns,\n}\n", "/usr/bin/rootlesskit"));
        ck_assert(!allows("/usr/bin/*kit {\n userns,\n}\n", "/usr/bin/sub/rootlesskit"));
}
END_TEST

START_TEST(test_rules) {
        /* Comments, includes, rules on one line, qualifiers. */
        ck_assert(allows("profile r /r {\n  audit allow userns create, # trailing comment\n}\n", "/r"));
        ck_assert(allows("profile r /r {\n  capability, userns, network,\n}\n", "/r"));
        ck_assert(allows("#include <tunables/global>\nprofile r /r {\n  #include <abstractions/base>\n  userns,\n}\n",
                         "/r"));
        ck_assert(!allows("profile r /r {\n  # userns,\n}\n", "/r"));
        ck_assert(!allows("profile r /r {\n  userns bogus,\n  userns create extra,\n  usernsx,\n}\n", "/r"));
        /* Outside the block, in a child profile, in a hat: not this profile's rule. */
        ck_assert(!allows("userns,\nprofile r /r {\n}\nuserns,\n", "/r"));
        ck_assert(!allows("profile r /r {\n  profile child {\n    userns,\n  }\n}\n", "/r"));
        ck_assert(!allows("profile r /r {\n  ^hat {\n    userns,\n  }\n}\n", "/r"));
        ck_assert(allows("profile r /r {\n  ^hat {\n  }\n  userns,\n}\n", "/r"));
        /* Paths with alternations inside the block do not open blocks. */
        ck_assert(allows("profile r /r {\n  /usr/{bin,sbin}/* rix,\n  userns,\n}\n", "/r"));
        /* deny wins over allow. */
        ck_assert(!allows("profile r /r {\n  userns,\n  audit deny userns create,\n}\n", "/r"));
        /* The rule must be in the profile that attaches. */
        ck_assert(!allows("profile a /a {\n  userns,\n}\nprofile r /r {\n}\n", "/r"));
}
END_TEST

START_TEST(test_variables) {
        const char *text = "@{exec_path} = /usr/bin/rootlesskit /usr/local/bin/rootlesskit\n"
                           "@{exec_path} += /opt/rk/rootlesskit\n"
                           "profile rootlesskit @{exec_path} flags=(unconfined) {\n  userns,\n}\n";

        ck_assert(allows(text, "/usr/bin/rootlesskit"));
        ck_assert(allows(text, "/usr/local/bin/rootlesskit"));
        ck_assert(allows(text, "/opt/rk/rootlesskit"));
        ck_assert(!allows(text, "/usr/sbin/rootlesskit"));
        /* A variable from an include we do not follow: cannot match, never a guess. */
        ck_assert(!allows("profile r @{HOME}/bin/r {\n  userns,\n}\n", "/home/a/bin/r"));
        /* Self-reference does not loop. */
        ck_assert(!allows("@{a} = @{a}\nprofile r @{a} {\n  userns,\n}\n", "/r"));
}
END_TEST

START_TEST(test_garbage) {
        struct apparmor_file f = {};
        unsigned line = 0;
        char *big;

        ck_assert_int_eq(apparmor_parse("profile r /r {\n  userns,\n}\n}\n", &f, &line), -EINVAL);
        ck_assert_uint_eq(line, 4);
        ck_assert_int_eq(apparmor_parse("profile r /r {\n  userns,\n", &f, &line), -EINVAL);
        ck_assert_int_eq(apparmor_parse("profile \"r /r {\n  userns,\n}\n", &f, &line), -EINVAL);
        /* Text after a NUL is not seen: the block is then unterminated. */
        ck_assert_int_eq(apparmor_parse("profile r /r {\0 userns,\n}\n", &f, &line), -EINVAL);

        big = malloc(10000);
        ck_assert_ptr_nonnull(big);
        memset(big, 'a', 9999);
        big[0] = '/';
        big[9999] = '\0';
        ck_assert_int_eq(apparmor_parse(big, &f, &line), -E2BIG);
        /* Nesting deeper than anything real. */
        for (size_t i = 0; i < 200; i++)
                memcpy(big + 2 * i, "{\n", 2);
        big[400] = '\0';
        ck_assert_int_eq(apparmor_parse(big, &f, &line), -E2BIG);
        /* Too many words in one statement. */
        for (size_t i = 0; i < 1000; i++)
                memcpy(big + 2 * i, "a ", 2);
        big[2000] = '\0';
        ck_assert_int_eq(apparmor_parse(big, &f, &line), -E2BIG);
        free(big);

        /* Binary junk: parses or fails, never crashes, never allows anything. */
        srand(42);
        for (int round = 0; round < 200; round++) {
                char junk[512];

                for (size_t i = 0; i < sizeof junk - 1; i++)
                        junk[i] = (char) (1 + rand() % 255);
                junk[sizeof junk - 1] = '\0';
                if (apparmor_parse(junk, &f, &line) == 0) {
                        for (size_t i = 0; i < f.n; i++)
                                ck_assert(!apparmor_profile_allows_userns(&f.profiles[i], "/usr/bin/rootlesskit"));
                        apparmor_file_done(&f);
                }
        }
}
END_TEST

START_TEST(test_glob) {
        ck_assert_int_eq(apparmor_glob_match("/usr/bin/*", "/usr/bin/k3s"), 1);
        ck_assert_int_eq(apparmor_glob_match("/usr/bin/*", "/usr/bin/a/k3s"), 0);
        ck_assert_int_eq(apparmor_glob_match("/usr/**", "/usr/bin/a/k3s"), 1);
        ck_assert_int_eq(apparmor_glob_match("/usr/**/k3s", "/usr/k3s"), 0);
        ck_assert_int_eq(apparmor_glob_match("/usr/**k3s", "/usr/k3s"), 1);
        ck_assert_int_eq(apparmor_glob_match("/usr/bin/k?s", "/usr/bin/k3s"), 1);
        ck_assert_int_eq(apparmor_glob_match("/usr/bin/k?s", "/usr/bin/k/s"), 0);
        ck_assert_int_eq(apparmor_glob_match("/usr/bin/k[0-9]s", "/usr/bin/k3s"), 1);
        ck_assert_int_eq(apparmor_glob_match("/usr/bin/k[^0-9]s", "/usr/bin/k3s"), 0);
        ck_assert_int_eq(apparmor_glob_match("/usr/bin/k\\*s", "/usr/bin/k*s"), 1);
        ck_assert_int_eq(apparmor_glob_match("/usr/bin/k\\*s", "/usr/bin/k3s"), 0);
        ck_assert_int_eq(apparmor_glob_match("/{a,b{c,d}}/x", "/bd/x"), 1);
        ck_assert_int_eq(apparmor_glob_match("/{a,b{c,d}}/x", "/b/x"), 0);
        ck_assert_int_eq(apparmor_glob_match("/{a,}x", "/x"), 1);
        ck_assert_int_eq(apparmor_glob_match("/x", "/x/"), 0);
        ck_assert_int_eq(apparmor_glob_match("", ""), 1);
        ck_assert_int_eq(apparmor_glob_match("/{a,b", "/a"), -EINVAL);
        ck_assert_int_eq(apparmor_glob_match("/a}", "/a"), -EINVAL);
        ck_assert_int_eq(apparmor_glob_match("/[ab", "/a"), -EINVAL);
        /* 2^11 alternatives: refused, not expanded. */
        ck_assert_int_eq(apparmor_glob_match("{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}", "a"), -E2BIG);
}
END_TEST

START_TEST(test_glob_pathological) {
        char path[4001];
        clock_t start = clock();

        memset(path, 'a', sizeof path - 1);
        path[sizeof path - 1] = '\0';
        /* Backtracking matchers take exponential time here; this one is linear. */
        ck_assert_int_eq(apparmor_glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", path), 0);
        ck_assert_int_eq(apparmor_glob_match("**a**a**a**a**a**a**a**a**a**a**a**a", path), 1);
        ck_assert(clock() - start < CLOCKS_PER_SEC);
}
END_TEST

static char root[TREE_PATH_MAX];

START_TEST(test_find_in_tree) {
        struct host h = { .root_fd = -EBADF };
        struct apparmor_match m = {};
        struct un_error err = {};
        unsigned unparsed = 0;

        tree_make(root, "apparmor");
        tree_put(root, "etc/apparmor.d/abstractions/base", "profile r /usr/bin/rootlesskit {\n userns,\n}\n");
        tree_put(root, "etc/apparmor.d/broken", "profile x /x {\n");
        tree_put(root, "etc/apparmor.d/README", "profile r /usr/bin/rootlesskit {\n userns,\n}\n");
        tree_put(root, "etc/apparmor.d/rk.dpkg-old", "profile r /usr/bin/rootlesskit {\n userns,\n}\n");
        tree_put(root, "etc/apparmor.d/aa-disabled", "profile d /usr/bin/rootlesskit {\n userns,\n}\n");
        tree_put(root, "etc/apparmor.d/disable/aa-disabled", "");
        ck_assert_int_eq(host_init(&h, root, &err), 0);

        ck_assert_int_eq(apparmor_find_userns_profile(&h, "/usr/bin/rootlesskit", &m, &unparsed), 0);
        ck_assert_uint_eq(unparsed, 1);

        tree_put(root, "etc/apparmor.d/rootlesskit", ubuntu_rootlesskit);
        ck_assert_int_eq(apparmor_find_userns_profile(&h, "/usr/bin/rootlesskit", &m, &unparsed), 1);
        ck_assert_str_eq(m.file, "/etc/apparmor.d/rootlesskit");
        ck_assert_str_eq(m.profile, "rootlesskit");
        apparmor_match_done(&m);
        ck_assert_int_eq(apparmor_find_userns_profile(&h, "/usr/bin/k3s", &m, &unparsed), 0);

        /* securityfs's list of loaded profiles. */
        ck_assert_int_lt(apparmor_profile_loaded(&h, "rootlesskit"), 0);
        tree_put(root, "sys/kernel/security/apparmor/profiles", "unprivileged_userns (enforce)\nmy prof (unconfined)\n"
                                                      "rootlesskit (unconfined)\n");
        ck_assert_int_eq(apparmor_profile_loaded(&h, "rootlesskit"), 1);
        ck_assert_int_eq(apparmor_profile_loaded(&h, "my prof"), 1);
        ck_assert_int_eq(apparmor_profile_loaded(&h, "rootless"), 0);
        host_done(&h);
        tree_remove(root);
}
END_TEST

START_TEST(test_render) {
        _cleanup_free_ char *text = NULL, *path = NULL;
        struct un_error err = {};
        struct apparmor_file f = {};

        ck_assert_int_eq(apparmor_userns_profile_render("/usr/bin/rootlesskit", &text, &err), 0);
        ck_assert(startswith(text, "abi <abi/4.0>,\ninclude <tunables/global>\n"));
        ck_assert_ptr_nonnull(strstr(text, "profile usernode-rootlesskit /usr/bin/rootlesskit flags=(unconfined) {\n"));
        /* What usernode writes, usernode reads back as allowing userns. */
        ck_assert_int_eq(apparmor_parse(text, &f, NULL), 0);
        ck_assert_uint_eq(f.n, 1);
        ck_assert(apparmor_profile_allows_userns(&f.profiles[0], "/usr/bin/rootlesskit"));
        apparmor_file_done(&f);

        path = apparmor_userns_profile_path("/usr/local/bin/k3s");
        ck_assert_str_eq(path, "/etc/apparmor.d/usernode-k3s");
        ck_assert_ptr_null(apparmor_userns_profile_path("bin/k3s"));
        ck_assert_ptr_null(apparmor_userns_profile_path("/usr/bin/a b"));
        ck_assert_ptr_null(apparmor_userns_profile_path("/usr/bin/"));
        ck_assert_int_lt(apparmor_userns_profile_render("/usr/bin/x{,y}", &text, &err), 0);
        ck_assert_int_lt(apparmor_userns_profile_render("/usr/bin/x\n}\nprofile evil /** {", &text, &err), 0);
}
END_TEST

Suite *apparmor_suite(void) {
        Suite *s = suite_create("apparmor");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_ubuntu_shape);
        tcase_add_test(tc, test_header_forms);
        tcase_add_test(tc, test_globs_in_attachment);
        tcase_add_test(tc, test_rules);
        tcase_add_test(tc, test_variables);
        tcase_add_test(tc, test_garbage);
        tcase_add_test(tc, test_glob);
        tcase_add_test(tc, test_glob_pathological);
        tcase_add_test(tc, test_find_in_tree);
        tcase_add_test(tc, test_render);
        suite_add_tcase(s, tc);
        return s;
}
