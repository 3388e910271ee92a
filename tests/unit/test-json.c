/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "suites.h"

static char *render(const char *s) {
        char *out = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&out, &n);

        json_write_string(f, s);
        fclose(f);
        return out;
}

START_TEST(test_escape) {
        char *s;

        s = render("a\"b\\c\n\t\x01");
        ck_assert_str_eq(s, "\"a\\\"b\\\\c\\n\\t\\u0001\"");
        free(s);
        s = render("caf\xc3\xa9");
        ck_assert_str_eq(s, "\"caf\xc3\xa9\"");
        free(s);
        /* Invalid UTF-8: a lone continuation byte, an overlong encoding, a surrogate. */
        s = render("\x80" "\xc0\xaf" "\xed\xa0\x80");
        ck_assert_str_eq(s, "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"");
        free(s);
}
END_TEST

START_TEST(test_nesting) {
        char *out = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&out, &n);
        struct json j = { .f = f };

        json_begin_object(&j, NULL);
        json_string(&j, "a", "x");
        json_begin_array(&j, "l");
        json_int(&j, NULL, 1);
        json_bool(&j, NULL, false);
        json_string(&j, NULL, NULL);
        json_end_array(&j);
        json_begin_array(&j, "e");
        json_end_array(&j);
        json_end_object(&j);
        fclose(f);
        ck_assert_str_eq(out, "{\"a\":\"x\",\"l\":[1,false,null],\"e\":[]}\n");
        free(out);
}
END_TEST

Suite *json_suite(void) {
        Suite *s = suite_create("json");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_escape);
        tcase_add_test(tc, test_nesting);
        suite_add_tcase(s, tc);
        return s;
}
