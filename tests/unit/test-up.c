/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `up`'s settings: config.yaml applied to the options, the node's networks clear of host routes,
 * the node's resolv.conf for a loopback stub resolver, rootlesskit's sub-ID source. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conffile.h"
#include "driver.h"
#include "host.h"
#include "netlink.h"
#include "node.h"
#include "rm-rf.h"
#include "rootlesskit.h"
#include "suites.h"
#include "up.h"
#include "util.h"

static int parse_into(const char *name, const char *text, struct config *c, struct un_error *err) {
        return config_parse(name, text, strlen(text), up_config_keys_ptr, up_config_n_keys, c, err);
}

START_TEST(test_config_apply) {
        struct config c = {};
        struct un_error err = {};
        struct up_options o = { .net = "auto", .wait_sec = UP_WAIT_DEFAULT_SEC };
        bool engine_set;

        /* The system's file, then the user's: the later one wins key by key. */
        ck_assert_int_eq(parse_into("/etc/usernode/config.yaml",
                                    "engine: k3s\nnet: slirp4netns\nwait: 90\npublish: [\"8080:80\"]\n"
                                    "ignore: [kmod.vxlan]\n", &c, &err), 0);
        ck_assert_int_eq(parse_into("user.yaml",
                                    "engine: kubelet\ncidr: 10.50.0.0/16\nport-driver: slirp4netns\n"
                                    "nodes:\n  ci:\n    net: lxc-user-nic\n    wait: false\n    publish:\n"
                                    "      - 127.0.0.1:6443:6443/tcp\n      - 9000:90/udp\n    ephemeral: true\n"
                                    "    server: https://10.0.0.1:6443\n    token: K10abc::server:x\n",
                                    &c, &err), 0);
        ck_assert_int_eq(up_config_apply(&c, "default", &o, &engine_set, &err), 0);
        ck_assert(engine_set);
        ck_assert_int_eq(o.engine, ENGINE_KUBELET);
        ck_assert_str_eq(o.net, "slirp4netns");
        ck_assert(o.wait);
        ck_assert_uint_eq(o.wait_sec, 90);
        ck_assert_int_eq(o.port_driver, PORT_DRIVER_SLIRP4NETNS);
        ck_assert_str_eq(o.cidr, "10.50.0.0/16");
        ck_assert_ptr_null(o.cluster_cidr);
        ck_assert_uint_eq(o.n_publish, 1);
        ck_assert_uint_eq(o.publish[0].host_port, 8080);
        ck_assert_str_eq(o.ignore[0], "kmod.vxlan");
        ck_assert_ptr_null(o.server);
        ck_assert(!o.ephemeral);

        /* The node's section over the top level. */
        o = (struct up_options) { .net = "auto", .wait_sec = UP_WAIT_DEFAULT_SEC };
        ck_assert_int_eq(up_config_apply(&c, "ci", &o, &engine_set, &err), 0);
        ck_assert_str_eq(o.net, "lxc-user-nic");
        ck_assert(!o.wait);
        ck_assert(o.ephemeral);
        ck_assert_uint_eq(o.n_publish, 2);
        ck_assert_str_eq(o.publish[1].proto, "udp");
        ck_assert_uint_eq(o.publish[1].node_port, 90);
        ck_assert_str_eq(o.server, "https://10.0.0.1:6443");
        ck_assert_str_eq(o.token, "K10abc::server:x");
        config_done(&c);

        /* Nothing configured: nothing changes. */
        o = (struct up_options) { .net = "auto", .wait_sec = 7 };
        ck_assert_int_eq(up_config_apply(&c, "default", &o, &engine_set, &err), 0);
        ck_assert(!engine_set);
        ck_assert_str_eq(o.net, "auto");
        ck_assert_uint_eq(o.wait_sec, 7);
}
END_TEST

static void expect_bad(const char *text, const char *where, const char *what) {
        struct config c = {};
        struct un_error err = {};
        struct up_options o = { .net = "auto" };
        bool engine_set;
        int r = parse_into("cfg.yaml", text, &c, &err);

        if (r >= 0)
                r = up_config_apply(&c, "n1", &o, &engine_set, &err);
        ck_assert_int_eq(r, -EINVAL);
        ck_assert_msg(strstr(err.msg, where) && strstr(err.msg, what), "'%s' lacks '%s' / '%s'", err.msg, where, what);
        config_done(&c);
}

START_TEST(test_config_bad_values) {
        expect_bad("engine: docker\n", "cfg.yaml:1:9", "k3s or kubelet");
        expect_bad("net: vpnkit\n", "cfg.yaml:1:6", "auto, slirp4netns");
        expect_bad("port-driver: socat\n", "cfg.yaml:1:14", "builtin, slirp4netns or implicit");
        expect_bad("wait: 0\n", "cfg.yaml:1:7", "seconds");
        expect_bad("wait: soon\n", "cfg.yaml:1:7", "seconds");
        expect_bad("wait: 99999999999999999999\n", "cfg.yaml:1:7", "seconds");
        expect_bad("cidr: 10.42.0.1/16\n", "cfg.yaml:1:7", "host bits");
        expect_bad("cluster-cidr: fd00::/64\n", "cfg.yaml:1:15", "IPv4");
        expect_bad("service-cidr: garbage\n", "cfg.yaml:1:15", "IPv4");
        expect_bad("server: http://10.0.0.1:6443\ntoken: t\n", "cfg.yaml:1:9", "https://");
        expect_bad("server: 10.0.0.1\ntoken: t\n", "cfg.yaml:1:9", "HOST:PORT");
        expect_bad("token: \"a b\"\nserver: https://h:6443\n", "cfg.yaml:1:8", "bootstrap token");
        expect_bad("token: a\ntoken-file: /t\n", "cfg.yaml", "exclude each other");
        expect_bad("discovery-token-ca-cert-hash: sha256:abc\n", "cfg.yaml:1:31", "64 hex");
        expect_bad("node-ip: 127.0.0.1\n", "cfg.yaml:1:10", "IPv4 address");
        expect_bad("pod-pids-limit: 3\n", "cfg.yaml:1:17", "16-4194304");
        expect_bad("token-file: relative\n", "cfg.yaml:1:13", "absolute path");
        expect_bad("publish: [\"80\"]\n", "cfg.yaml:1:10", "HOSTPORT:NODEPORT");
        expect_bad("publish: \"1.2.3.4.5:80:80\"\n", "cfg.yaml:1:10", "publish");
        expect_bad("ignore: [\"Bad ID\"]\n", "cfg.yaml:1:9", "check ID");
        expect_bad("nodes:\n  n1:\n    engine: podman\n", "cfg.yaml:3:13", "k3s or kubelet");
        expect_bad("nodes:\n  n1:\n    colour: blue\n", "cfg.yaml:3:5", "unknown key 'colour'");
        expect_bad("foreground: maybe\n", "cfg.yaml:1:13", "true or false");
        expect_bad("engine: \"k3s\\0x\"\n", "cfg.yaml:1:9", "NUL");
}
END_TEST

static void route_table(struct net_host_table *t, const char *lines) {
        _cleanup_free_ char *text =
                xstrdup_printf("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n%s",
                               lines);

        ck_assert_ptr_nonnull(text);
        ck_assert_int_eq(net_route_parse_proc(text, false, t), 0);
}

START_TEST(test_cidrs) {
        struct net_host_table t = {};
        struct up_options o = {};
        struct up_cidrs c;
        struct un_error err = {};

        /* A host with nothing in 10/8: usernode's defaults. */
        route_table(&t, "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n");
        ck_assert_int_eq(up_pick_cidrs_from(&t, &o, &c, &err), 0);
        ck_assert_str_eq(c.slirp, USERNODE_SLIRP_CIDR);
        ck_assert_str_eq(c.cluster, USERNODE_POD_CIDR);
        ck_assert_str_eq(c.service, USERNODE_SERVICE_CIDR);
        net_host_table_done(&t);

        /* A VPN route over 10.40.0.0/14 (10.40-10.43) and a bridge on 10.44.0.0/24: all three move. */
        route_table(&t, "vpn0\t0000280A\t00000000\t0001\t0\t0\t0\t0000FCFF\t0\t0\t0\n"
                        "br0\t00002C0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n");
        ck_assert_int_eq(up_pick_cidrs_from(&t, &o, &c, &err), 0);
        ck_assert_str_eq(c.slirp, "10.45.0.0/16");
        ck_assert_str_eq(c.cluster, "10.46.0.0/16");
        ck_assert_str_eq(c.service, "10.47.0.0/16");

        /* Given ones are taken as they are, and the picked ones step aside for them. */
        o.cluster_cidr = "10.45.0.0/16";
        ck_assert_int_eq(up_pick_cidrs_from(&t, &o, &c, &err), 0);
        ck_assert_str_eq(c.cluster, "10.45.0.0/16");
        ck_assert_str_eq(c.slirp, "10.46.0.0/16");
        ck_assert_str_eq(c.service, "10.47.0.0/16");

        /* Overlapping given ones, host bits, IPv6 and garbage are refused. */
        o.service_cidr = "10.45.128.0/17";
        ck_assert_int_eq(up_pick_cidrs_from(&t, &o, &c, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.msg, "overlaps"));
        o.service_cidr = NULL;
        o.cidr = "10.45.0.1/16";
        ck_assert_int_eq(up_pick_cidrs_from(&t, &o, &c, &err), -EINVAL);
        o.cidr = "fd00::/64";
        ck_assert_int_eq(up_pick_cidrs_from(&t, &o, &c, &err), -EINVAL);
        o.cidr = "10.45.0.0/16/16";
        ck_assert_int_eq(up_pick_cidrs_from(&t, &o, &c, &err), -EINVAL);
        net_host_table_done(&t);

        /* No table (netlink refused): the defaults, still apart from each other. */
        o = (struct up_options) { .cidr = "10.42.0.0/16" };
        ck_assert_int_eq(up_pick_cidrs_from(NULL, &o, &c, &err), 0);
        ck_assert_str_eq(c.slirp, "10.42.0.0/16");
        ck_assert_str_ne(c.cluster, "10.42.0.0/16");
        ck_assert_str_eq(c.service, USERNODE_SERVICE_CIDR);
}
END_TEST

static char root[64];

static void make_root(void) {
        strcpy(root, "/tmp/usernode-test-up.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(root));
}

static void put(const char *path, const char *text, size_t len) {
        _cleanup_free_ char *full = xstrdup_printf("%s%s", root, path);
        _cleanup_free_ char *dir = strdup(full);
        _cleanup_close_ int fd = -EBADF;

        for (char *s = strchr(dir + strlen(root) + 1, '/'); s; s = strchr(s + 1, '/')) {
                *s = '\0';
                (void) mkdir(dir, 0755);
                *s = '/';
        }
        fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, text, len), (ssize_t) len);
}

static int resolv(char **ret) {
        struct host h = { .root_fd = -EBADF };
        int r;

        ck_assert_int_eq(host_init(&h, root, NULL), 0);
        r = up_node_resolv_conf(&h, ret);
        host_done(&h);
        return r;
}

START_TEST(test_resolv_conf) {
        _cleanup_free_ char *big = NULL;
        char *text = NULL;

        make_root();
        /* A host resolver the node can reach: nothing to do. */
        put("/etc/resolv.conf", "nameserver 127.0.0.53\nnameserver 192.0.2.53\n", 43);
        ck_assert_int_eq(resolv(&text), 0);
        ck_assert_ptr_null(text);

        /* systemd-resolved's stub: its upstreams, the host's search line kept. */
        put("/etc/resolv.conf", "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch corp.example\n", 66);
        ck_assert_int_eq(resolv(&text), -ENOENT);
        put("/run/systemd/resolve/resolv.conf",
            "# resolved\nnameserver 10.1.2.3\nnameserver ::1\nnameserver fe80::1\nnameserver 2001:db8::53\n"
            "search corp.example\n", 103);
        ck_assert_int_eq(resolv(&text), 0);
        ck_assert_ptr_nonnull(text);
        ck_assert_ptr_nonnull(strstr(text, "\nnameserver 10.1.2.3\nnameserver 2001:db8::53\n"));
        ck_assert_ptr_null(strstr(text, "::1\n"));
        ck_assert_ptr_null(strstr(text, "fe80"));
        ck_assert_ptr_nonnull(strstr(text, "options edns0 trust-ad\n"));
        ck_assert_ptr_nonnull(strstr(text, "search corp.example\n"));
        free(text);
        text = NULL;

        /* Upstreams that are loopback too, garbage, NUL bytes: nothing reachable. */
        put("/run/systemd/resolve/resolv.conf", "nameserver 127.0.0.1\nnameserver not-an-ip\n\0nameserver 1.1.1.1\n",
            63);
        ck_assert_int_eq(resolv(&text), -ENOENT);
        ck_assert_ptr_null(text);

        /* A huge file is refused, not read without bound. */
        big = malloc(HOST_FILE_MAX + 2);
        ck_assert_ptr_nonnull(big);
        memset(big, '#', HOST_FILE_MAX + 1);
        big[HOST_FILE_MAX + 1] = '\0';
        put("/run/systemd/resolve/resolv.conf", big, HOST_FILE_MAX + 1);
        ck_assert_int_lt(resolv(&text), 0);
        ck_assert_ptr_null(text);

        /* No /etc/resolv.conf at all (a minimal container): the upstreams if any. */
        put("/run/systemd/resolve/resolv.conf", "nameserver 10.9.9.9\n", 20);
        _cleanup_free_ char *etc = xstrdup_printf("%s/etc/resolv.conf", root);
        ck_assert_int_eq(unlink(etc), 0);
        ck_assert_int_eq(resolv(&text), 0);
        ck_assert_ptr_nonnull(strstr(text, "nameserver 10.9.9.9\n"));
        free(text);
        ck_assert_int_eq(rm_rf(root), 0);
}
END_TEST

START_TEST(test_subid_source) {
        struct host h = { .root_fd = -EBADF };

        make_root();
        ck_assert_int_eq(host_init(&h, root, NULL), 0);
        /* No nsswitch.conf, or one without subid: the files are the truth. */
        ck_assert(rootlesskit_subids_static(&h));
        put("/etc/nsswitch.conf", "passwd: files systemd\ngroup: files\n", 35);
        ck_assert(rootlesskit_subids_static(&h));
        put("/etc/nsswitch.conf", "passwd: files\n  subid:   sss\n", 29);
        ck_assert(!rootlesskit_subids_static(&h));
        host_done(&h);
        ck_assert_int_eq(rm_rf(root), 0);
}
END_TEST

START_TEST(test_rootlesskit_argv) {
        const struct net_driver *d = net_driver_find("slirp4netns");
        struct rootlesskit_config c = {
                .net = d, .mtu = 65520, .state_dir = "/run/user/1000/usernode/n1/rootlesskit", .cidr = "10.41.0.0/16",
                .subid_static = true,
        };
        _cleanup_strv_free_ char **argv = NULL;
        struct un_error err = {};

        ck_assert_ptr_nonnull(d);
        ck_assert_ptr_null(net_driver_find("vpnkit"));
        ck_assert_int_eq(net_driver_pick("vpnkit", PORT_DRIVER_DEFAULT, &d, &err), -EINVAL);
        ck_assert_int_eq(rootlesskit_argv(&c, &argv), 0);
        ck_assert_str_eq(argv[1], "--net=slirp4netns");
        ck_assert(strv_contains(argv, "--mtu=65520"));
        ck_assert(strv_contains(argv, "--cidr=10.41.0.0/16"));
        ck_assert(strv_contains(argv, "--subid-source=static"));
        ck_assert(strv_contains(argv, "--disable-host-loopback"));
        ck_assert_uint_eq(net_driver_find("pasta")->mtu(), 65520);
        strv_free(argv);
        argv = NULL;
        c.net = net_driver_find("pasta");
        c.port_driver = PORT_DRIVER_IMPLICIT;
        ck_assert_int_eq(rootlesskit_argv(&c, &argv), 0);
        ck_assert_str_eq(argv[1], "--net=pasta");
        ck_assert(strv_contains(argv, "--port-driver=implicit"));
}
END_TEST

Suite *up_suite(void) {
        Suite *s = suite_create("up");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_config_apply);
        tcase_add_test(tc, test_config_bad_values);
        tcase_add_test(tc, test_cidrs);
        tcase_add_test(tc, test_resolv_conf);
        tcase_add_test(tc, test_subid_source);
        tcase_add_test(tc, test_rootlesskit_argv);
        suite_add_tcase(s, tc);
        return s;
}
