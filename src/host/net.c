/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "host.h"
#include "net.h"
#include "util.h"

int resolv_conf_parse(const char *text, char ***ret_nameservers) {
        _cleanup_free_ char *copy = strdup(text);
        _cleanup_strv_free_ char **l = NULL;
        char *cursor = copy, *line;
        int err = 0;

        if (!copy)
                return -ENOMEM;
        while ((line = line_next(&cursor, HOST_LINE_MAX, &err))) {
                const char *rest;
                size_t n;

                line = strstrip(line);
                rest = startswith(line, "nameserver");
                if (!rest || (*rest != ' ' && *rest != '\t'))
                        continue;
                rest += strspn(rest, " \t");
                n = strcspn(rest, " \t#;");
                if (n == 0 || n >= 64 || strv_length(l) >= RESOLV_NAMESERVERS_MAX)
                        continue;
                {
                        char addr[64];

                        memcpy(addr, rest, n);
                        addr[n] = '\0';
                        if (strv_push(&l, addr) < 0)
                                return -ENOMEM;
                }
        }
        if (err < 0)
                return err;
        if (!l) {
                l = calloc(1, sizeof *l);
                if (!l)
                        return -ENOMEM;
        }
        *ret_nameservers = TAKE_PTR(l);
        return 0;
}

bool nameserver_usable_in_pod(const char *address) {
        uint8_t a[16];
        char plain[64];
        size_t n = strcspn(address, "%");       /* fe80::1%eth0 */

        if (n >= sizeof plain)
                return false;
        memcpy(plain, address, n);
        plain[n] = '\0';
        if (inet_pton(AF_INET, plain, a) == 1)
                return a[0] != 127 && a[0] != 0 && !(a[0] == 169 && a[1] == 254) && a[0] < 224;
        if (inet_pton(AF_INET6, plain, a) == 1) {
                static const uint8_t zero[16], loop[16] = { [15] = 1 };

                if (memcmp(a, zero, 16) == 0 || memcmp(a, loop, 16) == 0)
                        return false;
                if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
                        return false;   /* link-local */
                if (a[0] == 0xff)
                        return false;   /* multicast */
                /* ::ffff:127.0.0.1 */
                if (memcmp(a, zero, 10) == 0 && a[10] == 0xff && a[11] == 0xff)
                        return a[12] != 127 && a[12] != 0;
                return true;
        }
        return false;
}

static int hex_field(const char *s, size_t want, unsigned long *ret) {
        char *end;

        if (strlen(s) != want || s[strspn(s, "0123456789abcdefABCDEF")] != '\0')
                return -EBADMSG;
        errno = 0;
        *ret = strtoul(s, &end, 16);
        return errno == 0 && *end == '\0' ? 0 : -EBADMSG;
}

int proc_net_tcp_listening(const char *text, uint16_t port) {
        _cleanup_free_ char *copy = strdup(text);
        char *cursor = copy, *line;
        unsigned lineno = 0;
        int err = 0, found = 0;

        if (!copy)
                return -ENOMEM;
        while ((line = line_next(&cursor, HOST_LINE_MAX, &err))) {
                _cleanup_strv_free_ char **f = NULL;
                unsigned long st, p;
                char *colon;

                if (++lineno == 1)
                        continue;       /* "  sl  local_address rem_address   st ..." */
                if (strv_split(line, " \t", &f) < 0)
                        return -ENOMEM;
                if (strv_length(f) == 0)
                        continue;
                /* "0: 0100007F:1A0B 00000000:0000 0A ..." */
                if (strv_length(f) < 4)
                        return -EBADMSG;
                colon = strchr(f[1], ':');
                if (!colon || (colon - f[1] != 8 && colon - f[1] != 32))
                        return -EBADMSG;
                if (hex_field(colon + 1, 4, &p) < 0 || hex_field(f[3], 2, &st) < 0)
                        return -EBADMSG;
                if (st == 0x0A && p == port)
                        found = 1;
        }
        return err < 0 ? err : found;
}

bool lxc_usernet_allows(const char *text, const char *user, char * const *groups) {
        _cleanup_free_ char *copy = strdup(text);
        char *cursor = copy, *line;
        int err = 0;

        if (!copy)
                return false;
        while ((line = line_next(&cursor, HOST_LINE_MAX, &err))) {
                _cleanup_strv_free_ char **f = NULL;
                uint32_t count;
                bool match;

                line = strstrip(line);
                if (line[0] == '#' || line[0] == '\0')
                        continue;
                /* "user type link count", e.g. "alice veth lxcbr0 10" or "@devs veth lxcbr0 2". */
                if (strv_split(line, " \t", &f) < 0 || strv_length(f) != 4)
                        continue;
                if (f[0][0] == '@')
                        match = groups && strv_contains(groups, f[0] + 1);
                else
                        match = user && strcmp(f[0], user) == 0;
                if (match && strcmp(f[1], "veth") == 0 && parse_u32(f[3], &count) >= 0 && count > 0)
                        return true;
        }
        return false;
}

int net_source_address(const struct sockaddr_in *dst, struct in_addr *ret) {
        _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in src;
        socklen_t len = sizeof src;

        if (fd < 0)
                return negative_errno();
        if (connect(fd, (const struct sockaddr *) dst, sizeof *dst) < 0)
                return negative_errno();
        if (getsockname(fd, (struct sockaddr *) &src, &len) < 0)
                return negative_errno();
        *ret = src.sin_addr;
        return 0;
}

int net_port_free(int type, struct in_addr addr, uint16_t port, uint16_t *ret_port) {
        _cleanup_close_ int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr = addr, .sin_port = htons(port) };
        socklen_t len = sizeof sa;

        if (fd < 0)
                return negative_errno();
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 || getsockname(fd, (struct sockaddr *) &sa, &len) < 0)
                return negative_errno();
        *ret_port = ntohs(sa.sin_port);
        return 0;
}

bool net_ipv4_loopback(const char *ip) {
        struct in_addr a;

        return inet_pton(AF_INET, ip, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}
