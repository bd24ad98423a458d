/* test_hafsm: the primary/backup state machine on a fake clock (milliseconds): each rule alone,
 * then two machines exchanging heartbeats through a simulated link. */
#include <string.h>

#include "hafsm.h"
#include "testing.h"

#define DEADTIME 5000
#define TABLE_WAIT 3000
#define INTERVAL 2000 /* heartbeats */
#define TICK 100      /* how often the simulated daemons step */
#define T0 100000     /* an arbitrary start: nothing may assume the clock starts at 0 */
/* The backup has the higher node id: the role, not the id, gives precedence. */
#define PRIMARY_NODE 10
#define BACKUP_NODE 20

static struct ha_fsm_config config(enum ha_role role, uint64_t node)
{
    struct ha_fsm_config c = {
        .role = role, .node = node, .deadtime_ms = DEADTIME, .table_wait_ms = TABLE_WAIT};
    return c;
}

/* One heartbeat from the peer, of the given role (and node id to match) and epoch. */
static void hear(struct ha_fsm *f, uint64_t now, enum ha_role role, uint64_t epoch, enum ha_state state,
                 uint16_t flags)
{
    struct ha_heartbeat hb;
    memset(&hb, 0, sizeof hb);
    hb.state = state;
    hb.role = role;
    hb.flags = flags;
    ha_fsm_heard(f, now, role == HA_ROLE_PRIMARY ? PRIMARY_NODE : BACKUP_NODE, epoch, &hb);
}

/* A backup (or a primary) that has listened alone through its start window is master. */
static void start_alone(struct ha_fsm *f, enum ha_role role)
{
    struct ha_fsm_config c = config(role, role == HA_ROLE_PRIMARY ? PRIMARY_NODE : BACKUP_NODE);
    ha_fsm_init(f, &c, T0);
    ha_fsm_set_health_ready(f);
    CHECK(ha_fsm_step(f, T0 + DEADTIME));
    CHECK_EQ_U(f->state, HA_STATE_MASTER);
}

/* A node of this role that hears its peer (of the other role) in state peer_state from T0 on. */
static void start_hearing(struct ha_fsm *f, enum ha_role role, enum ha_state peer_state)
{
    struct ha_fsm_config c = config(role, role == HA_ROLE_PRIMARY ? PRIMARY_NODE : BACKUP_NODE);
    enum ha_role peer = role == HA_ROLE_PRIMARY ? HA_ROLE_BACKUP : HA_ROLE_PRIMARY;
    ha_fsm_init(f, &c, T0);
    ha_fsm_set_health_ready(f);
    hear(f, T0, peer, 1, peer_state, HA_HB_READY);
    ha_fsm_step(f, T0);
}

static void test_start_window(void)
{
    struct ha_fsm f;
    struct ha_fsm_config c = config(HA_ROLE_BACKUP, BACKUP_NODE);
    ha_fsm_init(&f, &c, T0);
    CHECK_EQ_U(f.state, HA_STATE_BACKUP);
    CHECK(strcmp(f.reason, "start: listening for the peer") == 0);
    CHECK_EQ_U(f.started_ms, T0);
    CHECK_EQ_U(f.changed_ms, T0);
    CHECK(!ha_fsm_peer_alive(&f, T0));
    CHECK(!ha_fsm_step(&f, T0));
    CHECK(!ha_fsm_step(&f, T0 + DEADTIME - 1));
    CHECK_EQ_U(f.state, HA_STATE_BACKUP);
    CHECK(ha_fsm_step(&f, T0 + DEADTIME));
    CHECK_EQ_U(f.state, HA_STATE_MASTER);
    CHECK(strcmp(f.reason, "peer silent for the dead time") == 0);
    CHECK_EQ_U(f.changed_ms, T0 + DEADTIME);
    CHECK(!ha_fsm_step(&f, T0 + 10 * DEADTIME));

    /* A primary listens just the same, ready or not. */
    c = config(HA_ROLE_PRIMARY, PRIMARY_NODE);
    ha_fsm_init(&f, &c, T0);
    ha_fsm_set_health_ready(&f);
    CHECK(!ha_fsm_step(&f, T0 + DEADTIME - 1));
    CHECK(ha_fsm_step(&f, T0 + DEADTIME));
    CHECK_EQ_U(f.state, HA_STATE_MASTER);
}

static void test_backup_stays_backup(void)
{
    struct ha_fsm f;
    struct ha_fsm_config c = config(HA_ROLE_BACKUP, BACKUP_NODE);
    ha_fsm_init(&f, &c, T0);
    ha_fsm_set_health_ready(&f);
    for (uint64_t t = T0; t < T0 + 60000; t += TICK) {
        if (t % INTERVAL == 0) hear(&f, t, HA_ROLE_PRIMARY, 1, HA_STATE_MASTER, HA_HB_READY);
        CHECK(!ha_fsm_step(&f, t));
        CHECK(ha_fsm_peer_alive(&f, t));
    }
    CHECK_EQ_U(f.state, HA_STATE_BACKUP);
    /* Until the master's table is in, it asks for it and is not READY. */
    CHECK_EQ_U(ha_fsm_flags(&f, T0 + 60000), HA_HB_WANT_TABLE);
    ha_fsm_table_received(&f);
    CHECK_EQ_U(ha_fsm_flags(&f, T0 + 60000), HA_HB_READY);
}

static void test_primary_dies(void)
{
    struct ha_fsm f;
    start_hearing(&f, HA_ROLE_BACKUP, HA_STATE_MASTER);
    uint64_t last = T0 + 4 * INTERVAL;
    for (uint64_t t = T0; t <= last; t += INTERVAL) {
        hear(&f, t, HA_ROLE_PRIMARY, 1, HA_STATE_MASTER, HA_HB_READY);
        CHECK(!ha_fsm_step(&f, t));
    }
    CHECK(ha_fsm_peer_alive(&f, last + DEADTIME - 1));
    CHECK(!ha_fsm_peer_alive(&f, last + DEADTIME));
    for (uint64_t t = last; t < last + DEADTIME; t += TICK) CHECK(!ha_fsm_step(&f, t));
    CHECK(!ha_fsm_step(&f, last + DEADTIME - 1));
    CHECK_EQ_U(f.state, HA_STATE_BACKUP);
    CHECK(ha_fsm_step(&f, last + DEADTIME));
    CHECK_EQ_U(f.state, HA_STATE_MASTER);
    CHECK(strcmp(f.reason, "peer silent for the dead time") == 0);
    CHECK_EQ_U(f.changed_ms, last + DEADTIME);
    CHECK_EQ_U(ha_fsm_flags(&f, last + DEADTIME), HA_HB_READY);
}

static void test_peer_unable(void)
{
    struct ha_fsm f;
    start_hearing(&f, HA_ROLE_BACKUP, HA_STATE_MASTER);
    hear(&f, T0 + 100, HA_ROLE_PRIMARY, 1, HA_STATE_LEAVING, HA_HB_READY);
    CHECK(ha_fsm_step(&f, T0 + 100));
    CHECK_EQ_U(f.state, HA_STATE_MASTER);
    CHECK(strcmp(f.reason, "peer leaving") == 0);

    start_hearing(&f, HA_ROLE_BACKUP, HA_STATE_MASTER);
    hear(&f, T0 + 100, HA_ROLE_PRIMARY, 1, HA_STATE_FAULT, 0);
    CHECK(ha_fsm_step(&f, T0 + 100));
    CHECK_EQ_U(f.state, HA_STATE_MASTER);
    CHECK(strcmp(f.reason, "peer in fault") == 0);
    /* ... and it stays master while the peer stays in fault. */
    for (uint64_t t = T0 + 100; t < T0 + 30000; t += INTERVAL) {
        hear(&f, t, HA_ROLE_PRIMARY, 1, HA_STATE_FAULT, HA_HB_READY);
        CHECK(!ha_fsm_step(&f, t));
    }

    /* Not even a node that does not know its health yet waits. */
    start_hearing(&f, HA_ROLE_PRIMARY, HA_STATE_MASTER);
    f.health_ready = false;
    hear(&f, T0 + 100, HA_ROLE_BACKUP, 1, HA_STATE_LEAVING, 0);
    CHECK(ha_fsm_step(&f, T0 + 100));
    CHECK_EQ_U(f.state, HA_STATE_MASTER);
}

static void test_own_fault_and_leaving(void)
{
    struct ha_fsm f;
    start_hearing(&f, HA_ROLE_BACKUP, HA_STATE_MASTER);
    ha_fsm_set_fault(&f, true);
    CHECK(ha_fsm_step(&f, T0 + 100));
    CHECK_EQ_U(f.state, HA_STATE_FAULT);
    CHECK(strcmp(f.reason, "tracked link lost carrier") == 0);
    CHECK(!ha_fsm_step(&f, T0 + 200));
    ha_fsm_set_fault(&f, false);
    CHECK(ha_fsm_step(&f, T0 + 300));
    CHECK_EQ_U(f.state, HA_STATE_BACKUP);
    CHECK(strcmp(f.reason, "peer with precedence is master") == 0);

    /* A lone master in fault goes back to master when the link returns. */
    start_alone(&f, HA_ROLE_BACKUP);
    uint64_t t = T0 + DEADTIME;
    ha_fsm_set_fault(&f, true);
    CHECK(ha_fsm_step(&f, t + 100));
    CHECK_EQ_U(f.state, HA_STATE_FAULT);
    ha_fsm_set_fault(&f, false);
    CHECK(ha_fsm_step(&f, t + 200));
    CHECK_EQ_U(f.state, HA_STATE_MASTER);

    /* Stopping beats everything, fault included, and stays. */
    ha_fsm_set_fault(&f, true);
    ha_fsm_takeover(&f);
    ha_fsm_leave(&f);
    CHECK(ha_fsm_step(&f, t + 300));
    CHECK_EQ_U(f.state, HA_STATE_LEAVING);
    CHECK(strcmp(f.reason, "stopping") == 0);
    ha_fsm_set_fault(&f, false);
    CHECK(!ha_fsm_step(&f, t + 400));
}

/* The backup is master (the primary was away); the primary comes back. */
static void test_failback(void)
{
    struct ha_fsm p, b;
    start_alone(&b, HA_ROLE_BACKUP);
    uint64_t t = T0 + DEADTIME + 1000;
    struct ha_fsm_config c = config(HA_ROLE_PRIMARY, PRIMARY_NODE);
    ha_fsm_init(&p, &c, t);
    hear(&p, t + 500, HA_ROLE_BACKUP, 1, HA_STATE_MASTER, HA_HB_READY);
    CHECK(!ha_fsm_step(&p, t + 500));
    CHECK(p.table_asked);
    CHECK_EQ_U(p.table_asked_ms, t + 500);
    CHECK_EQ_U(ha_fsm_flags(&p, t + 500), HA_HB_WANT_TABLE);
    /* The backup keeps serving while the primary says BACKUP. */
    hear(&b, t + 600, HA_ROLE_PRIMARY, 1, HA_STATE_BACKUP, HA_HB_WANT_TABLE);
    CHECK(!ha_fsm_step(&b, t + 600));
    CHECK_EQ_U(b.state, HA_STATE_MASTER);

    /* The table first: still waiting for the health probes. */
    ha_fsm_table_received(&p);
    CHECK(!ha_fsm_step(&p, t + 1000));
    CHECK_EQ_U(ha_fsm_flags(&p, t + 1000), 0);
    ha_fsm_set_health_ready(&p);
    CHECK_EQ_U(ha_fsm_flags(&p, t + 1500), HA_HB_READY);
    CHECK(ha_fsm_step(&p, t + 1500));
    CHECK_EQ_U(p.state, HA_STATE_MASTER);
    CHECK(strcmp(p.reason, "failback: ready and the peer's table received") == 0);
    CHECK_EQ_U(ha_fsm_flags(&p, t + 1500), HA_HB_READY);

    /* The backup yields at the first heartbeat that says MASTER, and asks for the table. */
    hear(&b, t + 1600, HA_ROLE_PRIMARY, 1, HA_STATE_MASTER, HA_HB_READY);
    CHECK(ha_fsm_step(&b, t + 1600));
    CHECK_EQ_U(b.state, HA_STATE_BACKUP);
    CHECK(strcmp(b.reason, "peer with precedence is master") == 0);
    CHECK_EQ_U(ha_fsm_flags(&b, t + 1600), HA_HB_WANT_TABLE);
    /* The primary stays master when it hears that the backup still says MASTER. */
    hear(&p, t + 1700, HA_ROLE_BACKUP, 1, HA_STATE_MASTER, HA_HB_READY);
    CHECK(!ha_fsm_step(&p, t + 1700));

    /* Later the primary loses its link; when it returns it wants the table afresh. */
    t += 20000;
    hear(&p, t, HA_ROLE_BACKUP, 1, HA_STATE_BACKUP, HA_HB_READY);
    ha_fsm_set_fault(&p, true);
    CHECK(ha_fsm_step(&p, t));
    CHECK(!p.table_received);
    hear(&p, t + 100, HA_ROLE_BACKUP, 1, HA_STATE_MASTER, HA_HB_READY);
    ha_fsm_set_fault(&p, false);
    CHECK(ha_fsm_step(&p, t + 200));
    CHECK_EQ_U(p.state, HA_STATE_BACKUP);
    CHECK(strcmp(p.reason, "waiting for the peer's table") == 0);
    CHECK_EQ_U(ha_fsm_flags(&p, t + 200), HA_HB_WANT_TABLE);
    CHECK_EQ_U(p.table_asked_ms, t + 200);
}

static void test_table_wait_timeout(void)
{
    struct ha_fsm p;
    start_hearing(&p, HA_ROLE_PRIMARY, HA_STATE_MASTER);
    CHECK_EQ_U(p.state, HA_STATE_BACKUP);
    CHECK(p.table_asked);
    CHECK_EQ_U(p.table_asked_ms, T0);
    for (uint64_t t = T0; t < T0 + TABLE_WAIT; t += TICK) {
        if (t % INTERVAL == 0) hear(&p, t, HA_ROLE_BACKUP, 1, HA_STATE_MASTER, HA_HB_READY);
        CHECK(!ha_fsm_step(&p, t));
        CHECK_EQ_U(ha_fsm_flags(&p, t), HA_HB_WANT_TABLE);
    }
    CHECK(!ha_fsm_step(&p, T0 + TABLE_WAIT - 1));
    CHECK(ha_fsm_step(&p, T0 + TABLE_WAIT));
    CHECK_EQ_U(p.state, HA_STATE_MASTER);
    CHECK(strcmp(p.reason, "table wait timed out") == 0);
    CHECK_EQ_U(ha_fsm_flags(&p, T0 + TABLE_WAIT), 0); /* the peer is master still, no table */
}

static void test_split_brain_healed(void)
{
    struct ha_fsm p, b;
    start_alone(&p, HA_ROLE_PRIMARY);
    start_alone(&b, HA_ROLE_BACKUP);
    uint64_t t = T0 + 30000;
    hear(&p, t, HA_ROLE_BACKUP, 1, HA_STATE_MASTER, HA_HB_READY);
    hear(&b, t, HA_ROLE_PRIMARY, 1, HA_STATE_MASTER, HA_HB_READY);
    CHECK(!ha_fsm_step(&p, t));
    CHECK_EQ_U(p.state, HA_STATE_MASTER);
    CHECK(ha_fsm_step(&b, t));
    CHECK_EQ_U(b.state, HA_STATE_BACKUP);
    CHECK(strcmp(b.reason, "peer with precedence is master") == 0);
}

static void test_two_primaries(void)
{
    struct ha_fsm lo, hi;
    struct ha_fsm_config c = config(HA_ROLE_PRIMARY, 1);
    ha_fsm_init(&lo, &c, T0);
    c.node = 2;
    ha_fsm_init(&hi, &c, T0);
    ha_fsm_set_health_ready(&lo);
    ha_fsm_set_health_ready(&hi);
    struct ha_heartbeat hb = {.state = HA_STATE_BACKUP, .role = HA_ROLE_PRIMARY, .flags = HA_HB_READY};
    ha_fsm_heard(&lo, T0, 2, 1, &hb);
    ha_fsm_heard(&hi, T0, 1, 1, &hb);
    CHECK(!ha_fsm_step(&lo, T0));
    CHECK_EQ_U(lo.state, HA_STATE_BACKUP);
    CHECK(strcmp(lo.reason, "start: listening for the peer") == 0);
    CHECK(ha_fsm_step(&hi, T0));
    CHECK_EQ_U(hi.state, HA_STATE_MASTER);
    CHECK(strcmp(hi.reason, "ready (peer not master)") == 0);

    /* Split brain between them: the lower id yields. */
    lo.state = HA_STATE_MASTER;
    hb.state = HA_STATE_MASTER;
    ha_fsm_heard(&lo, T0 + 100, 2, 1, &hb);
    ha_fsm_heard(&hi, T0 + 100, 1, 1, &hb);
    CHECK(ha_fsm_step(&lo, T0 + 100));
    CHECK_EQ_U(lo.state, HA_STATE_BACKUP);
    CHECK(!ha_fsm_step(&hi, T0 + 100));
    CHECK_EQ_U(hi.state, HA_STATE_MASTER);
}

/* Takeover on the backup, then on the primary: the latest one wins. */
static void test_takeover(void)
{
    struct ha_fsm p, b;
    start_hearing(&p, HA_ROLE_PRIMARY, HA_STATE_BACKUP);
    start_hearing(&b, HA_ROLE_BACKUP, HA_STATE_MASTER);
    CHECK_EQ_U(p.state, HA_STATE_MASTER);
    CHECK_EQ_U(b.state, HA_STATE_BACKUP);

    ha_fsm_takeover(&b);
    CHECK(ha_fsm_step(&b, T0 + 100));
    CHECK_EQ_U(b.state, HA_STATE_MASTER);
    CHECK(strcmp(b.reason, "operator takeover") == 0);
    uint16_t bf = ha_fsm_flags(&b, T0 + 100);
    CHECK(bf & HA_HB_FORCED);
    hear(&p, T0 + 200, HA_ROLE_BACKUP, 1, HA_STATE_MASTER, bf);
    CHECK(ha_fsm_step(&p, T0 + 200));
    CHECK_EQ_U(p.state, HA_STATE_BACKUP);
    CHECK(strcmp(p.reason, "peer operator takeover") == 0);
    /* The primary does not pre-empt back, however long it waits. */
    for (uint64_t t = T0 + 200; t < T0 + 60000; t += INTERVAL) {
        hear(&p, t, HA_ROLE_BACKUP, 1, HA_STATE_MASTER, bf);
        CHECK(!ha_fsm_step(&p, t));
    }

    /* Then a takeover on the primary. The backup's heartbeat sent before it heard of it still
     * carries FORCED: that must not cancel the newer takeover. */
    uint64_t t = T0 + 60000;
    ha_fsm_takeover(&p);
    CHECK(ha_fsm_step(&p, t));
    CHECK_EQ_U(p.state, HA_STATE_MASTER);
    hear(&p, t + 100, HA_ROLE_BACKUP, 1, HA_STATE_MASTER, bf);
    CHECK(!ha_fsm_step(&p, t + 100));
    CHECK(p.forced);
    hear(&b, t + 200, HA_ROLE_PRIMARY, 1, HA_STATE_MASTER, ha_fsm_flags(&p, t + 200));
    CHECK(!b.forced);
    CHECK(ha_fsm_step(&b, t + 200));
    CHECK_EQ_U(b.state, HA_STATE_BACKUP);
    CHECK(strcmp(b.reason, "peer operator takeover") == 0);
    CHECK(!(ha_fsm_flags(&b, t + 200) & HA_HB_FORCED));
    hear(&p, t + 300, HA_ROLE_BACKUP, 1, HA_STATE_BACKUP, ha_fsm_flags(&b, t + 300));
    CHECK(!ha_fsm_step(&p, t + 300));
    CHECK_EQ_U(p.state, HA_STATE_MASTER);

    /* A forced node still goes to FAULT when its link does. */
    ha_fsm_set_fault(&p, true);
    CHECK(ha_fsm_step(&p, t + 400));
    CHECK_EQ_U(p.state, HA_STATE_FAULT);
    ha_fsm_set_fault(&p, false);
    CHECK(ha_fsm_step(&p, t + 500));
    CHECK_EQ_U(p.state, HA_STATE_MASTER);

    /* A takeover in the peer's next life is news, whatever its previous life said. */
    hear(&p, t + 600, HA_ROLE_BACKUP, 1, HA_STATE_BACKUP, HA_HB_FORCED);
    CHECK(!p.forced);
    ha_fsm_takeover(&p);
    hear(&p, t + 700, HA_ROLE_BACKUP, 1, HA_STATE_BACKUP, HA_HB_FORCED);
    CHECK(p.forced);
    hear(&p, t + 800, HA_ROLE_BACKUP, 2, HA_STATE_BACKUP, HA_HB_FORCED);
    CHECK(!p.forced);
    CHECK(ha_fsm_step(&p, t + 800));
    CHECK_EQ_U(p.state, HA_STATE_BACKUP);
    CHECK(strcmp(p.reason, "peer operator takeover") == 0);
}

static void test_release(void)
{
    struct ha_fsm p, b;
    start_hearing(&p, HA_ROLE_PRIMARY, HA_STATE_BACKUP);
    start_hearing(&b, HA_ROLE_BACKUP, HA_STATE_MASTER);
    ha_fsm_table_received(&b);

    ha_fsm_takeover(&p);
    ha_fsm_release(&p);
    CHECK(!p.forced);
    CHECK(ha_fsm_step(&p, T0 + 100));
    CHECK_EQ_U(p.state, HA_STATE_BACKUP);
    CHECK(strcmp(p.reason, "operator release") == 0);
    uint16_t pf = ha_fsm_flags(&p, T0 + 100);
    CHECK_EQ_U(pf, HA_HB_READY | HA_HB_RELEASED);
    hear(&b, T0 + 200, HA_ROLE_PRIMARY, 1, HA_STATE_BACKUP, pf);
    CHECK(ha_fsm_step(&b, T0 + 200));
    CHECK_EQ_U(b.state, HA_STATE_MASTER);
    CHECK(strcmp(b.reason, "peer released") == 0);

    /* The released primary, ready and with precedence, does not pre-empt. */
    for (uint64_t t = T0 + 200; t < T0 + 60000; t += INTERVAL) {
        hear(&p, t, HA_ROLE_BACKUP, 1, HA_STATE_MASTER, ha_fsm_flags(&b, t));
        CHECK(!ha_fsm_step(&p, t));
    }
    /* ... unless the backup cannot serve. */
    uint64_t t = T0 + 60000;
    hear(&p, t, HA_ROLE_BACKUP, 1, HA_STATE_FAULT, 0);
    CHECK(ha_fsm_step(&p, t));
    CHECK_EQ_U(p.state, HA_STATE_MASTER);
    CHECK(strcmp(p.reason, "peer in fault") == 0);
    hear(&p, t + 100, HA_ROLE_BACKUP, 1, HA_STATE_MASTER, HA_HB_READY);
    CHECK(ha_fsm_step(&p, t + 100));
    CHECK_EQ_U(p.state, HA_STATE_BACKUP);

    /* A release on the backup: the latest release wins. Both are released for a moment, and
     * neither moves; then the primary hears of the new one and its own is dropped. */
    ha_fsm_release(&b);
    CHECK(!ha_fsm_step(&b, t + 200));
    CHECK_EQ_U(b.state, HA_STATE_MASTER);
    hear(&b, t + 250, HA_ROLE_PRIMARY, 1, HA_STATE_BACKUP, ha_fsm_flags(&p, t + 250));
    CHECK(b.released);
    CHECK(!ha_fsm_step(&b, t + 250));
    CHECK_EQ_U(b.state, HA_STATE_MASTER);
    hear(&p, t + 300, HA_ROLE_BACKUP, 1, HA_STATE_MASTER, ha_fsm_flags(&b, t + 300));
    CHECK(!p.released);
    /* Relieving a released master waits for its table (asked for again after the yield above). */
    CHECK(!ha_fsm_step(&p, t + 300));
    CHECK(ha_fsm_flags(&p, t + 300) & HA_HB_WANT_TABLE);
    ha_fsm_table_received(&p);
    CHECK(ha_fsm_step(&p, t + 350));
    CHECK_EQ_U(p.state, HA_STATE_MASTER);
    CHECK(strcmp(p.reason, "peer released") == 0);
    hear(&b, t + 400, HA_ROLE_PRIMARY, 1, HA_STATE_MASTER, ha_fsm_flags(&p, t + 400));
    CHECK(b.released);
    CHECK(ha_fsm_step(&b, t + 400));
    CHECK_EQ_U(b.state, HA_STATE_BACKUP);
    CHECK(strcmp(b.reason, "operator release") == 0);

    /* A takeover drops the release. */
    ha_fsm_takeover(&b);
    CHECK(!b.released);
    CHECK_EQ_U(ha_fsm_flags(&b, t + 500) & (HA_HB_FORCED | HA_HB_RELEASED), HA_HB_FORCED);
}

/* A released master whose peer has just restarted keeps the role until the peer has its table:
 * the release hands over to a READY peer only. */
static void test_release_waits_for_ready_peer(void)
{
    struct ha_fsm p;
    start_hearing(&p, HA_ROLE_PRIMARY, HA_STATE_BACKUP);
    CHECK_EQ_U(p.state, HA_STATE_MASTER);
    ha_fsm_release(&p);
    /* The backup restarted: a new epoch, backup, not READY, asking for the table. */
    hear(&p, T0 + 100, HA_ROLE_BACKUP, 2, HA_STATE_BACKUP, HA_HB_WANT_TABLE);
    for (uint64_t t = T0 + 100; t < T0 + 10000; t += INTERVAL) {
        hear(&p, t, HA_ROLE_BACKUP, 2, HA_STATE_BACKUP, HA_HB_WANT_TABLE);
        CHECK(!ha_fsm_step(&p, t));
    }
    CHECK_EQ_U(p.state, HA_STATE_MASTER);
    /* The table arrived there: READY, and the release goes through. */
    hear(&p, T0 + 10000, HA_ROLE_BACKUP, 2, HA_STATE_BACKUP, HA_HB_READY);
    CHECK(ha_fsm_step(&p, T0 + 10000));
    CHECK_EQ_U(p.state, HA_STATE_BACKUP);
    CHECK(strcmp(p.reason, "operator release") == 0);
}

/* A primary in fault hears the backup as master for ages and does nothing. */
static void test_fault_does_not_preempt(void)
{
    struct ha_fsm p;
    start_hearing(&p, HA_ROLE_PRIMARY, HA_STATE_MASTER);
    ha_fsm_table_received(&p);
    ha_fsm_set_fault(&p, true);
    CHECK(ha_fsm_step(&p, T0));
    CHECK_EQ_U(p.state, HA_STATE_FAULT);
    for (uint64_t t = T0; t < T0 + 60000; t += INTERVAL) {
        hear(&p, t, HA_ROLE_BACKUP, 1, HA_STATE_MASTER, HA_HB_READY);
        CHECK(!ha_fsm_step(&p, t));
    }
    CHECK_EQ_U(p.state, HA_STATE_FAULT);
}

static void test_peer_restart(void)
{
    struct ha_fsm b;
    start_hearing(&b, HA_ROLE_BACKUP, HA_STATE_MASTER);
    CHECK(b.table_asked);
    ha_fsm_table_received(&b);
    CHECK_EQ_U(ha_fsm_flags(&b, T0), HA_HB_READY);
    hear(&b, T0 + INTERVAL, HA_ROLE_PRIMARY, 1, HA_STATE_MASTER, HA_HB_READY);
    CHECK(b.table_received);
    /* A new epoch: what the backup has is from the primary's previous life. */
    hear(&b, T0 + 2 * INTERVAL, HA_ROLE_PRIMARY, 2, HA_STATE_MASTER, HA_HB_READY);
    CHECK(!b.table_received);
    CHECK(!b.table_asked);
    CHECK(!ha_fsm_step(&b, T0 + 2 * INTERVAL));
    CHECK(b.table_asked);
    CHECK_EQ_U(b.table_asked_ms, T0 + 2 * INTERVAL);
    CHECK_EQ_U(ha_fsm_flags(&b, T0 + 2 * INTERVAL), HA_HB_WANT_TABLE);
}

/* Two directors and the link between them. Each sends a heartbeat once per interval, at its own
 * phase; a master asked for its table sends it (here, at once). */
struct sim_node {
    struct ha_fsm f;
    uint64_t node, epoch, phase;
};

struct sim {
    struct sim_node n[2];
    bool linked;
};

static void sim_send(struct sim_node *from, struct sim_node *to, uint64_t now)
{
    struct ha_heartbeat hb;
    memset(&hb, 0, sizeof hb);
    hb.state = from->f.state;
    hb.role = from->f.cfg.role;
    hb.flags = ha_fsm_flags(&from->f, now);
    ha_fsm_heard(&to->f, now, from->node, from->epoch, &hb);
    if ((hb.flags & HA_HB_WANT_TABLE) && to->f.state == HA_STATE_MASTER)
        ha_fsm_table_received(&from->f);
}

static void sim_start(struct sim *s, enum ha_role role0, enum ha_role role1, uint64_t now)
{
    const enum ha_role roles[2] = {role0, role1};
    memset(s, 0, sizeof *s);
    s->linked = true;
    for (unsigned i = 0; i < 2; i++) {
        struct sim_node *n = &s->n[i];
        struct ha_fsm_config c = config(roles[i], i + 1);
        n->node = i + 1;
        n->epoch = 1;
        n->phase = i * 700;
        ha_fsm_init(&n->f, &c, now);
        ha_fsm_set_health_ready(&n->f);
    }
}

static unsigned sim_masters(const struct sim *s)
{
    return (s->n[0].f.state == HA_STATE_MASTER) + (s->n[1].f.state == HA_STATE_MASTER);
}

static void sim_run(struct sim *s, uint64_t from, uint64_t to)
{
    for (uint64_t t = from; t < to; t += TICK) {
        for (unsigned i = 0; i < 2; i++)
            if (s->linked && t % INTERVAL == s->n[i].phase) sim_send(&s->n[i], &s->n[1 - i], t);
        for (unsigned i = 0; i < 2; i++) ha_fsm_step(&s->n[i].f, t);
    }
}

/* Within two intervals of from, exactly node `master` is master, and stays so until `to`. */
static void sim_settles(struct sim *s, uint64_t from, uint64_t to, unsigned master)
{
    sim_run(s, from, from + 2 * INTERVAL);
    for (uint64_t t = from + 2 * INTERVAL; t < to; t += TICK) {
        CHECK_EQ_U(sim_masters(s), 1);
        CHECK_EQ_U(s->n[master].f.state, HA_STATE_MASTER);
        sim_run(s, t, t + TICK);
    }
}

static void test_sim(enum ha_role role0, enum ha_role role1)
{
    struct sim s;
    /* Node 1 has precedence: it is the primary, or the higher id of two of the same role. */
    sim_start(&s, role0, role1, 0);
    sim_settles(&s, 0, 20000, 1);

    /* A partition: both become master after the dead time; healed, one is left. */
    s.linked = false;
    sim_run(&s, 20000, 40000);
    CHECK_EQ_U(sim_masters(&s), 2);
    s.linked = true;
    sim_settles(&s, 40000, 80000, 1);
    CHECK_EQ_U(s.n[0].f.state, HA_STATE_BACKUP);
    CHECK(s.n[0].f.table_received);
}

int main(void)
{
    test_start_window();
    test_backup_stays_backup();
    test_primary_dies();
    test_peer_unable();
    test_own_fault_and_leaving();
    test_failback();
    test_table_wait_timeout();
    test_split_brain_healed();
    test_two_primaries();
    test_takeover();
    test_release();
    test_release_waits_for_ready_peer();
    test_fault_does_not_preempt();
    test_peer_restart();
    test_sim(HA_ROLE_BACKUP, HA_ROLE_PRIMARY);
    test_sim(HA_ROLE_PRIMARY, HA_ROLE_PRIMARY);
    test_sim(HA_ROLE_BACKUP, HA_ROLE_BACKUP);
    CHECK_DONE();
}
