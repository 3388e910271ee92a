/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "hostconf.h"
#include "util.h"

/* NixOS (nixpkgs' modules): systemd.services overrides become drop-ins in the generated
 * /etc/systemd/system; users-groups writes /etc/subuid and /etc/subgid from the declared ranges; the
 * linger module keeps /var/lib/systemd/linger as declared; boot.kernel.sysctl and boot.kernelModules
 * are /etc/sysctl.d/60-nixos.conf and /etc/modules-load.d/nixos.conf; the shadow module's
 * security.wrappers make the setuid copies in /run/wrappers/bin; virtualisation.lxc writes lxc-usernet. */
static const char *const nixos_owned[] = {
        "/etc/systemd/system/", "/etc/subuid", "/etc/subgid", "/var/lib/systemd/linger/", "/etc/sysctl.d/",
        "/etc/modules-load.d/", "/etc/lxc/", "/etc/apparmor.d/", NULL,
};

static const struct hostconf configs[] = {
        {
                .distro_id = "nixos",
                .file = "/etc/nixos/configuration.nix",
                .apply = "sudo nixos-rebuild switch",
                .owned = nixos_owned,
                .settings = {
                        [HOSTCONF_DELEGATE] = "systemd.services.\"user@\".serviceConfig.Delegate = \"{{controllers}}\";",
                        [HOSTCONF_SUBUID] = "users.users.{{user}}.subUidRanges = [ { startUid = {{start}}; count = {{count}}; } ];",
                        [HOSTCONF_SUBGID] = "users.users.{{user}}.subGidRanges = [ { startGid = {{start}}; count = {{count}}; } ];",
                        [HOSTCONF_LINGER] = "users.users.{{user}}.linger = true;",
                        [HOSTCONF_SYSCTL] = "boot.kernel.sysctl.\"{{key}}\" = {{value}};",
                        [HOSTCONF_MODULES] = "boot.kernelModules = [ {{modules}} ];",
                        [HOSTCONF_SETUID_TOOLS] =
                                "security.wrappers.newuidmap = { setuid = true; owner = \"root\"; group = \"root\"; "
                                "source = \"${pkgs.shadow.out}/bin/newuidmap\"; }; security.wrappers.newgidmap = { "
                                "setuid = true; owner = \"root\"; group = \"root\"; source = "
                                "\"${pkgs.shadow.out}/bin/newgidmap\"; };",
                        [HOSTCONF_LXC_USERNET] = "virtualisation.lxc.usernetConfig = ''{{line}}'';",
                },
        },
};

const struct hostconf *hostconf_for(const struct distro *d) {
        for (size_t i = 0; d && d->id && i < ELEMENTSOF(configs); i++)
                if (strcmp(d->id, configs[i].distro_id) == 0)
                        return &configs[i];
        return NULL;
}

bool hostconf_owns(const struct hostconf *hc, const char *path) {
        for (const char *const *o = hc ? hc->owned : NULL; o && *o; o++) {
                size_t n = strlen(*o);

                if ((*o)[n - 1] == '/' ? strncmp(path, *o, n) == 0 : strcmp(path, *o) == 0)
                        return true;
        }
        return false;
}

int hostconf_render(const struct hostconf *hc, enum hostconf_setting s, const struct template_var *vars,
                    size_t n_vars, char **ret) {
        if (!hc || (unsigned) s >= _HOSTCONF_SETTING_MAX || !hc->settings[s])
                return -EINVAL;
        return template_render(hc->distro_id, hc->settings[s], vars, n_vars, ret, NULL);
}

char *hostconf_fix(const struct hostconf *hc, const char *lines) {
        return xstrdup_printf("in %s: %s then %s", hc->file, lines, hc->apply);
}
