/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "suites.h"

Suite *net_suite(void) {
        return suite_create("net");
}
