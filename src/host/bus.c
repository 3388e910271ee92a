/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "bus.h"
#include "util.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define LOGIN_DEST "org.freedesktop.login1"
#define LOGIN_PATH "/org/freedesktop/login1"
#define LOGIN_MANAGER "org.freedesktop.login1.Manager"

/* Unit jobs and daemon-reload can take a while on a busy host; the default 25 s is fine but say so. */
#define CALL_TIMEOUT_USEC (90ULL * 1000 * 1000)

int bus_open_system(sd_bus **ret, struct un_error *err) {
        sd_bus *bus = NULL;
        int r = sd_bus_open_system(&bus);

        if (r < 0)
                return un_error(err, -r, "cannot connect to the system bus");
        *ret = bus;
        return 0;
}

sd_bus *bus_close(sd_bus *bus) {
        return sd_bus_flush_close_unref(bus);
}

static int call(sd_bus *bus, const char *dest, const char *path, const char *iface, const char *method,
                sd_bus_message **reply, struct un_error *err, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, dest, path, iface, method);
        if (r >= 0 && types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
        }
        if (r < 0)
                return un_error(err, -r, "%s.%s", iface, method);
        r = sd_bus_call(bus, m, CALL_TIMEOUT_USEC, &e, reply);
        if (r < 0) {
                r = un_error(err, -r, "%s.%s: %s", iface, method, e.message ? e.message : strerror(-r));
                sd_bus_error_free(&e);
                return r;
        }
        sd_bus_error_free(&e);
        return 0;
}

int bus_daemon_reload(sd_bus *bus, struct un_error *err) {
        return call(bus, SD_DEST, SD_PATH, SD_MANAGER, "Reload", NULL, err, NULL);
}

int bus_set_linger(sd_bus *bus, uid_t uid, bool enable, struct un_error *err) {
        return call(bus, LOGIN_DEST, LOGIN_PATH, LOGIN_MANAGER, "SetUserLinger", NULL, err, "ubb", (uint32_t) uid,
                    (int) enable, 0);
}

/* StartUnit/RestartUnit return a job path; we do not wait for the job: user@.service reports ready
 * through sd_notify and the verb tells the user to run `check` afterwards. */
int bus_start_unit(sd_bus *bus, const char *unit, struct un_error *err) {
        return call(bus, SD_DEST, SD_PATH, SD_MANAGER, "StartUnit", NULL, err, "ss", unit, "replace");
}

int bus_restart_unit(sd_bus *bus, const char *unit, struct un_error *err) {
        return call(bus, SD_DEST, SD_PATH, SD_MANAGER, "RestartUnit", NULL, err, "ss", unit, "replace");
}

int bus_unit_active_state(sd_bus *bus, const char *unit, char **ret, struct un_error *err) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *path;
        char *state = NULL;
        int r;

        r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnit", &e, &reply, "s", unit);
        if (r < 0) {
                bool not_loaded = sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit");

                sd_bus_error_free(&e);
                if (not_loaded) {
                        *ret = strdup("inactive");
                        return *ret ? 0 : -ENOMEM;
                }
                return un_error(err, -r, "GetUnit %s", unit);
        }
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return un_error(err, -r, "GetUnit %s", unit);
        r = sd_bus_get_property_string(bus, SD_DEST, path, "org.freedesktop.systemd1.Unit", "ActiveState", &e, &state);
        if (r < 0) {
                r = un_error(err, -r, "ActiveState of %s", unit);
                sd_bus_error_free(&e);
                return r;
        }
        *ret = state;
        return 0;
}

struct scope_wait {
        const char *unit;
        bool removed;
        char result[32];
};

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct scope_wait *w = userdata;
        const char *path, *unit, *result;
        uint32_t id;

        (void) error;
        /* JobRemoved(u id, o job, s unit, s result): ours is told by the unit's name, which is known
         * before the reply to StartTransientUnit arrives (the signal may come first). */
        if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0 || strcmp(unit, w->unit) != 0)
                return 0;
        w->removed = true;
        snprintf(w->result, sizeof w->result, "%s", result);
        return 0;
}

int bus_enter_delegated_user_scope(uid_t uid, const char *name, struct un_error *err) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *address = xstrdup_printf("unix:path=/run/user/%u/systemd/private", (unsigned) uid);
        sd_bus_error e = SD_BUS_ERROR_NULL;
        struct scope_wait w = { .unit = name };
        int r;

        if (!address)
                return un_error(err, ENOMEM, "scope %s", name);
        /* The manager's own socket, not the user bus: no dbus-daemon needed, and systemd sends its
         * signals to every direct connection without a Subscribe(). */
        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, address);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0)
                return un_error(err, -r, "cannot connect to the user manager of UID %u (%s)", (unsigned) uid,
                                address + strlen("unix:path="));
        r = sd_bus_match_signal(bus, &slot, NULL, SD_PATH, SD_MANAGER, "JobRemoved", on_job_removed, &w);
        if (r >= 0)
                r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "StartTransientUnit");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", name, "fail");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)", "Description", "s",
                                          "usernode check: the cgroup controllers a delegated unit gets", "Delegate",
                                          "b", 1, "CollectMode", "s", "inactive-or-failed", "PIDs", "au", 1,
                                          (uint32_t) getpid());
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r < 0)
                return un_error(err, -r, "StartTransientUnit %s", name);
        r = sd_bus_call(bus, m, CALL_TIMEOUT_USEC, &e, NULL);
        if (r < 0) {
                r = un_error(err, -r, "StartTransientUnit %s: %s", name, e.message ? e.message : strerror(-r));
                sd_bus_error_free(&e);
                return r;
        }
        /* Unbounded here: the caller runs this in a child it kills after its own time limit. */
        while (!w.removed) {
                r = sd_bus_process(bus, NULL);
                if (r == 0)
                        r = sd_bus_wait(bus, UINT64_MAX);
                if (r < 0)
                        return un_error(err, -r, "waiting for scope %s to start", name);
        }
        if (strcmp(w.result, "done") != 0)
                return un_error(err, EIO, "scope %s did not start: job %s", name, w.result);
        return 0;
}
