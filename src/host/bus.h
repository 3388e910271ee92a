/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

/* The system bus calls setup makes (systemd's documented D-Bus API):
 *   org.freedesktop.systemd1.Manager.Reload()                       daemon-reload
 *   org.freedesktop.systemd1.Manager.StartUnit(name, "replace")     start user@UID.service
 *   org.freedesktop.systemd1.Manager.RestartUnit(name, "replace")   with --restart-user-manager
 *   org.freedesktop.login1.Manager.SetUserLinger(uid, enable, interactive=false)
 * The verb opens the bus once; -ENOENT/-ECONNREFUSED/-ENOMEDIUM there mean "no system bus". */
typedef struct sd_bus sd_bus;

int bus_open_system(sd_bus **ret, struct un_error *err);
sd_bus *bus_close(sd_bus *bus);
int bus_daemon_reload(sd_bus *bus, struct un_error *err);
int bus_set_linger(sd_bus *bus, uid_t uid, bool enable, struct un_error *err);
int bus_start_unit(sd_bus *bus, const char *unit, struct un_error *err);
int bus_restart_unit(sd_bus *bus, const char *unit, struct un_error *err);
/* The unit's ActiveState ("active", "inactive", ...); "inactive" when systemd has not loaded it. */
int bus_unit_active_state(sd_bus *bus, const char *unit, char **ret, struct un_error *err);
/* As the user UID, through its manager's own socket (/run/user/UID/systemd/private): moves the calling
 * process into a new transient scope NAME with Delegate=yes (StartTransientUnit) and waits until it
 * runs. That scope's cgroup then has the controllers the running manager gives a delegated unit, as
 * it gives the node's. The scope goes when the process exits. It waits for the job without a limit
 * of its own: run it in a child that the caller's time limit guards. */
int bus_enter_delegated_user_scope(uid_t uid, const char *name, struct un_error *err);
