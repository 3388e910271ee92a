/* SPDX-License-Identifier: GPL-2.0-or-later */
/* How a plan reads for the verb to print: diffs of the files under --dry-run, then titled lists. */
#include "config.h"

#include <errno.h>

#include "diff.h"
#include "setup-internal.h"

int setup_print_changes(const struct plan *p, const char *manifest_path, const char *manifest_old,
                        size_t manifest_old_len, const char *manifest_new, size_t manifest_new_len, struct buf *out) {
        for (size_t i = 0; i < p->n_changes; i++) {
                const struct change *c = &p->changes[i];

                if (diff_unified(c->path, c->existed ? c->old : NULL, c->old_len, c->new, c->new_len, out) < 0)
                        return -ENOMEM;
        }
        if (manifest_path && diff_unified(manifest_path, manifest_old, manifest_old_len, manifest_new, manifest_new_len,
                                          out) < 0)
                return -ENOMEM;
        return 0;
}

int setup_print_list(struct buf *out, const char *title, char **l) {
        if (strv_length(l) == 0)
                return 0;
        if (buf_printf(out, "%s\n", title) < 0)
                return -ENOMEM;
        for (char **i = l; *i; i++)
                if (buf_printf(out, "  %s\n", *i) < 0)
                        return -ENOMEM;
        return 0;
}

int setup_print_todo_and_notes(struct buf *out, const char *todo_title, const struct plan *p) {
        int r = setup_print_list(out, todo_title, p->todo);

        return r < 0 ? r : setup_print_list(out, "notes:", p->notes);
}
