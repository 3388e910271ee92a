/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Removing a node's data directory, files of its sub-IDs included: from a fresh user namespace with the
 * node's ID map (newuidmap, newgidmap), where those files are the caller's own. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "process.h"
#include "rm-rf.h"
#include "subid.h"
#include "up.h"
#include "util.h"

static int purge_read_map(const struct node *n, const char *which, char ***ret) {
        _cleanup_free_ char *path = node_runtime_path(n, which), *text = NULL;
        int r;

        if (!path)
                return -ENOMEM;
        r = host_read_live(path, 4096, &text);
        if (r < 0)
                return r;
        r = strv_split(text, " \t\n", ret);
        if (r < 0)
                return r;
        /* Triplets of numbers, at most 5 lines (the kernel's limit without extents is 340). */
        if (strv_length(*ret) == 0 || strv_length(*ret) % 3 != 0 || strv_length(*ret) > 15)
                return -EINVAL;
        for (char **w = *ret; *w; w++) {
                uint32_t v;

                if (parse_u32(*w, &v) < 0)
                        return -EINVAL;
        }
        return 0;
}

/* The map rootlesskit makes: our own ID as 0, then the user's sub-IDs from file. */
static int purge_default_map(const char *file, uint32_t id, char ***ret) {
        _cleanup_strv_free_ char **map = NULL;
        struct subid_file f = {};
        const struct host *h = host_live();
        struct passwd *pw = getpwuid(getuid());
        uint64_t inside = 1;
        unsigned lines = 1;
        char buf[3][16];
        int r;

        if (!pw)
                return -ENOENT;
        r = subid_file_load(h, file, &f, NULL, NULL);
        if (r < 0)
                return r;
        snprintf(buf[0], sizeof buf[0], "%u", id);
        r = strv_push(&map, "0") < 0 || strv_push(&map, buf[0]) < 0 || strv_push(&map, "1") < 0 ? -ENOMEM : 0;
        for (size_t i = 0; r >= 0 && i < f.n && lines < 5; i++) {
                if (!subid_range_is_user(&f.ranges[i], pw->pw_name, (uint32_t) getuid()) || inside > UINT32_MAX)
                        continue;
                snprintf(buf[0], sizeof buf[0], "%" PRIu64, inside);
                snprintf(buf[1], sizeof buf[1], "%u", f.ranges[i].start);
                snprintf(buf[2], sizeof buf[2], "%u", f.ranges[i].count);
                for (int k = 0; k < 3 && r >= 0; k++)
                        r = strv_push(&map, buf[k]) < 0 ? -ENOMEM : 0;
                inside += f.ranges[i].count;
                lines++;
        }
        subid_file_done(&f);
        if (r < 0)
                return r;
        if (lines == 1)
                return -ENOENT;
        *ret = TAKE_PTR(map);
        return 0;
}

static int purge_run_idmap_tool(const char *tool, pid_t pid, char **map) {
        _cleanup_strv_free_ char **argv = NULL;
        char pidstr[16];
        struct proc p = PROC_NULL;
        int r;

        snprintf(pidstr, sizeof pidstr, "%d", (int) pid);
        if (strv_push(&argv, tool) < 0 || strv_push(&argv, pidstr) < 0)
                return -ENOMEM;
        for (char **w = map; *w; w++)
                if (strv_push(&argv, *w) < 0)
                        return -ENOMEM;
        r = proc_spawn(argv, NULL, -1, -1, -1, &p, NULL);
        if (r < 0)
                return r;
        r = proc_wait(&p, 5000);
        if (r != 1) {
                proc_stop(&p, 100);
                proc_done(&p);
                return -ETIMEDOUT;
        }
        r = WIFEXITED(p.status) && WEXITSTATUS(p.status) == 0 ? 0 : -EPERM;
        proc_done(&p);
        return r;
}

int node_purge_files(const struct node *n, struct un_error *err) {
        _cleanup_strv_free_ char **uid_map = NULL, **gid_map = NULL;
        int go[2], ready[2], st, r, k;
        struct proc child;
        pid_t pid;

        /* Without a recorded map the node most likely never had sub-IDs at work: everything is ours. Unless
         * the map could not be recorded (a full disk): then it was rootlesskit's, made from /etc/sub[ug]id. */
        if (purge_read_map(n, "uid_map", &uid_map) < 0 || purge_read_map(n, "gid_map", &gid_map) < 0) {
                if (rm_rf(n->data_dir) >= 0)
                        return 0;
                strv_free(uid_map);
                strv_free(gid_map);
                uid_map = gid_map = NULL;
                if (purge_default_map("/etc/subuid", (uint32_t) getuid(), &uid_map) < 0 ||
                    purge_default_map("/etc/subgid", (uint32_t) getgid(), &gid_map) < 0)
                        return un_error(err, EPERM, "cannot remove %s", n->data_dir);
        }
        if (pipe2(go, O_CLOEXEC) < 0)
                return un_error(err, errno, "pipe");
        if (pipe2(ready, O_CLOEXEC) < 0) {
                close(go[0]);
                close(go[1]);
                return un_error(err, errno, "pipe");
        }
        pid = proc_fork(NULL, NULL, PROC_DEATHSIG, -1);
        if (pid < 0) {
                close(go[0]);
                close(go[1]);
                close(ready[0]);
                close(ready[1]);
                return un_error(err, -pid, "fork");
        }
        if (pid == 0) {
                char c;

                close(go[1]);
                close(ready[0]);
                if (unshare(CLONE_NEWUSER) < 0)
                        _exit(2);
                if (write(ready[1], "x", 1) != 1)
                        _exit(2);
                /* The parent maps us once we are in the namespace; EOF without a byte means it failed. */
                if (read(go[0], &c, 1) != 1)
                        _exit(3);
                _exit(rm_rf(n->data_dir) < 0 ? 1 : 0);
        }
        close(go[0]);
        close(ready[1]);
        {
                char c;

                r = read(ready[0], &c, 1) == 1 ? 0 : -EPERM;
                close(ready[0]);
        }
        if (r >= 0)
                r = purge_run_idmap_tool("newuidmap", pid, uid_map);
        if (r >= 0)
                r = purge_run_idmap_tool("newgidmap", pid, gid_map);
        if (r >= 0 && write(go[1], "x", 1) != 1)
                r = -errno;
        close(go[1]);
        child = (struct proc) { .pid = pid, .pidfd = pidfd_open_pid(pid) };
        k = proc_reap(&child, 0, false);
        st = child.status;
        proc_done(&child);
        if (k < 0)
                return un_error(err, -k, "waitpid");
        if (r < 0)
                return un_error(err, -r, "cannot enter the node's user namespace to remove %s", n->data_dir);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                return un_error(err, EPERM, "cannot remove %s from inside the node's user namespace", n->data_dir);
        return 0;
}
