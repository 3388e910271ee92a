/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdint.h>

/* A port the node publishes on the host (--publish, config.yaml's publish; the kubelet's and the API server's). */
#define NODE_PORTS_MAX 32

struct node_port {
        char proto[4];          /* "tcp" or "udp" */
        char host_ip[46];       /* "127.0.0.1" */
        uint16_t host_port;
        uint16_t node_port;
        int64_t id;             /* rootlesskit's port id, -1 before it is forwarded */
};

/* "8080:80", "127.0.0.1:8080:80", "8053:53/udp" -> a port. The host IP defaults to 127.0.0.1. */
int node_port_parse(const char *s, struct node_port *ret);
