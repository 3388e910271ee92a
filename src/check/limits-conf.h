/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The nofile hard limit pam_limits would give a user, from limits.conf(5) text. */
struct limits_nofile {
        bool set;
        int priority;           /* 3 user / UID range, 2 group, 1 "*"; a higher one is never overridden */
        bool unlimited;
        uint64_t hard;
};

/* Applies the nofile lines of one limits.conf text for user (uid, groups NULL-terminated) to acc,
 * in order: files are applied one after the other as pam_limits reads them. Malformed lines are
 * skipped as pam_limits does; -E2BIG for an overlong line. */
int limits_conf_apply(const char *text, const char *user, uid_t uid, char * const *groups, struct limits_nofile *acc);
