/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What the files of the setup layer share, and no API outside src/setup: the plan of changes and how
 * it is applied (plan.c), the planners that fill it (plan-*.c), line edits of shared files (text.c),
 * what one run holds (session.c), the user it is for (user.c) and how a plan is printed (print.c). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "bus.h"
#include "manifest.h"
#include "setup.h"
#include "subid.h"
#include "users.h"

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

/* plan.c: the plan model. */
void setup_plan_done(struct plan *p);
void setup_plan_change_done(struct change *c);
/* Adds a line to a list (notes, todo) unless it is there already. */
int setup_plan_note(char ***l, const char *fmt, ...) _printf_(2, 3);
/* Reads a file setup may rewrite: never through a symlink, only regular files, bounded. */
int setup_plan_read_target(const struct host *h, const char *path, size_t max, struct change *c,
                           struct un_error *err);
/* Whether c's file carries the header setup writes. */
bool setup_plan_is_ours(const struct change *c);
/* Reads c->path, a file only setup writes; 1 (noted) when setup did not write it, so that it is left alone. */
int setup_plan_read_own_file(const struct host *h, struct change *c, struct plan *p, struct un_error *err);
/* Whether writing new (NULL: removing the file) would leave c's file as it is. */
bool setup_plan_unchanged(const struct change *c, const char *new, size_t new_len);
/* Appends c as it is; takes ownership of its fields. */
int setup_plan_push(struct plan *p, struct change *c);
/* Appends c with new content when that differs from what is on disk; takes ownership of c and new. */
int setup_plan_add_change(struct plan *p, struct change *c, char *new, size_t new_len);
/* Plans c, read by setup_plan_read_own_file, host-wide, with the content new (taken; NULL: nothing to write,
 * c is dropped). 1 when that changes the file. */
int setup_plan_add_own_change(struct plan *p, struct change *c, char *new);
/* Plans path, a host-wide file only setup writes, with the content new (taken; NULL: -ENOMEM). 1 when
 * that changes the file; 0 when it is as it should be, or was not written by setup (left alone, noted). */
int setup_plan_add_own_file(const struct host *h, struct plan *p, const char *path, char *new,
                            struct un_error *err);
/* Plans line at the end of path, a file others edit too, unless a line starting with exists_prefix is
 * there already. */
int setup_plan_add_line(const struct host *h, const char *path, const char *line, const char *exists_prefix,
                        struct plan *p, struct un_error *err);
/* Plans key = value at runtime; prev is what it is now. */
int setup_plan_add_sysctl(struct plan *p, const char *key, const char *prev, const char *value);
struct change *setup_plan_find(struct plan *p, const char *path);
/* Drops the changes that would write what is on disk already. */
void setup_plan_drop_unchanged(struct plan *p);
/* Adds the directories on path's way that do not exist to *dirs, parents first. */
int setup_plan_missing_dirs(const struct host *h, const char *path, char ***dirs);

/* plan.c: applying the plan. */
/* Crash-consistency tests trace every step or die at one (with test hooks built in); a no-op otherwise. */
void setup_plan_test_step(const char *step, const char *arg);
int setup_plan_write_change(const struct host *h, const struct change *c, struct un_error *err);
char *setup_plan_sysctl_path(const char *key);
int setup_plan_write_sysctl(const struct host *h, const char *key, const char *value);
/* Runs name a1 [a2]; a failure is a note in the plan, not an error. */
int setup_plan_run_tool(const struct host *h, const char *name, const char *a1, const char *a2, struct plan *p);

/* The planners: each adds what this host lacks. */
int setup_plan_subids(const struct host *h, const struct setup_options *o, const struct user *u, struct plan *p,
                      struct un_error *err);
int setup_plan_dropin(const struct host *h, const struct setup_options *o, uid_t uid, struct plan *p,
                      bool *ret_changed, struct un_error *err);
int setup_plan_linger(const struct host *h, sd_bus *bus, const struct user *u, struct plan *p, bool *ret_new,
                      struct un_error *err);
int setup_plan_user_manager(const struct host *h, const struct setup_options *o, sd_bus *bus, const struct user *u,
                            bool dropin_changed, bool linger_new, struct plan *p);
int setup_plan_sysctls(const struct host *h, const struct setup_options *o, struct plan *p, struct un_error *err);
int setup_plan_modules(const struct host *h, const struct setup_options *o, struct plan *p, struct un_error *err);
int setup_plan_apparmor(const struct host *h, struct plan *p, struct un_error *err);
int setup_plan_fast_net(const struct host *h, const struct user *u, struct plan *p, struct un_error *err);

/* plan-hostconf.c: 0 where /etc is the admin's; on a host whose configuration owns setup's files (NixOS),
 * the settings that make the user ready appended to out, and -EPERM: setup writes nothing there. */
int setup_refuse_for_hostconf(const struct host *h, const struct setup_options *o, const struct user *u,
                              struct buf *out, struct un_error *err);

/* text.c */
/* Adds line + '\n' at the end of old, keeping every byte of it. */
int setup_text_append_line(const char *old, size_t len, const char *line, char **ret, size_t *ret_len,
                           bool *ret_added_eol);
/* Removes the last whole line equal to line. -ENOENT when there is none. */
int setup_text_remove_line(const char *old, size_t len, const char *line, bool added_eol, char **ret,
                           size_t *ret_len);

/* session.c: what a setup or unsetup run holds from start to end. */
struct setup_session {
        const struct host *h;
        const struct setup_options *o;
        struct buf *out;                /* what the verb prints */
        struct user u;
        char *mpath;                    /* the user's manifest */
        struct manifest m;
        struct plan p;
        int run_fd;                     /* the run lock: a flock on /etc */
        bool pwdf;                      /* shadow's locks: lckpwdf(), then subuid, subgid */
        struct subid_lock uid_lock, gid_lock;
        sd_bus *bus;                    /* NULL: none (--root, or no system bus) */
};
#define SETUP_SESSION_INIT(host, options, output)                                                             \
        { .h = (host), .o = (options), .out = (output), .run_fd = -EBADF, .uid_lock.dfd = -EBADF,           \
          .gid_lock.dfd = -EBADF }

/* -errno when a live host has no system bus; 0 without a bus under --root. */
int setup_session_open_bus(struct setup_session *s);
/* Takes the run lock, then shadow's locks (not under --dry-run). */
int setup_session_lock(struct setup_session *s, struct un_error *err);
/* Gives back shadow's locks once /etc/subuid and /etc/subgid are written; the run lock stays. */
void setup_session_unlock_shadow(struct setup_session *s);
void setup_session_done(struct setup_session *s);

/* user.c */
/* The value of key in /etc/login.defs, def when it is not set there. */
int setup_user_login_defs_u32(const struct host *h, const char *key, uint32_t def, uint32_t *ret);
/* The user setup is for: known, with a name /etc/subuid can hold, not root or a system user unless --force. */
int setup_user_validate(const struct host *h, const struct setup_options *o, struct user *u, struct un_error *err);
/* The user unsetup is for, who may be gone already: then only the name, which names the manifest. */
int setup_user_lookup_maybe_gone(const struct host *h, const struct setup_options *o, struct user *u,
                                 struct un_error *err);

/* print.c */
int setup_print_changes(const struct plan *p, const char *manifest_path, const char *manifest_old,
                        size_t manifest_old_len, const char *manifest_new, size_t manifest_new_len, struct buf *out);
int setup_print_list(struct buf *out, const char *title, char **l);
/* How every run ends: what is left to do by hand under todo_title, then the notes. */
int setup_print_todo_and_notes(struct buf *out, const char *todo_title, const struct plan *p);
