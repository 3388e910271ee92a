/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tree.h"

void tree_make(char root[TREE_PATH_MAX], const char *tag) {
        snprintf(root, TREE_PATH_MAX, "/tmp/usernode-%s-XXXXXX", tag);
        ck_assert_ptr_nonnull(mkdtemp(root));
}

void tree_mkdir(const char *root, const char *rel) {
        char p[4096];
        size_t skip = strlen(root) + 1;

        ck_assert_int_lt(snprintf(p, sizeof p, "%s/%s", root, rel), (int) sizeof p);
        for (char *s = p + skip; (s = strchr(s, '/')); s++) {
                *s = '\0';
                ck_assert(mkdir(p, 0755) == 0 || errno == EEXIST);
                *s = '/';
        }
        ck_assert(mkdir(p, 0755) == 0 || errno == EEXIST);
}

/* Makes the directory that will hold rel. */
static void parent_of(const char *root, const char *rel) {
        char dir[4096];
        char *slash;

        snprintf(dir, sizeof dir, "%s", rel);
        slash = strrchr(dir, '/');
        if (slash) {
                *slash = '\0';
                tree_mkdir(root, dir);
        }
}

void tree_put(const char *root, const char *rel, const char *content) {
        char p[4096];
        FILE *f;

        while (*rel == '/')
                rel++;
        parent_of(root, rel);
        snprintf(p, sizeof p, "%s/%s", root, rel);
        f = fopen(p, "we");
        ck_assert_msg(f != NULL, "cannot create %s", p);
        ck_assert_int_ge(fputs(content, f), 0);
        ck_assert_int_eq(fclose(f), 0);
}

void tree_link(const char *root, const char *target, const char *rel) {
        char p[4096];

        while (*rel == '/')
                rel++;
        parent_of(root, rel);
        snprintf(p, sizeof p, "%s/%s", root, rel);
        ck_assert_int_eq(symlink(target, p), 0);
}

void tree_remove(const char *root) {
        char cmd[TREE_PATH_MAX + 16];

        ck_assert(strncmp(root, "/tmp/usernode-", 14) == 0);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        ck_assert_int_eq(system(cmd), 0);
}
