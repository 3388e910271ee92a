/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The links, addresses and routes a node sets in its own network namespace (the bridge to its workers, their veth
 * pairs, a worker's address and routes), over rtnetlink as `ip link/addr/route add` would. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "netlink.h"
#include "util.h"

#define NETLINK_BUF 4096

static struct nlmsghdr *put_request(char *buf, uint16_t type, uint16_t flags) {
        static uint32_t seq;
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

        if (!seq)
                seq = (uint32_t) time(NULL);
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = NLM_F_REQUEST | flags;
        nlh->nlmsg_seq = ++seq;
        return nlh;
}

/* One request on a socket of its own. */
static int send_request(struct nlmsghdr *nlh) {
        _cleanup_(mnl_socket_closep) struct mnl_socket *nl = netlink_open_route();

        return nl ? netlink_request_ack(nl, nlh) : negative_errno();
}

/* "10.0.3.1/24" into the address and its prefix length. */
static int parse_cidr(const char *cidr, struct in_addr *ret, unsigned *ret_len) {
        char addr[INET_ADDRSTRLEN];
        const char *slash = strchr(cidr, '/');
        uint32_t len;

        if (!slash || (size_t) (slash - cidr) >= sizeof addr || parse_u32(slash + 1, &len) < 0 || len > 32)
                return -EINVAL;
        memcpy(addr, cidr, (size_t) (slash - cidr));
        addr[slash - cidr] = '\0';
        if (inet_pton(AF_INET, addr, ret) != 1)
                return -EINVAL;
        *ret_len = len;
        return 0;
}

static int link_index(const char *name, unsigned *ret) {
        unsigned i;

        if (strlen(name) >= IFNAMSIZ)
                return -EINVAL;
        i = if_nametoindex(name);
        if (i == 0)
                return -ENODEV;
        *ret = i;
        return 0;
}

static int link_delete(const char *name) {
        char buf[NETLINK_BUF] __attribute__((aligned(4)));
        struct nlmsghdr *nlh = put_request(buf, RTM_DELLINK, 0);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);

        ifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        return send_request(nlh);
}

static int address_add(unsigned index, const char *cidr) {
        char buf[NETLINK_BUF] __attribute__((aligned(4)));
        struct nlmsghdr *nlh = put_request(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
        struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
        struct in_addr a;
        unsigned len;

        if (parse_cidr(cidr, &a, &len) < 0)
                return -EINVAL;
        *ifa = (struct ifaddrmsg) { .ifa_family = AF_INET, .ifa_prefixlen = (unsigned char) len,
                                    .ifa_scope = RT_SCOPE_UNIVERSE, .ifa_index = index };
        mnl_attr_put(nlh, IFA_LOCAL, sizeof a, &a);
        mnl_attr_put(nlh, IFA_ADDRESS, sizeof a, &a);
        return send_request(nlh);
}

int netlink_link_up(const char *name, const char *cidr) {
        char buf[NETLINK_BUF] __attribute__((aligned(4)));
        struct nlmsghdr *nlh;
        struct ifinfomsg *ifi;
        unsigned index;
        int r;

        r = link_index(name, &index);
        if (r < 0)
                return r;
        if (cidr) {
                r = address_add(index, cidr);
                if (r < 0)
                        return r;
        }
        nlh = put_request(buf, RTM_NEWLINK, 0);
        ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
        *ifi = (struct ifinfomsg) { .ifi_family = AF_UNSPEC, .ifi_index = (int) index, .ifi_flags = IFF_UP,
                                    .ifi_change = IFF_UP };
        return send_request(nlh);
}

int netlink_bridge_add(const char *name, const char *cidr, unsigned mtu) {
        char buf[NETLINK_BUF] __attribute__((aligned(4)));
        struct nlmsghdr *nlh = put_request(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
        struct nlattr *info;
        int r;

        if (strlen(name) >= IFNAMSIZ)
                return -EINVAL;
        ifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
        info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
        mnl_attr_nest_end(nlh, info);
        r = send_request(nlh);
        if (r < 0)
                return r;
        return netlink_link_up(name, cidr);
}

int netlink_veth_add(const char *name, const char *master, const char *peer, pid_t peer_pid, unsigned mtu) {
        char buf[NETLINK_BUF] __attribute__((aligned(4)));
        struct nlmsghdr *nlh;
        struct ifinfomsg *ifi, *peer_ifi;
        struct nlattr *info, *data, *peer_attr;
        unsigned master_index;
        int r;

        if (strlen(name) >= IFNAMSIZ || strlen(peer) >= IFNAMSIZ)
                return -EINVAL;
        r = link_index(master, &master_index);
        if (r < 0)
                return r;
        /* A pair whose other end died with its namespace is gone already; one left otherwise is replaced. */
        r = link_delete(name);
        if (r < 0 && r != -ENODEV)
                return r;
        nlh = put_request(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
        ifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
        mnl_attr_put_u32(nlh, IFLA_MASTER, master_index);
        info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
        data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
        peer_attr = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
        peer_ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *peer_ifi);
        peer_ifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
        mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
        mnl_attr_put_u32(nlh, IFLA_NET_NS_PID, (uint32_t) peer_pid);
        mnl_attr_nest_end(nlh, peer_attr);
        mnl_attr_nest_end(nlh, data);
        mnl_attr_nest_end(nlh, info);
        r = send_request(nlh);
        if (r < 0)
                return r;
        return netlink_link_up(name, NULL);
}

int netlink_route_add(const char *dst, const char *via) {
        char buf[NETLINK_BUF] __attribute__((aligned(4)));
        struct nlmsghdr *nlh = put_request(buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE);
        struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
        struct in_addr d, gw;
        unsigned len;

        if (parse_cidr(dst, &d, &len) < 0 || inet_pton(AF_INET, via, &gw) != 1)
                return -EINVAL;
        *rtm = (struct rtmsg) { .rtm_family = AF_INET, .rtm_dst_len = (unsigned char) len, .rtm_table = RT_TABLE_MAIN,
                                .rtm_protocol = RTPROT_BOOT, .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST };
        if (len > 0)
                mnl_attr_put(nlh, RTA_DST, sizeof d, &d);
        mnl_attr_put(nlh, RTA_GATEWAY, sizeof gw, &gw);
        return send_request(nlh);
}

/* A dump of the neighbour tables (family AF_INET: ARP entries; AF_BRIDGE: forwarding entries) of link index. */
struct neigh_dump {
        unsigned index;
        int family;
        uint8_t (*macs)[6];             /* AF_INET: the link-layer addresses found; AF_BRIDGE: the ones wanted */
        size_t n_macs;
        char ***destinations;           /* AF_BRIDGE: the IPv4 destinations of the entries for one of macs */
        int error;
};

static int neigh_attr(const struct nlattr *a, void *data) {
        const struct nlattr **tb = data;

        if (mnl_attr_type_valid(a, NDA_MAX) >= 0)
                tb[mnl_attr_get_type(a)] = a;
        return MNL_CB_OK;
}

static bool mac_known(const struct neigh_dump *d, const uint8_t *mac) {
        for (size_t i = 0; i < d->n_macs; i++)
                if (memcmp(d->macs[i], mac, 6) == 0)
                        return true;
        return false;
}

static int neigh_entry(const struct nlmsghdr *nlh, void *data) {
        struct neigh_dump *d = data;
        const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *tb[NDA_MAX + 1] = {};
        const uint8_t *mac;
        char ip[INET_ADDRSTRLEN];

        if (nlh->nlmsg_type != RTM_NEWNEIGH || ndm->ndm_family != d->family || (unsigned) ndm->ndm_ifindex != d->index ||
            mnl_attr_parse(nlh, sizeof *ndm, neigh_attr, tb) < 0 || !tb[NDA_LLADDR] ||
            mnl_attr_get_payload_len(tb[NDA_LLADDR]) != 6)
                return MNL_CB_OK;
        mac = mnl_attr_get_payload(tb[NDA_LLADDR]);
        if (d->family == AF_INET) {
                uint8_t (*more)[6];

                if (mac_known(d, mac))
                        return MNL_CB_OK;
                if (d->n_macs >= 65536 || !(more = reallocarray(d->macs, d->n_macs + 1, sizeof *d->macs))) {
                        d->error = -ENOMEM;
                        return MNL_CB_ERROR;
                }
                d->macs = more;
                memcpy(d->macs[d->n_macs++], mac, 6);
                return MNL_CB_OK;
        }
        if (!mac_known(d, mac) || !tb[NDA_DST] || mnl_attr_get_payload_len(tb[NDA_DST]) != 4 ||
            !inet_ntop(AF_INET, mnl_attr_get_payload(tb[NDA_DST]), ip, sizeof ip) || strv_contains(*d->destinations, ip))
                return MNL_CB_OK;
        if (strv_push(d->destinations, ip) < 0) {
                d->error = -ENOMEM;
                return MNL_CB_ERROR;
        }
        return MNL_CB_OK;
}

static int parse_neigh(const void *buf, size_t len, uint32_t seq, uint32_t portid, void *data) {
        struct neigh_dump *d = data;
        int r = mnl_cb_run(buf, len, seq, portid, neigh_entry, d);

        if (r == MNL_CB_ERROR)
                return d->error < 0 ? d->error : negative_errno();
        return r == MNL_CB_STOP ? 0 : 1;
}

static int neigh_dump(struct mnl_socket *nl, struct neigh_dump *d) {
        char buf[16384] __attribute__((aligned(4)));
        struct nlmsghdr *nlh = put_request(buf, RTM_GETNEIGH, NLM_F_DUMP);
        struct ndmsg *ndm = mnl_nlmsg_put_extra_header(nlh, sizeof *ndm);

        /* Every link's entries come, not only this one's. */
        ndm->ndm_family = (uint8_t) d->family;
        return netlink_dump(nl, nlh, buf, sizeof buf, parse_neigh, d);
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int netlink_fdb_destinations(const char *ifname, char ***ret) {
        _cleanup_(mnl_socket_closep) struct mnl_socket *nl = netlink_open_route();
        _cleanup_strv_free_ char **list = NULL;
        struct neigh_dump d = { .family = AF_INET, .destinations = &list };
        int r;

        if (!nl)
                return negative_errno();
        r = link_index(ifname, &d.index);
        if (r >= 0)
                r = neigh_dump(nl, &d);
        if (r >= 0) {
                d.family = AF_BRIDGE;
                r = neigh_dump(nl, &d);
        }
        free(d.macs);
        if (r < 0)
                return r;
        if (list)
                qsort(list, strv_length(list), sizeof *list, compare_strings);
        *ret = TAKE_PTR(list);
        return 0;
}

int netlink_neigh_watch_open(void) {
        struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
        int fd;

        if (!nl)
                return negative_errno();
        if (mnl_socket_bind(nl, 1u << (RTNLGRP_NEIGH - 1), MNL_SOCKET_AUTOPID) < 0) {
                int e = errno;

                mnl_socket_close(nl);
                return -e;
        }
        /* The fd outlives the library's wrapper: what the caller polls, drains and closes. */
        fd = fcntl(mnl_socket_get_fd(nl), F_DUPFD_CLOEXEC, 3);
        mnl_socket_close(nl);
        return fd < 0 ? negative_errno() : fd;
}
