/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "checks.h"
#include "util.h"

static const char *const controller_names[_CONTROLLER_COUNT] = {
        "cpu", "cpuset", "io", "memory", "pids", "hugetlb",
};

const char *controller_to_string(unsigned bit) {
        for (unsigned i = 0; i < _CONTROLLER_COUNT; i++)
                if (bit == 1u << i)
                        return controller_names[i];
        return NULL;
}

unsigned controllers_from_string(const char *s, unsigned *ret_unknown) {
        _cleanup_strv_free_ char **words = NULL;
        unsigned mask = 0, unknown = 0;

        if (strv_split(s, " \t\n", &words) < 0)
                return 0;
        for (char **w = words; *w; w++) {
                unsigned i;

                for (i = 0; i < _CONTROLLER_COUNT; i++)
                        if (strcmp(*w, controller_names[i]) == 0) {
                                mask |= 1u << i;
                                break;
                        }
                if (i == _CONTROLLER_COUNT)
                        unknown++;
        }
        if (ret_unknown)
                *ret_unknown = unknown;
        return mask;
}

char *controllers_to_string(unsigned mask) {
        struct buf b = {};

        for (unsigned i = 0; i < _CONTROLLER_COUNT; i++)
                if (mask & (1u << i))
                        if (buf_printf(&b, "%s%s", b.len ? " " : "", controller_names[i]) < 0) {
                                buf_free(&b);
                                return NULL;
                        }
        return b.len ? buf_steal(&b) : strdup("none");
}

const char *cgroup_layout_to_string(enum cgroup_layout l) {
        switch (l) {
        case CGROUP_LAYOUT_V1:
                return "v1";
        case CGROUP_LAYOUT_HYBRID:
                return "hybrid";
        case CGROUP_LAYOUT_V2:
                return "v2";
        default:
                return "unknown";
        }
}

/* mountinfo escapes blanks in paths as octal (\040); the paths we compare have none, so an
 * escaped path simply never matches. */
int cgroup_layout_from_mountinfo(const char *mountinfo, enum cgroup_layout *ret) {
        _cleanup_free_ char *copy = strdup(mountinfo);
        char *cursor = copy, *line;
        bool v1 = false, v2_unified = false;
        enum { NONE, V1_TMPFS, V2 } at_root = NONE;
        int r = 0;

        if (!copy)
                return -ENOMEM;
        while ((line = line_next(&cursor, HOST_LINE_MAX, &r))) {
                char *sep = strstr(line, " - "), *mnt, *fstype, *save = NULL;

                if (!sep)
                        continue;
                *sep = '\0';
                /* id parent major:minor root mount-point ... */
                if (!strtok_r(line, " ", &save) || !strtok_r(NULL, " ", &save) || !strtok_r(NULL, " ", &save) ||
                    !strtok_r(NULL, " ", &save) || !(mnt = strtok_r(NULL, " ", &save)))
                        continue;
                fstype = strtok_r(sep + 3, " ", &save);
                if (!fstype)
                        continue;
                /* Later lines are mounted on top of earlier ones: the last at a path wins. */
                if (strcmp(mnt, "/sys/fs/cgroup") == 0)
                        at_root = strcmp(fstype, "cgroup2") == 0 ? V2 : V1_TMPFS;
                else if (strcmp(mnt, "/sys/fs/cgroup/unified") == 0 && strcmp(fstype, "cgroup2") == 0)
                        v2_unified = true;
                else if (strcmp(fstype, "cgroup") == 0 && startswith(mnt, "/sys/fs/cgroup/"))
                        v1 = true;
        }
        if (r < 0)
                return r;
        if (at_root == V2)
                *ret = CGROUP_LAYOUT_V2;
        else if (v1 && v2_unified)
                *ret = CGROUP_LAYOUT_HYBRID;
        else if (v1)
                *ret = CGROUP_LAYOUT_V1;
        else
                *ret = CGROUP_LAYOUT_UNKNOWN;
        return 0;
}

static int check_cgroup_v2(struct check_ctx *c, struct report *r) {
        _cleanup_free_ char *mountinfo = NULL, *cmdline = NULL, *fix = NULL, *avail = NULL, *names = NULL;
        const char *forced_off;
        int k;

        k = host_read_file(c->host, "/proc/self/mountinfo", HOST_FILE_MAX, &mountinfo, NULL);
        if (k < 0)
                return report_add(r, "cgroup.v2", CHECK_FAIL, NULL,
                                  "cannot read /proc/self/mountinfo: %s", strerror(-k));
        k = cgroup_layout_from_mountinfo(mountinfo, &c->cgroup.layout);
        if (k < 0)
                return report_add(r, "cgroup.v2", CHECK_FAIL, NULL, "cannot parse /proc/self/mountinfo: %s",
                                  strerror(-k));

        if (c->cgroup.layout == CGROUP_LAYOUT_V2) {
                if (host_read_line(c->host, "/sys/fs/cgroup/cgroup.controllers", &avail) >= 0)
                        c->cgroup.available = controllers_from_string(avail, NULL);
                names = controllers_to_string(c->cgroup.available);
                return report_add(r, "cgroup.v2", CHECK_PASS, NULL,
                                  "cgroup v2 (unified) at /sys/fs/cgroup; root controllers: %s", strna(names));
        }

        fix = distro_kernel_cmdline_fix(&c->distro, "systemd.unified_cgroup_hierarchy=1");
        if (!fix)
                return -ENOMEM;
        (void) host_read_line(c->host, "/proc/cmdline", &cmdline);
        forced_off = cmdline && (strstr(cmdline, "systemd.unified_cgroup_hierarchy=0") ||
                                 strstr(cmdline, "systemd.legacy_systemd_cgroup_controller"))
                             ? "; the kernel command line forces it off (remove systemd.unified_cgroup_hierarchy=0)"
                             : "";
        switch (c->cgroup.layout) {
        case CGROUP_LAYOUT_HYBRID:
                return report_add(r, "cgroup.v2", CHECK_FAIL, fix,
                                  "hybrid hierarchy: controllers are on cgroup v1, cgroup2 only at "
                                  "/sys/fs/cgroup/unified without controllers; no resource limits for rootless "
                                  "containers%s",
                                  forced_off);
        case CGROUP_LAYOUT_V1:
                return report_add(r, "cgroup.v2", CHECK_FAIL, fix,
                                  "cgroup v1 only: no delegation of controllers to a user; no resource limits for "
                                  "rootless containers%s",
                                  forced_off);
        default:
                return report_add(r, "cgroup.v2", CHECK_FAIL, fix, "no cgroup filesystem at /sys/fs/cgroup");
        }
}

int check_cgroup(struct check_ctx *c, struct report *r) {
        return check_cgroup_v2(c, r);
}
