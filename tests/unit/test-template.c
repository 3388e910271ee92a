/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "template.h"

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

Suite *template_suite(void) {
        Suite *s = suite_create("template");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_render);
        tcase_add_test(tc, test_errors);
        suite_add_tcase(s, tc);
        return s;
}
