/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The command line: options parsed once, then one verb from the table. Everything else lives in
 * the library (libusernode.a) that the tests link too. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "report.h"
#include "rules.h"
#include "util.h"

enum {
        EXIT_READY = 0,
        EXIT_NOT_READY = 1,
        EXIT_USAGE = 2,
        EXIT_INTERNAL = 3,
};

static const char *arg_root = "/";
static const char *arg_user;
static const char *arg_engine;
static bool arg_json;
static bool arg_strict;
static bool arg_no_probes;
static char **arg_ignore;

enum {
        OPT_VERSION = 0x100,
        OPT_ROOT,
        OPT_ENGINE,
        OPT_JSON,
        OPT_IGNORE,
        OPT_STRICT,
        OPT_NO_PROBES,
};

/* Bits of which options a verb takes, so that "--purge" given to "check" is an error. */
enum {
        TAKES_ROOT = 1u << 0,
        TAKES_USER = 1u << 1,
        TAKES_ENGINE = 1u << 2,
        TAKES_JSON = 1u << 3,
        TAKES_IGNORE = 1u << 4,
        TAKES_STRICT = 1u << 5,
        TAKES_NO_PROBES = 1u << 6,
};

static const struct option options[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, OPT_VERSION },
        { "root", required_argument, NULL, OPT_ROOT },
        { "user", required_argument, NULL, 'u' },
        { "engine", required_argument, NULL, OPT_ENGINE },
        { "json", no_argument, NULL, OPT_JSON },
        { "ignore", required_argument, NULL, OPT_IGNORE },
        { "strict", no_argument, NULL, OPT_STRICT },
        { "no-probes", no_argument, NULL, OPT_NO_PROBES },
        {}
};

static const struct {
        int opt;
        unsigned bit;
} option_bits[] = {
        { OPT_ROOT, TAKES_ROOT },     { 'u', TAKES_USER },          { OPT_ENGINE, TAKES_ENGINE },
        { OPT_JSON, TAKES_JSON },     { OPT_IGNORE, TAKES_IGNORE }, { OPT_STRICT, TAKES_STRICT },
        { OPT_NO_PROBES, TAKES_NO_PROBES },
};

static int verb_check(int argc, char **argv);

static const struct verb {
        const char *name;
        int (*run)(int argc, char **argv);
        unsigned takes;
        const char *synopsis;
        const char *help;
} verbs[] = {
        { "check", verb_check,
          TAKES_ROOT | TAKES_USER | TAKES_ENGINE | TAKES_JSON | TAKES_IGNORE | TAKES_STRICT | TAKES_NO_PROBES,
          "check [--user U] [--engine k3s|kubelet] [--json] [--ignore ID,...] [--strict] [--root DIR]",
          "Checks whether this host can run a rootless Kubernetes node for U, with live probes, and\n"
          "reports which workload features will be unavailable and why. Writes nothing.\n"
          "\n"
          "  -u, --user U        the user the node is for (default: the caller, or SUDO_USER)\n"
          "      --engine E      k3s or kubelet (default: k3s when it is on PATH, else kubelet)\n"
          "      --json          print the usernode.report/v1 JSON object\n"
          "      --ignore ID,... do not let these checks decide readiness (\"kmod.*\" works)\n"
          "      --strict        warnings count as failures\n"
          "      --no-probes     read configuration only, skip the live probes\n"
          "      --root DIR      examine the host tree at DIR (an image, a fixture); no probes\n"
          "\n"
          "Exit status: 0 ready, 1 not ready, 2 usage error, 3 internal error.\n" },
};

static void help_all(FILE *f) {
        fprintf(f,
                "usage: usernode VERB [OPTIONS]\n"
                "\n"
                "Turns this host into a rootless Kubernetes node.\n"
                "\n"
                "Verbs:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                fprintf(f, "  %s\n", verbs[i].synopsis);
        fprintf(f,
                "\n"
                "  usernode VERB --help   options of one verb\n"
                "  usernode --version\n"
                "\n"
                "Exit status: 0 success/ready, 1 not ready, 2 usage or config error, 3 internal error.\n"
                "See usernode(8).\n");
}

static void help_verb(const struct verb *v) {
        printf("usage: usernode %s\n\n%s", v->synopsis, v->help);
}

static int parse_ignore(const char *list) {
        _cleanup_strv_free_ char **ids = NULL;

        if (strlen(list) > 4096 || strv_split(list, ",", &ids) < 0)
                return -EINVAL;
        for (char **i = ids; *i; i++) {
                if (strlen(*i) > 64 || strspn(*i, "abcdefghijklmnopqrstuvwxyz0123456789._-*") != strlen(*i))
                        return -EINVAL;
                if (strv_push(&arg_ignore, *i) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int verb_check(int argc, char **argv) {
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
        r = host_init(&host, arg_root, &err);
        if (r < 0) {
                fprintf(stderr, "usernode check: %s\n", err.msg);
                return EXIT_USAGE;
        }
        ctx.host = &host;
        ctx.no_probes = arg_no_probes;
        r = arg_user ? user_lookup(&host, arg_user, &ctx.user, &err) : user_lookup_default(&host, &ctx.user, &err);
        if (r < 0) {
                fprintf(stderr, "usernode check: %s\n", err.msg);
                ret = r == -ESRCH || r == -EINVAL ? EXIT_USAGE : EXIT_INTERNAL;
                goto out;
        }
        r = distro_load(&host, &ctx.distro);
        if (r < 0) {
                fprintf(stderr, "usernode check: cannot read os-release: %s\n", strerror(-r));
                goto out;
        }
        if (arg_engine)
                (void) engine_from_string(arg_engine, &ctx.engine);
        else {
                _cleanup_free_ char *k3s = NULL;

                ctx.engine = host_find_executable(&host, "k3s", &k3s) >= 0 ? ENGINE_K3S : ENGINE_KUBELET;
        }

        r = checks_run(&ctx, &report);
        if (r < 0) {
                fprintf(stderr, "usernode check: %s\n", strerror(-r));
                goto out;
        }
        if (report_ignore(&report, arg_ignore, &unknown) < 0) {
                fprintf(stderr, "usernode check: --ignore %s matches no check ID\n", unknown);
                ret = EXIT_USAGE;
                goto out;
        }
        if (rules_count() > ELEMENTSOF(features) || rules_evaluate(&report, features) < 0)
                goto out;
        ready = report_ready(&report, arg_strict);
        if (arg_json)
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

static const struct verb *find_verb(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (strcmp(verbs[i].name, name) == 0)
                        return &verbs[i];
        return NULL;
}

static unsigned option_bit(int opt) {
        for (size_t i = 0; i < ELEMENTSOF(option_bits); i++)
                if (option_bits[i].opt == opt)
                        return option_bits[i].bit;
        return 0;
}

int main(int argc, char **argv) {
        const struct verb *verb = NULL;
        unsigned given = 0;
        bool help = false;
        int c;

        /* The verb may come first ("usernode check --json") or after global options. */
        if (argc > 1 && argv[1][0] != '-') {
                verb = find_verb(argv[1]);
                if (!verb) {
                        fprintf(stderr, "usernode: unknown verb '%s'; see usernode --help\n", argv[1]);
                        return EXIT_USAGE;
                }
                argv++;
                argc--;
        }

        while ((c = getopt_long(argc, argv, "hu:", options, NULL)) >= 0) {
                given |= option_bit(c);
                switch (c) {
                case 'h':
                        help = true;
                        break;
                case OPT_VERSION:
                        printf("usernode %s\n", PACKAGE_VERSION);
                        return EXIT_READY;
                case OPT_ROOT:
                        if (strlen(optarg) == 0 || strlen(optarg) > 4096) {
                                fprintf(stderr, "usernode: --root needs a directory\n");
                                return EXIT_USAGE;
                        }
                        arg_root = optarg;
                        break;
                case 'u':
                        arg_user = optarg;
                        break;
                case OPT_ENGINE: {
                        enum engine e;

                        if (engine_from_string(optarg, &e) < 0) {
                                fprintf(stderr, "usernode: --engine must be k3s or kubelet, not '%s'\n", optarg);
                                return EXIT_USAGE;
                        }
                        arg_engine = optarg;
                        break;
                }
                case OPT_JSON:
                        arg_json = true;
                        break;
                case OPT_IGNORE:
                        if (parse_ignore(optarg) < 0) {
                                fprintf(stderr, "usernode: --ignore takes check IDs separated by commas\n");
                                return EXIT_USAGE;
                        }
                        break;
                case OPT_STRICT:
                        arg_strict = true;
                        break;
                case OPT_NO_PROBES:
                        arg_no_probes = true;
                        break;
                default:
                        fprintf(stderr, "usernode: see usernode --help\n");
                        return EXIT_USAGE;
                }
        }

        if (!verb) {
                if (help) {
                        help_all(stdout);
                        return EXIT_READY;
                }
                if (optind >= argc) {
                        help_all(stderr);
                        return EXIT_USAGE;
                }
                verb = find_verb(argv[optind]);
                if (!verb) {
                        fprintf(stderr, "usernode: unknown verb '%s'; see usernode --help\n", argv[optind]);
                        return EXIT_USAGE;
                }
                optind++;
        }
        if (help) {
                help_verb(verb);
                return EXIT_READY;
        }
        for (size_t i = 0; i < ELEMENTSOF(option_bits); i++)
                if ((given & option_bits[i].bit) && !(verb->takes & option_bits[i].bit)) {
                        for (const struct option *o = options; o->name; o++)
                                if (o->val == option_bits[i].opt)
                                        fprintf(stderr, "usernode %s: option --%s does not apply to this verb\n",
                                                verb->name, o->name);
                        return EXIT_USAGE;
                }

        /* The verb sees its own name as argv[0] and its positional arguments after it. */
        argv[optind - 1] = (char *) verb->name;
        return verb->run(argc - optind + 1, argv + optind - 1);
}
