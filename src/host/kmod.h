/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "host.h"

enum kmod_state {
        KMOD_BUILTIN,
        KMOD_LOADED,
        KMOD_AVAILABLE,         /* in modules.dep, not loaded */
        KMOD_ABSENT,
};

/* The module facts of one kernel, read once and shared by every lookup. */
struct kmod_db {
        const struct host *host;
        char *release;
        bool read_modules, read_builtin, read_dep, read_kconfig;
        char *proc_modules;     /* NULL: no /proc/modules (no module support on a live host) */
        char *builtin, *dep;    /* /lib/modules/RELEASE/modules.builtin, modules.dep */
        char *kconfig;          /* /proc/config.gz or /boot/config-RELEASE */
        const char *kconfig_source;
};

struct kmod_info {
        enum kmod_state state;
        char source[160];       /* what told us: "/proc/modules", "CONFIG_VXLAN=y in /proc/config.gz" */
};

/* A module the node needs loaded before it starts (netfilter and overlay cannot be autoloaded from
 * inside its user namespace): the one list that setup writes to KMOD_USERNODE_LOAD_FILE and that the
 * kmod.<name> checks want. */
struct kmod_need {
        const char *name;
        const char *config;     /* the kernel config symbol that builds it in */
        const char *why;        /* what the node loses without it */
};
const struct kmod_need *kmod_needs(size_t *ret_n);

/* The modules-load.d file setup writes (SETUP_MODULES) and the checks' fixes name. */
#define KMOD_USERNODE_LOAD_FILE "/etc/modules-load.d/usernode.conf"

/* modules-load.d text: true when it lists name on a line of its own. */
bool kmod_load_list_has(const char *text, const char *name);
/* Whether a modules-load.d file (the set systemd-modules-load reads) lists name: 1 with that
 * file in ret_file (may be NULL), 0 when none does. */
int kmod_load_listed(const struct host *h, const char *name, char **ret_file);

void kmod_db_init(struct kmod_db *db, const struct host *h, const char *release);
void kmod_db_done(struct kmod_db *db);
/* config_symbol ("CONFIG_VXLAN") may be NULL. Returns 0 or -ENOMEM. */
int kmod_lookup(struct kmod_db *db, const char *name, const char *config_symbol, struct kmod_info *ret);

/* Parsers, each bounded and strict about what a line is. Module names compare with '-' == '_'. */
/* /proc/modules: true when name is listed. */
bool kmod_proc_modules_has(const char *text, const char *name);
/* modules.builtin ("kernel/fs/overlayfs/overlay.ko") or modules.dep ("PATH.ko.xz: DEPS"). */
bool kmod_list_has(const char *text, const char *name);
/* A kernel .config: 'y', 'm', or 'n' (also for "# CONFIG_X is not set" and absent symbols). */
char kconfig_value(const char *text, const char *symbol);
const char *kmod_state_to_string(enum kmod_state s);
