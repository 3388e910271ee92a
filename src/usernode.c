/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The command line: options parsed once into struct cli, then one verb from the table. The verbs
 * (verbs-host.c, verbs-up.c, verbs-node.c) parse their own options and print; everything else lives in
 * the libraries below them, which the tests link too. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "probe.h"
#include "util.h"

/* Everything the options say, parsed once in main(). */
static struct cli arg = {
        .root = "/",
        .wait_sec = UP_WAIT_DEFAULT_SEC,
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
        TAKES_NAME = 1u << 7,
        TAKES_UP = 1u << 8,             /* --net --port-driver --ephemeral --wait --foreground --publish --server --token */
        TAKES_PURGE = 1u << 9,
        TAKES_DRY_RUN = 1u << 10,
        TAKES_SETUP = 1u << 11,         /* --no-linger --delegate --subids --fast-net --privileged-ports ... */
        TAKES_FORCE = 1u << 12,
        TAKES_LIST_IDS = 1u << 13,
        TAKES_TOKEN_FILE = 1u << 14,
        TAKES_TTL = 1u << 15,
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
        { "list-ids", no_argument, NULL, OPT_LIST_IDS },
        { "name", required_argument, NULL, OPT_NAME },
        { "net", required_argument, NULL, OPT_NET },
        { "port-driver", required_argument, NULL, OPT_PORT_DRIVER },
        { "ephemeral", no_argument, NULL, OPT_EPHEMERAL },
        { "wait", optional_argument, NULL, OPT_WAIT },
        { "foreground", no_argument, NULL, OPT_FOREGROUND },
        { "publish", required_argument, NULL, OPT_PUBLISH },
        { "server", required_argument, NULL, OPT_SERVER },
        { "token", required_argument, NULL, OPT_TOKEN },
        { "purge", no_argument, NULL, OPT_PURGE },
        { "dry-run", no_argument, NULL, OPT_DRY_RUN },
        { "no-linger", no_argument, NULL, OPT_NO_LINGER },
        { "delegate", required_argument, NULL, OPT_DELEGATE },
        { "subids", required_argument, NULL, OPT_SUBIDS },
        { "fast-net", no_argument, NULL, OPT_FAST_NET },
        { "privileged-ports", no_argument, NULL, OPT_PRIVILEGED_PORTS },
        { "restart-user-manager", no_argument, NULL, OPT_RESTART_USER_MANAGER },
        { "force", no_argument, NULL, OPT_FORCE },
        { "config", required_argument, NULL, OPT_CONFIG },
        { "cidr", required_argument, NULL, OPT_CIDR },
        { "cluster-cidr", required_argument, NULL, OPT_CLUSTER_CIDR },
        { "service-cidr", required_argument, NULL, OPT_SERVICE_CIDR },
        { "token-file", required_argument, NULL, OPT_TOKEN_FILE },
        { "discovery-token-ca-cert-hash", required_argument, NULL, OPT_CA_CERT_HASH },
        { "ca-file", required_argument, NULL, OPT_CA_FILE },
        { "discovery-token-unsafe-skip-ca-verification", no_argument, NULL, OPT_UNSAFE_SKIP_CA },
        { "node-ip", required_argument, NULL, OPT_NODE_IP },
        { "apiserver-port", required_argument, NULL, OPT_APISERVER_PORT },
        { "apiserver-address", required_argument, NULL, OPT_APISERVER_ADDRESS },
        { "ttl", required_argument, NULL, OPT_TTL },
        { "pod-pids-limit", required_argument, NULL, OPT_POD_PIDS_LIMIT },
        { "workers", required_argument, NULL, OPT_WORKERS },
        {}
};

static const struct {
        int opt;
        unsigned bit;
} option_bits[] = {
        { OPT_ROOT, TAKES_ROOT },     { 'u', TAKES_USER },          { OPT_ENGINE, TAKES_ENGINE },
        { OPT_JSON, TAKES_JSON },     { OPT_IGNORE, TAKES_IGNORE }, { OPT_STRICT, TAKES_STRICT },
        { OPT_NO_PROBES, TAKES_NO_PROBES },
        { OPT_LIST_IDS, TAKES_LIST_IDS },
        { OPT_NAME, TAKES_NAME },     { OPT_NET, TAKES_UP },        { OPT_PORT_DRIVER, TAKES_UP },
        { OPT_EPHEMERAL, TAKES_UP },  { OPT_WAIT, TAKES_UP },       { OPT_FOREGROUND, TAKES_UP },
        { OPT_PUBLISH, TAKES_UP },    { OPT_SERVER, TAKES_UP },     { OPT_TOKEN, TAKES_UP },
        { OPT_PURGE, TAKES_PURGE },
        { OPT_DRY_RUN, TAKES_DRY_RUN },
        { OPT_NO_LINGER, TAKES_SETUP },
        { OPT_DELEGATE, TAKES_SETUP },
        { OPT_SUBIDS, TAKES_SETUP },
        { OPT_FAST_NET, TAKES_SETUP },
        { OPT_PRIVILEGED_PORTS, TAKES_SETUP },
        { OPT_RESTART_USER_MANAGER, TAKES_SETUP },
        { OPT_FORCE, TAKES_FORCE },
        { OPT_CONFIG, TAKES_UP },
        { OPT_CIDR, TAKES_UP },
        { OPT_CLUSTER_CIDR, TAKES_UP },
        { OPT_SERVICE_CIDR, TAKES_UP },
        { OPT_TOKEN_FILE, TAKES_TOKEN_FILE },
        { OPT_TTL, TAKES_TTL },
        { OPT_CA_CERT_HASH, TAKES_UP },
        { OPT_CA_FILE, TAKES_UP },
        { OPT_UNSAFE_SKIP_CA, TAKES_UP },
        { OPT_NODE_IP, TAKES_UP },
        { OPT_POD_PIDS_LIMIT, TAKES_UP },
        { OPT_APISERVER_PORT, TAKES_UP },      { OPT_APISERVER_ADDRESS, TAKES_UP },
        { OPT_WORKERS, TAKES_UP },
};


static const struct verb {
        const char *name;
        int (*run)(const struct cli *c, int argc, char **argv);
        unsigned takes;
        const char *synopsis;
        const char *help;
} verbs[] = {
        { "check", verb_check,
          TAKES_ROOT | TAKES_USER | TAKES_ENGINE | TAKES_JSON | TAKES_IGNORE | TAKES_STRICT | TAKES_NO_PROBES |
          TAKES_LIST_IDS,
          "check [--user U] [--engine k3s|kubelet] [--json] [--ignore ID,...] [--strict] [--root DIR] | --list-ids",
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
          "      --list-ids      print every check and feature ID this usernode knows, one per line\n"
          "                      (\"check ID\" or \"feature ID\"), and exit\n"
          "\n"
          "Exit status: 0 ready, 1 not ready, 2 usage error, 3 internal error.\n" },
        { "up", verb_up, TAKES_ENGINE | TAKES_JSON | TAKES_IGNORE | TAKES_NAME | TAKES_UP | TAKES_TOKEN_FILE | TAKES_DRY_RUN,
          "up [--engine k3s|kubelet] [--net auto|slirp4netns|pasta|lxc-user-nic] [--port-driver builtin|slirp4netns|implicit]\n"
          "     [--name N] [--ephemeral] [--wait[=SECS]] [--foreground] [--publish HOST:NODE ...]\n"
          "     [--server URL --token-file F --discovery-token-ca-cert-hash sha256:H] [--node-ip IP]\n"
          "     [--cidr NET] [--cluster-cidr NET] [--service-cidr NET] [--pod-pids-limit N] [--workers N]\n"
          "     [--config FILE] [--dry-run] [--json] [--ignore ID,...]",
          "Starts a rootless Kubernetes node for the calling user, after the checks for its engine pass.\n"
          "\n"
          "      --engine E        k3s or kubelet (default: k3s when it is on PATH, else kubelet)\n"
          "      --net D           network driver (default auto: the fastest usable)\n"
          "      --port-driver P   builtin (fast) or slirp4netns (keeps the source IP); implicit, with\n"
          "                        --net pasta: every port the node listens on, on every host address\n"
          "      --name N          the node's name (default \"default\")\n"
          "      --ephemeral       a fresh name (ci-XXXXXXXX) and all state in one private directory\n"
          "      --wait[=SECS]     block until ready (default 120 s), one line per stage; exit 1 on timeout\n"
          "      --foreground      supervise in this process (no user unit)\n"
          "      --publish H:N     forward host port H (127.0.0.1, or IP:H:N, /udp) to node port N\n"
          "      --server URL      join this API server (k3s: runs `k3s agent`) with a token:\n"
          "      --token-file F    the bootstrap token, from a file only you can read (--token T works,\n"
          "                        but every local user sees a command line)\n"
          "      --discovery-token-ca-cert-hash sha256:H  the cluster's CA, pinned as kubeadm join does\n"
          "      --ca-file F       the cluster's CA certificate instead of the hash\n"
          "      --discovery-token-unsafe-skip-ca-verification  trust whoever answers at URL\n"
          "      --node-ip IP      the address the cluster reaches this node at (default: this host's\n"
          "                        source address towards the API server)\n"
          "      --pod-pids-limit N  processes per pod (default 4096; -1: no limit)\n"
          "      --apiserver-port P  without --server: the host port (127.0.0.1) of the cluster the node\n"
          "                        brings along (default 6443, or a free one when taken)\n"
          "      --apiserver-address IP  without --server: publish that API server on IP, an address of\n"
          "                        this host others reach, so that other nodes can join (default 127.0.0.1)\n"
          "      --workers N       without --server: N more nodes of the cluster on this host (N-worker1 ...,\n"
          "                        at most 8), inside this node's user namespace; up --wait waits for all\n"
          "      --cidr NET        rootlesskit's slirp4netns network (default 10.41.0.0/16 unless taken)\n"
          "      --cluster-cidr NET  pods (default 10.42.0.0/16 unless taken)\n"
          "      --service-cidr NET  services, k3s server (default 10.43.0.0/16 unless taken)\n"
          "      --config FILE     read defaults from FILE too, after /etc/usernode/config.yaml and\n"
          "                        ~/.config/usernode/config.yaml (flags win)\n"
          "      --dry-run         print the settings and the command that would run; start nothing\n"
          "      --json            print the node's status object once ready\n"
          "      --ignore ID,...   start although these checks fail\n" },
        { "down", verb_down, TAKES_NAME | TAKES_PURGE, "down [--name N] [--purge]",
          "Stops the node: engine, containerd, then the namespaces.\n"
          "\n"
          "      --purge           also remove all of its state, files owned by sub-IDs included\n" },
        { "status", verb_status, TAKES_NAME | TAKES_JSON, "status [--name N] [--json]",
          "Shows what runs, since when, kubeconfig, forwarded ports, containerd socket and the last error.\n" },
        { "join-command", verb_join_command, TAKES_NAME | TAKES_TTL | TAKES_TOKEN_FILE,
          "join-command [--name N] [--ttl SECS] [--token-file F]",
          "Prints the line another host runs to join the cluster node N brought along (kubeadm's join line, with\n"
          "usernode up in front): a fresh bootstrap token, the CA's hash, the API server's published address.\n"
          "\n"
          "      --ttl SECS        how long the token joins (default 3600, at most a week)\n"
          "      --token-file F    write the token to F (0600) and name the file on the line, not the token\n" },
        { "exec", verb_exec, TAKES_NAME, "exec [--name N] -- CMD...",
          "Runs CMD inside the node's namespaces (ctr, crictl, a shell for debugging).\n" },
        { "setup", verb_setup, TAKES_ROOT | TAKES_USER | TAKES_DRY_RUN | TAKES_SETUP | TAKES_FORCE,
          "setup --user U [--dry-run] [--no-linger] [--delegate LIST] [--subids N] [--fast-net] [--root DIR]",
          "Makes this host ready for U's rootless node (as root): cgroup delegation drop-in, sub-UID/GID\n"
          "ranges, sysctls, kernel modules, linger, AppArmor profile where needed. Idempotent; everything\n"
          "written is recorded in /var/lib/usernode/setup/U.manifest for unsetup.\n"
          "\n"
          "  -u, --user U               the user (must exist; not root or a system user without --force)\n"
          "      --dry-run              print a unified diff of every file and the settings; change nothing\n"
          "      --no-linger            do not enable linger for U\n"
          "      --delegate LIST        controllers to delegate (default: cpu cpuset io memory pids)\n"
          "      --subids N             size of a new sub-ID range (default 65536)\n"
          "      --fast-net             allow U veth devices on bridge usernode0 through lxc-user-nic\n"
          "      --privileged-ports     let unprivileged users bind ports below 1024\n"
          "      --restart-user-manager restart user@UID.service if it runs with the old delegation\n"
          "      --force                also for system users\n"
          "      --root DIR             write into the host tree at DIR (an image); nothing is reloaded\n"
          "\n"
          "Exit status: 0 done, 1 not done, 2 usage or config error, 3 internal error.\n" },
        { "unsetup", verb_unsetup, TAKES_ROOT | TAKES_USER | TAKES_DRY_RUN | TAKES_FORCE,
          "unsetup --user U [--dry-run] [--force] [--root DIR]",
          "Takes back exactly what setup recorded for U. Files changed since setup wrote them are left\n"
          "alone and listed (exit 1) unless --force; host-wide files another user's setup still needs are\n"
          "kept and handed over to that user's manifest.\n"
          "\n"
          "  -u, --user U    the user\n"
          "      --dry-run   print a unified diff of every file and the settings; change nothing\n"
          "      --force     restore files even where they changed since setup\n"
          "      --root DIR  work on the host tree at DIR\n"
          "\n"
          "Exit status: 0 done, 1 files changed since setup, 2 usage or config error, 3 internal error.\n" },
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
                if (strv_push(&arg.ignore, *i) < 0)
                        return -ENOMEM;
        }
        return 0;
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

/* The options every verb family shares, and --help and --version: 1 when opt is one of them, 0 when not,
 * -EINVAL for a bad value (said on stderr). */
static int parse_common_option(int opt, char *optarg) {
        switch (opt) {
        case OPT_ROOT:
                if (strlen(optarg) == 0 || strlen(optarg) > 4096) {
                        fprintf(stderr, "usernode: --root needs a directory\n");
                        return -EINVAL;
                }
                arg.root = optarg;
                return 1;
        case 'u':
                arg.user = optarg;
                return 1;
        case OPT_ENGINE: {
                enum engine e;

                if (engine_from_string(optarg, &e) < 0) {
                        fprintf(stderr, "usernode: --engine must be k3s or kubelet, not '%s'\n", optarg);
                        return -EINVAL;
                }
                arg.engine = optarg;
                return 1;
        }
        case OPT_JSON:
                arg.json = true;
                return 1;
        case OPT_IGNORE:
                if (parse_ignore(optarg) < 0) {
                        fprintf(stderr, "usernode: --ignore takes check IDs separated by commas\n");
                        return -EINVAL;
                }
                return 1;
        case OPT_STRICT:
                arg.strict = true;
                return 1;
        case OPT_NO_PROBES:
                arg.no_probes = true;
                return 1;
        case OPT_LIST_IDS:
                arg.list_ids = true;
                return 1;
        case OPT_NAME:
                if (!node_name_valid(optarg)) {
                        fprintf(stderr, "usernode: --name takes a-z, 0-9, '-', '_', '.' (at most %d)\n", NODE_NAME_MAX);
                        return -EINVAL;
                }
                arg.name = optarg;
                return 1;
        case OPT_PURGE:
                arg.purge = true;
                return 1;
        case OPT_TTL: {
                uint32_t v;

                if (parse_u32(optarg, &v) < 0 || v < 60 || v > 7 * 86400) {
                        fprintf(stderr, "usernode: --ttl takes seconds, 60 to 604800\n");
                        return -EINVAL;
                }
                arg.ttl_sec = v;
                return 1;
        }
        case OPT_DRY_RUN:
                arg.setup.dry_run = true;
                return 1;
        default:
                return 0;
        }
}

/* getopt_long over argv into arg: 0 once done, 1 after --version (printed), -EINVAL for a usage error (said),
 * -ENOMEM. */
static int parse_options(int argc, char **argv, unsigned *given, bool *help) {
        int c, r;

        while ((c = getopt_long(argc, argv, "hu:", options, NULL)) >= 0) {
                *given |= option_bit(c);
                if (c == 'h') {
                        *help = true;
                        continue;
                }
                if (c == OPT_VERSION) {
                        printf("usernode %s\n", PACKAGE_VERSION);
                        return 1;
                }
                r = parse_common_option(c, optarg);
                if (r == 0)
                        r = verb_up_parse_option(&arg, c, optarg);
                if (r == 0)
                        r = verb_setup_parse_option(&arg, c, optarg);
                if (r == 0) {
                        fprintf(stderr, "usernode: see usernode --help\n");
                        r = -EINVAL;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The verb when it did not come first: the first argument after the options (NULL: none, said). */
static const struct verb *find_verb_after_options(int argc, char **argv) {
        const struct verb *verb;

        if (optind >= argc) {
                help_all(stderr);
                return NULL;
        }
        verb = find_verb(argv[optind]);
        if (!verb) {
                fprintf(stderr, "usernode: unknown verb '%s'; see usernode --help\n", argv[optind]);
                return NULL;
        }
        optind++;
        return verb;
}

/* Every option given must be one the verb takes. */
static bool options_fit_verb(const struct verb *verb, unsigned given) {
        for (size_t i = 0; i < ELEMENTSOF(option_bits); i++)
                if ((given & option_bits[i].bit) && !(verb->takes & option_bits[i].bit)) {
                        for (const struct option *o = options; o->name; o++)
                                if (o->val == option_bits[i].opt)
                                        fprintf(stderr, "usernode %s: option --%s does not apply to this verb\n",
                                                verb->name, o->name);
                        return false;
                }
        /* A list of what this usernode knows depends on no host, user or engine. */
        if ((given & TAKES_LIST_IDS) && (given & ~TAKES_LIST_IDS)) {
                fprintf(stderr, "usernode %s: --list-ids takes no other option\n", verb->name);
                return false;
        }
        return true;
}

int main(int argc, char **argv) {
        const struct verb *verb = NULL;
        unsigned given = 0;
        bool help = false;
        int r;

        /* usernode's init inside a node's namespaces (started by the supervisor, never by users). */
        if (argc > 1 && strcmp(argv[1], "__node-init") == 0)
                return kubelet_init_main(argc - 1, argv + 1);
        /* check's user-namespace probe, re-executed afresh as the user's child (probe.c). */
        if (argc > 1 && strcmp(argv[1], PROBE_CHILD_VERB) == 0)
                return probe_userns_child_main(argc - 1, argv + 1);

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
        r = parse_options(argc, argv, &given, &help);
        if (r != 0)
                return r > 0 ? EXIT_READY : r == -ENOMEM ? EXIT_INTERNAL : EXIT_USAGE;
        if (!verb) {
                if (help) {
                        help_all(stdout);
                        return EXIT_READY;
                }
                verb = find_verb_after_options(argc, argv);
                if (!verb)
                        return EXIT_USAGE;
        }
        if (help) {
                help_verb(verb);
                return EXIT_READY;
        }
        if (!options_fit_verb(verb, given))
                return EXIT_USAGE;

        /* The verb sees its own name as argv[0] and its positional arguments after it. */
        argv[optind - 1] = (char *) verb->name;
        return verb->run(&arg, argc - optind + 1, argv + optind - 1);
}
