/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fuzz.h"
#include "limits-conf.h"

/* limits.conf(5) text: the nofile hard limit pam_limits would give alice (UID 1000, in two groups). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *groups[] = { (char *) "users", (char *) "docker", NULL };
        char *text = fuzz_text(data, size);
        struct limits_nofile acc = {};

        (void) limits_conf_apply(text, "alice", 1000, groups, &acc);
        (void) limits_conf_apply(text, "root", 0, NULL, &acc);
        free(text);
        return 0;
}
