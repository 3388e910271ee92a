/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "checks.h"
#include "net.h"
#include "netlink.h"
#include "util.h"
#include "version.h"

/* k3s unpacks itself on its first run and can take seconds: its version is a nicety, the deadline
 * keeps check fast. */
/* kubelet and k3s are Go binaries: ~50 ms (k3s more) to answer --version on an idle host, several times that on
 * a busy one; all of an engine's queries run at once, so this bounds the whole check only when one hangs. */
#define ENGINE_VERSION_TIMEOUT_MS 2000u
/* KubeletInUserNamespace appeared in 1.22. */
#define KUBELET_VERSION_MIN "1.22"
/* The k3s usernode was run with (tests/integration/k3s-real.sh), the oldest it accepts, and the next minor:
 * newer ones may work and are warned about. */
#define K3S_VERSION_VERIFIED "1.21.2+k3s1"
#define K3S_VERSION_MIN "1.21"
#define K3S_VERSION_VERIFIED_NEXT "1.22"

static const char *const cni_dirs[] = { "/usr/lib/cni", "/opt/cni/bin", "/usr/libexec/cni" };
static const char *const cni_plugins[] = { "bridge", "host-local", "portmap", "loopback" };

/* Debian's package names, space-separated, for check_install_command. */
static char *install_fix(const struct check_ctx *c, char *const *debian_packages) {
        _cleanup_free_ char *list = NULL;
        struct buf b = {};

        for (char *const *p = debian_packages; *p; p++)
                if (buf_printf(&b, "%s%s", b.len ? " " : "", *p) < 0) {
                        buf_free(&b);
                        return NULL;
                }
        list = buf_steal(&b);
        return list ? check_install_command(c, list) : NULL;
}

static const char *release_arch(void) {
        struct utsname u;

        /* Upstream release binaries use Go's names. */
        if (uname(&u) < 0 || strcmp(u.machine, "x86_64") == 0)
                return "amd64";
        if (strcmp(u.machine, "aarch64") == 0)
                return "arm64";
        if (strncmp(u.machine, "armv7", 5) == 0)
                return "arm";
        if (strcmp(u.machine, "s390x") == 0 || strcmp(u.machine, "ppc64le") == 0 || strcmp(u.machine, "riscv64") == 0)
                return strcmp(u.machine, "s390x") == 0 ? "s390x" : strcmp(u.machine, "ppc64le") == 0 ? "ppc64le" : "riscv64";
        return "amd64";
}

static void describe_version(struct buf *b, const char *name, const struct version_query *q, bool offline,
                             unsigned timeout_ms) {
        char v[48];

        if (offline)
                (void) buf_printf(b, "%s present", name);
        else if (q->spawn_error < 0)
                (void) buf_printf(b, "%s does not run (%s)", name, strerror(-q->spawn_error));
        else if (q->timed_out)
                (void) buf_printf(b, "%s present (--version did not answer within %u ms)", name, timeout_ms);
        else if (version_extract(q->output, v, sizeof v) >= 0)
                (void) buf_printf(b, "%s %s", name, v);
        else
                (void) buf_printf(b, "%s present (version unknown)", name);
}

/* The CNI plugins k3s gives its pods: it takes the directory of the first host-local on PATH (the packaged
 * single binary puts its own first); its flannel config needs flannel, bridge, host-local, portmap and loopback
 * there. Debian's containernetworking-plugins has no flannel. */
static const char *const k3s_cni_plugins[] = { "bridge", "flannel", "host-local", "loopback", "portmap" };

/* What k3s will use for CNI, appended to d; the plugins that are missing from that directory in *ret_missing
 * (", "-separated; NULL when none is or when none is on PATH: then *ret_none). */
static int describe_k3s_cni(const struct check_ctx *c, struct buf *d, char **ret_missing, bool *ret_none) {
        _cleanup_free_ char *host_local = NULL;
        struct buf m = {};
        char *slash;

        *ret_missing = NULL;
        *ret_none = host_find_executable(c->host, "host-local", &host_local) < 0;
        if (*ret_none)
                return buf_puts(d, "; no CNI plugins on PATH (k3s looks for the directory of the first host-local)");
        slash = strrchr(host_local, '/');
        if (slash && slash != host_local)
                *slash = '\0';
        for (size_t i = 0; i < ELEMENTSOF(k3s_cni_plugins); i++) {
                _cleanup_free_ char *p = xstrdup_printf("%s/%s", host_local, k3s_cni_plugins[i]);
                struct stat st;

                if (!p)
                        return -ENOMEM;
                if (host_stat(c->host, p, &st, true) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
                        (void) buf_printf(&m, "%s%s", m.len ? ", " : "", k3s_cni_plugins[i]);
        }
        *ret_missing = m.len ? buf_steal(&m) : NULL;
        buf_free(&m);
        return buf_printf(d, "; CNI plugins in %s%s%s", host_local, *ret_missing ? " without " : "",
                          *ret_missing ? *ret_missing : " (bridge, flannel, host-local, loopback, portmap)");
}

static int check_k3s(struct check_ctx *c, struct report *r) {
        _cleanup_free_ char *k3s = NULL, *fix = NULL, *cni_missing = NULL;
        const struct check_result *cpuset = report_find(r, "cgroup.controller.cpuset");
        struct version_query q = {};
        char v[48] = "";
        bool no_cni = false;
        struct buf d = {};
        int k;

        if (host_find_executable(c->host, "k3s", &k3s) < 0) {
                const char *arch = release_arch();

                fix = xstrdup_printf("mkdir -p ~/.local/bin && curl -sfLo ~/.local/bin/k3s "
                                     "https://github.com/k3s-io/k3s/releases/download/v1.21.2%%2Bk3s1/k3s%s%s && "
                                     "chmod +x ~/.local/bin/k3s",
                                     strcmp(arch, "amd64") == 0 ? "" : "-", strcmp(arch, "amd64") == 0 ? "" : arch);
                if (!fix)
                        return -ENOMEM;
                return report_add(r, "engine.k3s", CHECK_FAIL, fix,
                                  "k3s is not on PATH (it is not in %s's archive: take the upstream release binary, "
                                  "v" K3S_VERSION_VERIFIED " verified)",
                                  c->distro.pretty_name ? c->distro.pretty_name : c->distro.id);
        }
        if (!c->host->offline) {
                q.path = k3s;
                if (version_query_run(&q, 1, ENGINE_VERSION_TIMEOUT_MS) < 0)
                        return -ENOMEM;
                if (q.exited && !q.timed_out)
                        (void) version_extract(q.output, v, sizeof v);
        }
        describe_version(&d, k3s, &q, c->host->offline, ENGINE_VERSION_TIMEOUT_MS);
        if (describe_k3s_cni(c, &d, &cni_missing, &no_cni) < 0 || !d.data) {
                buf_free(&d);
                return -ENOMEM;
        }
        if (v[0] && version_compare(v, K3S_VERSION_MIN) < 0)
                k = report_add(r, "engine.k3s", CHECK_FAIL, "install k3s v" K3S_VERSION_VERIFIED " (the upstream release binary)",
                               "%s: usernode runs k3s in its own namespaces as k3s's rootless child (the "
                               "_K3S_ROOTLESS_SOCK handover, --disable, --pause-image, --node-label) and verified "
                               "that with v" K3S_VERSION_VERIFIED "; k3s older than v" K3S_VERSION_MIN " is not supported",
                               d.data);
        else if (c->cgroup.layout == CGROUP_LAYOUT_V2 && cpuset && cpuset->status == CHECK_FAIL)
                /* k3s's agent refuses a cgroup v2 tree without cpu, cpuset and memory (its validateCgroupsV2); on
                 * a v1 or hybrid host it asks only for the memory controller, which every such host has. */
                k = report_add(r, "engine.k3s", CHECK_FAIL, cpuset->fix,
                               "%s: k3s refuses to start (\"failed to find cpuset cgroup (v2)\") without the cpuset "
                               "controller in the node's cgroup: %s", d.data, cpuset->detail);
        else if (cni_missing)
                k = report_add(r, "engine.k3s", CHECK_FAIL,
                               "put a directory with k3s's CNI plugins (bridge flannel host-local loopback portmap: "
                               "rancher/plugins, which k3s's release carries) before this one on PATH",
                               "%s: k3s's pods would have no network", d.data);
        else if (no_cni)
                k = report_add(r, "engine.k3s", CHECK_WARN,
                               "put k3s's CNI plugins (bridge flannel host-local loopback portmap) on PATH",
                               "%s: only k3s's packaged single binary brings its own (it unpacks them at its first "
                               "start); a k3s built without them gives its pods no network", d.data);
        else if (v[0] && version_compare(v, K3S_VERSION_VERIFIED_NEXT) >= 0)
                k = report_add(r, "engine.k3s", CHECK_WARN, "install k3s v" K3S_VERSION_VERIFIED,
                               "%s: newer than the k3s usernode was verified with (v" K3S_VERSION_VERIFIED ")", d.data);
        else
                k = report_add(r, "engine.k3s", CHECK_PASS, NULL, "%s", d.data);
        buf_free(&d);
        return k;
}

static int find_cni(const struct check_ctx *c, const char **ret_dir, char ***ret_missing) {
        _cleanup_strv_free_ char **best_missing = NULL;
        const char *best = NULL;

        for (size_t i = 0; i < ELEMENTSOF(cni_dirs); i++) {
                _cleanup_strv_free_ char **missing = NULL;
                bool any = false;

                for (size_t j = 0; j < ELEMENTSOF(cni_plugins); j++) {
                        _cleanup_free_ char *p = xstrdup_printf("%s/%s", cni_dirs[i], cni_plugins[j]);
                        struct stat st;

                        if (!p)
                                return -ENOMEM;
                        if (host_stat(c->host, p, &st, true) >= 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111))
                                any = true;
                        else if (strv_push(&missing, cni_plugins[j]) < 0)
                                return -ENOMEM;
                }
                if (!any)
                        continue;
                if (!best || strv_length(missing) < strv_length(best_missing)) {
                        best = cni_dirs[i];
                        strv_free(best_missing);
                        best_missing = TAKE_PTR(missing);
                }
        }
        *ret_dir = best;
        *ret_missing = TAKE_PTR(best_missing);
        return 0;
}

/* The control plane `up` runs when it joins no cluster (engine.c's table): which binaries are there, the API
 * server's version. True when the kubelet and the API server are outside the skew policy. */
static bool describe_control_plane(const struct check_ctx *c, struct buf *d, const struct version_query *qa,
                                   const char *kv, const char *av) {
        const char *missing = NULL;
        bool brings = engine_brings_control_plane(c->host, ENGINE_KUBELET, &missing);
        unsigned km, kn, am, an;

        if (!brings) {
                (void) buf_printf(d, "; no control plane (%s absent): up without --server runs a kubelet of its own",
                                  strna(missing));
                return false;
        }
        (void) buf_puts(d, "; control plane: ");
        if (qa)
                describe_version(d, "kube-apiserver", qa, false, ENGINE_VERSION_TIMEOUT_MS);
        else
                (void) buf_puts(d, "kube-apiserver present");
        (void) buf_puts(d, ", kube-controller-manager, kube-scheduler and etcd present: up without --server brings "
                           "a cluster");
        /* Skew: the kubelet may be up to three minor versions older than the API server, never newer. Unknown
         * versions are no verdict. */
        if (sscanf(kv + (kv[0] == 'v'), "%u.%u", &km, &kn) != 2 || sscanf(av + (av[0] == 'v'), "%u.%u", &am, &an) != 2)
                return false;
        return km != am || kn > an || an - kn > 3;
}

/* What the kubelet engine lacks besides the kubelet, said for the user, and Debian's packages for it. path[] as
 * check_kubelet's tools: kubelet, rootlesskit, containerd, crun, runc. */
static int missing_node_parts(char *const *path, const char *cni_dir, char *const *cni_missing, char ***missing,
                              char ***packages) {
        if (!path[1] && (strv_push(missing, "rootlesskit") < 0 || strv_push(packages, "rootlesskit") < 0))
                return -ENOMEM;
        if (!path[2] && (strv_push(missing, "containerd") < 0 || strv_push(packages, "containerd") < 0))
                return -ENOMEM;
        if (!path[3] && !path[4] && (strv_push(missing, "crun or runc") < 0 || strv_push(packages, "crun") < 0))
                return -ENOMEM;
        if (cni_dir && !(cni_missing && cni_missing[0]))
                return 0;
        if (!cni_dir && strv_push(missing, "CNI plugins (bridge host-local portmap loopback)") < 0)
                return -ENOMEM;
        for (char *const *m = cni_dir ? cni_missing : NULL; m && *m; m++) {
                _cleanup_free_ char *s = xstrdup_printf("CNI plugin %s", *m);

                if (!s || strv_push(missing, s) < 0)
                        return -ENOMEM;
        }
        return strv_push(packages, "containernetworking-plugins");
}

static int check_kubelet(struct check_ctx *c, struct report *r) {
        static const char *const tools[] = { "kubelet", "rootlesskit", "containerd", "crun", "runc", "kube-apiserver" };
        char *path[ELEMENTSOF(tools)] = {};
        _cleanup_strv_free_ char **missing = NULL, **packages = NULL, **cni_missing = NULL;
        _cleanup_free_ char *fix = NULL;
        struct version_query q[4] = {};
        struct version_query *qk = NULL, *qc = NULL, *qr = NULL, *qa = NULL;
        char kv[48] = "", cv[48] = "", av[48] = "";
        bool skew = false;
        size_t nq = 0;
        const char *cni_dir = NULL;
        struct buf d = {}, f = {};
        int k = -ENOMEM;

        for (size_t i = 0; i < ELEMENTSOF(tools); i++)
                (void) host_find_executable(c->host, tools[i], &path[i]);
        if (find_cni(c, &cni_dir, &cni_missing) < 0)
                goto out;

        /* All at once: kubelet is a Go binary (~50 ms, more on a loaded host), containerd and crun are quick. */
        if (!c->host->offline) {
                if (path[0])
                        (qk = &q[nq++])->path = path[0];
                if (path[2])
                        (qc = &q[nq++])->path = path[2];
                if (path[3])
                        (qr = &q[nq++])->path = path[3];
                if (path[5])
                        (qa = &q[nq++])->path = path[5];
                if (nq > 0 && version_query_run(q, nq, ENGINE_VERSION_TIMEOUT_MS) < 0)
                        goto out;
                if (qk && qk->exited && !qk->timed_out)
                        (void) version_extract(qk->output, kv, sizeof kv);
                if (qc && qc->exited && !qc->timed_out)
                        (void) version_extract(qc->output, cv, sizeof cv);
                if (qa && qa->exited && !qa->timed_out)
                        (void) version_extract(qa->output, av, sizeof av);
        }
        if (qk)
                describe_version(&d, "kubelet", qk, false, ENGINE_VERSION_TIMEOUT_MS);
        else
                (void) buf_printf(&d, "kubelet %s", path[0] ? "present" : "absent");
        (void) buf_printf(&d, ", rootlesskit %s, ", path[1] ? "present" : "absent");
        if (qc) {
                describe_version(&d, "containerd", qc, false, ENGINE_VERSION_TIMEOUT_MS);
                /* containerd serves the CRI v1 API from 1.6 on (v1alpha2 before): kubelet >= 1.26 speaks only v1. */
                if (cv[0])
                        (void) buf_puts(&d, version_compare(cv, "1.6") >= 0 ? " (CRI v1)" : " (CRI v1alpha2 only)");
        } else
                (void) buf_printf(&d, "containerd %s", path[2] ? "present" : "absent");
        if (qr) {
                (void) buf_puts(&d, ", ");
                describe_version(&d, "crun", qr, false, ENGINE_VERSION_TIMEOUT_MS);
        } else if (path[3])
                (void) buf_puts(&d, ", crun present");
        else
                (void) buf_printf(&d, ", crun absent, runc %s", path[4] ? "present" : "absent");
        if (cni_dir)
                (void) buf_printf(&d, ", CNI plugins in %s", cni_dir);
        else
                (void) buf_puts(&d, ", no CNI plugins");
        skew = describe_control_plane(c, &d, qa, kv, av);
        if (!d.data)
                goto out;

        if (missing_node_parts(path, cni_dir, cni_missing, &missing, &packages) < 0)
                goto out;
        if (packages) {
                fix = install_fix(c, packages);
                if (!fix || buf_puts(&f, fix) < 0)
                        goto out;
        }
        if (!path[0]) {
                bool debian = c->distro.family == DISTRO_DEBIAN || c->distro.family == DISTRO_UBUNTU;

                if (buf_printf(&f, "%scurl -fLO https://dl.k8s.io/release/$(curl -fLs https://dl.k8s.io/release/stable.txt)"
                               "/bin/linux/%s/kubelet && sudo install -m 0755 kubelet /usr/local/bin/kubelet",
                               f.len ? " && " : "", release_arch()) < 0 ||
                    strv_push(&missing, debian ? "kubelet (not in Debian's archive: use the upstream release binary)"
                                               : "kubelet (use the upstream release binary)") < 0)
                        goto out;
        }
        if (missing) {
                struct buf l = {};

                for (char **m = missing; *m; m++)
                        (void) buf_printf(&l, "%s%s", l.len ? "; " : "", *m);
                if (!l.data)
                        goto out;
                k = report_add(r, "engine.kubelet", CHECK_FAIL, f.data, "%s: missing %s", d.data, l.data);
                buf_free(&l);
        } else if (kv[0] && version_compare(kv, KUBELET_VERSION_MIN) < 0)
                k = report_add(r, "engine.kubelet", CHECK_FAIL,
                               "install a kubelet >= " KUBELET_VERSION_MIN " (the upstream release binary)",
                               "%s: a kubelet older than " KUBELET_VERSION_MIN " has no KubeletInUserNamespace", d.data);
        else if (kv[0] && cv[0] && version_compare(kv, "1.26") >= 0 && version_compare(cv, "1.6") < 0)
                k = report_add(r, "engine.kubelet", CHECK_FAIL, "install containerd >= 1.6",
                               "%s: kubelet %s speaks only the CRI v1 API, which containerd %s does not serve", d.data,
                               kv, cv);
        else if (skew)
                k = report_add(r, "engine.kubelet", CHECK_WARN,
                               "install the kubelet and the control-plane binaries of one Kubernetes release",
                               "%s: outside Kubernetes' version skew policy (a kubelet no newer than the API server, at "
                               "most 3 minor versions older)", d.data);
        else
                k = report_add(r, "engine.kubelet", CHECK_PASS, NULL, "%s", d.data);
out:
        for (size_t i = 0; i < ELEMENTSOF(tools); i++)
                free(path[i]);
        buf_free(&d);
        buf_free(&f);
        return k;
}

/* What carries a kubelet node's pod traffic to the pods of the cluster's other nodes: flanneld (flannel's vxlan
 * backend), which up runs inside the node when it is on PATH (node/overlay.c). A node alone needs none. */
static int check_overlay(struct check_ctx *c, struct report *r) {
        _cleanup_free_ char *flanneld = NULL;

        int k = engine_find_overlay(c->host, c->engine, &flanneld);

        if (k == -EOPNOTSUPP)
                return report_add(r, "engine.overlay", CHECK_SKIP, NULL, "k3s runs the flannel built into it");
        if (k < 0)
                return report_add(r, "engine.overlay", CHECK_WARN,
                                  "install flanneld (flannel's release binary; v0.13.0 verified) on PATH",
                                  "no flanneld on PATH: a node in a cluster of several (up --server, or "
                                  "--apiserver-address) has no pod network to the others: its pods and theirs do not "
                                  "reach each other");
        /* Live: whether the port is free on every address (a node of this host holds it on its own). */
        if (!c->host->offline) {
                uint16_t port;

                if (net_port_free(SOCK_DGRAM, (struct in_addr) { .s_addr = htonl(INADDR_ANY) }, USERNODE_OVERLAY_PORT,
                                  &port) == -EADDRINUSE)
                        return report_add(r, "engine.overlay", CHECK_WARN,
                                          "run the node at another address of this host (--node-ip, --apiserver-address)",
                                          "flanneld at %s, but UDP port %u is taken on some address of this host (a node "
                                          "of this host?): flannel uses that port on every node, so a node here can carry "
                                          "its pods' traffic only at an address where it is free", flanneld,
                                          USERNODE_OVERLAY_PORT);
        }
        return report_add(r, "engine.overlay", CHECK_PASS, NULL,
                          "flanneld at %s: a node in a cluster of several carries its pods' traffic to the others' "
                          "over VXLAN, UDP port %u published at the node's address", flanneld, USERNODE_OVERLAY_PORT);
}

int check_engine(struct check_ctx *c, struct report *r) {
        int k;

        if (c->engine == ENGINE_K3S) {
                k = check_k3s(c, r);
                if (k >= 0)
                        k = report_add(r, "engine.kubelet", CHECK_SKIP, NULL, "not the selected engine (k3s)");
        } else {
                k = report_add(r, "engine.k3s", CHECK_SKIP, NULL, "not the selected engine (kubelet)");
                if (k >= 0)
                        k = check_kubelet(c, r);
        }
        return k < 0 ? k : check_overlay(c, r);
}
