/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "checks.h"
#include "limits-conf.h"
#include "sysctl.h"
#include "util.h"

#define NOFILE_WANTED 65536u
#define INOTIFY_INSTANCES_WANTED 8192
#define INOTIFY_WATCHES_WANTED 524288

/* "1000:2000", ":2000", "1000:", "1000" (pam_limits' UID domains). */
static bool uid_range_matches(const char *d, uid_t uid) {
        const char *colon = strchr(d, ':');
        char lo[16] = "", hi[16] = "";
        uint32_t a = 0, b = UINT32_MAX;

        if (!colon || (size_t) (colon - d) >= sizeof lo || strlen(colon + 1) >= sizeof hi)
                return false;
        memcpy(lo, d, (size_t) (colon - d));
        strcpy(hi, colon + 1);
        if (lo[0] && parse_u32(lo, &a) < 0)
                return false;
        if (hi[0] && parse_u32(hi, &b) < 0)
                return false;
        if (!lo[0] && !hi[0])
                return false;
        if (lo[0] && !hi[0])
                return uid >= a;
        return uid >= a && uid <= b;
}

int limits_conf_apply(const char *text, const char *user, uid_t uid, char * const *groups, struct limits_nofile *acc) {
        _cleanup_free_ char *copy = strdup(text);
        char *cursor = copy, *line;
        int err = 0;

        if (!copy)
                return -ENOMEM;
        while ((line = line_next(&cursor, HOST_LINE_MAX, &err))) {
                _cleanup_strv_free_ char **f = NULL;
                char *hash = strchr(line, '#');
                const char *dom;
                uint64_t v = 0;
                bool unlimited = false;
                int prio;

                if (hash)
                        *hash = '\0';
                if (strv_split(line, " \t", &f) < 0)
                        return -ENOMEM;
                if (strv_length(f) != 4 || strcmp(f[2], "nofile") != 0)
                        continue;
                if (strcmp(f[1], "hard") != 0 && strcmp(f[1], "-") != 0)
                        continue;
                dom = f[0];
                if (user && strcmp(dom, user) == 0)
                        prio = 3;
                else if (strchr(dom, ':') && dom[0] != '@' && dom[0] != '%')
                        prio = uid_range_matches(dom, uid) ? 3 : 0;
                else if ((dom[0] == '@' || dom[0] == '%') && groups && strv_contains(groups, dom + 1))
                        prio = 2;
                else if (strcmp(dom, "*") == 0)
                        prio = 1;
                else
                        prio = 0;
                if (prio == 0)
                        continue;
                /* The root user is not matched by "*" (pam_limits: wildcards never apply to root). */
                if (prio == 1 && uid == 0)
                        continue;
                if (strcmp(f[3], "unlimited") == 0 || strcmp(f[3], "infinity") == 0 || strcmp(f[3], "-1") == 0)
                        unlimited = true;
                else if (parse_u64(f[3], &v) < 0)
                        continue;
                if (acc->set && acc->priority > prio)
                        continue;
                *acc = (struct limits_nofile) { .set = true, .priority = prio, .unlimited = unlimited, .hard = v };
        }
        return err;
}

static int names_cmp(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

static int user_group_names(const struct check_ctx *c, char ***ret) {
        _cleanup_strv_free_ char **names = NULL;
        gid_t gids[256];
        int n = ELEMENTSOF(gids);

        if (c->host->offline || !c->user.name || getgrouplist(c->user.name, c->user.gid, gids, &n) < 0)
                n = 0;
        for (int i = 0; i < n; i++) {
                struct group gr, *res = NULL;
                char buf[4096];

                if (getgrgid_r(gids[i], &gr, buf, sizeof buf, &res) == 0 && res && strv_push(&names, res->gr_name) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(names);
        return 0;
}

static int limits_from_files(const struct check_ctx *c, struct limits_nofile *acc, char **ret_where) {
        _cleanup_strv_free_ char **groups = NULL, **files = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_free_ char *where = NULL;
        int k;

        k = user_group_names(c, &groups);
        if (k < 0)
                return k;
        if (host_opendir(c->host, "/etc/security/limits.d", &d) >= 0) {
                struct dirent *de;

                while ((de = readdir(d))) {
                        size_t len = strlen(de->d_name);

                        if (len > 5 && strcmp(de->d_name + len - 5, ".conf") == 0 && de->d_name[0] != '.' &&
                            strv_length(files) < 1024 && strv_push(&files, de->d_name) < 0)
                                return -ENOMEM;
                }
                if (files)
                        qsort(files, strv_length(files), sizeof *files, names_cmp);
        }
        for (ssize_t i = -1; i < (ssize_t) strv_length(files); i++) {
                _cleanup_free_ char *path = i < 0 ? strdup("/etc/security/limits.conf")
                                                  : xstrdup_printf("/etc/security/limits.d/%s", files[i]);
                _cleanup_free_ char *text = NULL;
                bool was = acc->set;
                struct limits_nofile before = *acc;

                if (!path)
                        return -ENOMEM;
                if (host_read_file(c->host, path, 1024 * 1024, &text, NULL) < 0)
                        continue;
                k = limits_conf_apply(text, c->user.name, c->user.uid, groups, acc);
                if (k == -ENOMEM)
                        return k;
                if (acc->set && (!was || memcmp(&before, acc, sizeof before) != 0)) {
                        free(where);
                        where = TAKE_PTR(path);
                }
        }
        *ret_where = TAKE_PTR(where);
        return 0;
}

static int check_nofile(struct check_ctx *c, struct report *r) {
        _cleanup_free_ char *fix = NULL, *where = NULL;
        struct limits_nofile l = {};
        uint64_t hard;
        const char *how;
        int k;

        fix = xstrdup_printf("echo '%s hard nofile 1048576' | sudo tee /etc/security/limits.d/50-usernode.conf "
                             "(then log in again)", strna(c->user.name));
        if (!fix)
                return -ENOMEM;
        if (!c->host->offline && geteuid() == c->user.uid) {
                struct rlimit rl;

                if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                        return report_add(r, "limits.nofile", CHECK_WARN, NULL, "getrlimit(RLIMIT_NOFILE): %s",
                                          strerror(errno));
                if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= NOFILE_WANTED)
                        return report_add(r, "limits.nofile", CHECK_PASS, NULL,
                                          "RLIMIT_NOFILE soft %llu, hard %llu (>= %u)", (unsigned long long) rl.rlim_cur,
                                          (unsigned long long) rl.rlim_max, NOFILE_WANTED);
                return report_add(r, "limits.nofile", CHECK_WARN, fix,
                                  "RLIMIT_NOFILE hard limit is %llu (soft %llu), below %u: containerd and kubelet run out "
                                  "of file descriptors with a few dozen pods",
                                  (unsigned long long) rl.rlim_max, (unsigned long long) rl.rlim_cur, NOFILE_WANTED);
        }
        k = limits_from_files(c, &l, &where);
        if (k < 0)
                return k;
        if (!l.set)
                return report_add(r, "limits.nofile", CHECK_SKIP, NULL,
                                  "no nofile limit for %s in /etc/security/limits.conf or limits.d: the login service's "
                                  "own limit applies, which only %s can measure (run usernode check as %s)",
                                  strna(c->user.name), strna(c->user.name), strna(c->user.name));
        hard = l.hard;
        how = where ? where : "limits.conf";
        if (l.unlimited)
                return report_add(r, "limits.nofile", CHECK_PASS, NULL, "hard nofile for %s is unlimited (%s)",
                                  strna(c->user.name), how);
        if (hard >= NOFILE_WANTED)
                return report_add(r, "limits.nofile", CHECK_PASS, NULL, "hard nofile for %s is %" PRIu64 " (%s)",
                                  strna(c->user.name), hard, how);
        return report_add(r, "limits.nofile", CHECK_WARN, fix,
                          "hard nofile for %s is %" PRIu64 " (%s), below %u: containerd and kubelet run out of file "
                          "descriptors with a few dozen pods",
                          strna(c->user.name), hard, how, NOFILE_WANTED);
}

static int check_inotify(struct check_ctx *c, struct report *r) {
        enum sysctl_source src;
        int64_t inst, watches;
        int k;

        k = sysctl_read(c->host, "fs.inotify.max_user_instances", "128", &inst, 1, &src);
        if (k >= 0)
                k = sysctl_read(c->host, "fs.inotify.max_user_watches", "8192", &watches, 1, &src);
        if (k < 0)
                return report_add(r, "limits.inotify", CHECK_WARN, NULL, "cannot read fs.inotify.*: %s", strerror(-k));
        if (inst >= INOTIFY_INSTANCES_WANTED && watches >= INOTIFY_WATCHES_WANTED)
                return report_add(r, "limits.inotify", CHECK_PASS, NULL,
                                  "fs.inotify.max_user_instances = %" PRId64 ", max_user_watches = %" PRId64 " (%s)",
                                  inst, watches, sysctl_source_to_string(src));
        return report_add(r, "limits.inotify", CHECK_WARN,
                          "printf 'fs.inotify.max_user_instances=8192\\nfs.inotify.max_user_watches=524288\\n' | "
                          "sudo tee -a /etc/sysctl.d/50-usernode.conf && sudo sysctl -p /etc/sysctl.d/50-usernode.conf",
                          "fs.inotify.max_user_instances = %" PRId64 ", max_user_watches = %" PRId64 " (%s), below "
                          "%d / %d: pods that watch files (kubectl logs -f, config reloaders) fail with 'too many open files'",
                          inst, watches, sysctl_source_to_string(src), INOTIFY_INSTANCES_WANTED, INOTIFY_WATCHES_WANTED);
}

int check_limits(struct check_ctx *c, struct report *r) {
        int k;

        k = check_nofile(c, r);
        if (k >= 0)
                k = check_inotify(c, r);
        return k;
}
