/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "checks.h"

int check_engine(struct check_ctx *c, struct report *r) {
        return 0;
}
