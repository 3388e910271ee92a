/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kernel.version, and what the running kernel allows that its release number does not say (host/kernel.c
 * decides it from the facts read here). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "checks.h"
#include "kernel.h"
#include "util.h"

#define OVERLAY_PERMIT_PARAM "/sys/module/overlay/parameters/permit_mounts_in_userns"

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

/* The modprobe.d file whose setting of Debian's parameter wins, when that setting turns it on. */
static int overlay_permit_conf_load(const struct host *h, char **ret_file) {
        _cleanup_strv_free_ char **files = NULL;
        _cleanup_free_ char *on = NULL;
        int r;

        r = host_conf_files(h, "modprobe.d", &files);
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
