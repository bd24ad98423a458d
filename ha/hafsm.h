/* hafsm: the primary/backup role state machine (piranha's pulse, keepalived's VRRP states), as
 * pure code on a clock the caller gives (milliseconds): the daemon feeds it what it hears and
 * what it sees, and asks it at every heartbeat and timer tick which state it should be in.
 * It decides; ha.c acts (role gate, gratuitous ARP, notify, table transfer).
 *
 * The rules, in the order they are applied:
 *   1. stopping -> LEAVING; a tracked link without carrier -> FAULT.
 *   2. The peer not heard for the dead time (on any link) -> MASTER. At start, a node first
 *      listens for one dead time, so that a returning primary never pre-empts unheard.
 *   3. The peer says FAULT or LEAVING -> MASTER.
 *   4. The operator: "ha takeover" here (FORCED) -> MASTER; the peer's FORCED -> BACKUP (and
 *      our own FORCED is dropped: the latest takeover wins). "ha release" here (RELEASED) ->
 *      BACKUP once the peer is READY or master; the peer's RELEASED -> MASTER once this node is
 *      READY (a released master whose peer just restarted keeps the role until the peer has
 *      its table).
 *   5. Precedence: the primary (between two of the same --ha-role, the higher node id) is
 *      master once READY: its first round of health probes is done and, while the peer is
 *      master, the peer's whole table has arrived (or table_wait_ms has passed since it was
 *      asked for). The other is master only while the node with precedence is not: it yields
 *      at once when that one says MASTER (failback, or a healed split brain).
 * A node never pre-empts while FAULT, LEAVING or not READY. */
#ifndef RAWLB_HAFSM_H
#define RAWLB_HAFSM_H

#include <stdbool.h>
#include <stdint.h>

#include "hamsg.h"

struct ha_fsm_config {
    enum ha_role role;
    uint64_t node;          /* this director's node id (ties between two of the same role) */
    uint32_t deadtime_ms;   /* --ha-deadtime */
    uint32_t table_wait_ms; /* longest wait for the peer's table before taking over anyway */
};

struct ha_fsm {
    struct ha_fsm_config cfg;
    enum ha_state state;
    const char *reason;     /* why the last transition happened (a static string) */
    uint64_t started_ms, changed_ms;
    /* what this node knows of itself */
    bool health_ready;      /* first round of health probes done */
    bool table_received;    /* the peer's whole table arrived (since it was last asked for) */
    bool table_asked;
    uint64_t table_asked_ms;
    bool fault, leaving, forced, released;
    /* what it last heard from the peer */
    bool heard;
    uint64_t heard_ms;
    uint64_t peer_node, peer_epoch;
    uint8_t peer_state, peer_role;
    uint16_t peer_flags;
};

/* Starts in BACKUP (listening) at now. */
void ha_fsm_init(struct ha_fsm *f, const struct ha_fsm_config *cfg, uint64_t now_ms);

/* An authentic, fresh heartbeat from the peer. A new peer epoch (it restarted) forgets what
 * was known of its table. */
void ha_fsm_heard(struct ha_fsm *f, uint64_t now_ms, uint64_t peer_node, uint64_t peer_epoch,
                  const struct ha_heartbeat *hb);

/* Inputs from the daemon. */
void ha_fsm_set_fault(struct ha_fsm *f, bool fault);
void ha_fsm_set_health_ready(struct ha_fsm *f);
void ha_fsm_table_received(struct ha_fsm *f);
void ha_fsm_leave(struct ha_fsm *f);
void ha_fsm_takeover(struct ha_fsm *f); /* rawlb-ctl ha takeover */
void ha_fsm_release(struct ha_fsm *f);  /* rawlb-ctl ha release */

/* Re-evaluates the rules at now. Returns true when the state changed (f->state, f->reason). */
bool ha_fsm_step(struct ha_fsm *f, uint64_t now_ms);

/* Whether the peer was heard within the dead time. */
bool ha_fsm_peer_alive(const struct ha_fsm *f, uint64_t now_ms);
/* The HA_HB_* flags this node's heartbeats carry now (READY, FORCED, RELEASED, WANT_TABLE:
 * it is not master, the peer is, and the peer's table has not arrived yet). */
uint16_t ha_fsm_flags(const struct ha_fsm *f, uint64_t now_ms);

#endif
