/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host.h"
#include "suites.h"
#include "tree.h"
#include "util.h"

static char root[TREE_PATH_MAX];
static char outside[TREE_PATH_MAX];

static void make_tree(void) {
        char p[256];

        tree_make(root, "host");
        tree_make(outside, "outside");
        tree_put(outside, "secret", "outside\n");
        tree_put(root, "etc/hostname", "inside\n");
        tree_put(root, "usr/lib/os-release", "ID=debian\n");
        tree_link(root, "/usr/lib/os-release", "etc/os-release");          /* absolute: resolved in the root */
        tree_link(root, "../../../../../../etc/hostname", "etc/dotdot");    /* climbs past the root: clamped */
        snprintf(p, sizeof p, "%s/secret", outside);
        tree_link(root, p, "etc/escape");                                    /* absolute path outside the root */
        tree_link(root, "usr/lib", "lib");                                   /* merged /usr */
        tree_link(root, "loop2", "etc/loop1");
        tree_link(root, "loop1", "etc/loop2");
        snprintf(p, sizeof p, "%s/etc/fifo", root);
        ck_assert_int_eq(mkfifo(p, 0644), 0);
}

static void remove_tree(void) {
        tree_remove(root);
        tree_remove(outside);
}

static void resolution_checks(struct host *h) {
        _cleanup_free_ char *s = NULL, *t = NULL, *u = NULL, *v = NULL;

        ck_assert_int_eq(host_read_file(h, "/etc/os-release", 4096, &s, NULL), 0);
        ck_assert_str_eq(s, "ID=debian\n");
        ck_assert_int_eq(host_read_line(h, "/etc/dotdot", &t), 0);
        ck_assert_str_eq(t, "inside");
        /* The link names a path outside; inside the root that path does not exist. */
        ck_assert_int_eq(host_read_file(h, "/etc/escape", 4096, &u, NULL), -ENOENT);
        ck_assert_int_eq(host_read_file(h, "/lib/os-release", 4096, &v, NULL), 0);
        ck_assert_int_eq(host_read_file(h, "/etc/loop1", 4096, &v, NULL), -ELOOP);
        ck_assert(host_exists(h, "/../../etc/hostname"));
        ck_assert(!host_exists(h, "/nonexistent"));
}

START_TEST(test_resolve_in_root) {
        struct host h = { .root_fd = -1 };

        make_tree();
        ck_assert_int_eq(host_init(&h, root, NULL), 0);
        ck_assert(h.offline);
        resolution_checks(&h);
        h.force_chase = true;
        resolution_checks(&h);
        host_done(&h);
        remove_tree();
}
END_TEST

START_TEST(test_read_bounds) {
        struct host h = { .root_fd = -1 };
        _cleanup_free_ char *s = NULL;
        char big[5000];

        make_tree();
        memset(big, 'x', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        tree_put(root, "etc/big", big);
        ck_assert_int_eq(host_init(&h, root, NULL), 0);
        ck_assert_int_eq(host_read_file(&h, "/etc/big", 4096, &s, NULL), -EFBIG);
        /* A FIFO must neither hang nor be read. */
        ck_assert_int_eq(host_read_file(&h, "/etc/fifo", 4096, &s, NULL), -EINVAL);
        ck_assert_int_eq(host_read_file(&h, "/etc", 4096, &s, NULL), -EISDIR);
        ck_assert_int_eq(host_read_file(&h, "relative", 4096, &s, NULL), -EINVAL);
        host_done(&h);
        remove_tree();
}
END_TEST

START_TEST(test_write_atomic) {
        struct host h = { .root_fd = -1 };
        struct un_error err = {};
        _cleanup_free_ char *s = NULL;
        struct stat st;
        char p[256];

        make_tree();
        ck_assert_int_eq(host_init(&h, root, NULL), 0);
        ck_assert_int_eq(host_write_atomic(&h, "/etc/new.conf", "a=1\n", 4, 0640, -1, -1, &err), 0);
        ck_assert_int_eq(host_read_file(&h, "/etc/new.conf", 4096, &s, NULL), 0);
        ck_assert_str_eq(s, "a=1\n");
        ck_assert_int_eq(host_stat(&h, "/etc/new.conf", &st, false), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0640);

        /* Never through a symlink: not the target, not a directory on the way. */
        ck_assert_int_eq(host_write_atomic(&h, "/etc/os-release", "x", 1, 0644, -1, -1, &err), -ELOOP);
        ck_assert(strstr(err.msg, "symlink") != NULL);
        ck_assert_int_eq(host_write_atomic(&h, "/lib/evil", "x", 1, 0644, -1, -1, &err), -ELOOP);
        ck_assert_int_eq(host_write_atomic(&h, "/etc/fifo", "x", 1, 0644, -1, -1, &err), -EINVAL);
        snprintf(p, sizeof p, "%s/usr/lib/evil", root);
        ck_assert_int_ne(access(p, F_OK), 0);
        snprintf(p, sizeof p, "%s/secret", outside);
        ck_assert_int_eq(host_write_atomic(&h, "/etc/escape", "x", 1, 0644, -1, -1, &err), -ELOOP);

        ck_assert_int_eq(host_mkdir_p(&h, "/var/lib/usernode/setup", 0755, &err), 0);
        ck_assert(host_exists(&h, "/var/lib/usernode/setup"));
        ck_assert_int_eq(host_mkdir_p(&h, "/lib/x", 0755, &err), -ELOOP);

        ck_assert_int_eq(host_unlink(&h, "/etc/new.conf", &err), 0);
        ck_assert_int_eq(host_unlink(&h, "/etc/new.conf", &err), -ENOENT);
        ck_assert_int_eq(host_unlink(&h, "/etc/os-release", &err), -ELOOP);
        host_done(&h);
        remove_tree();
}
END_TEST

START_TEST(test_live_root) {
        struct host h = { .root_fd = -1 };
        _cleanup_free_ char *p = NULL, *sh = NULL;

        ck_assert_int_eq(host_init(&h, "/", NULL), 0);
        ck_assert(!h.offline);
        p = host_path(&h, "/etc/passwd");
        ck_assert_str_eq(p, "/etc/passwd");
        ck_assert_int_eq(host_find_executable(&h, "sh", &sh), 0);
        ck_assert(strstr(sh, "/sh") != NULL);
        ck_assert_int_eq(host_find_executable(&h, "../sh", &sh), -EINVAL);
        host_done(&h);
}
END_TEST

Suite *host_suite(void) {
        Suite *s = suite_create("host");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_resolve_in_root);
        tcase_add_test(tc, test_read_bounds);
        tcase_add_test(tc, test_write_atomic);
        tcase_add_test(tc, test_live_root);
        suite_add_tcase(s, tc);
        return s;
}
