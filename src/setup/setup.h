/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "host.h"
#include "kmod.h"
#include "net-driver.h"
#include "util.h"

/* `usernode setup` / `unsetup` (DESIGN.md "What setup writes"). */
#define SETUP_DROPIN "/etc/systemd/system/user@.service.d/50-usernode-delegate.conf"
#define SETUP_SYSCTL "/etc/sysctl.d/50-usernode.conf"
#define SETUP_MODULES KMOD_USERNODE_LOAD_FILE
#define SETUP_LXC_USERNET NET_LXC_USERNET
#define SETUP_BRIDGE NET_BRIDGE
#define SETUP_DEFAULT_DELEGATE "cpu cpuset io memory pids"

struct setup_options {
        const char *user;
        bool dry_run;
        bool no_linger;
        bool fast_net;
        bool privileged_ports;
        bool restart_user_manager;
        bool force;
        const char *delegate;           /* controllers, space-separated; NULL: the default */
        uint32_t subids;                /* 0: SUBID_MIN_COUNT */
};

/* Both return 0 on success; what happened (diffs under --dry-run, notes, what to reload by hand)
 * is appended to out for the verb to print. Errors: -ESRCH/-EINVAL/-EPERM (user unknown, invalid,
 * refused), -EBADMSG (malformed host file, err names the line), -EBUSY (unsetup: files the admin
 * changed, listed in out), other -errno for system errors. */
int setup_run(const struct host *h, const struct setup_options *o, struct buf *out, struct un_error *err);
int unsetup_run(const struct host *h, const struct setup_options *o, struct buf *out, struct un_error *err);

/* "cpu,io memory" -> "cpu io memory" in canonical order; -EINVAL for an unknown controller. */
int setup_parse_delegate(const char *list, char **ret);
