/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup-probe.h"

struct check_ctx;
struct host;

struct probes {
        bool userns_ran, cgroup_ran;
        struct probe_outcome userns;    /* unshare(CLONE_NEWUSER) */
        struct probe_outcome idmap;     /* the full sub-ID map written by newuidmap/newgidmap */
        struct probe_outcome overlay;   /* overlayfs mounted inside the namespace */
        struct probe_outcome fuse;      /* /dev/fuse opened inside the namespace (fuse-overlayfs) */
        struct probe_outcome tun;       /* /dev/net/tun opened, a tap made in a new netns */
        struct cgroup_probe cgroup;
};

/* Run the user-namespace probes once (userns, idmap, overlay, fuse, tun) and cache them in c.
 * Under --root they are all PROBE_SKIPPED with the reason. */
const struct probes *probe_userns(struct check_ctx *c);
/* The user-namespace probe's child, re-executed (argv[0] PROBE_CHILD_VERB): never run by users. */
#define PROBE_CHILD_VERB "__probe-userns"
int probe_userns_child_main(int argc, char **argv);
/* Run the cgroup probe once; needs c->cgroup filled (cgroup v2 and a live user manager). */
const struct cgroup_probe *probe_cgroup(struct check_ctx *c);
const char *probe_state_to_string(enum probe_state s);

/* The fixed-size message a probe child sends its parent over a SOCK_SEQPACKET pair: the five
 * user-namespace outcomes, in the order of struct probes. Checked on receipt, never trusted. */
#define PROBE_WIRE_MAGIC 0x756e7072u     /* "unpr" */
enum {
        PROBE_WIRE_USERNS,
        PROBE_WIRE_IDMAP,
        PROBE_WIRE_OVERLAY,
        PROBE_WIRE_FUSE,
        PROBE_WIRE_TUN,
        _PROBE_WIRE_MAX,
};
struct probe_wire {
        uint32_t magic;
        uint32_t n;
        struct {
                int32_t state;
                int32_t error;
                char detail[256];
        } o[_PROBE_WIRE_MAX];
};

void probe_wire_encode(const struct probes *p, struct probe_wire *ret);
/* Fills the user-namespace outcomes of p from a received message; -EBADMSG when it is short,
 * of another version, names an unknown state or has a detail without its NUL. */
int probe_wire_decode(const void *buf, size_t len, struct probes *p);
