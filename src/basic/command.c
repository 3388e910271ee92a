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
#include "util.h"

int spawn_capture(char *const argv[], size_t max, int timeout_ms, bool no_new_privs, char **ret_out,
                  int *ret_status) {
        _cleanup_free_ char *out = malloc(max + 1);
        uint64_t deadline;
        int pipefd[2], status;
        size_t len = 0;
        pid_t pid;
        int r = 0;

        if (!out)
                return -ENOMEM;
        if (!argv[0] || argv[0][0] != '/')
                return -EINVAL;
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return negative_errno();
        pid = fork();
        if (pid < 0) {
                r = negative_errno();
                close(pipefd[0]);
                close(pipefd[1]);
                return r;
        }
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);

                if (null < 0 || dup2(null, 0) < 0 || dup2(pipefd[1], 1) < 0 || dup2(null, 2) < 0)
                        _exit(127);
                if (no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                        _exit(127);
                execv(argv[0], argv);
                _exit(127);
        }
        close(pipefd[1]);
        deadline = now_usec() + (uint64_t) timeout_ms * 1000u;
        for (;;) {
                struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
                long left = msec_until(deadline);
                ssize_t n;

                if (left <= 0) {
                        r = -ETIMEDOUT;
                        break;
                }
                if (poll(&p, 1, (int) left) < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        break;
                }
                if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
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
        if (r < 0)
                (void) kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        if (r < 0)
                return r;
        out[len] = '\0';
        if (strlen(out) != len)
                return -EBADMSG;
        *ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        if (ret_out)
                *ret_out = TAKE_PTR(out);
        return 0;
}
