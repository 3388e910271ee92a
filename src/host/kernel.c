/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the running kernel allows that its release number does not say:
 * overlayfs in user namespaces came upstream in 5.11, Ubuntu's kernels have carried a patch for it
 * for years, and Debian's carry one behind overlay.permit_mounts_in_userns (off by default). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "host.h"
#include "kernel.h"
#include "util.h"

/* "6.1.0-27-amd64" -> 6, 1. */
int kernel_parse_release(const char *release, unsigned *ret_major, unsigned *ret_minor) {
        unsigned major, minor;
        int n = 0;

        if (sscanf(release, "%u.%u%n", &major, &minor, &n) != 2 || n == 0)
                return -EINVAL;
        *ret_major = major;
        *ret_minor = minor;
        return 0;
}

/* Whether word occurs in s right after one of the characters in before (or at the start, when
 * before has a blank) and ends at a blank or the end of s. */
static bool has_word_after(const char *s, const char *word, const char *before) {
        size_t n = strlen(word);

        for (const char *p = strstr(s, word); p; p = strstr(p + 1, word))
                if (strchr(before, p == s ? ' ' : p[-1]) && (p[n] == '\0' || p[n] == ' ' || p[n] == '\t' || p[n] == '\n'))
                        return true;
        return false;
}

enum kernel_build kernel_build_from_version(const char *version) {
        /* Ubuntu: "#167-Ubuntu SMP ...", "#45~20.04.1-Ubuntu SMP ..." (the build number, then -Ubuntu). */
        if (has_word_after(version, "Ubuntu", "-"))
                return KERNEL_BUILD_UBUNTU;
        /* Debian: "#1 SMP PREEMPT_DYNAMIC Debian 6.1.123-1 (2025-01-02)". */
        if (has_word_after(version, "Debian", " \t"))
                return KERNEL_BUILD_DEBIAN;
        return KERNEL_BUILD_OTHER;
}

bool kernel_release_is_ubuntu(const char *release) {
        /* Ubuntu's flavours; Debian names its flavours for the architecture (amd64, cloud-amd64). */
        static const char *const flavours[] = { "generic", "lowlatency", "aws", "azure", "gcp", "gke", "gkeop", "kvm",
                                                "oracle", "ibm", "raspi", "oem", "nvidia", "virtual", "intel" };
        const char *abi, *flavour;
        size_t digits, len;

        /* MAJOR.MINOR.PATCH-ABI-FLAVOUR */
        abi = strchr(release, '-');
        if (!abi || strspn(release, "0123456789.") != (size_t) (abi - release))
                return false;
        abi++;
        digits = strspn(abi, "0123456789");
        /* Mainline builds encode the version with a leading zero ("-051000-") and carry no Ubuntu patch. */
        if (digits == 0 || abi[0] == '0' || abi[digits] != '-')
                return false;
        flavour = abi + digits + 1;
        len = strcspn(flavour, "-");
        for (size_t i = 0; i < ELEMENTSOF(flavours); i++)
                if (len == strlen(flavours[i]) && strncmp(flavour, flavours[i], len) == 0)
                        return true;
        return false;
}

enum kernel_overlay_userns kernel_overlay_userns_decide(unsigned major, unsigned minor, enum kernel_build build,
                                                        enum overlay_permit_param permit) {
        if (major > 5 || (major == 5 && minor >= 11))
                return KERNEL_OVERLAY_USERNS_UPSTREAM;
        if (build == KERNEL_BUILD_UBUNTU)
                return KERNEL_OVERLAY_USERNS_UBUNTU;
        if (permit == OVERLAY_PERMIT_ON)
                return KERNEL_OVERLAY_USERNS_DEBIAN_PARAM;
        return KERNEL_OVERLAY_USERNS_NO;
}

int kernel_modprobe_conf_overlay_permit(const char *text) {
        /* modprobe.d(5): "options overlay permit_mounts_in_userns=1 ..."; the last setting wins. */
        _cleanup_free_ char *copy = strdup(text);
        char *cursor = copy, *line;
        int setting = -1;

        if (!copy)
                return -ENOMEM;
        while ((line = line_next(&cursor, HOST_LINE_MAX, NULL))) {
                _cleanup_strv_free_ char **w = NULL;

                if (strv_split(line, " \t", &w) < 0)
                        return -ENOMEM;
                if (strv_length(w) < 3 || strcmp(w[0], "options") != 0 || strcmp(w[1], "overlay") != 0)
                        continue;
                for (char **o = w + 2; *o; o++) {
                        const char *v = startswith(*o, "permit_mounts_in_userns=");

                        if (v)
                                setting = strcmp(v, "1") == 0 || strcmp(v, "Y") == 0 || strcmp(v, "y") == 0;
                }
        }
        return setting < 0 ? -ENOENT : setting;
}
