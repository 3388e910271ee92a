/* SPDX-License-Identifier: GPL-2.0-or-later */
/* usernode's init: PID 1's child in the node's namespaces (started by rootlesskit, argv[0] "__node-init"),
 * root of the node's user namespace. It mounts what the node needs, runs containerd, the kubelet and
 * kube-proxy, reports each stage to the supervisor through the stage pipe and, for a joined node, tells
 * the node ready only when its Node object is Ready in the API. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "cri.h"
#include "host.h"
#include "netlink.h"
#include "nodeapi.h"
#include "podlimits.h"
#include "process.h"
#include "up.h"
#include "util.h"

#define CHILD_STOP_MS 3000
#define CNI_CONF_DIR "/etc/cni/net.d"
#define CNI_BIN_DIR "/opt/cni/bin"
#define CSR_WAIT_MS 60000               /* a CSR not approved by then will not be: say so */
#define POD_CIDR_WAIT_MS 2000           /* after registration: the controller-manager allocates at once, if at all */
#define FEATURES_WAIT_MS 10000          /* `up` writes them once its checks are done */
#define LIMITS_POLL_MS 5000             /* how soon a pod with limits the host cannot enforce is told */

struct init {
        const char *name, *runtime_dir, *data_dir, *server, *pod_cidr, *resolv_conf, *node_ip, *sandbox_image;
        unsigned mtu;
        uint32_t kubelet_port;
        int64_t pod_pids_limit;
        bool containerd_only;
        int stage_fd;
        int notify_fd;
        int signal_fd;
        struct proc containerd, kubelet, kube_proxy;
        time_t kubelet_started;         /* wall clock, seconds: Ready conditions older than this are stale */
        char cni_cidr[48];              /* the pod CIDR the CNI config has, "" before it is written */
        struct kubelet_params params;
};

static void stage(struct init *in, const char *fmt, ...) _printf_(2, 3);
static void stage(struct init *in, const char *fmt, ...) {
        char buf[1024];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        if ((size_t) n > sizeof buf - 2)
                n = (int) sizeof buf - 2;
        /* One line per message: a newline inside would split it. */
        for (int i = 0; i < n; i++)
                if (buf[i] == '\n')
                        buf[i] = ' ';
        buf[n++] = '\n';
        if (in->stage_fd >= 0 && write(in->stage_fd, buf, (size_t) n) < 0) {
                close(in->stage_fd);
                in->stage_fd = -1;
        }
        fprintf(stderr, "usernode-init: %.*s", n, buf);
}

/* Inside the node /etc is rootlesskit's copy-up (a tmpfs of symlinks): the host layer's
 * symlink-refusing writer does not fit there, and nothing but this init writes these files. */
static int write_file(const char *path, const char *text, struct un_error *err) {
        _cleanup_free_ char *tmp = xstrdup_printf("%s.tmp-usernode", path);
        _cleanup_close_ int fd = -EBADF;
        size_t len = strlen(text), off = 0;

        if (!tmp)
                return un_error(err, ENOMEM, "write %s", path);
        (void) unlink(tmp);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return un_error(err, errno, "cannot create %s", tmp);
        while (off < len) {
                ssize_t n = write(fd, text + off, len - off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        (void) unlink(tmp);
                        return un_error(err, errno, "cannot write %s", tmp);
                }
                off += (size_t) n;
        }
        if (rename(tmp, path) < 0) {
                (void) unlink(tmp);
                return un_error(err, errno, "cannot rename %s", tmp);
        }
        return 0;
}

static int mkdir_p(const char *path) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = strchr(p + 1, '/');; s = strchr(s + 1, '/')) {
                if (s)
                        *s = '\0';
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return -errno;
                if (!s)
                        return 0;
                *s = '/';
        }
}

static bool is_fs(const char *path, long magic) {
        struct statfs sf;

        return statfs(path, &sf) == 0 && sf.f_type == magic;
}

/* crun refuses a hybrid host whose cgroup2 mount has controllers: hide that mount in the node. */
static int mount_cgroup_workaround(void) {
        if (is_fs("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC) || !is_fs("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC))
                return 0;
        if (mount("tmpfs", "/sys/fs/cgroup/unified", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0555") < 0)
                return -errno;
        return 1;
}

/* A cgroup v2 tree of the node's own (rootlesskit --evacuate-cgroup2 mounted it, our root view, owned by
 * the user who is root here) with the memory controller enabled for children: only then can the node
 * set limits. Elsewhere /sys/fs/cgroup is the host's, not ours, and cgroups stay disabled. */
static bool cgroup_delegated(void) {
        _cleanup_free_ char *text = NULL;
        struct host h = { .root_fd = -EBADF };
        struct stat st;
        int r;

        if (!is_fs("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC) || stat("/sys/fs/cgroup/cgroup.procs", &st) < 0 ||
            st.st_uid != 0 || access("/sys/fs/cgroup/cgroup.subtree_control", W_OK) < 0)
                return false;
        if (host_init(&h, "/", NULL) < 0)
                return false;
        r = host_read_file(&h, "/sys/fs/cgroup/cgroup.subtree_control", HOST_FILE_MAX, &text, NULL);
        host_done(&h);
        return r >= 0 && (controllers_from_string(text, NULL) & CONTROLLER_MEMORY);
}

/* Tools that hard-code /opt/cni/bin (ctr run --cni) find Debian's plugins in /usr/lib/cni: copy /opt
 * up as rootlesskit does for /etc (a tmpfs of symlinks to the original entries). */
static int mount_opt_cni(struct init *in) {
        _cleanup_free_ char *lower = xstrdup_printf("%s/opt-lower", in->runtime_dir);
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        if (access(CNI_BIN_DIR, F_OK) == 0 || access("/usr/lib/cni", F_OK) < 0)
                return 0;
        if (!lower)
                return -ENOMEM;
        if (mkdir(lower, 0700) < 0 && errno != EEXIST)
                return -errno;
        if (mount("/opt", lower, NULL, MS_BIND | MS_REC, NULL) < 0)
                return -errno;
        if (mount("tmpfs", "/opt", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
                return -errno;
        d = opendir(lower);
        while (d && (de = readdir(d))) {
                _cleanup_free_ char *target = NULL, *link = NULL;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                target = xstrdup_printf("%s/%s", lower, de->d_name);
                link = xstrdup_printf("/opt/%s", de->d_name);
                if (target && link)
                        (void) symlink(target, link);
        }
        if (mkdir("/opt/cni", 0755) < 0 && errno != EEXIST)
                return -errno;
        return symlink("/usr/lib/cni", CNI_BIN_DIR) < 0 ? -errno : 0;
}

/* overlayfs in this user namespace, else fuse-overlayfs (with its containerd plugin), else native. */
static const char *probe_snapshotter(struct init *in) {
        _cleanup_free_ char *base = xstrdup_printf("%s/.overlay-probe", in->data_dir);
        _cleanup_free_ char *l = NULL, *u = NULL, *w = NULL, *m = NULL, *opts = NULL;
        struct host h = { .root_fd = -EBADF };
        _cleanup_free_ char *plugin = NULL;
        bool ok = false;

        if (base) {
                l = xstrdup_printf("%s/l", base);
                u = xstrdup_printf("%s/u", base);
                w = xstrdup_printf("%s/w", base);
                m = xstrdup_printf("%s/m", base);
                opts = xstrdup_printf("lowerdir=%s,upperdir=%s,workdir=%s", l, u, w);
        }
        if (opts && mkdir_p(l) >= 0 && mkdir_p(u) >= 0 && mkdir_p(w) >= 0 && mkdir_p(m) >= 0 &&
            mount("overlay", m, "overlay", 0, opts) == 0) {
                ok = true;
                (void) umount2(m, MNT_DETACH);
        }
        if (base)
                (void) node_rm_rf(base);
        if (ok)
                return "overlayfs";
        if (host_init(&h, "/", NULL) >= 0) {
                bool fuse = host_find_executable(&h, "containerd-fuse-overlayfs-grpc", &plugin) >= 0 &&
                            access("/dev/fuse", R_OK | W_OK) == 0;

                host_done(&h);
                if (fuse)
                        return "fuse-overlayfs";
        }
        return "native";
}

static char *find_binary(const char *name) {
        struct host h = { .root_fd = -EBADF };
        char *path = NULL;

        if (host_init(&h, "/", NULL) < 0)
                return NULL;
        (void) host_find_executable(&h, name, &path);
        host_done(&h);
        return path;
}

/* Unmounts whatever the node mounted under dir (container rootfs, the /opt bind), deepest first. */
static void umount_under(const char *dir) {
        _cleanup_free_ char *text = NULL;
        _cleanup_strv_free_ char **points = NULL;
        struct host h = { .root_fd = -EBADF };
        char *cursor, *line;
        size_t n = strlen(dir);

        if (host_init(&h, "/", NULL) < 0)
                return;
        if (host_read_file(&h, "/proc/self/mountinfo", HOST_FILE_MAX, &text, NULL) < 0) {
                host_done(&h);
                return;
        }
        host_done(&h);
        cursor = text;
        while ((line = line_next(&cursor, HOST_LINE_MAX, NULL))) {
                _cleanup_strv_free_ char **f = NULL;

                if (strv_split(line, " ", &f) < 0 || strv_length(f) < 5)
                        continue;
                if (strncmp(f[4], dir, n) == 0 && (f[4][n] == '/' || f[4][n] == '\0'))
                        (void) strv_push(&points, f[4]);
        }
        for (size_t i = strv_length(points); i > 0; i--)
                (void) umount2(points[i - 1], MNT_DETACH);
}

static void node_not_ready(struct init *in, const char *reason, const char *message, unsigned timeout_ms);

static void shutdown_node(struct init *in) {
        _cleanup_free_ char *purge = xstrdup_printf("%s/purge", in->runtime_dir);

        /* In order: kube-proxy and the kubelet, then containerd, then what they left (shims, containers). */
        proc_stop(&in->kube_proxy, CHILD_STOP_MS);
        proc_stop(&in->kubelet, CHILD_STOP_MS);
        /* The cluster learns at once that this node is gone, not 40 s later from missed heartbeats. */
        if (in->server && in->kubelet.pid > 0)
                node_not_ready(in, "NodeStopped", "usernode stopped this node", 1000);
        proc_stop(&in->containerd, CHILD_STOP_MS);
        (void) kill(-1, SIGKILL);
        if (purge && access(purge, F_OK) == 0) {
                _cleanup_free_ char *cstate = xstrdup_printf("%s/containerd", in->runtime_dir);
                _cleanup_free_ char *lower = xstrdup_printf("%s/opt-lower", in->runtime_dir);

                /* We are root of the node's user namespace: files of any sub-ID go here. */
                umount_under(in->data_dir);
                if (cstate)
                        umount_under(cstate);
                if (lower)
                        umount_under(lower);
                (void) node_rm_rf(in->data_dir);
                if (cstate)
                        (void) node_rm_rf(cstate);
                if (lower)
                        (void) node_rm_rf(lower);
        }
}

/* rootlesskit wrote /etc/resolv.conf (copied up) from its driver's DNS; the host side decided it
 * cannot work (a loopback stub) and prepared one with reachable upstreams. */
static int install_resolv_conf(const char *src) {
        struct host h = { .root_fd = -EBADF };
        _cleanup_free_ char *text = NULL;
        struct un_error err = {};
        int r = host_init(&h, "/", NULL);

        if (r < 0)
                return r;
        r = host_read_file(&h, src, HOST_FILE_MAX, &text, NULL);
        host_done(&h);
        if (r < 0)
                return r;
        r = write_file("/etc/resolv.conf", text, &err);
        return r < 0 ? -err.code : 0;
}


/* Pod logs (/var/log/pods, /var/log/containers: hard-coded in the kubelet) live with the node's data: the
 * host's /var/log is root's, and a tmpfs would lose them at every restart. */
static int mount_var_log(struct init *in) {
        _cleanup_free_ char *log = xstrdup_printf("%s/log", in->data_dir);

        if (!log)
                return -ENOMEM;
        if (mkdir(log, 0755) < 0 && errno != EEXIST)
                return -errno;
        if (mkdir("/var/log", 0755) < 0 && errno != EEXIST)
                return -errno;
        return mount(log, "/var/log", NULL, MS_BIND, NULL) < 0 ? -errno : 0;
}

static int write_cni(struct init *in, const char *pod_cidr, struct un_error *err) {
        _cleanup_free_ char *conflist = NULL, *loopback = NULL;
        struct kubelet_params p = in->params;
        int r;

        p.pod_cidr = pod_cidr;
        r = kubelet_render_cni(&p, &conflist, &loopback, err);
        if (r >= 0)
                r = write_file(CNI_CONF_DIR "/99-loopback.conf", loopback, err);
        /* containerd watches the directory: the bridge's file last, complete. */
        if (r >= 0)
                r = write_file(CNI_CONF_DIR "/10-usernode.conflist", conflist, err);
        if (r >= 0) {
                fprintf(stderr, "usernode-init: pods get addresses from %s\n", pod_cidr);
                snprintf(in->cni_cidr, sizeof in->cni_cidr, "%s", pod_cidr);
        }
        return r;
}

/* A joined node's pod CIDR, kept from its Node's spec.podCIDR: on the next start the pod network is there
 * before the kubelet's first status, which is then Ready. */
#define POD_CIDR_FILE "kubelet/pod-cidr"

static void pod_cidr_save(struct init *in, const char *cidr) {
        _cleanup_free_ char *path = xstrdup_printf("%s/%s", in->data_dir, POD_CIDR_FILE);
        _cleanup_free_ char *text = xstrdup_printf("%s\n", cidr);
        struct un_error err = {};

        if (path && text && write_file(path, text, &err) < 0)
                fprintf(stderr, "usernode-init: %s\n", err.msg);
}

static char *pod_cidr_load(struct init *in) {
        _cleanup_free_ char *path = xstrdup_printf("%s/%s", in->data_dir, POD_CIDR_FILE);
        struct host h = { .root_fd = -EBADF };
        char *line = NULL;

        if (!path || host_init(&h, "/", NULL) < 0)
                return NULL;
        if (host_read_line(&h, path, &line) < 0 || !up_cidr_valid(line)) {
                free(line);
                line = NULL;
        }
        host_done(&h);
        return line;
}

/* A klog error line's message ("E1129 17:30:00.123456    1234 file.go:12] message"). */
static const char *klog_error(const char *line) {
        const char *body = strstr(line, "] ");

        return line[0] == 'E' && strspn(line + 1, "0123456789") == 4 && body ? body + 2 : NULL;
}

/* The kubelet's last error in its log, without klog's header: what `up` quotes when it fails. */
static char *kubelet_last_error(struct init *in) {
        _cleanup_free_ char *path = xstrdup_printf("%s/kubelet.log", in->runtime_dir);

        return path ? node_log_last_match(path, klog_error, 600) : NULL;
}

static void stage_kubelet_failed(struct init *in, const char *what) {
        _cleanup_free_ char *why = kubelet_last_error(in);

        if (why && strstr(why, "Unauthorized") && strstr(why, "certificate signing request"))
                stage(in, "error the API server refused the bootstrap token: Unauthorized (%s); see %s/kubelet.log",
                      what, in->runtime_dir);
        else
                stage(in, "error %s: %s; see %s/kubelet.log", what, why ? why : "it printed no error", in->runtime_dir);
}

/* Waits until child sends READY=1, dies, a signal asks us to stop, or timeout_ms pass (-1: no bound).
 * 0 ready, -ECHILD died, -EINTR stop, -ETIME timeout. */
static int wait_ready_bounded(struct init *in, struct proc *child, int timeout_ms) {
        uint64_t deadline = timeout_ms < 0 ? 0 : now_usec() + (uint64_t) timeout_ms * 1000u;

        for (;;) {
                struct pollfd pf[3] = {
                        { .fd = in->notify_fd, .events = POLLIN },
                        { .fd = child->pidfd, .events = POLLIN },
                        { .fd = in->signal_fd, .events = POLLIN },
                };
                uint64_t now = now_usec();
                int r;

                if (deadline && now >= deadline)
                        return -ETIME;
                r = poll(pf, 3, deadline ? (int) ((deadline - now) / 1000u) + 1 : -1);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (pf[2].revents)
                        return -EINTR;
                if (pf[0].revents && notify_socket_read_ready(in->notify_fd) == 1)
                        return 0;
                if (pf[1].revents) {
                        (void) proc_try_reap(child);
                        return -ECHILD;
                }
        }
}

static int exit_code(const struct proc *p) {
        return WIFEXITED(p->status) ? WEXITSTATUS(p->status) : 128 + WTERMSIG(p->status);
}

/* The kubelet has no client certificate after CSR_WAIT_MS: find out why from the cluster. */
static void stage_csr_stuck(struct init *in) {
        _cleanup_free_ char *csr = NULL;
        struct un_error err = {};
        bool denied;

        if (node_api_csr_state(in->data_dir, in->server, &csr, &denied, &err) < 0)
                stage_kubelet_failed(in, "the kubelet has no client certificate after 60 s");
        else if (csr && denied)
                stage(in, "error certificate signing request %s was denied", csr);
        else if (csr)
                stage(in, "error certificate signing request %s not approved after 60 s (approve it with: kubectl "
                          "certificate approve %s; kubeadm clusters approve node CSRs themselves)", csr, csr);
        else
                stage_kubelet_failed(in, "the kubelet has no client certificate after 60 s and made no request");
}

static int spawn_logged(struct init *in, const char *log, char **argv, char **env, struct proc *ret,
                        struct un_error *err) {
        _cleanup_free_ char *path = xstrdup_printf("%s/%s", in->runtime_dir, log);
        _cleanup_close_ int fd = path ? open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600)
                                      : -ENOMEM;

        if (fd < 0)
                return un_error(err, fd == -ENOMEM ? ENOMEM : errno, "cannot open %s", strna(path));
        return proc_spawn(argv, env, fd, -1, -1, ret, err);
}

static int start_kubelet(struct init *in, const char *kubelet, const char *notify_env, struct un_error *err) {
        _cleanup_free_ char *kdir = xstrdup_printf("%s/kubelet", in->data_dir);
        _cleanup_free_ char *config = xstrdup_printf("%s/kubelet/config.json", in->data_dir);
        _cleanup_free_ char *cluster_path = xstrdup_printf("%s/%s", in->data_dir, NODE_KUBELET_CLUSTER_CONFIG);
        _cleanup_free_ char *ca = xstrdup_printf("%s/%s", in->data_dir, NODE_KUBELET_CA);
        _cleanup_free_ char *bootstrap = xstrdup_printf("%s/%s", in->data_dir, NODE_KUBELET_BOOTSTRAP);
        _cleanup_free_ char *a_config = NULL, *a_root = NULL, *a_certs = NULL, *a_name = NULL, *a_kubeconfig = NULL,
                            *a_bootstrap = NULL, *a_ip = NULL, *cluster = NULL, *text = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        struct kubelet_params p = in->params;
        struct host h = { .root_fd = -EBADF };
        char *env[] = { (char *) notify_env, NULL };
        int r;

        if (!kdir || !config || !cluster_path || !ca || !bootstrap)
                return un_error(err, ENOMEM, "kubelet");
        if (in->server) {
                if (host_init(&h, "/", err) < 0)
                        return -EIO;
                r = host_read_file(&h, cluster_path, 1024 * 1024, &cluster, NULL);
                host_done(&h);
                if (r < 0 && r != -ENOENT)
                        return un_error(err, -r, "cannot read %s", cluster_path);
                p.cluster_config = cluster;
                p.client_ca_file = ca;
                p.port = (uint16_t) in->kubelet_port;
        }
        p.pod_pids_limit = in->pod_pids_limit;
        r = kubelet_render_kubelet_config(&p, &text, err);
        if (r >= 0)
                r = write_file(config, text, err);
        if (r < 0)
                return r;
        a_config = xstrdup_printf("--config=%s", config);
        a_root = xstrdup_printf("--root-dir=%s", kdir);
        /* Its certificates with the node's data, not in /var/lib (a tmpfs here): a restart keeps them. */
        a_certs = xstrdup_printf("--cert-dir=%s/pki", kdir);
        a_name = xstrdup_printf("--hostname-override=%s", in->name);
        a_kubeconfig = xstrdup_printf("--kubeconfig=%s/%s", in->data_dir, NODE_KUBELET_KUBECONFIG);
        a_bootstrap = xstrdup_printf("--bootstrap-kubeconfig=%s", bootstrap);
        a_ip = in->node_ip ? xstrdup_printf("--node-ip=%s", in->node_ip) : NULL;
        if (!a_config || !a_root || !a_certs || !a_name || !a_kubeconfig || !a_bootstrap || (in->node_ip && !a_ip) ||
            strv_push(&argv, kubelet) < 0 || strv_push(&argv, a_config) < 0 || strv_push(&argv, a_root) < 0 ||
            strv_push(&argv, a_certs) < 0 || strv_push(&argv, a_name) < 0)
                return un_error(err, ENOMEM, "kubelet");
        if (in->server && (strv_push(&argv, a_kubeconfig) < 0 ||
                           (access(bootstrap, F_OK) == 0 && strv_push(&argv, a_bootstrap) < 0) ||
                           (a_ip && strv_push(&argv, a_ip) < 0)))
                return un_error(err, ENOMEM, "kubelet");
        in->kubelet_started = time(NULL);
        return spawn_logged(in, "kubelet.log", argv, env, &in->kubelet, err);
}

/* kube-proxy with the node's own credentials, in settings a user namespace allows: conntrack limits are
 * the host's and stay as they are. */
static int start_kube_proxy(struct init *in, const char *binary, struct un_error *err) {
        _cleanup_free_ char *dir = xstrdup_printf("%s/kube-proxy", in->data_dir);
        _cleanup_free_ char *config = xstrdup_printf("%s/kube-proxy/config.yaml", in->data_dir);
        _cleanup_free_ char *text = NULL, *a_config = NULL;
        int r;

        if (!dir || !config)
                return un_error(err, ENOMEM, "kube-proxy");
        if (mkdir_p(dir) < 0)
                return un_error(err, errno, "cannot create %s", dir);
        text = xstrdup_printf("apiVersion: kubeproxy.config.k8s.io/v1alpha1\n"
                              "kind: KubeProxyConfiguration\n"
                              "clientConnection:\n"
                              "  kubeconfig: \"%s/%s\"\n"
                              "hostnameOverride: \"%s\"\n"
                              "mode: iptables\n"
                              "clusterCIDR: \"%s\"\n"
                              "metricsBindAddress: 127.0.0.1:10249\n"
                              "healthzBindAddress: 127.0.0.1:10256\n"
                              "conntrack:\n"
                              "  maxPerCore: 0\n"
                              "  min: 0\n"
                              "  tcpEstablishedTimeout: 0s\n"
                              "  tcpCloseWaitTimeout: 0s\n",
                              in->data_dir, NODE_KUBELET_KUBECONFIG, in->name, in->pod_cidr);
        a_config = xstrdup_printf("--config=%s", config);
        if (!text || !a_config)
                return un_error(err, ENOMEM, "kube-proxy");
        r = write_file(config, text, err);
        if (r < 0)
                return r;
        char *argv[] = { (char *) binary, a_config, NULL };
        return spawn_logged(in, "kube-proxy.log", argv, NULL, &in->kube_proxy, err);
}

/* kube-proxy runs with the node's credentials: the Node authorizer lets a node read Services but not
 * EndpointSlices, which only a cluster admin can grant. Without them it would only log errors. */
static bool kube_proxy_allowed(struct init *in) {
        struct node_api api = {};
        struct un_error err = {};
        int r = node_api_open(in->data_dir, in->server, in->name, &api, &err);

        if (r >= 0)
                r = node_api_may_list(&api, "/apis/discovery.k8s.io/v1/endpointslices", &err);
        node_api_done(&api);
        if (r < 0)
                fprintf(stderr, "usernode-init: cannot ask the cluster what kube-proxy may read: %s\n", err.msg);
        if (r == 0)
                stage(in, "warn kube-proxy not started: the cluster does not let node %s list EndpointSlices, so pods "
                          "here cannot reach Services; a cluster admin can allow it for usernode's nodes with: "
                          "kubectl create clusterrolebinding usernode-node-proxier --clusterrole=system:node-proxier "
                          "--group=system:nodes", in->name);
        return r != 0;
}

/* The labels `up` wrote from its checks (one "KEY=VALUE" per line); -ENOENT until it has. */
static int read_features(struct init *in, char ***ret) {
        _cleanup_free_ char *path = xstrdup_printf("%s/features", in->runtime_dir), *text = NULL;
        struct host h = { .root_fd = -EBADF };
        int r;

        if (!path || host_init(&h, "/", NULL) < 0)
                return -ENOMEM;
        r = host_read_file(&h, path, 64 * 1024, &text, NULL);
        host_done(&h);
        if (r < 0)
                return r;
        return strv_split(text, "\n", ret);
}

/* Waits up to timeout_ms for a stop signal or a child's death: -EINTR, -ECHILD (with the error staged), 0. */
static int idle_for(struct init *in, int timeout_ms) {
        struct proc *procs[] = { &in->containerd, &in->kubelet, &in->kube_proxy };
        static const char *const names[] = { "containerd", "kubelet", "kube-proxy" };
        struct pollfd pf[5] = { { .fd = in->signal_fd, .events = POLLIN }, { .fd = in->notify_fd, .events = POLLIN } };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(procs); i++)
                pf[2 + i] = (struct pollfd) { .fd = procs[i]->pid > 0 ? procs[i]->pidfd : -1, .events = POLLIN };
        r = poll(pf, ELEMENTSOF(pf), timeout_ms);
        if (r < 0)
                return errno == EINTR ? 0 : -errno;
        if (pf[0].revents)
                return -EINTR;
        if (pf[1].revents)
                (void) notify_socket_read_ready(in->notify_fd);
        for (size_t i = 0; i < ELEMENTSOF(procs); i++)
                if (pf[2 + i].revents) {
                        (void) proc_try_reap(procs[i]);
                        if (procs[i] == &in->kubelet) {
                                char what[64];

                                snprintf(what, sizeof what, "kubelet exited with status %d", exit_code(procs[i]));
                                stage_kubelet_failed(in, what);
                        } else
                                stage(in, "error %s exited with status %d; see %s/%s.log", names[i],
                                      exit_code(procs[i]), in->runtime_dir,
                                      procs[i] == &in->containerd ? "node" : names[i]);
                        return -ECHILD;
                }
        return 0;
}

/* A joined node is ready when the API says so: registered, its pod network configured (from the pod CIDR
 * the controller-manager gave it), its feature labels set, and its Ready condition True. */
static int wait_node_ready(struct init *in) {
        struct node_api api = {};
        struct un_error err = {};
        uint64_t start = now_usec(), registered = 0;
        bool cni = false, labelled = false;
        char last[sizeof err.msg] = "";
        int r;

        r = node_api_open(in->data_dir, in->server, in->name, &api, &err);
        if (r < 0) {
                stage(in, "error %s", err.msg);
                return r;
        }
        for (;;) {
                struct node_object o = {};
                uint64_t now;

                r = node_api_get(&api, &o, &err);
                now = now_usec();
                if (r < 0 && strcmp(err.msg, last) != 0) {
                        fprintf(stderr, "usernode-init: %s\n", err.msg);
                        snprintf(last, sizeof last, "%s", err.msg);
                }
                if (r >= 0 && o.exists) {
                        if (!registered) {
                                registered = now;
                                fprintf(stderr, "usernode-init: node %s registered\n", in->name);
                        }
                        if (o.pod_cidr && !up_cidr_valid(o.pod_cidr)) {
                                stage(in, "error the cluster gave node %s the pod CIDR '%.64s', not an IPv4 network",
                                      in->name, o.pod_cidr);
                                r = -EINVAL;
                                break;
                        }
                        if (o.pod_cidr && strcmp(o.pod_cidr, in->cni_cidr) != 0) {
                                r = write_cni(in, o.pod_cidr, &err);
                                if (r < 0) {
                                        stage(in, "error %s", err.msg);
                                        break;
                                }
                                pod_cidr_save(in, o.pod_cidr);
                        } else if (!in->cni_cidr[0] && !o.pod_cidr && now - registered >= POD_CIDR_WAIT_MS * 1000ull) {
                                fprintf(stderr, "usernode-init: the cluster gave node %s no pod CIDR "
                                        "(controller-manager without --allocate-node-cidrs): using %s\n",
                                        in->name, in->pod_cidr);
                                r = write_cni(in, in->pod_cidr, &err);
                                if (r < 0) {
                                        stage(in, "error %s", err.msg);
                                        break;
                                }
                        }
                        cni = in->cni_cidr[0] != '\0';
                        if (!labelled) {
                                _cleanup_strv_free_ char **labels = NULL;
                                int k = read_features(in, &labels);

                                if (k >= 0) {
                                        k = node_api_label(&api, labels, &err);
                                        if (k < 0)
                                                fprintf(stderr, "usernode-init: %s\n", err.msg);
                                        /* A slow or busy API server: again next round; only a refusal is final. */
                                        labelled = k >= 0 || k == -EACCES;
                                } else if (now - start >= FEATURES_WAIT_MS * 1000ull)
                                        labelled = true;
                        }
                        if (!o.ready && o.ready_message && strcmp(o.ready_message, last) != 0) {
                                fprintf(stderr, "usernode-init: node %s not ready: %s\n", in->name, o.ready_message);
                                snprintf(last, sizeof last, "%s", o.ready_message);
                        }
                        /* A Node that exists from an earlier run may still say Ready: only this kubelet's word counts. */
                        if (o.ready && o.ready_heartbeat >= in->kubelet_started && cni && labelled) {
                                node_object_done(&o);
                                stage(in, "stage api-ready");
                                r = 0;
                                break;
                        }
                }
                node_object_done(&o);
                /* Quick at first (a node is Ready a second after it registers), then gentle. */
                r = idle_for(in, now - start < 60000000ull ? 200 : 2000);
                if (r < 0)
                        break;
        }
        node_api_done(&api);
        return r;
}

/* The kubelet TLS-bootstraps in the background (its certificate manager, with rotation on): its READY=1
 * does not mean it holds a certificate. Waits for the file; a CSR not approved by CSR_WAIT_MS is reported. */
static int wait_client_cert(struct init *in) {
        _cleanup_free_ char *cert = xstrdup_printf("%s/%s", in->data_dir, NODE_KUBELET_CLIENT_CERT);
        uint64_t deadline = now_usec() + CSR_WAIT_MS * 1000ull;

        if (!cert)
                return -ENOMEM;
        for (;;) {
                int r;

                if (access(cert, R_OK) == 0)
                        return 0;
                if (now_usec() >= deadline) {
                        stage_csr_stuck(in);
                        return -ETIME;
                }
                r = idle_for(in, 100);
                if (r < 0)
                        return r;
        }
}

/* The Node's Ready condition to False while its kubelet does not run (a node that joined before: with its
 * certificate). Errors only go to the log: the API may be out of reach, the Node gone. */
static void node_not_ready(struct init *in, const char *reason, const char *message, unsigned timeout_ms) {
        _cleanup_free_ char *cert = xstrdup_printf("%s/%s", in->data_dir, NODE_KUBELET_CLIENT_CERT);
        struct node_api api = {};
        struct un_error err = {};
        int r;

        if (!cert || access(cert, R_OK) < 0)
                return;
        r = node_api_open(in->data_dir, in->server, in->name, &api, &err);
        if (r >= 0)
                r = node_api_set_not_ready(&api, reason, message, timeout_ms, &err);
        if (r < 0 && r != -ENOENT)
                fprintf(stderr, "usernode-init: %s\n", err.msg);
        node_api_done(&api);
}

static int wait_healthz(struct init *in) {
        uint64_t deadline = now_usec() + 60000000ull;

        for (;;) {
                int r = kubelet_healthz(KUBELET_HEALTHZ_PORT);

                if (r > 0)
                        return 0;
                if (now_usec() >= deadline) {
                        stage_kubelet_failed(in, "the kubelet's healthz is not ok after 60 s");
                        return -ETIME;
                }
                r = idle_for(in, 50);
                if (r < 0)
                        return r;
        }
}

/* containerd's READY=1 comes before its CRI plugin has restored its state; a kubelet started then exits. */
static int wait_cri(struct init *in) {
        uint64_t deadline = now_usec() + 60000000ull;
        struct un_error err = {};

        for (;;) {
                int r = cri_answers(in->params.address, &err);

                if (r > 0)
                        return 0;
                if (r == -EPROTONOSUPPORT) {
                        stage(in, "error %s; see %s/node.log", err.msg, in->runtime_dir);
                        return r;
                }
                if (now_usec() >= deadline) {
                        stage(in, "error containerd's CRI does not answer after 60 s: %s; see %s/node.log", err.msg,
                              in->runtime_dir);
                        return -ETIME;
                }
                r = idle_for(in, 20);
                if (r < 0)
                        return r;
        }
}

static int install_config(struct init *in) {
        struct un_error err = {};
        struct stat st;
        _cleanup_free_ char *text = NULL;
        int r;

        /* The node's CNI config is its own: replace copy-up's link to the host's /etc/cni (if any). */
        if (lstat("/etc/cni", &st) == 0 && S_ISLNK(st.st_mode) && unlink("/etc/cni") < 0) {
                stage(in, "error cannot replace /etc/cni in the node: %s", strerror(errno));
                return -errno;
        }
        /* containerd keeps task state that a killed run leaves behind: start clean. */
        (void) node_rm_rf(in->params.state);
        if (mkdir_p(in->params.root) < 0 || mkdir_p(in->params.state) < 0 || mkdir_p(CNI_CONF_DIR) < 0 ||
            mkdir_p(in->params.kubelet_dir) < 0) {
                stage(in, "error cannot create the node's directories: %s", strerror(errno));
                return -errno;
        }
        /* Leftovers of an earlier run: a joined node's pod network comes from its Node object. */
        (void) unlink(CNI_CONF_DIR "/10-usernode.conflist");
        r = kubelet_render_containerd_config(&in->params, &text, &err);
        if (r >= 0) {
                _cleanup_free_ char *config = xstrdup_printf("%s/containerd/config.toml", in->runtime_dir);

                r = config ? write_file(config, text, &err) : un_error(&err, ENOMEM, "containerd");
        }
        if (r >= 0 && !in->server)
                r = write_cni(in, in->pod_cidr, &err);
        if (r >= 0 && in->server) {
                _cleanup_free_ char *known = pod_cidr_load(in);

                if (known)
                        r = write_cni(in, known, &err);
        }
        if (r < 0)
                stage(in, "error %s", err.msg);
        return r;
}

static int init_run(struct init *in) {
        _cleanup_free_ char *cdir = xstrdup_printf("%s/containerd", in->runtime_dir);
        _cleanup_free_ char *root = xstrdup_printf("%s/containerd", in->data_dir);
        _cleanup_free_ char *state = xstrdup_printf("%s/containerd/state", in->runtime_dir);
        _cleanup_free_ char *address = xstrdup_printf("%s/containerd/containerd.sock", in->runtime_dir);
        _cleanup_free_ char *config = xstrdup_printf("%s/containerd/config.toml", in->runtime_dir);
        _cleanup_free_ char *kdir = xstrdup_printf("%s/kubelet", in->data_dir);
        _cleanup_free_ char *opt = xstrdup_printf("%s/containerd/opt", in->data_dir);
        _cleanup_free_ char *notify = xstrdup_printf("%s/init-notify.sock", in->runtime_dir);
        _cleanup_free_ char *bootstrap = xstrdup_printf("%s/%s", in->data_dir, NODE_KUBELET_BOOTSTRAP);
        _cleanup_free_ char *crun = find_binary("crun"), *runc = find_binary("runc"), *kubelet = NULL, *proxy = NULL;
        _cleanup_free_ char *notify_env = NULL;
        struct un_error err = {};
        int r;

        if (!cdir || !root || !state || !address || !config || !kdir || !opt || !notify || !bootstrap) {
                stage(in, "error out of memory");
                return -ENOMEM;
        }
        stage(in, "stage namespace");
        stage(in, "pid init %d", (int) getpid());
        (void) sethostname(in->name, strlen(in->name));
        if (in->resolv_conf) {
                r = install_resolv_conf(in->resolv_conf);
                if (r < 0) {
                        stage(in, "error cannot write the node's /etc/resolv.conf from %s: %s", in->resolv_conf,
                              strerror(-r));
                        return r;
                }
        }
        if (in->node_ip) {
                r = netlink_add_unrouted_address(in->node_ip);
                if (r < 0) {
                        stage(in, "error cannot give the node its address %s: %s", in->node_ip, strerror(-r));
                        return r;
                }
        }
        stage(in, "stage network");

        r = mount_cgroup_workaround();
        if (r < 0) {
                stage(in, "error cannot mount a tmpfs over /sys/fs/cgroup/unified (crun on a hybrid host): %s",
                      strerror(-r));
                return r;
        }
        r = mount_opt_cni(in);
        if (r < 0) {
                stage(in, "error cannot make /opt/cni/bin point to /usr/lib/cni: %s", strerror(-r));
                return r;
        }
        r = mount_var_log(in);
        if (r < 0) {
                stage(in, "error cannot bind the node's log directory over /var/log: %s", strerror(-r));
                return r;
        }
        in->params = (struct kubelet_params) {
                .root = root, .state = state, .address = address, .opt_dir = opt, .kubelet_dir = kdir,
                .snapshotter = probe_snapshotter(in), .cni_bin_dir = CNI_BIN_DIR, .cni_conf_dir = CNI_CONF_DIR,
                .pod_cidr = in->pod_cidr, .mtu = in->mtu, .crun_binary = crun ? crun : "crun",
                .runc_binary = runc ? runc : "runc", .runtime = crun ? "crun" : "runc",
                .disable_cgroup = !cgroup_delegated(), .cgroup_driver = "cgroupfs",
                .sandbox_image = in->sandbox_image,
        };
        r = install_config(in);
        if (r < 0)
                return r;

        in->notify_fd = notify_socket_open(notify, &err);
        notify_env = xstrdup_printf("NOTIFY_SOCKET=%s", notify);
        if (in->notify_fd < 0 || !notify_env) {
                stage(in, "error %s", err.msg);
                return -EIO;
        }
        {
                char *argv[] = { (char *) "containerd", (char *) "--config", config, NULL };
                char *env[] = { notify_env, NULL };

                r = proc_spawn(argv, env, -1, -1, -1, &in->containerd, &err);
        }
        if (r < 0) {
                stage(in, "error %s", err.msg);
                return r;
        }
        stage(in, "pid containerd %d", (int) in->containerd.pid);
        r = wait_ready_bounded(in, &in->containerd, -1);
        if (r == -ECHILD) {
                stage(in, "error containerd exited during start; see %s/node.log", in->runtime_dir);
                return r;
        }
        if (r < 0)
                return r;
        r = wait_cri(in);
        if (r < 0)
                return r;
        stage(in, "stage containerd");

        kubelet = find_binary("kubelet");
        if (!kubelet) {
                if (!in->containerd_only) {
                        stage(in, "error no kubelet on PATH: the kubelet engine needs the Kubernetes node binary "
                                  "(not packaged by Debian); install it, use --engine k3s, or pass --ignore "
                                  "engine.kubelet to run containerd only");
                        return -ENOENT;
                }
                fprintf(stderr, "usernode-init: no kubelet on PATH: this node runs containerd only\n");
                stage(in, "stage engine");
                stage(in, "stage api-ready");
                return 0;
        }
        if (in->server)
                node_not_ready(in, "KubeletStarting", "usernode is starting the kubelet", 2000);
        r = start_kubelet(in, kubelet, notify_env, &err);
        if (r < 0) {
                stage(in, "error %s", err.msg);
                return r;
        }
        stage(in, "pid engine %d", (int) in->kubelet.pid);
        r = wait_ready_bounded(in, &in->kubelet, -1);
        if (r == -ECHILD) {
                char what[64];

                snprintf(what, sizeof what, "kubelet exited with status %d during start", exit_code(&in->kubelet));
                stage_kubelet_failed(in, what);
                return r;
        }
        if (r < 0)
                return r;
        if (!in->server) {
                /* No API server: the kubelet is ready when its own health check says so (READY=1 comes before
                 * its modules run, and it can die right after). */
                stage(in, "stage engine");
                r = wait_healthz(in);
                if (r < 0)
                        return r;
                stage(in, "stage api-ready");
                return 0;
        }
        r = wait_client_cert(in);
        if (r < 0)
                return r;
        stage(in, "stage engine");
        /* The kubelet has its certificate: the token leaves the disk, as after `kubeadm join`. */
        if (unlink(bootstrap) < 0 && errno != ENOENT)
                fprintf(stderr, "usernode-init: cannot remove %s: %s\n", bootstrap, strerror(errno));
        proxy = find_binary("kube-proxy");
        if (proxy && !kube_proxy_allowed(in)) {
                free(proxy);
                proxy = NULL;
        }
        if (proxy) {
                r = start_kube_proxy(in, proxy, &err);
                if (r < 0) {
                        stage(in, "error %s", err.msg);
                        return r;
                }
                stage(in, "pid kube-proxy %d", (int) in->kube_proxy.pid);
        } else
                fprintf(stderr, "usernode-init: no kube-proxy on PATH: pods on this node cannot reach Services\n");
        return wait_node_ready(in);
}

/* Which limits this node cannot enforce, from the labels `up` wrote (0 for a node without a cluster). */
static unsigned unenforced_limits(struct init *in) {
        _cleanup_strv_free_ char **labels = NULL;

        if (!in->server || read_features(in, &labels) < 0)
                return 0;
        return pod_limits_unenforced(labels);
}

/* Idles until told to stop or until containerd, the kubelet or kube-proxy dies. On a host that cannot
 * enforce some limits, looks at this node's pods every LIMITS_POLL_MS and tells those that set them. */
static int init_idle(struct init *in) {
        const unsigned unenforced = unenforced_limits(in);
        _cleanup_strv_free_ char **warned = NULL;
        struct node_api api = {};
        char last[sizeof ((struct un_error) {}).msg] = "";
        int r;

        if (unenforced) {
                struct un_error err = {};

                if (node_api_open(in->data_dir, in->server, in->name, &api, &err) < 0) {
                        fprintf(stderr, "usernode-init: pods with limits will not be told: %s\n", err.msg);
                        node_api_done(&api);
                }
        }
        for (;;) {
                if (api.name) {
                        struct un_error err = {};

                        /* Each new error once: a cluster that refuses is not worth a line every 5 s. */
                        if (pod_limits_warn(&api, unenforced, &warned, &err) < 0 && strcmp(err.msg, last) != 0) {
                                fprintf(stderr, "usernode-init: %s\n", err.msg);
                                snprintf(last, sizeof last, "%s", err.msg);
                        }
                }
                r = idle_for(in, api.name ? LIMITS_POLL_MS : -1);
                if (r < 0)
                        break;
        }
        node_api_done(&api);
        return r == -EINTR ? 0 : r;
}

int kubelet_init_main(int argc, char **argv) {
        struct init in = {
                .pod_cidr = USERNODE_POD_CIDR, .mtu = UP_MTU, .stage_fd = -1, .notify_fd = -1, .signal_fd = -1,
                .containerd = PROC_NULL, .kubelet = PROC_NULL, .kube_proxy = PROC_NULL,
                .kubelet_port = UP_KUBELET_PORT, .pod_pids_limit = UP_POD_PIDS_LIMIT_DEFAULT,
                .sandbox_image = UP_SANDBOX_IMAGE,
        };
        const char *fd_env = getenv(UP_STAGE_FD_ENV);
        sigset_t mask;
        uint32_t fd;
        int r;

        for (int i = 1; i < argc; i++) {
                const char **dst = NULL;

                if (strcmp(argv[i], "--containerd-only") == 0) {
                        in.containerd_only = true;
                        continue;
                }
                if (strcmp(argv[i], "--name") == 0)
                        dst = &in.name;
                else if (strcmp(argv[i], "--runtime-dir") == 0)
                        dst = &in.runtime_dir;
                else if (strcmp(argv[i], "--data-dir") == 0)
                        dst = &in.data_dir;
                else if (strcmp(argv[i], "--server") == 0)
                        dst = &in.server;
                else if (strcmp(argv[i], "--pod-cidr") == 0)
                        dst = &in.pod_cidr;
                else if (strcmp(argv[i], "--resolv-conf") == 0)
                        dst = &in.resolv_conf;
                else if (strcmp(argv[i], "--node-ip") == 0)
                        dst = &in.node_ip;
                else if (strcmp(argv[i], "--sandbox-image") == 0)
                        dst = &in.sandbox_image;
                else if (strcmp(argv[i], "--mtu") == 0 || strcmp(argv[i], "--kubelet-port") == 0) {
                        bool mtu = argv[i][2] == 'm';
                        uint32_t v;

                        if (i + 1 >= argc || parse_u32(argv[i + 1], &v) < 0 ||
                            (mtu ? v < 1280 || v > UP_MTU : v == 0 || v > 65535)) {
                                fprintf(stderr, "usernode __node-init: bad %s\n", argv[i]);
                                return 2;
                        }
                        *(mtu ? &in.mtu : &in.kubelet_port) = v;
                        i++;
                        continue;
                } else if (strcmp(argv[i], "--pod-pids-limit") == 0) {
                        if (i + 1 >= argc || up_pod_pids_limit_parse(argv[i + 1], &in.pod_pids_limit) < 0) {
                                fprintf(stderr, "usernode __node-init: bad --pod-pids-limit\n");
                                return 2;
                        }
                        i++;
                        continue;
                }
                if (!dst || i + 1 >= argc || strlen(argv[i + 1]) > 4096) {
                        fprintf(stderr, "usernode __node-init: bad argument '%s'\n", argv[i]);
                        return 2;
                }
                *dst = argv[++i];
        }
        if (!in.name || !in.runtime_dir || !in.data_dir || in.runtime_dir[0] != '/' || in.data_dir[0] != '/') {
                fprintf(stderr, "usernode __node-init: --name, --runtime-dir and --data-dir are required\n");
                return 2;
        }
        if (fd_env && parse_u32(fd_env, &fd) >= 0 && fd > 2 && fd < 1024 && fcntl((int) fd, F_GETFD) >= 0) {
                in.stage_fd = (int) fd;
                (void) fcntl(in.stage_fd, F_SETFD, FD_CLOEXEC);
        }
        unsetenv(UP_STAGE_FD_ENV);
        signal(SIGPIPE, SIG_IGN);
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        in.signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (in.signal_fd < 0) {
                stage(&in, "error signalfd: %s", strerror(errno));
                return 1;
        }
        r = init_run(&in);
        if (r >= 0)
                r = init_idle(&in);
        shutdown_node(&in);
        proc_done(&in.containerd);
        proc_done(&in.kubelet);
        proc_done(&in.kube_proxy);
        return r < 0 ? 1 : 0;
}
