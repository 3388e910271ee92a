/* SPDX-License-Identifier: GPL-2.0-or-later */
/* subid.uid, subid.gid, subid.tools: the user's sub-ID ranges and the setuid tools that map them. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checks.h"
#include "command.h"
#include "subid.h"
#include "util.h"

/* SSSD/NIS hosts keep sub-IDs outside /etc/subuid; shadow's getsubids asks libsubid. Live host only. */
static int subid_from_getsubids(const struct host *h, const char *name, bool gid, struct subid_file *ret) {
        _cleanup_free_ char *exe = NULL, *out = NULL;
        char *argv[4];
        size_t i = 0;
        int r, status;

        if (h->offline)
                return -EOPNOTSUPP;
        r = host_find_executable(h, "getsubids", &exe);
        if (r < 0)
                return r;
        argv[i++] = exe;
        if (gid)
                argv[i++] = (char *) "-g";
        argv[i++] = (char *) name;
        argv[i] = NULL;
        r = spawn_capture(argv, 64 * 1024, 5000, true, &out, &status);       /* getsubids needs nothing */
        if (r < 0)
                return r;
        if (status != 0)
                return -ENOENT;         /* getsubids exits 1 when the user has no range */
        return subid_parse_getsubids(out, name, ret);
}

static int load_id_tables(const struct host *h, struct id_table *pw, struct id_table *gr) {
        struct un_error e = {};

        if (id_table_load(h, "/etc/passwd", true, pw, &e) < 0)
                *pw = (struct id_table) {};
        if (id_table_load(h, "/etc/group", false, gr, &e) < 0)
                *gr = (struct id_table) {};
        return 0;
}

/* A start free in both files and clear of every real UID and GID, so one usermod command fixes both. */
static int find_free_both(const struct subid_file *u, const struct subid_file *g, const struct id_table *pw,
                          const struct id_table *gr, uint32_t count, uint32_t *ret) {
        uint32_t s = SUBID_FIRST;

        for (unsigned i = 0; i < 1000; i++) {
                uint32_t a, b;
                int r = subid_find_free(u, pw, s, count, &a);

                if (r < 0)
                        return r;
                r = subid_find_free(g, gr, a, count, &b);
                if (r < 0)
                        return r;
                if (a == b) {
                        *ret = a;
                        return 0;
                }
                s = b;
        }
        return -ENOSPC;
}

/* Where the configuration writes /etc/subuid and /etc/subgid (NixOS's users.users), the ranges go there. */
static char *subid_hostconf_fix(const struct check_ctx *c, const struct subid_file *uf, const struct subid_file *gf,
                                const struct id_table *pw, const struct id_table *gr) {
        _cleanup_free_ char *u = NULL, *g = NULL, *lines = NULL;
        char start[16], count[16];
        uint32_t free_start;

        if (find_free_both(uf, gf, pw, gr, SUBID_MIN_COUNT, &free_start) < 0)
                free_start = SUBID_FIRST;
        snprintf(start, sizeof start, "%u", free_start);
        snprintf(count, sizeof count, "%u", SUBID_MIN_COUNT);
        {
                const struct template_var vars[] = { { "user", c->user.name }, { "start", start }, { "count", count } };

                if (hostconf_render(c->hostconf, HOSTCONF_SUBUID, vars, ELEMENTSOF(vars), &u) < 0 ||
                    hostconf_render(c->hostconf, HOSTCONF_SUBGID, vars, ELEMENTSOF(vars), &g) < 0)
                        return NULL;
        }
        lines = xstrdup_printf("%s %s", u, g);
        return lines ? hostconf_fix(c->hostconf, lines) : NULL;
}

static int check_one(struct check_ctx *c, struct report *r, bool gid, const struct subid_file *uf,
                     const struct subid_file *gf, const char *load_error) {
        const char *id = gid ? "subid.gid" : "subid.uid", *path = gid ? "/etc/subgid" : "/etc/subuid";
        const char *what = gid ? "sub-GIDs" : "sub-UIDs";
        const struct subid_file *f = gid ? gf : uf;
        struct subid_file external = {};
        struct subid_verdict v;
        const char *name = c->user.name, *source = path;
        uint32_t own = gid ? (uint32_t) c->user.gid : (uint32_t) c->user.uid;
        _cleanup_free_ char *fix = NULL, *setup_fix = NULL, *setup_cmd = NULL;
        struct id_table pw = {}, gr = {};
        uint32_t free_start = 0;
        int k;

        if (load_error)
                return report_add(r, id, CHECK_FAIL,
                                  gid ? "correct or remove the line named above in /etc/subgid (owner:start:count)"
                                      : "correct or remove the line named above in /etc/subuid (owner:start:count)",
                                  "%s", load_error);

        subid_evaluate(f, name, (uint32_t) c->user.uid, own, &v);
        if (v.n_ranges == 0 && subid_from_getsubids(c->host, name, gid, &external) >= 0) {
                subid_evaluate(&external, name, (uint32_t) c->user.uid, own, &v);
                source = "getsubids";
        }

        load_id_tables(c->host, &pw, &gr);
        setup_cmd = check_setup_command(c, NULL);
        if (c->hostconf)
                fix = subid_hostconf_fix(c, uf, gf, &pw, &gr);
        else if (setup_cmd && find_free_both(uf, gf, &pw, &gr, SUBID_MIN_COUNT, &free_start) >= 0)
                fix = xstrdup_printf("%s (or: sudo usermod --add-subuids %u-%u --add-subgids %u-%u %s)", setup_cmd,
                                     free_start, free_start + SUBID_MIN_COUNT - 1, free_start,
                                     free_start + SUBID_MIN_COUNT - 1, name);
        else
                fix = TAKE_PTR(setup_cmd);
        id_table_done(&pw);
        id_table_done(&gr);
        if (!fix) {
                subid_file_done(&external);
                return -ENOMEM;
        }

        if (v.best) {
                bool *have = gid ? &c->have_subgid : &c->have_subuid;
                struct subid_range *dst = gid ? &c->subgid : &c->subuid;

                free(dst->owner);
                *dst = *v.best;
                dst->owner = strdup(v.best->owner);
                *have = dst->owner != NULL;
        }

        if (v.n_ranges == 0)
                k = report_add(r, id, CHECK_FAIL, fix, "%s has no %s in %s%s; rootless containers need %u", name, what,
                               path, c->host->offline ? "" : " (nor from getsubids)", SUBID_MIN_COUNT);
        else if (v.overlap_mine) {
                setup_fix = c->hostconf ? strdup(fix)
                                        : xstrdup_printf("remove line %u of %s, then %s", v.overlap_mine->line, path, fix);
                k = setup_fix ? report_add(r, id, CHECK_FAIL, setup_fix,
                                           "%s's range %u-%u (%s line %u) overlaps %s's range %u-%u (line %u): "
                                           "their containers could access each other's files",
                                           name, v.overlap_mine->start,
                                           v.overlap_mine->start + v.overlap_mine->count - 1, path,
                                           v.overlap_mine->line, v.overlap_other->owner, v.overlap_other->start,
                                           v.overlap_other->start + v.overlap_other->count - 1,
                                           v.overlap_other->line)
                              : -ENOMEM;
        } else if (v.contains_own) {
                setup_fix = c->hostconf ? strdup(fix)
                                        : xstrdup_printf("remove line %u of %s, then %s", v.contains_own->line, path, fix);
                k = setup_fix ? report_add(r, id, CHECK_FAIL, setup_fix,
                                           "%s's range %u-%u (%s line %u) contains %s's own %s %u",
                                           name, v.contains_own->start,
                                           v.contains_own->start + v.contains_own->count - 1, path,
                                           v.contains_own->line, name, gid ? "GID" : "UID", own)
                              : -ENOMEM;
        } else if (v.total < SUBID_MIN_COUNT)
                k = report_add(r, id, CHECK_FAIL, fix, "%s has only %llu %s in %s; a node needs %u", name,
                               (unsigned long long) v.total, what, source, SUBID_MIN_COUNT);
        else
                k = report_add(r, id, CHECK_PASS, NULL, "%s: %u-%u (%llu %s in %zu range%s, from %s)", name,
                               v.best->start, v.best->start + v.best->count - 1, (unsigned long long) v.total, what,
                               v.n_ranges, v.n_ranges == 1 ? "" : "s", source);
        subid_file_done(&external);
        return k;
}

enum tool_state {
        TOOL_MISSING,
        TOOL_SETUID,
        TOOL_CAPS,
        TOOL_UNPRIVILEGED,
};

/* newuidmap needs CAP_SETUID (newgidmap CAP_SETGID): setuid root, or the file capability (Fedora). */
static enum tool_state tool_state(const struct host *h, const char *name, cap_value_t cap, char **ret_path) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *path = NULL;
        enum tool_state s = TOOL_UNPRIVILEGED;
        struct stat st;
        cap_t caps;

        if (host_find_executable(h, name, &path) < 0)
                return TOOL_MISSING;
        fd = host_open(h, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0, HOST_FOLLOW);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return TOOL_MISSING;
        *ret_path = TAKE_PTR(path);
        if ((st.st_mode & S_ISUID) && st.st_uid == 0)
                return TOOL_SETUID;
        caps = cap_get_fd(fd);
        if (caps) {
                cap_flag_value_t v = CAP_CLEAR;

                if (cap_get_flag(caps, cap, CAP_PERMITTED, &v) >= 0 && v == CAP_SET)
                        s = TOOL_CAPS;
                cap_free(caps);
        }
        return s;
}

static int check_tools(struct check_ctx *c, struct report *r) {
        _cleanup_free_ char *upath = NULL, *gpath = NULL, *fix = NULL;
        enum tool_state us = tool_state(c->host, "newuidmap", CAP_SETUID, &upath);
        enum tool_state gs = tool_state(c->host, "newgidmap", CAP_SETGID, &gpath);
        static const char *const how[] = { "missing", "setuid root", "cap_setuid/cap_setgid file capability",
                                           "present but neither setuid root nor carrying file capabilities" };
        bool rpm = c->distro.family == DISTRO_FEDORA || c->distro.family == DISTRO_RHEL ||
                   c->distro.family == DISTRO_SUSE;

        if ((us == TOOL_SETUID || us == TOOL_CAPS) && (gs == TOOL_SETUID || gs == TOOL_CAPS))
                return report_add(r, "subid.tools", CHECK_PASS, NULL, "%s: %s; %s: %s", upath, how[us], gpath,
                                  how[gs]);
        /* NixOS: the store's copies can never be setuid; the wrappers in /run/wrappers/bin are. */
        if (c->hostconf)
                fix = check_hostconf_fix(c, HOSTCONF_SETUID_TOOLS, NULL, 0);
        else if (us == TOOL_MISSING || gs == TOOL_MISSING)
                fix = xstrdup_printf("%s %s", distro_install_command(&c->distro), distro_package(&c->distro, "uidmap"));
        else if (rpm)
                fix = xstrdup_printf("sudo setcap cap_setuid=ep %s && sudo setcap cap_setgid=ep %s", upath, gpath);
        else
                fix = xstrdup_printf("sudo chmod u+s %s %s", upath, gpath);
        if (!fix)
                return -ENOMEM;
        return report_add(r, "subid.tools", CHECK_FAIL, fix,
                          "newuidmap: %s; newgidmap: %s: without them a user namespace maps only one ID and no "
                          "container image can be unpacked",
                          us == TOOL_MISSING ? "missing" : how[us], gs == TOOL_MISSING ? "missing" : how[gs]);
}

int check_subid(struct check_ctx *c, struct report *r) {
        struct subid_file uf = {}, gf = {};
        struct un_error ue = {}, ge = {};
        bool u_bad, g_bad;
        int k;

        u_bad = subid_file_load(c->host, "/etc/subuid", &uf, NULL, &ue) < 0;
        g_bad = subid_file_load(c->host, "/etc/subgid", &gf, NULL, &ge) < 0;
        k = check_one(c, r, false, &uf, &gf, u_bad ? ue.msg : NULL);
        if (k >= 0)
                k = check_one(c, r, true, &uf, &gf, g_bad ? ge.msg : NULL);
        if (k >= 0)
                k = check_tools(c, r);
        subid_file_done(&uf);
        subid_file_done(&gf);
        return k;
}
