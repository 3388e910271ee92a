/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Whether a node carries its pods' traffic to other nodes' pods: a node in a cluster that other hosts' nodes are
 * in (it joined one, or brings one along that others can join) runs flannel's VXLAN inside its namespaces
 * (flanneld for a kubelet node, init/overlay.c; k3s's own for a k3s node, init/k3s.c), its UDP port published at
 * the node's address on this host. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "host.h"
#include "init.h"
#include "netlink.h"
#include "net.h"
#include "up.h"
#include "util.h"

/* The address other nodes reach this one at: a joined node's, or the published API server's. */
static const char *overlay_address(const struct up_options *o) {
        if (o->containerd_only)
                return NULL;
        if (o->server)
                return o->node_ip;
        return o->control_plane && up_cluster_joinable(o) ? o->apiserver_address : NULL;
}

int node_overlay_address(struct up_options *o, struct un_error *err) {
        const char *address = overlay_address(o);
        _cleanup_free_ char *flanneld = NULL;
        struct in_addr where = { .s_addr = htonl(INADDR_ANY) };
        uint16_t port;
        int r;

        o->overlay_address = NULL;
        if (!address)
                return 0;
        /* k3s runs the flannel built into it (-EOPNOTSUPP): nothing to find. */
        if (engine_find_overlay(host_live(), o->engine, &flanneld) == -ENOENT) {
                fprintf(stderr, "usernode up: warning: no flanneld on PATH: pods on this node will not reach pods on "
                                "other nodes, nor they these\n");
                return 0;
        }
        /* pasta's implicit forwarding publishes the port on every address of this host. */
        if (port_driver_explicit(o->port_driver) && inet_pton(AF_INET, address, &where) != 1)
                return un_error(err, EINVAL, "bad node address %s", address);
        r = net_port_free(SOCK_DGRAM, where, USERNODE_OVERLAY_PORT, &port);
        if (r == -EADDRINUSE)
                return un_error(err, EADDRINUSE, "UDP port %u on %s is taken (another node's pod network on this host?): "
                                "flannel's VXLAN takes the same port on every node of a cluster; run this node at "
                                "another address of this host (--node-ip, or --apiserver-address for a cluster of its own)",
                                USERNODE_OVERLAY_PORT, port_driver_explicit(o->port_driver) ? address : "0.0.0.0");
        if (r < 0)
                return un_error(err, -r, "cannot publish UDP port %u on %s", USERNODE_OVERLAY_PORT, address);
        o->overlay_address = address;
        return 0;
}
