/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* SHA-256 (FIPS 180-4): the manifest records the hash of every file setup wrote. */
#define SHA256_HEX_LEN 64

void sha256(const void *data, size_t len, uint8_t ret[32]);
/* Lower-case hex digest into ret (65 bytes with the NUL). */
void sha256_hex(const void *data, size_t len, char ret[SHA256_HEX_LEN + 1]);
