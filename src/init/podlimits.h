/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdint.h>

#include "error.h"

struct json_object;
struct node_api;

/* The kubelet's podPidsLimit unless up is told otherwise. */
#define UP_POD_PIDS_LIMIT_DEFAULT 4096
/* up's --pod-pids-limit: -1 (no limit) or 16-4194304 (the kernel's pid_max limit). */
int up_pod_pids_limit_parse(const char *s, int64_t *ret);

/* Pod limits a host may be unable to enforce (cgroup v1, no delegation): the pods still run, without them. */
enum {
        POD_LIMIT_CPU = 1u << 0,
        POD_LIMIT_MEMORY = 1u << 1,
};

/* A node that runs without cgroups of its own enforces no limit, whatever its host could: its labels of these
 * limits (usernode.io/limits.memory, …) say unavailable. 0, or -ENOMEM. */
int pod_limits_labels_without_cgroups(char **labels);
/* From the node's feature labels ("usernode.io/limits.memory=unavailable", …): which limits it cannot enforce. */
unsigned pod_limits_unenforced(char *const *labels);
/* Which of `limits` a pod (an API Pod object) sets on any of its containers. */
unsigned pod_limits_set(struct json_object *pod, unsigned limits);
/* Posts one Warning Event (reason "LimitsNotEnforced") on each pod of this node that sets a limit in
 * `unenforced`, once per pod: `warned` holds the UIDs already told and keeps only those of pods still there. */
int pod_limits_warn(const struct node_api *a, unsigned unenforced, char ***warned, struct un_error *err);
