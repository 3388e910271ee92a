/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "host.h"
#include "suites.h"
#include "template.h"
#include "tree.h"
#include "util.h"

static const struct template_var vars[] = {
        { "mtu", "65520" },
        { "state_dir", "/run/user/1000/usernode/default" },
        { "empty", "" },
};

START_TEST(test_render) {
        struct un_error err = {};
        char *out = NULL;

        ck_assert_int_eq(template_render("t", "mtu={{mtu}}\ndir={{state_dir}}{{empty}}\n{ \"a\": {} }\n", vars, 3,
                                         &out, &err),
                         0);
        ck_assert_str_eq(out, "mtu=65520\ndir=/run/user/1000/usernode/default\n{ \"a\": {} }\n");
        free(out);
}
END_TEST

START_TEST(test_errors) {
        struct un_error err = {};
        char *out = NULL;

        ck_assert_int_lt(template_render("t", "a\nb {{missing}}\n", vars, 3, &out, &err), 0);
        ck_assert(strstr(err.msg, "t:2") && strstr(err.msg, "missing"));
        ck_assert_int_lt(template_render("t", "{{unterminated\n", vars, 3, &out, &err), 0);
        ck_assert_int_lt(template_render("t", "{{}}", vars, 3, &out, &err), 0);
        ck_assert_int_lt(template_render("t", "{{Bad Name}}", vars, 3, &out, &err), 0);
        ck_assert_int_lt(template_load("../etc/passwd", &out, &err), 0);
        ck_assert_int_lt(template_load("/etc/passwd", &out, &err), 0);
}
END_TEST

/* The file templates/NAME of the source tree. */
static char *source_template(const char *name) {
        struct host h = { .root_fd = -EBADF };
        struct un_error err = {};
        _cleanup_free_ char *path = xstrdup_printf("/%s", name);
        char *text = NULL;

        ck_assert_msg(host_init(&h, TOP_SRCDIR "/templates", &err) == 0, "%s", err.msg);
        ck_assert_int_eq(host_read_file(&h, path, TEMPLATE_MAX, &text, NULL), 0);
        host_done(&h);
        return text;
}

/* Every file of templates/ is compiled in (Makefile.am lists them by hand), byte for byte. */
START_TEST(test_compiled_in) {
        DIR *d = opendir(TOP_SRCDIR "/templates");
        struct dirent *de;
        size_t files = 0, embedded = 0;

        ck_assert_ptr_nonnull(d);
        unsetenv("USERNODE_TEMPLATE_DIR");
        ck_assert_ptr_null(template_override_dir());
        while ((de = readdir(d))) {
                _cleanup_free_ char *want = NULL, *got = NULL;
                struct un_error err = {};

                if (de->d_name[0] == '.')
                        continue;
                files++;
                want = source_template(de->d_name);
                ck_assert_msg(template_load(de->d_name, &got, &err) == 0, "templates/%s is not compiled in: %s",
                              de->d_name, err.msg);
                ck_assert_msg(strcmp(want, got) == 0, "the compiled-in %s differs from templates/", de->d_name);
        }
        closedir(d);
        while (template_embedded_name(embedded))
                embedded++;
        ck_assert_uint_eq(embedded, files);
}
END_TEST

START_TEST(test_not_compiled_in) {
        struct un_error err = {};
        char *out = NULL;

        unsetenv("USERNODE_TEMPLATE_DIR");
        ck_assert_int_eq(template_load("no-such-template.in", &out, &err), -ENOENT);
        ck_assert_ptr_nonnull(strstr(err.msg, "no-such-template.in"));
}
END_TEST

static const struct check_result *templates_check(void) {
        static struct report r;
        struct check_ctx c = {};

        report_done(&r);
        ck_assert_int_eq(check_templates(&c, &r), 0);
        ck_assert_uint_eq(r.n_checks, 1);
        ck_assert_str_eq(r.checks[0].id, "templates.override");
        return &r.checks[0];
}

/* USERNODE_TEMPLATE_DIR: its files win, a file it lacks is an error naming it, and templates.override
 * says so (pass without it, warn with a complete one, fail with an incomplete one). */
START_TEST(test_override) {
        char dir[TREE_PATH_MAX];
        const struct check_result *res;
        struct un_error err = {};
        const char *name;
        char *out = NULL;

        unsetenv("USERNODE_TEMPLATE_DIR");
        res = templates_check();
        ck_assert_int_eq(res->status, CHECK_PASS);

        tree_make(dir, "templates");
        tree_put(dir, "cni-loopback.conf.in", "{ \"changed\": \"{{mtu}}\" }\n");
        setenv("USERNODE_TEMPLATE_DIR", dir, 1);
        ck_assert_str_eq(template_override_dir(), dir);
        ck_assert_int_eq(template_load("cni-loopback.conf.in", &out, &err), 0);
        ck_assert_str_eq(out, "{ \"changed\": \"{{mtu}}\" }\n");
        free(out);
        ck_assert_int_eq(template_load("containerd-config.toml.in", &out, &err), -ENOENT);
        ck_assert_msg(strstr(err.msg, "USERNODE_TEMPLATE_DIR"), "%s", err.msg);
        res = templates_check();
        ck_assert_int_eq(res->status, CHECK_FAIL);
        ck_assert_msg(strstr(res->detail, "lacks") && strstr(res->detail, "containerd-config.toml.in"), "%s", res->detail);
        ck_assert_str_eq(res->fix, "unset USERNODE_TEMPLATE_DIR");

        /* Complete, one of them changed: a warning that counts it. */
        for (size_t i = 0; (name = template_embedded_name(i)); i++)
                if (strcmp(name, "cni-loopback.conf.in") != 0)
                        tree_put(dir, name, template_embedded_text(name));
        res = templates_check();
        ck_assert_int_eq(res->status, CHECK_WARN);
        ck_assert_msg(strstr(res->detail, dir) && strstr(res->detail, "1 of "), "%s", res->detail);

        /* Empty means unset. */
        setenv("USERNODE_TEMPLATE_DIR", "", 1);
        ck_assert_ptr_null(template_override_dir());
        res = templates_check();
        ck_assert_int_eq(res->status, CHECK_PASS);
        tree_remove(dir);
}
END_TEST

Suite *template_suite(void) {
        Suite *s = suite_create("template");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_render);
        tcase_add_test(tc, test_errors);
        tcase_add_test(tc, test_compiled_in);
        tcase_add_test(tc, test_not_compiled_in);
        tcase_add_test(tc, test_override);
        suite_add_tcase(s, tc);
        return s;
}
