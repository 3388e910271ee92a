/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <netinet/in.h>

#include <stdbool.h>
#include <stdint.h>

/* Bound on the nameserver lines taken from a resolv.conf (glibc uses 3; k3s passes all on). */
#define RESOLV_NAMESERVERS_MAX 16u

/* The "nameserver" addresses of resolv.conf text, in order. An unparsable address is kept as
 * written (nameserver_usable_in_pod says no to it). */
int resolv_conf_parse(const char *text, char ***ret_nameservers);
/* False for loopback (127/8, ::1), link-local, multicast, unspecified and unparsable addresses:
 * what cannot be reached from inside the node's network namespace. */
bool nameserver_usable_in_pod(const char *address);

/* /proc/net/tcp or tcp6 text: 1 when some socket LISTENs on port, 0 when none, -EBADMSG on a
 * malformed line. */
int proc_net_tcp_listening(const char *text, uint16_t port);

/* /etc/lxc/lxc-usernet: true when a line for user (or "@group" for one of groups, NULL-terminated)
 * allows at least one veth. */
bool lxc_usernet_allows(const char *text, const char *user, char * const *groups);

/* Whether an IPv4 address (text) is in 127.0.0.0/8: reached from this host only. */
bool net_ipv4_loopback(const char *ip);

/* Whether a TCP (type SOCK_STREAM) or UDP (SOCK_DGRAM) port (0: any) can be bound on addr now; *ret_port the
 * port bound. -EADDRINUSE when taken, -EADDRNOTAVAIL when addr is not this host's. The port is free again
 * when this returns. */
int net_port_free(int type, struct in_addr addr, uint16_t port, uint16_t *ret_port);

/* The address this host sends from towards dst, as its routing says: a connected UDP socket asks the
 * kernel, nothing is sent. */
int net_source_address(const struct sockaddr_in *dst, struct in_addr *ret);
