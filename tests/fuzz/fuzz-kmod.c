/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fuzz.h"
#include "kmod.h"

/* /proc/modules, modules.builtin, modules.dep and a kernel .config. "TEXT\0NAME" picks the module
 * or symbol; without a NUL a few the checks use. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const names[] = { "overlay", "br_netfilter", "nf-conntrack", "tun", "" };
        static const char *const symbols[] = { "CONFIG_OVERLAY_FS", "CONFIG_USER_NS", "CONFIG_", "" };
        char *text, *name;

        fuzz_split(data, size, &text, &name);
        if (*name) {
                (void) kmod_proc_modules_has(text, name);
                (void) kmod_list_has(text, name);
                (void) kconfig_value(text, name);
        }
        for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
                (void) kmod_proc_modules_has(text, names[i]);
                (void) kmod_list_has(text, names[i]);
        }
        for (size_t i = 0; i < sizeof symbols / sizeof *symbols; i++)
                (void) kconfig_value(text, symbols[i]);
        free(text);
        free(name);
        return 0;
}
