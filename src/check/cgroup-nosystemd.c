/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cgroup.v2's fix and cgroup.delegation, cgroup.controller.* where no systemd gives a user a cgroup (OpenRC,
 * a CI job's container): which cgroup the user can write, and how that host's init or the container's
 * runtime gives one. The node's cgroup is placed as `up` places it (cgroup_node_plan). */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "checks.h"
#include "util.h"

/* What each kind of host says, as data: {{user}}, {{cgroup}} (the user's cgroup now), {{kernel_fix}},
 * {{missing}} (wanted controllers the cgroup2 root lacks). */
static const struct {
        enum service_manager manager;
        const char *cgroup_v2_fix;
        const char *delegation_fix;
        const char *controllers_fix;    /* the cgroup2 hierarchy has none of some wanted controllers at its root */
} no_systemd_fixes[] = {
        {
                .manager = SERVICE_MANAGER_OPENRC,
                .cgroup_v2_fix = "set rc_cgroup_mode=\"unified\" in /etc/rc.conf, then sudo reboot",
                .delegation_fix =
                        "OpenRC gives users no cgroup of their own: as root, with rc_cgroup_mode=\"unified\" in "
                        "/etc/rc.conf, make one for {{user}} (e.g. in /etc/local.d/usernode.start): mkdir -p "
                        "/sys/fs/cgroup/usernode/{{user}}/shell && echo '+cpu +cpuset +io +memory +pids' | tee "
                        "/sys/fs/cgroup/cgroup.subtree_control /sys/fs/cgroup/usernode/cgroup.subtree_control && "
                        "cd /sys/fs/cgroup/usernode/{{user}} && chown {{user}} . cgroup.procs cgroup.subtree_control "
                        "cgroup.threads; then start `usernode up` from a shell of {{user}} that root moved there "
                        "(echo PID > /sys/fs/cgroup/usernode/{{user}}/shell/cgroup.procs)",
                .controllers_fix = "set rc_cgroup_mode=\"unified\" in /etc/rc.conf (hybrid keeps them on cgroup v1), "
                                   "then sudo reboot",
        },
        {
                .manager = SERVICE_MANAGER_NONE,
                .cgroup_v2_fix = "a container has its host's cgroup layout: run the job on a host with cgroup v2 "
                                 "(there: {{kernel_fix}})",
                .delegation_fix =
                        "give the job a cgroup namespace of its own with a writable cgroup2 mount (podman run "
                        "--cgroupns=private; docker run --cgroupns=private needs --privileged for a writable "
                        "mount), then as root in the job, before `usernode up`: mkdir -p /sys/fs/cgroup/job/shell "
                        "&& while read p; do echo $p > /sys/fs/cgroup/job/shell/cgroup.procs || [ ! -d /proc/$p ]; "
                        "done < /sys/fs/cgroup/cgroup.procs && echo '+cpu +cpuset +io +memory +pids' | tee "
                        "/sys/fs/cgroup/cgroup.subtree_control /sys/fs/cgroup/job/cgroup.subtree_control && "
                        "cd /sys/fs/cgroup/job && chown {{user}} . cgroup.procs cgroup.subtree_control cgroup.threads",
                .controllers_fix =
                        "no cgroup made in this job can have {{missing}}: run the job where its cgroup2 hierarchy has "
                        "them, on a host with cgroup v2 (there: {{kernel_fix}}) under a runtime that enables them for "
                        "the job's cgroup (docker and podman do; on a hybrid host they stay on cgroup v1)",
        },
};

enum no_systemd_fix { FIX_CGROUP_V2, FIX_DELEGATION, FIX_CONTROLLERS };

static int render_fix(const struct check_ctx *c, enum no_systemd_fix which, const char *cgroup, char **ret) {
        _cleanup_free_ char *kernel_fix = distro_kernel_cmdline_fix(&c->distro, "systemd.unified_cgroup_hierarchy=1");
        _cleanup_free_ char *missing = controllers_to_string(CONTROLLERS_WANTED & ~c->cgroup.available);
        const struct template_var vars[] = {
                { "user", c->user.name }, { "cgroup", strempty(cgroup) }, { "kernel_fix", strempty(kernel_fix) },
                { "missing", strempty(missing) },
        };

        if (!kernel_fix || !missing)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(no_systemd_fixes); i++)
                if (no_systemd_fixes[i].manager == c->service_manager.manager)
                        return template_render("no-systemd fix",
                                               which == FIX_CGROUP_V2    ? no_systemd_fixes[i].cgroup_v2_fix
                                               : which == FIX_DELEGATION ? no_systemd_fixes[i].delegation_fix
                                                                         : no_systemd_fixes[i].controllers_fix,
                                               vars, ELEMENTSOF(vars), ret, NULL);
        return -ENOENT;
}

char *check_cgroup_v2_fix(const struct check_ctx *c) {
        char *fix = NULL;

        if (c->service_manager.manager == SERVICE_MANAGER_SYSTEMD)
                return distro_kernel_cmdline_fix(&c->distro, "systemd.unified_cgroup_hierarchy=1");
        return render_fix(c, FIX_CGROUP_V2, NULL, &fix) < 0 ? NULL : fix;
}

char *check_openrc_cgroup_mode_note(const struct check_ctx *c) {
        bool unified = c->cgroup.layout == CGROUP_LAYOUT_V2;
        const char *mode = NULL;
        int k;

        if (c->service_manager.manager != SERVICE_MANAGER_OPENRC)
                return strdup("");
        k = openrc_cgroup_mode_read(c->host, &mode);
        if (k == -ENODATA)
                return strdup("; /etc/rc.conf sets no rc_cgroup_mode: OpenRC mounts \"hybrid\"");
        if (k < 0)
                return xstrdup_printf("; OpenRC's rc_cgroup_mode: /etc/rc.conf %s",
                                      k == -EINVAL ? "sets it to no mode OpenRC knows" : strerror(-k));
        if (strcmp(mode, "unified") == 0 && !unified)
                return strdup("; /etc/rc.conf has rc_cgroup_mode=\"unified\", not in effect until a reboot");
        return xstrdup_printf("; /etc/rc.conf has rc_cgroup_mode=\"%s\"", mode);
}

/* The user's cgroup as `up` would judge it: delegated ("ours") when the user owns the directory and the
 * files that move processes and enable controllers (the kernel's delegation model), or is root. */
static bool cgroup_ours(const struct check_ctx *c, const char *cgroup) {
        static const char *const files[] = { "", "/cgroup.procs", "/cgroup.subtree_control" };

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *p = xstrdup_printf("/sys/fs/cgroup%s%s", strcmp(cgroup, "/") == 0 ? "" : cgroup,
                                                        files[i]);
                struct stat st;

                if (!p || host_stat(c->host, p, &st, false) < 0)
                        return false;
                if (c->user.uid != 0 && st.st_uid != c->user.uid)
                        return false;
        }
        return true;
}

static char *parent_of(const char *cgroup) {
        const char *slash = strrchr(cgroup, '/');

        return slash == cgroup ? strdup("/") : strndup(cgroup, (size_t) (slash - cgroup));
}

/* What a node here would get: its parent cgroup's controllers, when `up` can make a cgroup at all. */
struct nosystemd_cgroup {
        char *current, *parent;
        bool read_only;
        enum node_cgroup_plan plan;
        unsigned controllers;
        char *why;                      /* why not, when plan is NODE_CGROUP_NONE */
};

static int nosystemd_cgroup_load(const struct check_ctx *c, struct nosystemd_cgroup *g) {
        _cleanup_free_ char *proc = NULL, *mountinfo = NULL, *file = NULL, *line = NULL;
        int k;

        k = host_read_file(c->host, "/proc/self/cgroup", HOST_LINE_MAX, &proc, NULL);
        if (k >= 0)
                k = cgroup_v2_path_from_proc(proc, &g->current);
        if (k < 0) {
                g->why = xstrdup_printf("its cgroup is unknown (/proc/self/cgroup: %s)", strerror(-k));
                return g->why ? 0 : -ENOMEM;
        }
        if (host_read_file(c->host, "/proc/self/mountinfo", HOST_FILE_MAX, &mountinfo, NULL) >= 0)
                (void) cgroup_v2_read_only_from_mountinfo(mountinfo, &g->read_only);
        g->parent = parent_of(g->current);
        if (!g->parent)
                return -ENOMEM;
        /* A job's shell shares its cgroup with the node's supervisor: never alone. */
        g->plan = g->read_only ? NODE_CGROUP_NONE
                               : cgroup_node_plan(g->current, cgroup_ours(c, g->current), false,
                                                  strcmp(g->parent, "/") != 0 && cgroup_ours(c, g->parent));
        if (g->plan == NODE_CGROUP_NONE) {
                g->why = g->read_only ? strdup("/sys/fs/cgroup is mounted read-only")
                         : strcmp(g->current, "/") == 0
                                 ? xstrdup_printf("%s runs in the root of the cgroup tree it sees (own cgroup namespace "
                                                  "or none), where no cgroup of its own can be made",
                                                  c->user.name)
                                 : xstrdup_printf("neither %s nor its parent %s is owned by %s", g->current, g->parent,
                                                  c->user.name);
                return g->why ? 0 : -ENOMEM;
        }
        file = xstrdup_printf("/sys/fs/cgroup%s/cgroup.controllers", strcmp(g->parent, "/") == 0 ? "" : g->parent);
        if (!file)
                return -ENOMEM;
        if (host_read_line(c->host, file, &line) >= 0)
                g->controllers = controllers_from_string(line, NULL);
        return 0;
}

static void nosystemd_cgroup_done(struct nosystemd_cgroup *g) {
        free(g->current);
        free(g->parent);
        free(g->why);
}

int check_delegation_without_systemd(struct check_ctx *c, struct report *r) {
        struct nosystemd_cgroup g = {};
        _cleanup_free_ char *fix = NULL, *have = NULL, *missing = NULL, *who = NULL, *absent = NULL, *root = NULL, *lacking = NULL;
        /* Wanted controllers the root lacks (a hybrid host's, or a runtime's that did not enable them) exist in no
         * cgroup below it: making one for the user cannot help, only another host or runtime can. */
        unsigned not_in_root = host_exists(c->host, "/sys/fs/cgroup/cgroup.controllers")
                                       ? CONTROLLERS_WANTED & ~c->cgroup.available
                                       : 0;
        int k;

        k = nosystemd_cgroup_load(c, &g);
        if (k >= 0)
                k = render_fix(c, not_in_root ? FIX_CONTROLLERS : FIX_DELEGATION, g.current, &fix);
        if (k < 0)
                goto out;
        have = controllers_to_string(g.controllers);
        missing = controllers_to_string(CONTROLLERS_WANTED & ~g.controllers);
        root = controllers_to_string(c->cgroup.available);
        lacking = controllers_to_string(not_in_root);
        absent = not_in_root ? xstrdup_printf("; %s: in no cgroup of this cgroup2 hierarchy (its root has: %s)",
                                              strna(lacking), strna(root))
                             : strdup("");
        who = c->service_manager.manager == SERVICE_MANAGER_OPENRC
                      ? strdup("OpenRC, no systemd: no user@.service")
                      : xstrdup_printf("PID 1 is '%s', no systemd: no user@.service (CI mode)",
                                       c->service_manager.pid1[0] ? c->service_manager.pid1 : "unknown");
        if (!have || !missing || !who || !absent) {
                k = -ENOMEM;
                goto out;
        }
        if (g.plan == NODE_CGROUP_NONE)
                k = report_add(r, "cgroup.delegation", CHECK_FAIL, fix,
                               "%s; %s's cgroup %s is not delegated: %s; `usernode up` would run the node without "
                               "cgroup limits%s",
                               who, c->user.name, strna(g.current), g.why, absent);
        else
                k = report_add(r, "cgroup.delegation", CONTROLLERS_WANTED & ~g.controllers ? CHECK_FAIL : CHECK_PASS,
                               CONTROLLERS_WANTED & ~g.controllers ? fix : NULL,
                               "%s; `usernode up` makes the node's cgroup in %s, which %s owns; controllers there: %s%s%s%s",
                               who, g.parent, c->user.name, have,
                               CONTROLLERS_WANTED & ~g.controllers ? "; missing: " : "",
                               CONTROLLERS_WANTED & ~g.controllers ? missing : "", absent);
        for (unsigned i = 0; k >= 0 && i < _CONTROLLER_COUNT; i++) {
                unsigned bit = 1u << i;
                _cleanup_free_ char *id = xstrdup_printf("cgroup.controller.%s", controller_to_string(bit));

                if (!id) {
                        k = -ENOMEM;
                        break;
                }
                if (g.controllers & bit)
                        k = report_add(r, id, CHECK_PASS, NULL, "%s: in %s, the node's parent cgroup",
                                       controller_to_string(bit), g.parent);
                else
                        k = report_add(r, id, bit & CONTROLLERS_WANTED ? CHECK_FAIL : CHECK_WARN,
                                       bit & CONTROLLERS_WANTED ? fix : NULL, "%s: not delegated to %s (no systemd)",
                                       controller_to_string(bit), c->user.name);
        }
out:
        nosystemd_cgroup_done(&g);
        return k;
}
