/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-tree.h"
#include "cgroup.h"
#include "host.h"
#include "util.h"

#define RM_TREE_DEPTH 32
#define RM_BUSY_TRIES 50        /* 20 ms apart: the pid namespace's last tasks are still exiting */

char *cgroup_tree_file(const char *cgroup, const char *file) {
        return xstrdup_printf(CGROUP_MOUNT "%s%s%s", strcmp(cgroup, "/") == 0 ? "" : cgroup, file ? "/" : "",
                              file ? file : "");
}

int cgroup_tree_read(const char *cgroup, const char *file, char **ret) {
        _cleanup_free_ char *path = cgroup_tree_file(cgroup, file);

        return path ? host_read_live(path, HOST_FILE_MAX, ret) : -ENOMEM;
}

int cgroup_tree_write(const char *cgroup, const char *file, const char *text) {
        _cleanup_free_ char *path = cgroup_tree_file(cgroup, file);
        _cleanup_close_ int fd = -EBADF;
        size_t len = strlen(text);
        ssize_t n;

        if (!path)
                return -ENOMEM;
        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        n = write(fd, text, len);
        if (n < 0)
                return -errno;
        return (size_t) n == len ? 0 : -EIO;
}

unsigned cgroup_tree_controllers(const char *cgroup, const char *file) {
        _cleanup_free_ char *text = NULL;

        return cgroup_tree_read(cgroup, file, &text) < 0 ? 0 : controllers_from_string(text, NULL);
}

static int remove_dir(const char *dir, unsigned depth) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int r = 0;

        if (depth > RM_TREE_DEPTH)
                return -ELOOP;
        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d))) {
                _cleanup_free_ char *sub = NULL;

                if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                sub = xstrdup_printf("%s/%s", dir, de->d_name);
                if (!sub)
                        return -ENOMEM;
                r = remove_dir(sub, depth + 1);
                if (r < 0)
                        return r;
        }
        for (unsigned i = 0; rmdir(dir) < 0; i++) {
                if (errno == ENOENT)
                        return 0;
                if (errno != EBUSY || i >= RM_BUSY_TRIES)
                        return -errno;
                (void) nanosleep(&(struct timespec) { .tv_nsec = 20 * 1000 * 1000 }, NULL);
        }
        return 0;
}

int cgroup_tree_enable_all(const char *parent) {
        unsigned have = cgroup_tree_controllers(parent, "cgroup.controllers");
        unsigned on = cgroup_tree_controllers(parent, "cgroup.subtree_control");
        int r = 0;

        for (unsigned i = 0; i < _CONTROLLER_COUNT; i++) {
                unsigned bit = 1u << i;
                _cleanup_free_ char *word = NULL;
                int k;

                if (!(have & bit) || (on & bit))
                        continue;
                word = xstrdup_printf("+%s", controller_to_string(bit));
                if (!word)
                        return -ENOMEM;
                k = cgroup_tree_write(parent, "cgroup.subtree_control", word);
                if (k < 0 && (bit == CONTROLLER_MEMORY || r == 0))
                        r = k;
        }
        return r;
}

int cgroup_tree_remove_dir(const char *dir) {
        return remove_dir(dir, 0);
}
