/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The k3s engine's side of the init: `k3s server` (or `k3s agent`) as the node's one daemon, in the namespaces,
 * mounts and network the init set up as for every node.
 *
 * k3s takes the node as the child of its own rootlesskit would: with _K3S_ROOTLESS_SOCK set, `k3s --rootless`
 * makes no rootlesskit of its own and only mounts what it needs inside (its kubelet and containerd then run with
 * their rootless settings). That variable also names the API socket of the rootlesskit k3s believes it runs in,
 * through which its port controller would publish the API server and every LoadBalancer port on every address
 * of the host; here it names a file that is no socket, so that controller publishes nothing (it logs that it
 * cannot) and the node's ports are the ones usernode publishes. The node is ready when its Node says Ready in the
 * API, posted by this k3s, with usernode's labels and without the not-ready taint. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#include "init.h"
#include "nodeapi.h"
#include "rm-rf.h"
#include "util.h"

/* Under the runtime directory: what _K3S_ROOTLESS_SOCK names. */
#define K3S_PORT_API "k3s-port-api"
#define K3S_PORT_API_TEXT "usernode publishes this node's ports: k3s's port controller has no rootlesskit API here\n"
/* Under the data directory: k3s's --data-dir; in it, the images k3s imports when its containerd starts, and the
 * agent's kubeconfig (the node's own credentials). */
#define K3S_DATA "k3s"
#define K3S_IMAGES "agent/images"
/* k3s reads /etc/rancher/k3s/config.yaml unless told another file: the host's k3s's, not this node's. */
#define K3S_CONFIG "config.yaml"
#define K3S_CONFIG_TEXT "# usernode gives k3s its settings on its command line; this file keeps it from reading the host's\n" \
                        "# /etc/rancher/k3s/config.yaml. Written at each start.\n"
#define K3S_AGENT_KUBECONFIG "agent/kubelet.kubeconfig"
/* k3s starts its own control plane, containerd and kubelet before its Node can say Ready: tens of seconds on a slow
 * machine. Log lines while waiting come at most this often. */
#define K3S_POLL_MS 200
/* k3s's run-time state in the node: its containerd's socket and its containers' tasks. */
#define K3S_STATE "/run/k3s"
#define K3S_STOP_MS 5000

static int push_printf(char ***argv, const char *fmt, ...) _printf_(2, 3);
static int push_printf(char ***argv, const char *fmt, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        return s ? strv_push(argv, s) : -ENOMEM;
}

/* The host and port of an https://HOST:PORT URL. */
static int url_split(const char *url, char *buf, size_t size, unsigned *ret_port) {
        const char *h = startswith(url, "https://"), *colon = h ? strrchr(h, ':') : NULL;
        uint32_t port;

        if (!h || !colon || (size_t) (colon - h) >= size || colon == h || parse_u32(colon + 1, &port) < 0 ||
            port == 0 || port > 65535)
                return -EINVAL;
        memcpy(buf, h, (size_t) (colon - h));
        buf[colon - h] = '\0';
        *ret_port = port;
        return 0;
}

/* The node's k3s data at INIT_K3S_DATA_INSIDE. */
static int bind_data(const char *data, struct un_error *err) {
        if (init_mkdir_p(data) < 0 || init_mkdir_p(INIT_K3S_DATA_INSIDE) < 0)
                return un_error(err, errno, "cannot make %s and %s", data, INIT_K3S_DATA_INSIDE);
        if (mount(data, INIT_K3S_DATA_INSIDE, NULL, MS_BIND, NULL) < 0)
                return un_error(err, errno, "cannot bind %s over %s", data, INIT_K3S_DATA_INSIDE);
        return 0;
}

/* The user's image archives where k3s imports from when its containerd starts (read-only: they are the user's). */
static int bind_images(struct init *in, const char *data, struct un_error *err) {
        _cleanup_free_ char *dir = xstrdup_printf("%s/%s", data, K3S_IMAGES);

        if (!in->images_dir || access(in->images_dir, F_OK) < 0)
                return 0;
        if (!dir)
                return un_error(err, ENOMEM, "k3s");
        if (init_mkdir_p(dir) < 0)
                return un_error(err, errno, "cannot make %s", dir);
        if (mount(in->images_dir, dir, NULL, MS_BIND, NULL) < 0 ||
            mount(NULL, dir, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
                return un_error(err, errno, "cannot bind %s over %s", in->images_dir, dir);
        return 0;
}

/* k3s's command line and environment, from the init's arguments. */
static int k3s_command(struct init *in, const char *k3s, const char *data, char ***ret_argv, char ***ret_env,
                       struct un_error *err) {
        _cleanup_strv_free_ char **argv = NULL, **env = NULL, **labels = NULL;
        _cleanup_free_ char *port_api = xstrdup_printf("%s/%s", in->runtime_dir, K3S_PORT_API);
        char host[256];
        unsigned port;
        int r = 0;

        _cleanup_free_ char *config = xstrdup_printf("%s/%s", data, K3S_CONFIG);

        if (!port_api || !config)
                return un_error(err, ENOMEM, "k3s");
        r = init_write_file(port_api, K3S_PORT_API_TEXT, err);
        if (r >= 0)
                r = init_mkdir_p(data) < 0 ? un_error(err, errno, "cannot make %s", data)
                                           : init_write_file(config, K3S_CONFIG_TEXT, err);
        if (r < 0)
                return r;
        if (strv_push(&argv, (char *) k3s) < 0 || strv_push(&argv, in->control_plane ? "server" : "agent") < 0 ||
            strv_push(&argv, "--rootless") < 0 || push_printf(&argv, "--data-dir=%s", data) < 0 ||
            push_printf(&argv, "--node-name=%s", in->name) < 0 ||
            push_printf(&argv, "--pause-image=%s", in->sandbox_image) < 0 ||
            push_printf(&argv, "--kubelet-arg=pod-max-pids=%lld", (long long) in->pod_pids_limit) < 0 ||
            push_printf(&argv, "--config=%s", config) < 0 ||
            push_printf(&env, "_K3S_ROOTLESS_SOCK=%s", port_api) < 0 ||
            /* k3s links ~/.kube/k3s.yaml to its kubeconfig, replacing what was there: its home is its data's. */
            push_printf(&env, "HOME=%s", data) < 0)
                return un_error(err, ENOMEM, "k3s");
        /* The feature labels from the start (the kubelet registers the Node with them); when `up` has not written
         * them yet, the wait for the Node puts them there. */
        if (init_read_features(in, &labels) >= 0)
                for (char **l = labels; *l; l++)
                        if (push_printf(&argv, "--node-label=%s", *l) < 0)
                                return un_error(err, ENOMEM, "k3s");
        /* A joined node: the host's address, which the init gave the node (unrouted: what is sent there leaves the
         * node, to the ports published there), is its kubelet's. */
        if (in->node_ip && push_printf(&argv, "--node-ip=%s", in->node_ip) < 0)
                return un_error(err, ENOMEM, "k3s");
        /* A joined kubelet is reached at the port published for it (logs, exec, port-forward). */
        if (in->server && in->kubelet_port != UP_KUBELET_PORT &&
            push_printf(&argv, "--kubelet-arg=port=%u", (unsigned) in->kubelet_port) < 0)
                return un_error(err, ENOMEM, "k3s");
        if (in->control_plane) {
                if (push_printf(&argv, "--write-kubeconfig=%s/%s", in->runtime_dir, INIT_K3S_KUBECONFIG) < 0 ||
                    strv_push(&argv, "--write-kubeconfig-mode=0600") < 0 ||
                    push_printf(&argv, "--cluster-cidr=%s", in->pod_cidr) < 0 ||
                    push_printf(&argv, "--service-cidr=%s", in->service_cidr) < 0 ||
                    /* servicelb publishes LoadBalancer ports through the port controller, and traefik asks it for
                     * 80 and 443: neither can work here, nor should behind the user's back. */
                    strv_push(&argv, "--disable=servicelb,traefik") < 0)
                        return un_error(err, ENOMEM, "k3s");
                /* A cluster others join: its API server's certificate names where it is published, and it
                 * advertises that to pods and agents. Not an address of the node's own: its own processes reach it
                 * there too (k3s's agent in it does), through the host, where an own address would take them in
                 * and drop the answers from it. */
                if (in->apiserver_url && (url_split(in->apiserver_url, host, sizeof host, &port) < 0 ||
                                          push_printf(&argv, "--tls-san=%s", host) < 0 ||
                                          push_printf(&argv, "--advertise-address=%s", host) < 0 ||
                                          push_printf(&argv, "--advertise-port=%u", port) < 0))
                        return un_error(err, EINVAL, "k3s: bad API server URL %s", in->apiserver_url);
        } else if (strv_push(&argv, "--server") < 0 || strv_push(&argv, (char *) in->server) < 0 ||
                   /* Never the token itself on a command line: the file `up` wrote (0600). */
                   push_printf(&argv, "--token-file=%s/%s", in->data_dir, NODE_K3S_TOKEN) < 0)
                return un_error(err, ENOMEM, "k3s");
        *ret_argv = TAKE_PTR(argv);
        *ret_env = TAKE_PTR(env);
        return 0;
}

/* Whether a process other than PID 1 and this one runs in the node's PID namespace. */
static bool others_run(void) {
        _cleanup_closedir_ DIR *d = opendir("/proc");
        struct dirent *de;
        uint32_t pid;

        while (d && (de = readdir(d)))
                if (parse_u32(de->d_name, &pid) >= 0 && pid != 1 && (pid_t) pid != getpid())
                        return true;
        return false;
}

/* Before k3s starts again: what the last one left. A restart of `k3s --rootless` is one of its whole namespace, and
 * k3s counts on that: it clears /run/containerd as it starts, the sockets of its containers' shims among it, and its
 * containerd would wait 100 s for each shim it can no longer reach. So the containers go too (the kubelet starts
 * them again; their volumes stay), and with them containerd's state of them. */
static void k3s_clear_leftovers(void) {
        uint64_t deadline = now_usec() + K3S_STOP_MS * 1000ull;

        (void) kill(-1, SIGKILL);
        /* PID 1 reaps them; their mounts go once they are gone. */
        while (others_run() && now_usec() < deadline)
                (void) usleep(20000);
        init_umount_under(K3S_STATE);
        (void) rm_rf(K3S_STATE);
        /* The pods' network namespaces, which k3s removes as it starts (it cannot while they are mounted). */
        init_umount_under("/run/netns");
}

int init_start_k3s(struct init *in, struct un_error *err) {
        int r;

        if (in->k3s_starts++ > 0)
                k3s_clear_leftovers();
        in->kubelet_started = time(NULL);
        r = init_spawn_logged(in, "k3s.log", in->k3s_argv, in->k3s_env, &in->k3s, err);
        if (r >= 0)
                init_stage(in, "pid engine %d", (int) in->k3s.pid);
        return r;
}

/* What the wait for the Node knows between its looks. */
struct k3s_wait {
        const char *kubeconfig;         /* the server's admin's, or the agent's kubelet's */
        struct node_api api;
        uint64_t start;
        bool labelled;
        bool annotated;                 /* the Node has NODE_OVERLAY_ADDRESS_ANNOTATION */
        bool restarted;                 /* k3s was started again for flannel to read it */
        bool answered;                  /* the API server answered a request */
        char last[sizeof ((struct un_error) {}).msg];   /* the last message logged: each new one once */
};

static void wait_log(struct k3s_wait *w, const char *msg) {
        if (strcmp(msg, w->last) == 0)
                return;
        fprintf(stderr, "usernode-init: %s\n", msg);
        snprintf(w->last, sizeof w->last, "%s", msg);
}

/* One look: 1 when the Node is ready for pods, 0 not yet. */
static int k3s_look(struct init *in, struct k3s_wait *w) {
        struct node_object o = {};
        struct un_error err = {};
        int r;

        if (!w->api.server) {
                if (access(w->kubeconfig, R_OK) < 0)
                        return 0;
                r = node_api_open_kubeconfig(w->kubeconfig, in->name, &w->api, &err);
                if (r < 0) {
                        wait_log(w, err.msg);
                        return 0;
                }
        }
        r = node_api_get(&w->api, &o, &err);
        if (r < 0) {
                wait_log(w, err.msg);
                return 0;
        }
        /* k3s writes its kubeconfig before its API server serves: the first answer tells. */
        if (in->control_plane && !w->answered)
                init_stage(in, "mark apiserver-ready");
        w->answered = true;
        if (!o.exists) {
                node_object_done(&o);
                return 0;
        }
        /* In a cluster of several hosts flannel must take the node's published address as its VXLAN endpoint. It
         * reads that from the Node when it takes its lease, once the Node has its pod CIDR (it looks every 2 s):
         * the annotation comes as soon as the kubelet registered the Node. (Making the Node before the kubelet
         * would leave it without the cloud provider's taint, and k3s's cloud controller would never give it its
         * addresses.) */
        if (in->overlay_address && !w->annotated) {
                r = node_api_annotate(&w->api, NODE_OVERLAY_ADDRESS_ANNOTATION, in->overlay_address, &err);
                if (r < 0)
                        wait_log(w, err.msg);
                w->annotated = r >= 0;
        }
        if (!w->labelled)
                w->labelled = init_label_node(in, &w->api, w->start);
        /* A Node from an earlier run may still say Ready: only this k3s's word counts. */
        r = o.ready && o.ready_heartbeat >= in->kubelet_started;
        if (r && !in->node_ready_marked) {
                in->node_ready_marked = true;
                init_stage(in, "mark node-ready");
        }
        if (!o.ready && o.ready_message) {
                char msg[sizeof w->last];

                snprintf(msg, sizeof msg, "node %s not ready: %s", in->name, o.ready_message);
                wait_log(w, msg);
        }
        r = r && w->labelled && !o.not_ready_taint;
        /* Ready for pods on other nodes too once flannel has said where its VXLAN endpoint is; one that took its
         * lease before the annotation was there says the node's own address: 2, k3s is to start again (flannel
         * then reads the annotation). */
        if (r && in->overlay_address)
                r = !o.overlay_address ? 0 : strcmp(o.overlay_address, in->overlay_address) == 0 ? 1 : 2;
        node_object_done(&o);
        return r;
}

static int k3s_wait_ready(struct init *in) {
        _cleanup_free_ char *kubeconfig =
                in->control_plane ? xstrdup_printf("%s/%s", in->runtime_dir, INIT_K3S_KUBECONFIG)
                                  : xstrdup_printf("%s/%s", INIT_K3S_DATA_INSIDE, K3S_AGENT_KUBECONFIG);
        struct k3s_wait w = { .kubeconfig = kubeconfig, .start = now_usec() };
        int r;

        if (!kubeconfig)
                return -ENOMEM;
        for (;;) {
                r = k3s_look(in, &w);
                if (r == 2 && !w.restarted) {
                        struct un_error err = {};

                        fprintf(stderr, "usernode-init: flannel took the node's own address as its VXLAN endpoint, "
                                        "not %s: k3s starts again\n", in->overlay_address);
                        w.restarted = true;
                        proc_stop(&in->k3s, K3S_STOP_MS);
                        proc_done(&in->k3s);
                        r = init_start_k3s(in, &err);
                        if (r < 0) {
                                init_stage(in, "error %s", err.msg);
                                break;
                        }
                        continue;
                }
                if (r == 2) {
                        init_stage(in, "error flannel in k3s does not take %s as the node's VXLAN endpoint; see %s/k3s.log",
                                   in->overlay_address, in->runtime_dir);
                        r = -EIO;
                        break;
                }
                if (r > 0)
                        break;
                r = init_idle_for(in, K3S_POLL_MS);
                if (r < 0)
                        break;
        }
        node_api_done(&w.api);
        if (r < 0)
                return r;
        init_stage(in, "mark pods-schedulable");
        init_stage(in, "stage api-ready");
        return 0;
}

int init_run_k3s(struct init *in) {
        _cleanup_free_ char *k3s = init_find_binary("k3s"), *data = xstrdup_printf("%s/%s", in->data_dir, K3S_DATA);
        struct un_error err = {};
        int r;

        if (!k3s) {
                init_stage(in, "error no k3s on PATH (the k3s engine runs it; see usernode check --engine k3s)");
                return -ENOENT;
        }
        if (!data)
                return -ENOMEM;
        if (!in->control_plane && !in->server) {
                init_stage(in, "error a k3s node needs --control-plane or --server");
                return -EINVAL;
        }
        r = bind_data(data, &err);
        if (r >= 0)
                r = bind_images(in, INIT_K3S_DATA_INSIDE, &err);
        if (r >= 0)
                r = k3s_command(in, k3s, INIT_K3S_DATA_INSIDE, &in->k3s_argv, &in->k3s_env, &err);
        if (r >= 0)
                r = init_start_k3s(in, &err);
        if (r < 0) {
                init_stage(in, "error %s", err.msg);
                return r;
        }
        init_stage(in, "stage engine");
        return k3s_wait_ready(in);
}
