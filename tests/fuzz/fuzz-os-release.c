/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "distro.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_text(data, size);
        struct distro d = {};

        if (distro_parse_os_release(text, &d) >= 0) {
                free(distro_kernel_cmdline_fix(&d, "systemd.unified_cgroup_hierarchy=1"));
                distro_done(&d);
        }
        free(text);
        return 0;
}
