/* health: see health.h. */
#include "health.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"

#define PERCENT 100
/* First probes: every service's first server at once, its next ones this far apart, so that no
 * service waits for another's pool and a pool of RAWLB_MAX_RS_PER_SERVICE is through within a
 * third of a second, yet the director never opens more than one probe per service at a time. */
#define FIRST_PROBE_SPACING_S 0.005

static const struct check_config *check_of(const struct health_target *t)
{
    return &t->owner->cfg->services[t->svc].check;
}

static struct real_server *rs_of(const struct health_target *t)
{
    return &t->owner->services->svc[t->svc].rs[t->rs];
}

static const char *target_name(const struct health_target *t, char *buf, size_t len)
{
    const struct service *svc = &t->owner->services->svc[t->svc];
    char rs[ENDPOINT_STRLEN], vip[ENDPOINT_STRLEN];
    snprintf(buf, len, "rs %s of %s %s", endpoint_str(rs_of(t)->ep.addr, rs_of(t)->ep.port, rs),
             svc->proto == IPPROTO_TCP ? "TCP" : "UDP", endpoint_str(svc->vip.addr, svc->vip.port, vip));
    return buf;
}

/* The agent scales the configured weight; a server it has not drained keeps at least 1. */
static int effective_weight(const struct health_target *t)
{
    int configured = rs_of(t)->config_weight;
    if (t->agent_percent == 0 || configured == 0)
        return 0;
    int w = (int)((long)configured * (long)t->agent_percent / PERCENT);
    return w > 0 ? w : 1;
}

static bool service_checked(const struct check_config *c)
{
    return c->kind != CHECK_NONE || c->agent_port;
}

/* The sorry server stands in for real servers known to be out, not for ones nobody has probed
 * yet: while every real server of a service is pending and some has had no probe's result (at
 * start, or a service just added), it waits for the first round. */
static bool sorry_waits(const struct health *h, unsigned s)
{
    const struct service *svc = &h->services->svc[s];
    bool unprobed = false;
    for (unsigned r = 0; r < svc->n_rs; r++) {
        const struct health_machine *m = &h->targets[h->target_of[s][r]].machine;
        if (m->state != HEALTH_PENDING)
            return false;
        unprobed = unprobed || !m->probed;
    }
    return unprobed;
}

/* Whether the sorry server is in use: service_refresh's rule (every real server out), held back
 * while sorry_waits. */
static void settle_sorry(struct health *h, unsigned s)
{
    struct service *svc = &h->services->svc[s];
    if (!svc->has_sorry)
        return;
    if (sorry_waits(h, s))
        svc->sorry_active = false;
    else
        service_refresh(svc);
}

/* The one place where health reaches the rest of rawlb. */
static void apply(struct health_target *t)
{
    struct health *h = t->owner;
    struct service *svc = &h->services->svc[t->svc];
    bool was = rs_of(t)->available, sorry_was = svc->sorry_active;
    bool available = t->machine.state == HEALTH_UP && !t->agent_down;
    service_set_weight(svc, t->rs, effective_weight(t));
    /* Pending is not down: mh keeps such a server in its choices (sched_mh.c). */
    service_set_pending(svc, t->rs, t->machine.state == HEALTH_PENDING && !t->agent_down);
    service_set_available(svc, t->rs, available);
    /* A pending server was never judged alive: flows restored or synced to it go on. */
    if (was && !available && t->machine.state != HEALTH_PENDING && !check_of(t)->quiesce && h->drop_flows)
        h->drop_flows(h->drop_flows_arg, t->svc, t->rs);
    settle_sorry(h, t->svc);
    if (svc->sorry_active != sorry_was) {
        h->sorry_since_ms[t->svc] = clock_monotonic_ms();
        char vip[ENDPOINT_STRLEN], sorry[ENDPOINT_STRLEN];
        const struct endpoint *ep = &svc->rs[service_sorry_index(svc)].ep;
        log_warn("%s %s: %s sorry server %s", svc->proto == IPPROTO_TCP ? "TCP" : "UDP",
                 endpoint_str(svc->vip.addr, svc->vip.port, vip),
                 svc->sorry_active ? "every real server is down, new connections go to the" : "a real server is back, no new connections for the",
                 endpoint_str(ep->addr, ep->port, sorry));
    }
}

static void log_transition(const struct health_target *t, enum health_state from)
{
    const struct health_machine *m = &t->machine;
    const struct check_config *c = check_of(t);
    char name[96];
    target_name(t, name, sizeof name);
    switch (m->state) {
    case HEALTH_DOWN:
        if (from == HEALTH_REENTERING)
            log_warn("%s down again while re-entering: %s", name, m->last_result);
        else if (from == HEALTH_PENDING)
            log_warn("%s down: %s (never passed a probe: %u failed in %.1f s)", name, m->last_result, m->failed,
                     (double)(m->since_ms - m->last_ok_ms) / 1000.0);
        else
            log_warn("%s down: %s (%u failed probes, no success for %.1f s)%s", name, m->last_result, m->failed,
                     (double)(m->since_ms - m->last_ok_ms) / 1000.0,
                     c->quiesce ? "; quiesced: its flows go on" : "; its flows are reset");
        break;
    case HEALTH_REENTERING:
        log_info("%s re-entering: %s; back in after %.1f s of passing probes", name, m->last_result,
                 (double)c->reentry_ms / 1000.0);
        break;
    case HEALTH_UP:
        if (from == HEALTH_PENDING)
            log_info("%s up: in service after its first passing probe (%s)", name, m->last_result);
        else
            log_info("%s up: %s", name,
                     from == HEALTH_REENTERING ? "passed every probe for the re-entry time" : m->last_result);
        break;
    case HEALTH_PENDING: /* never entered again */
        break;
    }
}

static void schedule(struct health *h, ev_timer *w, double delay_s)
{
    ev_timer_stop(h->loop, w);
    ev_timer_set(w, delay_s, 0.0);
    ev_timer_start(h->loop, w);
}

static struct endpoint probe_dst(const struct health_target *t, uint16_t port_host)
{
    struct endpoint dst = rs_of(t)->ep;
    if (port_host)
        dst.port = htons(port_host);
    return dst;
}

static void probe_done(void *arg, bool ok, const char *result, const struct agent_reply *agent)
{
    (void)agent;
    struct health_target *t = arg;
    struct health *h = t->owner;
    const struct check_config *c = check_of(t);
    struct health_timing timing = { .dead_after_ms = c->dead_after_ms, .reentry_ms = c->reentry_ms };
    enum health_state from = t->machine.state;
    bool first = !t->machine.probed;
    if (!ok && h->probe_failed)
        h->probe_failed(h->probe_failed_arg, rs_of(t)->ep.addr);
    if (health_machine_result(&t->machine, &timing, clock_monotonic_ms(), ok, result)) {
        log_transition(t, from);
        apply(t);
    } else if (first) {
        apply(t); /* the service's first round may be complete: its sorry server may stand in */
    }
    schedule(h, &t->next_probe, c->interval_ms / 1000.0);
}

static void probe_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct health_target *t = w->data;
    const struct check_config *c = check_of(t);
    static const enum probe_kind kind_of[] = {
        [CHECK_TCP] = PROBE_TCP, [CHECK_HTTP] = PROBE_HTTP, [CHECK_UDP] = PROBE_UDP, [CHECK_DNS] = PROBE_DNS,
    };
    probe_start(&t->probe, loop, kind_of[c->kind], c, t->owner->src, probe_dst(t, c->port), probe_done, t);
}

static const char *agent_words(const struct health_target *t, char *buf, size_t len)
{
    if (t->agent_down)
        snprintf(buf, len, "down");
    else if (t->agent_percent == 0)
        snprintf(buf, len, "drain");
    else
        snprintf(buf, len, "%u%%", t->agent_percent);
    return buf;
}

/* Without a check of its own, a server enters service at its agent's first usable answer. An
 * agent that does not answer keeps it pending, never takes it down: the agent tells how much
 * work a server takes, not whether it is reachable. Returns true when the state changed. */
static bool agent_entry(struct health_target *t, bool ok)
{
    struct health_machine *m = &t->machine;
    if (check_of(t)->kind != CHECK_NONE || m->state != HEALTH_PENDING)
        return false;
    if (!ok) {
        m->probed = true;
        return false;
    }
    const struct check_config *c = check_of(t);
    struct health_timing timing = { .dead_after_ms = c->dead_after_ms, .reentry_ms = c->reentry_ms };
    health_machine_result(m, &timing, clock_monotonic_ms(), true, t->agent_result);
    log_transition(t, HEALTH_PENDING);
    return true;
}

static void agent_done(void *arg, bool ok, const char *result, const struct agent_reply *r)
{
    struct health_target *t = arg;
    struct health *h = t->owner;
    char before[16], after[16], name[96];
    bool first = !t->machine.probed;
    if (!ok && h->probe_failed)
        h->probe_failed(h->probe_failed_arg, rs_of(t)->ep.addr);
    agent_words(t, before, sizeof before);
    bool changed = false;
    snprintf(t->agent_result, sizeof t->agent_result, "agent: %s", result);
    if (ok) {
        if (r->has_percent)
            t->agent_percent = r->percent;
        switch (r->verdict) {
        case AGENT_DRAIN:
            t->agent_percent = 0;
            break;
        case AGENT_DOWN:
            t->agent_down = true;
            break;
        case AGENT_UP:
            t->agent_down = false;
            if (!r->has_percent)
                t->agent_percent = PERCENT;
            break;
        case AGENT_WEIGHT:
        case AGENT_NONE:
            break;
        }
        agent_words(t, after, sizeof after);
        snprintf(t->agent_result, sizeof t->agent_result, "agent: %s", after);
        if (strcmp(before, after) != 0) {
            t->agent_since_ms = clock_monotonic_ms();
            log_info("%s agent: %s -> %s (weight %d)", target_name(t, name, sizeof name), before, after,
                     effective_weight(t));
            changed = true;
        }
    }
    if (agent_entry(t, ok) || changed || (first && t->machine.probed))
        apply(t);
    /* An agent that does not answer changes nothing: the health check judges reachability. */
    schedule(h, &t->next_agent, check_of(t)->interval_ms / 1000.0);
}

static void agent_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct health_target *t = w->data;
    const struct check_config *c = check_of(t);
    probe_start(&t->agent, loop, PROBE_AGENT, c, t->owner->src, probe_dst(t, c->agent_port), agent_done, t);
}

/* Every server that needs checking gets a target, pending, with its first probes timed; nothing
 * is applied yet (health_restart first gives the known ones their saved state). */
static bool build_targets(struct health *h)
{
    const struct service_table *services = h->services;
    const struct rawlb_config *cfg = h->cfg;
    unsigned n = 0;
    memset(h->target_of, 0xff, sizeof h->target_of);
    for (unsigned s = 0; s < services->n; s++)
        if (service_checked(&cfg->services[s].check))
            n += services->svc[s].n_rs;
    if (!n)
        return true;
    h->targets = calloc(n, sizeof *h->targets);
    if (!h->targets)
        return false;
    for (unsigned s = 0; s < services->n; s++) {
        const struct check_config *c = &cfg->services[s].check;
        if (!service_checked(c))
            continue;
        for (unsigned r = 0; r < services->svc[s].n_rs; r++) {
            struct health_target *t = &h->targets[h->n_targets];
            h->target_of[s][r] = (int16_t)h->n_targets++;
            t->owner = h;
            t->svc = s;
            t->rs = r;
            t->agent_percent = PERCENT;
            t->agent_since_ms = clock_monotonic_ms();
            snprintf(t->agent_result, sizeof t->agent_result, "agent: not asked yet");
            health_machine_init(&t->machine, t->agent_since_ms);
            ev_timer_init(&t->next_probe, probe_cb, 0.0, 0.0);
            ev_timer_init(&t->next_agent, agent_cb, 0.0, 0.0);
            t->next_probe.data = t->next_agent.data = t;
            double first = FIRST_PROBE_SPACING_S * r;
            if (c->kind != CHECK_NONE)
                schedule(h, &t->next_probe, first);
            if (c->agent_port)
                schedule(h, &t->next_agent, first);
        }
    }
    return true;
}

/* Every target's state into the service table. A service without checks holds no server out
 * (it may have had checks before an edit). */
static void apply_all(struct health *h)
{
    for (unsigned s = 0; s < h->services->n; s++)
        if (!service_checked(&h->cfg->services[s].check))
            for (unsigned r = 0; r < h->services->svc[s].n_rs; r++) {
                service_set_pending(&h->services->svc[s], r, false);
                service_set_available(&h->services->svc[s], r, true);
            }
    for (unsigned i = 0; i < h->n_targets; i++)
        apply(&h->targets[i]);
}

bool health_start(struct health *h, struct ev_loop *loop, struct service_table *services,
                  const struct rawlb_config *cfg, uint32_t src, health_drop_flows_cb drop_flows, void *arg,
                  health_probe_failed_cb probe_failed, void *probe_failed_arg)
{
    memset(h, 0, sizeof *h);
    h->loop = loop;
    h->services = services;
    h->cfg = cfg;
    h->src = src;
    h->drop_flows = drop_flows;
    h->drop_flows_arg = arg;
    h->probe_failed = probe_failed;
    h->probe_failed_arg = probe_failed_arg;
    if (!build_targets(h))
        return false;
    apply_all(h);
    return true;
}

bool health_first_round_done(const struct health *h)
{
    for (unsigned i = 0; i < h->n_targets; i++)
        if (check_of(&h->targets[i])->kind != CHECK_NONE && !h->targets[i].machine.probed)
            return false;
    return true;
}

void health_stop(struct health *h)
{
    for (unsigned i = 0; i < h->n_targets; i++) {
        struct health_target *t = &h->targets[i];
        ev_timer_stop(h->loop, &t->next_probe);
        ev_timer_stop(h->loop, &t->next_agent);
        probe_cancel(&t->probe);
        probe_cancel(&t->agent);
    }
    free(h->targets);
    h->targets = NULL;
    h->n_targets = 0;
}

struct health_saved *health_save(struct health *h, unsigned *n)
{
    h->n_sorry_saved = 0;
    for (unsigned s = 0; s < h->services->n; s++)
        h->sorry_saved[h->n_sorry_saved++] = (struct health_sorry_saved){
            .proto = h->services->svc[s].proto, .vip = h->services->svc[s].vip, .since_ms = h->sorry_since_ms[s] };
    *n = h->n_targets;
    if (!h->n_targets)
        return NULL;
    struct health_saved *saved = calloc(h->n_targets, sizeof *saved);
    if (!saved)
        return NULL;
    for (unsigned i = 0; i < h->n_targets; i++) {
        const struct health_target *t = &h->targets[i];
        const struct service *svc = &h->services->svc[t->svc];
        saved[i] = (struct health_saved){
            .proto = svc->proto, .vip = svc->vip, .rs = svc->rs[t->rs].ep, .machine = t->machine,
            .agent_down = t->agent_down, .agent_percent = t->agent_percent, .agent_since_ms = t->agent_since_ms,
        };
        memcpy(saved[i].agent_result, t->agent_result, sizeof saved[i].agent_result);
    }
    return saved;
}

bool health_restart(struct health *h, const struct health_saved *saved, unsigned n)
{
    /* health_stop keeps the loop, tables, address and callbacks: only the targets start over */
    health_stop(h);
    if (!build_targets(h))
        return false;
    memset(h->sorry_since_ms, 0, sizeof h->sorry_since_ms);
    for (unsigned i = 0; i < h->n_sorry_saved; i++) {
        const struct health_sorry_saved *ss = &h->sorry_saved[i];
        int s = service_find(h->services, ss->proto, ss->vip.addr, ss->vip.port);
        if (s >= 0)
            h->sorry_since_ms[s] = ss->since_ms;
    }
    for (unsigned i = 0; i < h->n_targets; i++) {
        struct health_target *t = &h->targets[i];
        const struct service *svc = &h->services->svc[t->svc];
        const struct endpoint *ep = &svc->rs[t->rs].ep;
        for (unsigned j = 0; j < n; j++) {
            const struct health_saved *s = &saved[j];
            if (s->proto != svc->proto || s->vip.addr != svc->vip.addr || s->vip.port != svc->vip.port ||
                s->rs.addr != ep->addr || s->rs.port != ep->port)
                continue;
            t->machine = s->machine;
            t->agent_down = s->agent_down;
            t->agent_percent = s->agent_percent;
            t->agent_since_ms = s->agent_since_ms;
            memcpy(t->agent_result, s->agent_result, sizeof t->agent_result);
            break;
        }
    }
    apply_all(h);
    return true;
}

bool health_describe(void *arg, unsigned svc, unsigned rs, struct ctl_rs_health *out)
{
    struct health *h = arg;
    const struct service *s = &h->services->svc[svc];
    uint64_t now = clock_monotonic_ms();
    if (s->has_sorry && rs == service_sorry_index(s)) {
        *out = (struct ctl_rs_health){ .state = "sorry", .since_s = (uint32_t)((now - h->sorry_since_ms[svc]) / 1000),
                                       .last = "in use: every real server is down" };
        return true;
    }
    if (svc >= RAWLB_MAX_SERVICES || rs >= RAWLB_MAX_RS_PER_SERVICE || h->target_of[svc][rs] < 0)
        return false;
    const struct health_target *t = &h->targets[h->target_of[svc][rs]];
    const struct health_machine *m = &t->machine;
    /* The state shown is the check's, unless the agent's word overrides it; Since counts from
     * whichever of the two made it what it is. */
    uint64_t since = m->since_ms;
    out->state = health_state_name(m->state);
    out->last = check_of(t)->kind == CHECK_NONE ? t->agent_result : m->last_result;
    if (t->agent_down || (m->state == HEALTH_UP && s->rs[rs].weight == 0)) {
        out->state = t->agent_down ? "down" : "quiesced";
        if (t->agent_down || t->agent_percent == 0) {
            since = t->agent_since_ms > since ? t->agent_since_ms : since;
            out->last = t->agent_result;
        }
    }
    out->since_s = (uint32_t)((now - since) / 1000);
    return true;
}
