/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Pod limits: the PIDs each pod may have (up's --pod-pids-limit, the kubelet's podPidsLimit), and the
 * cluster's view of limits a node cannot enforce. The node's labels say it once for the scheduler; a pod that
 * sets such a limit anyway gets an Event saying it runs without it, where its owner looks (`kubectl describe
 * pod`, `kubectl get events`). */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "init.h"
#include "nodeapi.h"
#include "podlimits.h"
#include "util.h"
#include "yamljson.h"

#define POD_LIMITS_WARNED_MAX 4096      /* UIDs remembered: far above a kubelet's maxPods */

int up_pod_pids_limit_parse(const char *s, int64_t *ret) {
        int64_t v;

        if (parse_i64(s, &v) < 0 || (v != -1 && (v < 16 || v > 4194304)))
                return -EINVAL;
        *ret = v;
        return 0;
}

static const struct {
        unsigned bit;
        const char *feature;            /* the check's feature ID, a label under UP_LABEL_PREFIX */
        const char *resource;           /* the key in a container's resources.limits */
} pod_limit_kinds[] = {
        { POD_LIMIT_MEMORY, "limits.memory", "memory" },
        { POD_LIMIT_CPU, "limits.cpu", "cpu" },
};

int pod_limits_labels_without_cgroups(char **labels) {
        for (char **l = labels; l && *l; l++)
                for (size_t i = 0; i < ELEMENTSOF(pod_limit_kinds); i++) {
                        _cleanup_free_ char *key = xstrdup_printf("%s%s=", UP_LABEL_PREFIX, pod_limit_kinds[i].feature);
                        char *label;

                        if (!key)
                                return -ENOMEM;
                        if (!startswith(*l, key) || strcmp(*l + strlen(key), "unavailable") == 0)
                                continue;
                        label = xstrdup_printf("%sunavailable", key);
                        if (!label)
                                return -ENOMEM;
                        free(*l);
                        *l = label;
                }
        return 0;
}

unsigned pod_limits_unenforced(char *const *labels) {
        unsigned mask = 0;

        for (size_t i = 0; i < ELEMENTSOF(pod_limit_kinds); i++) {
                _cleanup_free_ char *l = xstrdup_printf("%s%s=unavailable", UP_LABEL_PREFIX, pod_limit_kinds[i].feature);

                if (l && strv_contains(labels, l))
                        mask |= pod_limit_kinds[i].bit;
        }
        return mask;
}

static unsigned containers_limits(struct json_object *containers, unsigned limits) {
        unsigned set = 0;

        for (size_t i = 0; containers && i < json_object_array_length(containers); i++) {
                struct json_object *l = json_get(json_get(json_object_array_get_idx(containers, i), "resources",
                                                          json_type_object), "limits", json_type_object);

                for (size_t k = 0; l && k < ELEMENTSOF(pod_limit_kinds); k++)
                        if ((limits & pod_limit_kinds[k].bit) && json_object_object_get_ex(l, pod_limit_kinds[k].resource, NULL))
                                set |= pod_limit_kinds[k].bit;
        }
        return set;
}

unsigned pod_limits_set(struct json_object *pod, unsigned limits) {
        struct json_object *spec = json_get(pod, "spec", json_type_object);

        return containers_limits(json_get(spec, "containers", json_type_array), limits) |
               containers_limits(json_get(spec, "initContainers", json_type_array), limits);
}

static int warn_one(const struct node_api *a, struct json_object *pod, unsigned set, struct un_error *err) {
        const char *what = set == (POD_LIMIT_MEMORY | POD_LIMIT_CPU) ? "memory and cpu"
                           : set == POD_LIMIT_MEMORY                    ? "memory"
                                                                        : "cpu";
        _cleanup_free_ char *message = NULL;

        message = xstrdup_printf("node %s cannot enforce %s limits (its label %s%s=unavailable): this pod's containers "
                                 "run without them; `usernode check` on the node's host says why and how to fix it",
                                 a->name, what, UP_LABEL_PREFIX,
                                 (set & POD_LIMIT_MEMORY) ? "limits.memory" : "limits.cpu");
        if (!message)
                return un_error(err, ENOMEM, "event");
        return node_api_pod_event(a, pod, "LimitsNotEnforced", message, err);
}

int pod_limits_warn(const struct node_api *a, unsigned unenforced, char ***warned, struct un_error *err) {
        _cleanup_strv_free_ char **still = NULL;
        struct json_object *list = NULL, *items;
        int r, first = 0;

        r = node_api_list_pods(a, &list, err);
        if (r < 0)
                return r;
        items = json_get(list, "items", json_type_array);
        for (size_t i = 0; i < json_object_array_length(items) && strv_length(still) < POD_LIMITS_WARNED_MAX; i++) {
                struct json_object *pod = json_object_array_get_idx(items, i), *meta = json_get(pod, "metadata", json_type_object);
                const char *uid = json_object_get_string(json_get(meta, "uid", json_type_string));
                unsigned set = pod_limits_set(pod, unenforced);

                if (!uid || !set || json_get(meta, "deletionTimestamp", json_type_string))
                        continue;
                if (!strv_contains(*warned, uid)) {
                        struct un_error e = {};

                        r = warn_one(a, pod, set, first < 0 ? &e : err);
                        if (r < 0) {
                                /* Told next round; the first failure is the one reported. */
                                first = first < 0 ? first : r;
                                continue;
                        }
                }
                if (strv_push(&still, uid) < 0) {
                        json_object_put(list);
                        return un_error(err, ENOMEM, "pods");
                }
        }
        json_object_put(list);
        strv_free(*warned);
        *warned = TAKE_PTR(still);
        return first;
}
