/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fs.overlay: which snapshotter the node's containerd can use. Kernel overlayfs inside the user
 * namespace (5.11+, Ubuntu's kernels, Debian's with its module parameter: kernel.c) is the fast one;
 * fuse-overlayfs over /dev/fuse works everywhere, slower. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "util.h"

static bool kernel_has_userns_overlay(const struct check_ctx *c) {
        return kernel_overlay_userns(c) != KERNEL_OVERLAY_USERNS_NO;
}

static char *install_fix(const struct check_ctx *c) {
        _cleanup_free_ char *install = check_install_command(c, "fuse-overlayfs"), *kernel_fix = NULL;

        if (!install)
                return NULL;
        if (kernel_has_userns_overlay(c))
                return TAKE_PTR(install);
        if (!kernel_overlay_param_settable(c))
                return xstrdup_printf("%s\n# or boot a kernel >= 5.11", install);
        kernel_fix = kernel_overlay_userns_fix(c);
        return kernel_fix ? xstrdup_printf("%s\n# or: %s", install, kernel_fix) : NULL;
}

/* Without a probe: the kernel version and what is installed are all there is. */
static int check_fs_unprobed(struct check_ctx *c, struct report *r, const char *why, bool have_fuse_overlayfs) {
        _cleanup_free_ char *fix = NULL;

        if (c->kernel_major == 0)
                ;       /* kernel unknown: fall through to what is installed */
        else if (kernel_overlay_userns(c) == KERNEL_OVERLAY_USERNS_UPSTREAM)
                return report_add(r, "fs.overlay", CHECK_PASS, NULL,
                                  "kernel %u.%u mounts overlayfs in user namespaces (not probed: %s)", c->kernel_major,
                                  c->kernel_minor, why);
        else if (kernel_has_userns_overlay(c))
                return report_add(r, "fs.overlay", CHECK_PASS, NULL,
                                  "kernel %s mounts overlayfs in user namespaces: %s (not probed: %s)",
                                  c->kernel_release, kernel_overlay_userns_reason(c), why);
        if (have_fuse_overlayfs) {
                fix = c->kernel_major ? kernel_overlay_userns_fix(c) : NULL;
                if (c->kernel_major && !fix)
                        return -ENOMEM;
                return report_add(r, "fs.overlay", CHECK_WARN, fix,
                                  "fuse-overlayfs is installed; kernel %s%s overlayfs in user namespaces: the slower "
                                  "fuse-overlayfs snapshotter would be used (not probed: %s)",
                                  strna(c->kernel_release), c->kernel_major ? " has no" : " may lack", why);
        }
        fix = install_fix(c);
        if (!fix)
                return -ENOMEM;
        return report_add(r, "fs.overlay", CHECK_FAIL, fix,
                          "kernel %s has no overlayfs in user namespaces and fuse-overlayfs is not installed: "
                          "containerd would fall back to the native snapshotter, copying every image layer "
                          "(not probed: %s)",
                          strna(c->kernel_release), why);
}

static char *fuse_fix(const struct check_ctx *c, int error) {
        if (error == ENOENT || error == ENODEV)
                return strdup("sudo modprobe fuse && echo fuse | sudo tee /etc/modules-load.d/fuse.conf");
        if (error == EACCES || error == EPERM)
                return strdup("sudo chmod 0666 /dev/fuse   # what the distribution's udev rule does");
        return kernel_overlay_userns_fix(c);
}

int check_fs(struct check_ctx *c, struct report *r) {
        const struct probes *p = probe_userns(c);
        _cleanup_free_ char *helper = NULL, *fix = NULL;
        bool have_fuse_overlayfs;
        int k;

        k = host_find_executable(c->host, "fuse-overlayfs", &helper);
        if (k == -ENOMEM)
                return k;
        have_fuse_overlayfs = k >= 0;

        if (p->overlay.state == PROBE_OK)
                return report_add(r, "fs.overlay", CHECK_PASS, NULL, "probed as %s: %s", strna(c->user.name),
                                  p->overlay.detail);
        if (p->overlay.state != PROBE_FAILED)
                return check_fs_unprobed(c, r,
                                         p->userns.state == PROBE_FAILED ? "no user namespace, see userns.enabled"
                                                                         : p->overlay.detail,
                                         have_fuse_overlayfs);

        if (have_fuse_overlayfs && p->fuse.state == PROBE_OK) {
                fix = kernel_has_userns_overlay(c) ? NULL : kernel_overlay_userns_fix(c);
                if (!kernel_has_userns_overlay(c) && !fix)
                        return -ENOMEM;
                return report_add(r, "fs.overlay", CHECK_WARN, fix,
                                  "probed as %s: %s; %s with %s: the slower fuse-overlayfs snapshotter will be used",
                                  strna(c->user.name), p->overlay.detail, p->fuse.detail, helper);
        }
        if (have_fuse_overlayfs) {
                fix = fuse_fix(c, p->fuse.error);
                if (!fix)
                        return -ENOMEM;
                return report_add(r, "fs.overlay", CHECK_FAIL, fix,
                                  "probed as %s: %s; fuse-overlayfs is installed but %s", strna(c->user.name),
                                  p->overlay.detail, p->fuse.detail);
        }
        fix = install_fix(c);
        if (!fix)
                return -ENOMEM;
        return report_add(r, "fs.overlay", CHECK_FAIL, fix,
                          "probed as %s: %s; fuse-overlayfs is not installed: containerd would fall back to the native "
                          "snapshotter, copying every image layer",
                          strna(c->user.name), p->overlay.detail);
}
