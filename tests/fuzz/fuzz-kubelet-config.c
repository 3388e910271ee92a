/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The cluster's kubelet-config, as a joined node takes it (the server chooses its content). */
#include "fuzz.h"
#include "init.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_text(data, size), *out = NULL;
        struct kubelet_params p = {
                .address = "/run/c.sock", .kubelet_dir = "/k", .cgroup_driver = "cgroupfs", .cluster_config = text,
                .client_ca_file = "/k/ca.crt", .pod_pids_limit = 4096, .port = 10250,
        };
        struct un_error err = {};

        if (kubelet_render_kubelet_config(&p, &out, &err) >= 0)
                free(out);
        free(text);
        return 0;
}
