/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cgroup.h"
#include "kernel.h"
#include "distro.h"
#include "engine.h"
#include "host.h"
#include "hostconf.h"
#include "probe.h"
#include "service-manager.h"
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

/* Everything the checks share: the host, who the node is for, and facts one check finds that
 * later checks (and the rules) build on. Checks run in registry order (checks.c). */
struct check_ctx {
        const struct host *host;
        struct distro distro;
        const struct hostconf *hostconf;        /* the configuration that owns /etc (NixOS), NULL on FHS hosts */
        struct service_manager_info service_manager;
        struct user user;
        enum engine engine;
        char *kernel_release;           /* "6.1.0-27-amd64" */
        unsigned kernel_major, kernel_minor;
        enum kernel_build kernel_build;
        enum overlay_permit_param overlay_permit_param;
        char *overlay_permit_conf;      /* the modprobe.d file that turns it on, if one does */
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

/* Adds a result; detail is a format. fix may be NULL. Returns 0, -ENOMEM, or -EINVAL for an ID
 * that is not in the check registry (checks.c). */
int report_add(struct report *r, const char *id, enum check_status status, const char *fix,
               const char *detail_fmt, ...) _printf_(5, 6);
const struct check_result *report_find(const struct report *r, const char *id);
void report_done(struct report *r);

const char *check_status_to_string(enum check_status s);

/* Runs every check module in order. Returns < 0 only for internal errors (out of memory, an ID
 * missing from the registry). */
int checks_run(struct check_ctx *c, struct report *r);
/* Every check ID the modules can report, in registry order, with kmod.NAME and
 * cgroup.controller.NAME expanded from their modules' tables. NULL-terminated; caller frees. */
int check_ids_list(char ***ret);
bool check_id_known(const char *id);
void check_ctx_done(struct check_ctx *c);

/* The check modules, in the order checks_run calls them. Each lives in check/<prefix of its IDs>.c. */
int check_kernel(struct check_ctx *c, struct report *r);        /* kernel.version */
int check_cgroup(struct check_ctx *c, struct report *r);        /* cgroup.v2, cgroup.delegation, cgroup.controller.* */
int check_subid(struct check_ctx *c, struct report *r);         /* subid.uid, subid.gid, subid.tools */
int check_systemd_user(struct check_ctx *c, struct report *r);  /* systemd.user */
int check_userns(struct check_ctx *c, struct report *r);        /* userns.enabled, userns.apparmor */
int check_fs(struct check_ctx *c, struct report *r);            /* fs.overlay */
int check_net(struct check_ctx *c, struct report *r);           /* net.tun, net.driver, net.source-ip, net.dns, net.ports, net.ipv6 */
int check_net_cidr(struct check_ctx *c, struct report *r);      /* net.cidr */
int check_sysctl(struct check_ctx *c, struct report *r);        /* sysctl.* */
int check_kmod(struct check_ctx *c, struct report *r);          /* kmod.<name> */
int check_engine(struct check_ctx *c, struct report *r);        /* engine.k3s, engine.kubelet */
int check_limits(struct check_ctx *c, struct report *r);        /* limits.nofile, limits.inotify */
int check_memory(struct check_ctx *c, struct report *r);        /* memory.swap */
int check_templates(struct check_ctx *c, struct report *r);     /* templates.override */

/* The fix that runs setup for the check's user: "sudo usernode setup --user NAME[FLAGS][ --root DIR]",
 * with --root when the check examined a tree. Caller frees; NULL on ENOMEM. */
char *check_setup_command(const struct check_ctx *c, const char *flags);

/* The install command for Debian's packages (space-separated names), in the examined distribution's
 * words: "sudo dnf install -y fuse-overlayfs". Caller frees; NULL on ENOMEM. */
char *check_install_command(const struct check_ctx *c, const char *debian_packages);

/* check/cgroup-nosystemd.c: where no systemd runs (OpenRC, a CI job's container). cgroup.v2's fix in the
 * words of the host's init (systemd's kernel argument where it runs); caller frees, NULL on ENOMEM. */
char *check_cgroup_v2_fix(const struct check_ctx *c);
/* cgroup.v2's words on OpenRC's rc_cgroup_mode in /etc/rc.conf ("; ..."), "" on other hosts; NULL on ENOMEM. */
char *check_openrc_cgroup_mode_note(const struct check_ctx *c);
/* cgroup.delegation and cgroup.controller.* on a cgroup v2 host without systemd. */
int check_delegation_without_systemd(struct check_ctx *c, struct report *r);

/* check/sysctl.c: the fix for a sysctl the configuration (file) already sets but the kernel does not have
 * yet: apply it, nothing to write. Caller frees. */
char *check_sysctl_apply_fix(const struct check_ctx *c, const char *file);

/* A fix in the words of the host's configuration (hostconf_fix), for one setting. NULL on ENOMEM. */
char *check_hostconf_fix(const struct check_ctx *c, enum hostconf_setting s, const struct template_var *vars,
                         size_t n_vars);

/* A path of the examined host as an admin types it: under --root, inside DIR. Caller frees. */
char *check_host_path(const struct check_ctx *c, const char *path);

/* check/kernel.c: what overlayfs in a user namespace needs on the examined host. */
enum kernel_overlay_userns kernel_overlay_userns(const struct check_ctx *c);
/* Whether Debian's overlay.permit_mounts_in_userns can be set here (a Debian kernel, or the parameter
 * is there). */
bool kernel_overlay_param_settable(const struct check_ctx *c);
/* What to do where overlayfs cannot be mounted in a user namespace: Debian's module parameter where
 * the kernel has it, else a newer kernel. Caller frees. */
char *kernel_overlay_userns_fix(const struct check_ctx *c);
/* Why a kernel before 5.11 mounts overlayfs in a user namespace, for a detail; "" otherwise. */
const char *kernel_overlay_userns_reason(const struct check_ctx *c);
