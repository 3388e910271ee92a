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

#include "cgroup-tree.h"
#include "cgroup.h"
#include "host.h"
#include "up.h"
#include "util.h"



/* Ours: we may create cgroups in it, move processes in and enable controllers. */
static bool cg_ours(const char *cgroup) {
        _cleanup_free_ char *dir = cgroup_tree_file(cgroup, NULL), *procs = cgroup_tree_file(cgroup, "cgroup.procs"),
                            *sub = cgroup_tree_file(cgroup, "cgroup.subtree_control");

        return dir && procs && sub && access(dir, W_OK) == 0 && access(procs, W_OK) == 0 &&
               access(sub, W_OK) == 0;
}




/* Whether this process is the only one in the cgroup. */
static bool cg_alone(const char *cgroup) {
        _cleanup_free_ char *text = NULL;
        char *cursor, *line;
        uint32_t pid;
        unsigned n = 0;

        if (cgroup_tree_read(cgroup, "cgroup.procs", &text) < 0)
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
                if (!(cgroup_tree_controllers(current, "cgroup.controllers") & CONTROLLER_MEMORY))
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
                _cleanup_free_ char *dir = cgroup_tree_file(node, NULL);

                if (!dir)
                        return un_error(err, ENOMEM, "node cgroup");
                /* A cgroup left by a node that was killed has no processes: start from an empty one. */
                r = cgroup_tree_remove_dir(dir);
                if (r >= 0 && mkdir(dir, 0755) < 0)
                        r = -errno;
                if (r < 0)
                        return un_error(err, -r, "cannot create cgroup %s", node);
        }
        r = cgroup_tree_enable_all(parent);
        r = cgroup_tree_controllers(node, "cgroup.controllers") & CONTROLLER_MEMORY ? 0 : r < 0 ? r : -ENOTSUP;
        if (r >= 0)
                r = cgroup_tree_write(node, "cgroup.procs", "0");
        if (r < 0) {
                _cleanup_free_ char *dir = cgroup_tree_file(node, NULL);

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
                _cleanup_free_ char *dir = cgroup_tree_file(c->path, NULL);

                /* Back where we came from: a cgroup with a process in it cannot go. */
                (void) cgroup_tree_write(c->origin, "cgroup.procs", "0");
                if (dir)
                        (void) cgroup_tree_remove_dir(dir);
        }
        free(c->path);
        free(c->origin);
        *c = (struct node_cgroup) {};
}
