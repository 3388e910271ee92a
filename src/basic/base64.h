/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

/* Base64 (RFC 4648): the standard alphabet with padding (section 4), as a manifest or a kubeconfig holds
 * it, and base64url without padding (section 5; a JWS, RFC 7515 section 2). */
enum base64_form {
        BASE64_STD,             /* A-Z a-z 0-9 + /, padded with '=' to a multiple of 4 */
        BASE64_URL,             /* A-Z a-z 0-9 - _, no padding */
};

/* The encoding of len bytes, NUL-terminated; NULL on ENOMEM. */
char *base64_encode(const void *data, size_t len, enum base64_form form);

/* Decodes s, strictly in form (BASE64_STD: padding required where due, nothing after it; BASE64_URL: no
 * padding), into *ret (NUL-terminated after *ret_len bytes, which may hold NULs). -EINVAL for anything
 * else, -ENOMEM. */
int base64_decode(const char *s, enum base64_form form, unsigned char **ret, size_t *ret_len);
