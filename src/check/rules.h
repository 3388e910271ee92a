/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "checks.h"

/* A workload feature (DESIGN.md "Features"): what a pod on this node can use. */
enum feature_status {
        FEATURE_AVAILABLE,
        FEATURE_DEGRADED,
        FEATURE_UNAVAILABLE,
};

/* The pseudo check ID behind limits of rootless mode itself, which no host change lifts. */
#define REASON_ROOTLESS "rootless"

struct feature_result {
        const char *id;
        enum feature_status status;
        const char *reason[17];         /* check IDs (or REASON_ROOTLESS), NULL-terminated */
};

/* The rules table: every feature, in DESIGN.md order, with the checks it needs. */
size_t rules_count(void);
const char *rules_feature_id(size_t i);
/* The check IDs the rules name (REASON_ROOTLESS excluded), for tests; NULL-terminated, static. */
const char *const *rules_check_ids(void);

/* Computes every feature from the report's check statuses into ret (rules_count() entries). */
int rules_evaluate(const struct report *r, struct feature_result *ret);

const char *feature_status_to_string(enum feature_status s);
