/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

/* Who built the running kernel: distribution patches do not show in the release number. */
enum kernel_build {
        KERNEL_BUILD_UNKNOWN,
        KERNEL_BUILD_UBUNTU,
        KERNEL_BUILD_DEBIAN,
        KERNEL_BUILD_OTHER,
};

/* Whether overlayfs mounts in a user namespace (the node's fast snapshotter), and why. */
enum kernel_overlay_userns {
        KERNEL_OVERLAY_USERNS_NO,
        KERNEL_OVERLAY_USERNS_UPSTREAM,         /* 5.11 and later */
        KERNEL_OVERLAY_USERNS_UBUNTU,           /* Ubuntu's kernels carry a patch that allows it */
        KERNEL_OVERLAY_USERNS_DEBIAN_PARAM,     /* Debian's patch, overlay.permit_mounts_in_userns=Y */
};

/* Debian's overlay.permit_mounts_in_userns, as /sys/module shows it. */
enum overlay_permit_param {
        OVERLAY_PERMIT_ABSENT,  /* not Debian's patch, or overlay not loaded (or not read yet) */
        OVERLAY_PERMIT_OFF,
        OVERLAY_PERMIT_ON,
};

/* "6.1.0-27-amd64" -> 6, 1. */
int kernel_parse_release(const char *release, unsigned *ret_major, unsigned *ret_minor);
/* From the kernel's version string (/proc/sys/kernel/version, `uname -v`): "#167-Ubuntu SMP ..." is
 * Ubuntu's, "#1 SMP PREEMPT_DYNAMIC Debian 6.1.123-1 ..." Debian's. */
enum kernel_build kernel_build_from_version(const char *version);
/* Whether a release names an Ubuntu build ("5.4.0-150-generic", "5.15.0-1051-aws"), for an image that
 * has no version string; a mainline build ("5.10.0-051000-generic") is not. */
bool kernel_release_is_ubuntu(const char *release);
enum kernel_overlay_userns kernel_overlay_userns_decide(unsigned major, unsigned minor, enum kernel_build build,
                                                        enum overlay_permit_param permit);
/* modprobe.d text: 1 when it sets overlay's permit_mounts_in_userns on, 0 off, -ENOENT not at all. */
int kernel_modprobe_conf_overlay_permit(const char *text);
