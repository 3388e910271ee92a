/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>

#include "conffile.h"
#include "suites.h"

static const struct config_key keys[] = {
        { "engine", CONFIG_STRING }, { "wait", CONFIG_UINT }, { "ephemeral", CONFIG_BOOL },
        { "publish", CONFIG_LIST },
};

static int parse(const char *text, struct config *c, struct un_error *err) {
        return config_parse("test.yaml", text, strlen(text), keys, ELEMENTSOF(keys), c, err);
}

START_TEST(test_values) {
        struct config c = {};
        struct un_error err = {};
        const struct config_entry *e;

        ck_assert_int_eq(parse("# defaults\nengine: kubelet\nwait: 120\npublish: [\"8080:80\", 8443:443]\n"
                               "nodes:\n  ci:\n    engine: k3s\n    ephemeral: true\n    publish:\n      - 6443:6443\n",
                               &c, &err),
                         0);
        e = config_get(&c, NULL, "engine");
        ck_assert_str_eq(e->values[0], "kubelet");
        ck_assert_uint_eq(e->line, 2);
        ck_assert_uint_eq(e->column, 9);
        ck_assert_str_eq(config_get(&c, "ci", "engine")->values[0], "k3s");
        ck_assert_str_eq(config_get(&c, "other", "engine")->values[0], "kubelet");
        e = config_get(&c, NULL, "publish");
        ck_assert_str_eq(e->values[0], "8080:80");
        ck_assert_str_eq(e->values[1], "8443:443");
        ck_assert_ptr_null(e->values[2]);
        ck_assert_str_eq(config_get(&c, "ci", "publish")->values[0], "6443:6443");
        ck_assert_ptr_null(config_get(&c, NULL, "ephemeral"));
        config_done(&c);

        /* An empty file and a comment-only file are empty configurations. */
        ck_assert_int_eq(parse("", &c, &err), 0);
        ck_assert_int_eq(parse("# nothing\n", &c, &err), 0);
        ck_assert_uint_eq(c.n, 0);
}
END_TEST

static void expect_error(const char *text, const char *where, const char *what) {
        struct config c = {};
        struct un_error err = {};

        ck_assert_int_lt(parse(text, &c, &err), 0);
        ck_assert_msg(strstr(err.msg, where) && strstr(err.msg, what), "'%s' lacks '%s' / '%s'", err.msg, where, what);
        config_done(&c);
}

START_TEST(test_errors) {
        expect_error("engine: kubelet\nbogus: 1\n", "test.yaml:2:1", "unknown key 'bogus'");
        expect_error("wait: soon\n", "test.yaml:1:7", "non-negative integer");
        expect_error("wait: -1\n", "test.yaml:1:7", "non-negative integer");
        expect_error("wait: 99999999999\n", "test.yaml:1:7", "non-negative integer");
        expect_error("ephemeral: yes\n", "test.yaml:1:12", "true or false");
        expect_error("engine: [a, b]\n", "test.yaml:1:9", "single value");
        expect_error("nodes:\n  Bad_Name:\n    engine: k3s\n", "test.yaml:2:3", "node name");
        expect_error("nodes:\n  ci: 5\n", "test.yaml:2:7", "mapping for node");
        expect_error("engine: &a k3s\nwait: *a\n", "test.yaml:2:7", "");
        expect_error("engine: \"unterminated\n", "test.yaml:", "");
        expect_error("- a\n- b\n", "test.yaml:1:1", "mapping of settings");
        expect_error("engine: k3s\n---\nengine: kubelet\n", "test.yaml:", "one YAML document");
        expect_error("publish: [[nested]]\n", "test.yaml:1:11", "plain values");
}
END_TEST

Suite *conffile_suite(void) {
        Suite *s = suite_create("conffile");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_values);
        tcase_add_test(tc, test_errors);
        suite_add_tcase(s, tc);
        return s;
}
