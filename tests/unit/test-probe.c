/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "checks.h"
#include "suites.h"
#include "util.h"

START_TEST(test_wire_roundtrip) {
        struct probes in = {}, out = {};
        struct probe_wire w;

        in.userns = (struct probe_outcome) { .state = PROBE_OK, .detail = "unshare ok" };
        in.idmap = (struct probe_outcome) { .state = PROBE_FAILED, .error = EPERM, .detail = "newuidmap exited 1" };
        in.overlay = (struct probe_outcome) { .state = PROBE_OK, .detail = "mounted" };
        in.fuse = (struct probe_outcome) { .state = PROBE_FAILED, .error = ENOENT, .detail = "no /dev/fuse" };
        in.tun = (struct probe_outcome) { .state = PROBE_SKIPPED, .detail = "" };
        memset(in.cgroup.memory.detail, 'x', sizeof in.cgroup.memory.detail);      /* never sent */
        probe_wire_encode(&in, &w);
        ck_assert_int_eq(probe_wire_decode(&w, sizeof w, &out), 0);
        ck_assert_int_eq(out.userns.state, PROBE_OK);
        ck_assert_str_eq(out.userns.detail, "unshare ok");
        ck_assert_int_eq(out.idmap.error, EPERM);
        ck_assert_str_eq(out.idmap.detail, "newuidmap exited 1");
        ck_assert_int_eq(out.fuse.error, ENOENT);
        ck_assert_int_eq(out.tun.state, PROBE_SKIPPED);
        ck_assert_int_eq(out.cgroup.memory.state, PROBE_NOT_RUN);
        ck_assert_str_eq(out.cgroup.memory.detail, "");
}
END_TEST

START_TEST(test_wire_hostile) {
        struct probes out = {}, before;
        struct probe_wire w, bad;

        out.userns.state = PROBE_OK;
        before = out;
        probe_wire_encode(&out, &w);
        ck_assert_int_eq(probe_wire_decode(&w, sizeof w - 1, &out), -EBADMSG);
        ck_assert_int_eq(probe_wire_decode(&w, 0, &out), -EBADMSG);
        bad = w;
        bad.magic ^= 1;
        ck_assert_int_eq(probe_wire_decode(&bad, sizeof bad, &out), -EBADMSG);
        bad = w;
        bad.n = 4;
        ck_assert_int_eq(probe_wire_decode(&bad, sizeof bad, &out), -EBADMSG);
        bad = w;
        bad.o[PROBE_WIRE_TUN].state = 7;
        ck_assert_int_eq(probe_wire_decode(&bad, sizeof bad, &out), -EBADMSG);
        bad = w;
        bad.o[PROBE_WIRE_FUSE].state = -1;
        ck_assert_int_eq(probe_wire_decode(&bad, sizeof bad, &out), -EBADMSG);
        bad = w;
        bad.o[PROBE_WIRE_IDMAP].error = -5;
        ck_assert_int_eq(probe_wire_decode(&bad, sizeof bad, &out), -EBADMSG);
        bad = w;
        memset(bad.o[PROBE_WIRE_OVERLAY].detail, 'A', sizeof bad.o[PROBE_WIRE_OVERLAY].detail);
        ck_assert_int_eq(probe_wire_decode(&bad, sizeof bad, &out), -EBADMSG);
        /* A refused message leaves what was there. */
        ck_assert_int_eq(memcmp(&out, &before, sizeof out), 0);
}
END_TEST

static struct host live = { .root_fd = -EBADF };

static void ctx_for(struct check_ctx *c, const struct passwd *pw) {
        struct un_error err = {};

        if (live.root_fd < 0)
                ck_assert_int_eq(host_init(&live, "/", &err), 0);
        *c = (struct check_ctx) { .host = &live };
        c->user.name = strdup(pw->pw_name);
        c->user.uid = pw->pw_uid;
        c->user.gid = pw->pw_gid;
        ck_assert_ptr_nonnull(c->user.name);
}

START_TEST(test_skips) {
        struct host offline = { .root_fd = -EBADF };
        struct un_error err = {};
        struct check_ctx c = { .host = &offline };
        const struct probes *p;

        ck_assert_int_eq(host_init(&offline, "/tmp", &err), 0);
        ck_assert(offline.offline);
        p = probe_userns(&c);
        ck_assert(p->userns_ran);
        ck_assert_int_eq(p->userns.state, PROBE_SKIPPED);
        ck_assert_int_eq(p->tun.state, PROBE_SKIPPED);
        ck_assert_str_eq(p->overlay.detail, "--root: probes do not run against an offline tree");
        ck_assert_int_eq(p->cgroup.memory.state, PROBE_NOT_RUN);
        host_done(&offline);

        ctx_for(&c, getpwuid(getuid()));
        c.no_probes = true;
        p = probe_userns(&c);
        ck_assert_int_eq(p->idmap.state, PROBE_SKIPPED);
        ck_assert(strstr(p->idmap.detail, "--no-probes"));
        check_ctx_done(&c);
}
END_TEST

static bool kernel_has_userns_overlay(void) {
        struct utsname u;
        unsigned major = 0, minor = 0;

        ck_assert_int_eq(uname(&u), 0);
        ck_assert_int_eq(sscanf(u.release, "%u.%u", &major, &minor), 2);
        return major > 5 || (major == 5 && minor >= 11);
}

/* Whether this process may create a user namespace at all: the probe must agree. */
static bool can_unshare_userns(void) {
        int status;
        pid_t pid = fork();

        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                _exit(unshare(CLONE_NEWUSER) == 0 ? 0 : 1);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static uint64_t usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* Without a sub-ID range: a single-ID map, idmap fails with the reason, the rest still runs. */
START_TEST(test_probe_self_single_map) {
        struct check_ctx c;
        const struct probes *p;
        uint64_t t;

        ctx_for(&c, getpwuid(geteuid()));
        t = usec();
        p = probe_userns(&c);
        t = usec() - t;
        printf("probe_userns as %s without sub-IDs: %.1f ms\n", c.user.name, (double) t / 1000.0);
        if (!can_unshare_userns()) {
                ck_assert_int_eq(p->userns.state, PROBE_FAILED);
                ck_assert_int_ne(p->userns.error, 0);
                check_ctx_done(&c);
                return;
        }
        ck_assert_msg(p->userns.state == PROBE_OK, "userns: %s", p->userns.detail);
        ck_assert_int_eq(p->idmap.state, PROBE_FAILED);
        ck_assert_msg(strstr(p->idmap.detail, "no sub-ID range"), "idmap: %s", p->idmap.detail);
        if (kernel_has_userns_overlay())
                ck_assert_msg(p->overlay.state == PROBE_OK, "overlay: %s", p->overlay.detail);
        ck_assert_int_ne(p->tun.state, PROBE_NOT_RUN);
        ck_assert_int_ne(p->fuse.state, PROBE_NOT_RUN);
        ck_assert_uint_lt(t, 2000000);
        /* Cached: a second call does not probe again. */
        ck_assert_ptr_eq(probe_userns(&c), p);
        check_ctx_done(&c);
}
END_TEST

/* One line "name:start:count" of /etc/subuid or /etc/subgid for user. */
static bool subid_lookup(const char *file, const char *user, struct subid_range *ret) {
        char line[512];
        FILE *f = fopen(file, "re");
        bool found = false;

        if (!f)
                return false;
        while (!found && fgets(line, sizeof line, f)) {
                char *start = strchr(line, ':'), *count;

                if (!start || (size_t) (start - line) != strlen(user) || strncmp(line, user, strlen(user)) != 0)
                        continue;
                count = strchr(start + 1, ':');
                if (!count)
                        continue;
                *count++ = '\0';
                count[strcspn(count, "\n")] = '\0';
                found = parse_u32(start + 1, &ret->start) == 0 && parse_u32(count, &ret->count) == 0;
        }
        fclose(f);
        return found;
}

/* The user to probe with the full map: USERNODE_PROBE_TEST_USER (tests/integration/probes.sh sets it
 * after making one), else the caller when it has ranges, else (as root) the first user that has. */
static const struct passwd *full_map_user(struct subid_range *uid_range, struct subid_range *gid_range) {
        const char *name = getenv("USERNODE_PROBE_TEST_USER");
        const struct passwd *pw;
        char line[512];
        FILE *f;

        if (name) {
                pw = getpwnam(name);
                ck_assert_msg(pw, "USERNODE_PROBE_TEST_USER=%s does not exist", name);
                ck_assert_msg(subid_lookup("/etc/subuid", name, uid_range) &&
                                      subid_lookup("/etc/subgid", name, gid_range),
                              "USERNODE_PROBE_TEST_USER=%s has no sub-ID ranges", name);
                return pw;
        }
        pw = getpwuid(geteuid());
        if (pw && geteuid() != 0 && subid_lookup("/etc/subuid", pw->pw_name, uid_range) &&
            subid_lookup("/etc/subgid", pw->pw_name, gid_range))
                return pw;
        if (geteuid() != 0)
                return NULL;
        f = fopen("/etc/subuid", "re");
        if (!f)
                return NULL;
        while (fgets(line, sizeof line, f)) {
                line[strcspn(line, ":")] = '\0';
                pw = getpwnam(line);
                if (pw && pw->pw_uid != 0 && subid_lookup("/etc/subuid", line, uid_range) &&
                    subid_lookup("/etc/subgid", line, gid_range)) {
                        fclose(f);
                        return pw;
                }
        }
        fclose(f);
        return NULL;
}

/* 0 when every user-namespace probe passed with the full sub-ID map; prints what did not. */
static int run_full_map(const struct passwd *pw, const struct subid_range *ur, const struct subid_range *gr) {
        struct check_ctx c;
        const struct probes *p;
        uint64_t t;
        int bad = 0;

        ctx_for(&c, pw);
        c.have_subuid = c.have_subgid = true;
        c.subuid = (struct subid_range) { .owner = strdup(pw->pw_name), .start = ur->start, .count = ur->count };
        c.subgid = (struct subid_range) { .owner = strdup(pw->pw_name), .start = gr->start, .count = gr->count };
        t = usec();
        p = probe_userns(&c);
        t = usec() - t;
        printf("probe_userns (uid %u, euid %u) for %s with the full map: %.1f ms\n", (unsigned) getuid(),
               (unsigned) geteuid(), pw->pw_name, (double) t / 1000.0);
        if (p->userns.state != PROBE_OK || p->idmap.state != PROBE_OK || !strstr(p->idmap.detail, "mapped") ||
            (kernel_has_userns_overlay() && p->overlay.state != PROBE_OK) || t >= 2000000) {
                printf("userns: %s\nidmap: %s\noverlay: %s\n", p->userns.detail, p->idmap.detail, p->overlay.detail);
                bad = 1;
        }
        check_ctx_done(&c);
        return bad;
}

START_TEST(test_probe_full_map) {
        struct subid_range ur = {}, gr = {};
        const struct passwd *pw = full_map_user(&ur, &gr);
        struct passwd copy;
        int status;
        pid_t pid;

        if (!pw) {
                printf("test_probe_full_map: no user with /etc/subuid and /etc/subgid ranges here; "
                       "tests/integration/probes.sh runs it with one\n");
                return;
        }
        copy = *pw;
        copy.pw_name = strdup(pw->pw_name);
        ck_assert_ptr_nonnull(copy.pw_name);

        /* As root for the user: the probe drops privileges itself. */
        if (geteuid() == 0)
                ck_assert_int_eq(run_full_map(&copy, &ur, &gr), 0);

        /* As the user: usernode run by an ordinary user. */
        fflush(stdout);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setgid(copy.pw_gid) < 0 || setuid(copy.pw_uid) < 0))
                        _exit(2);
                status = run_full_map(&copy, &ur, &gr);
                fflush(stdout);
                _exit(status);
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "probe as %s failed (status %d)", copy.pw_name,
                      status);
        free(copy.pw_name);
}
END_TEST

/* A range the user was never given: newuidmap refuses, the probe says why and goes on with a
 * single-ID map. */
static int run_bad_range(const struct passwd *pw) {
        struct check_ctx c;
        const struct probes *p;
        int bad = 0;

        ctx_for(&c, pw);
        c.have_subuid = c.have_subgid = true;
        c.subuid = (struct subid_range) { .owner = strdup(pw->pw_name), .start = 7, .count = 3 };
        c.subgid = (struct subid_range) { .owner = strdup(pw->pw_name), .start = 7, .count = 3 };
        p = probe_userns(&c);
        printf("idmap with a range %s was not given: %s\n", pw->pw_name, p->idmap.detail);
        if (p->userns.state != PROBE_OK || p->idmap.state != PROBE_FAILED ||
            !strstr(p->idmap.detail, "newuidmap exited") ||
            (kernel_has_userns_overlay() && p->overlay.state != PROBE_OK)) {
                printf("userns: %s\nidmap: %s\noverlay: %s\n", p->userns.detail, p->idmap.detail, p->overlay.detail);
                bad = 1;
        }
        check_ctx_done(&c);
        return bad;
}

START_TEST(test_probe_bad_range) {
        struct subid_range ur = {}, gr = {};
        const struct passwd *pw = full_map_user(&ur, &gr);
        int status;
        pid_t pid;

        if (!pw) {
                printf("test_probe_bad_range: no user with sub-ID ranges here\n");
                return;
        }
        fflush(stdout);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0))
                        _exit(2);
                status = run_bad_range(pw);
                fflush(stdout);
                _exit(status);
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
}
END_TEST

Suite *probe_suite(void) {
        Suite *s = suite_create("probe");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_wire_roundtrip);
        tcase_add_test(tc, test_wire_hostile);
        tcase_add_test(tc, test_skips);
        tcase_add_test(tc, test_probe_self_single_map);
        tcase_add_test(tc, test_probe_full_map);
        tcase_add_test(tc, test_probe_bad_range);
        suite_add_tcase(s, tc);
        return s;
}
