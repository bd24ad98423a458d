/* check: see check.h. */
#include "check.h"

#include <stdio.h>
#include <string.h>

void health_machine_init(struct health_machine *m, uint64_t now_ms)
{
    memset(m, 0, sizeof *m);
    m->state = HEALTH_PENDING;
    m->since_ms = m->last_ok_ms = now_ms;
    snprintf(m->last_result, sizeof m->last_result, "not probed yet");
}

/* Time since a past instant; never wraps when the clock is behind it. */
static uint64_t elapsed(uint64_t now_ms, uint64_t then_ms)
{
    return now_ms > then_ms ? now_ms - then_ms : 0;
}

/* No successful probe for dead_after: since the last one, or since the start for a server that
 * never had one. */
static bool dead(const struct health_machine *m, const struct health_timing *t, uint64_t now_ms)
{
    return elapsed(now_ms, m->last_ok_ms) >= t->dead_after_ms;
}

static bool enter(struct health_machine *m, enum health_state s, uint64_t now_ms)
{
    m->state = s;
    m->since_ms = now_ms;
    return true;
}

bool health_machine_result(struct health_machine *m, const struct health_timing *t, uint64_t now_ms, bool ok,
                           const char *result)
{
    snprintf(m->last_result, sizeof m->last_result, "%s", result);
    m->probed = true;
    if (ok) {
        m->last_ok_ms = now_ms;
        m->failed = 0;
    } else {
        m->failed++;
    }
    switch (m->state) {
    case HEALTH_PENDING:
        if (ok)
            return enter(m, HEALTH_UP, now_ms);
        return dead(m, t, now_ms) && enter(m, HEALTH_DOWN, now_ms);
    case HEALTH_UP:
        return !ok && dead(m, t, now_ms) && enter(m, HEALTH_DOWN, now_ms);
    case HEALTH_DOWN:
        if (!ok)
            return false;
        return enter(m, t->reentry_ms ? HEALTH_REENTERING : HEALTH_UP, now_ms);
    case HEALTH_REENTERING:
        if (!ok)
            return enter(m, HEALTH_DOWN, now_ms);
        return elapsed(now_ms, m->since_ms) >= t->reentry_ms && enter(m, HEALTH_UP, now_ms);
    }
    return false;
}

const char *health_state_name(enum health_state s)
{
    switch (s) {
    case HEALTH_PENDING:
        return "pending";
    case HEALTH_UP:
        return "up";
    case HEALTH_DOWN:
        return "down";
    case HEALTH_REENTERING:
        return "re-entering";
    }
    return "?";
}
