/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>

#include "base64.h"
#include "fuzz.h"
#include "manifest.h"

/* The setup manifest (/var/lib/usernode/setup/USER): what unsetup trusts to restore files. Whatever
 * parses formats to text that parses to the same text again. Base64, of the manifest's old contents and of
 * a join's JWS: whatever decodes, in either form, encodes back to the very same text (one text per value). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_text(data, size), *out, *out2, *enc;
        unsigned char *dec = NULL;
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
        for (int form = BASE64_STD; form <= BASE64_URL; form++)
                if (base64_decode(text, (enum base64_form) form, &dec, &dlen) >= 0) {
                        enc = base64_encode(dec, dlen, (enum base64_form) form);
                        assert(enc && strcmp(enc, text) == 0);
                        free(enc);
                        free(dec);
                }
        free(text);
        return 0;
}
