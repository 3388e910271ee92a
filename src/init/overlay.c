/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The pod network between nodes: flannel's vxlan backend (the overlay usernetes runs and k3s embeds), run
 * inside the node's namespaces with the node's own credentials. flanneld reads the Node's pod CIDR, puts its
 * VXLAN endpoint (flannel.1's MAC) and the node's address on this host (where its UDP port is published) in
 * the Node's annotations, and watches the other Nodes': for each, a route to its pod CIDR through flannel.1
 * and the forwarding entry that sends it to that node's address. It masquerades what leaves the cluster
 * network and nothing inside it, so a pod on another node sees the sender's own address. */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "init.h"
#include "log.h"
#include "netlink.h"
#include "nodeapi.h"
#include "util.h"

/* flanneld sets up its device and the routes to the nodes it knows within a second or two; one that cannot
 * reach the API server logs and retries. */
#define OVERLAY_READY_MS 60000u
#define OVERLAY_POLL_MS 100

static char *flannel_path(struct init *in, const char *name) {
        return xstrdup_printf("%s/flannel/%s", in->runtime_dir, name);
}

int init_start_flannel(struct init *in, struct un_error *err) {
        _cleanup_free_ char *dir = xstrdup_printf("%s/flannel", in->runtime_dir);
        _cleanup_free_ char *conf = flannel_path(in, "net-conf.json"), *subnet = flannel_path(in, "subnet.env");
        _cleanup_free_ char *text = NULL, *a_kubeconfig = NULL, *a_conf = NULL, *a_subnet = NULL, *a_ip = NULL,
                            *e_node = NULL, *a_iface = NULL;
        char address[INET_ADDRSTRLEN];

        /* Where the VXLAN packets leave the node (flanneld would look for the interface holding --public-ip, an
         * address of the host only). */
        init_node_address(address);
        if (!dir || !conf || !subnet)
                return un_error(err, ENOMEM, "flanneld");
        if (init_mkdir_p(dir) < 0)
                return un_error(err, errno, "cannot create %s", dir);
        /* The cluster network as this node knows it; VNI 1 and port 8472, flannel's defaults. */
        text = xstrdup_printf("{\"Network\": \"%s\", \"Backend\": {\"Type\": \"vxlan\", \"VNI\": 1, \"Port\": %u}}\n",
                              in->pod_cidr, USERNODE_OVERLAY_PORT);
        a_kubeconfig = xstrdup_printf("--kubeconfig-file=%s/%s", in->data_dir, NODE_KUBELET_KUBECONFIG);
        a_conf = xstrdup_printf("--net-config-path=%s", conf);
        a_subnet = xstrdup_printf("--subnet-file=%s", subnet);
        a_ip = xstrdup_printf("--public-ip=%s", in->overlay_address);
        a_iface = xstrdup_printf("--iface=%s", address);
        e_node = xstrdup_printf("NODE_NAME=%s", in->name);
        if (!text || !a_kubeconfig || !a_conf || !a_subnet || !a_ip || !a_iface || !e_node)
                return un_error(err, ENOMEM, "flanneld");
        if (init_write_file(conf, text, err) < 0)
                return -EIO;
        /* Its subnet file says it is done: not one of an earlier run. */
        if (unlink(subnet) < 0 && errno != ENOENT)
                return un_error(err, errno, "cannot remove %s", subnet);
        char *argv[] = { in->flannel_bin, (char *) "--kube-subnet-mgr", a_kubeconfig, a_conf, a_subnet, a_ip, a_iface,
                         (char *) "--ip-masq", NULL };
        char *env[] = { e_node, NULL };
        return init_spawn_logged(in, "flannel.log", argv, env, &in->flannel, err);
}

static void stage_not_ready(struct init *in, const char *what) {
        _cleanup_free_ char *log = xstrdup_printf("%s/flannel.log", in->runtime_dir);
        _cleanup_free_ char *last = log ? log_last_match(log, init_error_line, 300) : NULL;

        init_stage(in, "error %s%s%s; see %s/flannel.log", what, last ? ": " : "", last ? last : "", in->runtime_dir);
}

int init_run_overlay(struct init *in) {
        _cleanup_free_ char *subnet = flannel_path(in, "subnet.env");
        struct un_error err = {};
        uint64_t start = now_usec();
        int r;

        if (!in->overlay_address)
                return 0;
        in->flannel_bin = init_find_binary("flanneld");
        if (!in->flannel_bin || !subnet) {
                init_stage(in, "error no flanneld on PATH in the node: pods here cannot reach other nodes' pods");
                return -ENOENT;
        }
        r = init_start_flannel(in, &err);
        if (r < 0) {
                init_stage(in, "error %s", err.msg);
                return r;
        }
        init_stage(in, "pid flanneld %d", (int) in->flannel.pid);
        while (access(subnet, F_OK) < 0) {
                if (now_usec() - start > OVERLAY_READY_MS * 1000ull) {
                        stage_not_ready(in, "flanneld set up no pod network to the other nodes in time");
                        return -ETIME;
                }
                /* flanneld's death is staged there, with its exit status. */
                r = init_idle_for(in, OVERLAY_POLL_MS);
                if (r < 0)
                        return r;
        }
        fprintf(stderr, "usernode-init: flanneld carries pod traffic to the other nodes (%s:%u/udp)\n",
                in->overlay_address, USERNODE_OVERLAY_PORT);
        return init_overlay_guard_start(in);
}

#define GUARD_CHAIN "USERNODE-VXLAN"
#define FLANNEL_DEVICE "flannel.1"

/* The chain's rules for the senders now allowed, as iptables-restore --noflush replaces that chain whole: no moment
 * without the rule that drops the others. */
static int guard_write(struct init *in, char *const *allowed, const char *path, struct un_error *err) {
        struct buf b = {};
        _cleanup_free_ char *text = NULL;
        int r = buf_puts(&b, "*filter\n:" GUARD_CHAIN " - [0:0]\n");

        for (char *const *a = allowed; r >= 0 && a && *a; a++)
                r = buf_printf(&b, "-A " GUARD_CHAIN " -s %s/32 -m comment --comment \"usernode: a node of the cluster\" -j RETURN\n", *a);
        if (r >= 0)
                r = buf_puts(&b, "-A " GUARD_CHAIN " -m comment --comment \"usernode: VXLAN from no node of the cluster\" -j DROP\nCOMMIT\n");
        text = buf_steal(&b);
        if (r < 0 || !text)
                return un_error(err, ENOMEM, "VXLAN guard");
        return init_write_file(path, text, err);
}

void init_overlay_guard_refresh(struct init *in) {
        _cleanup_free_ char *rules = flannel_path(in, "guard.rules");
        _cleanup_strv_free_ char **now = NULL;
        struct un_error err = {};
        bool same = true;
        int r;

        in->overlay_changed = false;
        /* The events are drained; the table is read whole. */
        for (char buf[4096]; read(in->overlay_watch_fd, buf, sizeof buf) > 0;)
                ;
        r = netlink_fdb_destinations(FLANNEL_DEVICE, &now);
        if (r < 0) {
                fprintf(stderr, "usernode-init: cannot read %s's forwarding entries: %s\n", FLANNEL_DEVICE, strerror(-r));
                return;
        }
        for (size_t i = 0; same && (i < strv_length(now) || i < strv_length(in->overlay_allowed)); i++)
                same = i < strv_length(now) && i < strv_length(in->overlay_allowed) &&
                       strcmp(now[i], in->overlay_allowed[i]) == 0;
        if (same && in->overlay_guard_set)
                return;
        r = rules ? guard_write(in, now, rules, &err) : un_error(&err, ENOMEM, "VXLAN guard");
        if (r >= 0)
                r = init_run_tool(in, "iptables-restore", (char *const[]) { "-w", "--noflush", rules, NULL }, &err);
        if (r < 0) {
                fprintf(stderr, "usernode-init: cannot set which nodes the VXLAN port takes: %s\n", err.msg);
                return;
        }
        fprintf(stderr, "usernode-init: the VXLAN port takes packets from %zu node(s)\n", strv_length(now));
        strv_free(in->overlay_allowed);
        in->overlay_allowed = TAKE_PTR(now);
        in->overlay_guard_set = true;
}

int init_overlay_guard_start(struct init *in) {
        char port[8];
        struct un_error err = {};
        int r;

        if (!in->overlay_guard)
                return 0;
        snprintf(port, sizeof port, "%u", USERNODE_OVERLAY_PORT);
        in->overlay_watch_fd = netlink_neigh_watch_open();
        if (in->overlay_watch_fd < 0) {
                init_stage(in, "error cannot follow the VXLAN device's entries: %s", strerror(-in->overlay_watch_fd));
                return in->overlay_watch_fd;
        }
        r = init_run_tool(in, "iptables", (char *const[]) { "-w", "-N", GUARD_CHAIN, NULL }, &err);
        if (r >= 0)
                r = init_run_tool(in, "iptables", (char *const[]) { "-w", "-I", "INPUT", "-p", "udp", "--dport", port, "-j",
                                                                    GUARD_CHAIN, NULL }, &err);
        if (r < 0) {
                init_stage(in, "error cannot restrict the VXLAN port to the cluster's nodes: %s", err.msg);
                return r;
        }
        init_overlay_guard_refresh(in);
        if (!in->overlay_guard_set) {
                init_stage(in, "error cannot restrict the VXLAN port to the cluster's nodes; see %s/node.log", in->runtime_dir);
                return -EIO;
        }
        return 0;
}
