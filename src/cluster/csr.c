/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The kubelets' serving certificates in a cluster a usernode node brings along. Each kubelet asks for its own
 * (serverTLSBootstrap) with a CSR to the kubernetes.io/kubelet-serving signer, which kube-controller-manager
 * signs once approved and never approves by itself; the API server verifies the kubelets it calls against the
 * cluster's CA (--kubelet-certificate-authority), so that nobody but the node's kubelet answers for it. The
 * node that brings the cluster approves a CSR that asks for what its node is and nothing more: made by
 * system:node:NAME in system:nodes, subject CN=system:node:NAME O=system:nodes, server use only, DNS names
 * NAME alone, IP addresses among those of Node NAME and of no other Node. Any other kubelet-serving CSR is
 * denied with the reason; one from a node not registered yet waits. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "csr.h"
#include "kubeapi.h"
#include "macro.h"
#include "util.h"
#include "yamljson.h"

#define CSR_PATH "/apis/certificates.k8s.io/v1/certificatesigningrequests"
#define NODE_USER_PREFIX "system:node:"

static const char *string_of(struct json_object *o, const char *key) {
        struct json_object *v = json_get(o, key, json_type_string);

        return v ? json_object_get_string(v) : NULL;
}

/* Whether the Node node lists ip (text) among its addresses. */
static bool node_has_address(struct json_object *node, const char *ip) {
        struct json_object *addrs = json_get(json_get(node, "status", json_type_object), "addresses", json_type_array);

        for (size_t i = 0; addrs && i < json_object_array_length(addrs); i++) {
                const char *a = string_of(json_object_array_get_idx(addrs, i), "address");

                if (a && strcmp(a, ip) == 0)
                        return true;
        }
        return false;
}

/* 0 when ip is one of node name's addresses and of no other Node's (nodes: a NodeList's items). */
static int ip_of_node(struct json_object *nodes, const char *name, const char *ip, char *why, size_t size) {
        bool mine = false;

        for (size_t i = 0; i < json_object_array_length(nodes); i++) {
                struct json_object *n = json_object_array_get_idx(nodes, i);
                const char *other = string_of(json_get(n, "metadata", json_type_object), "name");

                if (!other || !node_has_address(n, ip))
                        continue;
                if (strcmp(other, name) != 0) {
                        snprintf(why, size, "IP address %s is Node %s's", ip, other);
                        return -EPERM;
                }
                mine = true;
        }
        if (!mine) {
                snprintf(why, size, "IP address %s is not among Node %s's addresses", ip, name);
                return -EPERM;
        }
        return 0;
}

/* The subject holds exactly CN=system:node:NAME and O=system:nodes. */
static int subject_is_node(X509_REQ *req, const char *user, char *why, size_t size) {
        X509_NAME *subject = X509_REQ_get_subject_name(req);
        int n = subject ? X509_NAME_entry_count(subject) : 0;
        bool cn = false, o = false;

        for (int i = 0; i < n; i++) {
                X509_NAME_ENTRY *e = X509_NAME_get_entry(subject, i);
                int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
                ASN1_STRING *d = X509_NAME_ENTRY_get_data(e);
                const char *v = (const char *) ASN1_STRING_get0_data(d);
                size_t len = (size_t) ASN1_STRING_length(d);

                if (nid == NID_commonName && !cn && len == strlen(user) && memcmp(v, user, len) == 0)
                        cn = true;
                else if (nid == NID_organizationName && !o && len == strlen("system:nodes") &&
                         memcmp(v, "system:nodes", len) == 0)
                        o = true;
                else {
                        snprintf(why, size, "its subject is not CN=%s, O=system:nodes", user);
                        return -EPERM;
                }
        }
        if (!cn || !o) {
                snprintf(why, size, "its subject is not CN=%s, O=system:nodes", user);
                return -EPERM;
        }
        return 0;
}

/* Every subject alternative name is the node's: its name, or an address of its own. */
static int names_are_node(X509_REQ *req, const char *name, struct json_object *nodes, char *why, size_t size) {
        STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
        GENERAL_NAMES *names = exts ? X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL) : NULL;
        int r = 0;

        for (int i = 0; r == 0 && names && i < sk_GENERAL_NAME_num(names); i++) {
                const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
                char ip[INET6_ADDRSTRLEN];

                if (g->type == GEN_DNS) {
                        const char *v = (const char *) ASN1_STRING_get0_data(g->d.dNSName);
                        size_t len = (size_t) ASN1_STRING_length(g->d.dNSName);

                        if (len != strlen(name) || memcmp(v, name, len) != 0) {
                                snprintf(why, size, "DNS name %.*s is not the node's name", (int) (len > 253u ? 253u : len), v);
                                r = -EPERM;
                        }
                } else if (g->type == GEN_IPADD && (g->d.iPAddress->length == 4 || g->d.iPAddress->length == 16)) {
                        if (!inet_ntop(g->d.iPAddress->length == 4 ? AF_INET : AF_INET6, g->d.iPAddress->data, ip,
                                       sizeof ip))
                                r = -EINVAL;
                        else
                                r = ip_of_node(nodes, name, ip, why, size);
                } else {
                        snprintf(why, size, "it asks for a name that is neither a DNS name nor an IP address");
                        r = -EPERM;
                }
        }
        GENERAL_NAMES_free(names);
        sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
        return r;
}

/* Server use only: digital signature, key encipherment (RSA), server auth. */
static int usages_are_serving(struct json_object *spec, char *why, size_t size) {
        static const char *const allowed[] = { "digital signature", "key encipherment", "server auth" };
        struct json_object *usages = json_get(spec, "usages", json_type_array);
        bool server = false;

        for (size_t i = 0; usages && i < json_object_array_length(usages); i++) {
                const char *u = json_object_get_string(json_object_array_get_idx(usages, i));
                bool ok = false;

                for (size_t j = 0; u && j < ELEMENTSOF(allowed); j++)
                        ok = ok || strcmp(u, allowed[j]) == 0;
                if (!ok) {
                        snprintf(why, size, "usage '%s' is not a server's", strna(u));
                        return -EPERM;
                }
                server = server || strcmp(u, "server auth") == 0;
        }
        if (!server) {
                snprintf(why, size, "it does not ask for server auth");
                return -EPERM;
        }
        return 0;
}

static bool in_group(struct json_object *spec, const char *group) {
        struct json_object *groups = json_get(spec, "groups", json_type_array);

        for (size_t i = 0; groups && i < json_object_array_length(groups); i++)
                if (strcmp(strempty(json_object_get_string(json_object_array_get_idx(groups, i))), group) == 0)
                        return true;
        return false;
}

int csr_kubelet_serving_judge(struct json_object *csr, struct json_object *nodes, char *why, size_t size) {
        struct json_object *spec = json_get(csr, "spec", json_type_object);
        const char *user = string_of(spec, "username"), *request = string_of(spec, "request"), *name;
        _cleanup_free_ unsigned char *pem = NULL;
        size_t len = 0;
        BIO *bio;
        X509_REQ *req;
        bool registered = false;
        int r;

        if (!user || strncmp(user, NODE_USER_PREFIX, strlen(NODE_USER_PREFIX)) != 0 || !in_group(spec, "system:nodes")) {
                snprintf(why, size, "not asked by a node (system:node:NAME in system:nodes)");
                return -EPERM;
        }
        name = user + strlen(NODE_USER_PREFIX);
        for (size_t i = 0; i < json_object_array_length(nodes); i++)
                registered = registered || strcmp(strempty(string_of(json_get(json_object_array_get_idx(nodes, i), "metadata",
                                                                              json_type_object), "name")), name) == 0;
        if (!registered) {
                snprintf(why, size, "Node %s is not registered yet", name);
                return -EAGAIN;
        }
        r = usages_are_serving(spec, why, size);
        if (r < 0)
                return r;
        if (!request || base64_decode(request, BASE64_STD, &pem, &len) < 0 || len > 64 * 1024) {
                snprintf(why, size, "its request is not base64");
                return -EPERM;
        }
        bio = BIO_new_mem_buf(pem, (int) len);
        req = bio ? PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
        if (!req) {
                snprintf(why, size, "its request is not a PEM certificate request");
                return -EPERM;
        }
        r = subject_is_node(req, user, why, size);
        if (r >= 0)
                r = names_are_node(req, name, nodes, why, size);
        X509_REQ_free(req);
        return r;
}

/* Adds the Approved or Denied condition through the CSR's approval subresource. */
static int decide(const struct kubeapi *admin, struct json_object *csr, bool approve, const char *message,
                  struct un_error *err) {
        const char *name = string_of(json_get(csr, "metadata", json_type_object), "name");
        _cleanup_free_ char *path = name ? xstrdup_printf(CSR_PATH "/%s/approval", name) : NULL;
        struct json_object *status = json_get(csr, "status", json_type_object), *conds, *c;
        struct kubeapi_reply reply = {};
        char msg[256];
        int r;

        if (!path || !(c = json_object_new_object()))
                return un_error(err, ENOMEM, "certificate signing request");
        if (!status) {
                status = json_object_new_object();
                json_object_object_add(csr, "status", status);
        }
        conds = json_get(status, "conditions", json_type_array);
        if (!conds) {
                conds = json_object_new_array();
                json_object_object_add(status, "conditions", conds);
        }
        json_object_object_add(c, "type", json_object_new_string(approve ? "Approved" : "Denied"));
        json_object_object_add(c, "status", json_object_new_string("True"));
        json_object_object_add(c, "reason", json_object_new_string(approve ? "UsernodeKubeletServing" : "UsernodeRefused"));
        json_object_object_add(c, "message", json_object_new_string(message));
        json_object_array_add(conds, c);
        r = kubeapi_request(admin, "PUT", path, json_object_to_json_string_ext(csr, JSON_C_TO_STRING_PLAIN), &reply, err);
        if (r >= 0 && reply.status != 200)
                r = un_error(err, reply.status == 401 || reply.status == 403 ? EACCES : EIO, "%s certificate signing request %s: %s",
                             approve ? "approving" : "denying", name, kubeapi_status_message(&reply, msg, sizeof msg));
        kubeapi_reply_done(&reply);
        return r;
}

int csr_decide_kubelet_serving(const struct kubeapi *admin, FILE *log, struct un_error *err) {
        struct json_object *csrs = NULL, *nodes = NULL, *items;
        int r, decided = 0;

        r = kubeapi_list(admin, CSR_PATH, "certificate signing requests", &csrs, err);
        if (r < 0)
                return r;
        items = json_get(csrs, "items", json_type_array);
        for (size_t i = 0; r >= 0 && i < json_object_array_length(items); i++) {
                struct json_object *csr = json_object_array_get_idx(items, i);
                struct json_object *spec = json_get(csr, "spec", json_type_object);
                struct json_object *conds = json_get(json_get(csr, "status", json_type_object), "conditions", json_type_array);
                char why[256] = "", message[384];
                int verdict;

                if (strcmp(strempty(string_of(spec, "signerName")), "kubernetes.io/kubelet-serving") != 0 ||
                    (conds && json_object_array_length(conds) > 0))
                        continue;
                /* The Nodes once, only when there is something to decide. */
                if (!nodes) {
                        r = kubeapi_list(admin, "/api/v1/nodes", "nodes", &nodes, err);
                        if (r < 0)
                                break;
                }
                verdict = csr_kubelet_serving_judge(csr, json_get(nodes, "items", json_type_array), why, sizeof why);
                if (verdict == -EAGAIN)
                        continue;
                snprintf(message, sizeof message, "%s%s", verdict >= 0 ? "usernode: the node's own names and addresses" :
                         "usernode: ", verdict >= 0 ? "" : why);
                r = decide(admin, csr, verdict >= 0, message, err);
                if (r >= 0) {
                        decided++;
                        fprintf(log, "usernode-init: %s the serving certificate request %s of %s%s%s\n",
                                verdict >= 0 ? "approved" : "denied",
                                strna(string_of(json_get(csr, "metadata", json_type_object), "name")),
                                strna(string_of(spec, "username")), verdict >= 0 ? "" : ": ", verdict >= 0 ? "" : why);
                }
        }
        json_object_put(csrs);
        json_object_put(nodes);
        return r < 0 ? r : decided;
}
