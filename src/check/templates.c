/* SPDX-License-Identifier: GPL-2.0-or-later */
/* templates.override: files an admin put in place of the templates compiled in. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "template.h"
#include "util.h"

/* templates.override: whether the files rendered come from $USERNODE_TEMPLATE_DIR instead of the
 * copies compiled in, and whether that directory has every one of them. */
int check_templates(struct check_ctx *c, struct report *r) {
        const char *dir = template_override_dir(), *name;
        struct buf missing = {};
        size_t n = 0, differ = 0;
        int k = 0;

        if (!dir)
                return report_add(r, "templates.override", CHECK_PASS, NULL,
                                  "the templates compiled into usernode (USERNODE_TEMPLATE_DIR is not set)");
        for (size_t i = 0; k >= 0 && (name = template_embedded_name(i)); i++) {
                _cleanup_free_ char *text = NULL;
                struct un_error err = {};

                n++;
                if (template_load(name, &text, &err) < 0)
                        k = buf_printf(&missing, "%s%s", missing.len ? ", " : "", name);
                else if (strcmp(text, template_embedded_text(name)) != 0)
                        differ++;
        }
        if (k >= 0 && missing.len)
                k = report_add(r, "templates.override", CHECK_FAIL, "unset USERNODE_TEMPLATE_DIR",
                               "USERNODE_TEMPLATE_DIR=%s lacks %s (or cannot be read): up and setup would fail "
                               "rendering them", dir, missing.data);
        else if (k >= 0)
                k = report_add(r, "templates.override", CHECK_WARN,
                               "unset USERNODE_TEMPLATE_DIR, to render the templates compiled into usernode",
                               "the node's unit, the containerd and CNI configuration and the AppArmor profile are "
                               "rendered from USERNODE_TEMPLATE_DIR=%s, not from the templates compiled into usernode "
                               "(%zu of %zu differ)", dir, differ, n);
        buf_free(&missing);
        return k;
}
