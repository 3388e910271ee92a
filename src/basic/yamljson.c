/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util.h"
#include "yamljson.h"

struct json_object *json_get(struct json_object *o, const char *key, int type) {
        struct json_object *v;

        if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
            !json_object_is_type(v, (json_type) type))
                return NULL;
        return v;
}

static bool word_in(const char *s, const char *const *words) {
        for (; *words; words++)
                if (strcmp(s, *words) == 0)
                        return true;
        return false;
}

static bool looks_float(const char *s) {
        char *end;

        if (!*s || strspn(s, "+-.0123456789eE") != strlen(s) || !strpbrk(s, "0123456789"))
                return false;
        errno = 0;
        (void) strtod(s, &end);
        return errno == 0 && *end == '\0';
}

/* A plain scalar as YAML 1.1's core types resolve it (what go-yaml v2 does for Kubernetes). */
static struct json_object *plain_scalar(const char *s) {
        static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
        static const char *const trues[] = { "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", NULL };
        static const char *const falses[] = { "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", NULL };
        int64_t i;

        if (word_in(s, nulls))
                return NULL;
        if (word_in(s, trues))
                return json_object_new_boolean(1);
        if (word_in(s, falses))
                return json_object_new_boolean(0);
        if ((s[0] == '-' && parse_i64(s, &i) >= 0) || parse_i64(s, &i) >= 0)
                return json_object_new_int64(i);
        if (looks_float(s))
                return json_object_new_double(strtod(s, NULL));
        return json_object_new_string(s);
}

struct converter {
        yaml_document_t doc;
        const char *what;
        struct un_error *err;
};

static int convert(struct converter *c, yaml_node_t *node, unsigned depth, struct json_object **ret) {
        struct json_object *o = NULL;
        int r;

        if (!node)
                return un_error(c->err, EINVAL, "%s: a dangling YAML node", c->what);
        if (depth > YAML_JSON_DEPTH_MAX)
                return un_error(c->err, EINVAL, "%s: nested deeper than %u levels", c->what, YAML_JSON_DEPTH_MAX);
        switch (node->type) {
        case YAML_SCALAR_NODE: {
                const char *s = (const char *) node->data.scalar.value;

                if (strlen(s) != node->data.scalar.length)
                        return un_error(c->err, EINVAL, "%s:%zu: a NUL byte in a value", c->what,
                                        node->start_mark.line + 1);
                if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
                        o = plain_scalar(s);
                        *ret = o;
                        return 0;
                }
                o = json_object_new_string(s);
                break;
        }
        case YAML_SEQUENCE_NODE:
                o = json_object_new_array();
                for (yaml_node_item_t *i = node->data.sequence.items.start; o && i < node->data.sequence.items.top;
                     i++) {
                        struct json_object *v;

                        r = convert(c, yaml_document_get_node(&c->doc, *i), depth + 1, &v);
                        if (r < 0) {
                                json_object_put(o);
                                return r;
                        }
                        json_object_array_add(o, v);
                }
                break;
        case YAML_MAPPING_NODE:
                o = json_object_new_object();
                for (yaml_node_pair_t *p = node->data.mapping.pairs.start; o && p < node->data.mapping.pairs.top; p++) {
                        yaml_node_t *k = yaml_document_get_node(&c->doc, p->key);
                        struct json_object *v;

                        if (!k || k->type != YAML_SCALAR_NODE) {
                                json_object_put(o);
                                return un_error(c->err, EINVAL, "%s:%zu: a key that is not a string", c->what,
                                                k ? k->start_mark.line + 1 : 0);
                        }
                        r = convert(c, yaml_document_get_node(&c->doc, p->value), depth + 1, &v);
                        if (r < 0) {
                                json_object_put(o);
                                return r;
                        }
                        json_object_object_add(o, (const char *) k->data.scalar.value, v);
                }
                break;
        default:
                return un_error(c->err, EINVAL, "%s: an empty YAML node", c->what);
        }
        if (!o)
                return un_error(c->err, ENOMEM, "%s", c->what);
        *ret = o;
        return 0;
}

int yaml_to_json(const char *what, const char *text, size_t len, struct json_object **ret, struct un_error *err) {
        struct converter c = { .what = what, .err = err };
        yaml_parser_t parser;
        yaml_node_t *root;
        int r;

        if (len > YAML_JSON_INPUT_MAX)
                return un_error(err, EFBIG, "%s: larger than %u bytes", what, YAML_JSON_INPUT_MAX);
        if (!yaml_parser_initialize(&parser))
                return un_error(err, ENOMEM, "%s", what);
        yaml_parser_set_input_string(&parser, (const unsigned char *) text, len);
        if (!yaml_parser_load(&parser, &c.doc)) {
                r = un_error(err, EINVAL, "%s:%zu:%zu: %s", what, parser.problem_mark.line + 1,
                             parser.problem_mark.column + 1, parser.problem ? parser.problem : "not YAML");
                yaml_parser_delete(&parser);
                return r;
        }
        yaml_parser_delete(&parser);
        root = yaml_document_get_root_node(&c.doc);
        if (!root)
                r = un_error(err, EINVAL, "%s: an empty document", what);
        else {
                /* libyaml resolves an alias to its anchored node: a tree references every node but the root once,
                 * a document with an alias references one more often (and could expand without bound). */
                size_t n = (size_t) (c.doc.nodes.top - c.doc.nodes.start), refs = 0;

                for (yaml_node_t *i = c.doc.nodes.start; i < c.doc.nodes.top; i++) {
                        if (i->type == YAML_SEQUENCE_NODE)
                                refs += (size_t) (i->data.sequence.items.top - i->data.sequence.items.start);
                        else if (i->type == YAML_MAPPING_NODE)
                                refs += 2 * (size_t) (i->data.mapping.pairs.top - i->data.mapping.pairs.start);
                }
                r = refs + 1 != n ? un_error(err, EINVAL, "%s: YAML aliases are not accepted", what)
                                  : convert(&c, root, 0, ret);
        }
        yaml_document_delete(&c.doc);
        return r;
}
