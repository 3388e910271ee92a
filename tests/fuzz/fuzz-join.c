/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What a server (or anyone on the way to it) sends a joining node: cluster-info's signature and its CA. */
#include "fuzz.h"
#include "join.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const struct join_token token = { .id = "abcdef", .secret = "0123456789abcdef" };
        struct join_pin pin, *pins = NULL;
        size_t n = 0;
        char *jws, *payload;

        fuzz_split(data, size, &jws, &payload);
        (void) join_jws_verify(jws, payload, &token);
        (void) join_token_parse(jws, &(struct join_token) {});
        (void) join_token_k3s_pinned(jws);
        (void) join_pin_parse(jws, &pin);
        if (join_pins_of_pem(payload, &pins, &n) >= 0)
                (void) join_pem_matches(payload, pins, n);
        free(pins);
        free(jws);
        free(payload);
        return 0;
}
