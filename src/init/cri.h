/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "error.h"

/* Whether the CRI server on a unix socket answers: one unary gRPC call (runtime.v1.RuntimeService/Version,
 * an empty request) over HTTP/2, through libcurl. containerd sends READY=1 when its gRPC server listens,
 * before its CRI plugin has restored its state ("server is not initialized yet"), and a kubelet started
 * then exits. 1 when the call succeeds, 0 while the server says it is not ready, -EPROTONOSUPPORT when it says it
 * has no CRI at all (the plugin failed to load), other -errno for the transport. */
int cri_answers(const char *socket_path, struct un_error *err);

#define CRI_IMAGE_NAME_MAX 255u         /* a reference such as registry.k8s.io/coredns/coredns:v1.10.1 */
#define CRI_REPLY_MAX (64u * 1024u)     /* an ImageStatus reply: a few hundred bytes */
/* Whether the CRI server's image store holds image (runtime.v1.ImageService/ImageStatus): 1 or 0, -errno
 * when it cannot tell. */
int cri_image_present(const char *socket_path, const char *image, struct un_error *err);
