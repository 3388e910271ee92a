/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "base64.h"
#include "suites.h"
#include "util.h"

START_TEST(test_base64) {
        static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
        static const char *const std[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
        static const char *const url[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };
        static const char *const bad_std[] = { "Zg=", "Z=g=", "Zg==Zg==", "Z!==", "Zg", "Z===", "Zh==", "Zm9=", "Zm-_" };
        static const char *const bad_url[] = { "Zg==", "Z", "Zm+/", "Zh" };
        unsigned char *out;
        char *text;
        size_t len;

        for (size_t i = 0; i < ELEMENTSOF(plain); i++) {
                text = base64_encode(plain[i], strlen(plain[i]), BASE64_STD);
                ck_assert_str_eq(text, std[i]);
                free(text);
                text = base64_encode(plain[i], strlen(plain[i]), BASE64_URL);
                ck_assert_str_eq(text, url[i]);
                free(text);
                ck_assert_int_eq(base64_decode(std[i], BASE64_STD, &out, &len), 0);
                ck_assert_uint_eq(len, strlen(plain[i]));
                ck_assert_str_eq((char *) out, plain[i]);
                free(out);
                ck_assert_int_eq(base64_decode(url[i], BASE64_URL, &out, &len), 0);
                ck_assert_uint_eq(len, strlen(plain[i]));
                ck_assert_str_eq((char *) out, plain[i]);
                free(out);
        }
        /* One text per value: padding where due only, no stray bits, each form its own alphabet. */
        for (size_t i = 0; i < ELEMENTSOF(bad_std); i++)
                ck_assert_msg(base64_decode(bad_std[i], BASE64_STD, &out, &len) == -EINVAL, "took %s", bad_std[i]);
        for (size_t i = 0; i < ELEMENTSOF(bad_url); i++)
                ck_assert_msg(base64_decode(bad_url[i], BASE64_URL, &out, &len) == -EINVAL, "took %s", bad_url[i]);
        /* Binary with NUL bytes and the alphabets' last two digits survive. */
        static const unsigned char bin[] = { 'a', 0, 'b', '\n', 0xfb, 0xff, 0xbf };
        for (int form = BASE64_STD; form <= BASE64_URL; form++) {
                text = base64_encode(bin, sizeof bin, (enum base64_form) form);
                ck_assert_int_eq(base64_decode(text, (enum base64_form) form, &out, &len), 0);
                ck_assert_uint_eq(len, sizeof bin);
                ck_assert_int_eq(memcmp(out, bin, sizeof bin), 0);
                free(out);
                free(text);
        }
}
END_TEST

START_TEST(test_parse_u32) {
        uint32_t v;

        ck_assert_int_eq(parse_u32("0", &v), 0);
        ck_assert_uint_eq(v, 0);
        ck_assert_int_eq(parse_u32("4294967295", &v), 0);
        ck_assert_uint_eq(v, 4294967295u);
        ck_assert_int_eq(parse_u32("4294967296", &v), -ERANGE);
        ck_assert_int_eq(parse_u32("99999999999999999999999", &v), -ERANGE);
        ck_assert_int_eq(parse_u32("", &v), -EINVAL);
        ck_assert_int_eq(parse_u32("-1", &v), -EINVAL);
        ck_assert_int_eq(parse_u32("+1", &v), -EINVAL);
        ck_assert_int_eq(parse_u32(" 1", &v), -EINVAL);
        ck_assert_int_eq(parse_u32("1 ", &v), -EINVAL);
        ck_assert_int_eq(parse_u32("0x10", &v), -EINVAL);
        ck_assert_int_eq(parse_id("4294967295", &v), -ERANGE);
        ck_assert_int_eq(parse_id("4294967294", &v), 0);
}
END_TEST

START_TEST(test_parse_i64) {
        int64_t v;

        ck_assert_int_eq(parse_i64("-5", &v), 0);
        ck_assert_int_eq(v, -5);
        ck_assert_int_eq(parse_i64("-", &v), -EINVAL);
        ck_assert_int_eq(parse_i64("9223372036854775808", &v), -ERANGE);
}
END_TEST

START_TEST(test_line_next) {
        char text[] = "a\n\nbb\nccc";
        char *cursor = text, *l;
        int r = 0;

        ck_assert_str_eq(line_next(&cursor, 10, &r), "a");
        ck_assert_str_eq(line_next(&cursor, 10, &r), "");
        ck_assert_str_eq(line_next(&cursor, 10, &r), "bb");
        ck_assert_str_eq(line_next(&cursor, 10, &r), "ccc");
        ck_assert_ptr_null(line_next(&cursor, 10, &r));
        ck_assert_int_eq(r, 0);

        char longer[] = "ok\ntoolong\nafter";
        cursor = longer;
        ck_assert_str_eq(line_next(&cursor, 3, &r), "ok");
        l = line_next(&cursor, 3, &r);
        ck_assert_ptr_null(l);
        ck_assert_int_eq(r, -E2BIG);
        ck_assert_ptr_null(line_next(&cursor, 3, &r));
}
END_TEST

START_TEST(test_strv_split) {
        _cleanup_strv_free_ char **l = NULL;

        ck_assert_int_eq(strv_split("  a,b ,,c  ", ", ", &l), 0);
        ck_assert_uint_eq(strv_length(l), 3);
        ck_assert_str_eq(l[0], "a");
        ck_assert_str_eq(l[2], "c");
        ck_assert(strv_contains(l, "b"));
        ck_assert(!strv_contains(l, "d"));
}
END_TEST

START_TEST(test_user_names) {
        ck_assert(valid_user_name("alice"));
        ck_assert(valid_user_name("_svc-1.x"));
        ck_assert(valid_user_name("machine$"));
        ck_assert(!valid_user_name(""));
        ck_assert(!valid_user_name("a:b"));
        ck_assert(!valid_user_name("1abc"));
        ck_assert(!valid_user_name("a$b"));
        ck_assert(!valid_user_name("../etc"));
        ck_assert(!valid_user_name("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}
END_TEST

START_TEST(test_buf) {
        struct buf b = {};
        _cleanup_free_ char *s = NULL;

        for (int i = 0; i < 1000; i++)
                ck_assert_int_eq(buf_printf(&b, "%d,", i), 0);
        s = buf_steal(&b);
        ck_assert(strncmp(s, "0,1,2,", 6) == 0);
        ck_assert(strstr(s, "999,") != NULL);
}
END_TEST

Suite *util_suite(void) {
        Suite *s = suite_create("util");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_base64);
        tcase_add_test(tc, test_parse_u32);
        tcase_add_test(tc, test_parse_i64);
        tcase_add_test(tc, test_line_next);
        tcase_add_test(tc, test_strv_split);
        tcase_add_test(tc, test_user_names);
        tcase_add_test(tc, test_buf);
        suite_add_tcase(s, tc);
        return s;
}
