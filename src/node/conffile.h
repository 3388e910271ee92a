/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "host.h"

/* usernode's YAML configuration (/etc/usernode/config.yaml, ~/.config/usernode/config.yaml):
 * top-level keys give defaults, `nodes: {NAME: {...}}` per-node sections. The caller says which
 * keys exist and what they hold; an unknown key or a bad value is an error at file:line:column. */
enum config_type {
        CONFIG_STRING,
        CONFIG_UINT,
        CONFIG_BOOL,
        CONFIG_LIST,            /* a sequence of strings, or one string */
};

struct config_key {
        const char *name;
        enum config_type type;
};

struct config_entry {
        char *node;             /* NULL for a top-level default, else the node's name */
        char *key;
        char **values;          /* NULL-terminated; one value for scalars ("true"/"false" for bools) */
        char *file;
        unsigned line, column;  /* 1-based, of the value */
};

struct config {
        struct config_entry *entries;
        size_t n;
};

#define CONFIG_FILE_MAX (64u * 1024u)
#define CONFIG_ENTRIES_MAX 1024u

/* Parses YAML text; name is used in error messages. */
int config_parse(const char *name, const char *text, size_t len, const struct config_key *keys, size_t n_keys,
                 struct config *ret, struct un_error *err);
/* Reads path through the host layer (a missing file is an empty config) and appends its entries
 * to cfg, so that later files override earlier ones on lookup. */
int config_load(const struct host *h, const char *path, const struct config_key *keys, size_t n_keys,
                struct config *cfg, struct un_error *err);
/* The last entry for key in the node's section, else the last top-level one, else NULL. */
const struct config_entry *config_get(const struct config *cfg, const char *node, const char *key);
void config_done(struct config *cfg);
