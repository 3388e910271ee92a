/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The one writer of the kubeconfigs usernode makes: the kubelet's bootstrap (a token) and its own (its
 * certificate's files), the cluster's components' and the admin's (embedded), cluster-info (no user). */
#include "config.h"

#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "kubeconfig.h"
#include "util.h"

static json_object *base64_string(const char *s) {
        _cleanup_free_ char *out = base64_encode(s, strlen(s), BASE64_STD);

        return out ? json_object_new_string(out) : NULL;
}

/* Adds key: value when value is given (embedded: base64), false on ENOMEM. */
static bool add(json_object *o, const char *key, const char *value, bool embed) {
        json_object *v;

        if (!value)
                return true;
        v = embed ? base64_string(value) : json_object_new_string(value);
        return v && json_object_object_add(o, key, v) == 0;
}

/* [{"name": "usernode", KIND: value}], or [] without a value; takes value. */
static json_object *list_of(const char *kind, json_object *value) {
        json_object *list = json_object_new_array(), *entry = value ? json_object_new_object() : NULL;

        if (!list || (value && (!entry || json_object_array_add(list, entry) < 0))) {
                json_object_put(list);
                json_object_put(entry);
                json_object_put(value);
                return NULL;
        }
        if (entry) {
                json_object_object_add(entry, "name", json_object_new_string("usernode"));
                json_object_object_add(entry, kind, value);
        }
        return list;
}

char *kubeconfig_render(const struct kubeconfig_spec *s) {
        const bool has_user = s->token || s->cert_file || s->cert_pem;
        json_object *root = json_object_new_object(), *cluster = json_object_new_object(),
                    *user = has_user ? json_object_new_object() : NULL, *context = NULL;
        char *text = NULL;
        bool ok = root && cluster && (!has_user || user);

        ok = ok && add(cluster, "server", s->server, false) && add(cluster, "certificate-authority", s->ca_file, false) &&
             add(cluster, "certificate-authority-data", s->ca_pem, true);
        ok = ok && (!user || (add(user, "token", s->token, false) && add(user, "client-certificate", s->cert_file, false) &&
                              add(user, "client-key", s->key_file, false) &&
                              add(user, "client-certificate-data", s->cert_pem, true) &&
                              add(user, "client-key-data", s->key_pem, true)));
        if (ok && has_user) {
                context = json_object_new_object();
                ok = context && add(context, "cluster", "usernode", false) && add(context, "user", "usernode", false);
        }
        if (ok) {
                json_object_object_add(root, "apiVersion", json_object_new_string("v1"));
                json_object_object_add(root, "kind", json_object_new_string("Config"));
                json_object_object_add(root, "clusters", list_of("cluster", TAKE_PTR(cluster)));
                json_object_object_add(root, "users", list_of("user", TAKE_PTR(user)));
                json_object_object_add(root, "contexts", list_of("context", TAKE_PTR(context)));
                if (has_user)
                        json_object_object_add(root, "current-context", json_object_new_string("usernode"));
                const char *json = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);

                text = json ? xstrdup_printf("%s\n", json) : NULL;
                /* json-c keeps the rendered string inside root: wipe it (a token or a key) before it is freed. */
                if (json)
                        explicit_bzero((char *) json, strlen(json));
        }
        json_object_put(root);
        json_object_put(cluster);
        json_object_put(user);
        json_object_put(context);
        return text;
}
