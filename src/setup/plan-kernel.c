/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The kernel side of setup: sysctls a rootless node needs, the modules it cannot load from inside its
 * user namespace, and AppArmor profiles where unprivileged user namespaces are restricted. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/utsname.h>

#include "kmod.h"
#include "setup-internal.h"
#include "sysctl.h"
#include "template.h"

/* Host-wide networking changes only when the admin asks for them: the option that enables each. */
enum knob_option {
        KNOB_ALWAYS,
        KNOB_FAST_NET,          /* --fast-net: routing for the veth path */
        KNOB_PRIVILEGED_PORTS,  /* --privileged-ports */
};

struct knob {
        const char *key, *value;
        enum knob_option option;
};

static const struct knob knobs[] = {
        { "kernel.unprivileged_userns_clone", "1", KNOB_ALWAYS },
        { "user.max_user_namespaces", STRINGIFY(USERNS_MAX_DEFAULT), KNOB_ALWAYS },
        { "net.ipv4.ip_forward", "1", KNOB_FAST_NET },
        { "net.ipv4.ip_unprivileged_port_start", "0", KNOB_PRIVILEGED_PORTS },
};

/* Whether the host lacks the knob's setting; *ret_runtime gets the current value (NULL if unknown). */
static bool knob_lacking(const struct host *h, const struct knob *k, char **ret_runtime) {
        _cleanup_free_ char *path = setup_plan_sysctl_path(k->key), *v = NULL;
        uint64_t n;

        *ret_runtime = NULL;
        if (!path || host_read_line(h, path, &v) < 0) {
                /* Unknown (an image without /proc): only knobs that exist on every kernel are written. */
                return h->offline && startswith(k->key, "net.ipv4.");
        }
        *ret_runtime = strdup(strstrip(v));
        if (!*ret_runtime || parse_u64(*ret_runtime, &n) < 0)
                return false;
        if (strcmp(k->key, "net.ipv4.ip_unprivileged_port_start") == 0)
                return n > 0;
        if (strcmp(k->key, "user.max_user_namespaces") == 0)
                return n == 0;
        return strcmp(*ret_runtime, k->value) != 0;
}

/* The sysctl.d file: the knobs this host lacks, and those an earlier run wrote; *ret NULL when none.
 * Those lacking at runtime are planned to be set now. */
static int sysctl_file_content(const struct host *h, const struct setup_options *o, const struct change *c,
                               struct plan *p, char **ret) {
        struct buf b = {};
        bool any = false;
        int r;

        r = buf_puts(&b, OURS ": kernel settings a rootless Kubernetes node needs that this\n"
                         "# host lacked. `usernode unsetup` removes it.\n");
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(knobs); i++) {
                const struct knob *k = &knobs[i];
                _cleanup_free_ char *runtime = NULL, *line = xstrdup_printf("%s = %s\n", k->key, k->value);
                bool lacking, listed;

                if (!line) {
                        r = -ENOMEM;
                        break;
                }
                if ((k->option == KNOB_PRIVILEGED_PORTS && !o->privileged_ports) ||
                    (k->option == KNOB_FAST_NET && !o->fast_net))
                        continue;
                lacking = knob_lacking(h, k, &runtime);
                /* Once written, a setting stays in the file even though the host no longer lacks it. */
                listed = c->existed && strstr(c->old, line);
                if (!lacking && !listed)
                        continue;
                any = true;
                r = buf_puts(&b, line);
                /* Applied at once on the live host; under --root there is nothing running to change. */
                if (r >= 0 && lacking && runtime && !h->offline)
                        r = setup_plan_add_sysctl(p, k->key, runtime, k->value);
        }
        *ret = r >= 0 && any ? buf_steal(&b) : NULL;
        buf_free(&b);
        return r;
}

/* The running kernel's release: where its modules are. */
static char *kernel_release(const struct host *h) {
        char *release = NULL;
        struct utsname u;

        if (h->offline)
                (void) host_read_line(h, "/proc/sys/kernel/osrelease", &release);
        else if (uname(&u) >= 0)
                release = strdup(u.release);
        return release;
}

/* The modules the node needs (kmod.c's list, the one the kmod.<name> checks read): those not built
 * in go to SETUP_MODULES for every boot, and those not loaded are planned to be loaded now. *ret NULL
 * when none. */
static int modules_file_content(const struct host *h, const struct setup_options *o, const struct change *c,
                                struct plan *p, char **ret) {
        _cleanup_free_ char *release = kernel_release(h);
        const struct kmod_need *needs;
        struct kmod_db db = {};
        struct buf b = {};
        bool any = false;
        size_t n_needs;
        int r;

        *ret = NULL;
        kmod_db_init(&db, h, release ? strstrip(release) : NULL);
        if (release && !db.release) {
                kmod_db_done(&db);
                return -ENOMEM;
        }
        r = buf_puts(&b, OURS ": kernel modules a rootless Kubernetes node needs and cannot\n"
                         "# load from inside its user namespace. `usernode unsetup` removes it.\n");
        needs = kmod_needs(&n_needs);
        for (size_t i = 0; r >= 0 && i < n_needs; i++) {
                const char *m = needs[i].name;
                _cleanup_free_ char *line = xstrdup_printf("%s\n", m);
                struct kmod_info info;
                bool module_lists;

                if (!line) {
                        r = -ENOMEM;
                        break;
                }
                r = kmod_lookup(&db, m, needs[i].config, &info);
                if (r < 0)
                        break;
                if (info.state == KMOD_BUILTIN)
                        continue;
                /* Without modules.dep and modules.builtin nothing says a module is absent: list it. */
                module_lists = db.dep || db.builtin;
                if (info.state == KMOD_ABSENT && module_lists && !(c->existed && strstr(c->old, line))) {
                        setup_plan_note(&p->notes, "module %s is neither built into kernel %s nor available as a "
                                        "module (%s)", m, strna(db.release), info.source);
                        continue;
                }
                any = true;
                r = buf_puts(&b, line);
                if (r >= 0 && !h->offline && info.state != KMOD_LOADED)
                        r = strv_push(&p->modprobe, m);
        }
        if (r >= 0 && db.read_builtin && db.read_dep && !db.dep && !db.builtin)
                setup_plan_note(&p->notes, "no module list for kernel %s under /lib/modules: %s lists every module "
                                "the engine may need", strna(db.release), SETUP_MODULES);
        if (r >= 0 && any)
                *ret = buf_steal(&b);
        kmod_db_done(&db);
        buf_free(&b);
        return r;
}

typedef int (*content_fn)(const struct host *h, const struct setup_options *o, const struct change *c,
                          struct plan *p, char **ret);

/* A file only setup writes whose content depends on what it holds already. */
static int plan_own_file(const struct host *h, const struct setup_options *o, const char *path,
                         content_fn content, struct plan *p, struct un_error *err) {
        struct change c = { .path = strdup(path) };
        char *new = NULL;
        int r;

        r = c.path ? setup_plan_read_own_file(h, &c, p, err) : -ENOMEM;
        if (r == 0)
                r = content(h, o, &c, p, &new);
        if (r != 0) {
                setup_plan_change_done(&c);
                return r < 0 ? r : 0;
        }
        r = setup_plan_add_own_change(p, &c, new);
        return r < 0 ? r : 0;
}

int setup_plan_sysctls(const struct host *h, const struct setup_options *o, struct plan *p, struct un_error *err) {
        return plan_own_file(h, o, SETUP_SYSCTL, sysctl_file_content, p, err);
}

int setup_plan_modules(const struct host *h, const struct setup_options *o, struct plan *p, struct un_error *err) {
        return plan_own_file(h, o, SETUP_MODULES, modules_file_content, p, err);
}

/* rootlesskit for both engines (k3s runs inside usernode's), pasta for its network. */
static const char *const apparmor_binaries[] = { "rootlesskit", "pasta" };

/* Where the kernel lets only profiled programs make unprivileged user namespaces: a profile for each
 * binary that makes one for the node. */
int setup_plan_apparmor(const struct host *h, struct plan *p, struct un_error *err) {
        _cleanup_free_ char *restrict_ = NULL, *tmpl = NULL;
        int r;

        if (host_read_line(h, "/proc/sys/kernel/apparmor_restrict_unprivileged_userns", &restrict_) < 0 ||
            strcmp(strstrip(restrict_), "1") != 0)
                return 0;
        r = template_load("apparmor-userns.in", &tmpl, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(apparmor_binaries); i++) {
                _cleanup_free_ char *bin = NULL, *name = NULL, *path = NULL, *body = NULL;

                if (host_find_executable(h, apparmor_binaries[i], &bin) < 0)
                        continue;
                if (strpbrk(bin, " \t\n\"{}"))
                        continue;       /* cannot be written into a profile header safely */
                name = xstrdup_printf("usernode-%s", apparmor_binaries[i]);
                path = xstrdup_printf("/etc/apparmor.d/%s", name);
                if (!name || !path)
                        return -ENOMEM;
                r = template_render("apparmor-userns.in", tmpl,
                                    (const struct template_var[]) { { "profile_name", name }, { "binary", bin } }, 2,
                                    &body, err);
                if (r < 0)
                        return r;
                r = setup_plan_add_own_file(h, p, path,
                                            xstrdup_printf(OURS ": `usernode unsetup` removes it.\n%s", body), err);
                if (r > 0 && !h->offline && strv_push(&p->apparmor, path) < 0)
                        return -ENOMEM;
                if (r < 0)
                        return r;
        }
        return 0;
}

