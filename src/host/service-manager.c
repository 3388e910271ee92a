/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "service-manager.h"
#include "unitfile.h"
#include "util.h"

void service_manager_decide(const struct service_manager_markers *m, struct service_manager_info *ret) {
        *ret = (struct service_manager_info) {};
        snprintf(ret->pid1, sizeof ret->pid1, "%s", m->pid1);
        if (m->systemd_running || m->openrc_running) {
                ret->manager = m->systemd_running ? SERVICE_MANAGER_SYSTEMD : SERVICE_MANAGER_OPENRC;
                ret->running = true;
        } else if (m->pid1[0]) {
                /* PID 1 runs and is neither (busybox init without OpenRC, a job's shell, tini). */
                ret->manager = strcmp(m->pid1, "systemd") == 0 ? SERVICE_MANAGER_SYSTEMD : SERVICE_MANAGER_NONE;
                ret->running = true;
        } else
                /* An image with neither installed is taken for what most are, systemd: its checks say more. */
                ret->manager = m->openrc_installed && !m->systemd_installed ? SERVICE_MANAGER_OPENRC
                                                                            : SERVICE_MANAGER_SYSTEMD;
}

static bool is_dir(const struct host *h, const char *path) {
        struct stat st;

        return host_stat(h, path, &st, true) >= 0 && S_ISDIR(st.st_mode);
}

static bool systemd_installed(const struct host *h) {
        static const char *const binaries[] = { "/usr/lib/systemd/systemd", "/lib/systemd/systemd" };

        for (size_t i = 0; i < ELEMENTSOF(binaries); i++)
                if (host_exists(h, binaries[i]))
                        return true;
        for (size_t i = 0; i < unit_search_path_len; i++) {
                _cleanup_free_ char *p = xstrdup_printf("%s/user@.service", unit_search_path[i]);

                if (p && host_exists(h, p))
                        return true;
        }
        return false;
}

void service_manager_detect(const struct host *h, struct service_manager_info *ret) {
        struct service_manager_markers m = {
                .systemd_running = is_dir(h, "/run/systemd/system"),
                .openrc_running = is_dir(h, "/run/openrc"),
        };
        _cleanup_free_ char *comm = NULL;

        if (host_read_line(h, "/proc/1/comm", &comm) >= 0)
                snprintf(m.pid1, sizeof m.pid1, "%s", comm);
        if (!m.systemd_running && !m.openrc_running && !m.pid1[0]) {
                m.systemd_installed = systemd_installed(h);
                m.openrc_installed = host_exists(h, "/sbin/openrc-run");
        }
        service_manager_decide(&m, ret);
}

const char *service_manager_to_string(enum service_manager m) {
        static const char *const names[] = {
                [SERVICE_MANAGER_SYSTEMD] = "systemd",
                [SERVICE_MANAGER_OPENRC] = "OpenRC",
                [SERVICE_MANAGER_NONE] = "none",
        };

        return (unsigned) m < ELEMENTSOF(names) ? names[m] : "unknown";
}

int openrc_cgroup_mode_parse(const char *text, const char **ret) {
        static const char *const modes[] = { "unified", "hybrid", "legacy" };
        static const char key[] = "rc_cgroup_mode=";
        const char *found = NULL;
        int k = -ENODATA;

        for (size_t len; *text; text += len + (text[len] == '\n')) {
                const char *line = text + strspn(text, " \t"), *v;
                char quote;
                size_t n;

                len = strcspn(text, "\n");
                if (line >= text + len || strncmp(line, key, sizeof key - 1) != 0)
                        continue;
                v = line + sizeof key - 1;
                quote = *v == '"' || *v == '\'' ? *v++ : 0;
                n = strcspn(v, quote == '"' ? "\"\n" : quote ? "'\n" : " \t#\n");
                /* The last assignment wins, as in the shell; only what OpenRC accepts counts, not a guess. */
                found = NULL;
                for (size_t i = 0; i < ELEMENTSOF(modes) && (!quote || v[n] == quote); i++)
                        if (n == strlen(modes[i]) && strncmp(v, modes[i], n) == 0)
                                found = modes[i];
                k = found ? 0 : -EINVAL;
        }
        if (k >= 0)
                *ret = found;
        return k;
}

int openrc_cgroup_mode_read(const struct host *h, const char **ret) {
        _cleanup_free_ char *text = NULL;
        int k;

        /* OpenRC's own rc.conf is ~12 KiB of comments. */
        k = host_read_file(h, "/etc/rc.conf", 256u * 1024, &text, NULL);
        if (k < 0)
                return k;
        return openrc_cgroup_mode_parse(text, ret);
}
