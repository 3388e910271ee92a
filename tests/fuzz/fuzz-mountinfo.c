/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "cgroup.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_text(data, size);
        enum cgroup_layout l;

        (void) cgroup_layout_from_mountinfo(text, &l);
        free(controllers_to_string(controllers_from_string(text, NULL)));
        free(text);
        return 0;
}
