/* hafsm: see hafsm.h.
 *
 * Two details the rules leave open:
 * - The peer's FORCED and RELEASED act on our own flag when they are raised (absent from the
 *   peer's previous heartbeat of the same epoch), not at every heartbeat that carries them:
 *   otherwise a takeover here would be dropped by the peer's next heartbeat, still carrying
 *   its older takeover, and neither would win.
 * - What was known of the peer's table is forgotten whenever this node stops being master:
 *   the next time it returns, it asks for the table afresh. */
#include "hafsm.h"

#include <string.h>

/* The state the rules want and why. */
struct hafsm_decision {
    enum ha_state state;
    const char *reason;
};

static bool decide(struct hafsm_decision *d, enum ha_state state, const char *reason)
{
    d->state = state;
    d->reason = reason;
    return true;
}

static uint64_t ms_since(uint64_t now_ms, uint64_t then_ms)
{
    return now_ms > then_ms ? now_ms - then_ms : 0;
}

static void forget_table(struct ha_fsm *f)
{
    f->table_received = false;
    f->table_asked = false;
    f->table_asked_ms = 0;
}

static bool peer_is_master(const struct ha_fsm *f, uint64_t now_ms)
{
    return ha_fsm_peer_alive(f, now_ms) && f->peer_state == HA_STATE_MASTER;
}

static bool wants_table(const struct ha_fsm *f, uint64_t now_ms)
{
    return f->state != HA_STATE_MASTER && peer_is_master(f, now_ms) && !f->table_received;
}

static bool table_wait_over(const struct ha_fsm *f, uint64_t now_ms)
{
    return f->table_asked && ms_since(now_ms, f->table_asked_ms) >= f->cfg.table_wait_ms;
}

/* The primary over a backup; between two of the same role, the higher node id. */
static bool has_precedence(const struct ha_fsm *f)
{
    if (f->cfg.role == f->peer_role)
        return f->cfg.node > f->peer_node;
    return f->cfg.role == HA_ROLE_PRIMARY && f->peer_role == HA_ROLE_BACKUP;
}

/* Rule 1. */
static bool rule_self(const struct ha_fsm *f, struct hafsm_decision *d)
{
    if (f->leaving)
        return decide(d, HA_STATE_LEAVING, "stopping");
    if (f->fault)
        return decide(d, HA_STATE_FAULT, "tracked link lost carrier");
    return false;
}

/* Rule 2, with the start window: listen for one dead time before taking over unheard. */
static bool rule_peer_silent(const struct ha_fsm *f, uint64_t now_ms, struct hafsm_decision *d)
{
    if (ha_fsm_peer_alive(f, now_ms))
        return false;
    if (!f->heard && ms_since(now_ms, f->started_ms) < f->cfg.deadtime_ms)
        return decide(d, HA_STATE_BACKUP, "start: listening for the peer");
    return decide(d, HA_STATE_MASTER, "peer silent for the dead time");
}

/* Rule 3. */
static bool rule_peer_unable(const struct ha_fsm *f, struct hafsm_decision *d)
{
    if (f->peer_state == HA_STATE_FAULT)
        return decide(d, HA_STATE_MASTER, "peer in fault");
    if (f->peer_state == HA_STATE_LEAVING)
        return decide(d, HA_STATE_MASTER, "peer leaving");
    return false;
}

/* Ready to be master: health known and, while the peer is master, its table here (or waited for
 * long enough). */
static bool self_ready(const struct ha_fsm *f, uint64_t now_ms)
{
    return f->health_ready && (f->state == HA_STATE_MASTER || f->peer_state != HA_STATE_MASTER ||
                               f->table_received || table_wait_over(f, now_ms));
}

/* Rule 4. The peer is alive and able here. A release waits until the peer is READY (or already
 * master), and a released peer is relieved only once this node is: the master role never goes to
 * a node without the table, whoever asked for the switch. */
static bool rule_operator(const struct ha_fsm *f, uint64_t now_ms, struct hafsm_decision *d)
{
    bool peer_released = f->peer_flags & HA_HB_RELEASED;
    bool peer_ready = (f->peer_flags & HA_HB_READY) || f->peer_state == HA_STATE_MASTER;
    if (f->forced)
        return decide(d, HA_STATE_MASTER, "operator takeover");
    if (f->peer_flags & HA_HB_FORCED)
        return decide(d, HA_STATE_BACKUP, "peer operator takeover");
    if (f->released && !peer_released && peer_ready)
        return decide(d, HA_STATE_BACKUP, "operator release");
    if (peer_released && !f->released && self_ready(f, now_ms))
        return decide(d, HA_STATE_MASTER, "peer released");
    return false;
}

/* Rule 5 for the node with precedence: master once READY, and it stays. */
static void rule_lead(const struct ha_fsm *f, uint64_t now_ms, struct hafsm_decision *d)
{
    if (f->state == HA_STATE_MASTER)
        decide(d, HA_STATE_MASTER, f->reason);
    else if (!f->health_ready)
        decide(d, HA_STATE_BACKUP, "waiting for the first health probes");
    else if (f->peer_state != HA_STATE_MASTER)
        decide(d, HA_STATE_MASTER, "ready (peer not master)");
    else if (f->table_received)
        decide(d, HA_STATE_MASTER, "failback: ready and the peer's table received");
    else if (table_wait_over(f, now_ms))
        decide(d, HA_STATE_MASTER, "table wait timed out");
    else
        decide(d, HA_STATE_BACKUP, "waiting for the peer's table");
}

/* Rule 5 for the other: master only while the one with precedence is not. */
static void rule_follow(const struct ha_fsm *f, struct hafsm_decision *d)
{
    if (f->peer_state == HA_STATE_MASTER)
        decide(d, HA_STATE_BACKUP, "peer with precedence is master");
    else if (f->state == HA_STATE_MASTER)
        decide(d, HA_STATE_MASTER, f->reason);
    else
        decide(d, HA_STATE_BACKUP, "peer has precedence");
}

static struct hafsm_decision hafsm_decide(const struct ha_fsm *f, uint64_t now_ms)
{
    struct hafsm_decision d;
    if (rule_self(f, &d) || rule_peer_silent(f, now_ms, &d) || rule_peer_unable(f, &d) ||
        rule_operator(f, now_ms, &d))
        return d;
    if (has_precedence(f))
        rule_lead(f, now_ms, &d);
    else
        rule_follow(f, &d);
    return d;
}

void ha_fsm_init(struct ha_fsm *f, const struct ha_fsm_config *cfg, uint64_t now_ms)
{
    memset(f, 0, sizeof *f);
    f->cfg = *cfg;
    f->state = HA_STATE_BACKUP;
    f->reason = "start: listening for the peer";
    f->started_ms = now_ms;
    f->changed_ms = now_ms;
}

void ha_fsm_heard(struct ha_fsm *f, uint64_t now_ms, uint64_t peer_node, uint64_t peer_epoch,
                  const struct ha_heartbeat *hb)
{
    bool restarted = peer_epoch != f->peer_epoch;
    uint16_t raised = hb->flags & (restarted ? 0xffffu : (uint16_t)~f->peer_flags);
    if (restarted)
        forget_table(f);
    if (raised & HA_HB_FORCED)
        f->forced = false; /* the latest takeover wins */
    if (raised & HA_HB_RELEASED)
        f->released = false;
    f->heard = true;
    f->heard_ms = now_ms;
    f->peer_node = peer_node;
    f->peer_epoch = peer_epoch;
    f->peer_state = hb->state;
    f->peer_role = hb->role;
    f->peer_flags = hb->flags;
}

void ha_fsm_set_fault(struct ha_fsm *f, bool fault)
{
    f->fault = fault;
}

void ha_fsm_set_health_ready(struct ha_fsm *f)
{
    f->health_ready = true;
}

void ha_fsm_table_received(struct ha_fsm *f)
{
    f->table_received = true;
}

void ha_fsm_leave(struct ha_fsm *f)
{
    f->leaving = true;
}

void ha_fsm_takeover(struct ha_fsm *f)
{
    f->forced = true;
    f->released = false;
}

void ha_fsm_release(struct ha_fsm *f)
{
    f->released = true;
    f->forced = false;
}

bool ha_fsm_step(struct ha_fsm *f, uint64_t now_ms)
{
    struct hafsm_decision d = hafsm_decide(f, now_ms);
    bool changed = d.state != f->state;
    if (changed) {
        if (f->state == HA_STATE_MASTER)
            forget_table(f);
        f->state = d.state;
        f->reason = d.reason;
        f->changed_ms = now_ms;
    }
    if (wants_table(f, now_ms) && !f->table_asked) {
        f->table_asked = true; /* WANT_TABLE is advertised from now on */
        f->table_asked_ms = now_ms;
    }
    return changed;
}

bool ha_fsm_peer_alive(const struct ha_fsm *f, uint64_t now_ms)
{
    return f->heard && ms_since(now_ms, f->heard_ms) < f->cfg.deadtime_ms;
}

uint16_t ha_fsm_flags(const struct ha_fsm *f, uint64_t now_ms)
{
    uint16_t flags = 0;
    if (f->health_ready && (f->table_received || !peer_is_master(f, now_ms)))
        flags |= HA_HB_READY;
    if (f->forced)
        flags |= HA_HB_FORCED;
    if (f->released)
        flags |= HA_HB_RELEASED;
    if (wants_table(f, now_ms))
        flags |= HA_HB_WANT_TABLE;
    return flags;
}
