/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <check.h>

/* One suite per library module; main.c runs them all in one runner. */
Suite *util_suite(void);
Suite *host_suite(void);
Suite *distro_suite(void);
Suite *kernel_suite(void);
Suite *users_suite(void);
Suite *cgroup_suite(void);
Suite *unitfile_suite(void);
Suite *delegation_suite(void);
Suite *rules_suite(void);
Suite *json_suite(void);
Suite *template_suite(void);
Suite *conffile_suite(void);
Suite *netlink_suite(void);
Suite *sysctl_suite(void);
Suite *kmod_suite(void);
Suite *net_suite(void);
Suite *limits_suite(void);
Suite *version_suite(void);
Suite *apparmor_suite(void);
Suite *probe_suite(void);
Suite *node_suite(void);
Suite *subid_suite(void);
Suite *setup_suite(void);
Suite *up_suite(void);
Suite *join_suite(void);
Suite *csr_suite(void);
Suite *podlimits_suite(void);
Suite *controlplane_suite(void);
Suite *pki_suite(void);
