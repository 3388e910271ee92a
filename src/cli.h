/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The command line's own interface: the parsed options and the verbs. Linked into the binary only;
 * the verbs print, the library under them does not. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "init.h"
#include "join.h"
#include "node.h"
#include "nodeapi.h"
#include "setup.h"
#include "up.h"

enum {
        EXIT_READY = 0,
        EXIT_NOT_READY = 1,
        EXIT_USAGE = 2,
        EXIT_INTERNAL = 3,
};

/* The long options' values (getopt_long's table is in usernode.c). */
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
        OPT_APISERVER_PORT,
        OPT_APISERVER_ADDRESS,
        OPT_TTL,
        OPT_WORKERS,
};

struct cli {
        const char *root;
        const char *user;
        const char *engine;
        bool json;
        bool strict;
        bool no_probes;
        bool list_ids;
        char **ignore;
        const char *name;
        const char *net;
        const char *port_driver;
        bool ephemeral;
        bool wait;
        unsigned wait_sec;
        bool wait_sec_given;
        bool foreground;
        bool purge;
        const char *server;
        char *token;                    /* a copy: the command line's is blanked */
        const char *token_file;
        const char *ca_cert_hashes[JOIN_PINS_MAX];
        size_t n_ca_cert_hashes;
        const char *ca_file;
        bool unsafe_skip_ca_verification;
        const char *node_ip;
        uint16_t apiserver_port;
        const char *apiserver_address;
        unsigned workers;
        bool workers_given;
        unsigned ttl_sec;               /* join-command's token; 0: the default */
        int64_t pod_pids_limit;
        bool pod_pids_limit_given;
        struct node_port publish[NODE_PORTS_MAX];
        size_t n_publish;
        struct setup_options setup;
        char *delegate;
        const char *config;
        const char *cidr;
        const char *cluster_cidr;
        const char *service_cidr;
};

static inline const char *cli_node_name(const struct cli *c) {
        return c->name ? c->name : "default";
}

/* Each verb family parses its own options into c: 1 when opt is one of them, 0 when not, -EINVAL for a bad
 * value (said on stderr), -ENOMEM. */

/* verbs-host.c: the host's side. */
int verb_check(const struct cli *c, int argc, char **argv);
int verb_setup(const struct cli *c, int argc, char **argv);
int verb_unsetup(const struct cli *c, int argc, char **argv);
int verb_setup_parse_option(struct cli *c, int opt, const char *arg);

/* verbs-up.c: starting a node. */
int verb_up(const struct cli *c, int argc, char **argv);
int verb_up_parse_option(struct cli *c, int opt, char *arg);

/* verbs-node.c: the node once started. */
int verb_down(const struct cli *c, int argc, char **argv);
int verb_status(const struct cli *c, int argc, char **argv);
int verb_join_command(const struct cli *c, int argc, char **argv);
int verb_exec(const struct cli *c, int argc, char **argv);
