/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checks.h"
#include "util.h"

/* What tells that a user manager runs, or will run, for the user. */
struct user_manager {
        bool linger;            /* /var/lib/systemd/linger/NAME: started at boot, kept after logout */
        bool runtime_dir;       /* /run/user/UID, owned by the user */
        bool bus;               /* /run/user/UID/bus, the user bus socket sd-bus connects to */
        bool private_socket;    /* /run/user/UID/systemd/private, the manager's own socket */
        bool cgroup;            /* user@UID.service's cgroup: the manager runs */
};

static void user_manager_probe(const struct check_ctx *c, struct user_manager *m) {
        _cleanup_free_ char *linger = NULL, *run = NULL, *bus = NULL, *priv = NULL, *cg = NULL;
        struct stat st;

        linger = xstrdup_printf("/var/lib/systemd/linger/%s", c->user.name);
        run = xstrdup_printf("/run/user/%u", (unsigned) c->user.uid);
        bus = xstrdup_printf("/run/user/%u/bus", (unsigned) c->user.uid);
        priv = xstrdup_printf("/run/user/%u/systemd/private", (unsigned) c->user.uid);
        /* checks_run calls check_cgroup first: the layout is known here. */
        cg = cgroup_user_manager_path(c->cgroup.layout, c->user.uid);

        *m = (struct user_manager) {};
        m->linger = linger && host_exists(c->host, linger);
        m->runtime_dir = run && host_stat(c->host, run, &st, true) >= 0 && S_ISDIR(st.st_mode) &&
                         st.st_uid == c->user.uid;
        m->bus = bus && host_stat(c->host, bus, &st, true) >= 0 && S_ISSOCK(st.st_mode);
        m->private_socket = priv && host_stat(c->host, priv, &st, true) >= 0 && S_ISSOCK(st.st_mode);
        m->cgroup = cg && host_stat(c->host, cg, &st, true) >= 0 && S_ISDIR(st.st_mode);
}

static char *linger_fix(const struct check_ctx *c) {
        const struct template_var vars[] = { { "user", c->user.name } };

        if (c->hostconf)
                return check_hostconf_fix(c, HOSTCONF_LINGER, vars, ELEMENTSOF(vars));
        return xstrdup_printf("sudo loginctl enable-linger %s (or: sudo usernode setup --user %s)", c->user.name,
                              c->user.name);
}

/* The D-Bus user session: a separate package on Debian and Ubuntu, dbus-broker's user units elsewhere. */
static char *bus_fix(const struct check_ctx *c) {
        switch (c->distro.family) {
        case DISTRO_DEBIAN:
        case DISTRO_UBUNTU:
                return xstrdup_printf("sudo apt-get install -y dbus-user-session && "
                                      "sudo systemctl restart user@%u.service",
                                      (unsigned) c->user.uid);
        default:
                return xstrdup_printf("%s dbus-broker && sudo systemctl --global enable dbus-broker.service && "
                                      "sudo systemctl restart user@%u.service",
                                      distro_install_command(&c->distro), (unsigned) c->user.uid);
        }
}

static int found_list(struct buf *b, const struct check_ctx *c, const struct user_manager *m) {
        int k = buf_printf(b, "linger %s", m->linger ? "enabled" : "off");

        if (k >= 0 && m->cgroup)
                k = buf_printf(b, ", user@%u.service cgroup present", (unsigned) c->user.uid);
        if (k >= 0 && m->runtime_dir)
                k = buf_printf(b, ", /run/user/%u", (unsigned) c->user.uid);
        if (k >= 0 && m->bus)
                k = buf_printf(b, ", user bus /run/user/%u/bus", (unsigned) c->user.uid);
        return k;
}

static int check_offline(struct check_ctx *c, struct report *r, const struct user_manager *m) {
        _cleanup_free_ char *fix = NULL;

        if (m->linger)
                return report_add(r, "systemd.user", CHECK_PASS, NULL,
                                  "image: linger enabled for %s, its user manager starts at boot", c->user.name);
        /* logind's linger is a flag file: in an image it is made by hand, no logind to ask. */
        fix = c->hostconf ? linger_fix(c) : xstrdup_printf("sudo usernode setup --user %s --root %s; or by hand: sudo mkdir -p "
                             "%s/var/lib/systemd/linger && sudo touch %s/var/lib/systemd/linger/%s",
                             c->user.name, c->host->root, c->host->root, c->host->root, c->user.name);
        if (!fix)
                return -ENOMEM;
        return report_add(r, "systemd.user", CHECK_WARN, fix,
                          "image: linger off for %s (no /var/lib/systemd/linger/%s): its user manager runs only "
                          "during a login session; `usernode up` then supervises the node itself",
                          c->user.name, c->user.name);
}

/* Where systemd cannot run a user manager (another init, a container's entrypoint as PID 1), linger and
 * user units do not apply: there is nothing to fix, `up` supervises the node itself. */
static int check_no_systemd(struct check_ctx *c, struct report *r) {
        const struct service_manager_info *sm = &c->service_manager;
        const char *pid1 = sm->pid1[0] ? sm->pid1 : "unknown";

        if (sm->manager == SERVICE_MANAGER_OPENRC)
                return report_add(r, "systemd.user", CHECK_WARN, NULL,
                                  "OpenRC%s, not systemd: no user manager for %s can exist, linger does not apply; "
                                  "`usernode up` supervises the node itself (CI mode), no user units",
                                  sm->running ? " runs here" : " is this image's init", c->user.name);
        return report_add(r, "systemd.user", CHECK_WARN, NULL,
                          "PID 1 is '%s', not systemd (no /run/systemd/system): no user manager for %s can exist, "
                          "linger does not apply; `usernode up` supervises the node itself (CI mode), no user units",
                          pid1, c->user.name);
}

int check_systemd_user(struct check_ctx *c, struct report *r) {
        _cleanup_free_ char *fix = NULL, *xdg_note = NULL;
        struct user_manager m;
        struct buf found = {};
        int k;

        if (!c->user.name)
                return report_add(r, "systemd.user", CHECK_SKIP, NULL, "no user to check");
        if (c->service_manager.manager != SERVICE_MANAGER_SYSTEMD)
                return check_no_systemd(c, r);
        user_manager_probe(c, &m);
        if (c->host->offline)
                return check_offline(c, r, &m);

        /* The caller's own session: systemctl --user and sd-bus find the manager through this. */
        if (getuid() == c->user.uid) {
                _cleanup_free_ char *want = xstrdup_printf("/run/user/%u", (unsigned) c->user.uid);
                const char *xdg = secure_getenv("XDG_RUNTIME_DIR");

                if (!want)
                        return -ENOMEM;
                if (!xdg)
                        xdg_note = xstrdup_printf("; XDG_RUNTIME_DIR is not set (export XDG_RUNTIME_DIR=%s)", want);
                else if (strcmp(xdg, want) != 0)
                        xdg_note = xstrdup_printf("; XDG_RUNTIME_DIR is %.64s, not %s", xdg, want);
                else
                        xdg_note = xstrdup_printf("; XDG_RUNTIME_DIR=%s", want);
                if (!xdg_note)
                        return -ENOMEM;
        }

        k = found_list(&found, c, &m);
        if (k < 0)
                goto out;
        if (m.cgroup && !m.bus) {
                fix = bus_fix(c);
                k = fix ? report_add(r, "systemd.user", CHECK_WARN, fix,
                                     "user manager for %s runs but has no user bus (/run/user/%u/bus): usernode "
                                     "cannot start user units over D-Bus; found: %s%s",
                                     c->user.name, (unsigned) c->user.uid, found.data, strempty(xdg_note))
                        : -ENOMEM;
        } else if (m.cgroup && !m.linger) {
                fix = linger_fix(c);
                k = fix ? report_add(r, "systemd.user", CHECK_WARN, fix,
                                     "user manager for %s runs only for a login session (linger off): the node stops "
                                     "at logout; found: %s%s",
                                     c->user.name, found.data, strempty(xdg_note))
                        : -ENOMEM;
        } else if (m.cgroup)
                k = report_add(r, "systemd.user", CHECK_PASS, NULL, "user manager for %s runs; found: %s%s",
                               c->user.name, found.data, strempty(xdg_note));
        else if (m.linger) {
                fix = xstrdup_printf("sudo systemctl start user@%u.service", (unsigned) c->user.uid);
                k = fix ? report_add(r, "systemd.user", CHECK_WARN, fix,
                                     "linger is enabled for %s but no user manager runs (no user@%u.service "
                                     "cgroup); found: %s%s",
                                     c->user.name, (unsigned) c->user.uid, found.data, strempty(xdg_note))
                        : -ENOMEM;
        } else {
                fix = linger_fix(c);
                k = fix ? report_add(r, "systemd.user", CHECK_WARN, fix,
                                     "no user manager for %s (linger off, no user@%u.service cgroup): `usernode up` "
                                     "supervises the node itself (CI mode); found: %s%s",
                                     c->user.name, (unsigned) c->user.uid, found.data, strempty(xdg_note))
                        : -ENOMEM;
        }
out:
        buf_free(&found);
        return k;
}
