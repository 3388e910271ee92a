/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "conffile.h"
#include "util.h"

struct parse_state {
        const char *name;
        const struct config_key *keys;
        size_t n_keys;
        yaml_parser_t parser;
        struct config *cfg;
        struct un_error *err;
};

static int at(struct parse_state *s, const yaml_mark_t *m, int code, const char *what, const char *arg) {
        return un_error(s->err, code, "%s:%zu:%zu: %s%s%s%s", s->name, m->line + 1, m->column + 1, what,
                        arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
}

static int next(struct parse_state *s, yaml_event_t *ev) {
        if (!yaml_parser_parse(&s->parser, ev))
                return un_error(s->err, EINVAL, "%s:%zu:%zu: %s", s->name, s->parser.problem_mark.line + 1,
                                s->parser.problem_mark.column + 1,
                                s->parser.problem ? s->parser.problem : "invalid YAML");
        return 0;
}

static const struct config_key *find_key(struct parse_state *s, const char *name) {
        for (size_t i = 0; i < s->n_keys; i++)
                if (strcmp(s->keys[i].name, name) == 0)
                        return &s->keys[i];
        return NULL;
}

static int check_scalar(struct parse_state *s, const struct config_key *k, const yaml_event_t *ev) {
        const char *v = (const char *) ev->data.scalar.value;
        uint64_t u;

        if (ev->data.scalar.length != strlen(v))
                return at(s, &ev->start_mark, EINVAL, "NUL byte in value of", k->name);
        switch (k->type) {
        case CONFIG_UINT:
                if (parse_u64(v, &u) < 0 || u > UINT32_MAX)
                        return at(s, &ev->start_mark, EINVAL, "expected a non-negative integer for", k->name);
                break;
        case CONFIG_BOOL:
                if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
                        return at(s, &ev->start_mark, EINVAL, "expected true or false for", k->name);
                break;
        default:
                break;
        }
        return 0;
}

static int add_entry(struct parse_state *s, const char *node, const char *key, const yaml_mark_t *m,
                     struct config_entry **ret) {
        struct config *c = s->cfg;
        struct config_entry *e;

        if (c->n >= CONFIG_ENTRIES_MAX)
                return at(s, m, E2BIG, "too many entries", NULL);
        e = realloc(c->entries, (c->n + 1) * sizeof *e);
        if (!e)
                return -ENOMEM;
        c->entries = e;
        e = &c->entries[c->n];
        *e = (struct config_entry) { .line = (unsigned) m->line + 1, .column = (unsigned) m->column + 1 };
        e->node = node ? strdup(node) : NULL;
        e->key = strdup(key);
        e->file = strdup(s->name);
        e->values = calloc(1, sizeof(char *));
        if ((node && !e->node) || !e->key || !e->file || !e->values) {
                free(e->node);
                free(e->key);
                free(e->file);
                free(e->values);
                return -ENOMEM;
        }
        c->n++;
        *ret = e;
        return 0;
}

/* Parses the value of key (the next event) into a new entry. */
static int parse_value(struct parse_state *s, const char *node, const char *key, const yaml_mark_t *key_mark) {
        const struct config_key *k = find_key(s, key);
        struct config_entry *e;
        yaml_event_t ev;
        int r;

        if (!k)
                return at(s, key_mark, EINVAL, "unknown key", key);
        r = next(s, &ev);
        if (r < 0)
                return r;
        if (ev.type == YAML_SCALAR_EVENT) {
                r = check_scalar(s, k, &ev);
                if (r >= 0)
                        r = add_entry(s, node, key, &ev.start_mark, &e);
                if (r >= 0)
                        r = strv_push(&e->values, (const char *) ev.data.scalar.value);
                yaml_event_delete(&ev);
                return r;
        }
        if (ev.type != YAML_SEQUENCE_START_EVENT || k->type != CONFIG_LIST) {
                r = at(s, &ev.start_mark, EINVAL, "expected a single value for", key);
                yaml_event_delete(&ev);
                return r;
        }
        r = add_entry(s, node, key, &ev.start_mark, &e);
        yaml_event_delete(&ev);
        if (r < 0)
                return r;
        for (;;) {
                r = next(s, &ev);
                if (r < 0)
                        return r;
                if (ev.type == YAML_SEQUENCE_END_EVENT) {
                        yaml_event_delete(&ev);
                        return 0;
                }
                if (ev.type != YAML_SCALAR_EVENT || strv_length(e->values) >= 256 ||
                    ev.data.scalar.length != strlen((const char *) ev.data.scalar.value))
                        r = at(s, &ev.start_mark, EINVAL, "expected a list of plain values for", key);
                else
                        r = strv_push(&e->values, (const char *) ev.data.scalar.value);
                yaml_event_delete(&ev);
                if (r < 0)
                        return r;
        }
}

static int parse_nodes(struct parse_state *s);

/* A mapping of key: value (the MAPPING_START has been consumed). node is NULL at the top level,
 * where "nodes" opens the per-node sections. */
static int parse_mapping(struct parse_state *s, const char *node) {
        for (;;) {
                _cleanup_free_ char *key = NULL;
                yaml_mark_t mark;
                yaml_event_t ev;
                int r = next(s, &ev);

                if (r < 0)
                        return r;
                if (ev.type == YAML_MAPPING_END_EVENT) {
                        yaml_event_delete(&ev);
                        return 0;
                }
                if (ev.type != YAML_SCALAR_EVENT) {
                        r = at(s, &ev.start_mark, EINVAL, "expected a key", NULL);
                        yaml_event_delete(&ev);
                        return r;
                }
                key = strndup((const char *) ev.data.scalar.value, 128);
                mark = ev.start_mark;
                yaml_event_delete(&ev);
                if (!key)
                        return -ENOMEM;
                if (!node && strcmp(key, "nodes") == 0)
                        r = parse_nodes(s);
                else
                        r = parse_value(s, node, key, &mark);
                if (r < 0)
                        return r;
        }
}

static bool valid_node_name(const char *s) {
        size_t n = strlen(s);

        return n > 0 && n <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n && s[0] != '-';
}

/* nodes: {NAME: {key: value, ...}, ...} */
static int parse_nodes(struct parse_state *s) {
        yaml_event_t ev;
        int r = next(s, &ev);

        if (r < 0)
                return r;
        if (ev.type != YAML_MAPPING_START_EVENT) {
                r = at(s, &ev.start_mark, EINVAL, "expected a mapping of node names under", "nodes");
                yaml_event_delete(&ev);
                return r;
        }
        yaml_event_delete(&ev);
        for (;;) {
                _cleanup_free_ char *name = NULL;

                r = next(s, &ev);
                if (r < 0)
                        return r;
                if (ev.type == YAML_MAPPING_END_EVENT) {
                        yaml_event_delete(&ev);
                        return 0;
                }
                if (ev.type != YAML_SCALAR_EVENT || !valid_node_name((const char *) ev.data.scalar.value)) {
                        r = at(s, &ev.start_mark, EINVAL,
                               "expected a node name (a-z, 0-9 and '-', at most 64)", NULL);
                        yaml_event_delete(&ev);
                        return r;
                }
                name = strdup((const char *) ev.data.scalar.value);
                yaml_event_delete(&ev);
                if (!name)
                        return -ENOMEM;
                r = next(s, &ev);
                if (r < 0)
                        return r;
                if (ev.type != YAML_MAPPING_START_EVENT) {
                        r = at(s, &ev.start_mark, EINVAL, "expected a mapping for node", name);
                        yaml_event_delete(&ev);
                        return r;
                }
                yaml_event_delete(&ev);
                r = parse_mapping(s, name);
                if (r < 0)
                        return r;
        }
}

int config_parse(const char *name, const char *text, size_t len, const struct config_key *keys, size_t n_keys,
                 struct config *ret, struct un_error *err) {
        struct parse_state s = { .name = name, .keys = keys, .n_keys = n_keys, .cfg = ret, .err = err };
        yaml_event_t ev;
        bool body = false;
        int r = 0;

        if (len > CONFIG_FILE_MAX)
                return un_error(err, EFBIG, "%s: larger than %u bytes", name, CONFIG_FILE_MAX);
        if (!yaml_parser_initialize(&s.parser))
                return un_error(err, ENOMEM, "%s", name);
        yaml_parser_set_input_string(&s.parser, (const unsigned char *) text, len);
        /* stream-start, document-start, a mapping (or nothing), document-end, stream-end */
        for (;;) {
                r = next(&s, &ev);
                if (r < 0)
                        break;
                if (ev.type == YAML_STREAM_END_EVENT) {
                        yaml_event_delete(&ev);
                        break;
                }
                if (ev.type == YAML_MAPPING_START_EVENT && !body) {
                        yaml_event_delete(&ev);
                        body = true;
                        r = parse_mapping(&s, NULL);
                        if (r < 0)
                                break;
                        continue;
                }
                if (ev.type == YAML_DOCUMENT_START_EVENT && body) {
                        r = at(&s, &ev.start_mark, EINVAL, "only one YAML document is allowed", NULL);
                        yaml_event_delete(&ev);
                        break;
                }
                if (ev.type != YAML_STREAM_START_EVENT && ev.type != YAML_DOCUMENT_START_EVENT &&
                    ev.type != YAML_DOCUMENT_END_EVENT) {
                        r = at(&s, &ev.start_mark, EINVAL, "expected a mapping of settings", NULL);
                        yaml_event_delete(&ev);
                        break;
                }
                yaml_event_delete(&ev);
        }
        yaml_parser_delete(&s.parser);
        return r;
}

int config_load(const struct host *h, const char *path, const struct config_key *keys, size_t n_keys,
                struct config *cfg, struct un_error *err) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        r = host_read_file(h, path, CONFIG_FILE_MAX, &text, &len);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return un_error(err, -r, "cannot read %s", path);
        return config_parse(path, text, len, keys, n_keys, cfg, err);
}

const struct config_entry *config_get(const struct config *cfg, const char *node, const char *key) {
        const struct config_entry *top = NULL;

        for (size_t i = cfg->n; i-- > 0;) {
                const struct config_entry *e = &cfg->entries[i];

                if (strcmp(e->key, key) != 0)
                        continue;
                if (node && e->node && strcmp(e->node, node) == 0)
                        return e;
                if (!e->node && !top)
                        top = e;
        }
        return top;
}

void config_done(struct config *cfg) {
        for (size_t i = 0; i < cfg->n; i++) {
                free(cfg->entries[i].node);
                free(cfg->entries[i].key);
                free(cfg->entries[i].file);
                strv_free(cfg->entries[i].values);
        }
        free(cfg->entries);
        *cfg = (struct config) {};
}
