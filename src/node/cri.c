/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cri.h"
#include "util.h"

/* gRPC status codes (grpc/doc/statuscodes.md). */
#define GRPC_UNKNOWN 2
#define GRPC_UNAVAILABLE 14

struct grpc_reply {
        int status;                     /* grpc-status, -1 until seen */
        char message[256];
};

/* grpc-status and grpc-message come as headers (a trailers-only answer) or as trailers: libcurl hands both
 * to the header callback. */
static size_t grpc_header(char *line, size_t size, size_t n, void *userdata) {
        struct grpc_reply *g = userdata;
        size_t len = size * n;
        const char *v;
        char buf[300];

        if (len >= sizeof buf)
                return len;
        memcpy(buf, line, len);
        buf[len] = '\0';
        buf[strcspn(buf, "\r\n")] = '\0';
        if ((v = startswith(buf, "grpc-status:")))
                g->status = atoi(v + strspn(v, " "));
        else if ((v = startswith(buf, "grpc-message:")))
                snprintf(g->message, sizeof g->message, "%s", v + strspn(v, " "));
        return len;
}

static size_t discard(char *data, size_t size, size_t n, void *userdata) {
        return size * n;
}

int cri_answers(const char *socket_path, struct un_error *err) {
        /* A gRPC message: no compression, length 0 (VersionRequest with its one field unset). */
        static const char empty_message[5] = { 0, 0, 0, 0, 0 };
        struct grpc_reply g = { .status = -1 };
        struct curl_slist *headers = NULL;
        CURL *c = curl_easy_init();
        CURLcode cc;
        int r;

        if (!c)
                return un_error(err, ENOMEM, "CRI");
        headers = curl_slist_append(headers, "Content-Type: application/grpc");
        if (headers)
                headers = curl_slist_append(headers, "TE: trailers");
        if (!headers) {
                curl_easy_cleanup(c);
                return un_error(err, ENOMEM, "CRI");
        }
        (void) curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket_path);
        (void) curl_easy_setopt(c, CURLOPT_URL, "http://localhost/runtime.v1.RuntimeService/Version");
        (void) curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
        (void) curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
        (void) curl_easy_setopt(c, CURLOPT_POSTFIELDS, empty_message);
        (void) curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long) sizeof empty_message);
        (void) curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, grpc_header);
        (void) curl_easy_setopt(c, CURLOPT_HEADERDATA, &g);
        (void) curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
        (void) curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        (void) curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
        cc = curl_easy_perform(c);
        if (cc != CURLE_OK)
                r = un_error(err, cc == CURLE_COULDNT_CONNECT ? ECONNREFUSED : EIO, "CRI at %s: %s", socket_path,
                             curl_easy_strerror(cc));
        else if (g.status == 0)
                r = 1;
        else if (g.status == GRPC_UNKNOWN || g.status == GRPC_UNAVAILABLE) {
                /* "server is not initialized yet": the CRI plugin is still restoring its state. */
                if (err)
                        snprintf(err->msg, sizeof err->msg, "CRI at %s: grpc-status %d: %s", socket_path, g.status,
                                 g.message);
                r = 0;
        } else
                /* UNIMPLEMENTED and the like: no CRI will come (its plugin did not load: a full disk, a bad config). */
                r = un_error(err, EPROTONOSUPPORT, "containerd serves no CRI (grpc-status %d: %s)", g.status,
                             g.message[0] ? g.message : "no message");
        curl_slist_free_all(headers);
        curl_easy_cleanup(c);
        return r;
}
