/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sysctl.*: the kernel settings a rootless node depends on, live and as configured. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "sysctl.h"
#include "util.h"

/* NixOS: boot.kernel.sysctl, from "key=value" (a number bare, anything else a Nix string). */
static char *sysctl_hostconf_fix(const struct check_ctx *c, const char *setting) {
        _cleanup_free_ char *key = strndup(setting, strcspn(setting, "=")), *value = NULL;
        const char *v = strchr(setting, '=');

        if (!key || !v)
                return NULL;
        v++;
        value = v[0] && strspn(v, "0123456789") == strlen(v) ? strdup(v) : xstrdup_printf("\"%s\"", v);
        if (!value)
                return NULL;
        return check_hostconf_fix(c, HOSTCONF_SYSCTL, (const struct template_var[]) { { "key", key }, { "value", value } },
                                  2);
}

/* setup, or the line by hand: into the tree under --root, where that host applies it at boot. */
static char *sysctl_fix(const struct check_ctx *c, const char *setting, const char *setup_flags) {
        _cleanup_free_ char *setup = check_setup_command(c, setup_flags);
        _cleanup_free_ char *conf = check_host_path(c, "/etc/sysctl.d/50-usernode.conf");

        if (!setup || !conf)
                return NULL;
        if (c->hostconf)
                return sysctl_hostconf_fix(c, setting);
        if (c->host->offline)
                return xstrdup_printf("%s (or: echo '%s' | sudo tee -a %s   # applied when that host boots)", setup,
                                      setting, conf);
        return xstrdup_printf("%s (or: echo '%s' | sudo tee -a %s && sudo sysctl -p %s)", setup, setting, conf, conf);
}

char *check_sysctl_apply_fix(const struct check_ctx *c, const char *file) {
        if (c->host->offline)
                return xstrdup_printf("nothing to write: %s sets it and that host applies it when it boots (on it "
                                      "now: sudo sysctl --system)",
                                      file);
        return xstrdup_printf("sudo sysctl --system   # applies %s", file);
}

/* The running value fails, but the configuration already has a good one (setup, or the admin, did
 * their part): only applying it is left. Returns 1 with the fix and the file that sets it, 0 when
 * the configuration lacks it too. */
static int sysctl_configured(const struct check_ctx *c, const char *key, size_t n,
                             bool (*good)(const struct check_ctx *, const int64_t *), char **ret_fix,
                             char **ret_file) {
        _cleanup_free_ char *file = NULL;
        int64_t v[2];
        int k;

        k = sysctl_read_configured(c->host, key, v, n, &file);
        if (k <= 0 || !good(c, v))
                return k == -ENOMEM ? k : 0;
        *ret_fix = check_sysctl_apply_fix(c, file);
        if (!*ret_fix)
                return -ENOMEM;
        *ret_file = TAKE_PTR(file);
        return 1;
}

static bool ip_forward_good(const struct check_ctx *c, const int64_t *v) {
        (void) c;
        return v[0] == 1;
}

static int check_ip_forward(struct check_ctx *c, struct report *r) {
        _cleanup_free_ char *fix = NULL, *file = NULL;
        enum sysctl_source src;
        int64_t v;
        int k;

        k = sysctl_read(c->host, "net.ipv4.ip_forward", "0", &v, 1, &src);
        if (k < 0)
                return report_add(r, "sysctl.ip_forward", CHECK_WARN, NULL, "cannot read net.ipv4.ip_forward: %s",
                                  strerror(-k));
        if (ip_forward_good(c, &v))
                return report_add(r, "sysctl.ip_forward", CHECK_PASS, NULL, "net.ipv4.ip_forward = 1 (%s)",
                                  sysctl_source_to_string(src));
        k = src == SYSCTL_SOURCE_PROC ? sysctl_configured(c, "net.ipv4.ip_forward", 1, ip_forward_good, &fix, &file)
                                      : 0;
        if (k < 0)
                return k;
        if (k > 0)
                return report_add(r, "sysctl.ip_forward", CHECK_WARN, fix,
                                  "net.ipv4.ip_forward = %" PRId64 " (%s), though %s sets it to 1: not applied yet",
                                  v, sysctl_source_to_string(src), file);
        /* Routing for the whole host: setup changes it only when asked (--fast-net). */
        fix = sysctl_fix(c, "net.ipv4.ip_forward=1", " --fast-net");
        if (!fix)
                return -ENOMEM;
        return report_add(r, "sysctl.ip_forward", CHECK_WARN, fix,
                          "net.ipv4.ip_forward = %" PRId64 " (%s): slirp4netns and pasta do not need it, but the "
                          "lxc-user-nic veth path and routing between nodes do",
                          v, sysctl_source_to_string(src));
}

static bool ping_group_range_good(const struct check_ctx *c, const int64_t *v) {
        return v[0] <= (int64_t) c->user.gid && (int64_t) c->user.gid <= v[1];
}

/* Setup leaves this one to the admin: it opens ICMP sockets to every group on the host, a policy
 * choice rather than something the node needs to run (systemd upstream and Fedora make it, Debian
 * and Ubuntu do not). The fix is the admin's own file, which unsetup never touches. */
static char *ping_group_range_fix(const struct check_ctx *c) {
        _cleanup_free_ char *conf = check_host_path(c, "/etc/sysctl.d/60-ping-group-range.conf");

        if (!conf)
                return NULL;
        if (c->host->offline)
                return xstrdup_printf("echo 'net.ipv4.ping_group_range = 0 2147483647' | sudo tee %s   # applied "
                                      "when that host boots",
                                      conf);
        return xstrdup_printf("echo 'net.ipv4.ping_group_range = 0 2147483647' | sudo tee %s && sudo sysctl -p %s",
                              conf, conf);
}

static int check_ping_group_range(struct check_ctx *c, struct report *r) {
        _cleanup_free_ char *fix = NULL, *file = NULL;
        enum sysctl_source src;
        int64_t v[2];
        int k;

        k = sysctl_read(c->host, "net.ipv4.ping_group_range", "1\t0", v, 2, &src);
        if (k < 0)
                return report_add(r, "sysctl.ping_group_range", CHECK_WARN, NULL,
                                  "cannot read net.ipv4.ping_group_range: %s", strerror(-k));
        if (ping_group_range_good(c, v))
                return report_add(r, "sysctl.ping_group_range", CHECK_PASS, NULL,
                                  "net.ipv4.ping_group_range = %" PRId64 " %" PRId64 " (%s) covers GID %u",
                                  v[0], v[1], sysctl_source_to_string(src), (unsigned) c->user.gid);
        k = src == SYSCTL_SOURCE_PROC
                    ? sysctl_configured(c, "net.ipv4.ping_group_range", 2, ping_group_range_good, &fix, &file)
                    : 0;
        if (k < 0)
                return k;
        if (k > 0)
                return report_add(r, "sysctl.ping_group_range", CHECK_WARN, fix,
                                  "net.ipv4.ping_group_range = %" PRId64 " %" PRId64 " (%s), though %s covers %s's "
                                  "GID %u: not applied yet",
                                  v[0], v[1], sysctl_source_to_string(src), file, strna(c->user.name),
                                  (unsigned) c->user.gid);
        fix = ping_group_range_fix(c);
        if (!fix)
                return -ENOMEM;
        return report_add(r, "sysctl.ping_group_range", CHECK_WARN, fix,
                          "net.ipv4.ping_group_range = %" PRId64 " %" PRId64 " (%s) does not cover %s's GID %u: "
                          "no unprivileged ICMP (ping) from pods; a host-wide policy that usernode setup leaves to "
                          "the admin",
                          v[0], v[1], sysctl_source_to_string(src), strna(c->user.name), (unsigned) c->user.gid);
}

static bool unprivileged_port_start_good(const struct check_ctx *c, const int64_t *v) {
        (void) c;
        return v[0] <= 80;
}

static int check_unprivileged_port_start(struct check_ctx *c, struct report *r) {
        _cleanup_free_ char *fix = NULL, *file = NULL;
        enum sysctl_source src;
        int64_t v;
        int k;

        k = sysctl_read(c->host, "net.ipv4.ip_unprivileged_port_start", "1024", &v, 1, &src);
        if (k == -ENOENT)
                return report_add(r, "sysctl.unprivileged_port_start", CHECK_WARN, NULL,
                                  "this kernel has no net.ipv4.ip_unprivileged_port_start (before 4.11): "
                                  "no host ports below 1024 for a rootless node");
        if (k < 0)
                return report_add(r, "sysctl.unprivileged_port_start", CHECK_WARN, NULL,
                                  "cannot read net.ipv4.ip_unprivileged_port_start: %s", strerror(-k));
        if (unprivileged_port_start_good(c, &v))
                return report_add(r, "sysctl.unprivileged_port_start", CHECK_PASS, NULL,
                                  "net.ipv4.ip_unprivileged_port_start = %" PRId64 " (%s): ports 80 and 443 can be published",
                                  v, sysctl_source_to_string(src));
        k = src == SYSCTL_SOURCE_PROC ? sysctl_configured(c, "net.ipv4.ip_unprivileged_port_start", 1,
                                                          unprivileged_port_start_good, &fix, &file)
                                      : 0;
        if (k < 0)
                return k;
        if (k > 0)
                return report_add(r, "sysctl.unprivileged_port_start", CHECK_WARN, fix,
                                  "net.ipv4.ip_unprivileged_port_start = %" PRId64 " (%s), though %s lowers it: not "
                                  "applied yet",
                                  v, sysctl_source_to_string(src), file);
        fix = sysctl_fix(c, "net.ipv4.ip_unprivileged_port_start=0", " --privileged-ports");
        if (!fix)
                return -ENOMEM;
        return report_add(r, "sysctl.unprivileged_port_start", CHECK_WARN, fix,
                          "net.ipv4.ip_unprivileged_port_start = %" PRId64 " (%s): no host ports below %" PRId64
                          " (a LoadBalancer on 80/443 cannot be published)",
                          v, sysctl_source_to_string(src), v);
}

static int check_rp_filter(struct check_ctx *c, struct report *r) {
        _cleanup_free_ char *fix = NULL, *conf = NULL;
        enum sysctl_source s_all, s_def;
        int64_t all, def;
        int k;

        k = sysctl_read(c->host, "net.ipv4.conf.all.rp_filter", "0", &all, 1, &s_all);
        if (k >= 0)
                k = sysctl_read(c->host, "net.ipv4.conf.default.rp_filter", "0", &def, 1, &s_def);
        if (k < 0)
                return report_add(r, "sysctl.rp_filter", CHECK_WARN, NULL, "cannot read net.ipv4.conf.*.rp_filter: %s",
                                  strerror(-k));
        if (all != 1 && def != 1)
                return report_add(r, "sysctl.rp_filter", CHECK_PASS, NULL,
                                  "net.ipv4.conf.all.rp_filter = %" PRId64 ", default = %" PRId64 " (%s): not strict",
                                  all, def, sysctl_source_to_string(s_all));
        /* A file of the admin's own: setup never writes this one, and unsetup must find its file as it left it. */
        conf = check_host_path(c, "/etc/sysctl.d/60-rp-filter.conf");
        fix = !conf ? NULL
              : c->host->offline
                      ? xstrdup_printf("printf 'net.ipv4.conf.all.rp_filter=2\\nnet.ipv4.conf.default.rp_filter=2\\n' | "
                                       "sudo tee %s   # applied when that host boots",
                                       conf)
                      : xstrdup_printf("printf 'net.ipv4.conf.all.rp_filter=2\\nnet.ipv4.conf.default.rp_filter=2\\n' | "
                                       "sudo tee %s && sudo sysctl -p %s",
                                       conf, conf);
        if (!fix)
                return -ENOMEM;
        return report_add(r, "sysctl.rp_filter", CHECK_WARN, fix,
                          "net.ipv4.conf.all.rp_filter = %" PRId64 ", default = %" PRId64 " (%s): strict reverse-path "
                          "filtering drops overlay (VXLAN) traffic between nodes",
                          all, def, sysctl_source_to_string(s_all));
}

int check_sysctl(struct check_ctx *c, struct report *r) {
        int k;

        k = check_ip_forward(c, r);
        if (k >= 0)
                k = check_ping_group_range(c, r);
        if (k >= 0)
                k = check_unprivileged_port_start(c, r);
        if (k >= 0)
                k = check_rp_filter(c, r);
        return k;
}
