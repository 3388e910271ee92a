/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "checks.h"
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

int check_kernel(struct check_ctx *c, struct report *r) {
        _cleanup_free_ char *release = NULL;
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

        if (c->kernel_major < 4 || (c->kernel_major == 4 && c->kernel_minor < 18))
                return report_add(r, "kernel.version", CHECK_FAIL,
                                  "upgrade to a kernel >= 5.11 (your distribution's current release has one)",
                                  "kernel %s is older than 4.18: no cgroup v2 delegation for rootless containers",
                                  release);
        if (c->kernel_major < 5 || (c->kernel_major == 5 && c->kernel_minor < 11))
                return report_add(r, "kernel.version", CHECK_WARN,
                                  "upgrade to a kernel >= 5.11 for overlayfs in user namespaces",
                                  "kernel %s is older than 5.11: no overlayfs in user namespaces "
                                  "(fuse-overlayfs or the native snapshotter is used instead, slower)",
                                  release);
        return report_add(r, "kernel.version", CHECK_PASS, NULL, "kernel %s", release);
}
