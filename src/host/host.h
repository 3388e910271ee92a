/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <dirent.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "error.h"

/* The one layer through which usernode reads and writes the host (STYLE.md "Host access").
 * Paths are absolute host paths ("/etc/subuid"); they are resolved inside the root directory,
 * symlinks included, and never escape it. */
struct host {
        int root_fd;            /* O_PATH directory fd of the root */
        char *root;             /* canonical absolute path of the root, "/" for the live host */
        bool offline;           /* --root DIR: never exec, never use the bus or netlink */
        bool force_chase;       /* resolve by the component walk even where openat2 exists (tests) */
        char **user_bin_dirs;   /* the profiles of the user whose tools are looked for (host_set_tool_user) */
};

/* Bounds on what is read from the host. */
#define HOST_FILE_MAX (4u * 1024 * 1024)
#define HOST_LINE_MAX 4096u

int host_init(struct host *h, const char *root, struct un_error *err);
void host_done(struct host *h);

/* Resolution modes. HOST_FOLLOW resolves symlinks inside the root; HOST_NO_SYMLINKS refuses any
 * symlink on the way (what root-owned writes use). */
enum host_resolve {
        HOST_FOLLOW,
        HOST_NO_SYMLINKS,
};

/* Opens path inside the root. O_CLOEXEC is always added. Returns an fd or -errno. */
int host_open(const struct host *h, const char *path, int flags, mode_t mode, enum host_resolve how);
/* Opens a directory for reading its entries. */
int host_opendir(const struct host *h, const char *path, DIR **ret);
/* Reads a whole regular file, bounded by max bytes (-EFBIG beyond; -EINVAL for FIFOs, devices,
 * directories). The result is NUL-terminated; ret_len may be NULL. */
int host_read_file(const struct host *h, const char *path, size_t max, char **ret, size_t *ret_len);
/* Reads the first line of a small file (sysctls, /sys attributes), without its newline. */
int host_read_line(const struct host *h, const char *path, char **ret);
int host_stat(const struct host *h, const char *path, struct stat *ret, bool follow);
bool host_exists(const struct host *h, const char *path);
/* The path as the running process can use it (root + path), for messages and exec on the live host. */
char *host_path(const struct host *h, const char *path);
/* The *.conf files of NAME.d ("sysctl.d", "modules-load.d", "modprobe.d") as systemd and kmod read
 * them: in /etc, /run, /usr/local/lib, /usr/lib and /lib, a name in an earlier directory masking the
 * same name in a later one, in the order of their names. At most HOST_CONF_FILES_MAX; ret gets
 * a NULL-terminated list of host paths, possibly empty. */
#define HOST_CONF_FILES_MAX 1024u
int host_conf_files(const struct host *h, const char *name, char ***ret);
/* The live host ("/"): one handle per process, opened on first use (when / cannot be opened, every
 * operation through it fails with -EBADF). What the node's code reads and writes on the host goes
 * through it; `check` and `setup` take the handle their verb opened (--root or /). */
const struct host *host_live(void);
/* host_read_file on the live host. */
int host_read_live(const char *path, size_t max, char **ret);
/* Finds an executable where the user's shell would: $PATH first on the live host, then the directories
 * of host_tool_dirs (NixOS's setuid wrappers before everything, the FHS directories, the user's Nix
 * profiles, the system's). ret gets the host path ("/usr/bin/newuidmap"); a symlink into /nix/store
 * resolves inside the root, so a setuid helper is judged by the file that would run. */
int host_find_executable(const struct host *h, const char *name, char **ret);
/* The directories host_find_executable searches after $PATH, in order, for the user set by
 * host_set_tool_user (none: the system's only). NULL-terminated; caller frees. */
int host_tool_dirs(const struct host *h, char ***ret);
/* Whose tools are looked for: adds the user's Nix profiles (/etc/profiles/per-user/NAME/bin,
 * HOME/.nix-profile/bin, HOME/.local/state/nix/profile/bin) to the search. */
int host_set_tool_user(struct host *h, const char *name, const char *home);

/* Atomic replacement (STYLE.md): temp file in the same directory (O_EXCL|O_NOFOLLOW), write,
 * fchmod/fchown, fsync, renameat, fsync the directory. Refuses when the target or any directory on
 * the way is a symlink, or the target is not a regular file. uid/gid (uid_t)-1 keep the owner. */
int host_write_atomic(const struct host *h, const char *path, const void *data, size_t len, mode_t mode,
                      uid_t uid, gid_t gid, struct un_error *err);
/* The same without fsync: runtime state (status.json) that a crash makes stale anyway. */
int host_write_runtime(const struct host *h, const char *path, const void *data, size_t len, mode_t mode,
                       struct un_error *err);
/* Removes a regular file (never through a symlink); -ENOENT is returned as is. */
int host_unlink(const struct host *h, const char *path, struct un_error *err);
/* Creates path and missing parents (mode for new ones), refusing symlinks on the way. */
int host_mkdir_p(const struct host *h, const char *path, mode_t mode, struct un_error *err);
