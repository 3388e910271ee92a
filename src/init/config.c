/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The files the init writes for the node: containerd's config, the CNI config of the pod network, a joined
 * node's pod CIDR kept for its next start; and the feature labels `up` wrote for it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host.h"
#include "init.h"
#include "podlimits.h"
#include "netlink.h"
#include "rm-rf.h"
#include "template.h"
#include "util.h"

int init_write_cni(struct init *in, const char *pod_cidr, struct un_error *err) {
        _cleanup_free_ char *conflist = NULL, *loopback = NULL;
        struct kubelet_params p = in->params;
        int r;

        p.pod_cidr = pod_cidr;
        r = kubelet_render_cni(&p, &conflist, &loopback, err);
        if (r >= 0)
                r = init_write_file(INIT_CNI_CONF_DIR "/99-loopback.conf", loopback, err);
        /* containerd watches the directory: the bridge's file last, complete. */
        if (r >= 0)
                r = init_write_file(INIT_CNI_CONF_DIR "/10-usernode.conflist", conflist, err);
        if (r >= 0) {
                fprintf(stderr, "usernode-init: pods get addresses from %s\n", pod_cidr);
                snprintf(in->cni_cidr, sizeof in->cni_cidr, "%s", pod_cidr);
        }
        return r;
}

/* A joined node's pod CIDR, kept from its Node's spec.podCIDR (POD_CIDR_FILE): on the next start the pod network
 * is there before the kubelet's first status, which is then Ready. */
void init_pod_cidr_save(struct init *in, const char *cidr) {
        _cleanup_free_ char *path = xstrdup_printf("%s/%s", in->data_dir, POD_CIDR_FILE);
        _cleanup_free_ char *text = xstrdup_printf("%s\n", cidr);
        struct un_error err = {};

        if (path && text && init_write_file(path, text, &err) < 0)
                fprintf(stderr, "usernode-init: %s\n", err.msg);
}

static char *pod_cidr_load(struct init *in) {
        _cleanup_free_ char *path = xstrdup_printf("%s/%s", in->data_dir, POD_CIDR_FILE);
        const struct host *h = host_live();
        char *line = NULL;

        if (!path)
                return NULL;
        if (host_read_line(h, path, &line) < 0 || !net_cidr_ipv4_valid(line)) {
                free(line);
                line = NULL;
        }
        return line;
}

/* Where containerd and the kubelet keep their state, which runtime and snapshotter containerd uses. */
static int set_params(struct init *in) {
        in->containerd_root = xstrdup_printf("%s/containerd", in->data_dir);
        in->containerd_state = xstrdup_printf("%s/containerd/state", in->runtime_dir);
        in->containerd_address = xstrdup_printf("%s/containerd/containerd.sock", in->runtime_dir);
        in->containerd_config = xstrdup_printf("%s/containerd/config.toml", in->runtime_dir);
        in->containerd_opt = xstrdup_printf("%s/containerd/opt", in->data_dir);
        in->kubelet_dir = xstrdup_printf("%s/kubelet", in->data_dir);
        /* Without a cluster, the kubelet's pods are static ones, from manifests the user writes. */
        in->static_pod_dir = in->server ? NULL : xstrdup_printf("%s/" NODE_STATIC_PODS, in->data_dir);
        in->crun = init_find_binary("crun");
        in->runc = init_find_binary("runc");
        if (!in->containerd_root || !in->containerd_state || !in->containerd_address || !in->containerd_config ||
            !in->containerd_opt || !in->kubelet_dir || (!in->server && !in->static_pod_dir))
                return -ENOMEM;
        in->params = (struct kubelet_params) {
                .root = in->containerd_root, .state = in->containerd_state, .address = in->containerd_address,
                .opt_dir = in->containerd_opt, .kubelet_dir = in->kubelet_dir,
                .snapshotter = init_probe_snapshotter(in), .cni_bin_dir = INIT_CNI_BIN_DIR,
                .cni_conf_dir = INIT_CNI_CONF_DIR, .pod_cidr = in->pod_cidr,
                /* Pods' packets to other nodes fit flannel.1 with its encapsulation. */
                .mtu = in->overlay_address ? in->mtu - USERNODE_OVERLAY_OVERHEAD : in->mtu,
                .overlay = in->overlay_address || in->routed_pod_network,
                .crun_binary = in->crun ? in->crun : "crun", .runc_binary = in->runc ? in->runc : "runc",
                .runtime = in->crun ? "crun" : "runc", .disable_cgroup = !init_cgroup_delegated(),
                .cgroup_driver = "cgroupfs", .sandbox_image = in->sandbox_image,
                .static_pod_dir = in->static_pod_dir,
        };
        return 0;
}

/* The node's directories, clean of what an earlier run left. */
static int prepare_dirs(struct init *in) {
        struct stat st;

        /* The node's CNI config is its own: replace copy-up's link to the host's /etc/cni (if any). */
        if (lstat("/etc/cni", &st) == 0 && S_ISLNK(st.st_mode) && unlink("/etc/cni") < 0) {
                init_stage(in, "error cannot replace /etc/cni in the node: %s", strerror(errno));
                return -errno;
        }
        /* containerd keeps task state that a killed run leaves behind: start clean. */
        (void) rm_rf(in->params.state);
        if (init_mkdir_p(in->params.root) < 0 || init_mkdir_p(in->params.state) < 0 ||
            init_mkdir_p(INIT_CNI_CONF_DIR) < 0 || init_mkdir_p(in->params.kubelet_dir) < 0 ||
            (in->static_pod_dir && init_mkdir_p(in->static_pod_dir) < 0)) {
                init_stage(in, "error cannot create the node's directories: %s", strerror(errno));
                return -errno;
        }
        /* Leftovers of an earlier run: a joined node's pod network comes from its Node object. */
        (void) unlink(INIT_CNI_CONF_DIR "/10-usernode.conflist");
        return 0;
}

int init_install_config(struct init *in) {
        struct un_error err = {};
        _cleanup_free_ char *text = NULL;
        int r;

        r = set_params(in);
        if (r < 0) {
                init_stage(in, "error out of memory");
                return r;
        }
        r = prepare_dirs(in);
        if (r < 0)
                return r;
        r = kubelet_render_containerd_config(&in->params, &text, &err);
        if (r >= 0)
                r = init_write_file(in->containerd_config, text, &err);
        if (r >= 0 && !in->server)
                r = init_write_cni(in, in->pod_cidr, &err);
        if (r >= 0 && in->server) {
                _cleanup_free_ char *known = pod_cidr_load(in);

                if (known)
                        r = init_write_cni(in, known, &err);
        }
        if (r < 0)
                init_stage(in, "error %s", err.msg);
        return r;
}

int init_read_features(struct init *in, char ***ret) {
        _cleanup_free_ char *path = xstrdup_printf("%s/features", in->runtime_dir), *text = NULL;
        const struct host *h = host_live();
        int r;

        if (!path)
                return -ENOMEM;
        r = host_read_file(h, path, 64 * 1024, &text, NULL);
        if (r < 0)
                return r;
        r = strv_split(text, "\n", ret);
        /* What the host could enforce, this node cannot without cgroups of its own (a worker whose cgroup is not
         * delegated): its labels, and the pods that set limits, are told so. */
        if (r >= 0 && in->params.disable_cgroup && pod_limits_labels_without_cgroups(*ret) < 0) {
                strv_free(*ret);
                *ret = NULL;
                return -ENOMEM;
        }
        return r;
}

int kubelet_render_containerd_config(const struct kubelet_params *p, char **ret, struct un_error *err) {
        const struct template_var vars[] = {
                { "root", p->root },
                { "state", p->state },
                { "address", p->address },
                { "snapshotter", p->snapshotter },
                { "runtime", p->runtime },
                { "crun_binary", p->crun_binary },
                { "runc_binary", p->runc_binary },
                { "disable_cgroup", p->disable_cgroup ? "true" : "false" },
                { "cni_bin_dir", p->cni_bin_dir },
                { "cni_conf_dir", p->cni_conf_dir },
                { "opt_dir", p->opt_dir },
                { "sandbox_image", p->sandbox_image },
        };

        return template_load_render("containerd-config.toml.in", vars, ELEMENTSOF(vars), ret, err);
}

int kubelet_render_cni(const struct kubelet_params *p, char **ret_conflist, char **ret_loopback,
                       struct un_error *err) {
        char mtu[16];
        /* Without an overlay, what leaves the node's pod network is masqueraded by the bridge; with one, flannel
         * masquerades only what leaves the cluster network, so pods on other nodes see the sender's own address. */
        const struct template_var vars[] = { { "pod_cidr", p->pod_cidr }, { "mtu", mtu },
                                             { "ip_masq", p->overlay ? "false" : "true" } };
        int r;

        snprintf(mtu, sizeof mtu, "%u", p->mtu);
        r = template_load_render("cni-bridge.conflist.in", vars, ELEMENTSOF(vars), ret_conflist, err);
        if (r < 0)
                return r;
        r = template_load_render("cni-loopback.conf.in", vars, 0, ret_loopback, err);
        if (r < 0) {
                free(*ret_conflist);
                *ret_conflist = NULL;
        }
        return r;
}
