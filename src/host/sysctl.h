/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "host.h"

/* user.max_user_namespaces where a host has 0: the value many distributions default to on a
 * few-GiB machine; plenty for a node. setup writes it, userns.enabled proposes it. */
#define USERNS_MAX_DEFAULT 28633

/* A sysctl value as /proc/sys prints it: exactly n decimal integers separated by blanks (the
 * kernel uses tabs for vectors), one optional trailing newline, nothing else. */
int sysctl_parse_ints(const char *text, int64_t *ret, size_t n);
/* The last assignment of key ("net.ipv4.ip_forward", also found when written "net/ipv4/ip_forward")
 * in sysctl.conf text. Returns 1 and a copy of the value, 0 when not set, -errno on malformed input. */
int sysctl_conf_find(const char *text, const char *key, char **ret_value);

/* Where a value came from. */
enum sysctl_source {
        SYSCTL_SOURCE_PROC,     /* /proc/sys (live, or the root's copy) */
        SYSCTL_SOURCE_CONF,     /* under --root without /proc/sys: what sysctl.d would set at boot */
        SYSCTL_SOURCE_DEFAULT,  /* under --root, set nowhere: the kernel default */
};

/* Reads key's n integers. Under --root without /proc/sys: sysctl.d + /etc/sysctl.conf, else the
 * kernel default (kernel_default may be NULL: then -ENOENT). */
int sysctl_read(const struct host *h, const char *key, const char *kernel_default, int64_t *ret, size_t n,
                enum sysctl_source *ret_source);
const char *sysctl_source_to_string(enum sysctl_source s);
/* What the configuration (sysctl.d, /etc/sysctl.conf) sets key to, as `sysctl --system` applies it:
 * 1 with the n integers in ret and the file that set it last in ret_file (may be NULL), 0 when
 * nothing sets it. */
int sysctl_read_configured(const struct host *h, const char *key, int64_t *ret, size_t n, char **ret_file);
