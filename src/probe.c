/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "checks.h"

const struct probes *probe_userns(struct check_ctx *c) {
        return &c->probes;
}

const char *probe_state_to_string(enum probe_state s) {
        static const char *const names[] = { "not run", "ok", "failed", "skipped" };

        return s < ELEMENTSOF(names) ? names[s] : "unknown";
}
