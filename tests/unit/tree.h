/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Scratch directory trees for tests that need a fake host root: created under /tmp, every path
 * relative to the tree, parents made as needed, every step asserted. */
#define TREE_PATH_MAX 64

void tree_make(char root[TREE_PATH_MAX], const char *tag);
void tree_mkdir(const char *root, const char *rel);
void tree_put(const char *root, const char *rel, const char *content);
void tree_link(const char *root, const char *target, const char *rel);
void tree_remove(const char *root);
