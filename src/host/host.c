/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "host.h"
#include "util.h"

#define SYMLINK_MAX 40

int host_init(struct host *h, const char *root, struct un_error *err) {
        _cleanup_free_ char *canon = NULL;
        int fd;

        if (!root || !*root)
                root = "/";
        canon = realpath(root, NULL);
        if (!canon)
                return un_error(err, errno, "cannot use root directory '%s'", root);
        fd = open(canon, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return un_error(err, errno, "cannot open root directory '%s'", canon);
        h->root_fd = fd;
        h->offline = strcmp(canon, "/") != 0;
        h->root = TAKE_PTR(canon);
        return 0;
}

void host_done(struct host *h) {
        if (h->root_fd >= 0)
                close(h->root_fd);
        free(h->root);
        strv_free(h->user_bin_dirs);
        *h = (struct host) { .root_fd = -EBADF };
}

static const char *relative(const char *path) {
        while (*path == '/')
                path++;
        return *path ? path : ".";
}

/* Walks path one component at a time from the root with O_NOFOLLOW, resolving symlinks by hand
 * so that neither ".." nor an absolute link leaves the root: the fallback for kernels without
 * openat2 (before 5.6). */
static int chase(const struct host *h, const char *path, int flags, mode_t mode, enum host_resolve how) {
        _cleanup_free_ char *todo = strdup(relative(path));
        int stack[PATH_MAX / 2];
        size_t depth = 0;
        unsigned links = 0;
        char *p;
        int r;

        if (!todo)
                return -ENOMEM;
        stack[0] = fcntl(h->root_fd, F_DUPFD_CLOEXEC, 3);
        if (stack[0] < 0)
                return negative_errno();

        p = todo;
        for (;;) {
                char *comp, *rest;
                bool last;
                struct stat st;

                while (*p == '/')
                        p++;
                if (*p == '\0') {
                        /* The path named a directory already open (root or ended in '/' or '..'). */
                        r = openat(stack[depth], ".", flags | O_CLOEXEC, mode);
                        r = r < 0 ? negative_errno() : r;
                        goto out;
                }
                comp = p;
                rest = strchr(p, '/');
                if (rest) {
                        *rest++ = '\0';
                        while (*rest == '/')
                                rest++;
                } else
                        rest = p + strlen(p);
                last = *rest == '\0';
                p = rest;

                if (strcmp(comp, ".") == 0 && !last)
                        continue;
                if (strcmp(comp, "..") == 0) {
                        if (depth > 0)
                                close(stack[depth--]);
                        if (last) {
                                r = openat(stack[depth], ".", flags | O_CLOEXEC, mode);
                                r = r < 0 ? negative_errno() : r;
                                goto out;
                        }
                        continue;
                }

                if (fstatat(stack[depth], comp, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISLNK(st.st_mode) &&
                    !(last && (flags & O_NOFOLLOW))) {
                        char target[PATH_MAX];
                        ssize_t n;
                        _cleanup_free_ char *next = NULL;

                        if (how == HOST_NO_SYMLINKS) {
                                r = -ELOOP;
                                goto out;
                        }
                        if (++links > SYMLINK_MAX) {
                                r = -ELOOP;
                                goto out;
                        }
                        n = readlinkat(stack[depth], comp, target, sizeof target - 1);
                        if (n < 0) {
                                r = negative_errno();
                                goto out;
                        }
                        target[n] = '\0';
                        if (target[0] == '/')
                                while (depth > 0)
                                        close(stack[depth--]);
                        if (asprintf(&next, "%s/%s", target, rest) < 0) {
                                r = -ENOMEM;
                                goto out;
                        }
                        free(todo);
                        todo = TAKE_PTR(next);
                        p = todo;
                        continue;
                }

                if (last) {
                        r = openat(stack[depth], comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
                        r = r < 0 ? negative_errno() : r;
                        goto out;
                }
                if (depth + 1 >= ELEMENTSOF(stack)) {
                        r = -ENAMETOOLONG;
                        goto out;
                }
                r = openat(stack[depth], comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (r < 0) {
                        r = negative_errno();
                        goto out;
                }
                stack[++depth] = r;
        }
out:
        for (size_t i = 0; i <= depth; i++)
                close(stack[i]);
        return r;
}

int host_open(const struct host *h, const char *path, int flags, mode_t mode, enum host_resolve how) {
        struct open_how oh = {
                .flags = (uint64_t) (flags | O_CLOEXEC),
                .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS |
                           (how == HOST_NO_SYMLINKS ? RESOLVE_NO_SYMLINKS : 0),
        };
        static bool no_openat2;
        long fd;

        if (!path || path[0] != '/')
                return -EINVAL;
        if (!no_openat2 && !h->force_chase) {
                /* RESOLVE_IN_ROOT fails with EAGAIN when any rename or mount on the system raced the walk. */
                for (unsigned i = 0; i < 64; i++) {
                        fd = syscall(SYS_openat2, h->root_fd, relative(path), &oh, sizeof oh);
                        if (fd >= 0 || errno != EAGAIN)
                                break;
                }
                if (fd >= 0)
                        return (int) fd;
                if (errno == EAGAIN)    /* a storm of renames: the component walk does not race that way */
                        return chase(h, path, flags, mode, how);
                if (errno != ENOSYS && errno != EPERM)
                        return negative_errno();
                /* ENOSYS: old kernel; EPERM: a seccomp filter that predates openat2. */
                no_openat2 = true;
        }
        return chase(h, path, flags, mode, how);
}

int host_opendir(const struct host *h, const char *path, DIR **ret) {
        int fd = host_open(h, path, O_RDONLY | O_DIRECTORY, 0, HOST_FOLLOW);
        DIR *d;

        if (fd < 0)
                return fd;
        d = fdopendir(fd);
        if (!d) {
                int r = negative_errno();
                close(fd);
                return r;
        }
        *ret = d;
        return 0;
}

int host_read_file(const struct host *h, const char *path, size_t max, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *data = NULL;
        struct stat st;
        size_t len = 0, cap;

        /* O_NONBLOCK: a FIFO planted at the path must not hang us; fstat refuses it right after. */
        fd = host_open(h, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0, HOST_FOLLOW);
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        if ((uint64_t) st.st_size > max)
                return -EFBIG;

        /* /proc and /sys report sizes of 0 or 4096; read until EOF within the bound. */
        cap = (size_t) st.st_size + 1 > 4096 ? (size_t) st.st_size + 1 : 4096;
        data = malloc(cap + 1);
        if (!data)
                return -ENOMEM;
        for (;;) {
                ssize_t n;

                if (len == cap) {
                        char *d;

                        if (cap > max)
                                return -EFBIG;
                        cap *= 2;
                        d = realloc(data, cap + 1);
                        if (!d)
                                return -ENOMEM;
                        data = d;
                }
                n = read(fd, data + len, cap - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > max)
                        return -EFBIG;
        }
        data[len] = '\0';
        if (ret_len)
                *ret_len = len;
        *ret = TAKE_PTR(data);
        return 0;
}

int host_read_line(const struct host *h, const char *path, char **ret) {
        char *data = NULL;
        int r = host_read_file(h, path, HOST_LINE_MAX, &data, NULL);

        if (r < 0)
                return r;
        data[strcspn(data, "\n")] = '\0';
        *ret = data;
        return 0;
}

int host_stat(const struct host *h, const char *path, struct stat *ret, bool follow) {
        _cleanup_close_ int fd = host_open(h, path, O_PATH | (follow ? 0 : O_NOFOLLOW), 0, HOST_FOLLOW);

        if (fd < 0)
                return fd;
        if (fstat(fd, ret) < 0)
                return negative_errno();
        return 0;
}

bool host_exists(const struct host *h, const char *path) {
        struct stat st;

        return host_stat(h, path, &st, true) >= 0;
}

char *host_path(const struct host *h, const char *path) {
        if (!h->offline)
                return strdup(path);
        return xstrdup_printf("%s%s", h->root, path);
}

/* NixOS's own PATH puts the setuid wrappers first: the copies in the Nix store are never setuid. */
static const char *const wrapper_bin_dirs[] = { "/run/wrappers/bin" };
static const char *const system_bin_dirs[] = {
        "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin",
};
/* After the user's profiles, as in NixOS's PATH: the default profile, then the system's packages. */
static const char *const nix_system_bin_dirs[] = { "/nix/var/nix/profiles/default/bin", "/run/current-system/sw/bin" };

static int try_executable(const struct host *h, const char *dir, const char *name, char **ret) {
        _cleanup_free_ char *p = NULL;
        struct stat st;

        if (dir[0] != '/')
                return -ENOENT;
        p = xstrdup_printf("%s/%s", dir, name);
        if (!p)
                return -ENOMEM;
        if (host_stat(h, p, &st, true) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
                return -ENOENT;
        *ret = TAKE_PTR(p);
        return 0;
}

static int conf_name_cmp(const void *a, const void *b) {
        return strcmp(strrchr(*(char * const *) a, '/') + 1, strrchr(*(char * const *) b, '/') + 1);
}

int host_conf_files(const struct host *h, const char *name, char ***ret) {
        /* systemd's search path for NAME.d directories (modprobe.d, sysctl.d, modules-load.d), first wins. */
        static const char *const bases[] = { "/etc", "/run", "/usr/local/lib", "/usr/lib", "/lib" };
        _cleanup_strv_free_ char **files = NULL;
        size_t n;

        for (size_t i = 0; i < ELEMENTSOF(bases); i++) {
                _cleanup_free_ char *dir = xstrdup_printf("%s/%s", bases[i], name);
                _cleanup_closedir_ DIR *d = NULL;
                struct dirent *de;

                if (!dir)
                        return -ENOMEM;
                if (host_opendir(h, dir, &d) < 0)
                        continue;
                while ((de = readdir(d))) {
                        _cleanup_free_ char *p = NULL;
                        size_t len = strlen(de->d_name);
                        bool masked = false;

                        if (len < 6 || strcmp(de->d_name + len - 5, ".conf") != 0)
                                continue;
                        for (char **f = files; f && *f && !masked; f++)
                                masked = strcmp(strrchr(*f, '/') + 1, de->d_name) == 0;
                        if (masked || strv_length(files) >= HOST_CONF_FILES_MAX)
                                continue;
                        p = xstrdup_printf("%s/%s", dir, de->d_name);
                        if (!p || strv_push(&files, p) < 0)
                                return -ENOMEM;
                }
        }
        n = strv_length(files);
        if (n > 0)
                qsort(files, n, sizeof *files, conf_name_cmp);
        else if (!(files = calloc(1, sizeof *files)))
                return -ENOMEM;
        *ret = TAKE_PTR(files);
        return 0;
}

const struct host *host_live(void) {
        static struct host live = { .root_fd = -EBADF };

        if (live.root_fd < 0)
                (void) host_init(&live, "/", NULL);
        return &live;
}

int host_read_live(const char *path, size_t max, char **ret) {
        return host_read_file(host_live(), path, max, ret, NULL);
}

static int push_dirs(char ***l, const char *const *dirs, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (strv_push(l, dirs[i]) < 0)
                        return -ENOMEM;
        return 0;
}

int host_tool_dirs(const struct host *h, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;

        if (push_dirs(&l, wrapper_bin_dirs, ELEMENTSOF(wrapper_bin_dirs)) < 0 ||
            push_dirs(&l, system_bin_dirs, ELEMENTSOF(system_bin_dirs)) < 0 ||
            (h->user_bin_dirs && push_dirs(&l, (const char *const *) h->user_bin_dirs, strv_length(h->user_bin_dirs)) < 0) ||
            push_dirs(&l, nix_system_bin_dirs, ELEMENTSOF(nix_system_bin_dirs)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

int host_set_tool_user(struct host *h, const char *name, const char *home) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *per_user = NULL, *profile = NULL, *state = NULL;

        if (!valid_user_name(name))
                return -EINVAL;
        per_user = xstrdup_printf("/etc/profiles/per-user/%s/bin", name);
        if (!per_user || strv_push(&l, per_user) < 0)
                return -ENOMEM;
        /* A home that is no absolute path ("/" for a system user is fine, "" is not) has no profile. */
        if (home && home[0] == '/' && strlen(home) < HOST_LINE_MAX) {
                profile = xstrdup_printf("%s/.nix-profile/bin", home);
                state = xstrdup_printf("%s/.local/state/nix/profile/bin", home);
                if (!profile || !state || strv_push(&l, profile) < 0 || strv_push(&l, state) < 0)
                        return -ENOMEM;
        }
        strv_free(h->user_bin_dirs);
        h->user_bin_dirs = TAKE_PTR(l);
        return 0;
}

int host_find_executable(const struct host *h, const char *name, char **ret) {
        _cleanup_strv_free_ char **dirs = NULL;
        const char *env;

        if (strchr(name, '/'))
                return -EINVAL;
        /* The user's PATH first on the live host, so that a user-installed k3s or rootlesskit wins. */
        env = h->offline ? NULL : secure_getenv("PATH");
        if (env) {
                _cleanup_strv_free_ char **path = NULL;

                if (strv_split(env, ":", &path) < 0)
                        return -ENOMEM;
                for (char **d = path; *d; d++)
                        if (try_executable(h, *d, name, ret) == 0)
                                return 0;
        }
        if (host_tool_dirs(h, &dirs) < 0)
                return -ENOMEM;
        for (char **d = dirs; *d; d++)
                if (try_executable(h, *d, name, ret) == 0)
                        return 0;
        return -ENOENT;
}

static int split_parent(const char *path, char **ret_dir, const char **ret_base) {
        const char *slash = strrchr(path, '/');

        if (!slash || slash[1] == '\0' || strcmp(slash + 1, ".") == 0 || strcmp(slash + 1, "..") == 0)
                return -EINVAL;
        *ret_dir = slash == path ? strdup("/") : strndup(path, (size_t) (slash - path));
        if (!*ret_dir)
                return -ENOMEM;
        *ret_base = slash + 1;
        return 0;
}

static int write_all(int fd, const void *data, size_t len) {
        const char *p = data;

        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

/* A directory another user can write to is no place to write in (its owner could swap names under us): as
 * root, it must be root's and not writable by a group other than root's or by others; as a user, ours or
 * root's. */
static int dir_trusted(int dfd, const char *dir, struct un_error *err) {
        uid_t me = geteuid();
        struct stat st;

        if (fstat(dfd, &st) < 0)
                return un_error(err, errno, "cannot stat %s", dir);
        if (st.st_uid != 0 && st.st_uid != me)
                return un_error(err, EPERM, "refusing to write in %s: it belongs to UID %u", dir, (unsigned) st.st_uid);
        if (me == 0 && ((st.st_mode & S_IWOTH) || ((st.st_mode & S_IWGRP) && st.st_gid != 0)))
                return un_error(err, EPERM, "refusing to write in %s: others can write to it (mode %04o)", dir,
                                (unsigned) (st.st_mode & 07777));
        return 0;
}

static int write_atomic(const struct host *h, const char *path, const void *data, size_t len, mode_t mode,
                        uid_t uid, gid_t gid, bool sync, struct un_error *err) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        const char *base;
        char tmp[NAME_MAX + 1];
        struct stat st;
        int r;

        r = split_parent(path, &dir, &base);
        if (r < 0)
                return un_error(err, -r, "invalid path '%s'", path);
        if (strlen(base) + 16 > NAME_MAX)
                return un_error(err, ENAMETOOLONG, "%s", path);
        dfd = host_open(h, dir, O_PATH | O_DIRECTORY, 0, HOST_NO_SYMLINKS);
        if (dfd < 0)
                return un_error(err, -dfd, "%s%s", dfd == -ELOOP ? "refusing to write through a symlink: " : "cannot open ", dir);
        r = dir_trusted(dfd, dir, err);
        if (r < 0)
                return r;
        if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) >= 0) {
                if (S_ISLNK(st.st_mode))
                        return un_error(err, ELOOP, "refusing to write %s: it is a symlink", path);
                if (!S_ISREG(st.st_mode))
                        return un_error(err, EINVAL, "refusing to write %s: not a regular file", path);
        } else if (errno != ENOENT)
                return un_error(err, errno, "cannot stat %s", path);

        for (unsigned attempt = 0;; attempt++) {
                snprintf(tmp, sizeof tmp, ".#%s.%d.%u", base, (int) getpid(), attempt);
                fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd >= 0)
                        break;
                if (errno != EEXIST || attempt > 100)
                        return un_error(err, errno, "cannot create a temporary file next to %s", path);
        }
        /* A directory fd opened with O_PATH cannot be fsync'ed; reopen it for that. */
        r = write_all(fd, data, len);
        if (r >= 0 && fchmod(fd, mode) < 0)
                r = negative_errno();
        if (r >= 0 && (uid != (uid_t) -1 || gid != (gid_t) -1) && fchown(fd, uid, gid) < 0)
                r = negative_errno();
        if (r >= 0 && sync && fsync(fd) < 0)
                r = negative_errno();
        if (r >= 0 && renameat(dfd, tmp, dfd, base) < 0)
                r = negative_errno();
        if (r < 0) {
                (void) unlinkat(dfd, tmp, 0);
                return un_error(err, -r, "cannot write %s", path);
        }
        if (sync) {
                _cleanup_close_ int sync_fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

                if (sync_fd < 0 || fsync(sync_fd) < 0)
                        return un_error(err, errno, "cannot sync directory of %s", path);
        }
        return 0;
}

int host_write_atomic(const struct host *h, const char *path, const void *data, size_t len, mode_t mode,
                      uid_t uid, gid_t gid, struct un_error *err) {
        return write_atomic(h, path, data, len, mode, uid, gid, true, err);
}

int host_write_runtime(const struct host *h, const char *path, const void *data, size_t len, mode_t mode,
                       struct un_error *err) {
        return write_atomic(h, path, data, len, mode, (uid_t) -1, (gid_t) -1, false, err);
}

int host_unlink(const struct host *h, const char *path, struct un_error *err) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int dfd = -EBADF;
        const char *base;
        struct stat st;
        int r;

        r = split_parent(path, &dir, &base);
        if (r < 0)
                return un_error(err, -r, "invalid path '%s'", path);
        dfd = host_open(h, dir, O_PATH | O_DIRECTORY, 0, HOST_NO_SYMLINKS);
        if (dfd < 0)
                return dfd == -ENOENT ? -ENOENT : un_error(err, -dfd, "cannot open %s", dir);
        r = dir_trusted(dfd, dir, err);
        if (r < 0)
                return r;
        if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? -ENOENT : un_error(err, errno, "cannot stat %s", path);
        if (!S_ISREG(st.st_mode))
                return un_error(err, S_ISLNK(st.st_mode) ? ELOOP : EINVAL, "refusing to remove %s: not a regular file", path);
        if (unlinkat(dfd, base, 0) < 0)
                return un_error(err, errno, "cannot remove %s", path);
        {
                _cleanup_close_ int sync_fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

                if (sync_fd >= 0)
                        (void) fsync(sync_fd);
        }
        return 0;
}

int host_mkdir_p(const struct host *h, const char *path, mode_t mode, struct un_error *err) {
        _cleanup_free_ char *p = strdup(path);
        _cleanup_close_ int dfd = -EBADF;
        int r;

        if (!p)
                return un_error(err, ENOMEM, "mkdir %s", path);
        if (path[0] != '/')
                return un_error(err, EINVAL, "invalid path '%s'", path);
        dfd = fcntl(h->root_fd, F_DUPFD_CLOEXEC, 3);
        if (dfd < 0)
                return un_error(err, errno, "mkdir %s", path);
        for (char *comp = strtok(p, "/"); comp; comp = strtok(NULL, "/")) {
                _cleanup_free_ char *done = NULL;
                int next;

                if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0)
                        return un_error(err, EINVAL, "invalid path '%s'", path);
                if (mkdirat(dfd, comp, mode) < 0 && errno != EEXIST)
                        return un_error(err, errno, "cannot create %s", path);
                next = openat(dfd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0)
                        return un_error(err, errno == ENOTDIR || errno == ELOOP ? ELOOP : errno,
                                        "cannot create %s (a component is a symlink or not a directory)", path);
                close(dfd);
                dfd = next;
                done = strndup(path, (size_t) (comp - p) + strlen(comp));     /* the path up to here */
                r = done ? dir_trusted(dfd, done, err) : un_error(err, ENOMEM, "mkdir %s", path);
                if (r < 0)
                        return r;
        }
        return 0;
}
