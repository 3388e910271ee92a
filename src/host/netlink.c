/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <limits.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host.h"
#include "netlink.h"
#include "util.h"

/* Bound on what one dump may send us, skipped messages included. */
#define NETLINK_DUMP_BYTES_MAX (64u * 1024 * 1024)

void net_host_table_done(struct net_host_table *t) {
        free(t->entries);
        *t = (struct net_host_table) {};
}

static size_t family_bytes(int family) {
        return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

static void prefix_clear_host_bits(struct net_prefix *p) {
        size_t n = family_bytes(p->family);

        for (size_t i = 0; i < n; i++) {
                unsigned bit0 = (unsigned) i * 8;

                if (p->len <= bit0)
                        p->addr[i] = 0;
                else if (p->len < bit0 + 8)
                        p->addr[i] &= (uint8_t) (0xffu << (8 - (p->len - bit0)));
        }
}

int net_prefix_parse(const char *s, struct net_prefix *ret) {
        char addr[INET6_ADDRSTRLEN];
        const char *slash = strchr(s, '/');
        struct net_prefix p = {};
        uint32_t len;
        size_t n;

        if (!slash || (size_t) (slash - s) >= sizeof addr)
                return -EINVAL;
        memcpy(addr, s, (size_t) (slash - s));
        addr[slash - s] = '\0';
        if (parse_u32(slash + 1, &len) < 0)
                return -EINVAL;
        if (inet_pton(AF_INET, addr, p.addr) == 1)
                p.family = AF_INET;
        else if (inet_pton(AF_INET6, addr, p.addr) == 1)
                p.family = AF_INET6;
        else
                return -EINVAL;
        n = family_bytes(p.family);
        if (len > n * 8)
                return -EINVAL;
        p.len = len;
        {
                struct net_prefix masked = p;

                prefix_clear_host_bits(&masked);
                if (memcmp(masked.addr, p.addr, n) != 0)
                        return -EINVAL;
        }
        *ret = p;
        return 0;
}

int net_cidr_ipv4_host(const char *cidr, uint32_t host, char buf[static 16]) {
        struct net_prefix p;
        uint32_t a;

        if (net_prefix_parse(cidr, &p) < 0 || p.family != AF_INET || p.len > 30 || host == 0 ||
            host >= (UINT32_C(1) << (32 - p.len)) - 1)
                return -EINVAL;
        a = (((uint32_t) p.addr[0] << 24) | ((uint32_t) p.addr[1] << 16) | ((uint32_t) p.addr[2] << 8) | p.addr[3]) + host;
        snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
        return 0;
}

const char *net_prefix_to_string(const struct net_prefix *p, char *buf, size_t size) {
        char a[INET6_ADDRSTRLEN];

        if (!inet_ntop(p->family, p->addr, a, sizeof a))
                snprintf(a, sizeof a, "?");
        snprintf(buf, size, "%s/%u", a, p->len);
        return buf;
}

bool net_cidr_ipv4_valid(const char *s) {
        struct net_prefix p;

        return strlen(s) < 48 && net_prefix_parse(s, &p) >= 0 && p.family == AF_INET;
}

bool net_prefix_overlaps(const struct net_prefix *a, const struct net_prefix *b) {
        struct net_prefix x, y;

        if (a->family != b->family)
                return false;
        /* Two prefixes overlap when they agree on the shorter one's bits. */
        x = *a;
        y = *b;
        x.len = y.len = a->len < b->len ? a->len : b->len;
        prefix_clear_host_bits(&x);
        prefix_clear_host_bits(&y);
        return memcmp(x.addr, y.addr, family_bytes(a->family)) == 0;
}

static int table_add(struct net_host_table *t, const struct net_host_entry *e) {
        if (t->n >= NET_HOST_ENTRIES_MAX)
                return -E2BIG;
        if (t->n == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 32;
                struct net_host_entry *n = realloc(t->entries, cap * sizeof *n);

                if (!n)
                        return -ENOMEM;
                t->entries = n;
                t->cap = cap;
        }
        t->entries[t->n++] = *e;
        if (e->prefix.family == AF_INET)
                t->n_v4++;
        else
                t->n_v6++;
        return 0;
}

struct parse_state {
        struct net_host_table *t;
        int error;
};

struct attrs {
        const struct nlattr *tb[64];
        unsigned max;
};

static int attr_collect(const struct nlattr *a, void *data) {
        struct attrs *at = data;
        uint16_t type = mnl_attr_get_type(a);

        /* Unknown attributes are newer kernels talking: ignored, not an error. */
        if (type <= at->max && type < ELEMENTSOF(at->tb))
                at->tb[type] = a;
        return MNL_CB_OK;
}

static int copy_addr_attr(const struct nlattr *a, int family, uint8_t *dst) {
        size_t n = family_bytes(family);

        if (mnl_attr_get_payload_len(a) != n)
                return -EBADMSG;
        memcpy(dst, mnl_attr_get_payload(a), n);
        return 0;
}

static int parse_addr(const struct nlmsghdr *nlh, struct net_host_table *t) {
        const struct ifaddrmsg *ifa;
        struct attrs at = { .max = IFA_MAX };
        const struct nlattr *addr;
        struct net_host_entry e = { .kind = NET_ENTRY_ADDRESS };
        int r;

        if (mnl_nlmsg_get_payload_len(nlh) < sizeof *ifa)
                return -EBADMSG;
        ifa = mnl_nlmsg_get_payload(nlh);
        if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
                return 0;
        if (ifa->ifa_prefixlen > family_bytes(ifa->ifa_family) * 8)
                return -EBADMSG;
        if (mnl_attr_parse(nlh, sizeof *ifa, attr_collect, &at) < 0)
                return -EBADMSG;
        /* On point-to-point links IFA_ADDRESS is the peer; IFA_LOCAL is ours. */
        addr = at.tb[IFA_LOCAL] ? at.tb[IFA_LOCAL] : at.tb[IFA_ADDRESS];
        if (!addr)
                return 0;
        e.prefix.family = ifa->ifa_family;
        e.prefix.len = ifa->ifa_prefixlen;
        r = copy_addr_attr(addr, ifa->ifa_family, e.local);
        if (r < 0)
                return r;
        memcpy(e.prefix.addr, e.local, sizeof e.local);
        prefix_clear_host_bits(&e.prefix);
        e.ifindex = ifa->ifa_index;
        if (at.tb[IFA_LABEL]) {
                const char *label = mnl_attr_get_payload(at.tb[IFA_LABEL]);
                size_t n = strnlen(label, mnl_attr_get_payload_len(at.tb[IFA_LABEL]));

                if (n >= sizeof e.ifname)
                        n = sizeof e.ifname - 1;
                memcpy(e.ifname, label, n);
        }
        return table_add(t, &e);
}

static int parse_route(const struct nlmsghdr *nlh, struct net_host_table *t) {
        const struct rtmsg *rtm;
        struct attrs at = { .max = RTA_MAX };
        struct net_host_entry e = { .kind = NET_ENTRY_ROUTE };
        uint32_t table;
        int r;

        if (mnl_nlmsg_get_payload_len(nlh) < sizeof *rtm)
                return -EBADMSG;
        rtm = mnl_nlmsg_get_payload(nlh);
        if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)
                return 0;
        if (rtm->rtm_dst_len > family_bytes(rtm->rtm_family) * 8)
                return -EBADMSG;
        if (mnl_attr_parse(nlh, sizeof *rtm, attr_collect, &at) < 0)
                return -EBADMSG;
        table = rtm->rtm_table;
        if (at.tb[RTA_TABLE]) {
                if (mnl_attr_validate(at.tb[RTA_TABLE], MNL_TYPE_U32) < 0)
                        return -EBADMSG;
                table = mnl_attr_get_u32(at.tb[RTA_TABLE]);
        }
        /* The local table repeats the addresses; broadcast and multicast routes say nothing about
         * which networks are in use. */
        if (table != RT_TABLE_MAIN)
                return 0;
        if (rtm->rtm_type != RTN_UNICAST && rtm->rtm_type != RTN_BLACKHOLE && rtm->rtm_type != RTN_UNREACHABLE &&
            rtm->rtm_type != RTN_PROHIBIT)
                return 0;
        e.prefix.family = rtm->rtm_family;
        e.prefix.len = rtm->rtm_dst_len;
        if (at.tb[RTA_DST]) {
                r = copy_addr_attr(at.tb[RTA_DST], rtm->rtm_family, e.prefix.addr);
                if (r < 0)
                        return r;
        } else if (rtm->rtm_dst_len != 0)
                return -EBADMSG;
        prefix_clear_host_bits(&e.prefix);
        if (at.tb[RTA_OIF]) {
                if (mnl_attr_validate(at.tb[RTA_OIF], MNL_TYPE_U32) < 0)
                        return -EBADMSG;
                e.ifindex = mnl_attr_get_u32(at.tb[RTA_OIF]);
        }
        return table_add(t, &e);
}

static int dump_cb(const struct nlmsghdr *nlh, void *data) {
        struct parse_state *s = data;
        int r = 0;

        if (nlh->nlmsg_type == RTM_NEWADDR)
                r = parse_addr(nlh, s->t);
        else if (nlh->nlmsg_type == RTM_NEWROUTE)
                r = parse_route(nlh, s->t);
        if (r < 0) {
                s->error = r;
                return MNL_CB_ERROR;
        }
        return MNL_CB_OK;
}

int netlink_parse_dump(const void *buf, size_t len, uint32_t seq, uint32_t portid, struct net_host_table *t) {
        struct parse_state s = { .t = t };
        size_t pos = 0;
        int r;

        if (len == 0 || len > INT_MAX)
                return -EBADMSG;
        /* Every message must fit, padding included, checked here with unsigned lengths: mnl_nlmsg_ok casts
         * nlmsg_len to int, so a length >= 2^31 passes it and mnl_cb_run walks off the buffer. mnl_cb_run would
         * also stop quietly at a truncated message; we want to know. */
        while (pos < len) {
                struct nlmsghdr h;

                if (len - pos < sizeof h)
                        return -EBADMSG;
                memcpy(&h, (const uint8_t *) buf + pos, sizeof h);
                /* Aligned: libmnl parses attributes up to the aligned end, past an unpadded last message. */
                if (h.nlmsg_len < sizeof h || h.nlmsg_len > len - pos || MNL_ALIGN(h.nlmsg_len) > len - pos)
                        return -EBADMSG;
                pos += MNL_ALIGN(h.nlmsg_len);
        }

        errno = 0;
        r = mnl_cb_run(buf, len, seq, portid, dump_cb, &s);
        if (r == MNL_CB_ERROR)
                return s.error < 0 ? s.error : errno > 0 ? -errno : -EIO;
        return r == MNL_CB_STOP ? 0 : 1;
}

void mnl_socket_closep(struct mnl_socket **nl) {
        if (*nl)
                mnl_socket_close(*nl);
}

struct mnl_socket *netlink_open_route(void) {
        struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);

        if (nl && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                int e = errno;

                mnl_socket_close(nl);
                errno = e;
                return NULL;
        }
        return nl;
}

int netlink_dump(struct mnl_socket *nl, struct nlmsghdr *request, void *buf, size_t size,
                 int (*parse)(const void *buf, size_t len, uint32_t seq, uint32_t portid, void *data), void *data) {
        uint32_t portid = mnl_socket_get_portid(nl), seq = request->nlmsg_seq;
        size_t total = 0;

        if (mnl_socket_sendto(nl, request, request->nlmsg_len) < 0)
                return negative_errno();
        for (;;) {
                ssize_t n = mnl_socket_recvfrom(nl, buf, size);
                int r;

                if (n < 0)
                        return negative_errno();
                total += (size_t) n;
                if (n == 0 || total > NETLINK_DUMP_BYTES_MAX)
                        return -EBADMSG;
                r = parse(buf, (size_t) n, seq, portid, data);
                if (r <= 0)
                        return r;
        }
}

static int parse_host_table(const void *buf, size_t len, uint32_t seq, uint32_t portid, void *data) {
        return netlink_parse_dump(buf, len, seq, portid, data);
}

static int dump_one(struct mnl_socket *nl, uint16_t type, uint32_t seq, struct net_host_table *t) {
        char buf[32768] __attribute__((aligned(4)));
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        nlh->nlmsg_seq = seq;
        if (type == RTM_GETADDR) {
                struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);

                ifa->ifa_family = AF_UNSPEC;
        } else {
                struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);

                rtm->rtm_family = AF_UNSPEC;
        }
        return netlink_dump(nl, nlh, buf, sizeof buf, parse_host_table, t);
}

int netlink_load_host(struct net_host_table *t) {
        _cleanup_(mnl_socket_closep) struct mnl_socket *nl = NULL;
        uint32_t seq = (uint32_t) time(NULL);
        int r;

        nl = netlink_open_route();
        if (!nl)
                return negative_errno();
        r = dump_one(nl, RTM_GETADDR, seq, t);
        if (r < 0)
                return r;
        return dump_one(nl, RTM_GETROUTE, seq + 1, t);
}

int netlink_request_ack(struct mnl_socket *nl, struct nlmsghdr *nlh) {
        char buf[8192] __attribute__((aligned(4)));
        uint32_t portid = mnl_socket_get_portid(nl);
        ssize_t n;
        int r;

        nlh->nlmsg_flags |= NLM_F_ACK;
        if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
                return negative_errno();
        n = mnl_socket_recvfrom(nl, buf, sizeof buf);
        if (n < 0)
                return negative_errno();
        r = mnl_cb_run(buf, (size_t) n, nlh->nlmsg_seq, portid, NULL, NULL);
        return r < 0 ? negative_errno() : 0;
}

int netlink_add_unrouted_address(const char *ipv4) {
        _cleanup_(mnl_socket_closep) struct mnl_socket *nl = NULL;
        char buf[8192] __attribute__((aligned(4)));
        uint32_t seq = (uint32_t) time(NULL);
        struct nlmsghdr *nlh;
        struct ifaddrmsg *ifa;
        struct rtmsg *rtm;
        struct in_addr a;
        int r;

        if (inet_pton(AF_INET, ipv4, &a) != 1)
                return -EINVAL;
        nl = netlink_open_route();
        if (!nl)
                return negative_errno();

        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_NEWADDR;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE;
        nlh->nlmsg_seq = seq;
        ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
        *ifa = (struct ifaddrmsg) { .ifa_family = AF_INET, .ifa_prefixlen = 32, .ifa_scope = RT_SCOPE_HOST,
                                    .ifa_index = if_nametoindex("lo") };
        mnl_attr_put(nlh, IFA_LOCAL, sizeof a, &a);
        mnl_attr_put(nlh, IFA_ADDRESS, sizeof a, &a);
        r = netlink_request_ack(nl, nlh);
        if (r < 0)
                return r;

        /* The kernel made it local (table local); without that route packets to it leave the namespace. */
        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_DELROUTE;
        nlh->nlmsg_flags = NLM_F_REQUEST;
        nlh->nlmsg_seq = seq + 1;
        rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
        *rtm = (struct rtmsg) { .rtm_family = AF_INET, .rtm_dst_len = 32, .rtm_table = RT_TABLE_LOCAL,
                                .rtm_type = RTN_LOCAL, .rtm_scope = RT_SCOPE_HOST, .rtm_protocol = RTPROT_KERNEL };
        mnl_attr_put(nlh, RTA_DST, sizeof a, &a);
        r = netlink_request_ack(nl, nlh);
        return r == -ESRCH ? 0 : r;
}

static int hex_u32(const char *s, uint32_t *ret) {
        char *end;
        unsigned long v;

        if (strlen(s) != 8 || s[strspn(s, "0123456789abcdefABCDEF")] != '\0')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 16);
        if (errno != 0 || *end != '\0' || v > UINT32_MAX)
                return -EINVAL;
        *ret = (uint32_t) v;
        return 0;
}

static int hex_bytes(const char *s, uint8_t *dst, size_t n) {
        if (strlen(s) != n * 2 || s[strspn(s, "0123456789abcdefABCDEF")] != '\0')
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                char pair[3] = { s[2 * i], s[2 * i + 1], '\0' };

                dst[i] = (uint8_t) strtoul(pair, NULL, 16);
        }
        return 0;
}

static int route_line_v4(char **f, size_t nf, struct net_host_entry *e) {
        uint32_t dst, mask;
        unsigned len = 0;

        /* Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT; words are in host
         * byte order as the kernel printed them (%08X of a __be32 on little endian). */
        if (nf < 8 || hex_u32(f[1], &dst) < 0 || hex_u32(f[7], &mask) < 0)
                return -EBADMSG;
        /* The kernel prints the raw bytes of the __be32 as a native word: read it back the same way. */
        memcpy(e->prefix.addr, &dst, 4);
        {
                uint8_t m[4];
                bool ended = false;

                memcpy(m, &mask, 4);
                for (size_t i = 0; i < 4; i++)
                        for (int b = 7; b >= 0; b--) {
                                bool set = m[i] & (1u << b);

                                if (set && ended)
                                        return -EBADMSG;
                                if (set)
                                        len++;
                                else
                                        ended = true;
                        }
        }
        e->prefix.family = AF_INET;
        e->prefix.len = len;
        prefix_clear_host_bits(&e->prefix);
        return 0;
}

static int route_line_v6(char **f, size_t nf, struct net_host_entry *e) {
        uint32_t len;
        char *end;

        /* dst dst_len src src_len next_hop metric refcnt use flags dev */
        if (nf < 10 || hex_bytes(f[0], e->prefix.addr, 16) < 0 || strlen(f[1]) != 2)
                return -EBADMSG;
        errno = 0;
        len = (uint32_t) strtoul(f[1], &end, 16);
        if (errno != 0 || *end != '\0' || len > 128)
                return -EBADMSG;
        e->prefix.family = AF_INET6;
        e->prefix.len = len;
        prefix_clear_host_bits(&e->prefix);
        return 0;
}

int net_route_parse_proc(const char *text, bool ipv6, struct net_host_table *t) {
        _cleanup_free_ char *copy = strdup(text);
        char *cursor = copy, *line;
        unsigned lineno = 0;
        int err = 0;

        if (!copy)
                return -ENOMEM;
        while ((line = line_next(&cursor, HOST_LINE_MAX, &err))) {
                _cleanup_strv_free_ char **f = NULL;
                struct net_host_entry e = { .kind = NET_ENTRY_ROUTE };
                const char *dev;
                size_t nf;
                int r;

                lineno++;
                if (!ipv6 && lineno == 1)
                        continue;       /* the header */
                if (strv_split(line, " \t", &f) < 0)
                        return -ENOMEM;
                nf = strv_length(f);
                if (nf == 0)
                        continue;
                r = ipv6 ? route_line_v6(f, nf, &e) : route_line_v4(f, nf, &e);
                if (r < 0)
                        return r;
                dev = ipv6 ? f[9] : f[0];
                if (strlen(dev) >= sizeof e.ifname)
                        return -EBADMSG;
                strcpy(e.ifname, dev);
                r = table_add(t, &e);
                if (r < 0)
                        return r;
        }
        return err;
}

static bool entry_ignored(const struct net_host_entry *e) {
        static const uint8_t v6_loopback[16] = { [15] = 1 };

        if (e->prefix.len == 0)
                return true;    /* a default route covers everything and collides with nothing */
        if (e->prefix.family == AF_INET)
                return e->prefix.addr[0] == 127;
        return memcmp(e->prefix.addr, v6_loopback, 16) == 0 && e->prefix.len == 128;
}

const struct net_host_entry *net_host_table_collision(const struct net_host_table *t, const struct net_prefix *p) {
        for (size_t i = 0; i < t->n; i++)
                if (!entry_ignored(&t->entries[i]) && net_prefix_overlaps(&t->entries[i].prefix, p))
                        return &t->entries[i];
        return NULL;
}

static bool candidate_free(const struct net_host_table *t, const struct net_prefix *p, const struct net_prefix *avoid,
                           size_t n_avoid) {
        if (net_host_table_collision(t, p))
                return false;
        for (size_t i = 0; i < n_avoid; i++)
                if (net_prefix_overlaps(&avoid[i], p))
                        return false;
        return true;
}

int net_cidr_pick_free(const struct net_host_table *t, unsigned len, const struct net_prefix *avoid, size_t n_avoid,
                       struct net_prefix *ret) {
        static const struct {
                uint32_t base, start;
                unsigned len;
        } blocks[] = {
                { 0x0a000000u, 0x0a2c0000u, 8 },        /* 10/8 from 10.44/16: past k3s's own 10.41-10.43 */
                { 0xac100000u, 0xac100000u, 12 },       /* 172.16/12 */
                { 0xc0a80000u, 0xc0a80000u, 16 },       /* 192.168/16 */
        };

        if (len < 8 || len > 30)
                return -EINVAL;
        for (size_t b = 0; b < ELEMENTSOF(blocks); b++) {
                uint64_t size = 1ull << (32 - len), span = 1ull << (32 - blocks[b].len);
                uint64_t count, first;

                if (len < blocks[b].len)
                        continue;
                count = span / size;
                first = ((uint64_t) blocks[b].start - blocks[b].base) / size;
                /* Bounded: at most 65536 candidates per block. */
                for (uint64_t i = 0; i < count && i < 65536; i++) {
                        uint32_t a = blocks[b].base + (uint32_t) (((first + i) % count) * size);
                        struct net_prefix p = { .family = AF_INET, .len = len };

                        p.addr[0] = (uint8_t) (a >> 24);
                        p.addr[1] = (uint8_t) (a >> 16);
                        p.addr[2] = (uint8_t) (a >> 8);
                        p.addr[3] = (uint8_t) a;
                        if (candidate_free(t, &p, avoid, n_avoid)) {
                                *ret = p;
                                return 0;
                        }
                }
        }
        return -ENOSPC;
}
