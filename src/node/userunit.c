/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Under a running systemd user manager the node is a user unit (Delegate=yes, KillMode=mixed) that
 * runs `usernode up --foreground`; systemd then supervises, restarts and collects the logs. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "host.h"
#include "template.h"
#include "up.h"
#include "util.h"

bool userunit_available(void) {
        const char *rt = secure_getenv("XDG_RUNTIME_DIR");
        _cleanup_free_ char *private = NULL;

        if (!rt || rt[0] != '/')
                return false;
        private = xstrdup_printf("%s/systemd/private", rt);
        return private && access(private, F_OK) == 0 && access("/run/systemd/system", F_OK) == 0;
}

/* Quotes a word for ExecStart= or Environment= (systemd.syntax): double quotes, with \ " and % escaped, and
 * $ for ExecStart= (Environment= does not expand it). */
static int quote_word(struct buf *b, const char *w, bool exec) {
        int r = buf_puts(b, "\"");

        for (const char *p = w; r >= 0 && *p; p++) {
                if (*p == '"' || *p == '\\')
                        r = buf_puts(b, "\\");
                if (r >= 0)
                        r = *p == '%' ? buf_puts(b, "%%") : *p == '$' && exec ? buf_puts(b, "$$") : buf_append(b, p, 1);
        }
        return r < 0 ? r : buf_puts(b, "\"");
}

int userunit_render(const struct node *n, const struct up_options *o, char **ret, struct un_error *err) {
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *text = NULL, *exec = NULL, *env = NULL;
        struct buf b = {};
        int r;

        r = up_options_to_argv(o, n->name, &argv);
        if (r < 0)
                return un_error(err, -r, "unit for node %s", n->name);
        for (char **a = argv; *a; a++) {
                r = a == argv ? 0 : buf_puts(&b, " ");
                if (r >= 0)
                        r = quote_word(&b, *a, true);
                if (r < 0) {
                        buf_free(&b);
                        return un_error(err, -r, "unit for node %s", n->name);
                }
        }
        exec = buf_steal(&b);
        if (!exec)
                return un_error(err, ENOMEM, "unit for node %s", n->name);
        /* The unit runs with the manager's environment: the PATH in which `up` found the node's binaries goes
         * with it, recorded, not inherited by accident. */
        {
                const char *path = getenv("PATH");
                _cleanup_free_ char *kv = xstrdup_printf("PATH=%s", path && !strpbrk(path, "\n\r") && strlen(path) < 4096
                                                                         ? path : "/usr/local/bin:/usr/bin:/bin");

                if (!kv || quote_word(&b, kv, false) < 0) {
                        buf_free(&b);
                        return un_error(err, ENOMEM, "unit for node %s", n->name);
                }
                env = buf_steal(&b);
                if (!env)
                        return un_error(err, ENOMEM, "unit for node %s", n->name);
        }
        const struct template_var vars[] = {
                { "name", n->name },
                { "engine", engine_to_string(o->engine) },
                { "exec_start", exec },
                { "environment", env },
                { "runtime_dir", n->runtime_dir },
        };
        return template_load_render("usernode-node.service.in", vars, ELEMENTSOF(vars), ret, err);
}

int userunit_start(const struct node *n, const struct up_options *o, struct un_error *err) {
        _cleanup_free_ char *text = NULL, *dir = NULL, *path = NULL, *unit = NULL;
        const char *rt = secure_getenv("XDG_RUNTIME_DIR");
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        sd_bus *bus = NULL;
        const struct host *h = host_live();
        int r;

        if (!rt)
                return un_error(err, ENOENT, "XDG_RUNTIME_DIR is not set");
        r = userunit_render(n, o, &text, err);
        if (r < 0)
                return r;
        dir = xstrdup_printf("%s/systemd/user", rt);
        unit = xstrdup_printf("usernode-%s.service", n->name);
        path = dir && unit ? xstrdup_printf("%s/%s", dir, unit) : NULL;
        if (!path)
                return un_error(err, ENOMEM, "unit for node %s", n->name);
        (void) mkdir(dir, 0755);
        r = host_write_atomic(h, path, text, strlen(text), 0644, (uid_t) -1, (gid_t) -1, err);
        if (r < 0)
                return r;
        r = sd_bus_open_user(&bus);
        if (r < 0)
                return un_error(err, -r, "cannot connect to the user bus");
        r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", "Reload", &e, NULL, "");
        if (r >= 0)
                r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                       "org.freedesktop.systemd1.Manager", "StartUnit", &e, &reply, "ss", unit,
                                       "replace");
        if (r < 0)
                (void) un_error(err, -r, "cannot start %s: %s", unit, e.message ? e.message : "bus call failed");
        sd_bus_message_unref(reply);
        sd_bus_error_free(&e);
        sd_bus_flush_close_unref(bus);
        return r < 0 ? r : 0;
}

int userunit_remove(const struct node *n) {
        const char *rt = secure_getenv("XDG_RUNTIME_DIR");
        _cleanup_free_ char *path = NULL;
        const struct host *h = host_live();
        int r;

        if (!rt || rt[0] != '/')
                return -ENOENT;
        path = xstrdup_printf("%s/systemd/user/usernode-%s.service", rt, n->name);
        if (!path)
                return -ENOMEM;
        /* The manager keeps the running unit loaded until it stops; the next start reloads first. */
        r = host_unlink(h, path, NULL);
        return r == -ENOENT ? 0 : r;
}

int userunit_stop(const struct node *n, struct un_error *err) {
        const char *rt = secure_getenv("XDG_RUNTIME_DIR");
        _cleanup_free_ char *path = NULL, *unit = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus *bus = NULL;
        int r;

        if (!rt || rt[0] != '/' || !userunit_available())
                return 0;
        path = xstrdup_printf("%s/systemd/user/usernode-%s.service", rt, n->name);
        unit = xstrdup_printf("usernode-%s.service", n->name);
        if (!path || !unit)
                return un_error(err, ENOMEM, "unit for node %s", n->name);
        if (access(path, F_OK) < 0)
                return 0;
        r = sd_bus_open_user(&bus);
        if (r < 0)
                return un_error(err, -r, "cannot connect to the user bus to stop %s", unit);
        /* Stopped through its manager, or it restarts the node behind the user's back; a failed unit is
         * forgotten so that the next `up` starts it afresh. */
        r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", "StopUnit", &e, NULL, "ss", unit, "replace");
        if (r < 0 && !sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit"))
                (void) un_error(err, -r, "cannot stop %s: %s", unit, e.message ? e.message : "bus call failed");
        else {
                sd_bus_error_free(&e);
                (void) sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                          "org.freedesktop.systemd1.Manager", "ResetFailedUnit", &e, NULL, "s", unit);
                r = 1;
        }
        sd_bus_error_free(&e);
        sd_bus_flush_close_unref(bus);
        return r;
}
