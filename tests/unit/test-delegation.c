/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "checks.h"
#include "suites.h"
#include "tree.h"
#include "util.h"

static char root[TREE_PATH_MAX];

#define MOUNTINFO_V2 "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw\n"
#define MOUNTINFO_HYBRID                                                          \
        "25 22 0:22 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"              \
        "26 25 0:23 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"          \
        "27 25 0:24 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n" \
        "30 25 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
#define LIVE "sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/cgroup.controllers"

/* Debian 12 (systemd 252) as shipped: Delegate=pids memory cpu, /lib the merged /usr/lib. */
static void debian_root(const char *mountinfo) {
        tree_make(root, "deleg");
        tree_put(root, "proc/self/mountinfo", mountinfo);
        tree_put(root, "sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
        tree_put(root, "usr/lib/systemd/system/user@.service",
            "[Unit]\nDescription=User Manager for UID %i\n[Service]\nUser=%i\nType=notify\n"
            "ExecStart=/lib/systemd/systemd --user\nSlice=user-%i.slice\nKillMode=mixed\nDelegate=pids memory cpu\n"
            "TasksMax=infinity\n");
        tree_put(root, "usr/lib/systemd/system/user@.service.d/10-login-barrier.conf", "[Unit]\nAfter=systemd-logind.service\n");
        tree_link(root, "usr/lib", "lib");
}

struct run {
        struct host host;
        struct check_ctx ctx;
        struct report report;
};

static void run_checks(struct run *t, int (*check)(struct check_ctx *, struct report *)) {
        *t = (struct run) { .host = { .root_fd = -1 } };
        ck_assert_int_eq(host_init(&t->host, root, NULL), 0);
        t->ctx.host = &t->host;
        t->ctx.user.name = strdup("alice");
        t->ctx.user.uid = 1000;
        t->ctx.user.gid = 1000;
        ck_assert_int_eq(check(&t->ctx, &t->report), 0);
}

static void run_done(struct run *t) {
        report_done(&t->report);
        check_ctx_done(&t->ctx);
        host_done(&t->host);
}

static const struct check_result *get(const struct run *t, const char *id) {
        const struct check_result *c = report_find(&t->report, id);

        ck_assert_msg(c != NULL, "no check %s", id);
        return c;
}

static void expect(const struct run *t, const char *id, enum check_status status, const char *in_detail) {
        const struct check_result *c = get(t, id);

        ck_assert_msg(c->status == status, "%s: status %s, want %s (%s)", id, check_status_to_string(c->status),
                      check_status_to_string(status), c->detail);
        if (in_detail)
                ck_assert_msg(strstr(c->detail, in_detail), "%s: '%s' not in '%s'", id, in_detail, c->detail);
}

START_TEST(test_config_and_live_disagree) {
        struct run t;
        const struct check_result *d;

        debian_root(MOUNTINFO_V2);
        tree_put(root, "etc/systemd/system/user@.service.d/50-usernode-delegate.conf", "[Service]\nDelegate=cpuset io\n");
        tree_put(root, LIVE, "memory pids\n");
        run_checks(&t, check_cgroup);

        expect(&t, "cgroup.v2", CHECK_PASS, NULL);
        d = get(&t, "cgroup.delegation");
        expect(&t, "cgroup.delegation", CHECK_FAIL, "not delegated to user@1000.service: cpu cpuset io");
        ck_assert_ptr_nonnull(strstr(d->detail, "configured (/usr/lib/systemd/system/user@.service, "
                                                "/usr/lib/systemd/system/user@.service.d/10-login-barrier.conf, "
                                                "/etc/systemd/system/user@.service.d/50-usernode-delegate.conf): "
                                                "cpu cpuset io memory pids"));
        ck_assert_ptr_nonnull(strstr(d->detail, "live user@1000.service: memory pids — restart needed: "
                                                "sudo systemctl restart user@1000.service (stops alice's user "
                                                "services), or log out of every session and back in"));
        ck_assert_ptr_nonnull(strstr(d->detail, "probe skipped: --root"));
        /* The config is right: only a restart is needed. */
        ck_assert_ptr_nonnull(strstr(d->fix, "sudo systemctl restart user@1000.service"));
        ck_assert_ptr_null(strstr(d->fix, "usernode setup"));

        ck_assert(t.ctx.cgroup.configured_known && t.ctx.cgroup.live_known);
        ck_assert_uint_eq(t.ctx.cgroup.configured, CONTROLLERS_WANTED);
        ck_assert_uint_eq(t.ctx.cgroup.live, CONTROLLER_MEMORY | CONTROLLER_PIDS);
        expect(&t, "cgroup.controller.memory", CHECK_PASS, "memory: delegated to user@1000.service (live)");
        expect(&t, "cgroup.controller.pids", CHECK_PASS, NULL);
        expect(&t, "cgroup.controller.cpu", CHECK_FAIL, "not delegated to user@1000.service (live: memory pids)");
        expect(&t, "cgroup.controller.cpuset", CHECK_FAIL, NULL);
        expect(&t, "cgroup.controller.io", CHECK_FAIL, NULL);
        expect(&t, "cgroup.controller.hugetlb", CHECK_WARN, "systemd never delegates it");
        ck_assert_int_eq(t.ctx.probes.cgroup.memory.state, PROBE_SKIPPED);
        ck_assert_int_eq(t.ctx.probes.cgroup.unit.state, PROBE_SKIPPED);
        run_done(&t);
        tree_remove(root);
}
END_TEST

START_TEST(test_configured_no_manager) {
        struct run t;

        debian_root(MOUNTINFO_V2);
        tree_put(root, "etc/systemd/system/user@.service.d/50-usernode-delegate.conf",
            "[Service]\nDelegate=cpu cpuset io memory pids\n");
        run_checks(&t, check_cgroup);
        expect(&t, "cgroup.delegation", CHECK_PASS, "live state unknown");
        ck_assert(!t.ctx.cgroup.live_known);
        expect(&t, "cgroup.controller.cpuset", CHECK_PASS, "(configured; live state unknown)");
        run_done(&t);
        tree_remove(root);
}
END_TEST

START_TEST(test_debian_stock) {
        struct run t;
        const struct check_result *d;

        /* Debian 12 as installed: pids memory cpu, no manager running in the image. */
        debian_root(MOUNTINFO_V2);
        run_checks(&t, check_cgroup);
        d = get(&t, "cgroup.delegation");
        expect(&t, "cgroup.delegation", CHECK_FAIL, "not delegated to user@1000.service: cpuset io; configured "
                                                    "(/usr/lib/systemd/system/user@.service, ");
        ck_assert_ptr_nonnull(strstr(d->fix, "sudo usernode setup --user alice --root "));
        ck_assert_ptr_nonnull(strstr(d->fix, "Delegate=cpu cpuset io memory pids"));
        ck_assert_ptr_nonnull(strstr(d->fix, "/etc/systemd/system/user@.service.d/50-usernode-delegate.conf"));
        /* An image gets its files, nothing on the running host is restarted. */
        ck_assert_ptr_nonnull(strstr(d->fix, root));
        ck_assert_ptr_null(strstr(d->fix, "systemctl"));
        expect(&t, "cgroup.controller.cpu", CHECK_PASS, NULL);
        expect(&t, "cgroup.controller.io", CHECK_FAIL, "(configured; live state unknown: cpu memory pids)");
        run_done(&t);
        tree_remove(root);
}
END_TEST

START_TEST(test_live_overrides_and_root_controllers) {
        struct run t;

        /* The running manager has everything though the config was cut back (a drop-in removed, the
         * manager not restarted): usable now, gone at the next re-login, so a warning with the drop-in. */
        debian_root(MOUNTINFO_V2);
        tree_put(root, LIVE, "cpuset cpu io memory pids\n");
        tree_put(root, "sys/fs/cgroup/cgroup.controllers", "cpu io memory pids\n");
        run_checks(&t, check_cgroup);
        expect(&t, "cgroup.delegation", CHECK_WARN, "the next restart or re-login takes cpuset io away");
        ck_assert_ptr_nonnull(strstr(get(&t, "cgroup.delegation")->fix, "sudo usernode setup --user alice --root"));
        ck_assert_ptr_nonnull(strstr(get(&t, "cgroup.delegation")->fix, "Delegate=cpu cpuset io memory pids"));
        expect(&t, "cgroup.controller.io", CHECK_PASS, "not in the configuration: gone after the next restart");
        expect(&t, "cgroup.controller.cpuset", CHECK_FAIL, "not available in the root cgroup");
        expect(&t, "cgroup.controller.hugetlb", CHECK_WARN, "not available in the root cgroup");
        run_done(&t);
        tree_remove(root);
}
END_TEST

#define SUBTREE "sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/cgroup.subtree_control"

/* setup's drop-in in place, daemon-reloaded: the manager's cgroup has all five; what the manager enabled
 * below it is subtree. */
static void stale_manager_root(const char *subtree) {
        debian_root(MOUNTINFO_V2);
        tree_put(root, "etc/systemd/system/user@.service.d/50-usernode-delegate.conf",
            "[Service]\nDelegate=cpu cpuset io memory pids\n");
        tree_put(root, LIVE, "cpuset cpu io memory pids\n");
        tree_put(root, SUBTREE, subtree);
}

/* The manager was running before the drop-in: PID 1's daemon-reload gave its cgroup cpuset and io,
 * but the manager enables only what it found when it started. Without a probe its subtree_control is
 * all there is: what it enabled so far, which cannot tell "never" from "not yet". */
START_TEST(test_manager_subtree_unprobed) {
        struct run t;
        const struct check_result *d;

        stale_manager_root("cpu memory pids\n");
        run_checks(&t, check_cgroup);
        d = get(&t, "cgroup.delegation");
        expect(&t, "cgroup.delegation", CHECK_WARN, "the running manager has enabled cpu memory pids for its units so far");
        ck_assert_ptr_nonnull(strstr(d->detail, "and gives cpuset io to the node's unit only if"));
        ck_assert_ptr_nonnull(strstr(d->fix, "sudo systemctl restart user@1000.service"));
        ck_assert_int_eq(t.ctx.cgroup.manager_source, CGROUP_MANAGER_ENABLED);
        expect(&t, "cgroup.controller.cpuset", CHECK_WARN, "the running manager has enabled cpu memory pids");
        expect(&t, "cgroup.controller.io", CHECK_WARN, NULL);
        expect(&t, "cgroup.controller.cpu", CHECK_PASS, "(live)");
        run_done(&t);

        /* Enabled all along: nothing to doubt. */
        tree_put(root, SUBTREE, "cpuset cpu io memory pids\n");
        run_checks(&t, check_cgroup);
        expect(&t, "cgroup.delegation", CHECK_PASS, NULL);
        expect(&t, "cgroup.controller.cpuset", CHECK_PASS, NULL);
        run_done(&t);
        tree_remove(root);
}
END_TEST

/* check_cgroup with the cgroup probe's outcome given as it would come back from a live host. */
static void run_probed(struct run *t, unsigned unit_controllers, const char *unit_detail) {
        *t = (struct run) { .host = { .root_fd = -1 } };
        ck_assert_int_eq(host_init(&t->host, root, NULL), 0);
        t->ctx.host = &t->host;
        t->ctx.user = (struct user) { .name = strdup("alice"), .uid = 1000, .gid = 1000 };
        t->ctx.probes.cgroup_ran = true;
        t->ctx.probes.cgroup.memory = (struct probe_outcome) { .state = PROBE_OK, .detail = "memory.max written" };
        t->ctx.probes.cgroup.unit.state = PROBE_OK;
        snprintf(t->ctx.probes.cgroup.unit.detail, sizeof t->ctx.probes.cgroup.unit.detail, "%s", unit_detail);
        t->ctx.probes.cgroup.unit_controllers = unit_controllers;
        ck_assert_int_eq(check_cgroup(&t->ctx, &t->report), 0);
}

/* With the probe's Delegate=yes scope the running manager's answer is exact: a failure, and a restart
 * (through setup on a live host) as the fix. */
START_TEST(test_manager_probed) {
        struct run t;
        const struct check_result *d;

        stale_manager_root("memory pids\n");
        run_probed(&t, CONTROLLER_CPU | CONTROLLER_MEMORY | CONTROLLER_PIDS, "scope gets: cpu memory pids");
        d = get(&t, "cgroup.delegation");
        expect(&t, "cgroup.delegation", CHECK_FAIL, "the running manager has cpu memory pids: it started before cpuset "
                                                    "io reached its cgroup");
        ck_assert_ptr_nonnull(strstr(d->detail, "; scope gets: cpu memory pids"));
        ck_assert_int_eq(t.ctx.cgroup.manager_source, CGROUP_MANAGER_PROBED);
        expect(&t, "cgroup.controller.cpuset", CHECK_FAIL, "it never gives cpuset to its units");
        /* Probed: what the manager enabled so far (memory pids) does not count against cpu. */
        expect(&t, "cgroup.controller.cpu", CHECK_PASS, "(live, probed)");
        run_done(&t);

        /* The manager gives all it has: pass, whatever subtree_control says so far. */
        run_probed(&t, CONTROLLERS_WANTED, "scope gets: all");
        expect(&t, "cgroup.delegation", CHECK_PASS, NULL);
        expect(&t, "cgroup.controller.io", CHECK_PASS, "(live, probed)");
        run_done(&t);
        tree_remove(root);
}
END_TEST

START_TEST(test_masked_and_broken) {
        struct run t;
        char p[256];

        debian_root(MOUNTINFO_V2);
        snprintf(p, sizeof p, "%s/etc/systemd/system", root);
        tree_mkdir(root, "etc/systemd/system");
        strcat(p, "/user@.service");
        ck_assert_int_eq(symlink("/dev/null", p), 0);
        run_checks(&t, check_cgroup);
        expect(&t, "cgroup.delegation", CHECK_FAIL, "/etc/systemd/system/user@.service is masked");
        run_done(&t);
        ck_assert_int_eq(unlink(p), 0);

        tree_put(root, "etc/systemd/system/user@.service.d/50-x.conf", "[Service\nDelegate=yes\n");
        run_checks(&t, check_cgroup);
        expect(&t, "cgroup.delegation", CHECK_FAIL,
               "configured: unknown (/etc/systemd/system/user@.service.d/50-x.conf:1: malformed");
        run_done(&t);
        tree_remove(root);
}
END_TEST

START_TEST(test_hybrid) {
        struct run t;
        const struct check_result *d;

        debian_root(MOUNTINFO_HYBRID);
        run_checks(&t, check_cgroup);
        expect(&t, "cgroup.v2", CHECK_FAIL, "hybrid");
        d = get(&t, "cgroup.delegation");
        expect(&t, "cgroup.delegation", CHECK_FAIL, "needs cgroup v2, this host has hybrid cgroups");
        ck_assert_str_eq(d->fix, get(&t, "cgroup.v2")->fix);
        ck_assert_ptr_nonnull(strstr(d->detail, "probe skipped"));
        for (const char *const *id = (const char *const[]) { "cgroup.controller.cpu", "cgroup.controller.cpuset",
                                                              "cgroup.controller.io", "cgroup.controller.memory",
                                                              "cgroup.controller.pids", NULL };
             *id; id++)
                expect(&t, *id, CHECK_FAIL, "no delegation without cgroup v2");
        expect(&t, "cgroup.controller.hugetlb", CHECK_WARN, NULL);
        run_done(&t);
        tree_remove(root);
}
END_TEST

START_TEST(test_systemd_user_image) {
        struct run t;

        debian_root(MOUNTINFO_V2);
        run_checks(&t, check_systemd_user);
        expect(&t, "systemd.user", CHECK_WARN, "linger off for alice");
        ck_assert_ptr_nonnull(strstr(get(&t, "systemd.user")->fix, "/var/lib/systemd/linger/alice"));
        ck_assert_ptr_nonnull(strstr(get(&t, "systemd.user")->fix, root));
        run_done(&t);
        tree_put(root, "var/lib/systemd/linger/alice", "");
        run_checks(&t, check_systemd_user);
        expect(&t, "systemd.user", CHECK_PASS, "linger enabled for alice");
        run_done(&t);
        tree_remove(root);
}
END_TEST

/* The probe for real: a cgroup2 mounted over /sys/fs/cgroup in a private mount namespace, a
 * manager cgroup made for nobody. Nothing enables controllers in the slices made here (and the
 * probe never touches the manager's subtree_control): memory.max is absent, the probe fails. */
START_TEST(test_probe_live) {
        struct host h = { .root_fd = -1 };
        struct check_ctx c = {};
        const struct probe_outcome *o;
        const char *mgr = "/sys/fs/cgroup/user.slice/user-65534.slice/user@65534.service";
        struct stat st;
        bool made_user_slice;

        if (geteuid() != 0 || unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("cgroup2", "/sys/fs/cgroup", "cgroup2", 0, NULL) < 0) {
                fprintf(stderr, "test_probe_live: skipped (needs root and a cgroup2 mount in a mount namespace)\n");
                return;
        }
        made_user_slice = stat("/sys/fs/cgroup/user.slice", &st) < 0;
        ck_assert(mkdir("/sys/fs/cgroup/user.slice", 0755) == 0 || errno == EEXIST);
        ck_assert_int_eq(mkdir("/sys/fs/cgroup/user.slice/user-65534.slice", 0755), 0);
        ck_assert_int_eq(mkdir(mgr, 0755), 0);

        ck_assert_int_eq(host_init(&h, "/", NULL), 0);
        c.host = &h;
        c.user = (struct user) { .name = (char *) "nobody", .uid = 65534, .gid = 65534 };
        c.cgroup.layout = CGROUP_LAYOUT_V2;

        /* Not the user's: mkdir is refused after the drop to UID 65534, which proves the drop took. */
        o = &probe_cgroup(&c)->memory;
        ck_assert_int_eq(o->state, PROBE_FAILED);
        ck_assert_msg(strstr(o->detail, "cannot create a child cgroup in user@65534.service as UID 65534: Permission "
                                        "denied"),
                      "%s", o->detail);
        /* No user manager listens here: the delegated-scope part is skipped with the reason. */
        ck_assert_int_eq(probe_cgroup(&c)->unit.state, PROBE_SKIPPED);
        ck_assert_msg(strstr(probe_cgroup(&c)->unit.detail, "cannot connect to the user manager of UID 65534"), "%s",
                      probe_cgroup(&c)->unit.detail);
        /* Cached. */
        ck_assert_ptr_eq(&probe_cgroup(&c)->memory, o);

        /* Delegated to the user (as systemd chowns it): the child is made and removed again. */
        ck_assert_int_eq(chown(mgr, 65534, 65534), 0);
        c.probes = (struct probes) {};
        o = &probe_cgroup(&c)->memory;
        ck_assert_msg(o->state == PROBE_FAILED, "%s", o->detail);
        ck_assert_msg(strstr(o->detail,
                             "child cgroup in user@65534.service has no memory.max: memory is not delegated"),
                      "%s", o->detail);
        {
                char cmd[256];

                snprintf(cmd, sizeof cmd, "ls %s | grep -q usernode-probe", mgr);
                ck_assert_int_ne(system(cmd), 0);
        }

        /* The whole check on this staged live host: the failed probe decides memory, whatever the config says. */
        {
                struct report r = {};
                struct check_ctx full = { .host = &h, .user = c.user };
                const struct check_result *m, *d;

                ck_assert_int_eq(check_cgroup(&full, &r), 0);
                ck_assert_int_eq(full.cgroup.layout, CGROUP_LAYOUT_V2);
                ck_assert(full.cgroup.live_known);
                m = report_find(&r, "cgroup.controller.memory");
                d = report_find(&r, "cgroup.delegation");
                ck_assert_ptr_nonnull(m);
                ck_assert_ptr_nonnull(d);
                ck_assert_int_eq(m->status, CHECK_FAIL);
                ck_assert_msg(strstr(m->detail, "memory: the live probe failed: child cgroup in user@65534.service"),
                              "%s", m->detail);
                ck_assert_int_eq(d->status, CHECK_FAIL);
                ck_assert_msg(strstr(d->detail, "; probe failed: "), "%s", d->detail);
                report_done(&r);
        }

        /* --no-probes and a missing manager are reasons to skip. */
        c.probes = (struct probes) {};
        c.no_probes = true;
        ck_assert_int_eq(probe_cgroup(&c)->memory.state, PROBE_SKIPPED);
        c.probes = (struct probes) {};
        c.no_probes = false;
        c.user.uid = 65533;
        o = &probe_cgroup(&c)->memory;
        ck_assert_int_eq(o->state, PROBE_SKIPPED);
        ck_assert_ptr_nonnull(strstr(o->detail, "no user manager runs for nobody"));

        ck_assert_int_eq(rmdir(mgr), 0);
        ck_assert_int_eq(rmdir("/sys/fs/cgroup/user.slice/user-65534.slice"), 0);
        if (made_user_slice)
                ck_assert_int_eq(rmdir("/sys/fs/cgroup/user.slice"), 0);
        host_done(&h);
}
END_TEST

static bool private_mounts(void) {
        return geteuid() == 0 && unshare(CLONE_NEWNS) >= 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) >= 0;
}

static void make_socket(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        ck_assert_int_ge(fd, 0);
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof sa), 0);
        close(fd);
}

static const struct check_result *systemd_user_live(struct report *r) {
        struct host h = { .root_fd = -1 };
        struct check_ctx c = {};

        report_done(r);
        ck_assert_int_eq(host_init(&h, "/", NULL), 0);
        c.host = &h;
        c.user = (struct user) { .name = (char *) "nobody", .uid = 65534, .gid = 65534 };
        c.cgroup.layout = CGROUP_LAYOUT_V2;
        service_manager_detect(&h, &c.service_manager);        /* as checks_run does */
        ck_assert_int_eq(check_systemd_user(&c, r), 0);
        host_done(&h);
        return report_find(r, "systemd.user");
}

/* A live host with systemd, staged with tmpfs mounts in a private mount namespace. */
START_TEST(test_systemd_user_live) {
        const char *mgr = "/sys/fs/cgroup/user.slice/user-65534.slice/user@65534.service";
        struct report r = {};
        const struct check_result *c;

        if (!private_mounts() || mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") < 0 ||
            mount("tmpfs", "/sys/fs/cgroup", "tmpfs", 0, "mode=0755") < 0 ||
            mount("tmpfs", "/var/lib/systemd", "tmpfs", 0, "mode=0755") < 0) {
                fprintf(stderr, "test_systemd_user_live: skipped (needs root and private mounts)\n");
                return;
        }
        /* Not booted with systemd: said so, whatever else is there. */
        c = systemd_user_live(&r);
        ck_assert_int_eq(c->status, CHECK_WARN);
        ck_assert_ptr_nonnull(strstr(c->detail, "not systemd (no /run/systemd/system)"));

        ck_assert_int_eq(system("mkdir -p /run/systemd/system /run/user/65534/systemd /var/lib/systemd/linger "
                                "/sys/fs/cgroup/user.slice/user-65534.slice/user@65534.service && "
                                "chown 65534:65534 /run/user/65534"),
                         0);
        c = systemd_user_live(&r);
        ck_assert_int_eq(c->status, CHECK_WARN);
        ck_assert_msg(strstr(c->detail, "runs but has no user bus (/run/user/65534/bus)"), "%s", c->detail);
        ck_assert_ptr_nonnull(strstr(c->fix, "dbus-user-session"));

        make_socket("/run/user/65534/bus");
        c = systemd_user_live(&r);
        ck_assert_int_eq(c->status, CHECK_WARN);
        ck_assert_msg(strstr(c->detail, "only for a login session (linger off)"), "%s", c->detail);
        ck_assert_str_eq(c->fix, "sudo loginctl enable-linger nobody (or: sudo usernode setup --user nobody)");

        ck_assert_int_eq(system("touch /var/lib/systemd/linger/nobody"), 0);
        c = systemd_user_live(&r);
        ck_assert_int_eq(c->status, CHECK_PASS);
        ck_assert_msg(strstr(c->detail, "user manager for nobody runs; found: linger enabled, user@65534.service "
                                        "cgroup present, /run/user/65534, user bus /run/user/65534/bus"),
                      "%s", c->detail);

        ck_assert_int_eq(rmdir(mgr), 0);
        c = systemd_user_live(&r);
        ck_assert_int_eq(c->status, CHECK_WARN);
        ck_assert_str_eq(c->fix, "sudo systemctl start user@65534.service");

        ck_assert_int_eq(unlink("/var/lib/systemd/linger/nobody"), 0);
        c = systemd_user_live(&r);
        ck_assert_int_eq(c->status, CHECK_WARN);
        ck_assert_ptr_nonnull(strstr(c->detail, "no user manager for nobody (linger off"));
        report_done(&r);
}
END_TEST

Suite *delegation_suite(void) {
        Suite *s = suite_create("delegation");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_config_and_live_disagree);
        tcase_add_test(tc, test_configured_no_manager);
        tcase_add_test(tc, test_debian_stock);
        tcase_add_test(tc, test_live_overrides_and_root_controllers);
        tcase_add_test(tc, test_masked_and_broken);
        tcase_add_test(tc, test_manager_subtree_unprobed);
        tcase_add_test(tc, test_manager_probed);
        tcase_add_test(tc, test_hybrid);
        tcase_add_test(tc, test_systemd_user_image);
        tcase_add_test(tc, test_probe_live);
        tcase_add_test(tc, test_systemd_user_live);
        suite_add_tcase(s, tc);
        return s;
}
