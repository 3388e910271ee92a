/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "util.h"

/* Upstream's control plane, and Debian's etcd (etcd-server). */
static const char *const kubelet_control_plane[] = { "kube-apiserver", "kube-controller-manager", "kube-scheduler",
                                                     "etcd", NULL };

/* k3s server is its own control plane. */
static const char *const k3s_control_plane[] = { "k3s", NULL };

static const struct engine_needs engines[_ENGINE_MAX] = {
        /* k3s runs where the kubelet engine's daemons run, in usernode's rootlesskit (node/engine-k3s.c), not in the
         * rootlesskit `k3s --rootless` embeds: that one drives slirp4netns only, with its own fixed network in
         * v1.21, and its port controller publishes the API server on every address of the host. */
        [ENGINE_K3S] = {
                .name = "k3s",
                .userns_binary = "rootlesskit",
                .net_drivers = { NET_DRIVER_LXC_USER_NIC, NET_DRIVER_PASTA, NET_DRIVER_SLIRP4NETNS },
                .n_net_drivers = 3,
                .net_runner = "rootlesskit",
                .net_packages = "rootlesskit slirp4netns passt",
                .control_plane_binaries = k3s_control_plane,
        },
        [ENGINE_KUBELET] = {
                .name = "kubelet",
                .userns_binary = "rootlesskit",
                .net_drivers = { NET_DRIVER_LXC_USER_NIC, NET_DRIVER_PASTA, NET_DRIVER_SLIRP4NETNS },
                .n_net_drivers = 3,
                .net_runner = "rootlesskit",
                .net_packages = "rootlesskit slirp4netns passt",
                .control_plane_binaries = kubelet_control_plane,
                .overlay_binary = "flanneld",
        },
};

const struct engine_needs *engine_needs(enum engine e) {
        return (unsigned) e < _ENGINE_MAX ? &engines[e] : &engines[ENGINE_KUBELET];
}

const char *engine_to_string(enum engine e) {
        return engine_needs(e)->name;
}

int engine_from_string(const char *s, enum engine *ret) {
        for (enum engine e = 0; e < _ENGINE_MAX; e++)
                if (strcmp(s, engines[e].name) == 0) {
                        *ret = e;
                        return 0;
                }
        return -EINVAL;
}

bool engine_brings_control_plane(const struct host *h, enum engine e, const char **ret_missing) {
        const char *const *b = engine_needs(e)->control_plane_binaries;

        for (; b && *b; b++) {
                _cleanup_free_ char *path = NULL;

                if (host_find_executable(h, *b, &path) < 0) {
                        if (ret_missing)
                                *ret_missing = *b;
                        return false;
                }
        }
        return engine_needs(e)->control_plane_binaries != NULL;
}

int engine_find_overlay(const struct host *h, enum engine e, char **ret) {
        const char *b = engine_needs(e)->overlay_binary;

        if (!b)
                return -EOPNOTSUPP;
        return host_find_executable(h, b, ret) < 0 ? -ENOENT : 0;
}

enum engine engine_default(const struct host *h) {
        _cleanup_free_ char *k3s = NULL;

        return host_find_executable(h, "k3s", &k3s) >= 0 ? ENGINE_K3S : ENGINE_KUBELET;
}
