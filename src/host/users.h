/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "host.h"

struct user {
        char *name;
        uid_t uid;
        gid_t gid;
        char *home;
};

/* One line of /etc/passwd or /etc/group: name and numeric ID (the other fields are not needed). */
struct id_entry {
        char *name;
        uint32_t id;
        uint32_t gid;           /* passwd only: the primary group */
        char *home;             /* passwd only */
};

struct id_table {
        struct id_entry *entries;
        size_t n;
};

#define ID_TABLE_MAX_ENTRIES 1000000u

/* Parses passwd (7 fields) or group (4 fields) text. NIS "+"/"-" lines and comments are skipped;
 * a malformed line is an error with its number in *ret_line. */
int id_table_parse(const char *text, bool passwd, struct id_table *ret, unsigned *ret_line);
/* Reads /etc/passwd or /etc/group inside the host root. */
int id_table_load(const struct host *h, const char *path, bool passwd, struct id_table *ret, struct un_error *err);
const struct id_entry *id_table_find_name(const struct id_table *t, const char *name);
const struct id_entry *id_table_find_id(const struct id_table *t, uint32_t id);
void id_table_done(struct id_table *t);

/* Finds a user by name or numeric UID: from the root's /etc/passwd under --root (never NSS there),
 * through NSS (getpwnam_r) on the live host so that LDAP/SSSD users work. */
int user_lookup(const struct host *h, const char *name_or_uid, struct user *ret, struct un_error *err);
/* The user usernode acts for when --user is not given: SUDO_USER under sudo, else the caller. */
int user_lookup_default(const struct host *h, struct user *ret, struct un_error *err);
void user_done(struct user *u);
