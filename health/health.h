/* health: the daemon's health checking (nanny). Keeps one target per real server of every
 * service whose check is not none, probes it every --check-interval, feeds the results to its
 * state machine (check.h) and the agent's answers (probe.h) to its weight, and tells the rest of
 * rawlb only about changes, through the service table (service_set_available,
 * service_set_weight, and whether the sorry server stands in) and two callbacks: flows that must
 * be dropped, and a server whose probe failed (it may have moved to another MAC). Every
 * transition is logged with its reason.
 * A server is in service only after its first passing probe (check.h's PENDING), at start and
 * when added at runtime; its first probe goes out at once. Flows restored or synced to a pending
 * server go on: only new ones wait. */
#ifndef RAWLB_HEALTH_H
#define RAWLB_HEALTH_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "config.h"
#include "ctlproto.h"
#include "probe.h"
#include "service.h"

/* A real server declared dead in a service without --quiesce: its flows are dropped (the fast
 * path answers their clients with an RST from the VIP so they reconnect elsewhere at once). */
typedef void (*health_drop_flows_cb)(void *arg, unsigned svc, unsigned rs);
/* A probe of the real server at addr (network order) failed: it may have changed its MAC without
 * a gratuitous ARP, so the daemon asks for it now rather than after the health check gives up. */
typedef void (*health_probe_failed_cb)(void *arg, uint32_t addr);

struct health_target {
    struct health *owner;
    unsigned svc, rs;
    struct health_machine machine;
    struct probe probe, agent;
    ev_timer next_probe, next_agent;
    bool agent_down;           /* the agent said down */
    unsigned agent_percent;    /* 100 unless the agent said otherwise; 0 = drain */
    uint64_t agent_since_ms;   /* when the agent last changed its word */
    char agent_result[HEALTH_RESULT_LEN];
};

struct health {
    struct ev_loop *loop;
    struct service_table *services;
    const struct rawlb_config *cfg;
    uint32_t src; /* the director's own internal address */
    health_drop_flows_cb drop_flows;
    void *drop_flows_arg;
    health_probe_failed_cb probe_failed;
    void *probe_failed_arg;
    unsigned n_targets;
    struct health_target *targets;
    int16_t target_of[RAWLB_MAX_SERVICES][RAWLB_MAX_RS_PER_SERVICE]; /* index in targets, or -1 */
    uint64_t sorry_since_ms[RAWLB_MAX_SERVICES]; /* when the sorry server came into use */
    /* sorry_since_ms by service address, kept by health_save for health_restart (an edit may
     * renumber the services). */
    struct health_sorry_saved {
        uint8_t proto;
        struct endpoint vip;
        uint64_t since_ms;
    } sorry_saved[RAWLB_MAX_SERVICES];
    unsigned n_sorry_saved;
};

/* Starts checking every real server that needs it; those are out of the schedule until their
 * first passing probe. False only when memory is short. */
bool health_start(struct health *h, struct ev_loop *loop, struct service_table *services,
                  const struct rawlb_config *cfg, uint32_t src, health_drop_flows_cb drop_flows, void *arg,
                  health_probe_failed_cb probe_failed, void *probe_failed_arg);
void health_stop(struct health *h);
/* A checked server's state, by address, kept across a replacement of the service table. */
struct health_saved {
    uint8_t proto;
    struct endpoint vip, rs;
    struct health_machine machine;
    bool agent_down;
    unsigned agent_percent;
    uint64_t agent_since_ms;
    char agent_result[HEALTH_RESULT_LEN];
};
/* Control, before the service table is replaced: every target's state (caller frees; NULL with
 * *n 0 when nothing is checked, NULL with *n > 0 when memory is short). */
struct health_saved *health_save(struct health *h, unsigned *n);
/* After: checks start over on the new table, each server resuming the state saved for it; a new
 * one is pending until its first passing probe. */
bool health_restart(struct health *h, const struct health_saved *saved, unsigned n);

/* Every checked real server has had its first probe's result (HA: a returning primary takes
 * over only once it knows which servers are up). */
bool health_first_round_done(const struct health *h);

/* For rawlb-ctl list --health (ctl_health_fn in lb/ctlproto.h; arg is the struct health). */
bool health_describe(void *arg, unsigned svc, unsigned rs, struct ctl_rs_health *out);

#endif
