/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "probe.h"
#include "suites.h"

int main(int argc, char **argv) {
        SRunner *sr;
        int failed;

        /* The probes re-execute their own binary for the user-namespace child, as usernode does. */
        if (argc > 1 && strcmp(argv[1], PROBE_CHILD_VERB) == 0)
                return probe_userns_child_main(argc - 1, argv + 1);
        sr = srunner_create(util_suite());

        srunner_add_suite(sr, host_suite());
        srunner_add_suite(sr, distro_suite());
        srunner_add_suite(sr, kernel_suite());
        srunner_add_suite(sr, users_suite());
        srunner_add_suite(sr, cgroup_suite());
        srunner_add_suite(sr, unitfile_suite());
        srunner_add_suite(sr, delegation_suite());
        srunner_add_suite(sr, rules_suite());
        srunner_add_suite(sr, json_suite());
        srunner_add_suite(sr, template_suite());
        srunner_add_suite(sr, conffile_suite());
        srunner_add_suite(sr, netlink_suite());
        srunner_add_suite(sr, sysctl_suite());
        srunner_add_suite(sr, kmod_suite());
        srunner_add_suite(sr, net_suite());
        srunner_add_suite(sr, limits_suite());
        srunner_add_suite(sr, version_suite());
        srunner_add_suite(sr, apparmor_suite());
        srunner_add_suite(sr, probe_suite());
        srunner_add_suite(sr, node_suite());
        srunner_add_suite(sr, subid_suite());
        srunner_add_suite(sr, setup_suite());
        srunner_add_suite(sr, up_suite());
        srunner_add_suite(sr, join_suite());
        srunner_add_suite(sr, csr_suite());
        srunner_add_suite(sr, podlimits_suite());
        srunner_add_suite(sr, controlplane_suite());
        srunner_add_suite(sr, pki_suite());
        srunner_set_fork_status(sr, CK_FORK);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
