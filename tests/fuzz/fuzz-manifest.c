/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>

#include "fuzz.h"
#include "manifest.h"

/* The setup manifest (/var/lib/usernode/setup/USER): what unsetup trusts to restore files. Whatever
 * parses formats to text that parses to the same text again; base64 round-trips. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_text(data, size), *out, *out2, *dec = NULL, *enc;
        struct manifest m = {}, m2 = {};
        struct un_error err = {};
        size_t len, len2, dlen;

        if (manifest_parse(text, size, &m, &err) >= 0) {
                out = manifest_format(&m, &len);
                assert(out);
                assert(manifest_parse(out, len, &m2, &err) >= 0);
                out2 = manifest_format(&m2, &len2);
                assert(out2 && len2 == len && memcmp(out, out2, len) == 0);
                free(out);
                free(out2);
                manifest_done(&m2);
                manifest_done(&m);
        }
        if (manifest_base64_decode(text, &dec, &dlen) >= 0) {
                enc = manifest_base64_encode(dec, dlen);
                assert(enc);
                free(enc);
                free(dec);
        }
        free(text);
        return 0;
}
