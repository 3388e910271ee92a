/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "init.h"
#include "node.h"
#include "nodeapi.h"
#include "rootlesskit.h"
#include "suites.h"
#include "up.h"
#include "util.h"

START_TEST(test_name_valid) {
        ck_assert(node_name_valid("default"));
        ck_assert(node_name_valid("ci-0123abcd"));
        ck_assert(node_name_valid("a.b_c-9"));
        ck_assert(!node_name_valid(""));
        ck_assert(!node_name_valid("-x"));
        ck_assert(!node_name_valid(".hidden"));
        ck_assert(!node_name_valid("Upper"));
        ck_assert(!node_name_valid("a/b"));
        ck_assert(!node_name_valid("../x"));
        ck_assert(!node_name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}
END_TEST

START_TEST(test_name_ephemeral) {
        char *a = NULL, *b = NULL;

        ck_assert_int_eq(node_name_ephemeral(&a), 0);
        ck_assert_int_eq(node_name_ephemeral(&b), 0);
        ck_assert_uint_eq(strlen(a), 11);
        ck_assert(startswith(a, "ci-"));
        ck_assert_uint_eq(strspn(a + 3, "0123456789abcdef"), 8);
        ck_assert(node_name_valid(a));
        ck_assert_str_ne(a, b);
        free(a);
        free(b);
}
END_TEST

START_TEST(test_status_roundtrip) {
        struct node_status s = {}, t = {};
        char *text = NULL;
        size_t len = 0;
        FILE *f;

        s.name = strdup("n1");
        s.engine = strdup("kubelet");
        s.state_dir = strdup("/run/user/1000/usernode/n1");
        s.last_error = strdup("quote \" backslash \\ newline \n tab \t");
        s.pids[NODE_PID_SUPERVISOR] = 42;
        s.pids[NODE_PID_CONTAINERD] = 4242;
        s.ephemeral = true;
        s.n_ports = 1;
        s.ports[0] = (struct node_port) { .proto = "udp", .host_ip = "127.0.0.1", .host_port = 5353, .node_port = 53, .id = 3 };
        ck_assert_int_eq(node_status_add_warning(&s, "no cluster DNS: `ctr` \"quoted\""), 0);
        ck_assert_int_eq(node_status_add_warning(&s, "no cluster DNS: `ctr` \"quoted\""), 0);
        ck_assert_int_eq(node_status_add_warning(&s, "kube-proxy not started"), 0);
        ck_assert_int_eq(node_status_set_daemon(&s, "kubelet", "running", 0, 1765000000, NULL), 0);
        ck_assert_int_eq(node_status_set_daemon(&s, "etcd", "restarting", 1, 1765000001, "exited with status 2"), 0);
        ck_assert_int_eq(node_status_set_daemon(&s, "kubelet", "failed", 5, 1765000002, "exited: E1207 boom"), 0);
        ck_assert_int_eq(node_status_set_daemon(&s, "kube-scheduler-with-a-far-too-long-name", "running", 0, 0, NULL),
                         -EINVAL);
        ck_assert_int_eq(node_status_add_stage(&s, "namespace", 120), 0);
        ck_assert_int_eq(node_status_add_stage(&s, "node-ready", 3400), 0);
        ck_assert_int_eq(node_status_add_stage(&s, "namespace", 999), 0);      /* the first time counts */
        ck_assert_int_eq(node_status_add_stage(&s, "Node Ready", 1), -EINVAL);
        ck_assert_int_eq(node_status_add_stage(&s, "", 1), -EINVAL);
        ck_assert_int_eq(node_status_add_stage(&s, "late", -1), -EINVAL);
        ck_assert_int_eq(node_status_set_state(&s, NODE_DEGRADED), 0);
        f = open_memstream(&text, &len);
        node_status_print_json(f, &s);
        fclose(f);
        ck_assert_int_eq(node_status_parse(text, &t), 0);
        ck_assert_str_eq(t.name, "n1");
        ck_assert_str_eq(t.engine, "kubelet");
        ck_assert_str_eq(t.last_error, s.last_error);
        ck_assert_int_eq(t.state, NODE_DEGRADED);
        ck_assert(node_state_alive(t.state));
        ck_assert_uint_eq(t.n_daemons, 2);
        ck_assert_str_eq(t.daemons[0].name, "kubelet");
        ck_assert_str_eq(t.daemons[0].state, "failed");
        ck_assert_uint_eq(t.daemons[0].restarts, 5);
        ck_assert_str_eq(t.daemons[0].since, "2025-12-06T05:46:42.000Z");
        ck_assert_str_eq(t.daemons[0].last_error, "exited: E1207 boom");
        ck_assert_str_eq(t.daemons[1].name, "etcd");
        ck_assert_uint_eq(t.daemons[1].restarts, 1);
        ck_assert_int_eq(t.pids[NODE_PID_SUPERVISOR], 42);
        ck_assert_int_eq(t.pids[NODE_PID_CONTAINERD], 4242);
        ck_assert(t.ephemeral);
        ck_assert_uint_eq(t.n_ports, 1);
        ck_assert_str_eq(t.ports[0].proto, "udp");
        ck_assert_uint_eq(t.ports[0].node_port, 53);
        ck_assert(t.kubeconfig == NULL);
        ck_assert_uint_eq(t.n_warnings, 2);
        ck_assert_str_eq(t.warnings[0], s.warnings[0]);
        ck_assert_str_eq(t.warnings[1], "kube-proxy not started");
        ck_assert_uint_eq(t.n_stages, 2);
        ck_assert_str_eq(t.stages[0].name, "namespace");
        ck_assert_int_eq(t.stages[0].ms, 120);
        ck_assert_str_eq(t.stages[1].name, "node-ready");
        ck_assert_int_eq(t.stages[1].ms, 3400);
        free(text);
        node_status_done(&s);
        node_status_done(&t);
}
END_TEST

START_TEST(test_status_apiserver) {
        struct node_status s = {}, t = {};
        char *text = NULL, url[64];
        size_t len = 0;
        FILE *f;

        s.name = strdup("n1");
        s.engine = strdup("kubelet");
        s.n_ports = 2;
        s.ports[0] = (struct node_port) { .proto = "tcp", .host_ip = "127.0.0.1", .host_port = 8080, .node_port = 80, .id = 1 };
        s.ports[1] = (struct node_port) { .proto = "tcp", .host_ip = "127.0.0.1", .host_port = 36443, .node_port = 6443, .id = 2 };
        /* A joined node (no kubeconfig of its own) that publishes 6443 for a pod has no API server. */
        ck_assert_int_eq(node_status_apiserver(&s, url, sizeof url), -ENOENT);
        s.kubeconfig = strdup("/home/alice/.kube/usernode-n1.yaml");
        ck_assert_int_eq(node_status_apiserver(&s, url, sizeof url), 0);
        ck_assert_str_eq(url, "https://127.0.0.1:36443");
        ck_assert_int_eq(node_status_apiserver(&s, url, 10), -ENOBUFS);
        f = open_memstream(&text, &len);
        node_status_print_json(f, &s);
        fclose(f);
        ck_assert_ptr_nonnull(strstr(text, "\"apiserver\": \"https://127.0.0.1:36443\""));
        ck_assert_int_eq(node_status_parse(text, &t), 0);
        ck_assert_int_eq(node_status_apiserver(&t, url, sizeof url), 0);
        ck_assert_str_eq(url, "https://127.0.0.1:36443");
        free(text);
        node_status_done(&s);
        node_status_done(&t);
}
END_TEST

START_TEST(test_status_hostile) {
        static const char *const bad[] = {
                "",
                "{",
                "[]",
                "{\"name\":\"x\"",
                "{\"name\":\"x\"} trailing",
                "{\"name\":1}",
                "{\"unknown\":\"x\",\"name\":\"x\"}",
                "{\"state\":\"flying\",\"name\":\"x\"}",
                "{\"schema\":\"other/v9\",\"name\":\"x\"}",
                "{\"name\":\"x\",\"pids\":{\"supervisor\":-1}}",
                "{\"name\":\"x\",\"pids\":{\"supervisor\":99999999999999999999999}}",
                "{\"name\":\"x\",\"pids\":{\"nobody\":1}}",
                "{\"name\":\"x\",\"ports\":[{\"host_port\":70000}]}",
                "{\"name\":\"x\",\"ports\":[{\"proto\":\"tcpudp\"}]}",
                "{\"name\":\"a\\u0000b\"}",
                "{\"name\":\"a\\q\"}",
                "{\"name\":\"tab\there\"}",
                "{\"name\":{\"name\":{\"name\":{\"name\":{\"name\":\"x\"}}}}}",
                "{\"last_error\":\"x\"}",
                "null",
                "{\"name\":\"x\",}",
                "{\"name\":\"x\",\"ephemeral\":1}",
                "{\"name\":\"x\",\"started_usec\":1.5}",
                "{\"name\":\"x\",\"started_usec\":-99999999999999999999}",
                "{\"name\":\"x\",\"started_usec\":99999999999999999999}",
                "{\"name\":\"x\",\"pids\":{\"supervisor\":042}}",
                "{\"name\":\"x\",\"ports\":[{\"id\":-2}]}",
                "{\"name\":\"x\",\"ports\":[[{}]]}",
                "{\"name\":\"x\",\"warnings\":\"one\"}",
                "{\"name\":\"x\",\"warnings\":[1]}",
                "{\"name\":\"x\",\"warnings\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]}",
                "{\"name\":\"x\",\"daemons\":[{\"name\":\"kubelet\",\"state\":\"sleeping\"}]}",
                "{\"name\":\"x\",\"daemons\":[{\"name\":\"kubelet\",\"state\":\"running\",\"restarts\":-1}]}",
                "{\"name\":\"x\",\"daemons\":[{\"state\":\"running\"}]}",
                "{\"name\":\"x\",\"daemons\":[{\"name\":\"k\",\"state\":\"running\",\"pid\":1}]}",
                "{\"name\":\"x\",\"state\":\"degraded!\"}",
                "{\"name\":\"x\",\"stages\":[{\"name\":\"node ready\",\"ms\":1}]}",
                "{\"name\":\"x\",\"stages\":[{\"name\":\"a\",\"ms\":-1}]}",
                "{\"name\":\"x\",\"stages\":[{\"name\":\"a\"}]}",
                "{\"name\":\"x\",\"stages\":[{\"name\":\"a\",\"ms\":1,\"at\":2}]}",
                "{\"name\":\"x\",\"stages\":[{\"name\":\"a\",\"ms\":\"1\"}]}",
                "{\"name\":\"x\",\"stages\":{}}",
                "{\"name\":\"\xc0\x80\"}",         /* overlong UTF-8, which json-c takes */
                "{\"name\":\"\xed\xa0\x80\"}",     /* a UTF-16 surrogate in UTF-8, which json-c takes */
        };
        struct node_status s;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(node_status_parse(bad[i], &s) < 0, "accepted: %s", bad[i]);

        /* Found by fuzzing: raw invalid UTF-8 is refused (the writer would not give it back: it prints \ufffd),
         * valid UTF-8 is kept byte for byte. */
        ck_assert_int_lt(node_status_parse("{\"name\":\"a\xf6" "b\"}", &s), 0);
        ck_assert_int_lt(node_status_parse("{\"name\":\"a\xc3\"}", &s), 0);
        node_status_init(&s);
        ck_assert_int_eq(node_status_parse("{\"name\":\"caf\xc3\xa9\"}", &s), 0);
        ck_assert_str_eq(s.name, "caf\xc3\xa9");
        node_status_done(&s);
        ck_assert_int_eq(node_status_parse("{\"name\":\"x\"}\n", &s), 0);
        node_status_done(&s);

        /* An overlong string, and more ports than fit. */
        struct buf b = {};
        ck_assert_int_eq(buf_puts(&b, "{\"name\":\""), 0);
        for (int i = 0; i < 5000; i++)
                ck_assert_int_eq(buf_puts(&b, "x"), 0);
        ck_assert_int_eq(buf_puts(&b, "\"}"), 0);
        ck_assert_int_lt(node_status_parse(b.data, &s), 0);
        buf_free(&b);
        ck_assert_int_eq(buf_puts(&b, "{\"name\":\"x\",\"ports\":["), 0);
        for (int i = 0; i < NODE_PORTS_MAX + 1; i++)
                ck_assert_int_eq(buf_printf(&b, "%s{\"host_port\":1}", i ? "," : ""), 0);
        ck_assert_int_eq(buf_puts(&b, "]}"), 0);
        ck_assert_int_lt(node_status_parse(b.data, &s), 0);
        buf_free(&b);
}
END_TEST

START_TEST(test_port_parse) {
        struct node_port p;

        ck_assert_int_eq(node_port_parse("8080:80", &p), 0);
        ck_assert_str_eq(p.host_ip, "127.0.0.1");
        ck_assert_str_eq(p.proto, "tcp");
        ck_assert_uint_eq(p.host_port, 8080);
        ck_assert_uint_eq(p.node_port, 80);
        ck_assert_int_eq(node_port_parse("0.0.0.0:5353:53/udp", &p), 0);
        ck_assert_str_eq(p.host_ip, "0.0.0.0");
        ck_assert_str_eq(p.proto, "udp");
        static const char *const bad[] = { "", "80", "0:80", "80:0", "65536:80", "a:b", "1.2.3:80:80", "::80",
                                           "80:80/sctp", "-1:80", "80:80:80:80", "999.1.1.1:80:80", "80 :80",
                                           "1111111111111111111111111:80" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(node_port_parse(bad[i], &p) < 0, "accepted: %s", bad[i]);
}
END_TEST

START_TEST(test_rootlesskit_api) {
        struct node_port p = { .proto = "tcp", .host_ip = "127.0.0.1", .host_port = 18080, .node_port = 80 };
        char *req = rootlesskit_port_request(&p);
        int64_t id;

        ck_assert_ptr_nonnull(strstr(req, "POST /v1/ports HTTP/1.1\r\n"));
        ck_assert_ptr_nonnull(
                strstr(req, "\r\n\r\n{\"proto\":\"tcp\",\"parentIP\":\"127.0.0.1\",\"parentPort\":18080,\"childPort\":80}"));
        free(req);
        ck_assert_int_eq(rootlesskit_parse_port_reply("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"
                                                      "{\"id\":7,\"spec\":{\"proto\":\"tcp\"}}", &id), 0);
        ck_assert_int_eq(id, 7);
        ck_assert_int_lt(rootlesskit_parse_port_reply("HTTP/1.1 500 Internal\r\n\r\n{\"message\":\"busy\"}", &id), 0);
        ck_assert_int_lt(rootlesskit_parse_port_reply("garbage", &id), 0);
        ck_assert_int_lt(rootlesskit_parse_port_reply("HTTP/1.1 200 OK\r\n\r\n{\"id\":}", &id), 0);
        ck_assert_int_lt(rootlesskit_parse_port_reply("HTTP/1.1 200 OK\r\n\r\n{\"id\":99999999999999999999999}", &id), 0);
}
END_TEST

static void assert_golden(const char *name, const char *text) {
        const char *top = getenv("top_srcdir");
        struct host h = { .root_fd = -EBADF };
        char *path, *want = NULL;

        if (!top)
                top = ".";
        path = xstrdup_printf("/tests/golden/%s", name);
        ck_assert_int_eq(host_init(&h, top, NULL), 0);
        ck_assert_msg(host_read_file(&h, path, 1u << 20, &want, NULL) == 0, "no golden file %s", path);
        ck_assert_msg(strcmp(want, text) == 0, "%s differs from golden:\n%s", name, text);
        host_done(&h);
        free(want);
        free(path);
}

static const struct kubelet_params params = {
        .root = "/home/alice/.local/share/usernode/nodes/n1/containerd",
        .state = "/run/user/1000/usernode/n1/containerd/state",
        .address = "/run/user/1000/usernode/n1/containerd/containerd.sock",
        .snapshotter = "overlayfs",
        .runtime = "crun",
        .crun_binary = "/usr/bin/crun",
        .runc_binary = "/usr/sbin/runc",
        .disable_cgroup = true,
        .cni_bin_dir = "/opt/cni/bin",
        .cni_conf_dir = "/etc/cni/net.d",
        .pod_cidr = "10.88.0.0/16",
        .mtu = 65520,
        .cgroup_driver = "cgroupfs",
        .kubelet_dir = "/home/alice/.local/share/usernode/nodes/n1/kubelet",
        .opt_dir = "/home/alice/.local/share/usernode/nodes/n1/containerd/opt",
        .sandbox_image = "registry.k8s.io/pause:3.9",
        .pod_pids_limit = 4096,
};

/* What `kubeadm init` v1.28 uploads as kube-system/kubelet-config. */
static const char kubeadm_kubelet_config[] =
        "apiVersion: kubelet.config.k8s.io/v1beta1\n"
        "authentication:\n  anonymous:\n    enabled: false\n  webhook:\n    cacheTTL: 0s\n    enabled: true\n"
        "  x509:\n    clientCAFile: /etc/kubernetes/pki/ca.crt\n"
        "authorization:\n  mode: Webhook\n  webhook:\n    cacheAuthorizedTTL: 0s\n    cacheUnauthorizedTTL: 0s\n"
        "cgroupDriver: systemd\nclusterDNS:\n- 10.96.0.10\nclusterDomain: cluster.local\n"
        "containerRuntimeEndpoint: \"\"\ncpuManagerReconcilePeriod: 0s\nfeatureGates:\n  NodeSwap: false\n"
        "healthzBindAddress: 127.0.0.1\nhealthzPort: 10248\nkind: KubeletConfiguration\n"
        "logging:\n  flushFrequency: 0\n  options:\n    json:\n      infoBufferSize: \"0\"\n  verbosity: 0\n"
        "memorySwap: {}\nrotateCertificates: true\nstaticPodPath: /etc/kubernetes/manifests\n"
        "syncFrequency: 0s\nresolvConf: /run/systemd/resolve/resolv.conf\n";

START_TEST(test_golden_templates) {
        struct un_error err = {};
        char *a = NULL, *b = NULL;

        /* The templates compiled in, as the installed binary renders them. */
        ck_assert_msg(kubelet_render_containerd_config(&params, &a, &err) == 0, "%s", err.msg);
        assert_golden("containerd-config.toml", a);
        free(a);
        ck_assert_msg(kubelet_render_cni(&params, &a, &b, &err) == 0, "%s", err.msg);
        assert_golden("cni-bridge.conflist", a);
        assert_golden("cni-loopback.conf", b);
        free(a);
        free(b);
        ck_assert_msg(kubelet_render_kubelet_config(&params, &a, &err) == 0, "%s", err.msg);
        assert_golden("kubelet-config.json", a);
        ck_assert_ptr_null(strstr(a, "staticPodPath"));
        free(a);
        /* Without a cluster: the static pods' directory. */
        struct kubelet_params standalone = params;
        standalone.static_pod_dir = "/home/alice/.local/share/usernode/nodes/n1/manifests";
        ck_assert_msg(kubelet_render_kubelet_config(&standalone, &a, &err) == 0, "%s", err.msg);
        ck_assert_ptr_nonnull(strstr(a, "\"staticPodPath\": \"/home/alice/.local/share/usernode/nodes/n1/manifests\""));
        free(a);

        /* Joined to a kubeadm cluster: its settings, adapted (cgroupfs, our CA path, no static pods). */
        struct kubelet_params joined = params;
        joined.cluster_config = kubeadm_kubelet_config;
        joined.client_ca_file = "/home/alice/.local/share/usernode/nodes/n1/kubelet/pki/ca.crt";
        joined.port = 10251;
        ck_assert_msg(kubelet_render_kubelet_config(&joined, &a, &err) == 0, "%s", err.msg);
        assert_golden("kubelet-config-joined.json", a);
        ck_assert_ptr_nonnull(strstr(a, "\"clusterDNS\""));
        free(a);

        /* A cluster without DNS (no CoreDNS image): pods get the node's resolver, not an address nobody answers. */
        joined.without_cluster_dns = true;
        ck_assert_msg(kubelet_render_kubelet_config(&joined, &a, &err) == 0, "%s", err.msg);
        ck_assert_ptr_null(strstr(a, "clusterDNS"));
        ck_assert_ptr_nonnull(strstr(a, "\"clusterDomain\""));
        free(a);
        joined.without_cluster_dns = false;

        /* A cluster's configuration that is not one is refused, not half-used. */
        joined.cluster_config = "kind: Pod\n";
        ck_assert_int_eq(kubelet_render_kubelet_config(&joined, &a, &err), -EINVAL);
        joined.cluster_config = "a: &x [1]\nb: *x\n";
        ck_assert_int_eq(kubelet_render_kubelet_config(&joined, &a, &err), -EINVAL);
}
END_TEST

START_TEST(test_golden_unit) {
        struct node n = { .name = (char *) "n1", .runtime_dir = (char *) "/run/user/1000/usernode/n1",
                          .data_dir = (char *) "/home/alice/.local/share/usernode/nodes/n1", .lock_fd = -1 };
        struct up_options o = { .engine = ENGINE_K3S, .net = "auto", .self = "/usr/bin/usernode", .n_publish = 1 };
        struct un_error err = {};
        char *text = NULL;

        setenv("PATH", "/home/alice/bin:/usr/bin:/bin", 1);
        o.publish[0] = (struct node_port) { .proto = "tcp", .host_ip = "127.0.0.1", .host_port = 6443, .node_port = 6443 };
        ck_assert_msg(userunit_render(&n, &o, &text, &err) == 0, "%s", err.msg);
        assert_golden("usernode-n1.service", text);
        free(text);
}
END_TEST

Suite *node_suite(void) {
        Suite *s = suite_create("node");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_name_valid);
        tcase_add_test(tc, test_name_ephemeral);
        tcase_add_test(tc, test_status_roundtrip);
        tcase_add_test(tc, test_status_apiserver);
        tcase_add_test(tc, test_status_hostile);
        tcase_add_test(tc, test_port_parse);
        tcase_add_test(tc, test_rootlesskit_api);
        tcase_add_test(tc, test_golden_templates);
        tcase_add_test(tc, test_golden_unit);
        suite_add_tcase(s, tc);
        return s;
}
