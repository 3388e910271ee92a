/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The kubelet engine (usernetes-style): the init runs containerd, the kubelet, kube-proxy and, for a node that
 * joins no cluster, upstream's control plane (src/init/). */
#include "config.h"

#include "up.h"

const struct node_engine engine_kubelet = {
        .id = ENGINE_KUBELET,
        .name = "kubelet",
        .command = node_init_command,
};
