/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

/* The last line of a log (node.log, kubelet.log; at most LOG_READ_MAX bytes read) for which match() returns
 * a pointer into it, copied from there (at most max bytes): what `up` quotes when a part of the node fails. */
#define LOG_READ_MAX (16u * 1024u * 1024u)
char *log_last_match(const char *path, const char *(*match)(const char *line), size_t max);
