/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "distro.h"
#include "util.h"

/* Unquotes an os-release value in place (shell-style single or double quotes, backslash escapes). */
static char *unquote(char *v) {
        size_t n = strlen(v);
        char *w, *r;

        if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
                v[n - 1] = '\0';
                v++;
        }
        for (r = w = v; *r; r++) {
                if (*r == '\\' && r[1])
                        r++;
                *w++ = *r;
        }
        *w = '\0';
        return v;
}

static enum distro_family family_of(const char *id, const char *id_like) {
        static const struct {
                const char *id;
                enum distro_family family;
        } known[] = {
                { "ubuntu", DISTRO_UBUNTU },   { "debian", DISTRO_DEBIAN },     { "fedora", DISTRO_FEDORA },
                { "rhel", DISTRO_RHEL },       { "centos", DISTRO_RHEL },       { "rocky", DISTRO_RHEL },
                { "almalinux", DISTRO_RHEL },  { "ol", DISTRO_RHEL },           { "opensuse-leap", DISTRO_SUSE },
                { "opensuse-tumbleweed", DISTRO_SUSE }, { "sles", DISTRO_SUSE }, { "suse", DISTRO_SUSE },
                { "arch", DISTRO_ARCH },       { "alpine", DISTRO_ALPINE },     { "nixos", DISTRO_NIXOS },
        };

        for (size_t i = 0; id && i < ELEMENTSOF(known); i++)
                if (strcmp(id, known[i].id) == 0)
                        return known[i].family;
        /* ID_LIKE lists the closest first: "ubuntu debian" for Mint. */
        if (id_like) {
                _cleanup_strv_free_ char **l = NULL;

                if (strv_split(id_like, " \t", &l) >= 0)
                        for (char **w = l; *w; w++)
                                for (size_t i = 0; i < ELEMENTSOF(known); i++)
                                        if (strcmp(*w, known[i].id) == 0)
                                                return known[i].family;
        }
        return DISTRO_OTHER;
}

int distro_parse_os_release(const char *text, struct distro *ret) {
        _cleanup_free_ char *copy = strdup(text), *id = NULL, *id_like = NULL, *version = NULL, *pretty = NULL;
        char *cursor = copy, *line;
        int r = 0;

        if (!copy)
                return -ENOMEM;
        while ((line = line_next(&cursor, HOST_LINE_MAX, &r))) {
                char *eq, *key, *val, **slot = NULL;

                line = strstrip(line);
                if (line[0] == '#' || !(eq = strchr(line, '=')))
                        continue;
                *eq = '\0';
                key = strstrip(line);
                val = unquote(strstrip(eq + 1));
                if (strcmp(key, "ID") == 0)
                        slot = &id;
                else if (strcmp(key, "ID_LIKE") == 0)
                        slot = &id_like;
                else if (strcmp(key, "VERSION_ID") == 0)
                        slot = &version;
                else if (strcmp(key, "PRETTY_NAME") == 0)
                        slot = &pretty;
                if (!slot)
                        continue;
                free(*slot);
                *slot = strdup(val);
                if (!*slot)
                        return -ENOMEM;
        }
        if (r < 0)
                return r;
        *ret = (struct distro) {
                .family = family_of(id, id_like),
                .id = id ? TAKE_PTR(id) : strdup("linux"),
                .version_id = TAKE_PTR(version),
                .pretty_name = TAKE_PTR(pretty),
        };
        return ret->id ? 0 : -ENOMEM;
}

int distro_load(const struct host *h, struct distro *ret) {
        static const char *const paths[] = { "/etc/os-release", "/usr/lib/os-release" };

        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                _cleanup_free_ char *text = NULL;
                int r = host_read_file(h, paths[i], 64 * 1024, &text, NULL);

                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return r;
                return distro_parse_os_release(text, ret);
        }
        return distro_parse_os_release("", ret);
}

void distro_done(struct distro *d) {
        free(d->id);
        free(d->version_id);
        free(d->pretty_name);
        *d = (struct distro) {};
}

const char *distro_install_command(const struct distro *d) {
        switch (d->family) {
        case DISTRO_DEBIAN:
        case DISTRO_UBUNTU:
                return "sudo apt-get install -y";
        case DISTRO_FEDORA:
        case DISTRO_RHEL:
                return "sudo dnf install -y";
        case DISTRO_SUSE:
                return "sudo zypper install -y";
        case DISTRO_ARCH:
                return "sudo pacman -S --needed";
        case DISTRO_ALPINE:
                return "sudo apk add";
        case DISTRO_NIXOS:
                return "add to environment.systemPackages in /etc/nixos/configuration.nix, then sudo nixos-rebuild "
                       "switch:";
        default:
                return "install with your package manager:";
        }
}

const char *distro_package(const struct distro *d, const char *debian_name) {
        static const struct {
                const char *debian, *fedora, *suse, *arch, *alpine, *nixos;
        } names[] = {
                /* newuidmap/newgidmap ship in shadow everywhere but Debian (and Alpine's shadow-uidmap); on NixOS
                 * the package alone gives no setuid copy (security.wrappers does, hostconf.c). */
                { "uidmap", "shadow-utils", "shadow", "shadow", "shadow-uidmap", "shadow" },
                { "passt", "passt", "passt", "passt", "passt", "passt" },
                { "containernetworking-plugins", "containernetworking-plugins", "cni-plugins", "cni-plugins",
                  "cni-plugins", "cni-plugins" },
                { "apparmor", "apparmor-parser", "apparmor-parser", "apparmor", "apparmor", "apparmor-parser" },
                { "iproute2", "iproute", "iproute2", "iproute2", "iproute2", "iproute2" },
                { "kmod", "kmod", "kmod", "kmod", "kmod", "kmod" },
        };

        if (d->family == DISTRO_DEBIAN || d->family == DISTRO_UBUNTU || d->family == DISTRO_OTHER)
                return debian_name;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strcmp(names[i].debian, debian_name) == 0)
                        switch (d->family) {
                        case DISTRO_FEDORA:
                        case DISTRO_RHEL:
                                return names[i].fedora;
                        case DISTRO_SUSE:
                                return names[i].suse;
                        case DISTRO_ARCH:
                                return names[i].arch;
                        case DISTRO_ALPINE:
                                return names[i].alpine;
                        case DISTRO_NIXOS:
                                return names[i].nixos;
                        default:
                                break;
                        }
        return debian_name;
}

char *distro_kernel_cmdline_fix(const struct distro *d, const char *arg) {
        switch (d->family) {
        case DISTRO_FEDORA:
        case DISTRO_RHEL:
                return xstrdup_printf("sudo grubby --update-kernel=ALL --args=\"%s\" && sudo reboot", arg);
        case DISTRO_SUSE:
                return xstrdup_printf("add \"%s\" to GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub, then "
                                      "sudo grub2-mkconfig -o /boot/grub2/grub.cfg && sudo reboot", arg);
        case DISTRO_ARCH:
                return xstrdup_printf("add \"%s\" to GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub, then "
                                      "sudo grub-mkconfig -o /boot/grub/grub.cfg && sudo reboot", arg);
        case DISTRO_ALPINE:
                return xstrdup_printf("add \"%s\" to default_kernel_opts in /etc/update-extlinux.conf, then "
                                      "sudo update-extlinux && sudo reboot", arg);
        case DISTRO_NIXOS:
                return xstrdup_printf("in /etc/nixos/configuration.nix: boot.kernelParams = [ \"%s\" ]; then "
                                      "sudo nixos-rebuild boot && sudo reboot", arg);
        default:
                return xstrdup_printf("echo 'GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX %s\"' | "
                                      "sudo tee /etc/default/grub.d/50-usernode-cgroup.cfg && sudo update-grub && sudo reboot",
                                      arg);
        }
}
