/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "report.h"
#include "util.h"

int report_ignore(struct report *r, char * const *patterns, const char **ret_unknown) {
        for (char * const *p = patterns; p && *p; p++) {
                bool matched = false;

                for (size_t i = 0; i < r->n_checks; i++)
                        if (fnmatch(*p, r->checks[i].id, 0) == 0) {
                                r->checks[i].ignored = true;
                                matched = true;
                        }
                if (!matched) {
                        if (ret_unknown)
                                *ret_unknown = *p;
                        return -ENOENT;
                }
        }
        return 0;
}

bool report_ready(const struct report *r, bool strict) {
        for (size_t i = 0; i < r->n_checks; i++) {
                const struct check_result *c = &r->checks[i];

                if (c->ignored)
                        continue;
                if (c->status == CHECK_FAIL || (strict && c->status == CHECK_WARN))
                        return false;
        }
        return true;
}

static void print_host_json(struct json *j, const struct check_ctx *c) {
        _cleanup_free_ char *os = NULL;

        os = c->distro.version_id ? xstrdup_printf("%s %s", c->distro.id, c->distro.version_id)
                                  : strdup(strna(c->distro.id));
        json_begin_object(j, "host");
        json_string(j, "kernel", c->kernel_release);
        json_string(j, "os", os);
        json_string(j, "user", c->user.name);
        json_int(j, "uid", c->user.uid);
        json_string(j, "engine", engine_to_string(c->engine));
        json_string(j, "root", c->host->root);
        json_end_object(j);
}

void report_print_json(FILE *f, const struct check_ctx *c, const struct report *r,
                       const struct feature_result *features, bool ready) {
        struct json j = { .f = f, .pretty = true };

        json_begin_object(&j, NULL);
        json_string(&j, "schema", "usernode.report/v1");
        print_host_json(&j, c);
        json_bool(&j, "ready", ready);
        json_begin_array(&j, "checks");
        for (size_t i = 0; i < r->n_checks; i++) {
                const struct check_result *cr = &r->checks[i];

                json_begin_object(&j, NULL);
                json_string(&j, "id", cr->id);
                json_string(&j, "status", check_status_to_string(cr->status));
                json_string(&j, "detail", cr->detail);
                json_string(&j, "fix", cr->fix);
                if (cr->ignored)
                        json_bool(&j, "ignored", true);
                json_end_object(&j);
        }
        json_end_array(&j);
        json_begin_array(&j, "features");
        for (size_t i = 0; i < rules_count(); i++) {
                json_begin_object(&j, NULL);
                json_string(&j, "id", features[i].id);
                json_string(&j, "status", feature_status_to_string(features[i].status));
                json_begin_array(&j, "reason");
                for (size_t k = 0; features[i].reason[k]; k++)
                        json_string(&j, NULL, features[i].reason[k]);
                json_end_array(&j);
                json_end_object(&j);
        }
        json_end_array(&j);
        json_end_object(&j);
}

bool report_use_color(FILE *f) {
        const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");

        if (no_color && *no_color)
                return false;
        if (term && strcmp(term, "dumb") == 0)
                return false;
        return isatty(fileno(f));
}

#define RED "\033[31m"
#define GREEN "\033[32m"
#define YELLOW "\033[33m"
#define DIM "\033[2m"
#define BOLD "\033[1m"
#define RESET "\033[0m"

static const char *check_color(enum check_status s) {
        switch (s) {
        case CHECK_PASS:
                return GREEN;
        case CHECK_WARN:
                return YELLOW;
        case CHECK_FAIL:
                return RED;
        default:
                return DIM;
        }
}

static const char *feature_color(enum feature_status s) {
        return s == FEATURE_AVAILABLE ? GREEN : s == FEATURE_DEGRADED ? YELLOW : RED;
}

/* Prints text after a hanging indent, continuing lines at the same column. */
static void print_indented(FILE *f, const char *prefix, const char *text, int col) {
        fprintf(f, "%*s%s", col, "", prefix);
        for (const char *p = text; *p; p++) {
                fputc(*p, f);
                if (*p == '\n' && p[1])
                        fprintf(f, "%*s", col + (int) strlen(prefix), "");
        }
        fputc('\n', f);
}

void report_print_text(FILE *f, const struct check_ctx *c, const struct report *r,
                       const struct feature_result *features, bool ready, bool color) {
        size_t failed = 0, warned = 0;
        const int col = 34;

        fprintf(f, "%s%s%s, kernel %s, user %s (uid %u), engine %s%s%s\n\n", color ? BOLD : "",
                c->distro.pretty_name ? c->distro.pretty_name : strna(c->distro.id), "",
                strna(c->kernel_release), strna(c->user.name), (unsigned) c->user.uid,
                engine_to_string(c->engine), c->host->offline ? ", root " : "",
                c->host->offline ? c->host->root : "");
        if (color)
                fputs(RESET, f);

        fprintf(f, "%-32s  %-6s  %s\n", "CHECK", "STATUS", "DETAIL");
        for (size_t i = 0; i < r->n_checks; i++) {
                const struct check_result *cr = &r->checks[i];
                char status[16];

                snprintf(status, sizeof status, "%s", check_status_to_string(cr->status));
                fprintf(f, "%-32s  %s%-6s%s  %s%s\n", cr->id, color ? check_color(cr->status) : "", status,
                        color ? RESET : "", cr->detail, cr->ignored ? " (ignored)" : "");
                if (cr->fix) {
                        const char *same = NULL;

                        /* Several checks often share one fix (cgroup.v2's reboot): print it once. */
                        for (size_t k = 0; k < i && !same; k++)
                                if (r->checks[k].fix && strcmp(r->checks[k].fix, cr->fix) == 0)
                                        same = r->checks[k].id;
                        if (same) {
                                _cleanup_free_ char *see = xstrdup_printf("see %s", same);

                                print_indented(f, "fix: ", see ? see : cr->fix, col + 8);
                        } else
                                print_indented(f, "fix: ", cr->fix, col + 8);
                }
                if (cr->ignored)
                        continue;
                if (cr->status == CHECK_FAIL)
                        failed++;
                else if (cr->status == CHECK_WARN)
                        warned++;
        }

        fprintf(f, "\n%-32s  %-11s  %s\n", "FEATURE", "STATUS", "BECAUSE OF");
        for (size_t i = 0; i < rules_count(); i++) {
                const struct feature_result *fr = &features[i];

                fprintf(f, "%-32s  %s%-11s%s ", fr->id, color ? feature_color(fr->status) : "",
                        feature_status_to_string(fr->status), color ? RESET : "");
                for (size_t k = 0; fr->reason[k]; k++)
                        fprintf(f, "%s%s", k ? ", " : " ", fr->reason[k]);
                fputc('\n', f);
        }

        fputc('\n', f);
        if (ready)
                fprintf(f, "%sready%s: %zu warning(s)\n", color ? GREEN : "", color ? RESET : "", warned);
        else {
                fprintf(f, "%snot ready%s: %zu check(s) failed:", color ? RED : "", color ? RESET : "", failed);
                for (size_t i = 0; i < r->n_checks; i++)
                        if (!r->checks[i].ignored && r->checks[i].status == CHECK_FAIL)
                                fprintf(f, " %s", r->checks[i].id);
                if (failed == 0)
                        fprintf(f, " none, but --strict counts %zu warning(s)", warned);
                fputc('\n', f);
        }
}
