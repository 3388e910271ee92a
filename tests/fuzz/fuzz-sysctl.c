/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fuzz.h"
#include "sysctl.h"

/* /proc/sys values and sysctl.d text. The input is "VALUE-OR-CONF\0KEY"; an empty key asks for a
 * few keys the checks read. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const keys[] = { "net.ipv4.ip_forward", "user.max_user_namespaces",
                                            "net.ipv4.ping_group_range", "kernel/unprivileged_userns_clone" };
        char *text, *key, *value = NULL;
        int64_t v[3];

        fuzz_split(data, size, &text, &key);
        for (size_t n = 1; n <= 3; n++)
                (void) sysctl_parse_ints(text, v, n);
        if (*key) {
                if (sysctl_conf_find(text, key, &value) >= 0)
                        free(value);
        } else
                for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
                        value = NULL;
                        if (sysctl_conf_find(text, keys[i], &value) >= 0)
                                free(value);
                }
        free(text);
        free(key);
        return 0;
}
