/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "cgroup.h"
#include "unitfile.h"
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

int cgroup_v2_read_only_from_mountinfo(const char *mountinfo, bool *ret) {
        _cleanup_free_ char *copy = strdup(mountinfo);
        char *cursor = copy, *line;
        int r = 0, found = -ENOENT;
        bool ro = false;

        if (!copy)
                return -ENOMEM;
        while ((line = line_next(&cursor, HOST_LINE_MAX, &r))) {
                char *sep = strstr(line, " - "), *mnt, *opts, *fstype, *save = NULL;

                if (!sep)
                        continue;
                *sep = '\0';
                /* id parent major:minor root mount-point options ... */
                if (!strtok_r(line, " ", &save) || !strtok_r(NULL, " ", &save) || !strtok_r(NULL, " ", &save) ||
                    !strtok_r(NULL, " ", &save) || !(mnt = strtok_r(NULL, " ", &save)) ||
                    !(opts = strtok_r(NULL, " ", &save)))
                        continue;
                fstype = strtok_r(sep + 3, " ", &save);
                if (!fstype || strcmp(mnt, "/sys/fs/cgroup") != 0)
                        continue;
                /* The last mount at the path is the one in effect. */
                if (strcmp(fstype, "cgroup2") != 0) {
                        found = -ENOENT;
                        continue;
                }
                ro = strcmp(opts, "ro") == 0 || startswith(opts, "ro,");
                found = 0;
        }
        if (r < 0)
                return r;
        if (found == 0)
                *ret = ro;
        return found;
}

char *cgroup_user_manager_path(enum cgroup_layout layout, uid_t uid) {
        const char *base = layout == CGROUP_LAYOUT_HYBRID ? "/sys/fs/cgroup/unified"
                           : layout == CGROUP_LAYOUT_V1   ? "/sys/fs/cgroup/systemd"
                                                          : "/sys/fs/cgroup";

        return xstrdup_printf("%s/user.slice/user-%u.slice/user@%u.service", base, (unsigned) uid, (unsigned) uid);
}

static bool ends_with(const char *s, const char *suffix) {
        size_t n = strlen(s), k = strlen(suffix);

        return n >= k && strcmp(s + n - k, suffix) == 0;
}

int cgroup_v2_path_from_proc(const char *text, char **ret) {
        _cleanup_free_ char *copy = strdup(text);
        char *cursor = copy, *line;

        if (!copy)
                return -ENOMEM;
        while ((line = line_next(&cursor, HOST_LINE_MAX, NULL))) {
                const char *p = startswith(line, "0::");

                if (!p)
                        continue;
                /* Outside our cgroupns the kernel shows "/../.."; none of it is a path we can use. */
                if (p[0] != '/' || strlen(p) >= 4096 || strstr(p, "//") || strstr(p, "/../") ||
                    ends_with(p, "/..") || strstr(p, "/./") || ends_with(p, "/.") || (p[1] && ends_with(p, "/")))
                        return -EINVAL;
                *ret = strdup(p);
                return *ret ? 0 : -ENOMEM;
        }
        return -ENODATA;
}

enum node_cgroup_plan cgroup_node_plan(const char *current, bool current_ours, bool alone, bool parent_ours) {
        const char *slash;

        if (!current || current[0] != '/' || !current[1])
                return NODE_CGROUP_NONE;
        /* A unit with Delegate=yes whose only process is the node's supervisor: the node's own. */
        if (current_ours && alone)
                return NODE_CGROUP_CURRENT;
        /* The caller's cgroup holds other processes (a CI job's shell): controllers cannot be enabled
         * below it ("no internal processes"), so the node goes next to it. Never into a systemd slice
         * or the root: their subtree_control is systemd's, which would take controllers back. */
        slash = strrchr(current, '/');
        if (!parent_ours || slash == current || (slash - current >= 6 && strncmp(slash - 6, ".slice", 6) == 0))
                return NODE_CGROUP_NONE;
        return NODE_CGROUP_SIBLING;
}
