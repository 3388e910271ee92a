/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "distro.h"
#include "template.h"

/* A host whose own configuration generates what usernode would write (NixOS: /etc/systemd/system is a
 * link into the read-only store, /etc/subuid is rewritten from users.users at every activation). There
 * a fix is a line of that configuration, and setup writes nothing. The words are data (hostconf.c). */
enum hostconf_setting {
        HOSTCONF_DELEGATE,              /* {{controllers}} */
        HOSTCONF_SUBUID,                /* {{user}} {{start}} {{count}} */
        HOSTCONF_SUBGID,                /* {{user}} {{start}} {{count}} */
        HOSTCONF_LINGER,                /* {{user}} */
        HOSTCONF_SYSCTL,                /* {{key}} {{value}} (a Nix value: 1, "0 2147483647") */
        HOSTCONF_MODULES,               /* {{modules}}: "br_netfilter" "overlay" */
        HOSTCONF_SETUID_TOOLS,          /* newuidmap/newgidmap setuid root */
        HOSTCONF_LXC_USERNET,           /* {{line}} */
        _HOSTCONF_SETTING_MAX,
};

struct hostconf {
        const char *distro_id;          /* os-release ID */
        const char *file;               /* where the settings go */
        const char *apply;              /* the command that makes them real */
        const char *const *owned;       /* what it generates: a path, or a directory ending in '/' */
        const char *settings[_HOSTCONF_SETTING_MAX];
};

/* The configuration that owns the host's files, NULL where /etc is the admin's (every FHS host). */
const struct hostconf *hostconf_for(const struct distro *d);
/* Whether path is one the configuration generates (setup must not write it). */
bool hostconf_owns(const struct hostconf *hc, const char *path);
/* The setting's line with vars filled in ("systemd.services.\"user@\".serviceConfig.Delegate = ...;"). */
int hostconf_render(const struct hostconf *hc, enum hostconf_setting s, const struct template_var *vars,
                    size_t n_vars, char **ret);
/* A whole fix: "in FILE: LINES; then APPLY". lines is one or more rendered settings. */
char *hostconf_fix(const struct hostconf *hc, const char *lines);
