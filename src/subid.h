/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host.h"

/* One line of /etc/subuid or /etc/subgid: "owner:start:count". owner is a name or a numeric UID. */
struct subid_range {
        char *owner;
        uint32_t start;
        uint32_t count;
        unsigned line;          /* 1-based line number in the file */
};

struct subid_file {
        struct subid_range *ranges;
        size_t n;
};

#define SUBID_MIN_COUNT 65536u
