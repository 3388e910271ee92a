/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Runs argv[0] (an absolute path on the live host; never under --root) with stdin and stderr on
 * /dev/null and no shell. Its stdout is returned in *ret_out (NUL-terminated; may be NULL to drop it),
 * bounded to max bytes (-EFBIG beyond) and timeout_ms (-ETIMEDOUT, the child is killed).
 * *ret_status is the exit status, or 128+signal. Output with a NUL byte is -EBADMSG. no_new_privs sets
 * PR_SET_NO_NEW_PRIVS in the child: for helpers that need no setuid bit or file capability. */
int spawn_capture(char *const argv[], size_t max, int timeout_ms, bool no_new_privs, char **ret_out,
                  int *ret_status);
