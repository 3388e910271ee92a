/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "driver.h"
#include "host.h"
#include "port.h"
#include "rootlesskit.h"
#include "util.h"

#define API_TIMEOUT_MS 5000
#define API_REPLY_MAX 16384

int rootlesskit_argv(const struct rootlesskit_config *c, char ***ret) {
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *mtu = NULL, *pd = NULL, *sd = NULL, *cidr = NULL;
        int r;

        mtu = xstrdup_printf("--mtu=%u", c->mtu);
        pd = xstrdup_printf("--port-driver=%s", port_driver_to_string(c->port_driver));
        sd = xstrdup_printf("--state-dir=%s", c->state_dir);
        if (c->cidr)
                cidr = xstrdup_printf("--cidr=%s", c->cidr);
        if (!mtu || !pd || !sd || (c->cidr && !cidr))
                return -ENOMEM;
        r = strv_push(&argv, "rootlesskit");
        if (r < 0)
                return r;
        r = c->net->rootlesskit_args(&argv);
        if (r < 0)
                return r;
        const char *const args[] = {
                mtu, pd, "--copy-up=/etc", "--copy-up=/run", "--copy-up=/var/lib", "--propagation=rslave",
                "--pidns", "--cgroupns", "--utsns", "--ipcns", "--disable-host-loopback", sd,
        };
        for (size_t i = 0; i < ELEMENTSOF(args); i++) {
                r = strv_push(&argv, args[i]);
                if (r < 0)
                        return r;
        }
        if (cidr && (r = strv_push(&argv, cidr)) < 0)
                return r;
        if (c->ipv6 && (r = strv_push(&argv, "--ipv6")) < 0)
                return r;
        if (c->subid_static && (r = strv_push(&argv, "--subid-source=static")) < 0)
                return r;
        if (c->evacuate_cgroup2) {
                _cleanup_free_ char *ev = xstrdup_printf("--evacuate-cgroup2=%s", c->evacuate_cgroup2);

                if (!ev)
                        return -ENOMEM;
                r = strv_push(&argv, ev);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(argv);
        return 0;
}

bool rootlesskit_subids_static(const struct host *h) {
        _cleanup_free_ char *text = NULL;
        char *cursor, *line;

        if (host_read_file(h, "/etc/nsswitch.conf", HOST_FILE_MAX, &text, NULL) < 0)
                return true;
        cursor = text;
        while ((line = line_next(&cursor, HOST_LINE_MAX, NULL)))
                if (startswith(strstrip(line), "subid:"))
                        return false;
        return true;
}

int rootlesskit_child_pid(const char *state_dir, pid_t *ret) {
        _cleanup_free_ char *path = xstrdup_printf("%s/child_pid", state_dir);
        _cleanup_close_ int fd = -EBADF;
        char buf[32];
        ssize_t n;
        uint32_t v;

        if (!path)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, sizeof buf - 1);
        if (n <= 0)
                return n < 0 ? -errno : -ENODATA;
        buf[n] = '\0';
        if (parse_u32(strstrip(buf), &v) < 0 || v == 0 || v > INT32_MAX)
                return -EINVAL;
        *ret = (pid_t) v;
        return 0;
}

/* rootlesskit's parent opens its API socket a moment after the child runs: wait for the file with
 * inotify (bounded), not by sleeping. */
static int api_wait(const char *api_socket, int timeout_ms) {
        _cleanup_free_ char *dir = strdup(api_socket);
        _cleanup_close_ int in = -EBADF;
        const char *base = strrchr(api_socket, '/');
        char *slash = dir ? strrchr(dir, '/') : NULL;

        if (!slash || !base)
                return -EINVAL;
        *slash = '\0';
        in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (in < 0)
                return negative_errno();
        if (inotify_add_watch(in, dir, IN_CREATE | IN_MOVED_TO) < 0)
                return negative_errno();
        for (;;) {
                struct pollfd pfd = { .fd = in, .events = POLLIN };
                char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

                if (access(api_socket, F_OK) == 0)
                        return 0;
                if (poll(&pfd, 1, timeout_ms) <= 0)
                        return -ETIMEDOUT;
                while (read(in, buf, sizeof buf) > 0)
                        ;
        }
}

/* One HTTP/1.1 exchange over the API socket; returns the whole reply, NUL-terminated. */
static int api_call(const char *api_socket, const char *request, char **ret, struct un_error *err) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        struct buf reply = {};
        size_t off = 0, len = strlen(request);

        if (strlen(api_socket) >= sizeof sa.sun_path)
                return un_error(err, ENAMETOOLONG, "rootlesskit API socket %s", api_socket);
        strcpy(sa.sun_path, api_socket);
        (void) api_wait(api_socket, 5000);
        /* Between bind() and listen() a connect is refused: that window is short. */
        for (unsigned attempt = 0;; attempt++) {
                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        return un_error(err, errno, "socket");
                if (connect(fd, (struct sockaddr *) &sa, sizeof sa) >= 0)
                        break;
                if (errno != ECONNREFUSED || attempt >= 50)
                        return un_error(err, errno, "cannot connect to rootlesskit's API at %s", api_socket);
                close(TAKE_FD(fd));
                (void) poll(NULL, 0, 10);
        }
        while (off < len) {
                ssize_t n = send(fd, request + off, len - off, MSG_NOSIGNAL);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return un_error(err, errno, "rootlesskit API %s", api_socket);
                }
                off += (size_t) n;
        }
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                char chunk[4096];
                ssize_t n;
                int k = poll(&p, 1, API_TIMEOUT_MS);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        buf_free(&reply);
                        return un_error(err, k == 0 ? ETIMEDOUT : errno, "rootlesskit API %s", api_socket);
                }
                n = read(fd, chunk, sizeof chunk);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        buf_free(&reply);
                        return un_error(err, errno, "rootlesskit API %s", api_socket);
                }
                if (n == 0)
                        break;
                if (reply.len + (size_t) n > API_REPLY_MAX || buf_append(&reply, chunk, (size_t) n) < 0) {
                        buf_free(&reply);
                        return un_error(err, EFBIG, "rootlesskit API %s: reply too large", api_socket);
                }
        }
        *ret = buf_steal(&reply);
        return *ret ? 0 : un_error(err, ENOMEM, "rootlesskit API");
}

static int http_status(const char *reply) {
        uint32_t code;
        char num[4];

        if (!startswith(reply, "HTTP/1.1 ") && !startswith(reply, "HTTP/1.0 "))
                return -EPROTO;
        memcpy(num, reply + 9, 3);
        num[3] = '\0';
        if (parse_u32(num, &code) < 0)
                return -EPROTO;
        return (int) code;
}

int rootlesskit_info(const char *api_socket, struct un_error *err) {
        _cleanup_free_ char *reply = NULL;
        int r;

        r = api_call(api_socket, "GET /v1/info HTTP/1.1\r\nHost: rootlesskit\r\nConnection: close\r\n\r\n", &reply,
                     err);
        if (r < 0)
                return r;
        if (http_status(reply) != 200)
                return un_error(err, EPROTO, "rootlesskit API answered: %.80s", reply);
        return 0;
}

char *rootlesskit_port_request(const struct node_port *p) {
        _cleanup_free_ char *body = xstrdup_printf(
                "{\"proto\":\"%s\",\"parentIP\":\"%s\",\"parentPort\":%u,\"childPort\":%u}", p->proto, p->host_ip,
                (unsigned) p->host_port, (unsigned) p->node_port);

        if (!body)
                return NULL;
        return xstrdup_printf("POST /v1/ports HTTP/1.1\r\nHost: rootlesskit\r\nContent-Type: application/json\r\n"
                              "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                              strlen(body), body);
}

int rootlesskit_parse_port_reply(const char *http, int64_t *ret_id) {
        const char *body, *id;
        char num[24];
        size_t n;
        int code = http_status(http);

        if (code < 0)
                return code;
        if (code != 200 && code != 201)
                return -EPROTO;
        body = strstr(http, "\r\n\r\n");
        if (!body)
                return -EPROTO;
        id = strstr(body, "\"id\":");
        if (!id)
                return -EPROTO;
        id += 5;
        n = strspn(id, "0123456789");
        if (n == 0 || n >= sizeof num)
                return -EPROTO;
        memcpy(num, id, n);
        num[n] = '\0';
        return parse_i64(num, ret_id);
}

int rootlesskit_add_port(const char *api_socket, struct node_port *p, struct un_error *err) {
        _cleanup_free_ char *req = rootlesskit_port_request(p), *reply = NULL;
        int64_t id;
        int r;

        if (!req)
                return un_error(err, ENOMEM, "rootlesskit API");
        r = api_call(api_socket, req, &reply, err);
        if (r < 0)
                return r;
        r = rootlesskit_parse_port_reply(reply, &id);
        if (r < 0) {
                const char *body = strstr(reply, "\r\n\r\n");

                return un_error(err, EPROTO, "rootlesskit refused to forward %s:%u -> %u/%s: %.200s", p->host_ip,
                                (unsigned) p->host_port, (unsigned) p->node_port, p->proto,
                                body ? body + 4 : reply);
        }
        p->id = id;
        return 0;
}
