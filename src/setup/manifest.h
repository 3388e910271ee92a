/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "sha256.h"

/* What `setup` did for one user, so that `unsetup` can take back exactly that
 * (/var/lib/usernode/setup/NAME.manifest). A line-oriented text file:
 *
 *   usernode-setup-manifest 1
 *   user alice 1000
 *   file /etc/sysctl.d/50-usernode.conf new=<sha256> prev=absent
 *   file /etc/lxc/x new=<sha256> prev=<sha256> mode=0644 uid=0 gid=0 data=<base64 of the old content>
 *   line /etc/subuid <base64 of the line> [created] [added-eol]
 *   sysctl net.ipv4.ip_forward prev=0 new=1
 *   module br_netfilter
 *   dir /etc/systemd/system/user@.service.d
 *   linger
 */
#define MANIFEST_DIR "/var/lib/usernode/setup"
#define MANIFEST_MAX (8u * 1024 * 1024)

struct manifest_file {
        char *path;
        char new_hash[SHA256_HEX_LEN + 1];      /* what setup wrote */
        bool prev_absent;
        char *prev;                             /* the content before setup, byte for byte */
        size_t prev_len;
        mode_t prev_mode;
        uid_t prev_uid;
        gid_t prev_gid;
};

/* A line setup added to a file others edit too (/etc/subuid, /etc/lxc/lxc-usernet): unsetup removes
 * just that line. */
struct manifest_line {
        char *path;
        char *line;
        bool created;           /* the file did not exist before */
        bool added_eol;         /* setup added the '\n' the previous last line lacked */
};

struct manifest_sysctl {
        char *key;              /* "net.ipv4.ip_forward" */
        char *prev, *value;
};

struct manifest {
        char *user;
        uint32_t uid;
        struct manifest_file *files;
        size_t n_files;
        struct manifest_line *lines;
        size_t n_lines;
        struct manifest_sysctl *sysctls;
        size_t n_sysctls;
        char **modules;
        char **dirs;            /* directories setup created, parents first */
        bool linger;
};

struct host;

int manifest_parse(const char *text, size_t len, struct manifest *ret, struct un_error *err);
char *manifest_format(const struct manifest *m, size_t *ret_len);
void manifest_done(struct manifest *m);
bool manifest_empty(const struct manifest *m);

struct manifest_file *manifest_find_file(struct manifest *m, const char *path);
/* Adds (or returns the existing) entry for path; prev is copied. */
int manifest_add_file(struct manifest *m, const char *path, const char *prev, size_t prev_len, bool prev_absent,
                      mode_t mode, uid_t uid, gid_t gid, struct manifest_file **ret);
int manifest_add_line(struct manifest *m, const char *path, const char *line, bool created, bool added_eol);
int manifest_add_sysctl(struct manifest *m, const char *key, const char *prev, const char *value);
void manifest_remove_file(struct manifest *m, size_t i);

/* MANIFEST_DIR/NAME.manifest */
char *manifest_path_for(const char *name);
/* Reads and parses the manifest at path; a missing one is no error (*ret_exists false). */
int manifest_load(const struct host *h, const char *path, struct manifest *ret, bool *ret_exists,
                  struct un_error *err);
