/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

#include "util.h"

/* Appends a unified diff (3 lines of context, as `diff -u` prints it) of old -> new to out. old or new
 * NULL means the file is absent (shown as /dev/null). Nothing is appended when they are equal.
 * Returns 1 when they differ, 0 when equal, -ENOMEM. */
int diff_unified(const char *path, const char *old, size_t old_len, const char *new, size_t new_len,
                 struct buf *out);
