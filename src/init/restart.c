/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Once the node has been ready, a daemon of it that exits is started again instead of ending the node:
 * after a back-off that doubles with each exit, once what it needs runs (the API server after etcd, the
 * kubelet after containerd), and given up on when it keeps dying (systemd's Restart=on-failure with
 * RestartSec growing as RestartSteps makes it, and StartLimitBurst in StartLimitIntervalSec). Each exit,
 * restart and give-up goes to the node's log and, as "daemon NAME STATE RESTARTS SINCE [WHY]", to the
 * supervisor, which keeps it in status.json; a daemon given up on makes the node degraded. Before the node is
 * ready a death stays a failed start (daemons.c). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "init.h"
#include "log.h"
#include "util.h"

#define RESTART_FIRST_MS 200u
#define RESTART_MAX_MS 10000u
#define START_LIMIT_INTERVAL_USEC (300u * 1000000ull)

/* Each daemon: its name, its log under the runtime directory (containerd's output goes to the node's own),
 * and what must run before it is started again. */
static const struct {
        const char *name, *log;
        enum init_daemon needs;
} daemons[_INIT_DAEMON_MAX] = {
        [INIT_DAEMON_CONTAINERD] = { "containerd", "node.log", _INIT_DAEMON_MAX },
        [INIT_DAEMON_ETCD] = { "etcd", "etcd.log", _INIT_DAEMON_MAX },
        [INIT_DAEMON_APISERVER] = { "kube-apiserver", "apiserver.log", INIT_DAEMON_ETCD },
        [INIT_DAEMON_CONTROLLER_MANAGER] = { "kube-controller-manager", "controller-manager.log", INIT_DAEMON_APISERVER },
        [INIT_DAEMON_SCHEDULER] = { "kube-scheduler", "scheduler.log", INIT_DAEMON_APISERVER },
        [INIT_DAEMON_KUBELET] = { "kubelet", "kubelet.log", INIT_DAEMON_CONTAINERD },
        [INIT_DAEMON_KUBE_PROXY] = { "kube-proxy", "kube-proxy.log", _INIT_DAEMON_MAX },
        [INIT_DAEMON_FLANNEL] = { "flanneld", "flannel.log", _INIT_DAEMON_MAX },
        [INIT_DAEMON_K3S] = { "k3s", "k3s.log", _INIT_DAEMON_MAX },
};

static const char *const health_states[] = {
        [INIT_HEALTH_RUNNING] = "running", [INIT_HEALTH_RESTARTING] = "restarting", [INIT_HEALTH_FAILED] = "failed",
};

const char *init_daemon_to_string(enum init_daemon d) {
        return (unsigned) d < _INIT_DAEMON_MAX ? daemons[d].name : NULL;
}

const char *init_daemon_log(enum init_daemon d) {
        return (unsigned) d < _INIT_DAEMON_MAX ? daemons[d].log : NULL;
}

struct proc *init_daemon_proc(struct init *in, enum init_daemon d) {
        switch (d) {
        case INIT_DAEMON_CONTAINERD:
                return &in->containerd;
        case INIT_DAEMON_ETCD:
                return &in->cp[CONTROLPLANE_ETCD];
        case INIT_DAEMON_APISERVER:
                return &in->cp[CONTROLPLANE_APISERVER];
        case INIT_DAEMON_CONTROLLER_MANAGER:
                return &in->cp[CONTROLPLANE_CONTROLLER_MANAGER];
        case INIT_DAEMON_SCHEDULER:
                return &in->cp[CONTROLPLANE_SCHEDULER];
        case INIT_DAEMON_KUBELET:
                return &in->kubelet;
        case INIT_DAEMON_KUBE_PROXY:
                return &in->kube_proxy;
        case INIT_DAEMON_FLANNEL:
                return &in->flannel;
        case INIT_DAEMON_K3S:
                return &in->k3s;
        default:
                return NULL;
        }
}

const char *init_error_line(const char *line) {
        if ((line[0] == 'E' || line[0] == 'F') && strspn(line + 1, "0123456789") == 4)
                return line;
        if (strstr(line, "level=error") || strstr(line, "level=fatal") || strstr(line, "\"level\":\"error\"") ||
            strstr(line, "\"level\":\"fatal\""))
                return line;
        return NULL;
}

static void report(struct init *in, enum init_daemon d) {
        const struct init_health *h = &in->health[d];

        init_stage(in, "daemon %s %s %u %lld%s%s", daemons[d].name, health_states[h->state], h->restarts,
                   (long long) h->since, h->last_error[0] ? " " : "", h->last_error);
}

static void set_state(struct init *in, enum init_daemon d, enum init_health_state state) {
        in->health[d].state = state;
        in->health[d].since = time(NULL);
        report(in, d);
}

void init_health_begin(struct init *in) {
        in->healing = true;
        for (enum init_daemon d = 0; d < _INIT_DAEMON_MAX; d++) {
                struct init_health *h = &in->health[d];

                h->tracked = init_daemon_proc(in, d)->pid > 0;
                if (h->tracked)
                        set_state(in, d, INIT_HEALTH_RUNNING);
        }
}

/* Exits within the start limit's interval, this one included; the oldest beyond it are forgotten. */
static unsigned recent_exits(struct init_health *h, uint64_t now) {
        unsigned n = 0;

        for (unsigned i = 0; i < ELEMENTSOF(h->exits); i++)
                if (h->exits[i] && now - h->exits[i] <= START_LIMIT_INTERVAL_USEC)
                        n++;
        return n;
}

static void note_exit(struct init *in, enum init_daemon d, const char *how) {
        _cleanup_free_ char *log = xstrdup_printf("%s/%s", in->runtime_dir, init_daemon_log(d));
        _cleanup_free_ char *last = log ? log_last_match(log, init_error_line, 200) : NULL;
        struct init_health *h = &in->health[d];
        uint64_t now = now_usec();
        unsigned n, delay;

        h->exits[h->next_exit++ % ELEMENTSOF(h->exits)] = now;
        snprintf(h->last_error, sizeof h->last_error, "%s%s%s", how, last ? ": " : "", last ? last : "");
        n = recent_exits(h, now);
        if (n >= INIT_START_LIMIT_BURST) {
                h->restart_at = 0;
                fprintf(stderr, "usernode-init: %s %s %u times in %llu s: not started again\n", daemons[d].name, how, n,
                        START_LIMIT_INTERVAL_USEC / 1000000ull);
                set_state(in, d, INIT_HEALTH_FAILED);
                init_stage(in, "degraded %s keeps dying (%u times in %llu s), not started again: %s", daemons[d].name, n,
                           START_LIMIT_INTERVAL_USEC / 1000000ull, h->last_error);
                return;
        }
        delay = RESTART_FIRST_MS << (n - 1);
        if (delay > RESTART_MAX_MS)
                delay = RESTART_MAX_MS;
        h->restart_at = now + delay * 1000ull;
        fprintf(stderr, "usernode-init: %s %s; starting it again in %u ms\n", daemons[d].name, how, delay);
        set_state(in, d, INIT_HEALTH_RESTARTING);
}

void init_health_exited(struct init *in, enum init_daemon d) {
        char how[48];

        snprintf(how, sizeof how, "exited with status %d", init_exit_code(init_daemon_proc(in, d)));
        proc_done(init_daemon_proc(in, d));
        note_exit(in, d, how);
}

int init_health_timeout_ms(const struct init *in, int timeout_ms) {
        uint64_t now = now_usec();

        for (enum init_daemon d = 0; d < _INIT_DAEMON_MAX; d++) {
                const struct init_health *h = &in->health[d];
                int left;

                if (!h->restart_at)
                        continue;
                left = h->restart_at <= now ? 0 : (int) ((h->restart_at - now + 999) / 1000);
                if (timeout_ms < 0 || left < timeout_ms)
                        timeout_ms = left;
        }
        return timeout_ms;
}

void init_health_restart_due(struct init *in) {
        uint64_t now = now_usec();

        for (enum init_daemon d = 0; d < _INIT_DAEMON_MAX; d++) {
                struct init_health *h = &in->health[d];
                enum init_daemon need = daemons[d].needs;
                struct un_error err = {};

                if (!h->restart_at || h->restart_at > now)
                        continue;
                /* Its dependency first: it is looked at again when that one runs (or never, when it failed). */
                if (need != _INIT_DAEMON_MAX && in->health[need].tracked && in->health[need].state != INIT_HEALTH_RUNNING)
                        continue;
                h->restart_at = 0;
                if (init_daemon_start(in, d, &err) < 0) {
                        note_exit(in, d, err.msg);
                        continue;
                }
                h->restarts++;
                fprintf(stderr, "usernode-init: %s started again (restart %u)\n", daemons[d].name, h->restarts);
                set_state(in, d, INIT_HEALTH_RUNNING);
                /* Its dependents waiting on it go now rather than at their next wake-up. */
                now = now_usec();
        }
}
