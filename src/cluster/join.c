/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kubeadm's join from the joining side (kubeadm's cmd/kubeadm/app/discovery/token): the cluster is
 * trusted only once it proved itself, and the token goes only to a server whose CA is trusted. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base64.h"
#include "join.h"
#include "kubeapi.h"
#include "netlink.h"
#include "util.h"
#include "yamljson.h"

#define LOWER_ALNUM "abcdefghijklmnopqrstuvwxyz0123456789"
#define HEX_LOWER "0123456789abcdef"

int join_token_parse(const char *s, struct join_token *ret) {
        if (strlen(s) != 23 || s[6] != '.' || strspn(s, LOWER_ALNUM) != 6 || strspn(s + 7, LOWER_ALNUM) != 16)
                return -EINVAL;
        memcpy(ret->id, s, 6);
        ret->id[6] = '\0';
        memcpy(ret->secret, s + 7, 16);
        ret->secret[16] = '\0';
        return 0;
}

bool join_token_k3s_pinned(const char *s) {
        const char *p = startswith(s, "K10");

        return p && strlen(p) > 66 && strspn(p, "0123456789abcdefABCDEF") == 64 && startswith(p + 64, "::") &&
               p[66] != '\0';
}

bool join_token_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > JOIN_TOKEN_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] <= ' ' || s[i] > '~' || strchr("\"'\\", s[i]))
                        return false;
        return true;
}

int join_token_read_file(const char *path, char **ret, struct un_error *err) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        char buf[JOIN_TOKEN_MAX + 2];
        struct stat st;
        ssize_t n;

        if (fd < 0)
                return un_error(err, errno, "cannot open the token file %s", path);
        if (fstat(fd, &st) < 0)
                return un_error(err, errno, "cannot stat the token file %s", path);
        if (!S_ISREG(st.st_mode))
                return un_error(err, EINVAL, "the token file %s is not a regular file", path);
        if (st.st_uid != getuid() && st.st_uid != 0)
                return un_error(err, EPERM, "the token file %s belongs to UID %u, not to you", path,
                                (unsigned) st.st_uid);
        if (st.st_mode & 077)
                return un_error(err, EPERM, "the token file %s is accessible by others (mode %04o): a bootstrap token "
                                "lets its holder join the cluster; run: chmod 600 %s", path,
                                (unsigned) (st.st_mode & 07777), path);
        n = read(fd, buf, sizeof buf - 1);
        if (n < 0)
                return un_error(err, errno, "cannot read the token file %s", path);
        buf[n] = '\0';
        buf[strcspn(buf, "\r\n")] = '\0';
        if ((size_t) n > JOIN_TOKEN_MAX + 1 || !join_token_valid(buf)) {
                explicit_bzero(buf, sizeof buf);
                return un_error(err, EINVAL, "the token file %s does not hold one token (one line, printable, "
                                "at most %u bytes)", path, JOIN_TOKEN_MAX);
        }
        *ret = strdup(buf);
        explicit_bzero(buf, sizeof buf);
        return *ret ? 0 : un_error(err, ENOMEM, "token file %s", path);
}

int join_pin_parse(const char *s, struct join_pin *ret) {
        const char *hex = startswith(s, "sha256:");

        if (!hex || strlen(hex) != 64)
                return -EINVAL;
        for (size_t i = 0; i < 32; i++) {
                const char *hi = strchr(HEX_LOWER, hex[2 * i] | 0x20), *lo = strchr(HEX_LOWER, hex[2 * i + 1] | 0x20);

                if (!hi || !lo || !*hi || !*lo)
                        return -EINVAL;
                ret->sha256[i] = (uint8_t) ((hi - HEX_LOWER) << 4 | (lo - HEX_LOWER));
        }
        return 0;
}

void join_pin_format(const struct join_pin *p, char ret[72]) {
        memcpy(ret, "sha256:", 7);
        for (size_t i = 0; i < 32; i++) {
                ret[7 + 2 * i] = HEX_LOWER[p->sha256[i] >> 4];
                ret[8 + 2 * i] = HEX_LOWER[p->sha256[i] & 15];
        }
        ret[71] = '\0';
}

static int pin_of_cert(X509 *x, struct join_pin *ret) {
        unsigned char *der = NULL;
        int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);

        if (len <= 0)
                return -EINVAL;
        SHA256(der, (size_t) len, ret->sha256);
        OPENSSL_free(der);
        return 0;
}

int join_pins_of_pem(const char *pem, struct join_pin **ret, size_t *ret_n) {
        BIO *bio = BIO_new_mem_buf(pem, -1);
        struct join_pin *pins = NULL;
        size_t n = 0;
        X509 *x;

        if (!bio)
                return -ENOMEM;
        while (n < 64 && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
                struct join_pin *p = realloc(pins, (n + 1) * sizeof *pins);

                if (!p || pin_of_cert(x, &p[n]) < 0) {
                        X509_free(x);
                        free(p ? p : pins);
                        BIO_free(bio);
                        return p ? -EINVAL : -ENOMEM;
                }
                pins = p;
                n++;
                X509_free(x);
        }
        BIO_free(bio);
        if (n == 0) {
                free(pins);
                return -EINVAL;
        }
        *ret = pins;
        *ret_n = n;
        return 0;
}

bool join_pem_matches(const char *pem, const struct join_pin *pins, size_t n_pins) {
        _cleanup_free_ struct join_pin *have = NULL;
        size_t n;

        if (join_pins_of_pem(pem, &have, &n) < 0)
                return false;
        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < n_pins; j++)
                        if (CRYPTO_memcmp(have[i].sha256, pins[j].sha256, 32) == 0)
                                return true;
        return false;
}

bool join_pem_valid(const char *pem) {
        _cleanup_free_ struct join_pin *pins = NULL;
        size_t n;

        return strstr(pem, "-----BEGIN CERTIFICATE-----") && join_pins_of_pem(pem, &pins, &n) >= 0;
}

int join_jws_verify(const char *detached, const char *payload, const struct join_token *t) {
        const char *dots = strstr(detached, "..");
        _cleanup_free_ char *header_b64 = NULL, *payload_b64 = NULL, *signing_input = NULL, *expected = NULL;
        _cleanup_free_ unsigned char *header = NULL;
        struct json_object *h;
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned mac_len = 0;
        size_t header_len;
        bool ok;

        if (!dots || strchr(dots + 2, '.') || dots == detached)
                return -EINVAL;
        header_b64 = strndup(detached, (size_t) (dots - detached));
        if (!header_b64 || base64_decode(header_b64, BASE64_URL, &header, &header_len) < 0)
                return -EINVAL;
        h = json_tokener_parse((const char *) header);
        ok = h && streq_ptr(json_object_get_string(json_get(h, "alg", json_type_string)), "HS256") &&
             streq_ptr(json_object_get_string(json_get(h, "kid", json_type_string)), t->id);
        json_object_put(h);
        if (!ok)
                return -EINVAL;
        payload_b64 = base64_encode(payload, strlen(payload), BASE64_URL);
        signing_input = payload_b64 ? xstrdup_printf("%s.%s", header_b64, payload_b64) : NULL;
        if (!signing_input ||
            !HMAC(EVP_sha256(), t->secret, (int) strlen(t->secret), (const unsigned char *) signing_input,
                  strlen(signing_input), mac, &mac_len))
                return -ENOMEM;
        expected = base64_encode(mac, mac_len, BASE64_URL);
        if (!expected)
                return -ENOMEM;
        return strlen(expected) == strlen(dots + 2) && CRYPTO_memcmp(expected, dots + 2, strlen(expected)) == 0
                       ? 0
                       : -EBADMSG;
}

void join_result_done(struct join_result *r) {
        free(r->ca_pem);
        free(r->kubelet_config);
        free(r->ca_pin);
        free(r->pod_subnet);
        *r = (struct join_result) {};
}

#define CLUSTER_INFO "/api/v1/namespaces/kube-public/configmaps/cluster-info"
#define KUBELET_CONFIG "/api/v1/namespaces/kube-system/configmaps/kubelet-config"
#define KUBEADM_CONFIG "/api/v1/namespaces/kube-system/configmaps/kubeadm-config"

/* A ConfigMap's data[key] from a reply, or NULL. */
static char *configmap_value(const struct kubeapi_reply *r, const char *key) {
        struct json_object *o = json_tokener_parse(r->body), *v;
        char *s = NULL;

        v = json_get(json_get(o, "data", json_type_object), key, json_type_string);
        if (v)
                s = strdup(json_object_get_string(v));
        json_object_put(o);
        return s;
}

int join_pod_subnet_parse(const char *cluster_configuration, char **ret) {
        struct json_object *doc = NULL, *subnet;
        _cleanup_free_ char *list = NULL;
        char *cursor, *item;
        int r = -ENOENT;

        if (strlen(cluster_configuration) > 256 * 1024 ||
            yaml_to_json("ClusterConfiguration", cluster_configuration, strlen(cluster_configuration), &doc, NULL) < 0 ||
            !json_object_is_type(doc, json_type_object)) {
                json_object_put(doc);
                return -EINVAL;
        }
        subnet = json_get(json_get(doc, "networking", json_type_object), "podSubnet", json_type_string);
        list = subnet ? strdup(json_object_get_string(subnet)) : NULL;
        json_object_put(doc);
        if (subnet && !list)
                return -ENOMEM;
        for (cursor = list; cursor && (item = strsep(&cursor, ","));) {
                item += strspn(item, " ");
                if (net_cidr_ipv4_valid(item)) {
                        *ret = strdup(item);
                        return *ret ? 0 : -ENOMEM;
                }
        }
        return r;
}

static int refused(const struct kubeapi_reply *r, struct un_error *err) {
        char msg[256];

        return un_error(err, EACCES, "the API server refused the bootstrap token: %s",
                        kubeapi_status_message(r, msg, sizeof msg));
}

/* The CA in cluster-info's kubeconfig: clusters[0].cluster.certificate-authority-data, as PEM. */
static int cluster_info_ca(const char *kubeconfig, char **ret, struct un_error *err) {
        _cleanup_free_ char *data = NULL;
        unsigned char *pem = NULL;
        size_t len;
        int r;

        r = kubeconfig_cluster_field("cluster-info's kubeconfig", kubeconfig, "certificate-authority-data", &data, err);
        if (r == -ENOENT)
                return un_error(err, EINVAL, "cluster-info's kubeconfig holds no CA certificate");
        if (r < 0)
                return r;
        r = base64_decode(data, BASE64_STD, &pem, &len);
        if (r < 0 || strlen((char *) pem) != len || !join_pem_valid((char *) pem)) {
                free(pem);
                return un_error(err, EINVAL, "cluster-info's kubeconfig holds no CA certificate");
        }
        *ret = (char *) pem;
        return 0;
}

/* The unauthenticated half: cluster-info, its signature, the CA and its pin. */
static int discover_ca(const struct join_request *req, const struct join_token *t, char **ret_ca,
                       char **ret_kubeconfig, struct un_error *err) {
        const struct kubeapi anon = { .server = req->server, .insecure = true, .timeout_ms = req->timeout_ms };
        _cleanup_free_ char *kubeconfig = NULL, *jws = NULL, *jws_key = NULL, *ca = NULL;
        struct kubeapi_reply reply = {};
        char msg[256];
        int r;

        r = kubeapi_request(&anon, "GET", CLUSTER_INFO, NULL, &reply, err);
        if (r < 0)
                return un_error_wrap(err, -r, "cannot reach the API server for discovery");
        if (reply.status != 200) {
                r = un_error(err, ENOENT, "the API server does not publish kube-public/cluster-info (%s): a "
                             "cluster made by kubeadm does; pass --ca-file with the cluster's CA instead",
                             kubeapi_status_message(&reply, msg, sizeof msg));
                kubeapi_reply_done(&reply);
                return r;
        }
        jws_key = xstrdup_printf("jws-kubeconfig-%s", t->id);
        kubeconfig = configmap_value(&reply, "kubeconfig");
        jws = jws_key ? configmap_value(&reply, jws_key) : NULL;
        kubeapi_reply_done(&reply);
        if (!kubeconfig)
                return un_error(err, EINVAL, "cluster-info has no kubeconfig");
        if (!jws)
                return un_error(err, EACCES, "the API server refused the bootstrap token: cluster-info has no "
                                "signature for token ID %s (the token is wrong, expired or deleted; make a new one "
                                "with: kubeadm token create --print-join-command)", t->id);
        r = join_jws_verify(jws, kubeconfig, t);
        if (r < 0)
                return un_error(err, EACCES, "the API server refused the bootstrap token: cluster-info's signature "
                                "for token ID %s does not verify with this token's secret", t->id);
        r = cluster_info_ca(kubeconfig, &ca, err);
        if (r < 0)
                return r;
        if (req->n_pins > 0 && !join_pem_matches(ca, req->pins, req->n_pins)) {
                _cleanup_free_ struct join_pin *have = NULL;
                char got[72] = "?", want[72];
                size_t n;

                if (join_pins_of_pem(ca, &have, &n) >= 0)
                        join_pin_format(&have[0], got);
                join_pin_format(&req->pins[0], want);
                return un_error(err, EPERM, "the cluster's CA (%s) does not match --discovery-token-ca-cert-hash %s: "
                                "this is not the cluster you meant, or the hash is wrong; nothing was sent to it",
                                got, want);
        }
        *ret_ca = TAKE_PTR(ca);
        *ret_kubeconfig = TAKE_PTR(kubeconfig);
        return 0;
}

int join_discover(const struct join_request *req, struct join_result *ret, struct un_error *err) {
        _cleanup_free_ char *ca = NULL, *kubeconfig = NULL, *again = NULL;
        _cleanup_free_ struct join_pin *pins = NULL;
        struct kubeapi_reply reply = {};
        struct join_token t;
        char msg[256], pin[72];
        size_t n_pins;
        int r;

        if (join_token_parse(req->token, &t) < 0)
                return un_error(err, EINVAL, "the token is not a bootstrap token of the form [a-z0-9]{6}.[a-z0-9]{16}");
        if (req->ca_pem) {
                if (!join_pem_valid(req->ca_pem))
                        return un_error(err, EINVAL, "--ca-file holds no PEM certificate");
                ca = strdup(req->ca_pem);
                if (!ca)
                        return un_error(err, ENOMEM, "join");
        } else {
                if (req->n_pins == 0 && !req->unsafe_skip_ca_verification)
                        return un_error(err, EINVAL, "refusing to trust the cluster without knowing its CA: pass "
                                        "--discovery-token-ca-cert-hash sha256:… (kubeadm token create "
                                        "--print-join-command prints it) or --ca-file FILE; "
                                        "--discovery-token-unsafe-skip-ca-verification trusts whoever answers");
                r = discover_ca(req, &t, &ca, &kubeconfig, err);
                if (r < 0)
                        return r;
        }
        const struct kubeapi api = { .server = req->server, .ca_pem = ca, .token = req->token,
                                     .timeout_ms = req->timeout_ms };

        /* The server must prove it holds the CA's key before the token goes to it: TLS verified with that CA.
         * kubeadm reads cluster-info again that way and requires the same content. */
        if (kubeconfig) {
                const struct kubeapi verified = { .server = req->server, .ca_pem = ca, .timeout_ms = req->timeout_ms };

                r = kubeapi_request(&verified, "GET", CLUSTER_INFO, NULL, &reply, err);
                if (r < 0)
                        return un_error_wrap(err, -r, "the server at %s is not the cluster whose CA cluster-info names",
                                             req->server);
                again = reply.status == 200 ? configmap_value(&reply, "kubeconfig") : NULL;
                kubeapi_reply_done(&reply);
                if (!again || strcmp(again, kubeconfig) != 0)
                        return un_error(err, EPERM, "cluster-info changed between the unverified and the verified read");
        }
        r = kubeapi_request(&api, "GET", KUBELET_CONFIG, NULL, &reply, err);
        if (r < 0)
                return un_error_wrap(err, -r, "cannot reach the API server with the cluster's CA");
        if (reply.status == 401) {
                r = refused(&reply, err);
                kubeapi_reply_done(&reply);
                return r;
        }
        if (reply.status == 200) {
                ret->kubelet_config = configmap_value(&reply, "kubelet");
                if (!ret->kubelet_config) {
                        kubeapi_reply_done(&reply);
                        return un_error(err, EINVAL, "kube-system/kubelet-config has no \"kubelet\" entry");
                }
        } else if (reply.status != 403 && reply.status != 404) {
                r = un_error(err, EIO, "reading kube-system/kubelet-config: %s",
                             kubeapi_status_message(&reply, msg, sizeof msg));
                kubeapi_reply_done(&reply);
                return r;
        }
        kubeapi_reply_done(&reply);
        /* The cluster's pod network, where kubeadm (and a usernode cluster) keeps it; a cluster without it, or one
         * that does not let a token read it, leaves the node to its own --cluster-cidr. */
        r = kubeapi_request(&api, "GET", KUBEADM_CONFIG, NULL, &reply, err);
        if (r < 0)
                return un_error_wrap(err, -r, "cannot reach the API server with the cluster's CA");
        if (reply.status == 200) {
                _cleanup_free_ char *cc = configmap_value(&reply, "ClusterConfiguration");

                if (cc && join_pod_subnet_parse(cc, &ret->pod_subnet) == -EINVAL) {
                        kubeapi_reply_done(&reply);
                        join_result_done(ret);
                        return un_error(err, EINVAL, "kube-system/kubeadm-config holds no ClusterConfiguration");
                }
        }
        kubeapi_reply_done(&reply);
        r = join_pins_of_pem(ca, &pins, &n_pins);
        if (r < 0) {
                join_result_done(ret);
                return un_error(err, EINVAL, "the cluster's CA is not a certificate");
        }
        join_pin_format(&pins[0], pin);
        ret->ca_pin = strdup(pin);
        ret->ca_pem = TAKE_PTR(ca);
        if (!ret->ca_pin) {
                join_result_done(ret);
                return un_error(err, ENOMEM, "join");
        }
        return 0;
}
