/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What rootlesskit started, as /proc shows it, and its last word in the node's log: for the supervisor,
 * which watches the node's first process and its network helper. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "process.h"
#include "rootlesskit.h"
#include "util.h"

/* rootlesskit writes child_pid a moment after the child runs: until then, find its child that lives
 * in another PID namespace (slirp4netns, its other child, does not). */
pid_t rootlesskit_find_child(pid_t rk) {
        char path[64], mine[64], text[1024], *cursor, *word;
        ssize_t n = readlink("/proc/self/ns/pid", mine, sizeof mine - 1);

        if (n <= 0)
                return 0;
        mine[n] = '\0';
        snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int) rk, (int) rk);
        if (proc_read_small(path, text, sizeof text) < 0)
                return 0;
        cursor = text;
        while ((word = strsep(&cursor, " \n"))) {
                char ns[64];
                uint32_t pid;

                if (parse_u32(word, &pid) < 0)
                        continue;
                snprintf(path, sizeof path, "/proc/%u/ns/pid", pid);
                n = readlink(path, ns, sizeof ns - 1);
                if (n > 0 && (ns[n] = '\0', strcmp(ns, mine) != 0))
                        return (pid_t) pid;
        }
        return 0;
}

/* rootlesskit is a Go program: the thread that forked the helper, whose children file lists it, is any of
 * its threads. */
pid_t rootlesskit_find_net_helper(pid_t rk, char *ret_comm, size_t size) {
        char path[96], text[1024], comm[32], *cursor, *word;
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        snprintf(path, sizeof path, "/proc/%d/task", (int) rk);
        d = opendir(path);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof path, "/proc/%d/task/%.20s/children", (int) rk, de->d_name);
                if (proc_read_small(path, text, sizeof text) < 0)
                        continue;
                cursor = text;
                while ((word = strsep(&cursor, " \n"))) {
                        uint32_t pid;

                        if (parse_u32(word, &pid) < 0)
                                continue;
                        snprintf(path, sizeof path, "/proc/%u/comm", pid);
                        if (proc_read_small(path, comm, sizeof comm) < 0)
                                continue;
                        comm[strcspn(comm, "\n")] = '\0';
                        if (strcmp(comm, "slirp4netns") != 0 && strcmp(comm, "pasta") != 0)
                                continue;
                        snprintf(ret_comm, size, "%s", comm);
                        return (pid_t) pid;
                }
        }
        return 0;
}

bool rootlesskit_runs_slirp4netns(pid_t rk) {
        char path[64], cmdline[4096];
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;

        snprintf(path, sizeof path, "/proc/%d/cmdline", (int) rk);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        n = read(fd, cmdline, sizeof cmdline - 1);
        if (n <= 0)
                return false;
        cmdline[n] = '\0';
        for (char *p = cmdline; p < cmdline + n; p += strlen(p) + 1)
                if (strcmp(p, "--net=slirp4netns") == 0)
                        return true;
        return false;
}

/* rootlesskit's errors: "[rootlesskit:parent] error: failed to setup network ...". */
static const char *rootlesskit_parent_error(const char *line) {
        const char *e = startswith(line, "[rootlesskit:parent]") ? strstr(line, "] error: ") : NULL;

        return e ? e + 9 : NULL;
}

static const char *rootlesskit_any_error(const char *line) {
        const char *e = startswith(line, "[rootlesskit:") ? strstr(line, "] error: ") : NULL;

        return e ? e + 9 : NULL;
}

/* The parent's error says what failed; its child, left without a parent, only says that it is gone ("parsing
 * message from fd 3: EOF"): the parent's wins when there is one. */
char *rootlesskit_last_error(const char *node_log) {
        char *found = log_last_match(node_log, rootlesskit_parent_error, 400);

        return found ? found : log_last_match(node_log, rootlesskit_any_error, 400);
}
