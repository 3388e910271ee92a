/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <json-c/json.h>

#include "fuzz.h"
#include "yamljson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_text(data, size);
        struct json_object *o = NULL;
        struct un_error err = {};

        if (yaml_to_json("fuzz.yaml", text, size, &o, &err) >= 0)
                (void) json_object_to_json_string(o);
        json_object_put(o);
        free(text);
        return 0;
}
