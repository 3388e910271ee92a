/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "apparmor.h"
#include "fuzz.h"

/* AppArmor profile files: does one let /usr/bin/rootlesskit create user namespaces? The part after a
 * NUL, if any, is a glob matched against a path. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct apparmor_file f = {};
        char *text, *glob;
        unsigned line = 0;

        fuzz_split(data, size, &text, &glob);
        if (apparmor_parse(text, &f, &line) >= 0) {
                for (size_t i = 0; i < f.n; i++)
                        (void) apparmor_profile_allows_userns(&f.profiles[i], "/usr/bin/rootlesskit");
                apparmor_file_done(&f);
        }
        (void) apparmor_glob_match(glob, "/usr/bin/rootlesskit");
        (void) apparmor_glob_match(glob, glob);
        free(text);
        free(glob);
        return 0;
}
