/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "users.h"

START_TEST(test_passwd) {
        struct id_table t = {};
        unsigned line = 0;
        const struct id_entry *e;

        ck_assert_int_eq(id_table_parse("root:x:0:0:root:/root:/bin/bash\n"
                                        "# comment\n"
                                        "+nisuser::::::\n"
                                        "alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\n",
                                        true, &t, &line),
                         0);
        ck_assert_uint_eq(t.n, 2);
        e = id_table_find_name(&t, "alice");
        ck_assert_ptr_nonnull(e);
        ck_assert_uint_eq(e->id, 1000);
        ck_assert_uint_eq(e->gid, 1000);
        ck_assert_str_eq(e->home, "/home/alice");
        ck_assert_ptr_eq(id_table_find_id(&t, 0), &t.entries[0]);
        ck_assert_ptr_null(id_table_find_name(&t, "bob"));
        id_table_done(&t);
}
END_TEST

START_TEST(test_passwd_malformed) {
        struct id_table t = {};
        unsigned line = 0;
        char *big;

        ck_assert_int_eq(id_table_parse("root:x:0:0:root:/root:/bin/bash\nbad:x:notanumber:0::/:/bin/sh\n", true, &t,
                                        &line),
                         -EBADMSG);
        ck_assert_uint_eq(line, 2);
        ck_assert_int_eq(id_table_parse("a:x:1:1:::\nb:x:2:2::\n", true, &t, &line), -EBADMSG);
        ck_assert_uint_eq(line, 2);
        ck_assert_int_eq(id_table_parse("a:x:1:1:::extra:field\n", true, &t, &line), -EBADMSG);
        ck_assert_int_eq(id_table_parse("a:x:4294967295:1:::\n", true, &t, &line), -EBADMSG);
        ck_assert_int_eq(id_table_parse("users:x:100:alice,bob\n", false, &t, &line), 0);
        ck_assert_uint_eq(t.entries[0].id, 100);
        id_table_done(&t);

        big = malloc(10000);
        memset(big, 'a', 9999);
        big[9999] = '\0';
        ck_assert_int_eq(id_table_parse(big, false, &t, &line), -E2BIG);
        ck_assert_uint_eq(line, 1);
        free(big);
}
END_TEST

Suite *users_suite(void) {
        Suite *s = suite_create("users");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_passwd);
        tcase_add_test(tc, test_passwd_malformed);
        suite_add_tcase(s, tc);
        return s;
}
