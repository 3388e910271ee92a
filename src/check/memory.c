/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memory.swap: whether pods could use swap. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "checks.h"
#include "util.h"

int check_memory(struct check_ctx *c, struct report *r) {
        _cleanup_free_ char *text = NULL;
        char *cursor, *line;
        unsigned n = 0, lineno = 0;
        uint64_t total_kib = 0;
        int err = 0, k;

        k = host_read_file(c->host, "/proc/swaps", 1024 * 1024, &text, NULL);
        if (k < 0)
                return report_add(r, "memory.swap", c->host->offline ? CHECK_SKIP : CHECK_WARN, NULL,
                                  "cannot read /proc/swaps: %s", strerror(-k));
        cursor = text;
        while ((line = line_next(&cursor, HOST_LINE_MAX, &err))) {
                _cleanup_strv_free_ char **f = NULL;
                uint64_t size;

                if (++lineno == 1)
                        continue;       /* "Filename Type Size Used Priority" */
                if (strv_split(line, " \t", &f) < 0)
                        return -ENOMEM;
                if (strv_length(f) < 5 || parse_u64(f[2], &size) < 0)
                        continue;
                n++;
                total_kib += size;
        }
        if (n > 0)
                return report_add(r, "memory.swap", CHECK_PASS, NULL, "%u swap area(s), %" PRIu64 " MiB", n,
                                  total_kib / 1024);
        return report_add(r, "memory.swap", CHECK_WARN,
                          "sudo fallocate -l 2G /swapfile && sudo chmod 0600 /swapfile && sudo mkswap /swapfile && "
                          "sudo swapon /swapfile",
                          "no swap: pods cannot use swap (for information: Kubernetes runs fine without)");
}
