/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "error.h"

/* Whether the CRI server on a unix socket answers: one unary gRPC call (runtime.v1.RuntimeService/Version,
 * an empty request) over HTTP/2, through libcurl. containerd sends READY=1 when its gRPC server listens,
 * before its CRI plugin has restored its state ("server is not initialized yet"), and a kubelet started
 * then exits. 1 when the call succeeds, 0 while the server says it is not ready, -EPROTONOSUPPORT when it says it
 * has no CRI at all (the plugin failed to load), other -errno for the transport. */
int cri_answers(const char *socket_path, struct un_error *err);
