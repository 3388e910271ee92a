/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>

#include "rules.h"

#define U FEATURE_UNAVAILABLE
#define D FEATURE_DEGRADED
#define A FEATURE_AVAILABLE

/* What a check that did not pass does to a feature: on_fail when it failed, on_warn when it
 * warned. Skipped checks (unknown, e.g. probes under --root) do not change a feature. A need
 * on REASON_ROOTLESS always applies its on_fail: it is a limit of rootless mode itself. */
struct need {
        const char *check;
        enum feature_status on_fail, on_warn;
};

struct feature_rule {
        const char *id;
        struct need needs[16];
};

static const struct feature_rule rules[] = {
        { "pods", {
                { "userns.enabled", U, D }, { "userns.apparmor", U, D }, { "subid.uid", U, D },
                { "subid.gid", U, D }, { "subid.tools", U, D }, { "net.tun", U, D }, { "net.driver", U, A },
                { "engine.k3s", U, A }, { "engine.kubelet", U, A }, { "fs.overlay", D, A },
                { "limits.nofile", D, A }, { "cgroup.v2", D, A } } },
        { "limits.cpu", { { "cgroup.v2", U, U }, { "cgroup.controller.cpu", U, U } } },
        { "limits.memory", { { "cgroup.v2", U, U }, { "cgroup.controller.memory", U, U } } },
        { "limits.pids", { { "cgroup.v2", U, U }, { "cgroup.controller.pids", U, U } } },
        { "limits.io", { { "cgroup.v2", U, U }, { "cgroup.controller.io", U, U } } },
        { "limits.cpuset", { { "cgroup.v2", U, U }, { "cgroup.controller.cpuset", U, U } } },
        { "limits.hugepages", { { "cgroup.v2", U, U }, { "cgroup.controller.hugetlb", U, U } } },
        { "limits.swap", { { "cgroup.v2", U, U }, { "cgroup.controller.memory", U, U }, { "memory.swap", U, U } } },
        { "ports.privileged", { { "sysctl.unprivileged_port_start", U, U } } },
        { "service.nodeport", {
                { "net.driver", U, A }, { "kmod.iptable_nat", D, D }, { "kmod.br_netfilter", D, D },
                { REASON_ROOTLESS, D, D } } },
        { "service.loadbalancer", {
                { "net.driver", U, A }, { "sysctl.unprivileged_port_start", D, D }, { "kmod.iptable_nat", D, D } } },
        { "network.source-ip", { { "net.driver", U, A }, { "net.source-ip", U, D } } },
        { "network.host-loopback", { { "net.driver", U, A }, { REASON_ROOTLESS, D, D } } },
        { "network.ipv6", { { "net.driver", U, A }, { "net.ipv6", U, U } } },
        { "network.multi-node", {
                { "net.driver", U, A }, { "kmod.vxlan", U, U }, { "sysctl.rp_filter", D, D },
                { "sysctl.ip_forward", U, D }, { "engine.overlay", U, U } } },
        { "network.icmp", { { "sysctl.ping_group_range", U, U } } },
        { "storage.overlayfs", { { "fs.overlay", U, D } } },
        { "storage.block-volumes", { { REASON_ROOTLESS, U, U } } },
        { "pods.privileged", { { REASON_ROOTLESS, D, D } } },
        { "pods.host-network", { { REASON_ROOTLESS, D, D } } },
        { "pods.sysctls", { { REASON_ROOTLESS, D, D } } },
        { "security.apparmor", { { REASON_ROOTLESS, U, U } } },
        { "security.selinux", { { REASON_ROOTLESS, D, D } } },
        { "events.oom", { { "cgroup.v2", U, U }, { "cgroup.controller.memory", U, U } } },
        { "storage.ephemeral-isolation", { { REASON_ROOTLESS, U, U } } },
        { "devices", { { REASON_ROOTLESS, D, D } } },
};

size_t rules_count(void) {
        return ELEMENTSOF(rules);
}

const char *rules_feature_id(size_t i) {
        return i < ELEMENTSOF(rules) ? rules[i].id : NULL;
}

const char *const *rules_check_ids(void) {
        static const char *ids[128];

        if (!ids[0]) {
                size_t n = 0;

                for (size_t i = 0; i < ELEMENTSOF(rules); i++)
                        for (const struct need *nd = rules[i].needs; nd->check; nd++) {
                                bool seen = strcmp(nd->check, REASON_ROOTLESS) == 0;

                                for (size_t j = 0; j < n && !seen; j++)
                                        seen = strcmp(ids[j], nd->check) == 0;
                                if (!seen && n + 1 < ELEMENTSOF(ids))
                                        ids[n++] = nd->check;
                        }
        }
        return ids;
}

int rules_evaluate(const struct report *r, struct feature_result *ret) {
        for (size_t i = 0; i < ELEMENTSOF(rules); i++) {
                struct feature_result *f = &ret[i];
                size_t n = 0;

                *f = (struct feature_result) { .id = rules[i].id, .status = A };
                for (const struct need *nd = rules[i].needs; nd->check; nd++) {
                        enum feature_status effect = A;

                        if (strcmp(nd->check, REASON_ROOTLESS) == 0)
                                effect = nd->on_fail;
                        else {
                                const struct check_result *c = report_find(r, nd->check);

                                if (c && c->status == CHECK_FAIL)
                                        effect = nd->on_fail;
                                else if (c && c->status == CHECK_WARN)
                                        effect = nd->on_warn;
                        }
                        if (effect == A)
                                continue;
                        if (effect > f->status)
                                f->status = effect;
                        if (n + 1 < ELEMENTSOF(f->reason))
                                f->reason[n++] = nd->check;
                }
        }
        return 0;
}

const char *feature_status_to_string(enum feature_status s) {
        switch (s) {
        case FEATURE_AVAILABLE:
                return "available";
        case FEATURE_DEGRADED:
                return "degraded";
        default:
                return "unavailable";
        }
}
