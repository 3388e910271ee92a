/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The network side of setup, all of it for --fast-net. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "setup-internal.h"

static const char *const lxc_user_nic_paths[] = {
        "/usr/lib/x86_64-linux-gnu/lxc/lxc-user-nic", "/usr/lib/aarch64-linux-gnu/lxc/lxc-user-nic",
        "/usr/libexec/lxc/lxc-user-nic", "/usr/lib/lxc/lxc-user-nic",
};

/* --fast-net: lxc-user-nic (setuid, from the lxc package) may give U up to 10 veths on usernode0, a
 * bridge systemd-networkd makes and masquerades. */
int setup_plan_fast_net(const struct host *h, const struct user *u, struct plan *p, struct un_error *err) {
        static const struct {
                const char *path, *body;
        } files[] = {
                { "/etc/systemd/network/50-" SETUP_BRIDGE ".netdev",
                  "[NetDev]\nName=" SETUP_BRIDGE "\nKind=bridge\n" },
                { "/etc/systemd/network/50-" SETUP_BRIDGE ".network",
                  "[Match]\nName=" SETUP_BRIDGE "\n\n[Network]\nAddress=10.44.0.1/24\nIPMasquerade=ipv4\n"
                  "ConfigureWithoutCarrier=yes\n"
                  /* rootlesskit's lxc-user-nic driver configures the node by DHCP, DNS included. */
                  "DHCPServer=yes\n\n[DHCPServer]\nPoolOffset=16\nEmitDNS=yes\n" },
        };
        _cleanup_free_ char *line = xstrdup_printf("%s veth %s 10", u->name, SETUP_BRIDGE);
        _cleanup_free_ char *prefix = xstrdup_printf("%s veth %s ", u->name, SETUP_BRIDGE);
        bool have_nic = false;
        int r;

        if (!line || !prefix)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(lxc_user_nic_paths); i++)
                have_nic = have_nic || host_exists(h, lxc_user_nic_paths[i]);
        if (!have_nic)
                setup_plan_note(&p->notes, "lxc-user-nic is not installed: install the lxc package for --fast-net to "
                                "take effect");
        r = setup_plan_add_line(h, SETUP_LXC_USERNET, line, prefix, p, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                r = setup_plan_add_own_file(h, p, files[i].path,
                                            xstrdup_printf(OURS ": the bridge for --fast-net. `usernode unsetup` "
                                                           "removes it.\n%s", files[i].body),
                                            err);
                if (r < 0)
                        return r;
                if (r > 0)
                        p->networkd = true;
        }
        return 0;
}

