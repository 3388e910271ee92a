/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Removing a directory tree by descriptor (systemd's rm-rf.c): a node's directories, and what its init
 * leaves in them. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rm-rf.h"

/* Removes what the directory fd holds, entry by entry relative to it (systemd's rm_rf_children): never
 * following a symlink, never leaving the file system (dev), with no PATH_MAX on the depth; a directory
 * swapped for a symlink while we work is removed as the link it has become. Consumes dir_fd. */
static int rm_children(int dir_fd, dev_t dev) {
        DIR *d = fdopendir(dir_fd);
        struct dirent *de;
        int ret = 0;

        if (!d) {
                ret = -errno;
                close(dir_fd);
                return ret;
        }
        while ((errno = 0, de = readdir(d))) {
                struct stat st;
                int r = 0;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno != ENOENT && ret == 0)
                                ret = -errno;
                        continue;
                }
                if (S_ISDIR(st.st_mode)) {
                        int fd;

                        if (st.st_dev != dev)
                                continue;       /* a mount: not ours to empty (its mount point stays) */
                        fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
                        if (fd < 0)
                                r = errno == ENOENT ? 0 : -errno;
                        else {
                                struct stat again;

                                /* The same directory we looked at, not one swapped in since. */
                                if (fstat(fd, &again) < 0 || again.st_dev != st.st_dev || again.st_ino != st.st_ino) {
                                        close(fd);
                                        r = -ESTALE;
                                } else
                                        r = rm_children(fd, dev);
                        }
                        if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
                                r = -errno;
                } else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
                        r = -errno;
                if (r < 0 && ret == 0)
                        ret = r;
        }
        if (errno && ret == 0)
                ret = -errno;
        closedir(d);
        return ret;
}

int rm_rf(const char *path) {
        struct rlimit rl;
        struct stat st;
        int fd, r;

        /* One descriptor per level: a tree as deep as its owner can make it needs more than the default 1024. */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
        fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                if (errno != ENOTDIR && errno != ELOOP)
                        return -errno;
                /* Not a directory (or a symlink): only the name goes. */
                return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
        }
        if (fstat(fd, &st) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        r = rm_children(fd, st.st_dev);
        if (rmdir(path) < 0 && errno != ENOENT && r == 0)
                r = -errno;
        return r;
}
