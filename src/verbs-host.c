/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The verbs that look at and change the host: check, setup, unsetup, and the options of setup. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checks.h"
#include "cli.h"
#include "report.h"
#include "rules.h"
#include "util.h"

/* check --list-ids: every ID this usernode knows, from the check registry and the rules table, as
 * "check ID" or "feature ID" lines (--ignore takes the check IDs). */
static int list_ids(void) {
        _cleanup_strv_free_ char **checks = NULL;

        if (check_ids_list(&checks) < 0) {
                fprintf(stderr, "usernode check: %s\n", strerror(ENOMEM));
                return EXIT_INTERNAL;
        }
        for (char **id = checks; *id; id++)
                printf("check %s\n", *id);
        for (size_t i = 0; i < rules_count(); i++)
                printf("feature %s\n", rules_feature_id(i));
        return fflush(stdout) != 0 ? EXIT_INTERNAL : EXIT_READY;
}

int verb_check(const struct cli *c, int argc, char **argv) {
        struct host host = { .root_fd = -EBADF };
        struct check_ctx ctx = {};
        struct report report = {};
        struct feature_result features[64];
        struct un_error err = {};
        const char *unknown = NULL;
        bool ready;
        int r, ret = EXIT_INTERNAL;

        if (argc > 1) {
                fprintf(stderr, "usernode check: unexpected argument '%s'\n", argv[1]);
                return EXIT_USAGE;
        }
        if (c->list_ids)
                return list_ids();
        r = host_init(&host, c->root, &err);
        if (r < 0) {
                fprintf(stderr, "usernode check: %s\n", err.msg);
                return EXIT_USAGE;
        }
        ctx.host = &host;
        ctx.no_probes = c->no_probes;
        r = c->user ? user_lookup(&host, c->user, &ctx.user, &err) : user_lookup_default(&host, &ctx.user, &err);
        if (r < 0) {
                fprintf(stderr, "usernode check: %s\n", err.msg);
                ret = r == -ESRCH || r == -EINVAL ? EXIT_USAGE : EXIT_INTERNAL;
                goto out;
        }
        r = host_set_tool_user(&host, ctx.user.name, ctx.user.home);
        if (r < 0) {
                fprintf(stderr, "usernode check: %s\n", strerror(-r));
                goto out;
        }
        r = distro_load(&host, &ctx.distro);
        if (r < 0) {
                fprintf(stderr, "usernode check: cannot read os-release: %s\n", strerror(-r));
                goto out;
        }
        if (c->engine)
                (void) engine_from_string(c->engine, &ctx.engine);
        else
                ctx.engine = engine_default(&host);

        r = checks_run(&ctx, &report);
        if (r < 0) {
                fprintf(stderr, "usernode check: %s\n", strerror(-r));
                goto out;
        }
        if (report_ignore(&report, c->ignore, &unknown) < 0) {
                fprintf(stderr, "usernode check: --ignore %s matches no check ID\n", unknown);
                ret = EXIT_USAGE;
                goto out;
        }
        if (rules_count() > ELEMENTSOF(features) || rules_evaluate(&report, features) < 0)
                goto out;
        ready = report_ready(&report, c->strict);
        if (c->json)
                report_print_json(stdout, &ctx, &report, features, ready);
        else
                report_print_text(stdout, &ctx, &report, features, ready, report_use_color(stdout));
        ret = fflush(stdout) != 0 ? EXIT_INTERNAL : ready ? EXIT_READY : EXIT_NOT_READY;
out:
        report_done(&report);
        check_ctx_done(&ctx);
        host_done(&host);
        return ret;
}

static int setup_exit_code(int r) {
        switch (-r) {
        case EBUSY:
                return EXIT_NOT_READY;
        case ESRCH:
        case EINVAL:
        case EPERM:
        case EBADMSG:
        case EEXIST:
        case ELOOP:
        case EFBIG:
        case E2BIG:
        case ERANGE:
        case ENOSPC:
                return EXIT_USAGE;
        default:
                return EXIT_INTERNAL;
        }
}

static int run_setup_verb(const struct cli *c, int argc, char **argv, bool undo) {
        struct setup_options opts;
        struct host host = { .root_fd = -EBADF };
        struct un_error err = {};
        struct buf out = {};
        int r;

        if (argc > 1) {
                fprintf(stderr, "usernode %s: unexpected argument '%s'\n", argv[0], argv[1]);
                return EXIT_USAGE;
        }
        if (!c->user) {
                fprintf(stderr, "usernode %s: --user is required\n", argv[0]);
                return EXIT_USAGE;
        }
        if (!c->setup.dry_run && geteuid() != 0) {
                fprintf(stderr, "usernode %s: must run as root (or use --dry-run)\n", argv[0]);
                return EXIT_USAGE;
        }
        r = host_init(&host, c->root, &err);
        if (r < 0) {
                fprintf(stderr, "usernode %s: %s\n", argv[0], err.msg);
                return EXIT_USAGE;
        }
        opts = c->setup;
        opts.user = c->user;
        opts.delegate = c->delegate;
        r = undo ? unsetup_run(&host, &opts, &out, &err) : setup_run(&host, &opts, &out, &err);
        if (out.len)
                fputs(out.data, stdout);
        buf_free(&out);
        host_done(&host);
        if (fflush(stdout) != 0)
                return EXIT_INTERNAL;
        if (r < 0) {
                fprintf(stderr, "usernode %s: %s\n", argv[0], err.code ? err.msg : strerror(-r));
                return setup_exit_code(r);
        }
        return EXIT_READY;
}

int verb_setup(const struct cli *c, int argc, char **argv) {
        return run_setup_verb(c, argc, argv, false);
}

int verb_unsetup(const struct cli *c, int argc, char **argv) {
        return run_setup_verb(c, argc, argv, true);
}

int verb_setup_parse_option(struct cli *c, int opt, const char *arg) {
        switch (opt) {
        case OPT_NO_LINGER:
                c->setup.no_linger = true;
                return 1;
        case OPT_DELEGATE:
                free(c->delegate);
                c->delegate = NULL;
                if (setup_parse_delegate(arg, &c->delegate) < 0) {
                        fprintf(stderr, "usernode: --delegate takes controllers among cpu cpuset io memory "
                                "pids hugetlb, not '%s'\n", arg);
                        return -EINVAL;
                }
                return 1;
        case OPT_SUBIDS:
                if (parse_u32(arg, &c->setup.subids) < 0 || c->setup.subids < SUBID_MIN_COUNT ||
                    c->setup.subids > 1000000000u) {
                        fprintf(stderr, "usernode: --subids takes a count from %u to 1000000000\n", SUBID_MIN_COUNT);
                        return -EINVAL;
                }
                return 1;
        case OPT_FAST_NET:
                c->setup.fast_net = true;
                return 1;
        case OPT_PRIVILEGED_PORTS:
                c->setup.privileged_ports = true;
                return 1;
        case OPT_RESTART_USER_MANAGER:
                c->setup.restart_user_manager = true;
                return 1;
        case OPT_FORCE:
                c->setup.force = true;
                return 1;
        default:
                return 0;
        }
}
