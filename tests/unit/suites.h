/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <check.h>

/* One suite per library module; main.c runs them all in one runner. */
Suite *util_suite(void);
Suite *host_suite(void);
Suite *distro_suite(void);
Suite *users_suite(void);
Suite *cgroup_suite(void);
Suite *rules_suite(void);
Suite *json_suite(void);
Suite *template_suite(void);
Suite *subid_suite(void);
Suite *setup_suite(void);
