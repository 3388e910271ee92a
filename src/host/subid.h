/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "host.h"
#include "users.h"

/* One line of /etc/subuid or /etc/subgid: "owner:start:count". owner is a name or a numeric UID. */
struct subid_range {
        char *owner;
        uint32_t start;
        uint32_t count;
        unsigned line;          /* 1-based line number in the file */
};

/* The whole file: the parsed ranges plus every line byte for byte, so that a rewrite keeps comments,
 * odd spacing and numeric-UID entries exactly as they were. */
struct subid_file {
        struct subid_range *ranges;
        size_t n;
        char **lines;           /* without their '\n' */
        size_t n_lines;
        bool no_final_newline;  /* the last line had no '\n' */
};

#define SUBID_MIN_COUNT 65536u
#define SUBID_FIRST 100000u             /* shadow's SUB_UID_MIN default */
#define SUBID_FILE_MAX HOST_FILE_MAX
#define SUBID_LINE_MAX 1024u
#define SUBID_MAX_ENTRIES 200000u

/* Parses file text of len bytes. Blank lines and '#' comments are kept and skipped. A malformed line,
 * a NUL byte, an overlong line, a range past 2^32 or too many entries is an error naming the line
 * number and its content (what is the name used in messages, "/etc/subuid"). */
int subid_file_parse(const char *what, const char *text, size_t len, struct subid_file *ret, struct un_error *err);
/* Reads and parses path in the host; a missing file is an empty one (*ret_exists false). */
int subid_file_load(const struct host *h, const char *path, struct subid_file *ret, bool *ret_exists,
                    struct un_error *err);
void subid_file_done(struct subid_file *f);
/* The file's text again, every line as read. */
char *subid_file_format(const struct subid_file *f, size_t *ret_len);
/* Appends "owner:start:count" as a new line. */
int subid_file_append(struct subid_file *f, const char *owner, uint32_t start, uint32_t count);
/* Removes the last line equal to line; -ENOENT when there is none. */
int subid_file_remove_line(struct subid_file *f, const char *line);

/* Whether a range belongs to the user: by name or by the decimal UID. */
bool subid_range_is_user(const struct subid_range *r, const char *name, uint32_t id);

/* What the checks find about one user's ranges in one file. */
struct subid_verdict {
        uint64_t total;                 /* IDs the user has */
        size_t n_ranges;
        const struct subid_range *best; /* the largest of the user's ranges, NULL if none */
        const struct subid_range *overlap_mine, *overlap_other; /* a collision with another owner */
        const struct subid_range *contains_own; /* a range containing the user's own ID */
};
void subid_evaluate(const struct subid_file *f, const char *name, uint32_t uid, uint32_t own_id,
                    struct subid_verdict *ret);
static inline bool subid_verdict_good(const struct subid_verdict *v) {
        return v->total >= SUBID_MIN_COUNT && !v->overlap_mine && !v->contains_own;
}

/* The lowest start >= min_start of count free IDs: overlapping no range in f, containing none of the
 * real IDs in ids (passwd UIDs or group GIDs; may be NULL) nor (uint32_t)-1. -ENOSPC when none. */
int subid_find_free(const struct subid_file *f, const struct id_table *ids, uint32_t min_start, uint32_t count,
                    uint32_t *ret_start);

/* shadow's lock on /etc/subuid: PATH.lock made by link()ing a PID file, exactly as shadow's commonio
 * does, so that usermod/useradd and usernode exclude each other. Retries for up to ~15 s like shadow. */
struct subid_lock {
        int dfd;
        char *lock_name;        /* "subuid.lock", relative to dfd */
};
int subid_lock_take(const struct host *h, const char *path, struct subid_lock *ret, struct un_error *err);
void subid_lock_release(struct subid_lock *l);

/* Parses `getsubids [-g] NAME` output ("0: alice 100000 65536") into ranges for name. */
int subid_parse_getsubids(const char *text, const char *name, struct subid_file *ret);
