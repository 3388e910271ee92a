/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cgroup.v2, cgroup.delegation, cgroup.controller.*: the cgroup tree and what the user's manager delegates. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "checks.h"
#include "unitfile.h"
#include "util.h"

static int check_cgroup_v2(struct check_ctx *c, struct report *r) {
        _cleanup_free_ char *mountinfo = NULL, *cmdline = NULL, *fix = NULL, *avail = NULL, *names = NULL,
                            *openrc = NULL;
        const char *forced_off;
        int k;

        k = host_read_file(c->host, "/proc/self/mountinfo", HOST_FILE_MAX, &mountinfo, NULL);
        if (k < 0)
                return report_add(r, "cgroup.v2", CHECK_FAIL, NULL,
                                  "cannot read /proc/self/mountinfo: %s", strerror(-k));
        k = cgroup_layout_from_mountinfo(mountinfo, &c->cgroup.layout);
        if (k < 0)
                return report_add(r, "cgroup.v2", CHECK_FAIL, NULL, "cannot parse /proc/self/mountinfo: %s",
                                  strerror(-k));
        openrc = check_openrc_cgroup_mode_note(c);
        if (!openrc)
                return -ENOMEM;

        if (c->cgroup.layout == CGROUP_LAYOUT_V2) {
                if (host_read_line(c->host, "/sys/fs/cgroup/cgroup.controllers", &avail) >= 0)
                        c->cgroup.available = controllers_from_string(avail, NULL);
                names = controllers_to_string(c->cgroup.available);
                return report_add(r, "cgroup.v2", CHECK_PASS, NULL,
                                  "cgroup v2 (unified) at /sys/fs/cgroup; root controllers: %s%s", strna(names), openrc);
        }

        fix = check_cgroup_v2_fix(c);
        if (!fix)
                return -ENOMEM;
        (void) host_read_line(c->host, "/proc/cmdline", &cmdline);
        forced_off = cmdline && (strstr(cmdline, "systemd.unified_cgroup_hierarchy=0") ||
                                 strstr(cmdline, "systemd.legacy_systemd_cgroup_controller"))
                             ? "; the kernel command line forces it off (remove systemd.unified_cgroup_hierarchy=0)"
                             : "";
        switch (c->cgroup.layout) {
        case CGROUP_LAYOUT_HYBRID: {
                _cleanup_free_ char *unified = NULL, *unified_names = NULL;

                /* The controllers v1 hierarchies do not claim may appear on the unified mount. */
                if (host_read_line(c->host, "/sys/fs/cgroup/unified/cgroup.controllers", &unified) >= 0)
                        unified_names = controllers_to_string(controllers_from_string(unified, NULL));
                return report_add(r, "cgroup.v2", CHECK_FAIL, fix,
                                  "hybrid hierarchy: controllers are on cgroup v1, cgroup2 only at "
                                  "/sys/fs/cgroup/unified (controllers there: %s); no resource limits for "
                                  "rootless containers%s%s",
                                  unified_names ? unified_names : "none", forced_off, openrc);
        }
        case CGROUP_LAYOUT_V1:
                return report_add(r, "cgroup.v2", CHECK_FAIL, fix,
                                  "cgroup v1 only: no delegation of controllers to a user; no resource limits for "
                                  "rootless containers%s%s",
                                  forced_off, openrc);
        default:
                return report_add(r, "cgroup.v2", CHECK_FAIL, fix, "no cgroup filesystem at /sys/fs/cgroup");
        }
}

/* How a running manager gets what its configuration delegates: a restart. setup does it on a live
 * host; an image's manager is restarted on that host. */
static char *restart_fix(const struct check_ctx *c) {
        unsigned uid = (unsigned) c->user.uid;

        if (c->host->offline)
                return xstrdup_printf("sudo systemctl restart user@%u.service (stops %s's user services), or log out "
                                      "of every session and back in",
                                      uid, c->user.name);
        return xstrdup_printf("sudo usernode setup --user %s --restart-user-manager (stops %s's user services), or "
                              "log out of every session and back in",
                              c->user.name, c->user.name);
}

/* What a missing delegation needs: only a restart when the config already has it. An image
 * (--root) gets its files written, nothing on this host restarted. */
static char *delegation_fix(const struct check_ctx *c, bool config_ok) {
        const char *dir = "/etc/systemd/system/user@.service.d";
        _cleanup_free_ char *wanted = controllers_to_string(CONTROLLERS_WANTED);
        unsigned uid = (unsigned) c->user.uid;

        if (config_ok)
                return restart_fix(c);
        if (!wanted)
                return NULL;
        /* NixOS generates /etc/systemd/system: the override is an option, activated with the restart. */
        if (c->hostconf)
                return check_hostconf_fix(c, HOSTCONF_DELEGATE, (const struct template_var[]) { { "controllers", wanted } }, 1);
        if (c->host->offline)
                return xstrdup_printf("sudo usernode setup --user %s --root %s; or by hand: sudo mkdir -p %s%s && "
                                      "printf '[Service]\\nDelegate=%s\\n' | sudo tee %s%s/50-usernode-delegate.conf",
                                      c->user.name, c->host->root, c->host->root, dir, wanted, c->host->root, dir);
        return xstrdup_printf("sudo usernode setup --user %s; or by hand: sudo mkdir -p %s && printf '[Service]\\n"
                              "Delegate=%s\\n' | sudo tee %s/50-usernode-delegate.conf && "
                              "sudo systemctl daemon-reload && sudo systemctl restart user@%u.service",
                              c->user.name, dir, wanted, dir, uid);
}

/* "configured (FILE, FILE): LIST" or why the configuration is not known. */
static int describe_config(struct buf *b, const struct unit_info *u, int load_error, const char *load_msg) {
        _cleanup_free_ char *list = NULL;
        int k;

        if (load_error < 0)
                return buf_printf(b, "configured: unknown (%s)", load_msg);
        if (!u->found)
                return buf_puts(b, "configured: none (no user@.service unit file in the systemd search path)");
        if (u->masked)
                return buf_printf(b, "configured: none (%s is masked: no user manager can start)", u->fragment);
        list = controllers_to_string(u->delegate.delegate ? u->delegate.controllers : 0);
        if (!list)
                return -ENOMEM;
        k = buf_printf(b, "configured (%s", u->fragment);
        for (char **d = u->dropins; k >= 0 && d && *d; d++)
                k = buf_printf(b, ", %s", *d);
        if (k >= 0)
                k = buf_printf(b, "): %s%s", u->delegate.delegate ? list : "none (Delegate= off)",
                               u->delegate.invalid ? " (and controller names systemd ignores)" : "");
        return k;
}

static int describe_probe(struct buf *b, const struct probe_outcome *p) {
        switch (p->state) {
        case PROBE_OK:
                return buf_printf(b, "; probe: %s", p->detail);
        case PROBE_FAILED:
                return buf_printf(b, "; probe failed: %s", p->detail);
        case PROBE_SKIPPED:
                return buf_printf(b, "; probe skipped: %s", p->detail);
        default:
                return 0;
        }
}

/* cgroup.delegation and cgroup.controller.* on a host without the unified hierarchy. */
static int check_delegation_not_v2(struct check_ctx *c, struct report *r, struct buf *config) {
        _cleanup_free_ char *fix = check_cgroup_v2_fix(c);
        struct buf d = {};
        const char *layout = cgroup_layout_to_string(c->cgroup.layout);
        int k;

        if (!fix)
                return -ENOMEM;
        if (c->service_manager.manager != SERVICE_MANAGER_SYSTEMD)
                k = buf_printf(&d, "no systemd here (%s): delegation of a cgroup to %s needs cgroup v2, this host has "
                               "%s%s (see cgroup.v2)",
                               service_manager_to_string(c->service_manager.manager), c->user.name,
                               c->cgroup.layout == CGROUP_LAYOUT_UNKNOWN ? "no cgroup filesystem" : layout,
                               c->cgroup.layout == CGROUP_LAYOUT_UNKNOWN ? "" : " cgroups");
        else
                k = buf_printf(&d, "delegation of controllers to user@%u.service needs cgroup v2, this host has %s%s (see "
                       "cgroup.v2); %s",
                       (unsigned) c->user.uid,
                       c->cgroup.layout == CGROUP_LAYOUT_UNKNOWN ? "no cgroup filesystem" : layout,
                       c->cgroup.layout == CGROUP_LAYOUT_UNKNOWN ? "" : " cgroups", config->data ? config->data : "");
        if (k >= 0)
                k = describe_probe(&d, &probe_cgroup(c)->memory);
        if (k >= 0)
                k = report_add(r, "cgroup.delegation", CHECK_FAIL, fix, "%s", d.data);
        buf_free(&d);
        for (unsigned i = 0; k >= 0 && i < _CONTROLLER_COUNT; i++) {
                unsigned bit = 1u << i;
                _cleanup_free_ char *id = xstrdup_printf("cgroup.controller.%s", controller_to_string(bit));

                if (!id)
                        return -ENOMEM;
                k = report_add(r, id, bit & CONTROLLERS_WANTED ? CHECK_FAIL : CHECK_WARN, fix,
                               "%s: no delegation without cgroup v2 (this host has %s cgroups)",
                               controller_to_string(bit), layout);
        }
        return k;
}

/* What the running manager gives its units, read where the user's processes get their controllers.
 * systemd --user learns what it may use once, when it starts, from its own cgroup.controllers; it
 * enables in its cgroup.subtree_control what its units ask for, and a Delegate=yes unit (the node's)
 * asks for all of that. So cgroup.controllers of user@UID.service, which a daemon-reload of PID 1
 * updates, can hold more than the running manager will ever give. The probe's Delegate=yes scope
 * shows exactly what a delegated unit gets; without it, subtree_control is what the manager has
 * enabled so far, a lower bound. */
static int manager_controllers_load(struct check_ctx *c, const char *mgr, const struct cgroup_probe *probe) {
        _cleanup_free_ char *file = NULL, *line = NULL;

        if (probe->unit.state == PROBE_OK) {
                c->cgroup.manager_source = CGROUP_MANAGER_PROBED;
                c->cgroup.manager = probe->unit_controllers;
                return 0;
        }
        file = xstrdup_printf("%s/cgroup.subtree_control", mgr);
        if (!file)
                return -ENOMEM;
        if (host_read_line(c->host, file, &line) < 0)
                return 0;
        c->cgroup.manager_source = CGROUP_MANAGER_ENABLED;
        c->cgroup.manager = controllers_from_string(line, NULL);
        return 0;
}

/* The wanted controllers the manager's cgroup has but the running manager does not give (stale, from
 * the probe: it started before they were delegated) or has not enabled so far (unsure). */
static unsigned manager_lacks(const struct cgroup_facts *f, enum cgroup_manager_source source) {
        if (!f->live_known || f->manager_source != source)
                return 0;
        return CONTROLLERS_WANTED & f->live & ~f->manager;
}

static int describe_manager(struct buf *d, const struct check_ctx *c, const char *restart) {
        _cleanup_free_ char *has = controllers_to_string(c->cgroup.manager), *stale = NULL, *unsure = NULL;

        stale = controllers_to_string(manager_lacks(&c->cgroup, CGROUP_MANAGER_PROBED));
        unsure = controllers_to_string(manager_lacks(&c->cgroup, CGROUP_MANAGER_ENABLED));
        if (!has || !stale || !unsure)
                return -ENOMEM;
        if (manager_lacks(&c->cgroup, CGROUP_MANAGER_PROBED))
                return buf_printf(d, "; the running manager has %s: it started before %s reached its cgroup and "
                                  "never gives them to its units (the node's among them); restart it: %s",
                                  has, stale, restart);
        if (manager_lacks(&c->cgroup, CGROUP_MANAGER_ENABLED))
                return buf_printf(d, "; the running manager has enabled %s for its units so far, and gives %s to the "
                                  "node's unit only if they had reached its cgroup when it started (not probed); if "
                                  "it started before, restart it: %s",
                                  has, unsure, restart);
        return 0;
}

/* What the user's manager gets and gives, worked out once for cgroup.delegation and cgroup.controller.*. */
struct delegation {
        const char *unit;               /* user@UID.service */
        const struct cgroup_probe *probe;
        unsigned granted;               /* what reaches the manager's cgroup (the configuration's word while none runs) */
        unsigned missing;               /* wanted, not granted */
        unsigned stale, unsure;         /* granted, but the running manager does not (or may not) give it its units */
        unsigned beyond_config;         /* live, but no longer in the configuration */
        bool avail_known, config_ok;
        char *fix, *restart, *live_list, *avail_list, *config_list, *manager_list;
};

static void delegation_done(struct delegation *g) {
        free(g->fix);
        free(g->restart);
        free(g->live_list);
        free(g->avail_list);
        free(g->config_list);
        free(g->manager_list);
}

static int delegation_load(struct check_ctx *c, const char *unit, struct delegation *g) {
        _cleanup_free_ char *mgr = cgroup_user_manager_path(CGROUP_LAYOUT_V2, c->user.uid), *file = NULL,
                            *live_line = NULL;
        int k;

        /* The manager's cgroup exists only while it runs; under --root it is the image's file, if any. */
        file = mgr ? xstrdup_printf("%s/cgroup.controllers", mgr) : NULL;
        if (!file)
                return -ENOMEM;
        if (host_read_line(c->host, file, &live_line) >= 0) {
                c->cgroup.live_known = true;
                c->cgroup.live = controllers_from_string(live_line, NULL);
        }
        g->unit = unit;
        g->avail_known = host_exists(c->host, "/sys/fs/cgroup/cgroup.controllers");
        g->probe = probe_cgroup(c);
        k = c->cgroup.live_known ? manager_controllers_load(c, mgr, g->probe) : 0;
        if (k < 0)
                return k;
        g->granted = c->cgroup.live_known ? c->cgroup.live : c->cgroup.configured;
        g->missing = CONTROLLERS_WANTED & ~g->granted;
        g->stale = manager_lacks(&c->cgroup, CGROUP_MANAGER_PROBED);
        g->unsure = manager_lacks(&c->cgroup, CGROUP_MANAGER_ENABLED);
        g->config_ok = c->cgroup.configured_known && !(CONTROLLERS_WANTED & ~c->cgroup.configured);
        if (c->cgroup.live_known && c->cgroup.configured_known)
                g->beyond_config = CONTROLLERS_WANTED & c->cgroup.live & ~c->cgroup.configured;
        g->fix = delegation_fix(c, g->config_ok);
        g->restart = restart_fix(c);
        g->live_list = controllers_to_string(c->cgroup.live);
        g->avail_list = controllers_to_string(c->cgroup.available);
        g->config_list = controllers_to_string(c->cgroup.configured);
        g->manager_list = controllers_to_string(c->cgroup.manager);
        if (!g->fix || !g->restart || !g->live_list || !g->avail_list || !g->config_list || !g->manager_list)
                return -ENOMEM;
        return 0;
}

/* cgroup.delegation's detail: what is missing, the configuration, the live state and the probes. */
static int describe_delegation(struct buf *d, const struct check_ctx *c, const struct delegation *g, const char *config) {
        int k = 0;

        if (g->missing) {
                _cleanup_free_ char *m = controllers_to_string(g->missing);

                k = m ? buf_printf(d, "not delegated to %s: %s; ", g->unit, m) : -ENOMEM;
        }
        if (k >= 0)
                k = buf_puts(d, config);
        if (k >= 0 && c->cgroup.live_known)
                k = buf_printf(d, "; live %s: %s", g->unit, g->live_list);
        else if (k >= 0)
                k = buf_printf(d, "; live state unknown: %s", c->host->offline
                                                                   ? "the image has no cgroup of the user manager"
                                                                   : "no user manager runs for the user");
        if (k >= 0 && c->cgroup.live_known && c->cgroup.configured_known &&
            (c->cgroup.live & CONTROLLERS_WANTED) != (c->cgroup.configured & CONTROLLERS_WANTED)) {
                if (c->cgroup.configured & ~c->cgroup.live & CONTROLLERS_WANTED)
                        k = buf_printf(d, " — restart needed: %s", g->restart);
                else {
                        _cleanup_free_ char *extra = controllers_to_string(g->beyond_config);

                        k = extra ? buf_printf(d, " — the running manager's cgroup has more than its configuration "
                                               "now delegates (changed since it started): the next restart or "
                                               "re-login takes %s away",
                                               extra)
                                  : -ENOMEM;
                }
        }
        if (k >= 0)
                k = describe_manager(d, c, g->restart);
        if (k >= 0)
                k = describe_probe(d, &g->probe->memory);
        if (k >= 0 && g->probe->unit.state != PROBE_SKIPPED)
                k = buf_printf(d, "; %s", g->probe->unit.detail);
        return k;
}

/* cgroup.controller.NAME for each controller the node may use. */
static int report_controller(const struct check_ctx *c, struct report *r, const struct delegation *g, unsigned bit) {
        const char *name = controller_to_string(bit);
        _cleanup_free_ char *id = xstrdup_printf("cgroup.controller.%s", name);
        const char *source = !c->cgroup.live_known                              ? "configured; live state unknown"
                             : c->cgroup.manager_source == CGROUP_MANAGER_PROBED ? "live, probed"
                                                                                 : "live";
        const struct probe_outcome *memory = &g->probe->memory;
        bool available = !g->avail_known || (c->cgroup.available & bit), granted = g->granted & bit;

        if (!id)
                return -ENOMEM;
        if (bit == CONTROLLER_MEMORY && memory->state == PROBE_FAILED)
                return report_add(r, id, CHECK_FAIL, g->fix, "memory: the live probe failed: %s", memory->detail);
        if (granted && available && (g->stale & bit))
                return report_add(r, id, CHECK_FAIL, g->restart,
                                  "%s: delegated to %s, but the running manager has %s: it never gives %s to its units",
                                  name, g->unit, g->manager_list, name);
        if (granted && available && (g->unsure & bit))
                return report_add(r, id, CHECK_WARN, g->restart,
                                  "%s: delegated to %s, but the running manager has enabled %s for its units so far "
                                  "and gives %s only if it had it when it started (not probed)",
                                  name, g->unit, g->manager_list, name);
        if (granted && available)
                return report_add(r, id, CHECK_PASS, NULL, "%s: delegated to %s (%s)%s%s%s", name, g->unit, source,
                                  bit == CONTROLLER_MEMORY && memory->state == PROBE_OK ? "; probe: " : "",
                                  bit == CONTROLLER_MEMORY && memory->state == PROBE_OK ? memory->detail : "",
                                  g->beyond_config & bit ? "; not in the configuration: gone after the next restart "
                                                           "or re-login"
                                                         : "");
        if (!available)
                return report_add(r, id, bit & CONTROLLERS_WANTED ? CHECK_FAIL : CHECK_WARN, NULL,
                                  "%s: not available in the root cgroup (/sys/fs/cgroup/cgroup.controllers: %s); the "
                                  "kernel lacks it or it is bound to a v1 hierarchy",
                                  name, g->avail_list);
        if (!(bit & CONTROLLERS_WANTED))
                return report_add(r, id, CHECK_WARN, NULL,
                                  "%s: not delegated to %s (systemd never delegates it): no %s limits for pods", name,
                                  g->unit, name);
        return report_add(r, id, CHECK_FAIL, g->fix, "%s: not delegated to %s (%s: %s)", name, g->unit, source,
                          c->cgroup.live_known ? g->live_list : g->config_list);
}

static int check_cgroup_delegation(struct check_ctx *c, struct report *r) {
        _cleanup_free_ char *unit = xstrdup_printf("user@%u.service", (unsigned) c->user.uid);
        struct delegation g = {};
        struct unit_info u = {};
        struct un_error err = {};
        struct buf config = {}, d = {};
        enum check_status status;
        int load, k;

        if (!unit)
                return -ENOMEM;
        load = unit_load(c->host, unit, &u, &err);
        c->cgroup.configured_known = load >= 0;
        c->cgroup.configured = load >= 0 && !u.masked && u.delegate.delegate ? u.delegate.controllers : 0;
        k = describe_config(&config, &u, load, err.msg);
        unit_info_done(&u);
        if (k >= 0 && c->cgroup.layout != CGROUP_LAYOUT_V2)
                k = check_delegation_not_v2(c, r, &config);
        else if (k >= 0 && c->service_manager.manager != SERVICE_MANAGER_SYSTEMD)
                k = check_delegation_without_systemd(c, r);
        else if (k >= 0) {
                k = delegation_load(c, unit, &g);
                if (k >= 0)
                        k = describe_delegation(&d, c, &g, config.data);
                if (k >= 0) {
                        status = g.missing || g.stale || g.probe->memory.state == PROBE_FAILED ? CHECK_FAIL
                                 : g.unsure || g.beyond_config                                  ? CHECK_WARN
                                                                                                : CHECK_PASS;
                        /* With the configuration short, the fix is the drop-in (and then a restart), not a restart
                         * alone. */
                        k = report_add(r, "cgroup.delegation", status,
                                       g.config_ok && (g.stale || g.unsure) ? g.restart : g.fix, "%s", d.data);
                }
                for (unsigned i = 0; k >= 0 && i < _CONTROLLER_COUNT; i++)
                        k = report_controller(c, r, &g, 1u << i);
        }
        delegation_done(&g);
        buf_free(&config);
        buf_free(&d);
        return k;
}

int check_cgroup(struct check_ctx *c, struct report *r) {
        int k = check_cgroup_v2(c, r);

        if (k < 0)
                return k;
        return check_cgroup_delegation(c, r);
}
