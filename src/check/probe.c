/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Live user-namespace probes (DESIGN.md "live probe"): a forked child, as the node's user, enters a
 * user namespace with the full sub-ID map written by newuidmap/newgidmap, then tries /dev/fuse, a tap
 * device in a new network namespace and an overlayfs mount in a new mount namespace. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "checks.h"
#include "process.h"
#include "util.h"

#define PROBE_TIME_LIMIT_USEC (2u * 1000u * 1000u)
#define PROBE_GROUPS_MAX 256

/* Who the probe children run as. drop: usernode runs as root for another user. */
struct probe_creds {
        bool drop;
        uid_t uid;
        gid_t gid;
        int n_groups;
        gid_t groups[PROBE_GROUPS_MAX];
};

enum probe_map_mode {
        MAP_FULL = 1,           /* newuidmap/newgidmap wrote the sub-ID map */
        MAP_SINGLE = 2,         /* the child maps only its own IDs */
};

/* error: the errno behind a failure (0 when no system call failed). */
_printf_(4, 5) static void outcome_set(struct probe_outcome *o, enum probe_state state, int error, const char *fmt,
                                      ...) {
        va_list ap;

        o->state = state;
        o->error = error;
        va_start(ap, fmt);
        (void) vsnprintf(o->detail, sizeof o->detail, fmt, ap);
        va_end(ap);
}

static struct probe_outcome *userns_outcomes(struct probes *p, size_t i) {
        struct probe_outcome *o[] = { &p->userns, &p->idmap, &p->overlay, &p->fuse, &p->tun };

        return o[i];
}

void probe_wire_encode(const struct probes *p, struct probe_wire *ret) {
        *ret = (struct probe_wire) { .magic = PROBE_WIRE_MAGIC, .n = _PROBE_WIRE_MAX };
        for (size_t i = 0; i < _PROBE_WIRE_MAX; i++) {
                const struct probe_outcome *o = userns_outcomes((struct probes *) p, i);

                ret->o[i].state = (int32_t) o->state;
                ret->o[i].error = o->error;
                (void) snprintf(ret->o[i].detail, sizeof ret->o[i].detail, "%s", o->detail);
        }
}

int probe_wire_decode(const void *buf, size_t len, struct probes *p) {
        const struct probe_wire *w = buf;

        if (len != sizeof *w || w->magic != PROBE_WIRE_MAGIC || w->n != _PROBE_WIRE_MAX)
                return -EBADMSG;
        for (size_t i = 0; i < _PROBE_WIRE_MAX; i++) {
                if (w->o[i].state < PROBE_NOT_RUN || w->o[i].state > PROBE_SKIPPED ||
                    w->o[i].error < 0 || w->o[i].error > 4095 || !memchr(w->o[i].detail, '\0', sizeof w->o[i].detail))
                        return -EBADMSG;
        }
        for (size_t i = 0; i < _PROBE_WIRE_MAX; i++) {
                struct probe_outcome *o = userns_outcomes(p, i);

                o->state = (enum probe_state) w->o[i].state;
                o->error = w->o[i].error;
                memcpy(o->detail, w->o[i].detail, sizeof o->detail);
        }
        return 0;
}

static void skip_all(struct probes *p, const char *reason) {
        for (size_t i = 0; i < _PROBE_WIRE_MAX; i++)
                outcome_set(userns_outcomes(p, i), PROBE_SKIPPED, 0, "%s", reason);
}


/* The probe's user as the one spawn primitive takes it. */
static struct proc_creds proc_creds_of(const struct probe_creds *cr) {
        return (struct proc_creds) { .uid = cr->uid, .gid = cr->gid, .groups = cr->groups,
                                     .n_groups = (size_t) cr->n_groups };
}

/* Explicit, verified transition to the user; "dumpable" stays cleared (the caller decides). */
static int drop_privileges(const struct probe_creds *cr) {
        const struct proc_creds pc = proc_creds_of(cr);

        return cr->drop ? proc_become(&pc) : 0;
}

static int write_file(const char *path, const char *text) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        size_t len = strlen(text);

        if (fd < 0)
                return negative_errno();
        if (write(fd, text, len) != (ssize_t) len)
                return negative_errno();
        return 0;
}

/* True when /proc/self/{uid,gid}_map is exactly "0 ID 1" and "1 START COUNT". */
static int verify_map(const char *path, uint32_t id, const struct subid_range *range, char *found, size_t found_size) {
        char buf[512];
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        unsigned long a[2][3];
        ssize_t n;
        int k;

        if (fd < 0)
                return negative_errno();
        n = read(fd, buf, sizeof buf - 1);
        if (n < 0)
                return negative_errno();
        buf[n] = '\0';
        k = sscanf(buf, " %lu %lu %lu %lu %lu %lu", &a[0][0], &a[0][1], &a[0][2], &a[1][0], &a[1][1], &a[1][2]);
        (void) snprintf(found, found_size, "%lu %lu %lu, %lu %lu %lu", a[0][0], a[0][1], a[0][2], a[1][0], a[1][1],
                        a[1][2]);
        if (k != 6 || a[0][0] != 0 || a[0][1] != id || a[0][2] != 1 || a[1][0] != 1 || a[1][1] != range->start ||
            a[1][2] != range->count) {
                if (k != 6)
                        (void) snprintf(found, found_size, "%.*s", (int) strcspn(buf, "\n"), buf);
                return -ERANGE;
        }
        return 0;
}

struct probe_child_args {
        const struct probe_creds *cr;
        const struct user *user;
        const struct subid_range *subuid, *subgid;
        pid_t parent;
};

static void child_send(int sock, const struct probes *p) {
        struct probe_wire w;

        probe_wire_encode(p, &w);
        (void) send(sock, &w, sizeof w, MSG_NOSIGNAL);
}

static void child_overlay(struct probes *p, int fuse_fd) {
        static const char *const mount_points[] = { "/tmp", "/mnt", "/run", "/var/tmp" };
        const char *top = NULL;
        char path[64], opts[256];
        struct stat st;
        int k = 0;

        if (unshare(CLONE_NEWNS) < 0) {
                outcome_set(&p->overlay, PROBE_FAILED, errno, "unshare(CLONE_NEWNS) failed: %m");
                return;
        }
        if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0) {
                outcome_set(&p->overlay, PROBE_FAILED, errno, "making / private in the mount namespace failed: %m");
                return;
        }
        /* The tmpfs is only visible in this private namespace, so any existing directory will do. */
        for (size_t i = 0; i < ELEMENTSOF(mount_points) && !top; i++) {
                if (mount("usernode-probe", mount_points[i], "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0700") == 0)
                        top = mount_points[i];
                else
                        k = errno;
        }
        if (!top) {
                outcome_set(&p->overlay, PROBE_FAILED, k, "mounting a tmpfs in the user namespace failed: %s",
                            strerror(k));
                return;
        }
        for (size_t i = 0; i < 5; i++) {
                (void) snprintf(path, sizeof path, "%s/%c", top, "luwmf"[i]);
                if (mkdir(path, 0700) < 0) {
                        outcome_set(&p->overlay, PROBE_FAILED, errno, "mkdir in the probe tmpfs failed: %m");
                        return;
                }
        }
        /* userxattr (5.11+): overlayfs keeps its metadata in user.* xattrs, as the rootless
         * snapshotter mounts it; without it the kernel logs a failed trusted.* xattr. */
        (void) snprintf(opts, sizeof opts, "lowerdir=%s/l,upperdir=%s/u,workdir=%s/w,userxattr", top, top, top);
        (void) snprintf(path, sizeof path, "%s/m", top);
        k = mount("overlay", path, "overlay", 0, opts);
        if (k < 0 && errno == EINVAL) {
                opts[strlen(opts) - strlen(",userxattr")] = '\0';
                k = mount("overlay", path, "overlay", 0, opts);
        }
        if (k < 0)
                outcome_set(&p->overlay, PROBE_FAILED, errno, "mounting overlayfs in a user namespace failed: %m");
        else {
                _cleanup_close_ int fd = -EBADF;

                /* A write through the merged tree must land in the upper layer (copy-up works). */
                (void) snprintf(path, sizeof path, "%s/m/probe", top);
                fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                (void) snprintf(path, sizeof path, "%s/u/probe", top);
                if (fd < 0)
                        outcome_set(&p->overlay, PROBE_FAILED, errno,
                                    "overlayfs mounted, but creating a file in it failed: %m");
                else if (stat(path, &st) < 0)
                        outcome_set(&p->overlay, PROBE_FAILED, errno,
                                    "overlayfs mounted, but a new file is not in the upper layer");
                else
                        outcome_set(&p->overlay, PROBE_OK, 0, "overlayfs mounted in a user namespace");
        }

        if (fuse_fd >= 0) {
                (void) snprintf(opts, sizeof opts, "fd=%d,rootmode=40000,user_id=0,group_id=0", fuse_fd);
                (void) snprintf(path, sizeof path, "%s/f", top);
                if (mount("usernode-probe", path, "fuse", MS_NOSUID | MS_NODEV, opts) < 0)
                        outcome_set(&p->fuse, PROBE_FAILED, errno,
                                    "/dev/fuse opened, but a FUSE mount in the user namespace failed: %m");
                else {
                        /* Nobody serves this mount: detach it before the connection is used. */
                        (void) umount2(path, MNT_DETACH);
                        outcome_set(&p->fuse, PROBE_OK, 0, "/dev/fuse opened and a FUSE file system mounted in a user "
                                    "namespace");
                }
        }
}

static void child_tun(struct probes *p) {
        _cleanup_close_ int fd = -EBADF;
        struct ifreq ifr = {};

        if (unshare(CLONE_NEWNET) < 0) {
                outcome_set(&p->tun, PROBE_FAILED, errno, "unshare(CLONE_NEWNET) failed: %m");
                return;
        }
        fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (fd < 0) {
                outcome_set(&p->tun, PROBE_FAILED, errno, "opening /dev/net/tun failed: %m");
                return;
        }
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
        (void) snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "unprobe0");
        if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
                outcome_set(&p->tun, PROBE_FAILED, errno, "/dev/net/tun opened, but creating a tap device failed: %m");
                return;
        }
        outcome_set(&p->tun, PROBE_OK, 0, "tap device created through /dev/net/tun in a network namespace");
        /* Closing a live tap unregisters it synchronously (~25 ms of RCU grace periods); a persistent one
         * goes with this network namespace, which the kernel tears down asynchronously. */
        (void) ioctl(fd, TUNSETPERSIST, 1);
}

/* Child B: never returns. Reports twice over sock: after unshare(CLONE_NEWUSER), and at the end. */
_Noreturn static void probe_child(int sock, const struct probe_child_args *a) {
        struct probes p = {};
        char buf[128], found[128];
        _cleanup_close_ int fuse_fd = -EBADF;
        uint8_t mode = 0;
        int k;

        skip_all(&p, "not reached: an earlier step failed");
        k = drop_privileges(a->cr);
        if (k < 0) {
                outcome_set(&p.userns, PROBE_FAILED, -k, "cannot become %s (uid %u): %s", a->user->name,
                            (unsigned) a->cr->uid, strerror(-k));
                child_send(sock, &p);
                _exit(1);
        }
        /* Set after the UID change, which clears it; then make sure the parent did not go first. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != a->parent)
                _exit(1);
        /* A UID change clears "dumpable", which makes /proc/PID root's: newuidmap would refuse it. This is a
         * fresh image with an empty environment (probe_exec_child), so opening it to the user shows nothing. */
        if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
                _exit(1);
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                _exit(1);

        if (unshare(CLONE_NEWUSER) < 0) {
                outcome_set(&p.userns, PROBE_FAILED, errno, "unshare(CLONE_NEWUSER) as %s failed: %m", a->user->name);
                child_send(sock, &p);
                _exit(1);
        }
        outcome_set(&p.userns, PROBE_OK, 0, "unshare(CLONE_NEWUSER) as %s succeeded", a->user->name);
        child_send(sock, &p);
        if (recv(sock, &mode, sizeof mode, 0) != (ssize_t) sizeof mode)
                _exit(1);

        if (mode == MAP_FULL) {
                k = verify_map("/proc/self/uid_map", a->cr->uid, a->subuid, found, sizeof found);
                if (k >= 0)
                        k = verify_map("/proc/self/gid_map", a->cr->gid, a->subgid, found, sizeof found);
                if (k == -ERANGE)
                        outcome_set(&p.idmap, PROBE_FAILED, 0,
                                    "the namespace's ID map is not the one written: found %s",
                                    found);
                else if (k < 0)
                        outcome_set(&p.idmap, PROBE_FAILED, -k, "reading the namespace's ID map failed: %s",
                                    strerror(-k));
                else
                        outcome_set(&p.idmap, PROBE_OK, 0, "newuidmap/newgidmap mapped %u+%u UIDs and %u+%u GIDs", 1u,
                                    a->subuid->count, 1u, a->subgid->count);
        } else {
                int ku, kg;

                /* Only our own IDs: enough to try overlayfs, fuse and tun. A map newuidmap already wrote
                 * before newgidmap failed stays; such a write fails with EPERM and is harmless. */
                (void) write_file("/proc/self/setgroups", "deny");
                (void) snprintf(buf, sizeof buf, "0 %u 1\n", (unsigned) a->cr->uid);
                ku = write_file("/proc/self/uid_map", buf);
                (void) snprintf(buf, sizeof buf, "0 %u 1\n", (unsigned) a->cr->gid);
                kg = write_file("/proc/self/gid_map", buf);
                if (ku < 0 || kg < 0)
                        outcome_set(&p.idmap, PROBE_FAILED, -(ku < 0 ? ku : kg), "writing a single-ID map failed: %s",
                                    strerror(-(ku < 0 ? ku : kg)));
                else
                        outcome_set(&p.idmap, PROBE_SKIPPED, 0, "single-ID map");
        }
        if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
                outcome_set(&p.overlay, PROBE_FAILED, errno, "cannot become root in the user namespace: %m");
                outcome_set(&p.fuse, PROBE_FAILED, 0, "cannot become root in the user namespace");
                outcome_set(&p.tun, PROBE_FAILED, 0, "cannot become root in the user namespace");
                child_send(sock, &p);
                _exit(1);
        }
        (void) setgroups(0, NULL);      /* denied under a single-ID map; nothing to drop there */

        fuse_fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
        if (fuse_fd < 0)
                outcome_set(&p.fuse, PROBE_FAILED, errno, "opening /dev/fuse failed: %m");
        else
                outcome_set(&p.fuse, PROBE_OK, 0, "/dev/fuse opened in a user namespace");
        child_tun(&p);
        child_overlay(&p, fuse_fd);
        child_send(sock, &p);
        _exit(0);
}

/* One read (one message on a SOCK_SEQPACKET socket) bounded by the deadline; 0 at EOF. */
static int read_deadline(int fd, void *buf, size_t len, uint64_t deadline) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        ssize_t n;
        int k;

        do
                k = poll(&pfd, 1, msec_until(deadline));
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return negative_errno();
        if (k == 0)
                return -ETIMEDOUT;
        n = read(fd, buf, len);
        return n < 0 ? negative_errno() : (int) n;
}

struct map_tool {
        const char *name;
        struct proc proc;
        int stderr_fd;
};

/* Starts newuidmap or newgidmap as the user (setuid tools: no PR_SET_NO_NEW_PRIVS here). Its "dumpable"
 * stays cleared until the exec: before it, the child is a copy of root's image. */
static int map_tool_start(struct map_tool *t, const char *path, char *const argv[], const struct probe_creds *cr) {
        static char *const envp[] = { (char *) "LC_ALL=C", (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
        const struct proc_creds pc = proc_creds_of(cr);
        int fds[2], k;

        t->name = argv[0];
        if (pipe2(fds, O_CLOEXEC) < 0)
                return negative_errno();
        k = proc_exec_start(&(struct proc_exec) {
                                    .path = path, .argv = argv, .envp = envp, .keep_fd = -1,
                                    .stdio = { PROC_STDIO_NULL, PROC_STDIO_NULL, fds[1] },
                                    .creds = cr->drop ? &pc : NULL, .flags = PROC_DEATHSIG,
                            },
                            &t->proc);
        close(fds[1]);
        if (k < 0) {
                close(fds[0]);
                return k;
        }
        t->stderr_fd = fds[0];
        return 0;
}

/* Collects its output and exit status; on failure ret_error gets the first line it printed. */
static int map_tool_finish(struct map_tool *t, uint64_t deadline, char *ret_error, size_t error_size) {
        char out[512];
        size_t len = 0;
        int status;

        for (;;) {
                int n = len < sizeof out - 1
                                ? read_deadline(t->stderr_fd, out + len, sizeof out - 1 - len, deadline)
                                : 0;

                if (n <= 0)
                        break;
                len += (size_t) n;
        }
        close(t->stderr_fd);
        out[len] = '\0';
        (void) proc_reap(&t->proc, deadline, false);
        status = t->proc.status;
        proc_done(&t->proc);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        out[strcspn(out, "\n")] = '\0';
        if (WIFEXITED(status))
                (void) snprintf(ret_error, error_size, "%s exited %d%s%.200s", t->name, WEXITSTATUS(status),
                                out[0] ? ": " : "", out);
        else
                (void) snprintf(ret_error, error_size, "%s was killed (time limit)", t->name);
        return -EPERM;
}

/* newuidmap and newgidmap write different files of the same process: run them side by side. */
static int write_full_map(const struct check_ctx *c, pid_t pid, const struct probe_creds *cr, uint64_t deadline,
                          char *ret_error, size_t error_size) {
        static const char *const tools[] = { "newuidmap", "newgidmap" };
        char args[2][4][16];
        char *argv[2][9];
        _cleanup_free_ char *found0 = NULL, *found1 = NULL, *path0 = NULL, *path1 = NULL;
        char **found[2] = { &found0, &found1 }, **path[2] = { &path0, &path1 };
        struct map_tool t[2] = {};
        bool started[2] = {};
        int k = 0;

        for (size_t i = 0; i < ELEMENTSOF(tools); i++) {
                const struct subid_range *range = i == 0 ? &c->subuid : &c->subgid;

                k = host_find_executable(c->host, tools[i], found[i]);
                if (k < 0) {
                        (void) snprintf(ret_error, error_size, "%s not found (package %s)", tools[i],
                                        distro_package(&c->distro, "uidmap"));
                        return k;
                }
                *path[i] = host_path(c->host, *found[i]);
                if (!*path[i])
                        return -ENOMEM;
                (void) snprintf(args[i][0], sizeof args[i][0], "%d", (int) pid);
                (void) snprintf(args[i][1], sizeof args[i][1], "%u", (unsigned) (i == 0 ? cr->uid : cr->gid));
                (void) snprintf(args[i][2], sizeof args[i][2], "%u", range->start);
                (void) snprintf(args[i][3], sizeof args[i][3], "%u", range->count);
                argv[i][0] = (char *) tools[i];
                argv[i][1] = args[i][0];
                argv[i][2] = (char *) "0";
                argv[i][3] = args[i][1];
                argv[i][4] = (char *) "1";
                argv[i][5] = (char *) "1";
                argv[i][6] = args[i][2];
                argv[i][7] = args[i][3];
                argv[i][8] = NULL;
        }
        for (size_t i = 0; i < ELEMENTSOF(tools); i++) {
                k = map_tool_start(&t[i], *path[i], argv[i], cr);
                if (k < 0) {
                        (void) snprintf(ret_error, error_size, "cannot start %s: %s", tools[i], strerror(-k));
                        break;
                }
                started[i] = true;
        }
        for (size_t i = 0; i < ELEMENTSOF(tools); i++) {
                char error[256];

                if (started[i] && map_tool_finish(&t[i], deadline, error, sizeof error) < 0 && k >= 0) {
                        (void) snprintf(ret_error, error_size, "%s", error);
                        k = -EPERM;
                }
        }
        return k;
}

static int creds_for(const struct check_ctx *c, struct probe_creds *ret) {
        /* Running as the user already: the real IDs are what newuidmap/newgidmap check against. */
        *ret = (struct probe_creds) { .uid = getuid(), .gid = getgid() };
        if (geteuid() == c->user.uid && getuid() == c->user.uid)
                return 0;
        *ret = (struct probe_creds) { .uid = c->user.uid, .gid = c->user.gid };
        if (geteuid() != 0)
                return -EPERM;
        ret->drop = true;
        ret->n_groups = PROBE_GROUPS_MAX;
        /* The user's own groups, as at login; none when NSS cannot tell. */
        if (!c->user.name || getgrouplist(c->user.name, c->user.gid, ret->groups, &ret->n_groups) < 0)
                ret->n_groups = 0;
        return 0;
}

/* The probe child becomes dumpable as the user (newuidmap must write its maps): a fork of root's image would
 * then show root's environment and memory to that user. It runs in a fresh image instead: this binary,
 * re-executed with an empty environment and only what the probe needs on its command line (nothing
 * secret), the socket as fd PROBE_SOCK_FD. */
#define PROBE_SOCK_FD 3
static int probe_exec_child(int sock, const struct probe_child_args *a, struct proc *ret) {
        char uid[16], gid[16], groups[PROBE_GROUPS_MAX * 11 + 1] = "", su[24], sg[24], parent[16], drop[2];
        char *argv[] = { (char *) "usernode", (char *) PROBE_CHILD_VERB, drop, uid, gid, groups, su, sg, parent,
                         (char *) strempty(a->user->name), NULL };
        char *envp[] = { NULL };
        char self[32];
        _cleanup_close_ int exe = -EBADF, opened = -EBADF;
        size_t n = 0;

        snprintf(drop, sizeof drop, "%d", a->cr->drop ? 1 : 0);
        snprintf(uid, sizeof uid, "%u", (unsigned) a->cr->uid);
        snprintf(gid, sizeof gid, "%u", (unsigned) a->cr->gid);
        for (int i = 0; i < a->cr->n_groups && n + 12 < sizeof groups; i++)
                n += (size_t) snprintf(groups + n, sizeof groups - n, "%s%u", i ? "," : "", (unsigned) a->cr->groups[i]);
        snprintf(su, sizeof su, "%u:%u", a->subuid->start, a->subuid->count);
        snprintf(sg, sizeof sg, "%u:%u", a->subgid->start, a->subgid->count);
        snprintf(parent, sizeof parent, "%d", (int) a->parent);
        /* This very image, through a descriptor: not what its path names by now (a package upgrade replaces it),
         * and reached even where the user may not walk that path (a build in root's 0700 home, run for the user
         * by root). Above PROBE_SOCK_FD, which the child's socket takes. */
        opened = open("/proc/self/exe", O_PATH | O_CLOEXEC);
        if (opened < 0)
                return negative_errno();
        exe = fcntl(opened, F_DUPFD_CLOEXEC, PROBE_SOCK_FD + 1);
        if (exe < 0)
                return negative_errno();
        snprintf(self, sizeof self, "/proc/self/fd/%d", exe);
        return proc_exec_start(&(struct proc_exec) {
                                       .path = self, .argv = argv, .envp = envp, .keep_fd = sock,
                                       .keep_fd_as = PROBE_SOCK_FD,
                                       .stdio = { PROC_STDIO_INHERIT, PROC_STDIO_INHERIT, PROC_STDIO_INHERIT },
                               },
                               ret);
}

static int parse_range(char *s, struct subid_range *ret) {
        char *colon = strchr(s, ':');
        uint32_t start, count;

        if (!colon)
                return -EINVAL;
        *colon = '\0';
        if (parse_u32(s, &start) < 0 || parse_u32(colon + 1, &count) < 0)
                return -EINVAL;
        *ret = (struct subid_range) { .start = start, .count = count };
        return 0;
}

int probe_userns_child_main(int argc, char **argv) {
        struct probe_creds cr = {};
        struct subid_range subuid, subgid;
        struct user user = {};
        struct probe_child_args a = { .cr = &cr, .user = &user, .subuid = &subuid, .subgid = &subgid };
        uint32_t v, parent;
        char *groups, *g;

        /* argv: VERB DROP UID GID GROUPS SUBUID SUBGID PARENT NAME, from probe_exec_child only. */
        if (argc != 9 || fcntl(PROBE_SOCK_FD, F_GETFD) < 0 || parse_u32(argv[2], &v) < 0)
                return 2;
        cr.uid = user.uid = v;
        if (parse_u32(argv[3], &v) < 0 || parse_u32(argv[7], &parent) < 0 || parse_range(argv[5], &subuid) < 0 ||
            parse_range(argv[6], &subgid) < 0)
                return 2;
        cr.gid = user.gid = v;
        cr.drop = strcmp(argv[1], "1") == 0;
        groups = argv[4];
        while (groups && *groups && cr.n_groups < PROBE_GROUPS_MAX) {
                g = strsep(&groups, ",");
                if (parse_u32(g, &v) < 0)
                        return 2;
                cr.groups[cr.n_groups++] = v;
        }
        user.name = argv[8];
        a.parent = (pid_t) parent;
        (void) fcntl(PROBE_SOCK_FD, F_SETFD, FD_CLOEXEC);
        probe_child(PROBE_SOCK_FD, &a);
}

static void run_userns_probes(struct check_ctx *c, struct probes *p) {
        const uint64_t deadline = now_usec() + PROBE_TIME_LIMIT_USEC;
        const bool full = c->have_subuid && c->have_subgid && c->subuid.count > 0 && c->subgid.count > 0;
        struct probe_creds cr;
        struct probe_wire w;
        struct probe_child_args args;
        char error[sizeof p->idmap.detail] = "";
        struct proc child = PROC_NULL;
        uint8_t mode;
        int sv[2], k;

        if (creds_for(c, &cr) < 0) {
                char reason[200];

                (void) snprintf(reason, sizeof reason,
                                "probes run as %s, so usernode must run as %s or root",
                                strna(c->user.name), strna(c->user.name));
                skip_all(p, reason);
                return;
        }
        args = (struct probe_child_args) { .cr = &cr, .user = &c->user, .subuid = &c->subuid, .subgid = &c->subgid,
                                           .parent = getpid() };
        skip_all(p, "not reached: an earlier step failed");
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
                outcome_set(&p->userns, PROBE_FAILED, errno, "socketpair failed: %m");
                return;
        }
        (void) fflush(NULL);
        k = probe_exec_child(sv[1], &args, &child);
        close(sv[1]);
        if (k < 0) {
                outcome_set(&p->userns, PROBE_FAILED, -k, "cannot re-execute usernode for the probe: %s", strerror(-k));
                close(sv[0]);
                return;
        }

        k = read_deadline(sv[0], &w, sizeof w, deadline);
        if (k < 0 || probe_wire_decode(&w, (size_t) k, p) < 0) {
                outcome_set(&p->userns, PROBE_FAILED, k < 0 ? -k : EBADMSG, "the probe child sent no result%s",
                            k == -ETIMEDOUT ? " within 2 s" : "");
                goto out;
        }
        if (p->userns.state != PROBE_OK)
                goto out;

        if (full)
                mode = write_full_map(c, child.pid, &cr, deadline, error, sizeof error) < 0 ? MAP_SINGLE : MAP_FULL;
        else {
                mode = MAP_SINGLE;
                (void) snprintf(error, sizeof error, "no sub-ID range for %s in /etc/subuid and /etc/subgid",
                                strna(c->user.name));
        }
        if (send(sv[0], &mode, sizeof mode, MSG_NOSIGNAL) != (ssize_t) sizeof mode) {
                outcome_set(&p->idmap, PROBE_FAILED, errno, "the probe child went away: %m");
                goto out;
        }
        k = read_deadline(sv[0], &w, sizeof w, deadline);
        if (k < 0 || probe_wire_decode(&w, (size_t) k, p) < 0) {
                outcome_set(&p->overlay, PROBE_FAILED, k < 0 ? -k : EBADMSG, "the probe child sent no result%s",
                            k == -ETIMEDOUT ? " within 2 s" : "");
                goto out;
        }
        if (mode == MAP_SINGLE && p->idmap.state == PROBE_FAILED) {
                char said[sizeof p->idmap.detail];

                memcpy(said, p->idmap.detail, sizeof said);
                outcome_set(&p->idmap, PROBE_FAILED, EPERM, "%.120s; then %.120s", error, said);
        } else if (mode == MAP_SINGLE)
                outcome_set(&p->idmap, PROBE_FAILED, 0, "%s (overlay, fuse and tun probed with a single-ID map)",
                            error);
out:
        close(sv[0]);
        (void) proc_reap(&child, deadline, false);
        proc_done(&child);
}

const struct probes *probe_userns(struct check_ctx *c) {
        struct probes *p = &c->probes;

        if (p->userns_ran)
                return p;
        p->userns_ran = true;
        if (c->host->offline)
                skip_all(p, "--root: probes do not run against an offline tree");
        else if (c->no_probes)
                skip_all(p, "--no-probes: live probes not run");
        else
                run_userns_probes(c, p);
        return p;
}

const char *probe_state_to_string(enum probe_state s) {
        static const char *const names[] = { "not run", "ok", "failed", "skipped" };

        return s < ELEMENTSOF(names) ? names[s] : "unknown";
}

static void run_cgroup_probe(struct check_ctx *c) {
        struct cgroup_probe *p = &c->probes.cgroup;
        const char *why = c->host->offline                          ? "--root: no live cgroup tree to probe"
                          : c->no_probes                            ? "--no-probes"
                          : c->cgroup.layout != CGROUP_LAYOUT_V2 ? "no cgroup v2 at /sys/fs/cgroup"
                                                                    : NULL;
        int r;

        if (why) {
                outcome_set(&p->memory, PROBE_SKIPPED, 0, "%s", why);
                outcome_set(&p->unit, PROBE_SKIPPED, 0, "%s", why);
                return;
        }
        r = cgroup_probe_run(c->host, c->user.uid, c->user.gid, c->user.name, p);
        if (r < 0) {
                outcome_set(&p->memory, PROBE_FAILED, 0, "cannot run the probe: %s", strerror(-r));
                outcome_set(&p->unit, PROBE_FAILED, 0, "cannot run the probe: %s", strerror(-r));
        }
}

const struct cgroup_probe *probe_cgroup(struct check_ctx *c) {
        if (!c->probes.cgroup_ran) {
                c->probes.cgroup_ran = true;
                run_cgroup_probe(c);
        }
        return &c->probes.cgroup;
}
