/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What one setup or unsetup run holds from start to end: its locks, the system bus, and the user's
 * manifest and plan, all let go of in one place. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <shadow.h>
#include <sys/file.h>
#include <unistd.h>

#include "setup-internal.h"

int setup_session_open_bus(struct setup_session *s) {
        int r;

        if (s->h->offline)
                return 0;
        r = bus_open_system(&s->bus, NULL);
        if (r < 0)
                s->bus = NULL;
        return r;
}

/* Serializes setup/unsetup runs on one root. A flock on /etc itself: a directory that always exists,
 * so that taking the lock creates no file an unsetup would have to remove. */
static int take_run_lock(const struct host *h, int *ret_fd, struct un_error *err) {
        int fd = host_open(h, "/etc", O_RDONLY | O_DIRECTORY, 0, HOST_NO_SYMLINKS);

        if (fd < 0)
                return un_error(err, -fd, "cannot open %s/etc", h->offline ? h->root : "");
        if (flock(fd, LOCK_EX) < 0) {
                int r = un_error(err, errno, "cannot lock /etc");

                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

/* The locks shadow's usermod --add-subuids takes: lckpwdf() on the live host, then subuid, subgid. */
static int take_shadow_locks(struct setup_session *s, struct un_error *err) {
        int r;

        if (!s->h->offline) {
                if (lckpwdf() < 0)
                        return un_error(err, errno, "cannot take the password file lock (/etc/.pwd.lock)");
                s->pwdf = true;
        }
        r = subid_lock_take(s->h, "/etc/subuid", &s->uid_lock, err);
        if (r >= 0)
                r = subid_lock_take(s->h, "/etc/subgid", &s->gid_lock, err);
        return r;
}

int setup_session_lock(struct setup_session *s, struct un_error *err) {
        int r;

        if (s->o->dry_run)
                return 0;
        r = take_run_lock(s->h, &s->run_fd, err);
        if (r < 0)
                return r;
        return take_shadow_locks(s, err);
}

void setup_session_unlock_shadow(struct setup_session *s) {
        subid_lock_release(&s->gid_lock);
        subid_lock_release(&s->uid_lock);
        if (s->pwdf)
                (void) ulckpwdf();
        s->pwdf = false;
}

void setup_session_done(struct setup_session *s) {
        setup_session_unlock_shadow(s);
        if (s->run_fd >= 0)
                close(s->run_fd);
        s->run_fd = -EBADF;
        s->bus = bus_close(s->bus);
        setup_plan_done(&s->p);
        manifest_done(&s->m);
        user_done(&s->u);
        free(s->mpath);
        s->mpath = NULL;
}
