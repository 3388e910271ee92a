/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The command line's own interface: the parsed options and the verbs. Linked into the binary only;
 * the verbs print, the library under them does not. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "join.h"
#include "node.h"
#include "setup.h"
#include "up.h"

enum {
        EXIT_READY = 0,
        EXIT_NOT_READY = 1,
        EXIT_USAGE = 2,
        EXIT_INTERNAL = 3,
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

/* verbs-host.c: the host's side. */
int verb_check(const struct cli *c, int argc, char **argv);
int verb_setup(const struct cli *c, int argc, char **argv);
int verb_unsetup(const struct cli *c, int argc, char **argv);

/* verbs-node.c: the node's side. */
int verb_up(const struct cli *c, int argc, char **argv);
int verb_down(const struct cli *c, int argc, char **argv);
int verb_status(const struct cli *c, int argc, char **argv);
int verb_exec(const struct cli *c, int argc, char **argv);
