/* check: the judgement of one real server's health from its probe results, as a pure state
 * machine on a caller's clock (unit-tested with a fake one). piranha's nanny semantics, made
 * to resist flapping:
 *   PENDING     not yet seen well: its first successful probe makes it UP; no success for
 *               dead_after (counted from its start) makes it DOWN;
 *   UP          a server with no successful probe for dead_after is declared DOWN;
 *   DOWN        its first successful probe starts RE-ENTERING;
 *   RE-ENTERING any failure sends it back DOWN; passing every probe for reentry makes it UP.
 * A server starts PENDING, at the daemon's start or when added at runtime: unlike LVS, which
 * schedules a server before it was ever probed, nothing goes to one that may not even listen. */
#ifndef RAWLB_HEALTH_CHECK_H
#define RAWLB_HEALTH_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#define HEALTH_RESULT_LEN 64

enum health_state { HEALTH_PENDING, HEALTH_UP, HEALTH_DOWN, HEALTH_REENTERING };

struct health_timing {
    uint32_t dead_after_ms;
    uint32_t reentry_ms;
};

struct health_machine {
    enum health_state state;
    uint64_t since_ms;   /* when it entered its state */
    uint64_t last_ok_ms; /* the last successful probe (or the start) */
    bool probed;         /* a probe has answered (or timed out) at least once */
    unsigned failed;     /* failed probes since the last success */
    char last_result[HEALTH_RESULT_LEN]; /* "ok", "connect refused", "status 500"... */
};

void health_machine_init(struct health_machine *m, uint64_t now_ms);
/* One probe's outcome at now_ms, from a monotonic clock (a clock that stepped back counts as no
 * time passing). Returns true when the state changed (the caller logs and acts). */
bool health_machine_result(struct health_machine *m, const struct health_timing *t, uint64_t now_ms, bool ok,
                           const char *result);
const char *health_state_name(enum health_state s);

#endif
