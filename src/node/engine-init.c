/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The command of both engines: rootlesskit with usernode's network driver and port driver, and inside it
 * usernode's own init (src/init/), which mounts what the node needs and runs its daemons — containerd, the
 * kubelet and what a cluster needs (kubelet engine), or k3s (k3s engine) — reporting each stage to the supervisor
 * through the stage pipe. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "host.h"
#include "init.h"
#include "rm-rf.h"
#include "rootlesskit.h"
#include "up.h"
#include "util.h"

static int push_pair(char ***argv, const char *opt, const char *value) {
        int r = strv_push(argv, opt);

        return r < 0 ? r : strv_push(argv, value);
}

int node_init_command(const struct node *n, const struct up_options *o, char ***ret_argv, char ***ret_env,
                      struct un_error *err) {
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *state = node_runtime_path(n, "rootlesskit"), *resolv = NULL, *images = NULL;
        struct rootlesskit_config c = {
                .port_driver = o->port_driver, .mtu = UP_MTU, .state_dir = state, .ipv6 = o->enable_ipv6,
                /* The node's processes into a leaf of its cgroup, a fresh cgroup2 mount inside. */
                .evacuate_cgroup2 = n->cgroup ? NODE_CGROUP_EVACUATE : NULL,
        };
        const struct host *h = host_live();
        struct up_cidrs nets;
        char mtu[16], pids[24], port[8], workers[16];
        int r;

        if (!state)
                return un_error(err, ENOMEM, "node command");
        r = net_driver_pick(o->net, o->port_driver, &c.net, err);
        if (r < 0)
                return r;
        {
                /* A node that joined takes the cluster's pod network, as the cluster said at the join. */
                struct up_options known = *o;
                char pod_network[48];

                if (node_join_pod_network(n, o, pod_network) > 0)
                        known.cluster_cidr = pod_network;
                r = up_pick_cidrs(&known, &nets, err);
        }
        if (r < 0)
                return r;
        /* lxc-user-nic takes its address from DHCP on the bridge; --cidr is slirp's network. */
        if (strcmp(c.net->name, "lxc-user-nic") != 0)
                c.cidr = nets.slirp;
        c.mtu = c.net->mtu();
        c.subid_static = rootlesskit_subids_static(h);
        r = node_resolv_conf_file(n, o, &resolv, err);
        if (r < 0)
                return r;
        /* rootlesskit refuses a state dir left by a run that was killed. */
        if (!o->dry_run)
                (void) rm_rf(state);
        r = rootlesskit_argv(&c, &argv);
        if (r < 0)
                return un_error(err, -r, "rootlesskit arguments");
        snprintf(mtu, sizeof mtu, "%u", c.mtu);
        const char *const init[] = { o->self, "__node-init", "--engine", engine_to_string(o->engine),
                                     "--name", n->name, "--runtime-dir", n->runtime_dir,
                                     "--data-dir", n->data_dir, "--pod-cidr", nets.cluster, "--mtu", mtu };
        for (size_t i = 0; i < ELEMENTSOF(init); i++)
                if (strv_push(&argv, init[i]) < 0)
                        return un_error(err, ENOMEM, "node command");
        snprintf(pids, sizeof pids, "%" PRId64, o->pod_pids_limit);
        snprintf(port, sizeof port, "%u", (unsigned) o->kubelet_port);
        if ((resolv && push_pair(&argv, "--resolv-conf", resolv) < 0) ||
            push_pair(&argv, "--pod-pids-limit", pids) < 0 ||
            (o->server && push_pair(&argv, "--server", o->server) < 0) ||
            /* A joined kubelet's address and published port (node_join_address; k3s's agent finds its own). */
            (o->server && o->node_ip &&
             (push_pair(&argv, "--node-ip", o->node_ip) < 0 || push_pair(&argv, "--kubelet-port", port) < 0)))
                return un_error(err, ENOMEM, "node command");
        if (o->control_plane && (strv_push(&argv, "--control-plane") < 0 ||
                                 push_pair(&argv, "--service-cidr", nets.service) < 0))
                return un_error(err, ENOMEM, "node command");
        if (o->control_plane && up_cluster_joinable(o)) {
                _cleanup_free_ char *url = xstrdup_printf("https://%s:%u", up_apiserver_address(o),
                                                          (unsigned) o->apiserver_port);

                if (!url || push_pair(&argv, "--apiserver-url", url) < 0)
                        return un_error(err, ENOMEM, "node command");
        }
        if (o->workers) {
                snprintf(workers, sizeof workers, "%u", o->workers);
                if (push_pair(&argv, "--workers", workers) < 0 || push_pair(&argv, "--workers-cidr", nets.workers) < 0)
                        return un_error(err, ENOMEM, "node command");
        }
        if (o->overlay_address && push_pair(&argv, "--overlay-address", o->overlay_address) < 0)
                return un_error(err, ENOMEM, "node command");
        /* Where the senders' addresses reach the node, its VXLAN port takes the cluster's nodes only (flanneld's
         * forwarding entries tell which: the kubelet engine's). */
        if (o->overlay_address && o->engine == ENGINE_KUBELET && port_driver_keeps_source(o->port_driver) &&
            strv_push(&argv, "--overlay-guard") < 0)
                return un_error(err, ENOMEM, "node command");
        if (o->containerd_only && strv_push(&argv, "--containerd-only") < 0)
                return un_error(err, ENOMEM, "node command");
        images = node_images_dir();
        if (images && access(images, F_OK) == 0 && push_pair(&argv, "--images-dir", images) < 0)
                return un_error(err, ENOMEM, "node command");
        *ret_argv = TAKE_PTR(argv);
        *ret_env = NULL;
        return 0;
}

