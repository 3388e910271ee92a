/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kernel.version, and what the running kernel allows that its release number does not say:
 * overlayfs in user namespaces came upstream in 5.11, Ubuntu's kernels have carried a patch for it
 * for years, and Debian's carry one behind overlay.permit_mounts_in_userns (off by default). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "checks.h"
#include "util.h"

#define OVERLAY_PERMIT_PARAM "/sys/module/overlay/parameters/permit_mounts_in_userns"

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

enum kernel_overlay_userns kernel_overlay_userns(const struct check_ctx *c) {
        enum overlay_permit_param permit = c->overlay_permit_param;

        /* Not loaded yet (or an image): Debian's module gets what modprobe.d says when it loads. Other
         * kernels ignore the unknown parameter. */
        if (permit == OVERLAY_PERMIT_ABSENT && c->overlay_permit_conf && c->kernel_build == KERNEL_BUILD_DEBIAN)
                permit = OVERLAY_PERMIT_ON;
        return kernel_overlay_userns_decide(c->kernel_major, c->kernel_minor, c->kernel_build, permit);
}

const char *kernel_overlay_userns_reason(const struct check_ctx *c) {
        switch (kernel_overlay_userns(c)) {
        case KERNEL_OVERLAY_USERNS_UBUNTU:
                return "an Ubuntu kernel, which carries Ubuntu's patch for it";
        case KERNEL_OVERLAY_USERNS_DEBIAN_PARAM:
                return c->overlay_permit_param == OVERLAY_PERMIT_ON
                               ? "Debian's overlay module parameter permit_mounts_in_userns=Y"
                               : "Debian's overlay module parameter permit_mounts_in_userns, which modprobe.d sets "
                                 "when overlay loads";
        default:
                return "";
        }
}

bool kernel_overlay_param_settable(const struct check_ctx *c) {
        return c->kernel_build == KERNEL_BUILD_DEBIAN || c->overlay_permit_param != OVERLAY_PERMIT_ABSENT;
}

char *kernel_overlay_userns_fix(const struct check_ctx *c) {
        _cleanup_free_ char *conf = NULL;

        if (!kernel_overlay_param_settable(c))
                return strdup("boot a kernel >= 5.11 for overlayfs in user namespaces");
        /* Set, but the module was loaded before: only reloading it is left. */
        if (c->overlay_permit_conf && c->overlay_permit_param == OVERLAY_PERMIT_OFF)
                return c->host->offline
                               ? xstrdup_printf("nothing to write: %s sets it and that host has it when it boots",
                                                c->overlay_permit_conf)
                               : xstrdup_printf("sudo reboot   # or, with nothing using overlayfs: sudo modprobe -r "
                                                "overlay && sudo modprobe overlay; %s sets the parameter",
                                                c->overlay_permit_conf);
        conf = check_host_path(c, "/etc/modprobe.d/usernode-overlay.conf");
        if (!conf)
                return NULL;
        if (c->host->offline)
                return xstrdup_printf("echo 'options overlay permit_mounts_in_userns=1' | sudo tee %s   # Debian's "
                                      "kernel: overlayfs in user namespaces once that host boots; or boot a kernel "
                                      ">= 5.11",
                                      conf);
        return xstrdup_printf("echo 'options overlay permit_mounts_in_userns=1' | sudo tee %s && sudo reboot   # "
                              "Debian's kernel (or, with nothing using overlayfs: sudo modprobe -r overlay && sudo "
                              "modprobe overlay); or boot a kernel >= 5.11",
                              conf);
}

/* Who built the kernel: its version string where the host has one (a live host always does), else
 * for an image its distribution, with a release of that distribution's form. */
static enum kernel_build kernel_build_load(const struct check_ctx *c) {
        _cleanup_free_ char *version = NULL;

        if (host_read_line(c->host, "/proc/sys/kernel/version", &version) >= 0)
                return kernel_build_from_version(version);
        if (!c->kernel_release)
                return KERNEL_BUILD_UNKNOWN;
        if (c->distro.family == DISTRO_UBUNTU && kernel_release_is_ubuntu(c->kernel_release))
                return KERNEL_BUILD_UBUNTU;
        if (c->distro.family == DISTRO_DEBIAN && !kernel_release_is_ubuntu(c->kernel_release))
                return KERNEL_BUILD_DEBIAN;
        return KERNEL_BUILD_UNKNOWN;
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

/* The modprobe.d file whose setting of Debian's parameter wins, when that setting turns it on. */
static int overlay_permit_conf_load(const struct host *h, char **ret_file) {
        static const char *const dirs[] = { "/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d",
                                            "/usr/lib/modprobe.d", "/lib/modprobe.d" };
        _cleanup_strv_free_ char **files = NULL;
        _cleanup_free_ char *on = NULL;
        int r;

        r = host_conf_files(h, dirs, ELEMENTSOF(dirs), &files);
        if (r < 0)
                return r;
        for (char **f = files; *f; f++) {
                _cleanup_free_ char *text = NULL;

                if (host_read_file(h, *f, HOST_FILE_MAX, &text, NULL) < 0)
                        continue;
                r = kernel_modprobe_conf_overlay_permit(text);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        continue;
                free(on);
                on = r > 0 ? strdup(*f) : NULL;
                if (r > 0 && !on)
                        return -ENOMEM;
        }
        *ret_file = TAKE_PTR(on);
        return 0;
}

static enum overlay_permit_param overlay_permit_param_load(const struct host *h) {
        _cleanup_free_ char *v = NULL;
        const char *s;

        if (host_read_line(h, OVERLAY_PERMIT_PARAM, &v) < 0)
                return OVERLAY_PERMIT_ABSENT;
        s = strstrip(v);
        return strcmp(s, "Y") == 0 || strcmp(s, "1") == 0 ? OVERLAY_PERMIT_ON : OVERLAY_PERMIT_OFF;
}

int check_kernel(struct check_ctx *c, struct report *r) {
        _cleanup_free_ char *release = NULL, *fix = NULL;
        enum kernel_overlay_userns overlay;
        int k;

        /* Under --root this is the image's file; on the live host it is the running kernel. */
        k = host_read_line(c->host, "/proc/sys/kernel/osrelease", &release);
        if (k < 0)
                return report_add(r, "kernel.version", CHECK_WARN, NULL,
                                  "cannot read /proc/sys/kernel/osrelease: %s", strerror(-k));
        if (kernel_parse_release(release, &c->kernel_major, &c->kernel_minor) < 0)
                return report_add(r, "kernel.version", CHECK_WARN, NULL, "unrecognised kernel release '%.64s'",
                                  release);
        c->kernel_release = strdup(release);
        if (!c->kernel_release)
                return -ENOMEM;
        c->kernel_build = kernel_build_load(c);
        c->overlay_permit_param = overlay_permit_param_load(c->host);
        k = overlay_permit_conf_load(c->host, &c->overlay_permit_conf);
        if (k < 0)
                return k;

        if (c->kernel_major < 4 || (c->kernel_major == 4 && c->kernel_minor < 18))
                return report_add(r, "kernel.version", CHECK_FAIL,
                                  "upgrade to a kernel >= 5.11 (your distribution's current release has one)",
                                  "kernel %s is older than 4.18: no cgroup v2 delegation for rootless containers",
                                  release);
        overlay = kernel_overlay_userns(c);
        if (overlay == KERNEL_OVERLAY_USERNS_NO) {
                fix = kernel_overlay_param_settable(c) ? kernel_overlay_userns_fix(c)
                                                       : strdup("upgrade to a kernel >= 5.11 for overlayfs in user "
                                                                "namespaces");
                if (!fix)
                        return -ENOMEM;
                return report_add(r, "kernel.version", CHECK_WARN, fix,
                                  "kernel %s is older than 5.11: no overlayfs in user namespaces "
                                  "(fuse-overlayfs or the native snapshotter is used instead, slower)%s",
                                  release,
                                  c->overlay_permit_param != OVERLAY_PERMIT_OFF ? ""
                                  : c->overlay_permit_conf ? "; Debian's overlay.permit_mounts_in_userns is set in "
                                                             "modprobe.d, but not in the loaded module"
                                                           : "; Debian's overlay.permit_mounts_in_userns is N");
        }
        if (overlay != KERNEL_OVERLAY_USERNS_UPSTREAM)
                return report_add(r, "kernel.version", CHECK_PASS, NULL,
                                  "kernel %s: older than 5.11, but overlayfs mounts in user namespaces (%s)", release,
                                  kernel_overlay_userns_reason(c));
        return report_add(r, "kernel.version", CHECK_PASS, NULL, "kernel %s", release);
}
