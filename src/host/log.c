/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reading a node's logs for the line to quote when a part of the node fails. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "log.h"
#include "util.h"

char *log_last_match(const char *path, const char *(*match)(const char *line), size_t max) {
        _cleanup_free_ char *text = NULL;
        const struct host *h = host_live();
        char *found = NULL, *cursor, *line;

        if (host_read_file(h, path, LOG_READ_MAX, &text, NULL) < 0) {
                return NULL;
        }
        cursor = text;
        while ((line = line_next(&cursor, 64 * 1024, NULL))) {
                const char *m = match(line);

                if (m) {
                        free(found);
                        found = strndup(m, max);
                }
        }
        return found;
}
