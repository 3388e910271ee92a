/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
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

/* The reply's body: its first gRPC message, bounded. */
struct grpc_body {
        unsigned char data[CRI_REPLY_MAX];
        size_t len;
        bool truncated;
};

static size_t body_append(char *data, size_t size, size_t n, void *userdata) {
        struct grpc_body *b = userdata;
        size_t len = size * n, room = sizeof b->data - b->len;

        if (len > room) {
                b->truncated = true;
                len = room;
        }
        memcpy(b->data + b->len, data, len);
        b->len += len;
        return size * n;
}

/* One unary call to method (e.g. "runtime.v1.RuntimeService/Version") with an encoded request message:
 * 0 with the grpc-status in g (and the reply's body in body), -errno for the transport. */
static int grpc_unary(const char *socket_path, const char *method, const unsigned char *msg, size_t msg_len,
                      struct grpc_reply *g, struct grpc_body *body, struct un_error *err) {
        _cleanup_free_ char *url = xstrdup_printf("http://localhost/%s", method);
        _cleanup_free_ unsigned char *frame = malloc(5 + msg_len);
        struct curl_slist *headers = NULL;
        CURL *c;
        CURLcode cc;

        if (!url || !frame)
                return un_error(err, ENOMEM, "CRI");
        /* A gRPC message: not compressed, its length big-endian, then the protobuf. */
        frame[0] = 0;
        frame[1] = (unsigned char) (msg_len >> 24);
        frame[2] = (unsigned char) (msg_len >> 16);
        frame[3] = (unsigned char) (msg_len >> 8);
        frame[4] = (unsigned char) msg_len;
        if (msg_len)
                memcpy(frame + 5, msg, msg_len);
        *g = (struct grpc_reply) { .status = -1 };
        body->len = 0;
        body->truncated = false;
        c = curl_easy_init();
        headers = curl_slist_append(headers, "Content-Type: application/grpc");
        if (headers)
                headers = curl_slist_append(headers, "TE: trailers");
        if (!c || !headers) {
                curl_slist_free_all(headers);
                curl_easy_cleanup(c);
                return un_error(err, ENOMEM, "CRI");
        }
        (void) curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket_path);
        (void) curl_easy_setopt(c, CURLOPT_URL, url);
        (void) curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
        (void) curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
        (void) curl_easy_setopt(c, CURLOPT_POSTFIELDS, frame);
        (void) curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long) (5 + msg_len));
        (void) curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, grpc_header);
        (void) curl_easy_setopt(c, CURLOPT_HEADERDATA, g);
        (void) curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_append);
        (void) curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
        (void) curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        (void) curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
        cc = curl_easy_perform(c);
        curl_slist_free_all(headers);
        curl_easy_cleanup(c);
        if (cc != CURLE_OK)
                return un_error(err, cc == CURLE_COULDNT_CONNECT ? ECONNREFUSED : EIO, "CRI at %s: %s", socket_path,
                                curl_easy_strerror(cc));
        return 0;
}

int cri_answers(const char *socket_path, struct un_error *err) {
        struct grpc_reply g;
        struct grpc_body body;
        int r;

        /* VersionRequest with its one field unset: an empty message. */
        r = grpc_unary(socket_path, "runtime.v1.RuntimeService/Version", NULL, 0, &g, &body, err);
        if (r < 0)
                return r;
        if (g.status == 0)
                return 1;
        if (g.status == GRPC_UNKNOWN || g.status == GRPC_UNAVAILABLE) {
                /* "server is not initialized yet": the CRI plugin is still restoring its state. */
                if (err)
                        snprintf(err->msg, sizeof err->msg, "CRI at %s: grpc-status %d: %s", socket_path, g.status,
                                 g.message);
                return 0;
        }
        /* UNIMPLEMENTED and the like: no CRI will come (its plugin did not load: a full disk, a bad config). */
        return un_error(err, EPROTONOSUPPORT, "containerd serves no CRI (grpc-status %d: %s)", g.status,
                        g.message[0] ? g.message : "no message");
}

/* Appends a protobuf varint. */
static size_t put_varint(unsigned char *p, uint64_t v) {
        size_t n = 0;

        do {
                p[n++] = (unsigned char) ((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
                v >>= 7;
        } while (v);
        return n;
}

static size_t varint_len(uint64_t v) {
        size_t n = 1;

        while (v > 0x7f) {
                v >>= 7;
                n++;
        }
        return n;
}

static int get_varint(const unsigned char *p, size_t len, size_t *pos, uint64_t *ret) {
        uint64_t v = 0;

        for (unsigned shift = 0; shift < 64; shift += 7) {
                if (*pos >= len)
                        return -EBADMSG;
                unsigned char b = p[(*pos)++];

                v |= (uint64_t) (b & 0x7f) << shift;
                if (!(b & 0x80)) {
                        *ret = v;
                        return 0;
                }
        }
        return -EBADMSG;
}

/* Whether a protobuf message holds field number `field`: walks its fields (varint, 64-bit, length-delimited,
 * 32-bit); anything else or a field running past the end is -EBADMSG. */
static int has_field(const unsigned char *p, size_t len, uint64_t field) {
        size_t pos = 0;

        while (pos < len) {
                uint64_t key, v;
                int r = get_varint(p, len, &pos, &key);

                if (r < 0)
                        return r;
                if (key >> 3 == field)
                        return 1;
                switch (key & 7) {
                case 0:
                        r = get_varint(p, len, &pos, &v);
                        break;
                case 1:
                        r = len - pos >= 8 ? (pos += 8, 0) : -EBADMSG;
                        break;
                case 2:
                        r = get_varint(p, len, &pos, &v);
                        r = r < 0 || v > len - pos ? -EBADMSG : (pos += v, 0);
                        break;
                case 5:
                        r = len - pos >= 4 ? (pos += 4, 0) : -EBADMSG;
                        break;
                default:
                        r = -EBADMSG;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

int cri_image_present(const char *socket_path, const char *image, struct un_error *err) {
        /* ImageStatusRequest { ImageSpec image = 1 { string image = 1 } } */
        unsigned char msg[2 * (1 + 10) + CRI_IMAGE_NAME_MAX];
        size_t name_len = strlen(image), spec_len, n = 0;
        struct grpc_reply g;
        struct grpc_body body;
        uint32_t frame_len;
        int r;

        if (name_len == 0 || name_len > CRI_IMAGE_NAME_MAX)
                return un_error(err, EINVAL, "image name of %zu bytes", name_len);
        spec_len = 1 + varint_len(name_len) + name_len;
        msg[n++] = 0x0a;
        n += put_varint(msg + n, spec_len);
        msg[n++] = 0x0a;
        n += put_varint(msg + n, name_len);
        memcpy(msg + n, image, name_len);
        n += name_len;
        r = grpc_unary(socket_path, "runtime.v1.ImageService/ImageStatus", msg, n, &g, &body, err);
        if (r < 0)
                return r;
        if (g.status != 0)
                return un_error(err, EIO, "CRI ImageStatus of %s: grpc-status %d: %s", image, g.status,
                                g.message[0] ? g.message : "no message");
        /* ImageStatusResponse { Image image = 1; ... }: the image field only when the store has it. */
        if (body.truncated || body.len < 5 || body.data[0] != 0)
                return un_error(err, EBADMSG, "CRI ImageStatus of %s: an unexpected reply", image);
        frame_len = (uint32_t) body.data[1] << 24 | (uint32_t) body.data[2] << 16 | (uint32_t) body.data[3] << 8 |
                    body.data[4];
        if (frame_len > body.len - 5)
                return un_error(err, EBADMSG, "CRI ImageStatus of %s: a reply cut short", image);
        r = has_field(body.data + 5, frame_len, 1);
        return r < 0 ? un_error(err, -r, "CRI ImageStatus of %s: a malformed reply", image) : r;
}
