/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

/* The networks a usernode node uses; the one place they are defined. k3s's own defaults: pods
 * 10.42/16, services 10.43/16, and K3S_ROOTLESS_CIDR (rootlesskit's slirp4netns network) 10.41/16. */
#define USERNODE_POD_CIDR "10.42.0.0/16"
#define USERNODE_SERVICE_CIDR "10.43.0.0/16"
#define USERNODE_SLIRP_CIDR "10.41.0.0/16"
/* The bridge between a node and its workers (`up --workers`), inside the node. */
#define USERNODE_WORKERS_CIDR "10.40.0.0/24"
/* The pod network's VXLAN between nodes: flannel's port (the Linux kernel's 8472, not IANA's 4789), and
 * what its encapsulation adds to each packet (outer IPv4 20, UDP 8, VXLAN 8, inner Ethernet 14). */
#define USERNODE_OVERLAY_PORT 8472
#define USERNODE_OVERLAY_OVERHEAD 50

/* Bound on the host addresses and routes looked at: a full BGP table is not a node host. */
#define NET_HOST_ENTRIES_MAX 65536u

struct net_prefix {
        int family;             /* AF_INET or AF_INET6 */
        uint8_t addr[16];       /* network byte order; host bits cleared */
        unsigned len;
};

enum net_entry_kind {
        NET_ENTRY_ADDRESS,
        NET_ENTRY_ROUTE,
};

struct net_host_entry {
        enum net_entry_kind kind;
        struct net_prefix prefix;
        uint8_t local[16];      /* addresses: the address itself (prefix holds its network) */
        unsigned ifindex;       /* 0 when unknown (/proc/net/route gives names only) */
        char ifname[IF_NAMESIZE];
};

struct net_host_table {
        struct net_host_entry *entries;
        size_t n, cap;
        size_t n_v4, n_v6;
};

void net_host_table_done(struct net_host_table *t);

/* "10.42.0.0/16", "fd00::/64". Host bits must be clear. */
int net_prefix_parse(const char *s, struct net_prefix *ret);
/* Writes "10.42.0.0/16" into buf (INET6_ADDRSTRLEN + 4 bytes are enough). */
const char *net_prefix_to_string(const struct net_prefix *p, char *buf, size_t size);
bool net_prefix_overlaps(const struct net_prefix *a, const struct net_prefix *b);
/* An IPv4 network with its host bits clear, in fewer than 48 bytes: what up's --cidr, --cluster-cidr and
 * --service-cidr take, and a pod CIDR the node's network can have. */
bool net_cidr_ipv4_valid(const char *s);
/* Address number host of the IPv4 network cidr ("10.40.0.0/24", 1: "10.40.0.1"): -EINVAL when cidr is not one
 * or host does not fit in it (nor is it the network's own address or its broadcast). */
int net_cidr_ipv4_host(const char *cidr, uint32_t host, char buf[static 16]);

/* Parses one buffer of rtnetlink dump replies (RTM_NEWADDR, RTM_NEWROUTE) into t, checking each
 * message's sequence number and port id (0 accepts any, as mnl_cb_run does). Returns 1 when more
 * replies follow, 0 at NLMSG_DONE, -EBADMSG for truncated or garbage input, -E2BIG beyond
 * NET_HOST_ENTRIES_MAX, -ESRCH/-EPROTO for a foreign port id/sequence, or the kernel's -errno. */
int netlink_parse_dump(const void *buf, size_t len, uint32_t seq, uint32_t portid, struct net_host_table *t);

/* Dumps the live host's IPv4 and IPv6 addresses and main-table routes over rtnetlink. */
int netlink_load_host(struct net_host_table *t);

/* /proc/net/route (ipv6 false) or /proc/net/ipv6_route (ipv6 true) text into t: what --root reads. */
int net_route_parse_proc(const char *text, bool ipv6, struct net_host_table *t);

/* The first host entry overlapping p, or NULL. Default routes and loopback never count. */
const struct net_host_entry *net_host_table_collision(const struct net_host_table *t, const struct net_prefix *p);

/* A private IPv4 network of prefix length len (8..30) that collides with nothing in t nor in
 * avoid[0..n_avoid): tried from 10.44.0.0 upwards through 10/8, then 172.16/12, then 192.168/16.
 * For `up --cidr`: a /16 for pods or services, a /24 for slirp. -ENOSPC when none is free. */
int net_cidr_pick_free(const struct net_host_table *t, unsigned len, const struct net_prefix *avoid, size_t n_avoid,
                       struct net_prefix *ret);

/* In this network namespace: ipv4/32 on lo, with the local route the kernel adds for it removed, so that
 * the address counts as the host's (the kubelet's --node-ip must be on an interface) while packets to it
 * still leave through the default route (to the real host that holds it). */
int netlink_add_unrouted_address(const char *ipv4);

/* The rtnetlink socket and the acknowledged request that netlink.c and netlink-link.c share. */
struct mnl_socket;
struct nlmsghdr;
struct mnl_socket *netlink_open_route(void);
void mnl_socket_closep(struct mnl_socket **nl);
/* Sends a dump request and hands each reply buffer (at most size bytes, in buf) to parse, which returns 1 for more,
 * 0 at the end or -errno; the dump is bounded (NETLINK_DUMP_BYTES_MAX in all). */
int netlink_dump(struct mnl_socket *nl, struct nlmsghdr *request, void *buf, size_t size,
                 int (*parse)(const void *buf, size_t len, uint32_t seq, uint32_t portid, void *data), void *data);
/* Sends one request (NLM_F_ACK added) and reads its acknowledgement, checking sequence and port id. */
int netlink_request_ack(struct mnl_socket *nl, struct nlmsghdr *nlh);

/* netlink-link.c: the links, addresses and routes of this network namespace, as `ip` would set them. */
/* A bridge named name, up, with address cidr ("10.0.3.1/24") and mtu. */
int netlink_bridge_add(const char *name, const char *cidr, unsigned mtu);
/* A veth pair: name here, on bridge master and up; its peer named peer in the network namespace of process
 * peer_pid, down. Both with mtu. */
int netlink_veth_add(const char *name, const char *master, const char *peer, pid_t peer_pid, unsigned mtu);
/* Sets link name up, with address cidr when cidr is not NULL. */
int netlink_link_up(const char *name, const char *cidr);
/* A route in the main table to dst ("10.244.1.0/24", or "0.0.0.0/0") through the gateway via. */
int netlink_route_add(const char *dst, const char *via);
/* The IPv4 destinations of link ifname's forwarding entries (a VXLAN device's remote endpoints, as `bridge fdb
 * show dev IFNAME` lists them) for the link-layer addresses that its ARP entries resolve to: the endpoints in use,
 * not one left by a peer whose address changed (flannel adds the new entry, and removes only that one when the peer
 * goes). Sorted, each once; *ret NULL when there are none. */
int netlink_fdb_destinations(const char *ifname, char ***ret);
/* A netlink socket (non-blocking) that turns readable when a neighbour or forwarding entry of this network
 * namespace changes: what the caller polls, then reads until EAGAIN, and closes. */
int netlink_neigh_watch_open(void);
