/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

#include "error.h"

struct json_object;

#define YAML_JSON_INPUT_MAX (1024u * 1024u)
#define YAML_JSON_DEPTH_MAX 64u

/* One YAML document (libyaml) as a json-c object, the way Kubernetes reads its YAML (sigs.k8s.io/yaml):
 * plain scalars resolve to null, booleans (true/false/yes/no/on/off), integers and floats, everything
 * else is a string; quoted scalars are strings. Aliases, documents beyond the first, more than
 * YAML_JSON_DEPTH_MAX levels or YAML_JSON_INPUT_MAX bytes are refused (-EINVAL, -EFBIG) with what
 * names the input in err. */
int yaml_to_json(const char *what, const char *text, size_t len, struct json_object **ret, struct un_error *err);

/* o[key] when o is an object and it holds one of that type (json_type), else NULL. */
struct json_object *json_get(struct json_object *o, const char *key, int type);
