/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "error.h"

/* A positive errno from whatever the caller passed (-r, r, or a slip of 0). */
static int positive_code(int code) {
        code = code < 0 ? -code : code;
        return code == 0 ? EIO : code;
}

int un_error(struct un_error *err, int code, const char *fmt, ...) {
        code = positive_code(code);
        if (err) {
                va_list ap;
                char what[768];

                va_start(ap, fmt);
                vsnprintf(what, sizeof what, fmt, ap);
                va_end(ap);
                err->code = code;
                snprintf(err->msg, sizeof err->msg, "%.760s: %.200s", what, strerror(code));
        }
        return -code;
}

int un_error_msg(struct un_error *err, int code, const char *fmt, ...) {
        code = positive_code(code);
        if (err) {
                va_list ap;

                va_start(ap, fmt);
                vsnprintf(err->msg, sizeof err->msg, fmt, ap);
                va_end(ap);
                err->code = code;
        }
        return -code;
}

int un_error_wrap(struct un_error *err, int code, const char *fmt, ...) {
        code = positive_code(code);
        if (err) {
                va_list ap;
                char what[512], inner[sizeof err->msg];

                va_start(ap, fmt);
                vsnprintf(what, sizeof what, fmt, ap);
                va_end(ap);
                if (err->code == 0)
                        snprintf(inner, sizeof inner, "%s", strerror(code));
                else
                        snprintf(inner, sizeof inner, "%s", err->msg);
                err->code = code;
                snprintf(err->msg, sizeof err->msg, "%.500s: %.500s", what, inner);
        }
        return -code;
}
