/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A node's workers (`up --workers N`): more nodes of its cluster on the same host, each a usernode init of its own
 * (a joined node: containerd, kubelet, kube-proxy) in network, mount, UTS, IPC and PID namespaces that this init
 * makes inside the node's user namespace. They hang on a bridge in this node's network namespace; each node's pods
 * reach the others' by plain routing over it (no encapsulation, no published port, nothing outside the user's
 * namespaces), and the API server here reaches each worker's kubelet at its bridge address. A worker's credentials
 * come from the cluster's CA here, its pod CIDR is the next /24 of the cluster network after this node's, fixed by
 * its number, so its routes are known before it starts and stay the same at every start. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup-tree.h"
#include "host.h"
#include "init.h"
#include "kubelet-credentials.h"
#include "kubeapi.h"
#include "log.h"
#include "netlink.h"
#include "nodeapi.h"
#include "pki.h"
#include "rm-rf.h"
#include "util.h"

#define WORKERS_BRIDGE "un-workers"
#define WORKER_LINK "eth0"
#define WORKER_READY_MS 600000          /* as the API server's bound: a software-emulated VM is slow */
#define WORKER_STOP_MS 10000            /* its own daemons get 3 s each */
#define WORKER_RESTART_MS 1000u
#define WORKER_START_LIMIT_USEC (300u * 1000000ull)
/* Where a worker sees its directories, in its own mount namespace: the kubelet's sockets under them must fit a
 * socket address (108 bytes), which the paths under the node's (in a CI runner's deep /tmp or XDG directory, with
 * the worker's name twice) do not always. */
#define WORKER_DATA_DIR "/var/lib/usernode-worker"
#define WORKER_RUNTIME_DIR "/run/usernode-worker"

/* On the workers' network, this node is host 1, worker i host i + 2. */
static int workers_address(const struct init *in, unsigned host, char buf[static INET_ADDRSTRLEN]) {
        return net_cidr_ipv4_host(in->workers_cidr, host, buf);
}

static int bridge_address(const struct init *in, char buf[static INET_ADDRSTRLEN]) {
        return workers_address(in, 1, buf);
}

int init_workers_plan(struct init *in) {
        for (unsigned i = 0; i < in->n_workers; i++) {
                struct init_worker *w = &in->workers[i];

                if (snprintf(w->name, sizeof w->name, "%s-worker%u", in->name, i + 1) >= (int) sizeof w->name ||
                    !node_name_valid(w->name) || workers_address(in, i + 2, w->address) < 0 ||
                    init_pod_cidr_nth(in, i + 1, w->pod_cidr, sizeof w->pod_cidr) < 0)
                        return -EINVAL;
                w->data_dir = xstrdup_printf("%s/" INIT_WORKERS_DIR "/%s", in->data_dir, w->name);
                w->runtime_dir = xstrdup_printf("%s/" INIT_WORKERS_DIR "/%s", in->runtime_dir, w->name);
                if (!w->data_dir || !w->runtime_dir)
                        return -ENOMEM;
                w->proc = PROC_NULL;
        }
        return 0;
}

bool init_workers_overlap(const struct init *in, const char *cidr) {
        struct net_prefix p, w;

        if (net_prefix_parse(cidr, &p) < 0)
                return false;
        for (unsigned i = 0; i < in->n_workers; i++)
                if (net_prefix_parse(in->workers[i].pod_cidr, &w) >= 0 && net_prefix_overlaps(&p, &w))
                        return true;
        return false;
}

const struct init_worker *init_worker_find(const struct init *in, const char *name) {
        for (unsigned i = 0; i < in->n_workers; i++)
                if (strcmp(in->workers[i].name, name) == 0)
                        return &in->workers[i];
        return NULL;
}

#define MASQUERADE_CHAIN "USERNODE-MASQ"

/* iptables -w -t nat with args, in this node's network namespace. */
static int nat(struct init *in, char *const *args, struct un_error *err) {
        _cleanup_strv_free_ char **argv = NULL;

        if (strv_push(&argv, "-w") < 0 || strv_push(&argv, "-t") < 0 || strv_push(&argv, "nat") < 0)
                return un_error(err, ENOMEM, "iptables");
        for (char *const *a = args; *a; a++)
                if (strv_push(&argv, *a) < 0)
                        return un_error(err, ENOMEM, "iptables");
        return init_run_tool(in, "iptables", argv, err);
}

int init_masquerade_pods(struct init *in, struct un_error *err) {
        /* What stays inside the cluster's networks keeps its source; the rest leaves with the node's address. */
        const char *inside[] = { in->pod_cidr, in->n_workers > 0 ? in->workers_cidr : NULL, "224.0.0.0/4" };
        char *const chain[] = { "-N", MASQUERADE_CHAIN, NULL };
        char *const masquerade[] = { "-A", MASQUERADE_CHAIN, "-m", "comment", "--comment",
                                     "usernode: out of the cluster's networks", "-j", "MASQUERADE", NULL };
        int r;

        r = nat(in, chain, err);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(inside); i++)
                if (inside[i])
                        r = nat(in, (char *const[]) { "-A", MASQUERADE_CHAIN, "-d", (char *) inside[i], "-j", "RETURN", NULL },
                                err);
        if (r >= 0)
                r = nat(in, masquerade, err);
        if (r >= 0)
                r = nat(in, (char *const[]) { "-A", "POSTROUTING", "-s", (char *) in->pod_cidr, "-j", MASQUERADE_CHAIN, NULL },
                        err);
        /* The workers' own traffic out of the node (their kubelets', their pods' after their own NAT). */
        if (r >= 0 && in->n_workers > 0)
                r = nat(in, (char *const[]) { "-A", "POSTROUTING", "-s", (char *) in->workers_cidr, "-j", MASQUERADE_CHAIN,
                                              NULL },
                        err);
        return r;
}

static int write_sysctl(const char *path, const char *value) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);

        if (fd < 0)
                return -errno;
        return write(fd, value, strlen(value)) == (ssize_t) strlen(value) ? 0 : -EIO;
}

int init_workers_network(struct init *in) {
        char bridge[INET_ADDRSTRLEN + 3], gw[INET_ADDRSTRLEN];
        int r;

        if (bridge_address(in, gw) < 0)
                return -EINVAL;
        snprintf(bridge, sizeof bridge, "%s/24", gw);
        r = netlink_bridge_add(WORKERS_BRIDGE, bridge, in->mtu);
        if (r < 0) {
                init_stage(in, "error cannot make the bridge to the workers (%s): %s", bridge, strerror(-r));
                return r;
        }
        for (unsigned i = 0; i < in->n_workers; i++) {
                r = netlink_route_add(in->workers[i].pod_cidr, in->workers[i].address);
                if (r < 0) {
                        init_stage(in, "error cannot route %s to worker %s: %s", in->workers[i].pod_cidr,
                                   in->workers[i].name, strerror(-r));
                        return r;
                }
        }
        r = write_sysctl("/proc/sys/net/ipv4/ip_forward", "1");
        if (r < 0)
                init_stage(in, "error cannot let the node forward its workers' packets: %s", strerror(-r));
        return r;
}

/* The worker's files from this node: its kubelet's credentials (issued once; it renews them itself), the
 * cluster's kubelet settings, the labels of the host's features, a serving certificate for its address. */
static int worker_files(struct init *in, struct init_worker *w, struct un_error *err) {
        _cleanup_free_ char *pki = xstrdup_printf("%s/" NODE_PKI, in->data_dir),
                            *ca_file = xstrdup_printf("%s/" NODE_PKI "/ca.crt", in->data_dir),
                            *cert = xstrdup_printf("%s/%s", w->data_dir, NODE_KUBELET_CLIENT_CERT),
                            *cluster_src = xstrdup_printf("%s/%s", in->data_dir, NODE_KUBELET_CLUSTER_CONFIG),
                            *cluster_dst = xstrdup_printf("%s/%s", w->data_dir, NODE_KUBELET_CLUSTER_CONFIG),
                            *features_src = xstrdup_printf("%s/features", in->runtime_dir),
                            *features_dst = xstrdup_printf("%s/features", w->runtime_dir), *ca_pem = NULL,
                            *pem = NULL, *text = NULL, *server = NULL,
                            *pki_dir = xstrdup_printf("%s/kubelet/pki", w->data_dir);
        const struct host *h = host_live();
        char gw[INET_ADDRSTRLEN];
        int r;

        if (!pki || !ca_file || !cert || !cluster_src || !cluster_dst || !features_src || !features_dst ||
            bridge_address(in, gw) < 0 || !(server = xstrdup_printf("https://%s:6443", gw)))
                return un_error(err, ENOMEM, "worker %s", w->name);
        /* Made here, in the node's namespace, where the host layer's walk from / would find /tmp or /home not its own. */
        if (!pki_dir || init_mkdir_p(pki_dir) < 0 || init_mkdir_p(w->runtime_dir) < 0 || chmod(w->data_dir, 0700) < 0 ||
            chmod(pki_dir, 0700) < 0 || chmod(w->runtime_dir, 0700) < 0)
                return un_error(err, errno, "cannot create the directories of worker %s", w->name);
        if (access(cert, F_OK) < 0) {
                if (host_read_file(h, ca_file, 64 * 1024, &ca_pem, NULL) < 0)
                        return un_error(err, EIO, "cannot read the cluster's CA in %s", pki);
                r = pki_kubelet_client(pki, w->name, &pem, err);
                if (r < 0)
                        return r;
                r = kubelet_credentials_install(w->data_dir, server, ca_pem, pem, err);
                explicit_bzero(pem, strlen(pem));
                if (r < 0)
                        return r;
        }
        r = init_kubelet_serving_cert(pki, w->name, w->data_dir, w->address, err);
        if (r < 0)
                return r;
        /* Its pod CIDR before it starts: its pods' network is set up at once, and never the whole cluster network
         * (what a joined node falls back to when its Node gets none in time, as under a software-emulated VM). */
        {
                _cleanup_free_ char *cidr_file = xstrdup_printf("%s/" POD_CIDR_FILE, w->data_dir),
                                    *line = xstrdup_printf("%s\n", w->pod_cidr);

                if (!cidr_file || !line)
                        return un_error(err, ENOMEM, "worker %s", w->name);
                r = init_write_file(cidr_file, line, err);
                if (r < 0)
                        return r;
        }
        if (host_read_file(h, cluster_src, 1024 * 1024, &text, NULL) >= 0) {
                r = host_write_atomic(h, cluster_dst, text, strlen(text), 0600, (uid_t) -1, (gid_t) -1, err);
                if (r < 0)
                        return r;
                free(text);
                text = NULL;
        }
        /* The runtime directory may be below rootlesskit's copy-up of /run (a symlink to the host's /run/user): the
         * init's own writer, which the host layer's symlink refusal does not fit. */
        if (host_read_file(h, features_src, 64 * 1024, &text, NULL) >= 0)
                return init_write_file(features_dst, text, err);
        return 0;
}

/* The worker's command line: a node that joins this cluster at the bridge's address. */
static int worker_argv(struct init *in, const struct init_worker *w, char ***ret) {
        _cleanup_strv_free_ char **argv = NULL;
        char gw[INET_ADDRSTRLEN], mtu[16], pids[24];
        _cleanup_free_ char *server = NULL;

        if (bridge_address(in, gw) < 0 || !(server = xstrdup_printf("https://%s:6443", gw)))
                return -ENOMEM;
        snprintf(mtu, sizeof mtu, "%u", in->mtu);
        snprintf(pids, sizeof pids, "%lld", (long long) in->pod_pids_limit);
        const char *const args[] = { in->self, "__node-init", "--name", w->name, "--runtime-dir", WORKER_RUNTIME_DIR,
                                     "--data-dir", WORKER_DATA_DIR, "--server", server, "--pod-cidr", in->pod_cidr,
                                     "--mtu", mtu, "--pod-pids-limit", pids, "--routed-pod-network",
                                     "--sandbox-image", in->sandbox_image };
        for (size_t i = 0; i < ELEMENTSOF(args); i++)
                if (strv_push(&argv, args[i]) < 0)
                        return -ENOMEM;
        if (in->images_dir && (strv_push(&argv, "--images-dir") < 0 || strv_push(&argv, in->images_dir) < 0))
                return -ENOMEM;
        *ret = TAKE_PTR(argv);
        return 0;
}

/* On a host whose cgroup tree is the node's own (cgroup v2, delegated): the worker's cgroup, /NAME below the node's,
 * as its cgroup namespace's root with its own processes in a leaf of it, as rootlesskit --evacuate-cgroup2 makes the
 * node's. Its init turns the controllers on for its kubelet's pods (init_cgroup_delegated): turned on here, they were
 * found off again by the time the init looked (the Debian 13 guest; not understood), so that is done in one place. */
static int worker_cgroup(const char *name) {
        _cleanup_free_ char *cgroup = xstrdup_printf("/%s", name), *dir = NULL;
        int r;

        if (!cgroup || !(dir = cgroup_tree_file(cgroup, NULL)))
                return -ENOMEM;
        /* What a worker that died left: its processes went with its PID namespace. */
        r = cgroup_tree_remove_dir(dir);
        if (r < 0)
                return r;
        if (mkdir(dir, 0755) < 0)
                return -errno;
        r = cgroup_tree_write(cgroup, "cgroup.procs", "0");
        if (r < 0)
                return r;
        /* The node's cgroup2 mount goes first: the same filesystem mounted again on its own root is EBUSY. */
        if (unshare(CLONE_NEWCGROUP) < 0 || umount2(CGROUP_MOUNT, MNT_DETACH) < 0 ||
            mount("cgroup2", CGROUP_MOUNT, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ||
            (mkdir(CGROUP_MOUNT "/init", 0755) < 0 && errno != EEXIST))
                return -errno;
        return cgroup_tree_write("/init", "cgroup.procs", "0");
}

/* In the worker's new namespaces, as their PID 1, before it becomes the worker's init: its own /proc, CNI
 * directories of its own (the node's /etc and /var/lib are rootlesskit's copy-up, shared), its cgroup, its link to the
 * bridge and its routes: the default through this node, the other workers' pods straight to them. Exits on
 * failure, with the reason in the worker's log. */
__attribute__((noreturn)) static void worker_child(struct init *in, unsigned index, int sync_fd, char **argv) {
        const struct init_worker *w = &in->workers[index];
        char gw[INET_ADDRSTRLEN], self[INET_ADDRSTRLEN + 3], c;
        const char *step;
        int r = 0;

        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* The node's init said its end of the link is there. */
        if (read(sync_fd, &c, 1) != 1)
                _exit(1);
        close(sync_fd);
        step = "make the node's mounts slaves";
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                goto fail;
        step = "mount /proc";
        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                goto fail;
        step = "give the worker CNI directories of its own";
        if ((mkdir("/var/lib/cni", 0755) < 0 && errno != EEXIST) ||
            mount("tmpfs", INIT_CNI_CONF_DIR, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0 ||
            mount("tmpfs", "/var/lib/cni", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
                goto fail;
        if (!in->params.disable_cgroup) {
                step = "give the worker a cgroup of its own";
                r = worker_cgroup(w->name);
                if (r < 0) {
                        errno = -r;
                        goto fail;
                }
        }
        step = "give the worker short paths to its directories";
        if ((mkdir(WORKER_DATA_DIR, 0700) < 0 && errno != EEXIST) || (mkdir(WORKER_RUNTIME_DIR, 0700) < 0 && errno != EEXIST) ||
            mount(w->data_dir, WORKER_DATA_DIR, NULL, MS_BIND, NULL) < 0 ||
            mount(w->runtime_dir, WORKER_RUNTIME_DIR, NULL, MS_BIND, NULL) < 0)
                goto fail;
        step = "set the worker's network up";
        snprintf(self, sizeof self, "%s/24", w->address);
        r = bridge_address(in, gw);
        r = r ?: netlink_link_up("lo", NULL);
        r = r ?: netlink_link_up(WORKER_LINK, self);
        r = r ?: netlink_route_add("0.0.0.0/0", gw);
        r = r ?: write_sysctl("/proc/sys/net/ipv4/ip_forward", "1");
        for (unsigned i = 0; r >= 0 && i < in->n_workers; i++)
                if (i != index)
                        r = netlink_route_add(in->workers[i].pod_cidr, in->workers[i].address);
        if (r < 0) {
                errno = -r;
                goto fail;
        }
        execv(in->self, argv);
        step = "run usernode's init";
fail:
        fprintf(stderr, "usernode-init: worker %s: cannot %s: %s\n", w->name, step, strerror(errno));
        _exit(1);
}

static int worker_start(struct init *in, unsigned index, struct un_error *err) {
        struct init_worker *w = &in->workers[index];
        _cleanup_free_ char *log = xstrdup_printf("%s/node.log", w->runtime_dir);
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_close_ int log_fd = -EBADF;
        int sync[2], r;
        char link[IFNAMSIZ];
        pid_t pid;

        if (!log)
                return un_error(err, ENOMEM, "worker %s", w->name);
        r = worker_files(in, w, err);
        if (r < 0)
                return r;
        if (worker_argv(in, w, &argv) < 0)
                return un_error(err, ENOMEM, "worker %s", w->name);
        log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (log_fd < 0)
                return un_error(err, errno, "cannot open %s", log);
        if (pipe2(sync, O_CLOEXEC) < 0)
                return un_error(err, errno, "worker %s", w->name);
        /* fork() into new namespaces: the child is PID 1 of its own, whose death takes all of the worker with it. */
        pid = (pid_t) syscall(SYS_clone, CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | SIGCHLD,
                              NULL, NULL, NULL, NULL);
        if (pid < 0) {
                r = un_error(err, errno, "cannot make the namespaces of worker %s", w->name);
                close(sync[0]);
                close(sync[1]);
                return r;
        }
        if (pid == 0) {
                sigset_t all;

                close(sync[1]);
                (void) dup2(log_fd, STDOUT_FILENO);
                (void) dup2(log_fd, STDERR_FILENO);
                sigfillset(&all);
                (void) sigprocmask(SIG_UNBLOCK, &all, NULL);
                worker_child(in, index, sync[0], argv);
        }
        close(sync[0]);
        w->proc = (struct proc) { .pid = pid, .pidfd = pidfd_open_pid(pid) };
        snprintf(link, sizeof link, "un-w%u", index + 1);
        r = netlink_veth_add(link, WORKERS_BRIDGE, WORKER_LINK, pid, in->mtu);
        if (r < 0 || write(sync[1], "g", 1) != 1) {
                close(sync[1]);
                proc_stop(&w->proc, 0);
                proc_done(&w->proc);
                return un_error(err, r < 0 ? -r : EIO, "cannot link worker %s to the node", w->name);
        }
        close(sync[1]);
        w->started = now_usec();
        fprintf(stderr, "usernode-init: worker %s started (pid %d, %s, pods %s); its log: %s\n", w->name, (int) pid,
                w->address, w->pod_cidr, log);
        return 0;
}

static bool worker_marked(const struct init_worker *w, const char *marker) {
        _cleanup_free_ char *path = xstrdup_printf("%s/%s", w->data_dir, marker);

        return path && access(path, F_OK) == 0;
}

/* The node's answer to `usernode down/up --name WORKER`, which waits for it: state, and why when it failed. */
static void worker_answer(struct init *in, const struct init_worker *w, const char *state, const char *why) {
        _cleanup_free_ char *path = xstrdup_printf("%s/" INIT_WORKERS_DIR "/%s.state", in->runtime_dir, w->name),
                            *text = why ? xstrdup_printf("%s: %s\n", state, why) : xstrdup_printf("%s\n", state);
        struct un_error err = {};

        if (!path || !text || init_write_file(path, text, &err) < 0)
                fprintf(stderr, "usernode-init: cannot answer for worker %s: %s\n", w->name, err.msg);
}

int init_workers_start(struct init *in) {
        for (unsigned i = 0; i < in->n_workers; i++) {
                struct init_worker *w = &in->workers[i];
                struct un_error err = {};
                int r;

                /* One that `usernode down --name` stopped stays so until `usernode up --name`. */
                w->held = worker_marked(w, INIT_WORKER_STOPPED);
                if (w->held) {
                        fprintf(stderr, "usernode-init: worker %s stays stopped (usernode down --name %s)\n", w->name,
                                w->name);
                        worker_answer(in, w, "stopped", NULL);
                        continue;
                }
                r = worker_start(in, i, &err);
                if (r < 0) {
                        init_stage(in, "error %s", err.msg);
                        return r;
                }
                worker_answer(in, w, "running", NULL);
        }
        return 0;
}

/* Whether worker w's Node is Ready, asked as the cluster's admin (ca_pem, client): 1 yes, 0 not yet. */
static int worker_ready(const struct init_worker *w, char *ca_pem, char *client) {
        struct node_api api = { .server = (char *) INIT_CONTROLPLANE_SERVER, .ca_pem = ca_pem, .client_cert = client,
                                .name = (char *) w->name };
        struct node_object o = {};
        struct un_error err = {};
        int r = node_api_get(&api, &o, &err);

        r = r >= 0 && o.exists && o.ready;
        node_object_done(&o);
        return r;
}

/* The worker's init's complaints in its log. */
static const char *worker_error_line(const char *line) {
        return startswith(line, "usernode-init: error ") || strstr(line, ": cannot ") ? line : NULL;
}

int init_workers_wait_ready(struct init *in) {
        uint64_t deadline = now_usec() + WORKER_READY_MS * 1000ull;
        _cleanup_free_ char *ca_pem = NULL, *client = NULL;
        unsigned ready = 0;
        int r;

        if (in->n_workers == 0)
                return 0;
        r = init_admin_credentials(in, &ca_pem, &client);
        if (r < 0) {
                init_stage(in, "error cannot read the cluster admin's certificate under %s/" NODE_PKI, in->data_dir);
                return r;
        }
        for (;;) {
                unsigned wanted = 0;

                /* Their pod CIDRs and serving certificates come from the tick. */
                init_control_plane_tick(in);
                ready = 0;
                for (unsigned i = 0; i < in->n_workers; i++) {
                        struct init_worker *w = &in->workers[i];

                        if (w->held)
                                continue;
                        wanted++;
                        if (w->proc.pid > 0 && proc_try_reap(&w->proc) > 0) {
                                _cleanup_free_ char *log = xstrdup_printf("%s/node.log", w->runtime_dir);
                                _cleanup_free_ char *why = log ? log_last_match(log, worker_error_line, 300) : NULL;

                                init_stage(in, "error worker %s exited with status %d during start%s%s; see %s",
                                           w->name, init_exit_code(&w->proc), why ? ": " : "", why ? why : "",
                                           strna(log));
                                r = -ECHILD;
                                goto out;
                        }
                        if (worker_ready(w, ca_pem, client) > 0)
                                ready++;
                }
                if (ready == wanted)
                        break;
                if (now_usec() >= deadline) {
                        init_stage(in, "error %u of %u workers are not Ready after %d s; see their logs under %s/workers",
                                   wanted - ready, wanted, WORKER_READY_MS / 1000, in->runtime_dir);
                        r = -ETIME;
                        goto out;
                }
                r = init_idle_for(in, 200);
                if (r < 0)
                        goto out;
        }
        fprintf(stderr, "usernode-init: %u workers Ready\n", ready);
        r = 0;
out:
        explicit_bzero(client, strlen(client));
        return r;
}

void init_workers_reap(struct init *in) {
        uint64_t now = now_usec();

        for (unsigned i = 0; i < in->n_workers; i++) {
                struct init_worker *w = &in->workers[i];

                if (w->proc.pid > 0 && proc_try_reap(&w->proc) > 0) {
                        unsigned recent = 0;

                        w->exits[w->next_exit++ % ELEMENTSOF(w->exits)] = now;
                        for (size_t k = 0; k < ELEMENTSOF(w->exits); k++)
                                recent += w->exits[k] && now - w->exits[k] <= WORKER_START_LIMIT_USEC;
                        /* One that keeps dying is not started again (restart.c's rule for the daemons). */
                        w->failed = !w->held && recent >= INIT_START_LIMIT_BURST;
                        fprintf(stderr, "usernode-init: worker %s exited with status %d%s\n", w->name,
                                init_exit_code(&w->proc), w->held || w->failed ? "" : "; starting it again");
                        if (w->failed)
                                init_stage(in, "degraded worker %s keeps dying (%u times in %llu s), not started again; "
                                               "see %s/node.log", w->name, recent, WORKER_START_LIMIT_USEC / 1000000ull,
                                           w->runtime_dir);
                        proc_done(&w->proc);
                        w->restart_at = w->held || w->failed ? 0 : now + WORKER_RESTART_MS * 1000ull;
                }
                if (w->restart_at && now >= w->restart_at) {
                        struct un_error err = {};

                        w->restart_at = 0;
                        if (worker_start(in, i, &err) < 0)
                                init_stage(in, "warn worker %s not started again: %s", w->name, err.msg);
                }
        }
}

/* down --purge of a worker: its Node deleted as the cluster's admin, its state and cgroup removed, held. */
static int worker_purge(struct init *in, struct init_worker *w, struct un_error *err) {
        _cleanup_free_ char *ca_pem = NULL, *client = NULL, *path = xstrdup_printf("/api/v1/nodes/%s", w->name),
                            *marker = xstrdup_printf("%s/" INIT_WORKER_STOPPED, w->data_dir),
                            *cgroup = xstrdup_printf("/%s", w->name), *cgroup_dir = NULL;
        struct kubeapi_reply reply = {};
        char msg[256];
        int r;

        if (!path || !marker || !cgroup)
                return un_error(err, ENOMEM, "worker %s", w->name);
        if (init_admin_credentials(in, &ca_pem, &client) < 0)
                return un_error(err, EIO, "cannot read the cluster admin's certificate under %s/" NODE_PKI, in->data_dir);
        const struct kubeapi admin = { .server = INIT_CONTROLPLANE_SERVER, .ca_pem = ca_pem, .client_cert = client,
                                       .timeout_ms = 10000 };
        r = kubeapi_request(&admin, "DELETE", path, NULL, &reply, err);
        explicit_bzero(client, strlen(client));
        if (r >= 0 && reply.status != 200 && reply.status != 202 && reply.status != 404)
                r = un_error(err, EIO, "deleting Node %s: %s", w->name, kubeapi_status_message(&reply, msg, sizeof msg));
        kubeapi_reply_done(&reply);
        if (r < 0)
                return r;
        if (!in->params.disable_cgroup && (cgroup_dir = cgroup_tree_file(cgroup, NULL)))
                (void) cgroup_tree_remove_dir(cgroup_dir);
        if (rm_rf(w->data_dir) < 0 || rm_rf(w->runtime_dir) < 0)
                return un_error(err, errno ? errno : EIO, "cannot remove the state of worker %s", w->name);
        /* Gone, and it stays away until `usernode up --name`. */
        if (init_mkdir_p(w->data_dir) < 0 || chmod(w->data_dir, 0700) < 0 ||
            init_write_file(marker, "", err) < 0)
                return un_error(err, errno ? errno : EIO, "cannot keep worker %s stopped", w->name);
        return 0;
}

void init_workers_requests(struct init *in) {
        for (unsigned i = 0; i < in->n_workers; i++) {
                struct init_worker *w = &in->workers[i];
                bool stop = worker_marked(w, INIT_WORKER_STOPPED), purge = worker_marked(w, INIT_WORKER_PURGE);
                struct un_error err = {};

                if (stop || purge) {
                        if (!w->held)
                                fprintf(stderr, "usernode-init: worker %s: stopped (usernode down --name %s%s)\n",
                                        w->name, w->name, purge ? " --purge" : "");
                        w->held = true;
                        w->restart_at = 0;
                        /* Its init tells the cluster it is NotReady as it stops. */
                        proc_stop(&w->proc, WORKER_STOP_MS);
                        proc_done(&w->proc);
                        if (purge && worker_purge(in, w, &err) < 0) {
                                fprintf(stderr, "usernode-init: worker %s: %s\n", w->name, err.msg);
                                worker_answer(in, w, "failed", err.msg);
                                continue;
                        }
                        worker_answer(in, w, purge ? "purged" : "stopped", NULL);
                } else if (w->held || w->failed) {
                        /* `usernode up --name` starts a worker that was stopped, or that kept dying, afresh. */
                        w->held = w->failed = false;
                        memset(w->exits, 0, sizeof w->exits);
                        if (worker_start(in, i, &err) < 0) {
                                fprintf(stderr, "usernode-init: worker %s: %s\n", w->name, err.msg);
                                worker_answer(in, w, "failed", err.msg);
                                continue;
                        }
                        fprintf(stderr, "usernode-init: worker %s: started again (usernode up --name %s)\n", w->name,
                                w->name);
                        worker_answer(in, w, "running", NULL);
                } else
                        worker_answer(in, w, "running", NULL);
        }
}

bool init_workers_restarting(const struct init *in) {
        for (unsigned i = 0; i < in->n_workers; i++)
                if (in->workers[i].restart_at)
                        return true;
        return false;
}

int init_worker_pidfd(const struct init *in, unsigned i) {
        const struct proc *p = &in->workers[i].proc;

        return i < in->n_workers && p->pid > 0 && !p->reaped ? p->pidfd : -1;
}

void init_workers_stop(struct init *in) {
        for (unsigned i = 0; i < in->n_workers; i++)
                if (in->workers[i].proc.pid > 0)
                        (void) kill(in->workers[i].proc.pid, SIGTERM);
        for (unsigned i = 0; i < in->n_workers; i++)
                proc_stop(&in->workers[i].proc, WORKER_STOP_MS);
}

void init_workers_done(struct init *in) {
        for (unsigned i = 0; i < in->n_workers; i++) {
                proc_done(&in->workers[i].proc);
                free(in->workers[i].data_dir);
                free(in->workers[i].runtime_dir);
        }
}
