/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "kmod.h"
#include "version.h"
#include "util.h"

/* The check modules with the IDs each reports: the one list of check IDs. report_add() refuses
 * an ID that is not here, so "check --list-ids" says exactly what the checks can report. An
 * entry "FAMILY.*" stands for the IDs a module makes from a table of its own (check_families).
 * Order matters: later modules read facts earlier ones put in the context (cgroup layout,
 * sub-ID ranges for the probes). */
static const struct {
        int (*run)(struct check_ctx *c, struct report *r);
        const char *ids[8];
} check_modules[] = {
        { check_kernel, { "kernel.version" } },
        { check_cgroup, { "cgroup.v2", "cgroup.delegation", "cgroup.controller.*" } },
        { check_subid, { "subid.uid", "subid.gid", "subid.tools" } },
        { check_systemd_user, { "systemd.user" } },
        { check_userns, { "userns.enabled", "userns.apparmor" } },
        { check_fs, { "fs.overlay" } },
        { check_net, { "net.tun", "net.driver", "net.source-ip", "net.dns", "net.ports", "net.ipv6" } },
        { check_net_cidr, { "net.cidr" } },
        { check_sysctl, { "sysctl.ip_forward", "sysctl.ping_group_range", "sysctl.unprivileged_port_start",
                          "sysctl.rp_filter" } },
        { check_kmod, { "kmod.*" } },
        { check_engine, { "engine.k3s", "engine.kubelet", "engine.overlay" } },
        { check_limits, { "limits.nofile", "limits.inotify" } },
        { check_memory, { "memory.swap" } },
        { check_templates, { "templates.override" } },
};

static const char *controller_member(size_t i) {
        return i < _CONTROLLER_COUNT ? controller_to_string(1u << i) : NULL;
}

static const char *kmod_member(size_t i) {
        size_t n;
        const struct kmod_need *needs = kmod_needs(&n);

        return i < n ? needs[i].name : NULL;
}

/* IDs made from a table: "cgroup.controller.NAME" for cgroup.c's controllers, "kmod.NAME" for
 * the modules kmod.c checks (and setup loads). member(i) is the i-th NAME, NULL past the last. */
struct check_family {
        const char *pattern;
        const char *(*member)(size_t i);
};

static const struct check_family check_families[] = {
        { "cgroup.controller.*", controller_member },
        { "kmod.*", kmod_member },
};

/* The family a registry entry stands for; NULL for a plain ID. */
static const struct check_family *family_find(const char *entry) {
        for (size_t i = 0; i < ELEMENTSOF(check_families); i++)
                if (strcmp(check_families[i].pattern, entry) == 0)
                        return &check_families[i];
        return NULL;
}

int checks_run(struct check_ctx *c, struct report *r) {
        version_query_identity(c->user.uid, c->user.gid);
        c->hostconf = hostconf_for(&c->distro);
        service_manager_detect(c->host, &c->service_manager);
        for (size_t i = 0; i < ELEMENTSOF(check_modules); i++) {
                int k = check_modules[i].run(c, r);

                if (k < 0)
                        return k;
        }
        return 0;
}

bool check_id_known(const char *id) {
        for (size_t i = 0; i < ELEMENTSOF(check_modules); i++)
                for (const char *const *e = check_modules[i].ids; *e; e++) {
                        const struct check_family *f = family_find(*e);
                        size_t prefix_len = strlen(*e) - 1;     /* "kmod." of "kmod.*" */
                        const char *name;

                        if (!f) {
                                if (strcmp(*e, id) == 0)
                                        return true;
                                continue;
                        }
                        if (strncmp(id, f->pattern, prefix_len) != 0)
                                continue;
                        for (size_t m = 0; (name = f->member(m)); m++)
                                if (strcmp(id + prefix_len, name) == 0)
                                        return true;
                }
        return false;
}

int check_ids_list(char ***ret) {
        _cleanup_strv_free_ char **ids = NULL;

        for (size_t i = 0; i < ELEMENTSOF(check_modules); i++)
                for (const char *const *e = check_modules[i].ids; *e; e++) {
                        const struct check_family *f = family_find(*e);
                        const char *name;

                        if (!f) {
                                if (strv_push(&ids, *e) < 0)
                                        return -ENOMEM;
                                continue;
                        }
                        for (size_t m = 0; (name = f->member(m)); m++) {
                                _cleanup_free_ char *id =
                                        xstrdup_printf("%.*s%s", (int) strlen(f->pattern) - 1, f->pattern, name);

                                if (!id || strv_push(&ids, id) < 0)
                                        return -ENOMEM;
                        }
                }
        *ret = TAKE_PTR(ids);
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

char *check_install_command(const struct check_ctx *c, const char *debian_packages) {
        _cleanup_strv_free_ char **pk = NULL;
        struct buf b = {};

        if (strv_split(debian_packages, " ", &pk) < 0 || buf_puts(&b, distro_install_command(&c->distro)) < 0)
                goto oom;
        for (char **p = pk; *p; p++)
                if (buf_printf(&b, " %s", distro_package(&c->distro, *p)) < 0)
                        goto oom;
        return buf_steal(&b);
oom:
        buf_free(&b);
        return NULL;
}

char *check_setup_command(const struct check_ctx *c, const char *flags) {
        return xstrdup_printf("sudo usernode setup --user %s%s%s%s", strna(c->user.name), strempty(flags),
                              c->host->offline ? " --root " : "", c->host->offline ? c->host->root : "");
}

char *check_hostconf_fix(const struct check_ctx *c, enum hostconf_setting s, const struct template_var *vars,
                         size_t n_vars) {
        _cleanup_free_ char *line = NULL;

        if (hostconf_render(c->hostconf, s, vars, n_vars, &line) < 0)
                return NULL;
        return hostconf_fix(c->hostconf, line);
}

char *check_host_path(const struct check_ctx *c, const char *path) {
        return xstrdup_printf("%s%s", c->host->offline ? c->host->root : "", path);
}

int report_add(struct report *r, const char *id, enum check_status status, const char *fix, const char *detail_fmt,
               ...) {
        struct check_result *res;
        va_list ap;
        int n;

        if (!check_id_known(id))
                return -EINVAL;
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

