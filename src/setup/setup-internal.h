/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What setup.c and unsetup.c share: the plan of file changes and the helpers that read, diff, lock
 * and write. Not an API outside these two files. */
#include <stdbool.h>
#include <sys/types.h>

#include "manifest.h"
#include "setup.h"
#include "subid.h"

#define OURS "# Written by usernode setup"
#define SMALL_FILE_MAX (256u * 1024)
#define LINGER_DIR "/var/lib/systemd/linger"

struct change {
        char *path;
        bool existed;
        char *old;
        size_t old_len;
        mode_t mode;
        uid_t uid;
        gid_t gid;
        char *new;              /* NULL: remove the file */
        size_t new_len;
        char *line;             /* a line added to a file others edit too; recorded as such */
        bool line_created, added_eol;
        bool shared;            /* host-wide: kept while another user's setup still needs it */
};

struct plan {
        struct change *changes;
        size_t n_changes;
        char **dirs;
        struct manifest_sysctl *sysctls;        /* runtime values to write now */
        size_t n_sysctls;
        char **modprobe;
        char **apparmor;                        /* profiles to load (setup) or unload (unsetup) */
        char **notes;
        char **todo;                            /* what a human must run: no bus, --root */
        bool reload, linger_bus, networkd;
        enum { MANAGER_NONE, MANAGER_START, MANAGER_RESTART } manager;
};

struct shadow_locks {
        bool pwdf;
        struct subid_lock uid, gid;
};

void plan_done(struct plan *p);
int note(char ***l, const char *fmt, ...) _printf_(2, 3);
/* Reads a file setup may rewrite: never through a symlink, only regular files, bounded. */
int read_target(const struct host *h, const char *path, size_t max, struct change *c, struct un_error *err);
/* Removes the last whole line equal to line. -ENOENT when there is none. */
int text_remove_line(const char *old, size_t len, const char *line, bool added_eol, char **ret, size_t *ret_len);
int print_changes(const struct plan *p, const char *manifest_path, const char *manifest_old, size_t manifest_old_len,
                  const char *manifest_new, size_t manifest_new_len, struct buf *out);
int print_list(struct buf *out, const char *title, char **l);
int run_tool(const struct host *h, const char *name, const char *a1, const char *a2, struct plan *p);
int write_sysctl(const struct host *h, const char *key, const char *value);
int write_change(const struct host *h, const struct change *c, struct un_error *err);
int manifest_load(const struct host *h, const char *path, struct manifest *ret, bool *ret_exists, struct un_error *err);
char *manifest_path_for(const char *name);
int take_run_lock(const struct host *h, int *ret_fd, struct un_error *err);
int shadow_locks_take(const struct host *h, struct shadow_locks *l, struct un_error *err);
void shadow_locks_release(struct shadow_locks *l);
char *sysctl_path(const char *key);
