/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "command.h"
#include "process.h"
#include "util.h"

int spawn_capture(char *const argv[], size_t max, int timeout_ms, bool no_new_privs, char **ret_out,
                  int *ret_status) {
        _cleanup_free_ char *out = malloc(max + 1);
        uint64_t deadline;
        int pipefd[2], status;
        struct proc p = PROC_NULL;
        size_t len = 0;
        int r = 0;

        if (!out)
                return -ENOMEM;
        if (!argv[0] || argv[0][0] != '/')
                return -EINVAL;
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return negative_errno();
        r = proc_exec_start(&(struct proc_exec) {
                                    .argv = argv, .keep_fd = -1,
                                    .stdio = { PROC_STDIO_NULL, pipefd[1], PROC_STDIO_NULL },
                                    .flags = PROC_DEATHSIG | (no_new_privs ? PROC_NO_NEW_PRIVS : 0),
                            },
                            &p);
        close(pipefd[1]);
        if (r < 0) {
                close(pipefd[0]);
                if (r == -ENOMEM)
                        return r;
                /* As a shell says it: what cannot be executed exits 127. */
                *ret_status = 127;
                if (ret_out && !(*ret_out = strdup("")))
                        return -ENOMEM;
                return 0;
        }
        deadline = now_usec() + (uint64_t) timeout_ms * 1000u;
        for (;;) {
                struct pollfd pf = { .fd = pipefd[0], .events = POLLIN };
                int left = msec_until(deadline);
                ssize_t n;

                if (left <= 0) {
                        r = -ETIMEDOUT;
                        break;
                }
                if (poll(&pf, 1, left) < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        break;
                }
                if (!(pf.revents & (POLLIN | POLLHUP | POLLERR)))
                        continue;
                n = read(pipefd[0], out + len, max - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        break;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len == max) {
                        r = -EFBIG;
                        break;
                }
        }
        close(pipefd[0]);
        /* Killed at once when it failed, else waited for: its output ended, its exit is near. */
        r = r < 0 ? (proc_reap(&p, now_usec(), false), r) : proc_reap(&p, 0, false);
        status = p.status;
        proc_done(&p);
        if (r < 0)
                return r;
        out[len] = '\0';
        if (strlen(out) != len)
                return -EBADMSG;
        *ret_status = proc_exit_code(status);
        if (ret_out)
                *ret_out = TAKE_PTR(out);
        return 0;
}
