/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "kubeapi.h"
#include "util.h"
#include "yamljson.h"

struct sink {
        struct buf b;
        bool too_big;
};

static size_t sink_write(char *data, size_t size, size_t n, void *userdata) {
        struct sink *s = userdata;
        size_t len = size * n;

        if (s->b.len + len > KUBEAPI_BODY_MAX) {
                s->too_big = true;
                return 0;
        }
        return buf_append(&s->b, data, len) < 0 ? 0 : len;
}

static int curl_errno(CURLcode c) {
        switch (c) {
        case CURLE_COULDNT_CONNECT:
                return ECONNREFUSED;
        case CURLE_OPERATION_TIMEDOUT:
                return ETIMEDOUT;
        case CURLE_COULDNT_RESOLVE_HOST:
                return EHOSTUNREACH;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
                return EPERM;
        case CURLE_SSL_CONNECT_ERROR:
                return EPROTO;
        case CURLE_OUT_OF_MEMORY:
                return ENOMEM;
        case CURLE_WRITE_ERROR:
                return EFBIG;
        default:
                return EIO;
        }
}

static bool curl_ready(void) {
        static int state; /* 0 not yet, 1 ok, -1 failed */

        if (state == 0)
                state = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 1 : -1;
        return state > 0;
}

void kubeapi_reply_done(struct kubeapi_reply *r) {
        free(r->body);
        *r = (struct kubeapi_reply) {};
}

int kubeapi_request(const struct kubeapi *a, const char *method, const char *path, const char *body,
                    struct kubeapi_reply *ret, struct un_error *err) {
        _cleanup_free_ char *url = NULL, *auth = NULL;
        struct curl_slist *headers = NULL;
        char errbuf[CURL_ERROR_SIZE] = "";
        struct sink sink = {};
        CURL *c = NULL;
        CURLcode cc;
        long status = 0;
        int r = 0;

        if (a->insecure && (a->token || a->client_cert))
                return un_error(err, EINVAL, "refusing to send credentials to an unverified server");
        if (!a->insecure && !a->ca_pem)
                return un_error(err, EINVAL, "no CA to verify %s with", a->server);
        if (!curl_ready())
                return un_error(err, EIO, "cannot initialise libcurl");
        url = xstrdup_printf("%s%s", a->server, path);
        if (a->token)
                auth = xstrdup_printf("Authorization: Bearer %s", a->token);
        c = curl_easy_init();
        if (!url || (a->token && !auth) || !c) {
                r = un_error(err, ENOMEM, "request to %s", a->server);
                goto out;
        }
        headers = curl_slist_append(headers, "Accept: application/json");
        if (headers && body)
                headers = curl_slist_append(headers, strcmp(method, "PATCH") == 0
                                                             ? "Content-Type: application/strategic-merge-patch+json"
                                                             : "Content-Type: application/json");
        if (headers && auth)
                headers = curl_slist_append(headers, auth);
        if (!headers) {
                r = un_error(err, ENOMEM, "request to %s", a->server);
                goto out;
        }
        (void) curl_easy_setopt(c, CURLOPT_URL, url);
        (void) curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
        (void) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        (void) curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
        (void) curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        (void) curl_easy_setopt(c, CURLOPT_NOPROXY, "*");     /* the cluster is reached directly */
        (void) curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        (void) curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long) (a->timeout_ms ? a->timeout_ms : 10000u));
        (void) curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
        (void) curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
        (void) curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
        (void) curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
        if (body)
                (void) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        if (a->insecure) {
                (void) curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
                (void) curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
        } else {
                struct curl_blob ca = { .data = (void *) a->ca_pem, .len = strlen(a->ca_pem),
                                        .flags = CURL_BLOB_COPY };

                (void) curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
                (void) curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
                /* Only the cluster's CA: never the system's store. */
                (void) curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
                (void) curl_easy_setopt(c, CURLOPT_CAINFO, NULL);
                cc = curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
                if (cc != CURLE_OK) {
                        r = un_error(err, EIO, "libcurl cannot take a CA from memory: %s", curl_easy_strerror(cc));
                        goto out;
                }
        }
        if (a->client_cert) {
                struct curl_blob pem = { .data = (void *) a->client_cert, .len = strlen(a->client_cert),
                                         .flags = CURL_BLOB_COPY };

                (void) curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
                (void) curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
                if (curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &pem) != CURLE_OK ||
                    curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &pem) != CURLE_OK) {
                        r = un_error(err, EIO, "libcurl cannot take a client certificate from memory");
                        goto out;
                }
        }
        cc = curl_easy_perform(c);
        if (cc != CURLE_OK) {
                if (sink.too_big)
                        r = un_error(err, EFBIG, "%s %s: the reply is larger than %u bytes", method, url,
                                     KUBEAPI_BODY_MAX);
                else
                        r = un_error(err, curl_errno(cc), "%s %s: %s", method, url,
                                     errbuf[0] ? errbuf : curl_easy_strerror(cc));
                goto out;
        }
        (void) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (buf_append(&sink.b, "", 1) < 0) {
                r = un_error(err, ENOMEM, "request to %s", a->server);
                goto out;
        }
        ret->status = status;
        ret->len = sink.b.len - 1;
        ret->body = buf_steal(&sink.b);
out:
        buf_free(&sink.b);
        curl_slist_free_all(headers);
        if (c)
                curl_easy_cleanup(c);
        if (auth)
                explicit_bzero(auth, strlen(auth));
        return r;
}

int kubeapi_patch(const struct kubeapi *a, const char *path, struct json_object *patch, const char *what,
                  struct un_error *err) {
        const char *body = patch ? json_object_to_json_string(patch) : NULL;
        struct kubeapi_reply reply = {};
        char msg[256];
        int r;

        r = body ? kubeapi_request(a, "PATCH", path, body, &reply, err) : un_error(err, ENOMEM, "%s", what);
        json_object_put(patch);
        if (r < 0)
                return r;
        if (reply.status != 200)
                r = un_error(err,
                             reply.status == 404                           ? ENOENT
                             : reply.status == 401 || reply.status == 403 ? EACCES
                             : reply.status == 429 || reply.status >= 500 ? EAGAIN
                                                                          : EINVAL,
                             "%s: %s", what, kubeapi_status_message(&reply, msg, sizeof msg));
        kubeapi_reply_done(&reply);
        return r;
}

const char *kubeapi_status_message(const struct kubeapi_reply *r, char *buf, size_t size) {
        struct json_object *o = r->body ? json_tokener_parse(r->body) : NULL, *m;

        if (o && json_object_object_get_ex(o, "message", &m) && json_object_is_type(m, json_type_string))
                snprintf(buf, size, "%s", json_object_get_string(m));
        else if (r->status == 401)
                snprintf(buf, size, "Unauthorized");
        else if (r->status == 403)
                snprintf(buf, size, "Forbidden");
        else if (r->status == 404)
                snprintf(buf, size, "Not Found");
        else
                snprintf(buf, size, "HTTP status %ld", r->status);
        json_object_put(o);
        /* One line: a message quoting a peer may hold newlines. */
        for (char *p = buf; *p; p++)
                if (*p == '\n' || *p == '\r')
                        *p = ' ';
        return buf;
}

int kubeconfig_cluster_field(const char *what, const char *text, const char *key, char **ret, struct un_error *err) {
        struct json_object *o = NULL, *clusters, *v;
        int r = yaml_to_json(what, text, strlen(text), &o, err);

        if (r < 0)
                return r;
        clusters = json_get(o, "clusters", json_type_array);
        v = clusters && json_object_array_length(clusters) > 0
                    ? json_get(json_get(json_object_array_get_idx(clusters, 0), "cluster", json_type_object), key,
                               json_type_string)
                    : NULL;
        *ret = v ? strdup(json_object_get_string(v)) : NULL;
        json_object_put(o);
        if (!v)
                return un_error(err, ENOENT, "%s names no %s", what, key);
        return *ret ? 0 : un_error(err, ENOMEM, "%s", what);
}

int kubeapi_list(const struct kubeapi *a, const char *path, const char *what, struct json_object **ret,
                 struct un_error *err) {
        struct kubeapi_reply reply = {};
        struct json_object *o;
        char msg[256];
        int r;

        *ret = NULL;
        r = kubeapi_request(a, "GET", path, NULL, &reply, err);
        if (r < 0)
                return r;
        if (reply.status != 200) {
                r = un_error(err, reply.status == 401 || reply.status == 403 ? EACCES : EIO, "listing %s: %s", what,
                             kubeapi_status_message(&reply, msg, sizeof msg));
                kubeapi_reply_done(&reply);
                return r;
        }
        o = json_tokener_parse(reply.body);
        kubeapi_reply_done(&reply);
        if (!json_get(o, "items", json_type_array)) {
                json_object_put(o);
                return un_error(err, EBADMSG, "listing %s: not a List", what);
        }
        *ret = o;
        return 0;
}
