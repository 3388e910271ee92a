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
