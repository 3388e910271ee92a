/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdio.h>

#include "checks.h"
#include "rules.h"

/* Marks checks named by --ignore (exact IDs, or "prefix.*"). Returns 0, or -ENOENT with
 * *ret_unknown pointing at the first pattern that matches no check. */
int report_ignore(struct report *r, char * const *patterns, const char **ret_unknown);
/* Ready: no check failed that is not ignored; with strict, no warning either. */
bool report_ready(const struct report *r, bool strict);

void report_print_json(FILE *f, const struct check_ctx *c, const struct report *r,
                       const struct feature_result *features, bool ready);
void report_print_text(FILE *f, const struct check_ctx *c, const struct report *r,
                       const struct feature_result *features, bool ready, bool color);
/* Colour only on a terminal, never with NO_COLOR set (https://no-color.org) or TERM=dumb. */
bool report_use_color(FILE *f);
