/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "host.h"

/* Just enough of AppArmor's profile language to answer one question: which profile attaches to a
 * binary, and does it allow `userns,` (kernel.apparmor_restrict_unprivileged_userns=1, Ubuntu 23.10+).
 * Includes, hats and child profiles are not followed. */
struct apparmor_profile {
        char *name;
        char *attachment;       /* as written, NULL when the profile has none */
        char *attachment_expanded; /* variables defined in the same file replaced; NULL if one is unknown */
        char *flags;            /* "unconfined", "complain,attach_disconnected"; NULL without flags */
        bool userns_allowed;    /* an allow rule "userns," (or "userns create,") in the profile's own block */
        bool userns_denied;     /* a "deny userns" rule: it wins over any allow */
        unsigned line;          /* where the profile's header ends */
};

struct apparmor_file {
        struct apparmor_profile *profiles;
        size_t n;
};

#define APPARMOR_PROFILES_MAX 1024u
#define APPARMOR_DIR_FILES_MAX 4096u
#define APPARMOR_GLOB_MAX 1024u

/* Parses a profile file. Unbalanced braces or an unterminated quote are -EINVAL with the line in
 * *ret_line (apparmor_parser would refuse such a file, so none of its profiles load). */
int apparmor_parse(const char *text, struct apparmor_file *ret, unsigned *ret_line);
void apparmor_file_done(struct apparmor_file *f);

/* AppArmor globbing: '*' (not '/'), '**' (anything), '?', '[a-z]', '[^...]', '{a,b}' nested,
 * '\' escapes. Returns 1 on a match, 0 on none, -E2BIG/-EINVAL for patterns too large or malformed. */
int apparmor_glob_match(const char *pattern, const char *path);

/* True when this profile lets path create user namespaces. */
bool apparmor_profile_allows_userns(const struct apparmor_profile *p, const char *path);

struct apparmor_match {
        char *file;             /* "/etc/apparmor.d/rootlesskit" */
        char *profile;          /* "rootlesskit" */
};
void apparmor_match_done(struct apparmor_match *m);

/* Scans the top level of /etc/apparmor.d (skipping profiles disabled through disable/) for a profile
 * that attaches to path and allows userns. Returns 1 and fills ret when found, 0 when none does,
 * -errno when the directory cannot be read. *ret_unparsed counts files that did not parse. */
int apparmor_find_userns_profile(const struct host *h, const char *path, struct apparmor_match *ret,
                                 unsigned *ret_unparsed);

/* On the live host: 1 when a profile of that name is loaded (securityfs), 0 when not, -errno when
 * the list cannot be read (it is root's only on some kernels). */
int apparmor_profile_loaded(const struct host *h, const char *name);

/* The profile usernode installs so that binary (an absolute path of plain characters) may create
 * user namespaces: templates/apparmor-userns.in rendered for it, after the file header. */
int apparmor_userns_profile_render(const char *binary, char **ret, struct un_error *err);
/* "/etc/apparmor.d/usernode-<basename>"; NULL when binary is not a plain absolute path. */
char *apparmor_userns_profile_path(const char *binary);
