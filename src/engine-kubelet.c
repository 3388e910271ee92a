/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The kubelet engine (usernetes-style): usernode runs rootlesskit, and inside it usernode's own
 * init mounts what the node needs, starts containerd and then kubelet, reporting each stage to
 * the supervisor through the stage pipe. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
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
#include <unistd.h>

#include "cgroup.h"
#include "host.h"
#include "netlink.h"
#include "supervise.h"
#include "template.h"
#include "up.h"
#include "util.h"

#define CHILD_STOP_MS 3000
#define CNI_CONF_DIR "/etc/cni/net.d"
#define CNI_BIN_DIR "/opt/cni/bin"

static int push_pair(char ***argv, const char *opt, const char *value) {
        int r = strv_push(argv, opt);

        return r < 0 ? r : strv_push(argv, value);
}

static int command(const struct node *n, const struct up_options *o, char ***ret_argv, char ***ret_env,
                   struct un_error *err) {
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *state = node_runtime_path(n, "rootlesskit"), *resolv = NULL;
        struct rootlesskit_config c = {
                .port_driver = o->port_driver, .mtu = UP_MTU, .state_dir = state, .ipv6 = o->enable_ipv6,
                /* The node's processes into a leaf of its cgroup, a fresh cgroup2 mount inside. */
                .evacuate_cgroup2 = n->cgroup ? NODE_CGROUP_EVACUATE : NULL,
        };
        struct host h = { .root_fd = -EBADF };
        struct up_cidrs nets;
        char mtu[16];
        int r;

        if (!state)
                return un_error(err, ENOMEM, "kubelet engine");
        r = net_driver_pick(o->net, &c.net, err);
        if (r < 0)
                return r;
        if (o->port_driver == PORT_DRIVER_SLIRP4NETNS && strcmp(c.net->name, "slirp4netns") != 0)
                return un_error(err, EINVAL, "--port-driver slirp4netns needs --net slirp4netns (the network is %s)",
                                c.net->name);
        r = up_pick_cidrs(o, &nets, err);
        if (r < 0)
                return r;
        /* lxc-user-nic takes its address from DHCP on the bridge; --cidr is slirp's network. */
        if (strcmp(c.net->name, "lxc-user-nic") != 0)
                c.cidr = nets.slirp;
        c.mtu = c.net->mtu();
        if (host_init(&h, "/", err) < 0)
                return -EIO;
        c.subid_static = rootlesskit_subids_static(&h);
        host_done(&h);
        r = node_resolv_conf_file(n, o, &resolv, err);
        if (r < 0)
                return r;
        /* rootlesskit refuses a state dir left by a run that was killed. */
        if (!o->dry_run)
                (void) node_rm_rf(state);
        r = rootlesskit_argv(&c, o, &argv);
        if (r < 0)
                return un_error(err, r, "rootlesskit arguments");
        snprintf(mtu, sizeof mtu, "%u", c.mtu);
        const char *const init[] = { o->self, "__node-init", "--name", n->name, "--runtime-dir", n->runtime_dir,
                                     "--data-dir", n->data_dir, "--pod-cidr", nets.cluster, "--mtu", mtu };
        for (size_t i = 0; i < ELEMENTSOF(init); i++)
                if (strv_push(&argv, init[i]) < 0)
                        return un_error(err, ENOMEM, "kubelet engine");
        if ((resolv && push_pair(&argv, "--resolv-conf", resolv) < 0) ||
            (o->server && (push_pair(&argv, "--server", o->server) < 0 || push_pair(&argv, "--token", o->token) < 0)))
                return un_error(err, ENOMEM, "kubelet engine");
        if (o->containerd_only && strv_push(&argv, "--containerd-only") < 0)
                return un_error(err, ENOMEM, "kubelet engine");
        *ret_argv = TAKE_PTR(argv);
        *ret_env = NULL;
        return 0;
}

const struct node_engine engine_kubelet = {
        .id = ENGINE_KUBELET,
        .name = "kubelet",
        .command = command,
        .has_init = true,
};

static int render(const char *template, const struct template_var *vars, size_t n, char **ret, struct un_error *err) {
        _cleanup_free_ char *text = NULL;
        int r = template_load(template, &text, err);

        return r < 0 ? r : template_render(template, text, vars, n, ret, err);
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
        };

        return render("containerd-config.toml.in", vars, ELEMENTSOF(vars), ret, err);
}

int kubelet_render_cni(const struct kubelet_params *p, char **ret_conflist, char **ret_loopback,
                       struct un_error *err) {
        char mtu[16];
        const struct template_var vars[] = { { "pod_cidr", p->pod_cidr }, { "mtu", mtu } };
        int r;

        snprintf(mtu, sizeof mtu, "%u", p->mtu);
        r = render("cni-bridge.conflist.in", vars, ELEMENTSOF(vars), ret_conflist, err);
        if (r < 0)
                return r;
        r = render("cni-loopback.conf.in", vars, 0, ret_loopback, err);
        if (r < 0) {
                free(*ret_conflist);
                *ret_conflist = NULL;
        }
        return r;
}

int kubelet_render_kubelet_config(const struct kubelet_params *p, char **ret, struct un_error *err) {
        const struct template_var vars[] = {
                { "cgroup_driver", p->cgroup_driver },
                { "cgroups_per_qos", p->disable_cgroup ? "false" : "true" },
                { "address", p->address },
                { "kubelet_dir", p->kubelet_dir },
        };

        return render("kubelet-config.yaml.in", vars, ELEMENTSOF(vars), ret, err);
}

/* Everything below runs inside the node's namespaces, as root of its user namespace. */
struct init {
        const char *name, *runtime_dir, *data_dir, *server, *token, *pod_cidr, *resolv_conf;
        unsigned mtu;
        bool containerd_only;
        int stage_fd;
        int notify_fd;
        int signal_fd;
        struct proc containerd, kubelet;
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

/* Waits until child sends READY=1, dies, or a signal asks us to stop. 0 ready, -ECHILD died, -EINTR stop. */
static int wait_ready(struct init *in, struct proc *child) {
        for (;;) {
                struct pollfd pf[3] = {
                        { .fd = in->notify_fd, .events = POLLIN },
                        { .fd = child->pidfd, .events = POLLIN },
                        { .fd = in->signal_fd, .events = POLLIN },
                };
                int r = poll(pf, 3, -1);

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

static void shutdown_node(struct init *in) {
        _cleanup_free_ char *purge = xstrdup_printf("%s/purge", in->runtime_dir);

        /* In order: the engine, then containerd, then what they left (shims, containers). */
        proc_stop(&in->kubelet, CHILD_STOP_MS);
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

static int init_run(struct init *in) {
        struct kubelet_params p = {
                .snapshotter = "native", .cni_bin_dir = CNI_BIN_DIR, .cni_conf_dir = CNI_CONF_DIR,
                .pod_cidr = in->pod_cidr, .mtu = in->mtu,
        };
        _cleanup_free_ char *cdir = xstrdup_printf("%s/containerd", in->runtime_dir);
        _cleanup_free_ char *root = xstrdup_printf("%s/containerd", in->data_dir);
        _cleanup_free_ char *state = xstrdup_printf("%s/containerd/state", in->runtime_dir);
        _cleanup_free_ char *address = xstrdup_printf("%s/containerd/containerd.sock", in->runtime_dir);
        _cleanup_free_ char *config = xstrdup_printf("%s/containerd/config.toml", in->runtime_dir);
        _cleanup_free_ char *kdir = xstrdup_printf("%s/kubelet", in->data_dir);
        _cleanup_free_ char *kconfig = xstrdup_printf("%s/kubelet/config.yaml", in->data_dir);
        _cleanup_free_ char *opt = xstrdup_printf("%s/containerd/opt", in->data_dir);
        _cleanup_free_ char *notify = xstrdup_printf("%s/init-notify.sock", in->runtime_dir);
        _cleanup_free_ char *crun = find_binary("crun"), *runc = find_binary("runc"), *kubelet = NULL;
        _cleanup_free_ char *text = NULL, *loopback = NULL, *notify_env = NULL, *endpoint = NULL;
        struct un_error err = {};
        int r;

        if (!cdir || !root || !state || !address || !config || !kdir || !kconfig || !opt || !notify) {
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
        p.root = root;
        p.state = state;
        p.address = address;
        p.opt_dir = opt;
        p.kubelet_dir = kdir;
        p.snapshotter = probe_snapshotter(in);
        p.crun_binary = crun ? crun : "crun";
        p.runc_binary = runc ? runc : "runc";
        p.runtime = crun ? "crun" : "runc";
        p.disable_cgroup = !cgroup_delegated();
        /* cgroupfs, also under a user manager: its systemd would put pods in scopes of its own tree, outside
         * the node's cgroup namespace, and is not reachable over D-Bus from inside the node anyway. */
        p.cgroup_driver = "cgroupfs";

        /* The node's CNI config is its own: replace copy-up's link to the host's /etc/cni (if any). */
        {
                struct stat st;

                if (lstat("/etc/cni", &st) == 0 && S_ISLNK(st.st_mode) && unlink("/etc/cni") < 0) {
                        stage(in, "error cannot replace /etc/cni in the node: %s", strerror(errno));
                        return -errno;
                }
        }
        /* containerd keeps task state that a killed run leaves behind: start clean. */
        (void) node_rm_rf(state);
        if (mkdir_p(cdir) < 0 || mkdir_p(root) < 0 || mkdir_p(CNI_CONF_DIR) < 0 || mkdir_p(kdir) < 0) {
                stage(in, "error cannot create the node's directories: %s", strerror(errno));
                return -errno;
        }
        r = kubelet_render_containerd_config(&p, &text, &err);
        if (r >= 0)
                r = write_file(config, text, &err);
        free(text);
        text = NULL;
        if (r >= 0)
                r = kubelet_render_cni(&p, &text, &loopback, &err);
        if (r >= 0)
                r = write_file(CNI_CONF_DIR "/10-usernode.conflist", text, &err);
        if (r >= 0)
                r = write_file(CNI_CONF_DIR "/99-loopback.conf", loopback, &err);
        if (r < 0) {
                stage(in, "error %s", err.msg);
                return r;
        }

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
        r = wait_ready(in, &in->containerd);
        if (r == -ECHILD) {
                stage(in, "error containerd exited during start; see %s/node.log", in->runtime_dir);
                return r;
        }
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
        r = kubelet_render_kubelet_config(&p, &text, &err);
        if (r >= 0)
                r = write_file(kconfig, text, &err);
        if (r < 0) {
                stage(in, "error %s", err.msg);
                return r;
        }
        endpoint = xstrdup_printf("unix://%s", address);
        {
                _cleanup_strv_free_ char **argv = NULL;
                _cleanup_free_ char *a1 = xstrdup_printf("--config=%s", kconfig);
                _cleanup_free_ char *a2 = xstrdup_printf("--container-runtime-endpoint=%s", endpoint);
                _cleanup_free_ char *a3 = xstrdup_printf("--root-dir=%s", kdir);
                _cleanup_free_ char *a4 = xstrdup_printf("--hostname-override=%s", in->name);
                _cleanup_free_ char *a5 = xstrdup_printf("--kubeconfig=%s/kubeconfig.yaml", kdir);
                _cleanup_free_ char *a6 = xstrdup_printf("--bootstrap-kubeconfig=%s/bootstrap-kubeconfig.yaml", kdir);
                char *env[] = { notify_env, NULL };

                if (!endpoint || !a1 || !a2 || !a3 || !a4 || !a5 || !a6 || strv_push(&argv, kubelet) < 0 ||
                    strv_push(&argv, a1) < 0 || strv_push(&argv, a2) < 0 || strv_push(&argv, a3) < 0 ||
                    strv_push(&argv, a4) < 0) {
                        stage(in, "error out of memory");
                        return -ENOMEM;
                }
                if (in->server) {
                        _cleanup_free_ char *bk = NULL, *bpath = xstrdup_printf("%s/bootstrap-kubeconfig.yaml", kdir);
                        const struct template_var vars[] = { { "server", in->server }, { "token", in->token },
                                                             { "name", in->name } };

                        r = bpath ? render("kubelet-bootstrap-kubeconfig.yaml.in", vars, ELEMENTSOF(vars), &bk, &err)
                                  : -ENOMEM;
                        if (r >= 0)
                                r = write_file(bpath, bk, &err);
                        if (r < 0 || strv_push(&argv, a5) < 0 || strv_push(&argv, a6) < 0) {
                                stage(in, "error %s", err.msg);
                                return r < 0 ? r : -ENOMEM;
                        }
                }
                r = proc_spawn(argv, env, -1, -1, -1, &in->kubelet, &err);
        }
        if (r < 0) {
                stage(in, "error %s", err.msg);
                return r;
        }
        stage(in, "pid engine %d", (int) in->kubelet.pid);
        stage(in, "stage engine");
        r = wait_ready(in, &in->kubelet);
        if (r == -ECHILD) {
                stage(in, "error kubelet exited during start; see %s/node.log", in->runtime_dir);
                return r;
        }
        if (r < 0)
                return r;
        stage(in, "stage api-ready");
        return 0;
}

/* Idles until told to stop or until containerd or kubelet dies. */
static int init_idle(struct init *in) {
        for (;;) {
                struct pollfd pf[4] = {
                        { .fd = in->signal_fd, .events = POLLIN },
                        { .fd = in->containerd.pidfd, .events = POLLIN },
                        { .fd = in->kubelet.pid > 0 ? in->kubelet.pidfd : -1, .events = POLLIN },
                        { .fd = in->notify_fd, .events = POLLIN },
                };
                int r = poll(pf, 4, -1);

                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (pf[0].revents)
                        return 0;
                if (pf[3].revents)
                        (void) notify_socket_read_ready(in->notify_fd);
                for (int i = 1; i <= 2; i++)
                        if (pf[i].revents) {
                                struct proc *p = i == 1 ? &in->containerd : &in->kubelet;

                                (void) proc_try_reap(p);
                                stage(in, "error %s exited with status %d; see %s/node.log",
                                      i == 1 ? "containerd" : "kubelet",
                                      WIFEXITED(p->status) ? WEXITSTATUS(p->status) : 128 + WTERMSIG(p->status),
                                      in->runtime_dir);
                                return -ECHILD;
                        }
        }
}

int kubelet_init_main(int argc, char **argv) {
        struct init in = {
                .pod_cidr = USERNODE_POD_CIDR, .mtu = UP_MTU, .stage_fd = -1, .notify_fd = -1, .signal_fd = -1, .containerd = PROC_NULL, .kubelet = PROC_NULL,
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
                else if (strcmp(argv[i], "--token") == 0)
                        dst = &in.token;
                else if (strcmp(argv[i], "--pod-cidr") == 0)
                        dst = &in.pod_cidr;
                else if (strcmp(argv[i], "--resolv-conf") == 0)
                        dst = &in.resolv_conf;
                else if (strcmp(argv[i], "--mtu") == 0) {
                        if (i + 1 >= argc || parse_u32(argv[i + 1], &in.mtu) < 0 || in.mtu < 1280 || in.mtu > UP_MTU) {
                                fprintf(stderr, "usernode __node-init: bad --mtu\n");
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
        return r < 0 ? 1 : 0;
}
