/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "suites.h"

Suite *kmod_suite(void) {
        return suite_create("kmod");
}
