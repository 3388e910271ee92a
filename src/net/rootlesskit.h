/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "net-driver.h"

struct host;
struct net_driver;
struct node_port;

/* rootlesskit.c: rootlesskit makes the node's namespaces and its network, and publishes its ports. */
struct rootlesskit_config {
        const struct net_driver *net;
        enum port_driver port_driver;
        unsigned mtu;
        const char *state_dir;
        const char *cidr;               /* NULL: rootlesskit's default */
        bool ipv6;
        bool subid_static;              /* read /etc/subuid itself: four getsubids runs cost ~90 ms */
        const char *evacuate_cgroup2;   /* --evacuate-cgroup2=NAME: the node has a cgroup of its own */
};
/* Whether /etc/subuid and /etc/subgid are the whole truth: nsswitch.conf names no "subid:" source. */
bool rootlesskit_subids_static(const struct host *h);
/* "rootlesskit --net=... ... --state-dir DIR" (without the child command). */
int rootlesskit_argv(const struct rootlesskit_config *c, char ***ret);
/* Forwards a port through rootlesskit's API socket (POST /v1/ports); sets p->id. */
int rootlesskit_add_port(const char *api_socket, struct node_port *p, struct un_error *err);
/* GET /v1/info: 0 when the API answers. */
int rootlesskit_info(const char *api_socket, struct un_error *err);
/* Reads DIR/child_pid. */
int rootlesskit_child_pid(const char *state_dir, pid_t *ret);
/* Builds the HTTP request for a port; exposed for tests. */
char *rootlesskit_port_request(const struct node_port *p);
/* Parses the body of the answer to POST /v1/ports: {"id":N,...}. */
int rootlesskit_parse_port_reply(const char *http, int64_t *ret_id);
/* rootlesskit-tree.c: what a running rootlesskit (PID rk) started, as /proc shows it. */
/* Its child in another PID namespace, the node's first process: 0 while there is none. */
pid_t rootlesskit_find_child(pid_t rk);
/* Its network helper (slirp4netns or pasta; its name into ret_comm): 0 while there is none, -errno when rk is
 * gone. */
pid_t rootlesskit_find_net_helper(pid_t rk, char *ret_comm, size_t size);
/* Whether it was started with --net=slirp4netns. */
bool rootlesskit_runs_slirp4netns(pid_t rk);
/* rootlesskit's own last error in the node's log (node.log): NULL when none. */
char *rootlesskit_last_error(const char *node_log);
