/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "version.h"
#include "util.h"

/* Order matters: later modules read facts earlier ones put in the context (cgroup layout,
 * sub-ID ranges for the probes). */
static int (*const check_modules[])(struct check_ctx *, struct report *) = {
        check_kernel,
        check_cgroup,
        check_subid,
        check_systemd_user,
        check_userns,
        check_fs,
        check_net,
        check_net_cidr,
        check_sysctl,
        check_kmod,
        check_engine,
        check_limits,
};

int checks_run(struct check_ctx *c, struct report *r) {
        version_query_identity(c->user.uid, c->user.gid);
        for (size_t i = 0; i < ELEMENTSOF(check_modules); i++) {
                int k = check_modules[i](c, r);

                if (k < 0)
                        return k;
        }
        return 0;
}

void check_ctx_done(struct check_ctx *c) {
        distro_done(&c->distro);
        user_done(&c->user);
        free(c->kernel_release);
        free(c->overlay_permit_conf);
        free(c->subuid.owner);
        free(c->subgid.owner);
        *c = (struct check_ctx) {};
}

char *check_setup_command(const struct check_ctx *c, const char *flags) {
        return xstrdup_printf("sudo usernode setup --user %s%s%s%s", strna(c->user.name), strempty(flags),
                              c->host->offline ? " --root " : "", c->host->offline ? c->host->root : "");
}

char *check_host_path(const struct check_ctx *c, const char *path) {
        return xstrdup_printf("%s%s", c->host->offline ? c->host->root : "", path);
}

int report_add(struct report *r, const char *id, enum check_status status, const char *fix, const char *detail_fmt,
               ...) {
        struct check_result *res;
        va_list ap;
        int n;

        if (r->n_checks == r->cap) {
                size_t cap = r->cap ? r->cap * 2 : 64;
                struct check_result *c = realloc(r->checks, cap * sizeof *c);

                if (!c)
                        return -ENOMEM;
                r->checks = c;
                r->cap = cap;
        }
        res = &r->checks[r->n_checks];
        *res = (struct check_result) { .status = status };
        res->id = strdup(id);
        va_start(ap, detail_fmt);
        n = vasprintf(&res->detail, detail_fmt, ap);
        va_end(ap);
        if (n < 0)
                res->detail = NULL;
        res->fix = fix && status != CHECK_PASS ? strdup(fix) : NULL;
        if (!res->id || !res->detail || (fix && status != CHECK_PASS && !res->fix)) {
                free(res->id);
                free(res->detail);
                free(res->fix);
                return -ENOMEM;
        }
        r->n_checks++;
        return 0;
}

const struct check_result *report_find(const struct report *r, const char *id) {
        for (size_t i = 0; i < r->n_checks; i++)
                if (strcmp(r->checks[i].id, id) == 0)
                        return &r->checks[i];
        return NULL;
}

void report_done(struct report *r) {
        for (size_t i = 0; i < r->n_checks; i++) {
                free(r->checks[i].id);
                free(r->checks[i].detail);
                free(r->checks[i].fix);
        }
        free(r->checks);
        *r = (struct report) {};
}

const char *check_status_to_string(enum check_status s) {
        static const char *const names[] = { "pass", "warn", "fail", "skip" };

        return s < ELEMENTSOF(names) ? names[s] : "unknown";
}

const char *engine_to_string(enum engine e) {
        return e == ENGINE_K3S ? "k3s" : "kubelet";
}

int engine_from_string(const char *s, enum engine *ret) {
        if (strcmp(s, "k3s") == 0)
                *ret = ENGINE_K3S;
        else if (strcmp(s, "kubelet") == 0)
                *ret = ENGINE_KUBELET;
        else
                return -EINVAL;
        return 0;
}
