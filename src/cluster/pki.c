/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control plane's certificates as kubeadm's certs phase issues them (cmd/kubeadm/app/phases/certs):
 * the same files, subjects, SANs, key usages and lifetimes, with ECDSA P-256 keys. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "controlplane.h"
#include "host.h"
#include "join.h"
#include "kubeconfig.h"
#include "nodeapi.h"
#include "pki.h"
#include "util.h"

#define PKI_CA_DAYS (10 * 365)
#define PKI_LEAF_DAYS 365
/* Renewed this long before expiry, so that a node restarted now and then never runs on an expiring cert. */
#define PKI_RENEW_SECONDS (30L * 24 * 3600)
/* notBefore in the past: a component whose clock lags a little must still accept a fresh certificate. */
#define PKI_BACKDATE_SECONDS (5L * 60)
#define PKI_DNS_NAME_MAX 253u
#define PKI_SERVER_MAX 1024u

enum { PKI_CA_KUBERNETES, PKI_CA_FRONT_PROXY, PKI_CA_ETCD, PKI_CA_N };

struct pki_ca_spec {
        const char *name;               /* file stem in the directory */
        const char *cn;
};

static const struct pki_ca_spec pki_cas[PKI_CA_N] = {
        [PKI_CA_KUBERNETES] = { "ca", "kubernetes" },
        [PKI_CA_FRONT_PROXY] = { "front-proxy-ca", "front-proxy-ca" },
        [PKI_CA_ETCD] = { "etcd/ca", "etcd-ca" },
};

enum {
        PKI_SERVER = 1 << 0,
        PKI_CLIENT = 1 << 1,
};

/* Which SANs a leaf carries: those of the request are computed once per pki_ensure. */
enum { PKI_SANS_NONE, PKI_SANS_APISERVER, PKI_SANS_ETCD, PKI_SANS_N };

struct pki_leaf_spec {
        const char *name;
        unsigned ca;
        const char *cn;                 /* with cn_node, the prefix of the node's name */
        bool cn_node;
        const char *org;
        unsigned usage;
        unsigned sans;
        bool kubeconfig;                /* a client pki_kubeconfig writes a kubeconfig for */
};

static const struct pki_leaf_spec pki_leaves[] = {
        { .name = "apiserver", .ca = PKI_CA_KUBERNETES, .cn = "kube-apiserver", .usage = PKI_SERVER,
          .sans = PKI_SANS_APISERVER },
        { .name = "apiserver-kubelet-client", .ca = PKI_CA_KUBERNETES, .cn = "kube-apiserver-kubelet-client",
          .org = "system:masters", .usage = PKI_CLIENT },
        { .name = "front-proxy-client", .ca = PKI_CA_FRONT_PROXY, .cn = "front-proxy-client", .usage = PKI_CLIENT },
        { .name = "etcd/server", .ca = PKI_CA_ETCD, .cn = "", .cn_node = true, .usage = PKI_SERVER | PKI_CLIENT,
          .sans = PKI_SANS_ETCD },
        { .name = "apiserver-etcd-client", .ca = PKI_CA_ETCD, .cn = "kube-apiserver-etcd-client",
          .org = "system:masters", .usage = PKI_CLIENT },
        { .name = "admin", .ca = PKI_CA_KUBERNETES, .cn = "kubernetes-admin", .org = "system:masters",
          .usage = PKI_CLIENT, .kubeconfig = true },
        { .name = "controller-manager", .ca = PKI_CA_KUBERNETES, .cn = "system:kube-controller-manager",
          .usage = PKI_CLIENT, .kubeconfig = true },
        { .name = "scheduler", .ca = PKI_CA_KUBERNETES, .cn = "system:kube-scheduler", .usage = PKI_CLIENT,
          .kubeconfig = true },
        { .name = "kubelet", .ca = PKI_CA_KUBERNETES, .cn = "system:node:", .cn_node = true, .org = "system:nodes",
          .usage = PKI_CLIENT, .kubeconfig = true },
};

static const char *const pki_ext_key_usage[] = {
        [PKI_SERVER] = "serverAuth",
        [PKI_CLIENT] = "clientAuth",
        [PKI_SERVER | PKI_CLIENT] = "serverAuth,clientAuth",
};

struct pki_pair {
        X509 *cert;
        EVP_PKEY *key;
};

struct pki_sans {
        char **dns;
        char **ips;                     /* canonical text (inet_ntop) */
};

/* What one certificate is to be. */
struct pki_template {
        const X509_NAME *subject;
        int days;
        bool ca;
        unsigned usage;
        const struct pki_sans *sans;    /* NULL: none */
};

static void bio_freep(BIO **b) { BIO_free(*b); }
static void x509_freep(X509 **x) { X509_free(*x); }
static void pkey_freep(EVP_PKEY **k) { EVP_PKEY_free(*k); }
static void x509_name_freep(X509_NAME **n) { X509_NAME_free(*n); }

static void pki_pair_done(struct pki_pair *p) {
        X509_free(p->cert);
        EVP_PKEY_free(p->key);
        *p = (struct pki_pair) {};
}

static void pki_sans_done(struct pki_sans *s) {
        strv_free(s->dns);
        strv_free(s->ips);
        *s = (struct pki_sans) {};
}

/* Never ask for a passphrase on the terminal: an encrypted key is a key we cannot use. */
static int pki_no_passphrase(char *buf, int size, int rwflag, void *userdata) {
        return -1;
}

/* A directory as a host rooted at it: every later open is relative to this one fd, never follows a symlink
 * out of it, and the atomic writes refuse symlinks below it. The caller chose the path up to dir; dir itself
 * must be a real directory of ours that nobody else can write to. */
static int pki_dir_open(const char *dir, bool create, struct host *ret, struct un_error *err) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        char *root;

        if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
                return un_error(err, errno, "cannot create %s", dir);
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return un_error(err, errno, "cannot open %s (it must be a directory, not a symlink)", dir);
        if (fstat(fd, &st) < 0)
                return un_error(err, errno, "cannot stat %s", dir);
        if (st.st_uid != geteuid())
                return un_error(err, EPERM, "refusing %s: it belongs to UID %u", dir, (unsigned) st.st_uid);
        if (st.st_mode & 0022)
                return un_error(err, EPERM, "refusing %s: others can write to it (chmod 700 %s)", dir, dir);
        root = strdup(dir);
        if (!root)
                return un_error(err, ENOMEM, "%s", dir);
        *ret = (struct host) { .root_fd = TAKE_FD(fd), .root = root, .offline = true };
        return 0;
}

/* A file of the directory, never through a symlink, at most PKI_FILE_MAX bytes. */
static int pki_file_read(const struct host *h, const char *path, char **ret) {
        struct stat st;
        int r;

        r = host_stat(h, path, &st, false);
        if (r < 0)
                return r;
        if (S_ISLNK(st.st_mode))
                return -ELOOP;
        return host_read_file(h, path, PKI_FILE_MAX, ret, NULL);
}

static int pki_file_write(const struct host *h, const char *path, const char *data, size_t len, mode_t mode,
                          struct un_error *err) {
        int r;

        r = host_write_atomic(h, path, data, len, mode, (uid_t) -1, (gid_t) -1, err);
        return r < 0 ? un_error_wrap(err, r, "in %s", h->root) : 0;
}

static int pki_bio_write(const struct host *h, const char *path, BIO *b, mode_t mode, struct un_error *err) {
        char *data;
        long len = BIO_get_mem_data(b, &data);

        if (len <= 0)
                return un_error(err, EIO, "cannot encode %s%s", h->root, path);
        return pki_file_write(h, path, data, (size_t) len, mode, err);
}

static X509 *pki_cert_parse(const char *pem) {
        _cleanup_(bio_freep) BIO *b = BIO_new_mem_buf(pem, -1);

        return b ? PEM_read_bio_X509(b, NULL, pki_no_passphrase, NULL) : NULL;
}

static EVP_PKEY *pki_key_parse(const char *pem) {
        _cleanup_(bio_freep) BIO *b = BIO_new_mem_buf(pem, -1);

        return b ? PEM_read_bio_PrivateKey(b, NULL, pki_no_passphrase, NULL) : NULL;
}

static EVP_PKEY *pki_pubkey_parse(const char *pem) {
        _cleanup_(bio_freep) BIO *b = BIO_new_mem_buf(pem, -1);

        return b ? PEM_read_bio_PUBKEY(b, NULL, pki_no_passphrase, NULL) : NULL;
}

static bool pki_pubkey_eq(EVP_PKEY *a, EVP_PKEY *b) {
        unsigned char *da = NULL, *db = NULL;
        int la = i2d_PUBKEY(a, &da), lb = i2d_PUBKEY(b, &db);
        bool eq = la > 0 && la == lb && memcmp(da, db, (size_t) la) == 0;

        OPENSSL_free(da);
        OPENSSL_free(db);
        return eq;
}

/* NAME.crt and NAME.key, loaded and matching; -EBADMSG when either does not parse or they do not match. */
static int pki_pair_load(const struct host *h, const char *name, struct pki_pair *ret) {
        _cleanup_free_ char *crt_path = xstrdup_printf("/%s.crt", name), *key_path = xstrdup_printf("/%s.key", name);
        _cleanup_free_ char *crt = NULL, *key = NULL;
        struct pki_pair p = {};
        int r;

        if (!crt_path || !key_path)
                return -ENOMEM;
        r = pki_file_read(h, crt_path, &crt);
        if (r >= 0)
                r = pki_file_read(h, key_path, &key);
        if (r < 0)
                return r;
        p.cert = pki_cert_parse(crt);
        p.key = pki_key_parse(key);
        if (!p.cert || !p.key || X509_check_private_key(p.cert, p.key) != 1) {
                pki_pair_done(&p);
                return -EBADMSG;
        }
        *ret = p;
        return 0;
}

/* The key first: a crash between the two writes leaves a pair that does not match, issued again next time. */
static int pki_pair_write(const struct host *h, const char *name, const struct pki_pair *p, struct un_error *err) {
        _cleanup_free_ char *crt_path = xstrdup_printf("/%s.crt", name), *key_path = xstrdup_printf("/%s.key", name);
        _cleanup_(bio_freep) BIO *crt = BIO_new(BIO_s_mem()), *key = BIO_new(BIO_s_mem());
        int r;

        if (!crt_path || !key_path || !crt || !key || PEM_write_bio_X509(crt, p->cert) != 1 ||
            PEM_write_bio_PrivateKey(key, p->key, NULL, NULL, 0, NULL, NULL) != 1)
                return un_error(err, ENOMEM, "cannot encode %s/%s", h->root, name);
        r = pki_bio_write(h, key_path, key, 0600, err);
        if (r < 0)
                return r;
        return pki_bio_write(h, crt_path, crt, 0644, err);
}

static int pki_key_generate(EVP_PKEY **ret) {
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
        EVP_PKEY *k = NULL;
        bool ok;

        ok = ctx && EVP_PKEY_keygen_init(ctx) == 1 &&
             EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, NID_X9_62_prime256v1) > 0 && EVP_PKEY_keygen(ctx, &k) == 1;
        EVP_PKEY_CTX_free(ctx);
        if (!ok)
                return -EIO;
        *ret = k;
        return 0;
}

/* 126 random bits, positive and of fixed length (RFC 5280 allows 20 bytes; CAs use at least 64 random bits). */
static int pki_serial_set(X509 *x) {
        unsigned char b[16];
        BIGNUM *bn;
        bool ok;

        if (RAND_bytes(b, sizeof b) != 1)
                return -EIO;
        b[0] = (unsigned char) ((b[0] & 0x3f) | 0x40);
        bn = BN_bin2bn(b, sizeof b, NULL);
        ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
        BN_free(bn);
        return ok ? 0 : -EIO;
}

static X509_NAME *pki_name_new(const char *cn, const char *org) {
        X509_NAME *n = X509_NAME_new();

        if (!n ||
            (org && X509_NAME_add_entry_by_NID(n, NID_organizationName, MBSTRING_UTF8, (const unsigned char *) org,
                                               -1, -1, 0) != 1) ||
            X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8, (const unsigned char *) cn, -1, -1, 0) != 1) {
                X509_NAME_free(n);
                return NULL;
        }
        return n;
}

static int pki_ext_add(X509 *x, X509V3_CTX *ctx, int nid, const char *value) {
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
        bool ok = e && X509_add_ext(x, e, -1) == 1;

        X509_EXTENSION_free(e);
        return ok ? 0 : -EIO;
}

static int pki_general_name_push(GENERAL_NAMES *gens, int type, ASN1_STRING *value) {
        GENERAL_NAME *g = value ? GENERAL_NAME_new() : NULL;

        if (!g) {
                ASN1_STRING_free(value);
                return -ENOMEM;
        }
        GENERAL_NAME_set0_value(g, type, value);
        if (sk_GENERAL_NAME_push(gens, g) <= 0) {
                GENERAL_NAME_free(g);
                return -ENOMEM;
        }
        return 0;
}

/* Built from the parsed names, not from a "DNS:a,IP:b" string, so that no name can smuggle in another. */
static int pki_sans_set(X509 *x, const struct pki_sans *s) {
        GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
        int r = gens ? 0 : -ENOMEM;

        for (char **d = s->dns; r >= 0 && d && *d; d++) {
                ASN1_IA5STRING *v = ASN1_IA5STRING_new();

                if (v && ASN1_STRING_set(v, *d, -1) != 1) {
                        ASN1_IA5STRING_free(v);
                        v = NULL;
                }
                r = pki_general_name_push(gens, GEN_DNS, v);
        }
        for (char **ip = s->ips; r >= 0 && ip && *ip; ip++)
                r = pki_general_name_push(gens, GEN_IPADD, a2i_IPADDRESS(*ip));
        if (r >= 0 && X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1)
                r = -EIO;
        GENERAL_NAMES_free(gens);
        return r;
}

/* Signed by issuer, or self-signed without one. Extensions as Go's crypto/x509 writes them for kubeadm. */
static int pki_cert_issue(const struct pki_template *t, EVP_PKEY *key, const struct pki_pair *issuer, X509 **ret) {
        _cleanup_(x509_freep) X509 *x = X509_new();
        const char *eku = pki_ext_key_usage[t->usage];
        X509V3_CTX ctx;

        if (!x)
                return -ENOMEM;
        if (X509_set_version(x, 2) != 1 || pki_serial_set(x) < 0 || X509_set_subject_name(x, t->subject) != 1 ||
            X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->cert) : t->subject) != 1 ||
            !X509_gmtime_adj(X509_getm_notBefore(x), -PKI_BACKDATE_SECONDS) ||
            !X509_time_adj_ex(X509_getm_notAfter(x), t->days, 0, NULL) || X509_set_pubkey(x, key) != 1)
                return -EIO;
        X509V3_set_ctx(&ctx, issuer ? issuer->cert : x, x, NULL, NULL, 0);
        if (pki_ext_add(x, &ctx, NID_basic_constraints, t->ca ? "critical,CA:TRUE" : "critical,CA:FALSE") < 0 ||
            pki_ext_add(x, &ctx, NID_key_usage,
                        t->ca ? "critical,digitalSignature,keyEncipherment,keyCertSign"
                              : "critical,digitalSignature,keyEncipherment") < 0 ||
            (eku && pki_ext_add(x, &ctx, NID_ext_key_usage, eku) < 0) ||
            pki_ext_add(x, &ctx, NID_subject_key_identifier, "hash") < 0 ||
            (issuer && pki_ext_add(x, &ctx, NID_authority_key_identifier, "keyid:always") < 0) ||
            (t->sans && pki_sans_set(x, t->sans) < 0) ||
            X509_sign(x, issuer ? issuer->key : key, EVP_sha256()) <= 0)
                return -EIO;
        *ret = TAKE_PTR(x);
        return 0;
}

static int pki_pair_issue(const struct pki_template *t, const struct pki_pair *issuer, struct pki_pair *ret) {
        struct pki_pair p = {};
        int r;

        r = pki_key_generate(&p.key);
        if (r >= 0)
                r = pki_cert_issue(t, p.key, issuer, &p.cert);
        if (r < 0) {
                pki_pair_done(&p);
                return r;
        }
        *ret = p;
        return 0;
}

/* Valid now and for PKI_RENEW_SECONDS more. */
static bool pki_cert_fresh(const X509 *x) {
        time_t now = time(NULL), limit = now + PKI_RENEW_SECONDS;

        /* X509_cmp_time returns 0 on a malformed time: neither comparison holds then. */
        return X509_cmp_time(X509_get0_notBefore(x), &now) < 0 && X509_cmp_time(X509_get0_notAfter(x), &limit) > 0;
}

static bool pki_sans_covered(X509 *x, const struct pki_sans *s) {
        const unsigned flags = X509_CHECK_FLAG_NO_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT;

        for (char **d = s->dns; d && *d; d++)
                if (X509_check_host(x, *d, 0, flags, NULL) != 1)
                        return false;
        for (char **ip = s->ips; ip && *ip; ip++)
                if (X509_check_ip_asc(x, *ip, 0) != 1)
                        return false;
        return true;
}

static bool pki_leaf_usable(const struct pki_pair *p, const struct pki_pair *ca, const X509_NAME *subject,
                            const struct pki_sans *sans) {
        return pki_cert_fresh(p->cert) && X509_NAME_cmp(X509_get_subject_name(p->cert), subject) == 0 &&
               X509_check_issued(ca->cert, p->cert) == X509_V_OK &&
               X509_verify(p->cert, X509_get0_pubkey(ca->cert)) == 1 && pki_sans_covered(p->cert, sans);
}

/* Reused when usable (a CA brought from elsewhere included); a new CA makes every leaf it signed unusable,
 * since they no longer verify against it. */
static int pki_ca_ensure(const struct host *h, const struct pki_ca_spec *spec, struct pki_pair *ret,
                         struct un_error *err) {
        _cleanup_(x509_name_freep) X509_NAME *subject = NULL;
        struct pki_pair p = {};
        int r;

        if (pki_pair_load(h, spec->name, &p) >= 0 && X509_check_ca(p.cert) == 1 && pki_cert_fresh(p.cert)) {
                *ret = p;
                return 0;
        }
        pki_pair_done(&p);
        subject = pki_name_new(spec->cn, NULL);
        if (!subject)
                return un_error(err, ENOMEM, "CA %s", spec->name);
        r = pki_pair_issue(&(struct pki_template) { .subject = subject, .days = PKI_CA_DAYS, .ca = true }, NULL, &p);
        if (r < 0)
                return un_error(err, r, "cannot issue the CA %s", spec->name);
        r = pki_pair_write(h, spec->name, &p, err);
        if (r < 0) {
                pki_pair_done(&p);
                return r;
        }
        *ret = p;
        return 0;
}

static int pki_leaf_ensure(const struct host *h, const struct pki_leaf_spec *spec, const char *node_name,
                           const struct pki_pair *ca, const struct pki_sans *sans, struct un_error *err) {
        _cleanup_free_ char *cn = xstrdup_printf("%s%s", spec->cn, spec->cn_node ? node_name : "");
        _cleanup_(x509_name_freep) X509_NAME *subject = cn ? pki_name_new(cn, spec->org) : NULL;
        _cleanup_(pki_pair_done) struct pki_pair p = {};
        int r;

        if (!subject)
                return un_error(err, ENOMEM, "certificate %s", spec->name);
        if (pki_pair_load(h, spec->name, &p) >= 0 && pki_leaf_usable(&p, ca, subject, sans))
                return 0;
        pki_pair_done(&p);
        r = pki_pair_issue(&(struct pki_template) { .subject = subject, .days = PKI_LEAF_DAYS, .usage = spec->usage,
                                                    .sans = sans },
                           ca, &p);
        if (r < 0)
                return un_error(err, r, "cannot issue the certificate %s", spec->name);
        return pki_pair_write(h, spec->name, &p, err);
}

/* sa.key signs the service-account tokens: a new one would void every token issued, so it is kept
 * whenever it loads, and sa.pub is made to follow it. */
static int pki_sa_ensure(const struct host *h, struct un_error *err) {
        _cleanup_free_ char *key_pem = NULL, *pub_pem = NULL;
        _cleanup_(pkey_freep) EVP_PKEY *key = NULL, *pub = NULL;
        _cleanup_(bio_freep) BIO *b = NULL;
        int r;

        if (pki_file_read(h, "/sa.key", &key_pem) >= 0)
                key = pki_key_parse(key_pem);
        if (!key) {
                b = BIO_new(BIO_s_mem());
                if (pki_key_generate(&key) < 0 || !b || PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) != 1)
                        return un_error(err, EIO, "cannot make the service-account key");
                r = pki_bio_write(h, "/sa.key", b, 0600, err);
                if (r < 0)
                        return r;
                BIO_free(TAKE_PTR(b));
        }
        if (pki_file_read(h, "/sa.pub", &pub_pem) >= 0)
                pub = pki_pubkey_parse(pub_pem);
        if (pub && pki_pubkey_eq(pub, key))
                return 0;
        b = BIO_new(BIO_s_mem());
        if (!b || PEM_write_bio_PUBKEY(b, key) != 1)
                return un_error(err, EIO, "cannot encode the service-account public key");
        return pki_bio_write(h, "/sa.pub", b, 0644, err);
}

static bool pki_dns_name_valid(const char *s) {
        size_t n = strlen(s);

        return n > 0 && n <= PKI_DNS_NAME_MAX && s[0] != '.' && s[0] != '-' && !strstr(s, "..") &&
               strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") == n;
}

static int pki_sans_add_dns(struct pki_sans *s, const char *name) {
        if (!pki_dns_name_valid(name))
                return -EINVAL;
        return strv_contains(s->dns, name) ? 0 : strv_push(&s->dns, name);
}

static int pki_sans_add_ip(struct pki_sans *s, const char *ip) {
        int af = strchr(ip, ':') ? AF_INET6 : AF_INET;
        char canon[INET6_ADDRSTRLEN];
        unsigned char a[16];

        if (inet_pton(af, ip, a) != 1 || !inet_ntop(af, a, canon, sizeof canon))
                return -EINVAL;
        return strv_contains(s->ips, canon) ? 0 : strv_push(&s->ips, canon);
}

static int pki_apiserver_sans(const struct pki_request *req, struct pki_sans *s, struct un_error *err) {
        static const char *const names[] = {
                "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                "kubernetes.default.svc." CONTROLPLANE_DNS_DOMAIN, "localhost",
        };
        char vip[INET6_ADDRSTRLEN];
        int r = 0;

        /* The address the API server itself takes for the kubernetes Service, as controlplane.c computes it. */
        if (!req->service_cidr || controlplane_service_ip(req->service_cidr, 1, vip, sizeof vip) < 0)
                return un_error(err, EINVAL, "invalid service CIDR '%.64s' (e.g. 10.96.0.0/12)", strna(req->service_cidr));
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(names); i++)
                r = pki_sans_add_dns(s, names[i]);
        if (r >= 0)
                r = pki_sans_add_dns(s, req->node_name);
        for (char *const *d = req->extra_dns; r >= 0 && d && *d; d++)
                if ((r = pki_sans_add_dns(s, *d)) == -EINVAL)
                        return un_error(err, EINVAL, "invalid DNS name '%.64s' for the API server's certificate", *d);
        if (r >= 0)
                r = pki_sans_add_ip(s, "127.0.0.1");
        if (r >= 0)
                r = pki_sans_add_ip(s, vip);
        for (char *const *ip = req->extra_ips; r >= 0 && ip && *ip; ip++)
                if ((r = pki_sans_add_ip(s, *ip)) == -EINVAL)
                        return un_error(err, EINVAL, "invalid IP address '%.64s' for the API server's certificate", *ip);
        return r < 0 ? un_error(err, r, "API server's SANs") : 0;
}

static int pki_etcd_sans(const struct pki_request *req, struct pki_sans *s, struct un_error *err) {
        int r;

        r = pki_sans_add_dns(s, "localhost");
        if (r >= 0)
                r = pki_sans_add_dns(s, req->node_name);
        if (r >= 0)
                r = pki_sans_add_ip(s, "127.0.0.1");
        if (r >= 0)
                r = pki_sans_add_ip(s, "::1");
        return r < 0 ? un_error(err, r, "etcd's SANs") : 0;
}

/* What pki_ensure works with: the directory, the CAs as they are after the first step, the SANs asked. */
struct pki_state {
        struct host h;
        struct pki_pair cas[PKI_CA_N];
        struct pki_sans sans[PKI_SANS_N];
};

static void pki_state_done(struct pki_state *s) {
        host_done(&s->h);
        for (size_t i = 0; i < PKI_CA_N; i++)
                pki_pair_done(&s->cas[i]);
        for (size_t i = 0; i < PKI_SANS_N; i++)
                pki_sans_done(&s->sans[i]);
        /* Failed parses leave errors queued; libcurl's TLS in this process must not find them later. */
        ERR_clear_error();
}

int pki_ensure(const char *dir, const struct pki_request *req, struct un_error *err) {
        _cleanup_(pki_state_done) struct pki_state s = { .h.root_fd = -EBADF };
        int r;

        if (!req->node_name || !node_name_valid(req->node_name))
                return un_error(err, EINVAL, "invalid node name '%.64s' for the control plane's certificates",
                                strna(req->node_name));
        r = pki_apiserver_sans(req, &s.sans[PKI_SANS_APISERVER], err);
        if (r < 0)
                return r;
        r = pki_etcd_sans(req, &s.sans[PKI_SANS_ETCD], err);
        if (r < 0)
                return r;
        r = pki_dir_open(dir, true, &s.h, err);
        if (r < 0)
                return r;
        r = host_mkdir_p(&s.h, "/etcd", 0700, err);
        if (r < 0)
                return un_error_wrap(err, r, "in %s", dir);
        for (size_t i = 0; i < PKI_CA_N; i++) {
                r = pki_ca_ensure(&s.h, &pki_cas[i], &s.cas[i], err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(pki_leaves); i++) {
                const struct pki_leaf_spec *spec = &pki_leaves[i];

                r = pki_leaf_ensure(&s.h, spec, req->node_name, &s.cas[spec->ca], &s.sans[spec->sans], err);
                if (r < 0)
                        return r;
        }
        return pki_sa_ensure(&s.h, err);
}

static const struct pki_leaf_spec *pki_kubeconfig_client(const char *client) {
        for (size_t i = 0; client && i < ELEMENTSOF(pki_leaves); i++)
                if (pki_leaves[i].kubeconfig && strcmp(pki_leaves[i].name, client) == 0)
                        return &pki_leaves[i];
        return NULL;
}

static bool pki_server_valid(const char *server) {
        size_t n = server ? strlen(server) : 0;

        if (!startswith(strempty(server), "https://") || n <= strlen("https://") || n > PKI_SERVER_MAX)
                return false;
        for (const char *p = server; *p; p++)
                if ((unsigned char) *p <= ' ' || *p == 0x7f)
                        return false;
        return true;
}

/* The client's certificate and key as pki_ensure left them (loading and matching), with the CA: the texts
 * to embed. */
static int pki_client_read(const struct host *h, const char *client, char **ret_ca, char **ret_crt, char **ret_key,
                           struct un_error *err) {
        _cleanup_free_ char *crt_path = xstrdup_printf("/%s.crt", client), *key_path = xstrdup_printf("/%s.key", client);
        _cleanup_free_ char *ca = NULL, *crt = NULL, *key = NULL;
        struct pki_pair p = {};
        int r;

        if (!crt_path || !key_path)
                return un_error(err, ENOMEM, "kubeconfig of %s", client);
        r = pki_pair_load(h, client, &p);
        pki_pair_done(&p);
        ERR_clear_error();
        if (r >= 0)
                r = pki_file_read(h, "/ca.crt", &ca);
        if (r >= 0)
                r = pki_file_read(h, crt_path, &crt);
        if (r >= 0)
                r = pki_file_read(h, key_path, &key);
        if (r < 0)
                return un_error(err, r, "the certificate of %s in %s is missing or damaged (usernode up issues it again)",
                                client, h->root);
        *ret_ca = TAKE_PTR(ca);
        *ret_crt = TAKE_PTR(crt);
        *ret_key = TAKE_PTR(key);
        return 0;
}

/* path's directory as a host rooted at it, and the name in it: the name is then written with renameat in
 * that directory and never followed. The directories up to it are the caller's choice. */
static int pki_parent_open(const char *path, struct host *ret, char **ret_name, struct un_error *err) {
        const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
        _cleanup_free_ char *parent = NULL, *name = NULL;
        int fd;

        if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
                return un_error(err, EINVAL, "invalid kubeconfig path '%s'", path);
        parent = !slash ? strdup(".") : slash == path ? strdup("/") : strndup(path, (size_t) (slash - path));
        name = xstrdup_printf("/%s", base);
        if (!parent || !name)
                return un_error(err, ENOMEM, "%s", path);
        fd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return un_error(err, errno, "cannot open %s", parent);
        *ret = (struct host) { .root_fd = fd, .root = TAKE_PTR(parent), .offline = true };
        *ret_name = TAKE_PTR(name);
        return 0;
}

int pki_kubeconfig(const char *dir, const char *client, const char *server, const char *path,
                   struct un_error *err) {
        _cleanup_(host_done) struct host h = { .root_fd = -EBADF }, out = { .root_fd = -EBADF };
        _cleanup_free_ char *ca = NULL, *crt = NULL, *key = NULL, *text = NULL, *name = NULL, *old = NULL;
        struct stat st;
        int r;

        if (!pki_kubeconfig_client(client))
                return un_error(err, EINVAL, "no kubeconfig for '%.64s' (admin, controller-manager, scheduler, kubelet)",
                                strna(client));
        if (!pki_server_valid(server))
                return un_error(err, EINVAL, "invalid API server URL '%.64s' (e.g. https://127.0.0.1:6443)", strna(server));
        r = pki_dir_open(dir, false, &h, err);
        if (r < 0)
                return r;
        r = pki_client_read(&h, client, &ca, &crt, &key, err);
        if (r < 0)
                return r;
        text = kubeconfig_render(&(struct kubeconfig_spec) { .server = server, .ca_pem = ca, .cert_pem = crt, .key_pem = key });
        if (!text)
                return un_error(err, ENOMEM, "kubeconfig of %s", client);
        r = pki_parent_open(path, &out, &name, err);
        if (r < 0)
                return r;
        /* Unchanged when it says the same: whoever watches it does not reload for nothing. */
        if (pki_file_read(&out, name, &old) >= 0 && strcmp(old, text) == 0 && host_stat(&out, name, &st, false) >= 0 &&
            (st.st_mode & 07777) == 0600)
                return 0;
        return pki_file_write(&out, name, text, strlen(text), 0600, err);
}

int pki_admin_client(const char *dir, char **ret_pem) {
        _cleanup_free_ char *p_cert = xstrdup_printf("%s/admin.crt", dir), *p_key = xstrdup_printf("%s/admin.key", dir),
                            *cert = NULL, *key = NULL;
        int r = -EIO;

        if (!p_cert || !p_key)
                return -ENOMEM;
        if (host_read_live(p_cert, 64 * 1024, &cert) >= 0 && host_read_live(p_key, 64 * 1024, &key) >= 0) {
                *ret_pem = xstrdup_printf("%s%s", cert, key);
                r = *ret_pem ? 0 : -ENOMEM;
        }
        if (key)
                explicit_bzero(key, strlen(key));
        return r;
}

int pki_ca_pin(const char *dir, char *buf, size_t size) {
        _cleanup_(host_done) struct host h = { .root_fd = -EBADF };
        _cleanup_free_ struct join_pin *pins = NULL;
        _cleanup_free_ char *pem = NULL;
        size_t n;
        int r;

        if (size < PKI_PIN_MAX)
                return -ENOBUFS;
        r = pki_dir_open(dir, false, &h, NULL);
        if (r < 0)
                return r;
        r = pki_file_read(&h, "/ca.crt", &pem);
        if (r < 0)
                return r;
        r = join_pins_of_pem(pem, &pins, &n);
        ERR_clear_error();
        if (r < 0)
                return r;
        join_pin_format(&pins[0], buf);
        return 0;
}

/* A certificate of node's kubelet (CN system:node:NODE, O system:nodes) from dir's CA with a new key, as one PEM,
 * certificate then key: for serving (DNS name node, IP address ip) or as a client (ip NULL). */
static int kubelet_cert(const char *dir, const char *node, const char *ip, char **ret_pem, struct un_error *err) {
        const char *what = ip ? "the kubelet's serving certificate" : "the kubelet's client certificate";
        _cleanup_(host_done) struct host h = { .root_fd = -EBADF };
        _cleanup_(pki_pair_done) struct pki_pair ca = {}, p = {};
        _cleanup_free_ char *cn = xstrdup_printf("system:node:%s", node);
        _cleanup_(x509_name_freep) X509_NAME *subject = cn ? pki_name_new(cn, "system:nodes") : NULL;
        _cleanup_(bio_freep) BIO *b = BIO_new(BIO_s_mem());
        struct pki_sans sans = {};
        char *data;
        long len;
        int r;

        if (!subject || !b)
                return un_error(err, ENOMEM, "%s", what);
        r = pki_dir_open(dir, false, &h, err);
        if (r < 0)
                return r;
        if (pki_pair_load(&h, pki_cas[PKI_CA_KUBERNETES].name, &ca) < 0)
                return un_error(err, EIO, "cannot load the cluster's CA in %s", dir);
        r = ip ? pki_sans_add_dns(&sans, node) : 0;
        if (r >= 0 && ip)
                r = pki_sans_add_ip(&sans, ip);
        if (r >= 0)
                r = pki_pair_issue(&(struct pki_template) { .subject = subject, .days = PKI_LEAF_DAYS,
                                                            .usage = ip ? PKI_SERVER : PKI_CLIENT,
                                                            .sans = ip ? &sans : NULL },
                                   &ca, &p);
        pki_sans_done(&sans);
        if (r < 0)
                return un_error(err, r, "cannot issue %s for %s", what, node);
        if (PEM_write_bio_X509(b, p.cert) != 1 || PEM_write_bio_PrivateKey(b, p.key, NULL, NULL, 0, NULL, NULL) != 1)
                return un_error(err, EIO, "cannot encode %s", what);
        len = BIO_get_mem_data(b, &data);
        *ret_pem = strndup(data, (size_t) len);
        OPENSSL_cleanse(data, (size_t) len);
        return *ret_pem ? 0 : un_error(err, ENOMEM, "%s", what);
}

int pki_kubelet_serving(const char *dir, const char *node, const char *ip, char **ret_pem, struct un_error *err) {
        return kubelet_cert(dir, node, ip, ret_pem, err);
}

int pki_kubelet_client(const char *dir, const char *node, char **ret_pem, struct un_error *err) {
        return kubelet_cert(dir, node, NULL, ret_pem, err);
}
