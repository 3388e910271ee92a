/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A node's directories (runtime and data, from its name and the environment) and its lock. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <uuid/uuid.h>

#include "node.h"
#include "nodeapi.h"
#include "util.h"

int node_name_ephemeral(char **ret) {
        uuid_t u;
        char s[UUID_STR_LEN];

        uuid_generate_random(u);
        uuid_unparse_lower(u, s);
        *ret = xstrdup_printf("ci-%.8s", s);
        return *ret ? 0 : -ENOMEM;
}

/* The base of runtime state: $XDG_RUNTIME_DIR, else a per-user directory in /tmp (CI containers
 * have no logind); the caller checks ownership when it creates it. */
static char *runtime_base(void) {
        const char *x = secure_getenv("XDG_RUNTIME_DIR");

        if (x && x[0] == '/' && strlen(x) < 256)
                return xstrdup_printf("%s/usernode", x);
        return xstrdup_printf("/tmp/usernode-%u", (unsigned) getuid());
}

/* $XDG_DATA_HOME/usernode/SUB, or ~/.local/share/usernode/SUB. */
static char *data_path(const char *sub) {
        const char *x = secure_getenv("XDG_DATA_HOME"), *home = secure_getenv("HOME");

        if (x && x[0] == '/' && strlen(x) < 1024)
                return xstrdup_printf("%s/usernode/%s", x, sub);
        if (home && home[0] == '/' && strlen(home) < 1024)
                return xstrdup_printf("%s/.local/share/usernode/%s", home, sub);
        return NULL;
}

static char *data_base(void) {
        return data_path("nodes");
}

char *node_images_dir(void) {
        return data_path("images");
}

int node_resolve(const char *name, bool ephemeral, struct node *ret, struct un_error *err) {
        _cleanup_free_ char *rb = NULL, *db = NULL, *rt = NULL, *data = NULL, *nm = NULL;

        if (!node_name_valid(name))
                return un_error(err, EINVAL, "invalid node name '%.64s' (use a-z, 0-9, '-', '_', '.')", name);
        rb = runtime_base();
        if (!rb)
                return un_error(err, ENOMEM, "node %s", name);
        rt = xstrdup_printf("%s/%s", rb, name);
        if (ephemeral)
                data = xstrdup_printf("%s/%s/data", rb, name);
        else {
                db = data_base();
                if (!db)
                        return un_error(err, ENOENT, "neither XDG_DATA_HOME nor HOME is set");
                data = xstrdup_printf("%s/%s", db, name);
        }
        nm = strdup(name);
        if (!rt || !data || !nm)
                return un_error(err, ENOMEM, "node %s", name);
        *ret = (struct node) {
                .name = TAKE_PTR(nm),
                .runtime_dir = TAKE_PTR(rt),
                .data_dir = TAKE_PTR(data),
                .ephemeral = ephemeral,
                .lock_fd = -EBADF,
        };
        return 0;
}

char *node_runtime_path(const struct node *n, const char *name) {
        return xstrdup_printf("%s/%s", n->runtime_dir, name);
}

char *node_data_path(const struct node *n, const char *name) {
        return xstrdup_printf("%s/%s", n->data_dir, name);
}

int node_open(const char *name, struct node *ret, struct un_error *err) {
        struct node n;
        _cleanup_free_ char *marker = NULL;
        int r;

        r = node_resolve(name, false, &n, err);
        if (r < 0)
                return r;
        /* status, down, exec act on what is there: only when it is ours (a /tmp fallback is shared). */
        {
                _cleanup_free_ char *base = runtime_base();

                r = !base ? un_error(err, ENOMEM, "node %s", name)
                    : access(base, F_OK) == 0 ? node_dir_check(base, err) : 0;
                if (r >= 0 && access(n.runtime_dir, F_OK) == 0)
                        r = node_dir_check(n.runtime_dir, err);
                if (r < 0) {
                        node_done(&n);
                        return r;
                }
        }
        marker = node_runtime_path(&n, "ephemeral");
        if (!marker) {
                node_done(&n);
                return un_error(err, ENOMEM, "node %s", name);
        }
        if (access(marker, F_OK) == 0) {
                node_done(&n);
                r = node_resolve(name, true, &n, err);
                if (r < 0)
                        return r;
        }
        *ret = n;
        return 0;
}

int node_dir_check(const char *path, struct un_error *err) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;

        if (fd < 0)
                return errno == ENOENT ? un_error(err, ENOENT, "%s does not exist", path)
                                       : un_error(err, errno, "%s is not a directory of yours (a symlink?)", path);
        if (fstat(fd, &st) < 0)
                return un_error(err, errno, "cannot stat %s", path);
        if (st.st_uid != getuid())
                return un_error(err, EPERM, "%s belongs to UID %u, not to you: another user may have made it to "
                                "catch your node's state; remove it, or set XDG_RUNTIME_DIR to a directory of yours",
                                path, (unsigned) st.st_uid);
        /* Ours: an older usernode may have made it with a wider mode. */
        if ((st.st_mode & 077) && fchmod(fd, st.st_mode & 07700) < 0)
                return un_error(err, errno, "cannot make %s private", path);
        return 0;
}

/* mkdir -p with 0700 for what it creates; refuses a directory that is not ours or is a symlink. */
static int mkdir_private(const char *path, struct un_error *err) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return un_error(err, ENOMEM, "mkdir %s", path);
        for (char *s = strchr(p + 1, '/');; s = strchr(s + 1, '/')) {
                if (s)
                        *s = '\0';
                if (mkdir(p, 0700) < 0 && errno != EEXIST)
                        return un_error(err, errno, "cannot create %s", p);
                if (s)
                        *s = '/';
                else
                        break;
        }
        return node_dir_check(path, err);
}

int node_create_and_lock(struct node *n, struct un_error *err) {
        _cleanup_free_ char *lock = NULL, *base = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        /* The base of the runtime tree must be private: sockets and logs live there. */
        base = runtime_base();
        if (!base)
                return un_error(err, ENOMEM, "node %s", n->name);
        r = mkdir_private(base, err);
        if (r < 0)
                return r;
        r = mkdir_private(n->runtime_dir, err);
        if (r < 0)
                return r;
        lock = node_runtime_path(n, "lock");
        if (!lock)
                return un_error(err, ENOMEM, "node %s", n->name);
        fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return un_error(err, errno, "cannot open %s", lock);
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return un_error(err, errno == EWOULDBLOCK ? EBUSY : errno, "node '%s' is running (%s is locked)",
                                n->name, lock);
        r = mkdir_private(n->data_dir, err);
        if (r < 0)
                return r;
        if (n->ephemeral) {
                _cleanup_free_ char *marker = node_runtime_path(n, "ephemeral");
                _cleanup_close_ int m = -EBADF;

                if (!marker)
                        return un_error(err, ENOMEM, "node %s", n->name);
                m = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (m < 0)
                        return un_error(err, errno, "cannot create %s", marker);
        }
        n->lock_fd = TAKE_FD(fd);
        return 0;
}

bool node_is_locked(const struct node *n) {
        _cleanup_free_ char *lock = node_runtime_path(n, "lock");
        _cleanup_close_ int fd = -EBADF;

        if (!lock)
                return false;
        fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return false;
        if (flock(fd, LOCK_SH | LOCK_NB) < 0)
                return errno == EWOULDBLOCK;
        return false;
}

int node_supervisor_pidfd(const struct node *n, pid_t pid) {
        _cleanup_free_ char *lock = node_runtime_path(n, "lock");
        _cleanup_close_ int pidfd = -EBADF, lfd = -EBADF;
        _cleanup_closedir_ DIR *d = NULL;
        struct stat want, st;
        struct dirent *de;
        char path[64];

        if (!lock || pid <= 0)
                return -EINVAL;
        lfd = open(lock, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (lfd < 0 || fstat(lfd, &want) < 0)
                return -errno;
        /* The pidfd first: whatever we verify below is then the process we will signal, not a PID reused since. */
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
                return -errno;
        snprintf(path, sizeof path, "/proc/%d", (int) pid);
        if (stat(path, &st) < 0 || st.st_uid != getuid())
                return -EPERM;
        snprintf(path, sizeof path, "/proc/%d/fd", (int) pid);
        d = opendir(path);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                char fd_path[96];

                if (de->d_name[0] == '.')
                        continue;
                snprintf(fd_path, sizeof fd_path, "/proc/%d/fd/%.16s", (int) pid, de->d_name);
                if (stat(fd_path, &st) == 0 && st.st_dev == want.st_dev && st.st_ino == want.st_ino)
                        return TAKE_FD(pidfd);
        }
        return -ESRCH;
}

char *node_kubeconfig_path(const struct node *n) {
        const char *home = secure_getenv("HOME");

        if (n->ephemeral || !home || home[0] != '/')
                return node_runtime_path(n, "kubeconfig.yaml");
        return xstrdup_printf("%s/.kube/usernode-%s.yaml", home, n->name);
}

void node_done(struct node *n) {
        free(n->name);
        free(n->runtime_dir);
        free(n->data_dir);
        if (n->lock_fd >= 0)
                close(n->lock_fd);
        *n = (struct node) { .lock_fd = -EBADF };
}
