/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

#include "error.h"

/* Files under templates/ are rendered by replacing {{name}} (lower-case letters, digits and '_')
 * with a value. A name with no value, or an unterminated "{{", is an error naming the line:
 * a template never renders half-filled. Values are inserted as they are; callers validate them. */
struct template_var {
        const char *name;
        const char *value;
};

#define TEMPLATE_MAX (256u * 1024u)

int template_render(const char *name, const char *text, const struct template_var *vars, size_t n_vars,
                    char **ret, struct un_error *err);
/* templates/<name>: the copy compiled into usernode, or the file <name> in $USERNODE_TEMPLATE_DIR
 * when that is set (an administrator's or a test's own templates). name must be a plain relative
 * path without "..". */
int template_load(const char *name, char **ret, struct un_error *err);
/* template_load, then template_render. */
int template_load_render(const char *name, const struct template_var *vars, size_t n_vars, char **ret,
                         struct un_error *err);
/* $USERNODE_TEMPLATE_DIR when set and not empty, else NULL. */
const char *template_override_dir(void);
/* The templates compiled in: the i-th one's name, NULL past the last; its text by name, NULL when
 * there is none. */
const char *template_embedded_name(size_t i);
const char *template_embedded_text(const char *name);
