/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the init mounts in the node's mount namespace, what it unmounts on down --purge, and the probes of
 * what can be mounted here (overlayfs for containerd, a cgroup tree of the node's own). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "cgroup.h"
#include "host.h"
#include "cgroup-tree.h"
#include "init.h"
#include "rm-rf.h"
#include "util.h"

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
bool init_cgroup_delegated(void) {
        _cleanup_free_ char *text = NULL;
        const struct host *h = host_live();
        struct stat st = { .st_uid = (uid_t) -1 };
        int r;

        if (!is_fs("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC))
                return false;
        /* A cgroup2 tree that is not the node's: say why, once per start (set_params asks once). */
        if (stat("/sys/fs/cgroup/cgroup.procs", &st) < 0 || st.st_uid != 0 ||
            access("/sys/fs/cgroup/cgroup.subtree_control", W_OK) < 0) {
                fprintf(stderr, "usernode-init: the cgroup2 tree at /sys/fs/cgroup is not the node's own (its root "
                        "belongs to UID %d here): cgroups disabled\n", (int) st.st_uid);
                return false;
        }
        r = host_read_file(h, "/sys/fs/cgroup/cgroup.subtree_control", HOST_FILE_MAX, &text, NULL);
        /* The tree is ours and offers memory, but does not pass it on (a worker's, whose PID 1 moved its processes
         * into a leaf): turn its controllers on for its children, as rootlesskit does for the node. */
        if (r >= 0 && !(controllers_from_string(text, NULL) & CONTROLLER_MEMORY) &&
            (cgroup_tree_controllers("/", "cgroup.controllers") & CONTROLLER_MEMORY) && cgroup_tree_enable_all("/") >= 0) {
                fprintf(stderr, "usernode-init: the node's cgroup controllers were off for its children: turned on\n");
                free(text);
                text = NULL;
                r = host_read_file(h, "/sys/fs/cgroup/cgroup.subtree_control", HOST_FILE_MAX, &text, NULL);
        }
        if (r < 0 || !(controllers_from_string(text, NULL) & CONTROLLER_MEMORY)) {
                _cleanup_free_ char *own = NULL, *have = NULL, *mounts = NULL;

                (void) host_read_file(h, "/proc/self/cgroup", HOST_FILE_MAX, &own, NULL);
                if (host_read_file(h, "/proc/self/mountinfo", HOST_FILE_MAX, &mounts, NULL) >= 0)
                        for (char *cursor = mounts, *line; (line = line_next(&cursor, HOST_LINE_MAX, NULL));)
                                if (strstr(line, " /sys/fs/cgroup "))
                                        fprintf(stderr, "usernode-init: mount: %s\n", line);
                (void) host_read_file(h, "/sys/fs/cgroup/cgroup.controllers", HOST_FILE_MAX, &have, NULL);
                fprintf(stderr, "usernode-init: the node's cgroup2 tree enables no memory controller for its children "
                        "(\"%s\", of \"%s\"; this process in %s): cgroups disabled\n", r < 0 ? strerror(-r) : strstrip(text),
                        have ? strstrip(have) : "?", own ? strstrip(own) : "?");
                return false;
        }
        return true;
}

/* Tools that hard-code /opt/cni/bin (ctr run --cni) find Debian's plugins in /usr/lib/cni: copy /opt
 * up as rootlesskit does for /etc (a tmpfs of symlinks to the original entries). */
static int mount_opt_cni(struct init *in) {
        _cleanup_free_ char *lower = xstrdup_printf("%s/opt-lower", in->runtime_dir);
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        if (access(INIT_CNI_BIN_DIR, F_OK) == 0 || access("/usr/lib/cni", F_OK) < 0)
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
        return symlink("/usr/lib/cni", INIT_CNI_BIN_DIR) < 0 ? -errno : 0;
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

int init_mount(struct init *in) {
        int r;

        r = mount_cgroup_workaround();
        if (r < 0) {
                init_stage(in, "error cannot mount a tmpfs over /sys/fs/cgroup/unified (crun on a hybrid host): %s",
                           strerror(-r));
                return r;
        }
        r = mount_opt_cni(in);
        if (r < 0) {
                init_stage(in, "error cannot make /opt/cni/bin point to /usr/lib/cni: %s", strerror(-r));
                return r;
        }
        r = mount_var_log(in);
        if (r < 0) {
                init_stage(in, "error cannot bind the node's log directory over /var/log: %s", strerror(-r));
                return r;
        }
        return 0;
}

/* overlayfs in this user namespace, else fuse-overlayfs (with its containerd plugin), else native. */
const char *init_probe_snapshotter(struct init *in) {
        _cleanup_free_ char *base = xstrdup_printf("%s/.overlay-probe", in->data_dir);
        _cleanup_free_ char *l = NULL, *u = NULL, *w = NULL, *m = NULL, *opts = NULL;
        const struct host *h = host_live();
        _cleanup_free_ char *plugin = NULL;
        bool ok = false;

        if (base) {
                l = xstrdup_printf("%s/l", base);
                u = xstrdup_printf("%s/u", base);
                w = xstrdup_printf("%s/w", base);
                m = xstrdup_printf("%s/m", base);
                opts = xstrdup_printf("lowerdir=%s,upperdir=%s,workdir=%s", l, u, w);
        }
        /* volatile (Linux 5.10): unmounting an overlay syncs its upper directory's whole filesystem, which took
         * 0.1 s of every start here and more with other writes pending; one that lacks the option is probed
         * without. */
        if (opts && init_mkdir_p(l) >= 0 && init_mkdir_p(u) >= 0 && init_mkdir_p(w) >= 0 && init_mkdir_p(m) >= 0) {
                _cleanup_free_ char *volatile_opts = xstrdup_printf("%s,volatile", opts);

                ok = (volatile_opts && mount("overlay", m, "overlay", 0, volatile_opts) == 0) ||
                     mount("overlay", m, "overlay", 0, opts) == 0;
                if (ok)
                        (void) umount2(m, MNT_DETACH);
        }
        if (base)
                (void) rm_rf(base);
        if (ok)
                return "overlayfs";
        if (host_find_executable(h, "containerd-fuse-overlayfs-grpc", &plugin) >= 0 && access("/dev/fuse", R_OK | W_OK) == 0)
                return "fuse-overlayfs";
        return "native";
}

/* rootlesskit wrote /etc/resolv.conf (copied up) from its driver's DNS; the host side decided it
 * cannot work (a loopback stub) and prepared one with reachable upstreams. */
int init_install_resolv_conf(const char *src) {
        const struct host *h = host_live();
        _cleanup_free_ char *text = NULL;
        struct un_error err = {};
        int r;

        r = host_read_file(h, src, HOST_FILE_MAX, &text, NULL);
        if (r < 0)
                return r;
        r = init_write_file("/etc/resolv.conf", text, &err);
        return r < 0 ? -err.code : 0;
}

/* Whether a hosts(5) text has a line naming name. */
static bool hosts_names(const char *text, const char *name) {
        _cleanup_free_ char *copy = strdup(text);
        char *cursor = copy, *line;

        while (copy && (line = line_next(&cursor, HOST_LINE_MAX, NULL))) {
                _cleanup_strv_free_ char **f = NULL;

                *strchrnul(line, '#') = '\0';
                if (strv_split(line, " \t", &f) < 0)
                        continue;
                for (size_t i = 1; f && f[i]; i++)
                        if (strcmp(f[i], name) == 0)
                                return true;
        }
        return false;
}

int init_install_hosts(const char *name, const char *runtime_dir) {
        const struct host *h = host_live();
        _cleanup_free_ char *text = NULL, *next = NULL, *copy = xstrdup_printf("%s/hosts", runtime_dir);
        struct un_error err = {};
        int r;

        if (!copy)
                return -ENOMEM;
        r = host_read_file(h, "/etc/hosts", HOST_FILE_MAX, &text, NULL);
        if (r == -ENOENT)
                text = strdup("");
        else if (r < 0)
                return r;
        if (!text)
                return -ENOMEM;
        if (hosts_names(text, name))
                return 0;
        next = xstrdup_printf("%s%s127.0.1.1\t%s\n", text, text[0] && text[strlen(text) - 1] != '\n' ? "\n" : "", name);
        if (!next)
                return -ENOMEM;
        /* Mounted over it, not renamed onto it: /etc/hosts may be a mount point itself (a container's, a VM's),
         * and the mount stays in the node's mount namespace. */
        r = init_write_file(copy, next, &err);
        if (r < 0)
                return -err.code;
        if (access("/etc/hosts", F_OK) < 0 && init_write_file("/etc/hosts", "", &err) < 0)
                return -err.code;
        return mount(copy, "/etc/hosts", NULL, MS_BIND, NULL) < 0 ? -errno : 0;
}

/* Unmounts whatever the node mounted under dir (container rootfs, the /opt bind), deepest first. */
void init_umount_under(const char *dir) {
        _cleanup_free_ char *text = NULL;
        _cleanup_strv_free_ char **points = NULL;
        const struct host *h = host_live();
        char *cursor, *line;
        size_t n = strlen(dir);

        if (host_read_file(h, "/proc/self/mountinfo", HOST_FILE_MAX, &text, NULL) < 0)
                return;
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

void init_purge(struct init *in) {
        _cleanup_free_ char *cstate = xstrdup_printf("%s/containerd", in->runtime_dir);
        _cleanup_free_ char *lower = xstrdup_printf("%s/opt-lower", in->runtime_dir);

        /* We are root of the node's user namespace: files of any sub-ID go here. What k3s mounted (the user's
         * images, its pods' volumes) is under its data's other path. */
        init_umount_under(INIT_K3S_DATA_INSIDE);
        init_umount_under(in->data_dir);
        if (cstate)
                init_umount_under(cstate);
        if (lower)
                init_umount_under(lower);
        (void) rm_rf(in->data_dir);
        if (cstate)
                (void) rm_rf(cstate);
        if (lower)
                (void) rm_rf(lower);
}
