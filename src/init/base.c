/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What every part of the init uses: the stage line to the supervisor, files and directories it writes,
 * the binaries it finds. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host.h"
#include "net.h"
#include "init.h"
#include "util.h"

#define TOOL_WAIT_MS 10000           /* iptables waits for the xtables lock, kube-proxy holds it a moment */

void init_stage(struct init *in, const char *fmt, ...) {
        char buf[1024];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        if ((size_t) n > sizeof buf - 2)
                n = (int) sizeof buf - 2;
        /* One line per message: a newline inside would split it. */
        for (int i = 0; i < n; i++)
                if (buf[i] == '\n')
                        buf[i] = ' ';
        buf[n++] = '\n';
        if (in->stage_fd >= 0 && write(in->stage_fd, buf, (size_t) n) < 0) {
                close(in->stage_fd);
                in->stage_fd = -1;
        }
        fprintf(stderr, "usernode-init: %.*s", n, buf);
}

/* Inside the node /etc is rootlesskit's copy-up (a tmpfs of symlinks): the host layer's
 * symlink-refusing writer does not fit there, and nothing but this init writes these files. */
int init_write_file(const char *path, const char *text, struct un_error *err) {
        _cleanup_free_ char *tmp = xstrdup_printf("%s.tmp-usernode", path);
        _cleanup_close_ int fd = -EBADF;
        size_t len = strlen(text), off = 0;

        if (!tmp)
                return un_error(err, ENOMEM, "write %s", path);
        (void) unlink(tmp);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return un_error(err, errno, "cannot create %s", tmp);
        while (off < len) {
                ssize_t n = write(fd, text + off, len - off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        (void) unlink(tmp);
                        return un_error(err, errno, "cannot write %s", tmp);
                }
                off += (size_t) n;
        }
        if (rename(tmp, path) < 0) {
                (void) unlink(tmp);
                return un_error(err, errno, "cannot rename %s", tmp);
        }
        return 0;
}

int init_mkdir_p(const char *path) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = strchr(p + 1, '/');; s = strchr(s + 1, '/')) {
                if (s)
                        *s = '\0';
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return -errno;
                if (!s)
                        return 0;
                *s = '/';
        }
}

void init_node_address(char buf[static INET_ADDRSTRLEN]) {
        struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = htons(9) };
        struct in_addr a;

        (void) inet_pton(AF_INET, "192.0.2.1", &any.sin_addr);
        if (net_source_address(&any, &a) < 0 || !inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN))
                snprintf(buf, INET_ADDRSTRLEN, "127.0.0.1");
}

int init_run_tool(struct init *in, const char *tool, char *const *args, struct un_error *err) {
        _cleanup_free_ char *binary = init_find_binary(tool);
        _cleanup_strv_free_ char **argv = NULL;
        struct proc p = PROC_NULL;
        int r;

        if (!binary)
                return un_error(err, ENOENT, "no %s on PATH in the node", tool);
        if (strv_push(&argv, binary) < 0)
                return un_error(err, ENOMEM, "%s", tool);
        for (char *const *a = args; *a; a++)
                if (strv_push(&argv, *a) < 0)
                        return un_error(err, ENOMEM, "%s", tool);
        r = init_spawn_logged(in, "node.log", argv, NULL, &p, err);
        if (r < 0)
                return r;
        r = proc_wait(&p, TOOL_WAIT_MS);
        if (r == 1 && init_exit_code(&p) != 0)
                r = un_error(err, EIO, "%s exited with status %d (see %s/node.log)", tool, init_exit_code(&p),
                             in->runtime_dir);
        else if (r != 1) {
                proc_stop(&p, 0);
                r = un_error(err, r < 0 ? -r : ETIME, "%s did not finish", tool);
        } else
                r = 0;
        proc_done(&p);
        return r;
}

char *init_find_binary(const char *name) {
        const struct host *h = host_live();
        char *path = NULL;

        (void) host_find_executable(h, name, &path);
        return path;
}
