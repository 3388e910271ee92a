/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <stdio.h>

#include "error.h"

/* The kubelets' serving certificates in a usernode cluster (serverTLSBootstrap): which kubelet-serving CSRs its
 * control plane approves (csr.c says what a node may ask for). */
struct json_object;
struct kubeapi;

/* 0 when the CSR (a CertificateSigningRequest) asks for what its node is, given the cluster's Nodes (a NodeList's
 * items); -EPERM with why when not, -EAGAIN when its Node is not registered yet. */
int csr_kubelet_serving_judge(struct json_object *csr, struct json_object *nodes, char *why, size_t size);
/* Approves or denies each pending kubelet-serving CSR as admin, each decision a line to log: how many it decided. */
int csr_decide_kubelet_serving(const struct kubeapi *admin, FILE *log, struct un_error *err);
