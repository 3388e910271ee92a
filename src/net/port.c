/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A port the node publishes on the host (--publish, config.yaml's publish). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "port.h"
#include "util.h"

int node_port_parse(const char *s, struct node_port *ret) {
        _cleanup_strv_free_ char **parts = NULL;
        _cleanup_free_ char *copy = NULL;
        struct node_port p = { .proto = "tcp", .host_ip = "127.0.0.1", .id = -1 };
        const char *host_port, *node_port;
        char *slash;
        uint32_t v;
        size_t n;

        if (strlen(s) > 80)
                return -EINVAL;
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        slash = strchr(copy, '/');
        if (slash) {
                *slash = '\0';
                if (strcmp(slash + 1, "tcp") != 0 && strcmp(slash + 1, "udp") != 0)
                        return -EINVAL;
                strcpy(p.proto, slash + 1);
        }
        if (strv_split(copy, ":", &parts) < 0)
                return -ENOMEM;
        n = strv_length(parts);
        /* Empty fields ("::80") are dropped by strv_split: recount the colons to refuse them. */
        if (n < 2 || n > 3 || strspn(copy, "0123456789.:") != strlen(copy) || strstr(copy, "::"))
                return -EINVAL;
        if (n == 3) {
                struct in_addr a;

                if (strlen(parts[0]) >= sizeof p.host_ip || inet_pton(AF_INET, parts[0], &a) != 1)
                        return -EINVAL;
                strcpy(p.host_ip, parts[0]);
        }
        host_port = parts[n - 2];
        node_port = parts[n - 1];
        if (parse_u32(host_port, &v) < 0 || v == 0 || v > 65535)
                return -EINVAL;
        p.host_port = (uint16_t) v;
        if (parse_u32(node_port, &v) < 0 || v == 0 || v > 65535)
                return -EINVAL;
        p.node_port = (uint16_t) v;
        *ret = p;
        return 0;
}
