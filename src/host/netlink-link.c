/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The links, addresses and routes a node sets in its own network namespace (the bridge to its workers, their veth
 * pairs, a worker's address and routes), over rtnetlink as `ip link/addr/route add` would. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
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
