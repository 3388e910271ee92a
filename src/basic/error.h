/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "macro.h"

/* Context for an error on its way to the verb that prints it (crun's crun_make_error). */
struct un_error {
        int code;               /* positive errno */
        char msg[1024];
};

/* Sets err (if any) to "fmt: strerror(code)" and returns -code. code is a positive errno: pass -r for a
 * negative r (a negative code is taken as its absolute value, 0 as EIO, so a slip still reads right). */
int un_error(struct un_error *err, int code, const char *fmt, ...) _printf_(3, 4);
/* Sets err to fmt alone, for a message that says all there is to say without errno's words; returns -code. */
int un_error_msg(struct un_error *err, int code, const char *fmt, ...) _printf_(3, 4);
/* Prefixes the message already in err with more context, keeps the code; returns -code. */
int un_error_wrap(struct un_error *err, int code, const char *fmt, ...) _printf_(3, 4);
