/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kmod.<name>: the kernel modules the node needs loaded before it starts. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "checks.h"
#include "kmod.h"
#include "util.h"

static char *kmod_absent_fix(const struct check_ctx *c) {
        switch (c->distro.family) {
        case DISTRO_UBUNTU:
                return strdup("sudo apt-get install -y linux-modules-extra-$(uname -r) && sudo reboot");
        case DISTRO_DEBIAN:
                return strdup("sudo apt-get install -y linux-image-$(dpkg --print-architecture) && sudo reboot");
        case DISTRO_FEDORA:
        case DISTRO_RHEL:
                return strdup("sudo dnf install -y kernel-modules kernel-modules-extra && sudo reboot");
        default:
                return strdup("boot a kernel that has the module (your distribution's stock kernel does)");
        }
}

/* Available, not loaded now: listed for loading at boot (what setup does) leaves only loading it now. */
static int check_kmod_available(struct check_ctx *c, struct report *r, const char *id, const struct kmod_need *m,
                                const struct kmod_db *db, const struct kmod_info *info) {
        _cleanup_free_ char *fix = NULL, *setup = NULL, *listed_in = NULL, *conf = NULL;
        int k;

        k = kmod_load_listed(c->host, m->name, &listed_in);
        if (k < 0)
                return k;
        /* An image without /proc/modules has nothing loaded: what it loads at boot is the truth. */
        if (k > 0 && c->host->offline && !db->proc_modules)
                return report_add(r, id, CHECK_PASS, NULL, "available (%s), listed in %s: loaded when that host boots",
                                  info->source, listed_in);
        if (k > 0) {
                fix = c->host->offline ? xstrdup_printf("nothing to write: %s lists it and that host loads it when it "
                                                        "boots (on it now: sudo modprobe %s)",
                                                        listed_in, m->name)
                                       : xstrdup_printf("sudo modprobe %s   # %s loads it at boot", m->name, listed_in);
                return fix ? report_add(r, id, CHECK_WARN, fix,
                                        "available but not loaded (%s), though %s lists it for loading at boot: "
                                        "needed for %s",
                                        info->source, listed_in, m->why)
                           : -ENOMEM;
        }
        setup = check_setup_command(c, NULL);
        conf = check_host_path(c, KMOD_USERNODE_LOAD_FILE);
        fix = !setup || !conf      ? NULL
              : c->host->offline ? xstrdup_printf("%s (or: echo %s | sudo tee -a %s   # loaded when that host boots)",
                                                  setup, m->name, conf)
                                 : xstrdup_printf("%s (or: sudo modprobe %s && echo %s | sudo tee -a %s)", setup,
                                                  m->name, m->name, conf);
        return fix ? report_add(r, id, CHECK_WARN, fix, "available but not loaded (%s): needed for %s", info->source,
                                m->why)
                   : -ENOMEM;
}

int check_kmod(struct check_ctx *c, struct report *r) {
        size_t n_needs;
        const struct kmod_need *needs = kmod_needs(&n_needs);
        struct kmod_db db;
        int k = 0;

        kmod_db_init(&db, c->host, c->kernel_release);
        if (c->kernel_release && !db.release)
                return -ENOMEM;
        for (size_t i = 0; i < n_needs && k >= 0; i++) {
                _cleanup_free_ char *id = xstrdup_printf("kmod.%s", needs[i].name), *fix = NULL;
                struct kmod_info info;

                if (!id) {
                        k = -ENOMEM;
                        break;
                }
                k = kmod_lookup(&db, needs[i].name, needs[i].config, &info);
                if (k < 0)
                        break;
                switch (info.state) {
                case KMOD_BUILTIN:
                case KMOD_LOADED:
                        k = report_add(r, id, CHECK_PASS, NULL, "%s (%s)", kmod_state_to_string(info.state), info.source);
                        break;
                case KMOD_AVAILABLE:
                        k = check_kmod_available(c, r, id, &needs[i], &db, &info);
                        break;
                case KMOD_ABSENT:
                        fix = kmod_absent_fix(c);
                        k = fix ? report_add(r, id, CHECK_WARN, fix, "absent: %s; needed for %s", info.source,
                                             needs[i].why)
                                : -ENOMEM;
                        break;
                }
        }
        kmod_db_done(&db);
        return k;
}
