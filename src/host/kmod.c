/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "kmod.h"
#include "util.h"

static bool name_eq(const char *a, size_t alen, const char *b) {
        size_t blen = strlen(b);

        if (alen != blen)
                return false;
        for (size_t i = 0; i < alen; i++) {
                char x = a[i] == '-' ? '_' : a[i], y = b[i] == '-' ? '_' : b[i];

                if (x != y)
                        return false;
        }
        return true;
}

bool kmod_proc_modules_has(const char *text, const char *name) {
        /* "overlay 151552 0 - Live 0x0000000000000000": the first word of a line. */
        for (const char *l = text; l && *l; ) {
                const char *nl = strchr(l, '\n');
                size_t len = nl ? (size_t) (nl - l) : strlen(l), w = strcspn(l, " \t\n");

                if (len <= HOST_LINE_MAX && w <= len && name_eq(l, w, name))
                        return true;
                l = nl ? nl + 1 : NULL;
        }
        return false;
}

bool kmod_list_has(const char *text, const char *name) {
        for (const char *l = text; l && *l; ) {
                const char *nl = strchr(l, '\n');
                size_t len = nl ? (size_t) (nl - l) : strlen(l);
                size_t path = strcspn(l, ":\n");
                const char *base, *ko;

                if (path > len)
                        path = len;
                /* The basename of the path up to ".ko" (then maybe .xz/.zst/.gz). */
                base = l;
                for (const char *p = l; p < l + path; p++)
                        if (*p == '/')
                                base = p + 1;
                ko = NULL;
                for (const char *p = base; p + 3 <= l + path; p++)
                        if (memcmp(p, ".ko", 3) == 0 && (p + 3 == l + path || p[3] == '.'))
                                ko = p;
                if (len <= HOST_LINE_MAX && ko && name_eq(base, (size_t) (ko - base), name))
                        return true;
                l = nl ? nl + 1 : NULL;
        }
        return false;
}

char kconfig_value(const char *text, const char *symbol) {
        size_t n = strlen(symbol);

        for (const char *l = text; l && *l; ) {
                const char *nl = strchr(l, '\n');
                size_t len = nl ? (size_t) (nl - l) : strlen(l);

                /* "CONFIG_X=y" exactly: "CONFIG_X_Y=y" is another symbol. */
                if (len == n + 2 && strncmp(l, symbol, n) == 0 && l[n] == '=' && (l[n + 1] == 'y' || l[n + 1] == 'm'))
                        return l[n + 1];
                l = nl ? nl + 1 : NULL;
        }
        return 'n';
}

const char *kmod_state_to_string(enum kmod_state s) {
        static const char *const names[] = { "built in", "loaded", "available, not loaded", "absent" };

        return s < ELEMENTSOF(names) ? names[s] : "unknown";
}

void kmod_db_init(struct kmod_db *db, const struct host *h, const char *release) {
        *db = (struct kmod_db) { .host = h, .release = release ? strdup(release) : NULL };
}

void kmod_db_done(struct kmod_db *db) {
        free(db->release);
        free(db->proc_modules);
        free(db->builtin);
        free(db->dep);
        free(db->kconfig);
        *db = (struct kmod_db) {};
}

static int read_gz(const struct host *h, const char *path, char **ret) {
        _cleanup_free_ char *data = NULL;
        gzFile gz;
        size_t len = 0, cap = 256 * 1024;
        int fd, n;

        fd = host_open(h, path, O_RDONLY, 0, HOST_FOLLOW);
        if (fd < 0)
                return fd;
        gz = gzdopen(fd, "r");
        if (!gz) {
                close(fd);
                return -ENOMEM;
        }
        data = malloc(cap);
        if (!data) {
                gzclose(gz);
                return -ENOMEM;
        }
        while ((n = gzread(gz, data + len, (unsigned) (cap - 1 - len))) > 0) {
                len += (size_t) n;
                if (len + 1 < cap)
                        continue;
                if (cap >= HOST_FILE_MAX) {
                        gzclose(gz);
                        return -EFBIG;
                }
                cap *= 2;
                {
                        char *p = realloc(data, cap);

                        if (!p) {
                                gzclose(gz);
                                return -ENOMEM;
                        }
                        data = p;
                }
        }
        gzclose(gz);
        if (n < 0)
                return -EBADMSG;
        data[len] = '\0';
        *ret = TAKE_PTR(data);
        return 0;
}

static int db_read(struct kmod_db *db, bool *done, char **slot, const char *name) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (*done)
                return 0;
        *done = true;
        if (!db->release)
                return 0;
        path = xstrdup_printf("/lib/modules/%s/%s", db->release, name);
        if (!path)
                return -ENOMEM;
        r = host_read_file(db->host, path, HOST_FILE_MAX, slot, NULL);
        return r == -ENOMEM ? r : 0;
}

static int db_read_kconfig(struct kmod_db *db) {
        _cleanup_free_ char *boot = NULL;
        int r;

        if (db->read_kconfig)
                return 0;
        db->read_kconfig = true;
        r = read_gz(db->host, "/proc/config.gz", &db->kconfig);
        if (r == -ENOMEM)
                return r;
        if (r >= 0) {
                db->kconfig_source = "/proc/config.gz";
                return 0;
        }
        if (!db->release)
                return 0;
        boot = xstrdup_printf("/boot/config-%s", db->release);
        if (!boot)
                return -ENOMEM;
        r = host_read_file(db->host, boot, HOST_FILE_MAX, &db->kconfig, NULL);
        if (r == -ENOMEM)
                return r;
        if (r >= 0)
                db->kconfig_source = "/boot/config-RELEASE";
        return 0;
}

/* What a module leaves behind when it is in the running kernel, for kernels that say nothing else. */
static bool marker_present(const struct host *h, const char *name) {
        if (strcmp(name, "br_netfilter") == 0)
                return host_exists(h, "/proc/sys/net/bridge/bridge-nf-call-iptables");
        if (strcmp(name, "ip_tables") == 0)
                return host_exists(h, "/proc/net/ip_tables_names");
        if (strcmp(name, "tun") == 0)
                return host_exists(h, "/sys/class/misc/tun");
        if (strcmp(name, "overlay") == 0) {
                _cleanup_free_ char *fs = NULL;

                if (host_read_file(h, "/proc/filesystems", 64 * 1024, &fs, NULL) < 0)
                        return false;
                for (char *p = fs; (p = strstr(p, "overlay")); p += 7)
                        if ((p == fs || p[-1] == '\t' || p[-1] == ' ') && (p[7] == '\n' || p[7] == '\0'))
                                return true;
        }
        return false;
}

static int info_set(struct kmod_info *ret, enum kmod_state s, const char *fmt, ...) _printf_(3, 4);
static int info_set(struct kmod_info *ret, enum kmod_state s, const char *fmt, ...) {
        va_list ap;

        ret->state = s;
        va_start(ap, fmt);
        vsnprintf(ret->source, sizeof ret->source, fmt, ap);
        va_end(ap);
        return 0;
}

int kmod_lookup(struct kmod_db *db, const char *name, const char *config_symbol, struct kmod_info *ret) {
        _cleanup_free_ char *sys = NULL, *initstate = NULL;
        char kc = 'n';
        int r;

        if (!db->read_modules) {
                db->read_modules = true;
                r = host_read_file(db->host, "/proc/modules", HOST_FILE_MAX, &db->proc_modules, NULL);
                if (r == -ENOMEM)
                        return r;
        }
        if (db->proc_modules && kmod_proc_modules_has(db->proc_modules, name))
                return info_set(ret, KMOD_LOADED, "/proc/modules");

        /* Built-in modules with parameters appear in /sys/module too, without an initstate. */
        sys = xstrdup_printf("/sys/module/%s", name);
        initstate = xstrdup_printf("/sys/module/%s/initstate", name);
        if (!sys || !initstate)
                return -ENOMEM;
        if (host_exists(db->host, sys))
                return host_exists(db->host, initstate) ? info_set(ret, KMOD_LOADED, "%s/initstate", sys)
                                                        : info_set(ret, KMOD_BUILTIN, "%s", sys);

        r = db_read(db, &db->read_builtin, &db->builtin, "modules.builtin");
        if (r < 0)
                return r;
        if (db->builtin && kmod_list_has(db->builtin, name))
                return info_set(ret, KMOD_BUILTIN, "/lib/modules/%s/modules.builtin", db->release);

        if (config_symbol) {
                r = db_read_kconfig(db);
                if (r < 0)
                        return r;
                if (db->kconfig)
                        kc = kconfig_value(db->kconfig, config_symbol);
                if (kc == 'y')
                        return info_set(ret, KMOD_BUILTIN, "%s=y in %s", config_symbol, db->kconfig_source);
        }
        if (marker_present(db->host, name))
                return info_set(ret, KMOD_BUILTIN, "present in the running kernel");

        r = db_read(db, &db->read_dep, &db->dep, "modules.dep");
        if (r < 0)
                return r;
        if (db->dep && kmod_list_has(db->dep, name))
                return info_set(ret, KMOD_AVAILABLE, "/lib/modules/%s/modules.dep", db->release);
        if (!db->host->offline && !db->proc_modules)
                return info_set(ret, KMOD_ABSENT, "kernel %s has no module support (no /proc/modules)%s",
                                strna(db->release), kc == 'n' && db->kconfig ? " and does not build it in" : "");
        if (kc == 'm')
                return info_set(ret, KMOD_ABSENT, "%s=m, but /lib/modules/%s/modules.dep does not list it",
                                config_symbol, strna(db->release));
        return info_set(ret, KMOD_ABSENT, "not in /lib/modules/%s (modules.builtin, modules.dep)%s", strna(db->release),
                        db->kconfig ? ", nor in the kernel config" : "");
}

/* What the node needs loaded before it starts: netfilter and overlay cannot be autoloaded from
 * inside its user namespace. setup lists exactly these, kmod.<name> checks exactly these. */
static const struct kmod_need needs[] = {
        { "overlay", "CONFIG_OVERLAY_FS", "the overlayfs snapshotter" },
        { "br_netfilter", "CONFIG_BRIDGE_NETFILTER", "Service traffic between pods on one bridge" },
        { "nf_tables", "CONFIG_NF_TABLES", "iptables-nft rules for Services and hostPorts" },
        { "ip_tables", "CONFIG_IP_NF_IPTABLES", "legacy iptables rules" },
        { "iptable_nat", "CONFIG_IP_NF_NAT", "NAT for Services and hostPorts (iptables-legacy)" },
        { "vxlan", "CONFIG_VXLAN", "flannel's VXLAN overlay between nodes" },
};

const struct kmod_need *kmod_needs(size_t *ret_n) {
        *ret_n = ELEMENTSOF(needs);
        return needs;
}

bool kmod_load_list_has(const char *text, const char *name) {
        /* modules-load.d(5): one module per line; '#' and ';' start comments; blanks around are ignored. */
        for (const char *l = text; l && *l;) {
                const char *nl = strchr(l, '\n');
                size_t len = nl ? (size_t) (nl - l) : strlen(l), lead = strspn(l, " \t"), w;

                if (len <= HOST_LINE_MAX && lead < len && l[lead] != '#' && l[lead] != ';') {
                        w = strcspn(l + lead, " \t\r\n");
                        if (lead + w <= len && name_eq(l + lead, w, name) && lead + w + strspn(l + lead + w, " \t\r") >= len)
                                return true;
                }
                l = nl ? nl + 1 : NULL;
        }
        return false;
}

int kmod_load_listed(const struct host *h, const char *name, char **ret_file) {
        _cleanup_strv_free_ char **files = NULL;
        int r;

        r = host_conf_files(h, "modules-load.d", &files);
        if (r < 0)
                return r;
        for (char **f = files; *f; f++) {
                _cleanup_free_ char *text = NULL;

                if (host_read_file(h, *f, HOST_FILE_MAX, &text, NULL) < 0 || !kmod_load_list_has(text, name))
                        continue;
                if (ret_file) {
                        *ret_file = strdup(*f);
                        if (!*ret_file)
                                return -ENOMEM;
                }
                return 1;
        }
        return 0;
}
