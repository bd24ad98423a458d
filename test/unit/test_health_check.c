/* test_health_check: the health state machine (health/check.h) on a fake clock: a new server
 * pending until its first passing probe, dead time, re-entry, flapping, counters and the last
 * result. */
#include <string.h>

#include "testing.h"              /* test/unit/check.h: CHECK, CHECK_EQ_U, CHECK_DONE */
#include "check.h" /* the state machine: same file name, so by its path */

/* The fake clock starts far from 0 so no arithmetic can hide behind a zero. */
#define T0 1000000u

static const struct health_timing timing = {.dead_after_ms = 10000, .reentry_ms = 180000};

static struct health_machine m;
static uint64_t now;

static bool ok(uint64_t at)
{
    now = at;
    return health_machine_result(&m, &timing, now, true, "ok");
}

static bool bad(uint64_t at)
{
    now = at;
    return health_machine_result(&m, &timing, now, false, "connect refused");
}

static void start_pending(void)
{
    now = T0;
    health_machine_init(&m, now);
}

/* A server that passed its first probe at T0: up since T0. */
static void start(void)
{
    start_pending();
    CHECK(ok(T0));
    CHECK_EQ_U(m.state, HEALTH_UP);
}

static void test_init(void)
{
    start_pending();
    CHECK_EQ_U(m.state, HEALTH_PENDING);
    CHECK_EQ_U(m.since_ms, T0);
    CHECK_EQ_U(m.last_ok_ms, T0);
    CHECK_EQ_U(m.failed, 0);
    CHECK(!m.probed);
    CHECK(strcmp(m.last_result, "not probed yet") == 0);
    /* The first passing probe puts it in service at once. */
    CHECK(ok(T0 + 1));
    CHECK_EQ_U(m.state, HEALTH_UP);
    CHECK_EQ_U(m.since_ms, T0 + 1);
    CHECK(m.probed);
    /* Successes keep it up without a transition. */
    for (unsigned i = 1; i <= 10; i++)
        CHECK(!ok(T0 + i * 2000));
    CHECK_EQ_U(m.state, HEALTH_UP);
    CHECK_EQ_U(m.since_ms, T0 + 1);
    CHECK_EQ_U(m.last_ok_ms, T0 + 20000);
    CHECK(strcmp(m.last_result, "ok") == 0);
}

static void test_pending(void)
{
    /* Failures short of dead_after keep a new server pending, out of service, without a
     * transition; they count and say why. */
    start_pending();
    CHECK(!bad(T0 + 1));
    CHECK_EQ_U(m.state, HEALTH_PENDING);
    CHECK(m.probed);
    CHECK_EQ_U(m.failed, 1);
    CHECK(strcmp(m.last_result, "connect refused") == 0);
    CHECK(!bad(T0 + 2000));
    CHECK(!bad(T0 + 9999));
    CHECK_EQ_U(m.state, HEALTH_PENDING);
    CHECK_EQ_U(m.since_ms, T0);
    CHECK_EQ_U(m.failed, 3);
    /* Then one success: up at once, no re-entry (it was never declared dead). */
    CHECK(ok(T0 + 9999 + 500));
    CHECK_EQ_U(m.state, HEALTH_UP);
    CHECK_EQ_U(m.since_ms, T0 + 10499);
    CHECK_EQ_U(m.failed, 0);
    /* From then on, dead_after counts from its last success. */
    CHECK(!bad(T0 + 10499 + 9999));
    CHECK(bad(T0 + 10499 + 10000));
    CHECK_EQ_U(m.state, HEALTH_DOWN);

    /* A first result that is a success comes whenever it comes (a slow first probe). */
    start_pending();
    CHECK(ok(T0 + 60000));
    CHECK_EQ_U(m.state, HEALTH_UP);

    /* A clock stepped back counts as no time passing: still pending. */
    start_pending();
    CHECK(!bad(T0 - 5000));
    CHECK_EQ_U(m.state, HEALTH_PENDING);
}

static void test_pending_timeout(void)
{
    /* No success within dead_after from the start: down, exactly at dead_after. */
    start_pending();
    CHECK(!bad(T0 + 2000));
    CHECK(!bad(T0 + 9999));
    CHECK_EQ_U(m.state, HEALTH_PENDING);
    CHECK(bad(T0 + 10000));
    CHECK_EQ_U(m.state, HEALTH_DOWN);
    CHECK_EQ_U(m.since_ms, T0 + 10000);
    CHECK_EQ_U(m.last_ok_ms, T0);
    CHECK_EQ_U(m.failed, 3);
    /* Down like any dead server: a success starts the re-entry, it is not up yet. */
    CHECK(ok(T0 + 12000));
    CHECK_EQ_U(m.state, HEALTH_REENTERING);
    CHECK(!ok(T0 + 12000 + 179999));
    CHECK(ok(T0 + 12000 + 180000));
    CHECK_EQ_U(m.state, HEALTH_UP);

    /* A single failure long after the start (a probe that hung) is enough. */
    start_pending();
    CHECK(bad(T0 + 30000));
    CHECK_EQ_U(m.state, HEALTH_DOWN);
    CHECK_EQ_U(m.failed, 1);

    /* With reentry 0 the way back from there is one good probe. */
    static const struct health_timing t0 = {.dead_after_ms = 10000, .reentry_ms = 0};
    start_pending();
    CHECK(health_machine_result(&m, &t0, T0 + 10000, false, "timeout"));
    CHECK_EQ_U(m.state, HEALTH_DOWN);
    CHECK(health_machine_result(&m, &t0, T0 + 11000, true, "ok"));
    CHECK_EQ_U(m.state, HEALTH_UP);
}

static void test_short_failures_keep_it_up(void)
{
    start();
    /* Failures for less than dead_after, then a success: still up, counters reset. */
    CHECK(!bad(T0 + 2000));
    CHECK(!bad(T0 + 4000));
    CHECK(!bad(T0 + 9999));
    CHECK_EQ_U(m.state, HEALTH_UP);
    CHECK_EQ_U(m.failed, 3);
    CHECK(strcmp(m.last_result, "connect refused") == 0);
    CHECK(!ok(T0 + 11000));
    CHECK_EQ_U(m.state, HEALTH_UP);
    CHECK_EQ_U(m.failed, 0);
    CHECK_EQ_U(m.last_ok_ms, T0 + 11000);
    CHECK(strcmp(m.last_result, "ok") == 0);
    /* The dead time counts from the last success, not from the start or the first failure. */
    CHECK(!bad(T0 + 20000));
    CHECK(!bad(T0 + 20999));
    CHECK_EQ_U(m.state, HEALTH_UP);
    CHECK(bad(T0 + 21000));
    CHECK_EQ_U(m.state, HEALTH_DOWN);
}

static void test_dead_after_boundary(void)
{
    /* One millisecond short of dead_after: up; exactly dead_after: down. */
    start();
    CHECK(!bad(T0 + 9999));
    CHECK_EQ_U(m.state, HEALTH_UP);
    CHECK(bad(T0 + 10000));
    CHECK_EQ_U(m.state, HEALTH_DOWN);
    CHECK_EQ_U(m.since_ms, T0 + 10000);
    CHECK_EQ_U(m.failed, 2);

    /* A single failure long after the last success is enough (a probe that hung, say). */
    start();
    CHECK(bad(T0 + 30000));
    CHECK_EQ_U(m.state, HEALTH_DOWN);

    /* Down stays down on more failures, without a transition and without moving since_ms. */
    CHECK(!bad(T0 + 32000));
    CHECK(!bad(T0 + 34000));
    CHECK_EQ_U(m.state, HEALTH_DOWN);
    CHECK_EQ_U(m.since_ms, T0 + 30000);
    CHECK_EQ_U(m.failed, 3);
}

static void test_reentry(void)
{
    start();
    CHECK(bad(T0 + 10000));
    CHECK_EQ_U(m.state, HEALTH_DOWN);
    /* The first success starts re-entering. */
    CHECK(ok(T0 + 12000));
    CHECK_EQ_U(m.state, HEALTH_REENTERING);
    CHECK_EQ_U(m.since_ms, T0 + 12000);
    CHECK_EQ_U(m.failed, 0);
    /* Passing every probe, one millisecond short of reentry: still re-entering. */
    for (uint64_t t = T0 + 14000; t < T0 + 12000 + 180000; t += 2000)
        CHECK(!ok(t));
    CHECK(!ok(T0 + 12000 + 179999));
    CHECK_EQ_U(m.state, HEALTH_REENTERING);
    /* Exactly reentry after the first success: up. */
    CHECK(ok(T0 + 12000 + 180000));
    CHECK_EQ_U(m.state, HEALTH_UP);
    CHECK_EQ_U(m.since_ms, T0 + 192000);
    /* And up again behaves as up: dead_after from the last success. */
    CHECK(!bad(T0 + 192000 + 9999));
    CHECK(bad(T0 + 192000 + 10000));
    CHECK_EQ_U(m.state, HEALTH_DOWN);
}

static void test_reentry_failure(void)
{
    start();
    CHECK(bad(T0 + 10000));
    CHECK(ok(T0 + 12000));
    CHECK(!ok(T0 + 100000));
    CHECK_EQ_U(m.state, HEALTH_REENTERING);
    /* Any failure while re-entering: back down at once, however close to the end. */
    CHECK(bad(T0 + 12000 + 179999));
    CHECK_EQ_U(m.state, HEALTH_DOWN);
    CHECK_EQ_U(m.since_ms, T0 + 191999);
    CHECK_EQ_U(m.failed, 1);
    /* Re-entry starts over from the next success: the earlier good streak does not count. */
    CHECK(ok(T0 + 200000));
    CHECK_EQ_U(m.state, HEALTH_REENTERING);
    CHECK_EQ_U(m.since_ms, T0 + 200000);
    CHECK(!ok(T0 + 200000 + 179999));
    CHECK(ok(T0 + 200000 + 180000));
    CHECK_EQ_U(m.state, HEALTH_UP);
}

static void test_reentry_zero(void)
{
    static const struct health_timing t0 = {.dead_after_ms = 10000, .reentry_ms = 0};
    start();
    CHECK(health_machine_result(&m, &t0, T0 + 10000, false, "timeout"));
    CHECK_EQ_U(m.state, HEALTH_DOWN);
    CHECK(strcmp(m.last_result, "timeout") == 0);
    /* Back in at the first good probe, never re-entering. */
    CHECK(health_machine_result(&m, &t0, T0 + 12000, true, "ok"));
    CHECK_EQ_U(m.state, HEALTH_UP);
    CHECK_EQ_U(m.since_ms, T0 + 12000);
    CHECK_EQ_U(m.last_ok_ms, T0 + 12000);
}

static void test_flapping_stays_out(void)
{
    /* Success, failure, success, failure... every 2 s, with a 10 s re-entry: never up again. */
    static const struct health_timing t = {.dead_after_ms = 5000, .reentry_ms = 10000};
    unsigned transitions = 0;
    start();
    for (uint64_t at = T0 + 2000; at <= T0 + 6000; at += 2000)
        health_machine_result(&m, &t, at, false, "connect refused");
    CHECK_EQ_U(m.state, HEALTH_DOWN);
    for (unsigned i = 0; i < 500; i++) {
        uint64_t at = T0 + 8000 + (uint64_t)i * 2000;
        bool good = i % 2 == 0;
        transitions += health_machine_result(&m, &t, at, good, good ? "ok" : "connect refused");
        CHECK(m.state != HEALTH_UP);
        CHECK_EQ_U(m.state, good ? HEALTH_REENTERING : HEALTH_DOWN);
        CHECK_EQ_U(m.failed, good ? 0 : 1);
        CHECK(strcmp(m.last_result, good ? "ok" : "connect refused") == 0);
    }
    CHECK_EQ_U(transitions, 500); /* each probe flips it between down and re-entering */

    /* Flapping with longer good streaks that still fall short of reentry: also stays out. */
    start();
    health_machine_result(&m, &t, T0 + 6000, false, "x");
    CHECK_EQ_U(m.state, HEALTH_DOWN);
    uint64_t at = T0 + 6000;
    for (unsigned round = 0; round < 50; round++) {
        for (unsigned k = 0; k < 5; k++) { /* 5 good probes span 8 s < 10 s */
            at += 2000;
            health_machine_result(&m, &t, at, true, "ok");
            CHECK(m.state == HEALTH_REENTERING);
        }
        at += 2000;
        health_machine_result(&m, &t, at, false, "status 500");
        CHECK_EQ_U(m.state, HEALTH_DOWN);
    }
    /* Once it holds for the whole re-entry time, it is back. */
    for (unsigned k = 0; k <= 5; k++) {
        at += 2000;
        health_machine_result(&m, &t, at, true, "ok");
    }
    CHECK_EQ_U(m.state, HEALTH_UP);
}

static void test_counters(void)
{
    start();
    CHECK(!bad(T0 + 1000));
    CHECK_EQ_U(m.failed, 1);
    CHECK(!bad(T0 + 2000));
    CHECK(!bad(T0 + 3000));
    CHECK_EQ_U(m.failed, 3);
    CHECK(!ok(T0 + 4000));
    CHECK_EQ_U(m.failed, 0);

    /* A long result is cut to the buffer, terminated. */
    char longres[HEALTH_RESULT_LEN * 2];
    memset(longres, 'r', sizeof(longres) - 1);
    longres[sizeof(longres) - 1] = '\0';
    health_machine_result(&m, &timing, T0 + 5000, false, longres);
    CHECK_EQ_U(strlen(m.last_result), HEALTH_RESULT_LEN - 1);
}

static void test_names(void)
{
    CHECK(strcmp(health_state_name(HEALTH_PENDING), "pending") == 0);
    CHECK(strcmp(health_state_name(HEALTH_UP), "up") == 0);
    CHECK(strcmp(health_state_name(HEALTH_DOWN), "down") == 0);
    CHECK(strcmp(health_state_name(HEALTH_REENTERING), "re-entering") == 0);
    CHECK(strcmp(health_state_name((enum health_state)42), "?") == 0);
}

int main(void)
{
    test_init();
    test_pending();
    test_pending_timeout();
    test_short_failures_keep_it_up();
    test_dead_after_boundary();
    test_reentry();
    test_reentry_failure();
    test_reentry_zero();
    test_flapping_stays_out();
    test_counters();
    test_names();
    CHECK_DONE();
}
