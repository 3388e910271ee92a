/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The k3s engine: `k3s server --rootless` (or `k3s agent --rootless` joining --server) runs its own
 * rootlesskit; usernode chooses its K3S_ROOTLESS_* environment, data dir and kubeconfig path. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver.h"
#include "host.h"
#include "up.h"
#include "util.h"

static int command(const struct node *n, const struct up_options *o, char ***ret_argv, char ***ret_env,
                   struct un_error *err) {
        _cleanup_strv_free_ char **argv = NULL, **env = NULL;
        _cleanup_free_ char *data = node_data_path(n, "k3s"), *kc = node_runtime_path(n, "k3s-kubeconfig.yaml");
        _cleanup_free_ char *a_data = NULL, *a_kc = NULL, *cidr = NULL, *pd = NULL, *mtu = NULL;
        _cleanup_free_ char *a_cluster = NULL, *a_service = NULL, *resolv = NULL, *a_resolv = NULL;
        const char *mode = o->server ? "agent" : "server";
        struct up_cidrs nets;
        int r;

        if (!data || !kc)
                return un_error(err, ENOMEM, "k3s engine");
        if (o->net && strcmp(o->net, "auto") != 0 && strcmp(o->net, "slirp4netns") != 0)
                return un_error(err, EINVAL, "--net %s: k3s's built-in rootlesskit only drives slirp4netns; "
                                "use --engine kubelet for it", o->net);
        r = up_pick_cidrs(o, &nets, err);
        if (r < 0)
                return r;
        r = node_resolv_conf_file(n, o, &resolv, err);
        if (r < 0)
                return r;
        if (resolv && !(a_resolv = xstrdup_printf("--resolv-conf=%s", resolv)))
                return un_error(err, ENOMEM, "k3s engine");
        a_cluster = xstrdup_printf("--cluster-cidr=%s", nets.cluster);
        a_service = xstrdup_printf("--service-cidr=%s", nets.service);
        a_data = xstrdup_printf("--data-dir=%s", data);
        a_kc = xstrdup_printf("--write-kubeconfig=%s", kc);
        cidr = xstrdup_printf("K3S_ROOTLESS_CIDR=%s", nets.slirp);
        pd = xstrdup_printf("K3S_ROOTLESS_PORT_DRIVER=%s", port_driver_to_string(o->port_driver));
        mtu = xstrdup_printf("K3S_ROOTLESS_MTU=%u", UP_MTU);
        if (!a_data || !a_kc || !cidr || !pd || !mtu || !a_cluster || !a_service)
                return un_error(err, ENOMEM, "k3s engine");
        if (strv_push(&argv, "k3s") < 0 || strv_push(&argv, mode) < 0 || strv_push(&argv, "--rootless") < 0 ||
            strv_push(&argv, a_data) < 0)
                return un_error(err, ENOMEM, "k3s engine");
        if (o->server) {
                _cleanup_free_ char *token = node_data_path(n, NODE_K3S_TOKEN);

                /* The token file node_join_prepare wrote: never the token itself on k3s's command line. */
                if (!token || strv_push(&argv, "--server") < 0 || strv_push(&argv, o->server) < 0 ||
                    strv_push(&argv, "--token-file") < 0 || strv_push(&argv, token) < 0)
                        return un_error(err, ENOMEM, "k3s engine");
        } else if (strv_push(&argv, a_kc) < 0 || strv_push(&argv, "--write-kubeconfig-mode=0600") < 0 ||
                   strv_push(&argv, a_cluster) < 0 || strv_push(&argv, a_service) < 0 ||
                   /* Its rootless port controller forwards every LoadBalancer port and NodePort of servicelb to
                    * the host's every address, and traefik asks for 80 and 443: neither unless the user adds
                    * them (a k3s config file's "disable" list is theirs to change). */
                   strv_push(&argv, "--disable=servicelb,traefik") < 0)
                return un_error(err, ENOMEM, "k3s engine");
        if (a_resolv && strv_push(&argv, a_resolv) < 0)
                return un_error(err, ENOMEM, "k3s engine");
        if (strv_push(&env, mtu) < 0 || strv_push(&env, pd) < 0 || strv_push(&env, cidr) < 0 ||
            strv_push(&env, "K3S_ROOTLESS_DISABLE_HOST_LOOPBACK=true") < 0 ||
            strv_push(&env, o->enable_ipv6 ? "K3S_ROOTLESS_ENABLE_IPV6=true" : "K3S_ROOTLESS_ENABLE_IPV6=false") < 0)
                return un_error(err, ENOMEM, "k3s engine");
        *ret_argv = TAKE_PTR(argv);
        *ret_env = TAKE_PTR(env);
        return 0;
}

/* k3s writes its kubeconfig inside the node's state; users get a copy at a stable path. */
static int ready(const struct node *n, const struct up_options *o, struct node_status *s, struct un_error *err) {
        _cleanup_free_ char *src = node_runtime_path(n, "k3s-kubeconfig.yaml"), *dst = node_kubeconfig_path(n);
        _cleanup_free_ char *text = NULL, *dir = NULL;
        const struct host *h = host_live();
        size_t len = 0;
        int r;

        if (o->server)
                return 0;
        if (!src || !dst)
                return un_error(err, ENOMEM, "kubeconfig");
        r = host_read_file(h, src, HOST_FILE_MAX, &text, &len);
        if (r < 0) {
                return un_error(err, -r, "k3s reported ready but wrote no kubeconfig at %s", src);
        }
        dir = strdup(dst);
        if (dir && strrchr(dir, '/')) {
                *strrchr(dir, '/') = '\0';
                (void) mkdir(dir, 0700);
        }
        r = host_write_atomic(h, dst, text, len, 0600, (uid_t) -1, (gid_t) -1, err);
        if (r < 0)
                return r;
        free(s->kubeconfig);
        s->kubeconfig = TAKE_PTR(dst);
        return 0;
}

const struct node_engine engine_k3s = {
        .id = ENGINE_K3S,
        .name = "k3s",
        .command = command,
        .ready = ready,
        .has_init = false,
};
