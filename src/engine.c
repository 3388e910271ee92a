/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "checks.h"
#include "util.h"
#include "version.h"

/* k3s unpacks itself on its first run and can take seconds: its version is a nicety, the deadline
 * keeps check fast. */
#define ENGINE_VERSION_TIMEOUT_MS 40u

static const char *const cni_dirs[] = { "/usr/lib/cni", "/opt/cni/bin", "/usr/libexec/cni" };
static const char *const cni_plugins[] = { "bridge", "host-local", "portmap", "loopback" };

static char *install_fix(const struct check_ctx *c, char * const *debian_packages) {
        struct buf b = {};

        if (buf_puts(&b, distro_install_command(&c->distro)) < 0)
                goto oom;
        for (char * const *p = debian_packages; *p; p++)
                if (buf_printf(&b, " %s", distro_package(&c->distro, *p)) < 0)
                        goto oom;
        return buf_steal(&b);
oom:
        buf_free(&b);
        return NULL;
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

static void describe_version(struct buf *b, const char *name, const struct version_query *q, bool offline) {
        char v[48];

        if (offline)
                (void) buf_printf(b, "%s present", name);
        else if (q->spawn_error < 0)
                (void) buf_printf(b, "%s does not run (%s)", name, strerror(-q->spawn_error));
        else if (q->timed_out)
                (void) buf_printf(b, "%s present (--version did not answer within %u ms)", name, ENGINE_VERSION_TIMEOUT_MS);
        else if (version_extract(q->output, v, sizeof v) >= 0)
                (void) buf_printf(b, "%s %s", name, v);
        else
                (void) buf_printf(b, "%s present (version unknown)", name);
}

static int check_k3s(struct check_ctx *c, struct report *r) {
        _cleanup_free_ char *k3s = NULL, *slirp = NULL, *newuidmap = NULL, *newgidmap = NULL, *fix = NULL;
        _cleanup_strv_free_ char **missing = NULL, **packages = NULL;
        struct version_query q = {};
        struct buf d = {};
        int k;

        if (host_find_executable(c->host, "k3s", &k3s) < 0) {
                const char *arch = release_arch();

                fix = xstrdup_printf("mkdir -p ~/.local/bin && curl -sfLo ~/.local/bin/k3s "
                                     "https://github.com/k3s-io/k3s/releases/latest/download/k3s%s%s && chmod +x ~/.local/bin/k3s",
                                     strcmp(arch, "amd64") == 0 ? "" : "-", strcmp(arch, "amd64") == 0 ? "" : arch);
                if (!fix)
                        return -ENOMEM;
                return report_add(r, "engine.k3s", CHECK_FAIL, fix,
                                  "k3s is not on PATH (it is not in %s's archive: take the upstream release binary)",
                                  c->distro.pretty_name ? c->distro.pretty_name : c->distro.id);
        }
        /* k3s --rootless embeds rootlesskit, which runs newuidmap/newgidmap and execs slirp4netns. */
        if (host_find_executable(c->host, "slirp4netns", &slirp) < 0 &&
            (strv_push(&missing, "slirp4netns") < 0 || strv_push(&packages, "slirp4netns") < 0))
                return -ENOMEM;
        if (host_find_executable(c->host, "newuidmap", &newuidmap) < 0 && strv_push(&missing, "newuidmap") < 0)
                return -ENOMEM;
        if (host_find_executable(c->host, "newgidmap", &newgidmap) < 0 && strv_push(&missing, "newgidmap") < 0)
                return -ENOMEM;
        if ((!newuidmap || !newgidmap) && strv_push(&packages, "uidmap") < 0)
                return -ENOMEM;

        if (!c->host->offline) {
                q.path = k3s;
                if (version_query_run(&q, 1, ENGINE_VERSION_TIMEOUT_MS) < 0)
                        return -ENOMEM;
        }
        describe_version(&d, k3s, &q, c->host->offline);
        if (missing) {
                _cleanup_free_ char *list = NULL;
                struct buf l = {};

                for (char **m = missing; *m; m++)
                        (void) buf_printf(&l, "%s%s", l.len ? ", " : "", *m);
                list = buf_steal(&l);
                fix = install_fix(c, packages);
                if (!fix || !list) {
                        buf_free(&d);
                        return -ENOMEM;
                }
                k = report_add(r, "engine.k3s", CHECK_FAIL, fix,
                               "%s; k3s --rootless also needs %s, which %s not on PATH", d.data ? d.data : k3s, list,
                               strv_length(missing) > 1 ? "are" : "is");
        } else
                k = report_add(r, "engine.k3s", CHECK_PASS, NULL,
                               "%s; its rootless prerequisites are present (slirp4netns %s, newuidmap %s, newgidmap %s)",
                               d.data ? d.data : k3s, slirp, newuidmap, newgidmap);
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

static int check_kubelet(struct check_ctx *c, struct report *r) {
        static const char *const tools[] = { "kubelet", "rootlesskit", "containerd", "crun", "runc" };
        char *path[ELEMENTSOF(tools)] = {};
        _cleanup_strv_free_ char **missing = NULL, **packages = NULL, **cni_missing = NULL;
        _cleanup_free_ char *fix = NULL;
        struct version_query q[2] = {};
        size_t nq = 0;
        const char *cni_dir = NULL;
        struct buf d = {}, f = {};
        int k = -ENOMEM;

        for (size_t i = 0; i < ELEMENTSOF(tools); i++)
                (void) host_find_executable(c->host, tools[i], &path[i]);
        if (find_cni(c, &cni_dir, &cni_missing) < 0)
                goto out;

        /* kubelet and crun answer --version in milliseconds; containerd takes ~80 ms, so it is not asked. */
        if (!c->host->offline) {
                if (path[0])
                        q[nq++].path = path[0];
                if (path[3])
                        q[nq++].path = path[3];
                if (nq > 0 && version_query_run(q, nq, ENGINE_VERSION_TIMEOUT_MS) < 0)
                        goto out;
        }
        if (path[0])
                describe_version(&d, "kubelet", &q[0], c->host->offline);
        else
                (void) buf_puts(&d, "kubelet absent");
        (void) buf_printf(&d, ", rootlesskit %s, containerd %s", path[1] ? "present" : "absent",
                          path[2] ? "present (version not run: slow)" : "absent");
        if (path[3]) {
                (void) buf_puts(&d, ", ");
                describe_version(&d, "crun", &q[path[0] ? 1 : 0], c->host->offline);
        } else
                (void) buf_printf(&d, ", crun absent, runc %s", path[4] ? "present" : "absent");
        if (cni_dir)
                (void) buf_printf(&d, ", CNI plugins in %s", cni_dir);
        else
                (void) buf_puts(&d, ", no CNI plugins");
        if (!d.data)
                goto out;

        if (!path[1] && (strv_push(&missing, "rootlesskit") < 0 || strv_push(&packages, "rootlesskit") < 0))
                goto out;
        if (!path[2] && (strv_push(&missing, "containerd") < 0 || strv_push(&packages, "containerd") < 0))
                goto out;
        if (!path[3] && !path[4] && (strv_push(&missing, "crun or runc") < 0 || strv_push(&packages, "crun") < 0))
                goto out;
        if (!cni_dir || (cni_missing && cni_missing[0])) {
                if (!cni_dir && strv_push(&missing, "CNI plugins (bridge host-local portmap loopback)") < 0)
                        goto out;
                for (char **m = cni_dir ? cni_missing : NULL; m && *m; m++) {
                        _cleanup_free_ char *s = xstrdup_printf("CNI plugin %s", *m);

                        if (!s || strv_push(&missing, s) < 0)
                                goto out;
                }
                if (strv_push(&packages, "containernetworking-plugins") < 0)
                        goto out;
        }
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
        } else
                k = report_add(r, "engine.kubelet", CHECK_PASS, NULL, "%s", d.data);
out:
        for (size_t i = 0; i < ELEMENTSOF(tools); i++)
                free(path[i]);
        buf_free(&d);
        buf_free(&f);
        return k;
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
        return k;
}
