/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "host.h"

/* Families differ in how a fix is applied: package names, package manager, boot loader tool. */
enum distro_family {
        DISTRO_DEBIAN,
        DISTRO_UBUNTU,
        DISTRO_FEDORA,
        DISTRO_RHEL,            /* RHEL, CentOS Stream, Rocky, Alma, Oracle */
        DISTRO_SUSE,
        DISTRO_ARCH,
        DISTRO_ALPINE,          /* OpenRC, apk */
        DISTRO_NIXOS,           /* /etc generated from configuration.nix (hostconf.h) */
        DISTRO_OTHER,
};

struct distro {
        enum distro_family family;
        char *id;               /* os-release ID, "debian" */
        char *version_id;       /* "12", may be NULL (testing, rolling) */
        char *pretty_name;
};

/* Parses os-release text (KEY=value, optionally quoted) into d. Unknown keys are ignored. */
int distro_parse_os_release(const char *text, struct distro *ret);
/* /etc/os-release, else /usr/lib/os-release, inside the host root. Missing file: DISTRO_OTHER. */
int distro_load(const struct host *h, struct distro *ret);
void distro_done(struct distro *d);

/* The command that installs packages here, e.g. "sudo apt-get install -y". */
const char *distro_install_command(const struct distro *d);
/* This distro's name for a Debian package name ("uidmap" is "shadow-utils" on Fedora). */
const char *distro_package(const struct distro *d, const char *debian_name);
/* How to add a kernel command line argument here, as a shell command, with a reboot. */
char *distro_kernel_cmdline_fix(const struct distro *d, const char *arg);
