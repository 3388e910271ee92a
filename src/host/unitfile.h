/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "host.h"

/* Bounds on what is read from unit files (systemd's own are larger; ours only need [Service]). */
#define UNIT_FILE_MAX (1024u * 1024)
#define UNIT_LINE_MAX (64u * 1024)      /* a logical line, continuations joined */
#define UNIT_DROPINS_MAX 1000u          /* per drop-in directory, and per unit */

/* Called for each assignment "Key=Value" with the section it is in (NULL before the first header).
 * value is stripped of surrounding blanks and may be empty; it is not unquoted (the key's own
 * parser does that, as in systemd). A negative return stops the parse with that value. */
typedef int (*unit_assignment_fn)(const char *section, const char *key, const char *value, void *userdata);

/* Parses unit file syntax (systemd.syntax(7)): [Section] headers, "#" and ";" comments, trailing
 * backslash continuations (the backslash becomes a blank; comment lines inside are dropped),
 * lines without "=" ignored. Text with NUL bytes, a malformed section header or a logical line
 * over UNIT_LINE_MAX is refused with -EBADMSG / -E2BIG, *ret_line (may be NULL) naming the line. */
int unit_file_parse(const char *text, size_t len, unit_assignment_fn fn, void *userdata, unsigned *ret_line);

/* The effective Delegate= of a unit, with systemd's semantics: yes/no replace everything, a
 * controller list adds to what is there (and turns delegation on), an empty value resets the
 * list and turns delegation on. Only controllers systemd knows can be delegated: "yes" means
 * cpu cpuset io memory pids (never hugetlb, which systemd does not manage). */
struct unit_delegate {
        bool delegate;          /* Delegate= turned on */
        unsigned controllers;   /* CONTROLLER_* bits (cgroup.h) */
        unsigned invalid;       /* words systemd would ignore as invalid controller names */
        bool assigned;          /* any Delegate= seen */
};

/* Applies one Delegate= value. */
void unit_delegate_apply(struct unit_delegate *d, const char *value);

/* Where a unit came from and what it delegates. */
struct unit_info {
        bool found;             /* a unit file exists */
        bool masked;            /* the unit file is a link to /dev/null or empty */
        char *fragment;         /* host path of the unit file in effect, NULL when none */
        char **dropins;         /* host paths of the drop-ins applied, in order */
        unsigned masked_dropins; /* drop-ins masked by a /dev/null link of the same name */
        struct unit_delegate delegate;
};

/* systemd's unit search path, highest priority first. */
extern const char *const unit_search_path[];
extern const size_t unit_search_path_len;

/* Loads unit name ("user@1000.service" or "user@.service") from the host: the unit file of the
 * highest-priority directory (the instance's own file before the template's), then the drop-ins
 * of NAME.d, TEMPLATE.d and TYPE.d ("service.d") in every directory, a same-named drop-in in a
 * higher directory masking lower ones, applied in lexical order of file name. Only the
 * [Service] Delegate= setting is evaluated. A directory with more than UNIT_DROPINS_MAX drop-ins,
 * an unreadable or malformed file fail with -errno and err naming the file. */
int unit_load(const struct host *h, const char *name, struct unit_info *ret, struct un_error *err);
/* What one unit file or drop-in alone says of [Service] Delegate= (ret->assigned: whether it sets it). */
int unit_file_delegate(const struct host *h, const char *path, struct unit_delegate *ret, struct un_error *err);
void unit_info_done(struct unit_info *u);
