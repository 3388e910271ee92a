/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cgroup.h"
#include "distro.h"
#include "host.h"
#include "probe.h"
#include "subid.h"
#include "users.h"

/* A check is a fact about the host (DESIGN.md "Checks and features"). IDs are stable API. */
enum check_status {
        CHECK_PASS,
        CHECK_WARN,
        CHECK_FAIL,
        CHECK_SKIP,
};

struct check_result {
        char *id;
        enum check_status status;
        char *detail;
        char *fix;              /* exact command or file content; NULL when there is nothing to fix */
        bool ignored;           /* named by --ignore: reported, but does not decide readiness */
};

enum engine {
        ENGINE_K3S,
        ENGINE_KUBELET,
        _ENGINE_MAX,
};

/* Everything the checks share: the host, who the node is for, and facts one check finds that
 * later checks (and the rules) build on. Checks run in registry order (checks.c). */
struct check_ctx {
        const struct host *host;
        struct distro distro;
        struct user user;
        enum engine engine;
        char *kernel_release;           /* "6.1.0-27-amd64" */
        unsigned kernel_major, kernel_minor;
        struct cgroup_facts cgroup;     /* filled by cgroup.c */
        bool have_subuid, have_subgid;  /* the user's ranges (filled by subid.c) for the probes */
        struct subid_range subuid, subgid;
        bool no_probes;                 /* --no-probes: config files only */
        struct probes probes;           /* live probes, run lazily (probe.c) */
};

struct report {
        struct check_result *checks;
        size_t n_checks, cap;
};

/* Adds a result; detail is a format. fix may be NULL. Returns 0 or -ENOMEM. */
int report_add(struct report *r, const char *id, enum check_status status, const char *fix,
               const char *detail_fmt, ...) _printf_(5, 6);
const struct check_result *report_find(const struct report *r, const char *id);
void report_done(struct report *r);

const char *check_status_to_string(enum check_status s);
const char *engine_to_string(enum engine e);
int engine_from_string(const char *s, enum engine *ret);

/* Runs every check module in order. Returns < 0 only for internal errors (out of memory). */
int checks_run(struct check_ctx *c, struct report *r);
void check_ctx_done(struct check_ctx *c);

/* The check modules, in the order checks_run calls them. Each lives in the file named for it. */
int check_kernel(struct check_ctx *c, struct report *r);        /* kernel.c: kernel.version */
int check_cgroup(struct check_ctx *c, struct report *r);        /* cgroup.c: cgroup.v2, cgroup.delegation, cgroup.controller.* */
int check_subid(struct check_ctx *c, struct report *r);         /* subid.c: subid.uid, subid.gid, subid.tools */
int check_systemd_user(struct check_ctx *c, struct report *r);  /* logind.c: systemd.user */
int check_userns(struct check_ctx *c, struct report *r);        /* userns.c: userns.enabled, userns.apparmor */
int check_fs(struct check_ctx *c, struct report *r);            /* fs.c: fs.overlay */
int check_net(struct check_ctx *c, struct report *r);           /* net.c: net.tun, net.driver, net.dns, net.ports */
int check_net_cidr(struct check_ctx *c, struct report *r);      /* netlink.c: net.cidr */
int check_sysctl(struct check_ctx *c, struct report *r);        /* sysctl.c: sysctl.* */
int check_kmod(struct check_ctx *c, struct report *r);          /* kmod.c: kmod.<name> */
int check_engine(struct check_ctx *c, struct report *r);        /* engine.c: engine.k3s, engine.kubelet */
int check_limits(struct check_ctx *c, struct report *r);        /* limits.c: limits.nofile, limits.inotify, memory.swap */

/* The fix that runs setup for the check's user: "sudo usernode setup --user NAME[FLAGS][ --root DIR]",
 * with --root when the check examined a tree. Caller frees; NULL on ENOMEM. */
char *check_setup_command(const struct check_ctx *c, const char *flags);

/* kernel.c: "6.1.0-27-amd64" -> 6, 1. */
int kernel_parse_release(const char *release, unsigned *ret_major, unsigned *ret_minor);
