/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "process.h"

/* `BINARY --version` for the report: run on the live host only (never under --root), all at once,
 * output bounded, every child killed and reaped by the deadline. */
struct version_query {
        const char *path;               /* the binary's host path */
        const char *arg;                /* "--version" when NULL */
        bool terminal;                  /* its output on a pseudo-terminal: passt writes --version with stdio and
                                         * _exit()s, so a pipe gets nothing */
        char output[512];               /* stdout and stderr, NUL-terminated, truncated */
        bool exited, timed_out;
        int exit_status;                /* when exited: the exit code, or 128 + signal */
        int spawn_error;                /* -errno when it could not be started */
        /* private */
        struct proc proc;
        int fd;
        size_t len;
};

/* As root, queries run as this user (the one a check is for; nobody until set), and only binaries that
 * no one else could have put in place are run (-EPERM in spawn_error otherwise). */
void version_query_identity(uid_t uid, gid_t gid);
/* Runs q[0..n) in parallel and waits at most timeout_ms for all of them. Returns 0, or -ENOMEM. */
int version_query_run(struct version_query *q, size_t n, unsigned timeout_ms);

/* The first version-looking word of text ("1.2.0" from "slirp4netns version 1.2.0",
 * "v1.30.2+k3s1" from "k3s version v1.30.2+k3s1 (aa4794b3)"), copied into buf. -ENOENT when none. */
int version_extract(const char *text, char *buf, size_t size);
/* The word after the program's name on the first line ("2025_05_12.8ec1341" from "pasta 2025_05_12.8ec1341",
 * "0.0~git20250503.587980c-2+deb13u1" from Debian's build), for tools whose versions are not dotted numbers.
 * -ENOENT when there is none, or when it says "unknown". */
int version_extract_word(const char *text, char *buf, size_t size);
/* Compares the leading dotted numbers of two versions ("v2.0.1" vs "1.1.0"): < 0, 0, > 0. */
int version_compare(const char *a, const char *b);
