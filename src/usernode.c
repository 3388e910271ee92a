/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The command line: options parsed once into struct cli, then one verb from the table. The verbs
 * (verbs-host.c, verbs-node.c) print; everything else lives in the library (libusernode.a) that
 * the tests link too. */
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

enum {
        OPT_VERSION = 0x100,
        OPT_ROOT,
        OPT_ENGINE,
        OPT_JSON,
        OPT_IGNORE,
        OPT_STRICT,
        OPT_NO_PROBES,
        OPT_LIST_IDS,
        OPT_NAME,
        OPT_NET,
        OPT_PORT_DRIVER,
        OPT_EPHEMERAL,
        OPT_WAIT,
        OPT_FOREGROUND,
        OPT_PUBLISH,
        OPT_SERVER,
        OPT_TOKEN,
        OPT_PURGE,
        OPT_DRY_RUN,
        OPT_NO_LINGER,
        OPT_DELEGATE,
        OPT_SUBIDS,
        OPT_FAST_NET,
        OPT_PRIVILEGED_PORTS,
        OPT_RESTART_USER_MANAGER,
        OPT_FORCE,
        OPT_CONFIG,
        OPT_CIDR,
        OPT_CLUSTER_CIDR,
        OPT_SERVICE_CIDR,
        OPT_TOKEN_FILE,
        OPT_CA_CERT_HASH,
        OPT_CA_FILE,
        OPT_UNSAFE_SKIP_CA,
        OPT_NODE_IP,
        OPT_POD_PIDS_LIMIT,
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
        { "pod-pids-limit", required_argument, NULL, OPT_POD_PIDS_LIMIT },
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
        { OPT_TOKEN_FILE, TAKES_UP },
        { OPT_CA_CERT_HASH, TAKES_UP },
        { OPT_CA_FILE, TAKES_UP },
        { OPT_UNSAFE_SKIP_CA, TAKES_UP },
        { OPT_NODE_IP, TAKES_UP },
        { OPT_POD_PIDS_LIMIT, TAKES_UP },
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
        { "up", verb_up, TAKES_ENGINE | TAKES_JSON | TAKES_IGNORE | TAKES_NAME | TAKES_UP | TAKES_DRY_RUN,
          "up [--engine k3s|kubelet] [--net auto|slirp4netns|pasta|lxc-user-nic] [--port-driver builtin|slirp4netns]\n"
          "     [--name N] [--ephemeral] [--wait[=SECS]] [--foreground] [--publish HOST:NODE ...]\n"
          "     [--server URL --token-file F --discovery-token-ca-cert-hash sha256:H] [--node-ip IP]\n"
          "     [--cidr NET] [--cluster-cidr NET] [--service-cidr NET] [--pod-pids-limit N]\n"
          "     [--config FILE] [--dry-run] [--json] [--ignore ID,...]",
          "Starts a rootless Kubernetes node for the calling user, after the checks for its engine pass.\n"
          "\n"
          "      --engine E        k3s or kubelet (default: k3s when it is on PATH, else kubelet)\n"
          "      --net D           network driver (default auto: the fastest usable)\n"
          "      --port-driver P   builtin (fast) or slirp4netns (keeps the source IP)\n"
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

int main(int argc, char **argv) {
        const struct verb *verb = NULL;
        unsigned given = 0;
        bool help = false;
        int c;

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
                        arg.root = optarg;
                        break;
                case 'u':
                        arg.user = optarg;
                        break;
                case OPT_ENGINE: {
                        enum engine e;

                        if (engine_from_string(optarg, &e) < 0) {
                                fprintf(stderr, "usernode: --engine must be k3s or kubelet, not '%s'\n", optarg);
                                return EXIT_USAGE;
                        }
                        arg.engine = optarg;
                        break;
                }
                case OPT_JSON:
                        arg.json = true;
                        break;
                case OPT_IGNORE:
                        if (parse_ignore(optarg) < 0) {
                                fprintf(stderr, "usernode: --ignore takes check IDs separated by commas\n");
                                return EXIT_USAGE;
                        }
                        break;
                case OPT_STRICT:
                        arg.strict = true;
                        break;
                case OPT_NO_PROBES:
                        arg.no_probes = true;
                        break;
                case OPT_LIST_IDS:
                        arg.list_ids = true;
                        break;
                case OPT_NAME:
                        if (!node_name_valid(optarg)) {
                                fprintf(stderr, "usernode: --name takes a-z, 0-9, '-', '_', '.' (at most %d)\n",
                                        NODE_NAME_MAX);
                                return EXIT_USAGE;
                        }
                        arg.name = optarg;
                        break;
                case OPT_NET:
                        if (!net_driver_find(optarg) && strcmp(optarg, "auto") != 0) {
                                fprintf(stderr, "usernode: --net must be auto, slirp4netns, pasta or lxc-user-nic\n");
                                return EXIT_USAGE;
                        }
                        arg.net = optarg;
                        break;
                case OPT_PORT_DRIVER: {
                        enum port_driver d;

                        if (port_driver_from_string(optarg, &d) < 0) {
                                fprintf(stderr, "usernode: --port-driver must be builtin or slirp4netns\n");
                                return EXIT_USAGE;
                        }
                        arg.port_driver = optarg;
                        break;
                }
                case OPT_EPHEMERAL:
                        arg.ephemeral = true;
                        break;
                case OPT_WAIT:
                        arg.wait = true;
                        arg.wait_sec_given = !!optarg;
                        if (optarg && (parse_u32(optarg, &arg.wait_sec) < 0 || arg.wait_sec == 0 ||
                                       arg.wait_sec > 86400)) {
                                fprintf(stderr, "usernode: --wait takes seconds (1-86400)\n");
                                return EXIT_USAGE;
                        }
                        break;
                case OPT_FOREGROUND:
                        arg.foreground = true;
                        break;
                case OPT_PUBLISH:
                        if (arg.n_publish >= NODE_PORTS_MAX || node_port_parse(optarg, &arg.publish[arg.n_publish]) < 0) {
                                fprintf(stderr, "usernode: --publish takes [IP:]HOSTPORT:NODEPORT[/tcp|/udp]\n");
                                return EXIT_USAGE;
                        }
                        arg.n_publish++;
                        break;
                case OPT_SERVER:
                        if (!up_server_valid(optarg)) {
                                fprintf(stderr, "usernode: --server takes an https:// URL or HOST:PORT (as kubeadm join)\n");
                                return EXIT_USAGE;
                        }
                        arg.server = optarg;
                        break;
                case OPT_TOKEN:
                        if (!join_token_valid(optarg)) {
                                fprintf(stderr, "usernode: --token takes a bootstrap token\n");
                                return EXIT_USAGE;
                        }
                        /* The command line is readable by every local user: take a copy and blank it. */
                        arg.token = strdup(optarg);
                        if (!arg.token)
                                return EXIT_INTERNAL;
                        memset(optarg, 'x', strlen(optarg));
                        fprintf(stderr, "usernode: warning: --token puts the join token on a command line, where every "
                                "local user can read it while it runs and it stays in your shell's history; "
                                "use --token-file FILE (mode 0600)\n");
                        break;
                case OPT_TOKEN_FILE:
                        if (strlen(optarg) == 0 || strlen(optarg) > 4096) {
                                fprintf(stderr, "usernode: --token-file takes a path\n");
                                return EXIT_USAGE;
                        }
                        arg.token_file = optarg;
                        break;
                case OPT_CA_CERT_HASH:
                        if (up_ca_cert_hash_valid(optarg) < 0 || arg.n_ca_cert_hashes >= JOIN_PINS_MAX) {
                                fprintf(stderr, "usernode: --discovery-token-ca-cert-hash takes sha256: and 64 hex "
                                        "digits, at most %u times\n", JOIN_PINS_MAX);
                                return EXIT_USAGE;
                        }
                        arg.ca_cert_hashes[arg.n_ca_cert_hashes++] = optarg;
                        break;
                case OPT_CA_FILE:
                        if (strlen(optarg) == 0 || strlen(optarg) > 4096) {
                                fprintf(stderr, "usernode: --ca-file takes a path\n");
                                return EXIT_USAGE;
                        }
                        arg.ca_file = optarg;
                        break;
                case OPT_UNSAFE_SKIP_CA:
                        arg.unsafe_skip_ca_verification = true;
                        break;
                case OPT_NODE_IP:
                        if (!up_node_ip_valid(optarg)) {
                                fprintf(stderr, "usernode: --node-ip takes an IPv4 address\n");
                                return EXIT_USAGE;
                        }
                        arg.node_ip = optarg;
                        break;
                case OPT_POD_PIDS_LIMIT:
                        if (up_pod_pids_limit_parse(optarg, &arg.pod_pids_limit) < 0) {
                                fprintf(stderr, "usernode: --pod-pids-limit takes -1 (no limit) or 16-4194304\n");
                                return EXIT_USAGE;
                        }
                        arg.pod_pids_limit_given = true;
                        break;
                case OPT_PURGE:
                        arg.purge = true;
                        break;
                case OPT_DRY_RUN:
                        arg.setup.dry_run = true;
                        break;
                case OPT_NO_LINGER:
                        arg.setup.no_linger = true;
                        break;
                case OPT_DELEGATE:
                        free(arg.delegate);
                        arg.delegate = NULL;
                        if (setup_parse_delegate(optarg, &arg.delegate) < 0) {
                                fprintf(stderr, "usernode: --delegate takes controllers among cpu cpuset io memory "
                                        "pids hugetlb, not '%s'\n", optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case OPT_SUBIDS:
                        if (parse_u32(optarg, &arg.setup.subids) < 0 || arg.setup.subids < SUBID_MIN_COUNT ||
                            arg.setup.subids > 1000000000u) {
                                fprintf(stderr, "usernode: --subids takes a count from %u to 1000000000\n",
                                        SUBID_MIN_COUNT);
                                return EXIT_USAGE;
                        }
                        break;
                case OPT_FAST_NET:
                        arg.setup.fast_net = true;
                        break;
                case OPT_PRIVILEGED_PORTS:
                        arg.setup.privileged_ports = true;
                        break;
                case OPT_RESTART_USER_MANAGER:
                        arg.setup.restart_user_manager = true;
                        break;
                case OPT_FORCE:
                        arg.setup.force = true;
                        break;
                case OPT_CONFIG:
                        if (strlen(optarg) == 0 || strlen(optarg) > 4096) {
                                fprintf(stderr, "usernode: --config needs a file\n");
                                return EXIT_USAGE;
                        }
                        arg.config = optarg;
                        break;
                case OPT_CIDR:
                case OPT_CLUSTER_CIDR:
                case OPT_SERVICE_CIDR:
                        if (!up_cidr_valid(optarg)) {
                                fprintf(stderr, "usernode: --%s takes an IPv4 network with its host bits clear "
                                        "(10.42.0.0/16), not '%s'\n",
                                        c == OPT_CIDR ? "cidr" : c == OPT_CLUSTER_CIDR ? "cluster-cidr" : "service-cidr",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        *(c == OPT_CIDR ? &arg.cidr : c == OPT_CLUSTER_CIDR ? &arg.cluster_cidr : &arg.service_cidr) =
                                optarg;
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
        /* A list of what this usernode knows depends on no host, user or engine. */
        if ((given & TAKES_LIST_IDS) && (given & ~TAKES_LIST_IDS)) {
                fprintf(stderr, "usernode %s: --list-ids takes no other option\n", verb->name);
                return EXIT_USAGE;
        }

        /* The verb sees its own name as argv[0] and its positional arguments after it. */
        argv[optind - 1] = (char *) verb->name;
        return verb->run(&arg, argc - optind + 1, argv + optind - 1);
}
