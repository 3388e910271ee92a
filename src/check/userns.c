/* SPDX-License-Identifier: GPL-2.0-or-later */
/* userns.enabled and userns.apparmor: may the user create user namespaces, and does AppArmor let the
 * binaries that create them for the node (rootlesskit, k3s) do so. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "apparmor.h"
#include "checks.h"
#include "sysctl.h"
#include "util.h"

/* A sysctl: -ENOENT when the knob does not exist on this kernel. */
static int read_sysctl_u64(const struct host *h, const char *path, uint64_t *ret) {
        _cleanup_free_ char *line = NULL;
        int r;

        r = host_read_line(h, path, &line);
        if (r < 0)
                return r;
        return parse_u64(strstrip(line), ret);
}

/* Where the configuration already has good values for what is bad now (setup wrote them), only
 * applying them is left: that fix, else NULL. */
static char *sysctl_configured_fix(const struct check_ctx *c, bool max, bool clone) {
        _cleanup_free_ char *max_file = NULL, *clone_file = NULL;
        int64_t v;

        if (max && (sysctl_read_configured(c->host, "user.max_user_namespaces", &v, 1, &max_file) <= 0 || v <= 0))
                return NULL;
        if (clone &&
            (sysctl_read_configured(c->host, "kernel.unprivileged_userns_clone", &v, 1, &clone_file) <= 0 || v == 0))
                return NULL;
        return check_sysctl_apply_fix(c, max_file ? max_file : clone_file);
}

static char *sysctl_fix(const struct check_ctx *c, bool max, bool clone) {
        _cleanup_free_ char *setup = NULL, *conf = NULL, *configured = sysctl_configured_fix(c, max, clone);

        if (configured)
                return TAKE_PTR(configured);
        setup = check_setup_command(c, NULL);
        conf = check_host_path(c, "/etc/sysctl.d/50-usernode.conf");
        if (!setup || !conf)
                return NULL;
        return xstrdup_printf("sudo tee %s >/dev/null <<'EOF'\n"
                              "%s%s"
                              "EOF\n"
                              "%s\n"
                              "# or: %s",
                              conf, max ? "user.max_user_namespaces = " STRINGIFY(USERNS_MAX_DEFAULT) "\n" : "",
                              clone ? "kernel.unprivileged_userns_clone = 1\n" : "",
                              c->host->offline ? "# applied when that host boots" : "sudo sysctl --system", setup);
}

/* Why unshare(CLONE_NEWUSER) fails when the sysctls allow it, and what to do about it. */
static char *probe_failure_fix(const struct check_ctx *c, int error) {
        switch (error) {
        case ENOSPC:
                return sysctl_fix(c, true, false);
        case EINVAL:
        case ENOSYS:
                return strdup("boot a kernel built with CONFIG_USER_NS=y (every major distribution's stock kernel is)");
        case EUSERS:
                return strdup("run usernode outside the nested user namespaces it is in now "
                              "(the kernel allows 32 levels)");
        default:
                return strdup("run usernode on the host itself, not in a chroot, and not in a container whose seccomp "
                              "profile forbids unshare(CLONE_NEWUSER) "
                              "(docker/podman: --security-opt seccomp=unconfined)");
        }
}

static int check_userns_enabled(struct check_ctx *c, struct report *r) {
        const struct probes *p = probe_userns(c);
        _cleanup_free_ char *fix = NULL, *found = NULL;
        uint64_t max = 0, clone = 1;
        int kmax, kclone;
        bool bad_max, bad_clone;

        kmax = read_sysctl_u64(c->host, "/proc/sys/user/max_user_namespaces", &max);
        /* Debian before 11 and Ubuntu carry this knob; elsewhere it does not exist. */
        kclone = read_sysctl_u64(c->host, "/proc/sys/kernel/unprivileged_userns_clone", &clone);
        bad_max = kmax >= 0 && max == 0;
        bad_clone = kclone >= 0 && clone == 0;

        if (kmax >= 0 && kclone >= 0)
                found = xstrdup_printf("user.max_user_namespaces=%" PRIu64
                                       ", kernel.unprivileged_userns_clone=%" PRIu64,
                                       max, clone);
        else if (kmax >= 0)
                found = xstrdup_printf("user.max_user_namespaces=%" PRIu64, max);
        else
                found = xstrdup_printf("user.max_user_namespaces unreadable (%s)", strerror(-kmax));
        if (!found)
                return -ENOMEM;

        if (p->userns.state == PROBE_OK)
                return report_add(r, "userns.enabled", CHECK_PASS, NULL, "%s; probed: %s", found, p->userns.detail);
        if (p->userns.state == PROBE_FAILED) {
                fix = bad_max || bad_clone ? sysctl_fix(c, bad_max, bad_clone) : probe_failure_fix(c, p->userns.error);
                if (!fix)
                        return -ENOMEM;
                return report_add(r, "userns.enabled", CHECK_FAIL, fix, "%s; probed: %s", found, p->userns.detail);
        }

        /* Not probed (--root, --no-probes): the sysctls are all there is to go on. */
        if (bad_max || bad_clone) {
                fix = sysctl_fix(c, bad_max, bad_clone);
                if (!fix)
                        return -ENOMEM;
                return report_add(r, "userns.enabled", CHECK_FAIL, fix,
                                  "%s: unprivileged users cannot create user namespaces (not probed: %s)", found,
                                  p->userns.detail);
        }
        if (kmax == -ENOENT && !c->host->offline)
                return report_add(r, "userns.enabled", CHECK_FAIL,
                                  "boot a kernel built with CONFIG_USER_NS=y "
                                  "(every major distribution's stock kernel is)",
                                  "this kernel has no user namespaces (/proc/sys/user/max_user_namespaces is missing)");
        if (kmax < 0)
                return report_add(r, "userns.enabled", CHECK_WARN, NULL, "%s (not probed: %s)", found,
                                  p->userns.detail);
        return report_add(r, "userns.enabled", CHECK_PASS, NULL, "%s (not probed: %s)", found, p->userns.detail);
}

/* The profile by hand, then setup. Under --root the file goes into DIR and that host's AppArmor
 * loads it at boot: apparmor_parser here would load it into this host's kernel. */
static char *apparmor_fix(const struct check_ctx *c, const char *binary) {
        _cleanup_free_ char *profile = NULL, *path = apparmor_userns_profile_path(binary), *target = NULL;
        _cleanup_free_ char *setup = check_setup_command(c, NULL);
        struct un_error err = {};

        if (!setup)
                return NULL;
        if (!path)
                return TAKE_PTR(setup);
        if (apparmor_userns_profile_render(binary, &profile, &err) < 0)
                return xstrdup_printf("# the profile for %s cannot be shown (%s)\n%s", path, err.msg, setup);
        target = check_host_path(c, path);
        if (!target)
                return NULL;
        if (c->host->offline)
                return xstrdup_printf("sudo tee %s >/dev/null <<'EOF'\n%sEOF\n"
                                      "# that host's AppArmor loads it when it boots; on it now: sudo apparmor_parser -r %s\n"
                                      "# or: %s",
                                      target, profile, path, setup);
        return xstrdup_printf("sudo tee %s >/dev/null <<'EOF'\n%sEOF\n"
                              "sudo apparmor_parser -r %s\n"
                              "# or: %s",
                              target, profile, path, setup);
}

static int check_userns_apparmor(struct check_ctx *c, struct report *r) {
        const char *name = engine_needs(c->engine)->userns_binary;
        _cleanup_free_ char *found = NULL, *resolved = NULL, *fix = NULL;
        struct apparmor_match m = {};
        const char *candidates[2];
        unsigned unparsed = 0;
        uint64_t restrict_userns = 0;
        int k, loaded;

        k = read_sysctl_u64(c->host, "/proc/sys/kernel/apparmor_restrict_unprivileged_userns", &restrict_userns);
        if (k == -ENOENT)
                return report_add(r, "userns.apparmor", CHECK_PASS, NULL,
                                  "AppArmor does not restrict user namespaces here "
                                  "(kernel.apparmor_restrict_unprivileged_userns absent)");
        if (k < 0)
                return report_add(r, "userns.apparmor", CHECK_WARN, NULL,
                                  "cannot read kernel.apparmor_restrict_unprivileged_userns: %s", strerror(-k));
        if (restrict_userns == 0)
                return report_add(r, "userns.apparmor", CHECK_PASS, NULL,
                                  "kernel.apparmor_restrict_unprivileged_userns=0: user namespaces unrestricted");

        k = host_find_executable(c->host, name, &found);
        if (k == -ENOMEM)
                return k;
        if (k < 0) {
                /* Not installed yet: the fix is the profile for where the package puts it. */
                fix = apparmor_fix(c, "/usr/bin/rootlesskit");
                if (!fix)
                        return -ENOMEM;
                return report_add(r, "userns.apparmor", CHECK_FAIL, fix,
                                  "kernel.apparmor_restrict_unprivileged_userns=1 and %s is not installed: once it is, "
                                  "it needs an AppArmor profile that allows userns", name);
        }
        /* AppArmor attaches by the path the kernel resolved, so look through symlinks on a live host. */
        candidates[0] = found;
        candidates[1] = NULL;
        if (!c->host->offline) {
                resolved = realpath(found, NULL);
                if (resolved && strcmp(resolved, found) != 0)
                        candidates[1] = resolved;
        }
        for (size_t i = 0; i < ELEMENTSOF(candidates) && candidates[i]; i++) {
                k = apparmor_find_userns_profile(c->host, candidates[i], &m, &unparsed);
                if (k < 0 && k != -ENOENT)
                        return k == -ENOMEM ? k
                                            : report_add(r, "userns.apparmor", CHECK_WARN, NULL,
                                                         "cannot read /etc/apparmor.d: %s", strerror(-k));
                if (k > 0)
                        break;
        }
        if (k > 0) {
                loaded = c->host->offline ? -EOPNOTSUPP : apparmor_profile_loaded(c->host, m.profile);
                if (loaded == 0) {
                        fix = xstrdup_printf("sudo apparmor_parser -r %s", m.file);
                        k = fix ? report_add(r, "userns.apparmor", CHECK_FAIL, fix,
                                             "profile %s in %s allows userns for %s but is not loaded", m.profile,
                                             m.file, found)
                                : -ENOMEM;
                } else
                        k = report_add(r, "userns.apparmor", CHECK_PASS, NULL,
                                       "kernel.apparmor_restrict_unprivileged_userns=1; profile %s in %s allows userns "
                                       "for %s%s",
                                       m.profile, m.file, found, loaded > 0 ? " (loaded)" : "");
                apparmor_match_done(&m);
                return k;
        }
        fix = apparmor_fix(c, candidates[1] ? candidates[1] : found);
        if (!fix)
                return -ENOMEM;
        return report_add(r, "userns.apparmor", CHECK_FAIL, fix,
                          "kernel.apparmor_restrict_unprivileged_userns=1 and no profile in /etc/apparmor.d allows "
                          "userns for %s%s: it cannot create the node's user namespace%s",
                          found, candidates[1] ? " (or what it links to)" : "",
                          unparsed ? " (some profile files did not parse)" : "");
}

int check_userns(struct check_ctx *c, struct report *r) {
        int k;

        k = check_userns_enabled(c, r);
        if (k < 0)
                return k;
        return check_userns_apparmor(c, r);
}
