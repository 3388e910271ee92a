/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The node's own cgroup on a cgroup v2 host with delegation, as usernetes and rootless docker do it:
 * the supervisor puts itself into a cgroup the user owns and that holds nothing but the node;
 * rootlesskit --evacuate-cgroup2 then moves the node's processes into a leaf of it, enables the
 * controllers in its cgroup.subtree_control and mounts a fresh cgroup2 (the cgroupns root's view) at
 * /sys/fs/cgroup inside the node, where containerd and the OCI runtime create pod and container
 * cgroups with real limits. Without such a cgroup the node runs as before: cgroups disabled. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "host.h"
#include "up.h"
#include "util.h"

#define CGROUP_MOUNT "/sys/fs/cgroup"
#define RM_TREE_DEPTH 32
#define RM_BUSY_TRIES 50        /* 20 ms apart: the pid namespace's last tasks are still exiting */

static char *cg_file(const char *cgroup, const char *file) {
        return xstrdup_printf(CGROUP_MOUNT "%s%s%s", strcmp(cgroup, "/") == 0 ? "" : cgroup, file ? "/" : "",
                              file ? file : "");
}

/* Ours: we may create cgroups in it, move processes in and enable controllers. */
static bool cg_ours(const char *cgroup) {
        _cleanup_free_ char *dir = cg_file(cgroup, NULL), *procs = cg_file(cgroup, "cgroup.procs"),
                            *sub = cg_file(cgroup, "cgroup.subtree_control");

        return dir && procs && sub && access(dir, W_OK) == 0 && access(procs, W_OK) == 0 &&
               access(sub, W_OK) == 0;
}

static int cg_read(const char *cgroup, const char *file, char **ret) {
        _cleanup_free_ char *path = cg_file(cgroup, file);

        return path ? host_read_live(path, HOST_FILE_MAX, ret) : -ENOMEM;
}

static int cg_write(const char *cgroup, const char *file, const char *text) {
        _cleanup_free_ char *path = cg_file(cgroup, file);
        _cleanup_close_ int fd = -EBADF;
        size_t len = strlen(text);
        ssize_t n;

        if (!path)
                return -ENOMEM;
        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        n = write(fd, text, len);
        if (n < 0)
                return -errno;
        return (size_t) n == len ? 0 : -EIO;
}

static unsigned cg_controllers(const char *cgroup, const char *file) {
        _cleanup_free_ char *text = NULL;

        return cg_read(cgroup, file, &text) < 0 ? 0 : controllers_from_string(text, NULL);
}

/* Whether this process is the only one in the cgroup. */
static bool cg_alone(const char *cgroup) {
        _cleanup_free_ char *text = NULL;
        char *cursor, *line;
        uint32_t pid;
        unsigned n = 0;

        if (cg_read(cgroup, "cgroup.procs", &text) < 0)
                return false;
        cursor = text;
        while ((line = line_next(&cursor, HOST_LINE_MAX, NULL))) {
                if (!*line)
                        continue;
                if (parse_u32(line, &pid) < 0 || (pid_t) pid != getpid() || ++n > 1)
                        return false;
        }
        return n == 1;
}

static char *cg_parent(const char *cgroup) {
        const char *slash = strrchr(cgroup, '/');

        if (!slash || slash == cgroup)
                return strdup("/");
        return strndup(cgroup, (size_t) (slash - cgroup));
}

/* Removes a cgroup and the ones below it, deepest first (container and pod cgroups the node made). */
static int cg_rm_tree(const char *dir, unsigned depth) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int r = 0;

        if (depth > RM_TREE_DEPTH)
                return -ELOOP;
        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d))) {
                _cleanup_free_ char *sub = NULL;

                if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                sub = xstrdup_printf("%s/%s", dir, de->d_name);
                if (!sub)
                        return -ENOMEM;
                r = cg_rm_tree(sub, depth + 1);
                if (r < 0)
                        return r;
        }
        for (unsigned i = 0; rmdir(dir) < 0; i++) {
                if (errno == ENOENT)
                        return 0;
                if (errno != EBUSY || i >= RM_BUSY_TRIES)
                        return -errno;
                (void) nanosleep(&(struct timespec) { .tv_nsec = 20 * 1000 * 1000 }, NULL);
        }
        return 0;
}

/* Enables in parent's cgroup.subtree_control every controller it has, so that its children get them.
 * One that cannot be enabled (cpu with realtime tasks) costs only its own limits: the caller checks
 * for memory. EBUSY for all: the parent holds processes ("no internal processes"). */
static int cg_enable_all(const char *parent) {
        unsigned have = cg_controllers(parent, "cgroup.controllers");
        unsigned on = cg_controllers(parent, "cgroup.subtree_control");
        int r = 0;

        for (unsigned i = 0; i < _CONTROLLER_COUNT; i++) {
                unsigned bit = 1u << i;
                _cleanup_free_ char *word = NULL;
                int k;

                if (!(have & bit) || (on & bit))
                        continue;
                word = xstrdup_printf("+%s", controller_to_string(bit));
                if (!word)
                        return -ENOMEM;
                k = cg_write(parent, "cgroup.subtree_control", word);
                if (k < 0 && (bit == CONTROLLER_MEMORY || r == 0))
                        r = k;
        }
        return r;
}

int node_cgroup_prepare(const char *name, struct node_cgroup *ret, struct un_error *err) {
        _cleanup_free_ char *text = NULL, *current = NULL, *parent = NULL, *node = NULL;
        struct statfs sf;
        bool current_ours, alone;
        int r;

        *ret = (struct node_cgroup) {};
        if (statfs(CGROUP_MOUNT, &sf) < 0 || sf.f_type != CGROUP2_SUPER_MAGIC)
                return 0;
        {
                const struct host *h = host_live();

                r = host_read_file(h, "/proc/self/cgroup", HOST_FILE_MAX, &text, NULL);
        }
        if (r >= 0)
                r = cgroup_v2_path_from_proc(text, &current);
        if (r < 0)
                return un_error(err, -r, "cannot tell this process's cgroup from /proc/self/cgroup");
        parent = cg_parent(current);
        if (!parent)
                return un_error(err, ENOMEM, "node cgroup");
        current_ours = cg_ours(current);
        alone = current_ours && cg_alone(current);
        switch (cgroup_node_plan(current, current_ours, alone, strcmp(parent, "/") != 0 && cg_ours(parent))) {
        case NODE_CGROUP_CURRENT:
                if (!(cg_controllers(current, "cgroup.controllers") & CONTROLLER_MEMORY))
                        return un_error(err, ENOTSUP, "cgroup %s has no memory controller delegated", current);
                ret->path = TAKE_PTR(current);
                return 1;
        case NODE_CGROUP_SIBLING:
                break;
        default:
                return un_error(err, EPERM, "cgroup %s is not delegated to this user (nor is its parent)", current);
        }

        node = xstrdup_printf("%s/usernode-%s", parent, name);
        if (!node)
                return un_error(err, ENOMEM, "node cgroup");
        {
                _cleanup_free_ char *dir = cg_file(node, NULL);

                if (!dir)
                        return un_error(err, ENOMEM, "node cgroup");
                /* A cgroup left by a node that was killed has no processes: start from an empty one. */
                r = cg_rm_tree(dir, 0);
                if (r >= 0 && mkdir(dir, 0755) < 0)
                        r = -errno;
                if (r < 0)
                        return un_error(err, -r, "cannot create cgroup %s", node);
        }
        r = cg_enable_all(parent);
        r = cg_controllers(node, "cgroup.controllers") & CONTROLLER_MEMORY ? 0 : r < 0 ? r : -ENOTSUP;
        if (r >= 0)
                r = cg_write(node, "cgroup.procs", "0");
        if (r < 0) {
                _cleanup_free_ char *dir = cg_file(node, NULL);

                if (dir)
                        (void) rmdir(dir);
                return un_error(err, -r, "cannot give the node cgroup %s with the controllers of %s", node, parent);
        }
        ret->path = TAKE_PTR(node);
        ret->origin = TAKE_PTR(current);
        return 1;
}

void node_cgroup_release(struct node_cgroup *c) {
        if (c->path && c->origin) {
                _cleanup_free_ char *dir = cg_file(c->path, NULL);

                /* Back where we came from: a cgroup with a process in it cannot go. */
                (void) cg_write(c->origin, "cgroup.procs", "0");
                if (dir)
                        (void) cg_rm_tree(dir, 0);
        }
        free(c->path);
        free(c->origin);
        *c = (struct node_cgroup) {};
}
