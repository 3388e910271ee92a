/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "template.h"
#include "util.h"

struct embedded_template {
        const char *name;
        const char *text;
};

/* embedded_templates[]: every file of templates/, written by build-aux/embed-templates at build time. */
#include "embedded-templates.h"

static unsigned line_of(const char *text, const char *p) {
        unsigned line = 1;

        for (const char *q = text; q < p; q++)
                if (*q == '\n')
                        line++;
        return line;
}

int template_render(const char *name, const char *text, const struct template_var *vars, size_t n_vars,
                    char **ret, struct un_error *err) {
        struct buf out = {};
        const char *p = text;
        int r;

        if (strlen(text) > TEMPLATE_MAX)
                return un_error(err, EFBIG, "template %s", name);
        for (;;) {
                const char *open = strstr(p, "{{"), *close;
                const char *value = NULL;
                size_t n;

                if (!open) {
                        r = buf_puts(&out, p);
                        break;
                }
                r = buf_append(&out, p, (size_t) (open - p));
                if (r < 0)
                        break;
                close = strstr(open + 2, "}}");
                n = close ? (size_t) (close - open - 2) : 0;
                if (!close || n == 0 || n > 64 || strspn(open + 2, "abcdefghijklmnopqrstuvwxyz0123456789_") != n) {
                        buf_free(&out);
                        return un_error(err, EINVAL, "template %s:%u: malformed {{...}}", name, line_of(text, open));
                }
                for (size_t i = 0; i < n_vars; i++)
                        if (strlen(vars[i].name) == n && strncmp(vars[i].name, open + 2, n) == 0) {
                                value = vars[i].value;
                                break;
                        }
                if (!value) {
                        buf_free(&out);
                        return un_error(err, EINVAL, "template %s:%u: no value for {{%.*s}}", name,
                                        line_of(text, open), (int) n, open + 2);
                }
                r = buf_puts(&out, value);
                if (r < 0)
                        break;
                p = close + 2;
        }
        if (r < 0) {
                buf_free(&out);
                return un_error(err, -r, "template %s", name);
        }
        *ret = buf_steal(&out);
        return *ret ? 0 : un_error(err, ENOMEM, "template %s", name);
}

const char *template_override_dir(void) {
        const char *dir = secure_getenv("USERNODE_TEMPLATE_DIR");

        return dir && *dir ? dir : NULL;
}

const char *template_embedded_name(size_t i) {
        return i < ELEMENTSOF(embedded_templates) ? embedded_templates[i].name : NULL;
}

const char *template_embedded_text(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(embedded_templates); i++)
                if (strcmp(embedded_templates[i].name, name) == 0)
                        return embedded_templates[i].text;
        return NULL;
}

int template_load(const char *name, char **ret, struct un_error *err) {
        const char *dir = template_override_dir(), *text;
        struct host h = { .root_fd = -EBADF };
        _cleanup_free_ char *path = NULL;
        int r;

        if (name[0] == '/' || strstr(name, ".."))
                return un_error(err, EINVAL, "invalid template name '%s'", name);
        if (!dir) {
                text = template_embedded_text(name);
                if (!text)
                        return un_error(err, ENOENT, "no template %s is compiled into usernode", name);
                *ret = strdup(text);
                return *ret ? 0 : un_error(err, ENOMEM, "template %s", name);
        }
        /* Templates are ours, not the host's: read them relative to their own directory. */
        r = host_init(&h, dir, err);
        if (r < 0)
                return r;
        path = xstrdup_printf("/%s", name);
        r = path ? host_read_file(&h, path, TEMPLATE_MAX, ret, NULL) : -ENOMEM;
        host_done(&h);
        if (r < 0)
                return un_error(err, -r, "cannot read template %s/%s (USERNODE_TEMPLATE_DIR)", dir, name);
        return 0;
}

int template_load_render(const char *name, const struct template_var *vars, size_t n_vars, char **ret,
                         struct un_error *err) {
        _cleanup_free_ char *text = NULL;
        int r = template_load(name, &text, err);

        return r < 0 ? r : template_render(name, text, vars, n_vars, ret, err);
}
