/* SPDX-License-Identifier: GPL-2.0-or-later */
/* When the init's parts are ready: containerd's CRI answers; a standalone kubelet's healthz says ok; a
 * joined kubelet holds its client certificate and its Node is Ready in the API, with its pod network and
 * its labels. And the Node's Ready condition set to False while the kubelet does not run. */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cri.h"
#include "init.h"
#include "log.h"
#include "netlink.h"
#include "nodeapi.h"
#include "util.h"

#define CSR_WAIT_MS 60000               /* a CSR not approved by then will not be: say so */
#define POD_CIDR_WAIT_MS 2000           /* after registration: the controller-manager allocates at once, if at all */
#define FEATURES_WAIT_MS 10000          /* `up` writes them once its checks are done */
#define KUBELET_HEALTHZ_PORT 10248u

/* containerd's word on why its CRI plugin did not load (a full disk, a bad config): the error of its "failed to
 * load plugin io.containerd.grpc.v1.cri" line in node.log. */
static const char *cri_plugin_error(const char *line) {
        const char *e;

        if (!strstr(line, "failed to load plugin io.containerd.grpc.v1.cri"))
                return NULL;
        e = strstr(line, "error=");
        return e ? e + strlen("error=") : line;
}

/* A directory of the node's whose filesystem is (nearly) full: containerd's database does not fit there, and
 * nor do its log lines saying so. NULL when both have room. */
static const char *full_dir(struct init *in, unsigned long long *ret_kib) {
        const char *dirs[] = { in->runtime_dir, in->data_dir };

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                struct statvfs v;

                if (statvfs(dirs[i], &v) >= 0 && (unsigned long long) v.f_bavail * v.f_frsize < 1024ull * 1024) {
                        *ret_kib = (unsigned long long) v.f_bavail * v.f_frsize / 1024;
                        return dirs[i];
                }
        }
        return NULL;
}

int init_wait_cri(struct init *in) {
        uint64_t deadline = now_usec() + 60000000ull;
        struct un_error err = {};

        for (;;) {
                int r = cri_answers(in->params.address, &err);

                if (r > 0)
                        return 0;
                if (r == -EPROTONOSUPPORT) {
                        _cleanup_free_ char *log = xstrdup_printf("%s/node.log", in->runtime_dir);
                        _cleanup_free_ char *why = log ? log_last_match(log, cri_plugin_error, 400) : NULL;
                        unsigned long long kib = 0;
                        const char *full = full_dir(in, &kib);

                        if (full)
                                init_stage(in, "error %s: no space left on the device of %s (%llu KiB free) for its "
                                               "database; see %s/node.log", err.msg, full, kib, in->runtime_dir);
                        else
                                init_stage(in, "error %s%s%s; see %s/node.log", err.msg,
                                           why ? ": its CRI plugin did not load: " : "", strempty(why), in->runtime_dir);
                        return r;
                }
                if (now_usec() >= deadline) {
                        init_stage(in, "error containerd's CRI does not answer after 60 s: %s; see %s/node.log",
                                   err.msg, in->runtime_dir);
                        return -ETIME;
                }
                r = init_idle_for(in, 20);
                if (r < 0)
                        return r;
        }
}

static size_t discard(char *data, size_t size, size_t n, void *userdata) {
        return size * n;
}

/* GET /healthz of the kubelet (in the node's network namespace): 1 when it says ok, 0 when it answers
 * otherwise, -ECONNREFUSED when nothing answers. */
static int kubelet_healthz(unsigned port) {
        char url[64];
        long status = 0;
        CURL *c = curl_easy_init();
        CURLcode cc;

        if (!c)
                return -ENOMEM;
        snprintf(url, sizeof url, "http://127.0.0.1:%u/healthz", port);
        (void) curl_easy_setopt(c, CURLOPT_URL, url);
        (void) curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
        (void) curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
        (void) curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        (void) curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
        cc = curl_easy_perform(c);
        if (cc == CURLE_OK)
                (void) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(c);
        return cc != CURLE_OK ? -ECONNREFUSED : status == 200 ? 1 : 0;
}

int init_wait_healthz(struct init *in) {
        uint64_t deadline = now_usec() + 60000000ull;

        for (;;) {
                int r = kubelet_healthz(KUBELET_HEALTHZ_PORT);

                if (r > 0)
                        return 0;
                if (now_usec() >= deadline) {
                        init_stage_kubelet_failed(in, "the kubelet's healthz is not ok after 60 s");
                        return -ETIME;
                }
                r = init_idle_for(in, 50);
                if (r < 0)
                        return r;
        }
}

/* The kubelet has no client certificate after CSR_WAIT_MS: find out why from the cluster. */
static void stage_csr_stuck(struct init *in) {
        _cleanup_free_ char *csr = NULL;
        struct un_error err = {};
        bool denied;

        if (node_api_csr_state(in->data_dir, in->server, &csr, &denied, &err) < 0)
                init_stage_kubelet_failed(in, "the kubelet has no client certificate after 60 s");
        else if (csr && denied)
                init_stage(in, "error certificate signing request %s was denied", csr);
        else if (csr)
                init_stage(in, "error certificate signing request %s not approved after 60 s (approve it with: "
                               "kubectl certificate approve %s; kubeadm clusters approve node CSRs themselves)",
                           csr, csr);
        else
                init_stage_kubelet_failed(in, "the kubelet has no client certificate after 60 s and made no request");
}

/* The kubelet TLS-bootstraps in the background (its certificate manager, with rotation on): its READY=1
 * does not mean it holds a certificate. Waits for the file; a CSR not approved by CSR_WAIT_MS is reported. */
int init_wait_client_cert(struct init *in) {
        _cleanup_free_ char *cert = xstrdup_printf("%s/%s", in->data_dir, NODE_KUBELET_CLIENT_CERT);
        uint64_t deadline = now_usec() + CSR_WAIT_MS * 1000ull;

        if (!cert)
                return -ENOMEM;
        for (;;) {
                int r;

                if (access(cert, R_OK) == 0)
                        return 0;
                if (now_usec() >= deadline) {
                        stage_csr_stuck(in);
                        return -ETIME;
                }
                r = init_idle_for(in, 100);
                if (r < 0)
                        return r;
        }
}

/* What init_wait_node_ready knows between its looks at the Node. */
struct node_wait {
        struct node_api api;
        uint64_t start, registered;     /* now_usec() */
        bool labelled;
        char last[sizeof ((struct un_error) {}).msg];   /* the last message logged: each new one once */
};

/* The pod network from the Node's pod CIDR (the controller-manager's), or after POD_CIDR_WAIT_MS without
 * one usernode's own. */
static int follow_pod_cidr(struct init *in, const struct node_object *o, uint64_t since_registered) {
        struct un_error err = {};
        int r;

        if (o->pod_cidr && !net_cidr_ipv4_valid(o->pod_cidr)) {
                init_stage(in, "error the cluster gave node %s the pod CIDR '%.64s', not an IPv4 network", in->name,
                           o->pod_cidr);
                return -EINVAL;
        }
        if (o->pod_cidr && init_workers_overlap(in, o->pod_cidr)) {
                init_stage(in, "error node %s keeps the pod CIDR %s from a start without workers, which covers its "
                               "workers' networks: usernode down --name %s --purge, then up again with --workers, makes "
                               "the cluster with room for them", in->name, o->pod_cidr, in->name);
                return -EEXIST;
        }
        if (o->pod_cidr && strcmp(o->pod_cidr, in->cni_cidr) != 0) {
                r = init_write_cni(in, o->pod_cidr, &err);
                if (r < 0) {
                        init_stage(in, "error %s", err.msg);
                        return r;
                }
                init_pod_cidr_save(in, o->pod_cidr);
        } else if (!in->cni_cidr[0] && !o->pod_cidr && since_registered >= POD_CIDR_WAIT_MS * 1000ull) {
                fprintf(stderr, "usernode-init: the cluster gave node %s no pod CIDR "
                        "(controller-manager without --allocate-node-cidrs): using %s\n", in->name, in->pod_cidr);
                r = init_write_cni(in, in->pod_cidr, &err);
                if (r < 0) {
                        init_stage(in, "error %s", err.msg);
                        return r;
                }
        }
        return 0;
}

bool init_label_node(struct init *in, const struct node_api *api, uint64_t since) {
        _cleanup_strv_free_ char **labels = NULL;
        struct un_error err = {};
        int r;

        r = init_read_features(in, &labels);
        if (r >= 0) {
                r = node_api_label(api, labels, &err);
                if (r < 0)
                        fprintf(stderr, "usernode-init: %s\n", err.msg);
                /* A slow or busy API server: again next round; only a refusal is final. */
                return r >= 0 || r == -EACCES || r == -EINVAL || r == -ENOENT;
        }
        return now_usec() - since >= FEATURES_WAIT_MS * 1000ull;
}

/* "mark node-ready" the first time the Node says Ready from this kubelet (a Node of an earlier run may still say it). */
static void mark_node_ready(struct init *in, const struct node_object *o) {
        if (in->node_ready_marked || !o->ready || o->ready_heartbeat < in->kubelet_started)
                return;
        in->node_ready_marked = true;
        init_stage(in, "mark node-ready");
}

void init_look_node_ready(struct init *in, const struct node_api *api) {
        struct node_object o = {};
        struct un_error err = {};

        if (!in->node_ready_marked && node_api_get(api, &o, &err) >= 0)
                mark_node_ready(in, &o);
        node_object_done(&o);
}

/* One look at the Node, which exists: 1 when the node is ready, 0 not yet, -errno (staged). */
static int node_seen(struct init *in, struct node_wait *w, const struct node_object *o, uint64_t now) {
        int r;

        if (!w->registered) {
                w->registered = now;
                fprintf(stderr, "usernode-init: node %s registered\n", in->name);
        }
        /* In a cluster of its own the init gives the Nodes their pod CIDRs (controlplane.c), this one first. */
        if (in->control_plane && !o->pod_cidr)
                init_control_plane_tick(in);
        r = follow_pod_cidr(in, o, now - w->registered);
        if (r < 0)
                return r;
        if (!w->labelled)
                w->labelled = init_label_node(in, &w->api, w->start);
        if (!o->ready && o->ready_message && strcmp(o->ready_message, w->last) != 0) {
                fprintf(stderr, "usernode-init: node %s not ready: %s\n", in->name, o->ready_message);
                snprintf(w->last, sizeof w->last, "%s", o->ready_message);
        }
        /* A Node that exists from an earlier run may still say Ready: only this kubelet's word counts. */
        return o->ready && o->ready_heartbeat >= in->kubelet_started && in->cni_cidr[0] != '\0' && w->labelled;
}

int init_wait_node_ready(struct init *in) {
        struct node_wait w = { .start = now_usec() };
        struct un_error err = {};
        int r;

        r = node_api_open(in->data_dir, in->server, in->name, &w.api, &err);
        if (r < 0) {
                init_stage(in, "error %s", err.msg);
                return r;
        }
        for (;;) {
                struct node_object o = {};
                bool tainted;
                uint64_t now;
                int seen = 0;

                r = node_api_get(&w.api, &o, &err);
                now = now_usec();
                if (r < 0 && strcmp(err.msg, w.last) != 0) {
                        fprintf(stderr, "usernode-init: %s\n", err.msg);
                        snprintf(w.last, sizeof w.last, "%s", err.msg);
                }
                if (r >= 0 && o.exists)
                        seen = node_seen(in, &w, &o, now);
                if (seen > 0)
                        mark_node_ready(in, &o);
                tainted = o.not_ready_taint;
                node_object_done(&o);
                /* Ready for pods once the node lifecycle controller has lifted its not-ready taint: a pod created
                 * before would wait out the scheduler's back-off. */
                if (seen > 0 && !tainted) {
                        r = in->control_plane ? init_wait_cluster_usable(in) : 0;
                        if (r >= 0)
                                init_stage(in, "mark pods-schedulable");
                        break;
                }
                if (seen > 0) {
                        static const char taint[] = "Ready; no pod is scheduled on it until the node lifecycle "
                                                    "controller (kube-controller-manager) lifts its not-ready taint";

                        if (strcmp(w.last, taint) != 0)
                                fprintf(stderr, "usernode-init: node %s is %s\n", in->name, taint);
                        snprintf(w.last, sizeof w.last, "%s", taint);
                }
                if (seen < 0) {
                        r = seen;
                        break;
                }
                /* Quick at first (a node is Ready a second after it registers), then gentle. */
                r = init_idle_for(in, now - w.start < 60000000ull ? 100 : 2000);
                if (r < 0)
                        break;
        }
        node_api_done(&w.api);
        return r;
}

void init_node_not_ready(struct init *in, const char *reason, const char *message, unsigned timeout_ms) {
        _cleanup_free_ char *cert = xstrdup_printf("%s/%s", in->data_dir, NODE_KUBELET_CLIENT_CERT);
        struct node_api api = {};
        struct un_error err = {};
        int r;

        /* Only a node that joined before: with its certificate. */
        if (!cert || access(cert, R_OK) < 0)
                return;
        r = node_api_open(in->data_dir, in->server, in->name, &api, &err);
        if (r >= 0)
                r = node_api_set_not_ready(&api, reason, message, timeout_ms, &err);
        if (r < 0 && r != -ENOENT)
                fprintf(stderr, "usernode-init: %s\n", err.msg);
        node_api_done(&api);
}
