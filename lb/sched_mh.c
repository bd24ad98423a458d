/* sched_mh: Maglev hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
 * Balancer", NSDI 2016, section 3.4; IPVS ip_vs_mh.c). A lookup table of MH_TAB_SIZE slots, each
 * naming a real server, maps a hash of the client to its server. What it is for: several
 * directors behind one ECMP route that build the same table pick the same server for a client
 * without sharing any state, so a flow that ECMP moves to another director keeps its server;
 * and when a server comes or goes, few clients of the others move.
 *
 * The table (control path, at init: the service's configuration is fixed for a table's life, an
 * edit builds a new service table):
 * - from the real servers with a CONFIGURED weight above 0 (config_weight: not what an agent
 *   made of it, not health), sorted by address and port, so the order they were given in, added
 *   in or learnt in changes nothing;
 * - each server's preference list is the permutation offset, offset + skip, offset + 2 skip...
 *   (mod M) with offset = h(server, 1) mod M and skip = h(server, 2) mod (M - 1) + 1; M is prime,
 *   so every skip walks all M slots;
 * - the servers take turns, in that order, each claiming the next free slot of its list, until
 *   the table is full (the paper's populate; about 2 ms for 65537 slots, with the workers paused
 *   like every edit);
 * - weights (as ip_vs_mh): a server takes `turns` slots per round instead of one, turns =
 *   weight / gcd(weights). Its share is then turns / T of every full round (T: the turns of all
 *   servers); only the last round, cut short when the table fills, is partial, which puts a
 *   server off its share by at most its turns slots: a share error of at most T / M. Weights
 *   whose T exceeds MH_TURNS_MAX are scaled down to turns = max(1, weight * MH_TURNS_MAX /
 *   sum of weights) (IPVS shifts them right instead), which keeps T <= MH_TURNS_MAX + 64 and so
 *   the error below 1.7% of the table; the rounding costs a server at most one turn, which
 *   matters only for weights below 1/MH_TURNS_MAX of the sum.
 * The hashes are SipHash-1-3 (siphash.h) under a FIXED key (mh_key: the text "rawlb-maglev-v1!"),
 * unkeyed in effect, so two directors with the same configuration build bit-identical tables
 * whatever their start order or timing, and so do two builds of this code. Changing the key, the
 * message layout, M or the populate order changes every table: directors of different versions
 * would then disagree (test_sched_mh pins the table's digest).
 *
 * The fast path: the hash of the client address (and with -b mh-port its port; otherwise port 0)
 * under the same key, modulo M, one table read. When that server is not up now:
 * - without mh-fallback the flow is refused (-1), as IPVS;
 * - with mh-fallback the table's next slots are read in order (wrapping) until one whose server is
 *   up. The owners of neighbouring slots are independent draws weighted by the shares (every
 *   server's permutation is pseudo-random), so a server's clients spread over the others in
 *   proportion to their weights and nobody else's client moves; the same state gives the same
 *   answer on every director. The walk runs only when some server of the table is up (checked
 *   first), so it ends; it takes 1 / (share of the table that is up) reads on average. IPVS
 *   rehashes with a salt instead, which costs a hash per step for the same effect.
 *
 * mh's "up" differs from rs_schedulable(): a server is out only when it is at weight 0 now (an
 * agent or an edit set it), down by health (a probe failed it, or its agent said down) or
 * overloaded (-x). A server whose MAC is not yet resolved, or whose first health probe has not
 * passed yet (real_server.pending), counts as up: those states depend on one director's timing
 * (when it started, when ARP answered), and a table or a choice that depended on them would differ
 * between directors. The price: the first packet of a flow to a server rawlb cannot send to yet
 * is dropped (the client retransmits), and a flow may go to a server never probed yet. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler.h"
#include "siphash.h"

#define MH_TAB_SIZE SCHED_MH_TAB_SIZE /* M: prime; the paper's 65537, ~1000 slots per server at 64 */
#define MH_TURNS_MAX 1024u /* T at most this (+ one per server): share error <= T / M */
#define MH_NONE 0xffu      /* a slot not claimed yet */
#define MH_MSG_LEN 7       /* bytes hashed: address 4, port 2, purpose 1 */

_Static_assert(RAWLB_MAX_RS_PER_SERVICE < MH_NONE, "a slot holds a uint8_t index, MH_NONE apart");
_Static_assert(RAWLB_MAX_RS_PER_SERVICE <= 64, "members is a 64-bit set");

/* "rawlb-maglev-v1!" as two little-endian words: fixed, so that every director hashes alike. */
static const struct siphash_key mh_key = {.k0 = 0x616d2d626c776172ull, .k1 = 0x2131762d76656c67ull};

/* What a hash is for: one message layout, three independent hashes. */
enum mh_purpose { MH_HASH_OFFSET = 1, MH_HASH_SKIP = 2, MH_HASH_CLIENT = 3 };

struct mh_state {
    uint64_t members;            /* bit i: svc->rs[i] has slots */
    uint8_t owner[MH_TAB_SIZE];  /* index into svc->rs; all MH_NONE when members is 0 */
};

/* The message: the address and the port as numbers (192.0.2.1 is 0xc0000201) and the purpose,
 * laid out little-endian in MH_MSG_LEN bytes, so every host hashes the same bytes. */
static uint64_t mh_hash(uint32_t addr, uint16_t port, enum mh_purpose what)
{
    struct siphash start = siphash_start(&mh_key), s = siphash_begin(&start);
    uint64_t m = (uint64_t)ntohl(addr) | (uint64_t)ntohs(port) << 32 | (uint64_t)what << 48;
    return siphash_end(&s, m, MH_MSG_LEN);
}

static bool ep_before(const struct endpoint *a, const struct endpoint *b)
{
    uint32_t aa = ntohl(a->addr), ba = ntohl(b->addr);
    return aa < ba || (aa == ba && ntohs(a->port) < ntohs(b->port));
}

/* The servers with slots, sorted by address and port, and their turns per round (see the top). */
static unsigned mh_members(const struct service *svc, unsigned *order, uint64_t *turns)
{
    unsigned n = 0;
    uint64_t sum = 0, g = 0;
    for (unsigned i = 0; i < svc->n_rs; i++) {
        if (svc->rs[i].config_weight <= 0)
            continue;
        unsigned at = n++;
        while (at > 0 && ep_before(&svc->rs[i].ep, &svc->rs[order[at - 1]].ep)) {
            order[at] = order[at - 1];
            at--;
        }
        order[at] = i;
    }
    for (unsigned k = 0; k < n; k++) {
        uint64_t w = (uint64_t)svc->rs[order[k]].config_weight;
        sum += w;
        g = sched_gcd(w, g);
    }
    for (unsigned k = 0; k < n; k++) {
        uint64_t w = (uint64_t)svc->rs[order[k]].config_weight;
        turns[k] = sum / g > MH_TURNS_MAX ? w * MH_TURNS_MAX / sum : w / g;
        if (!turns[k])
            turns[k] = 1;
    }
    return n;
}

static void mh_build(struct mh_state *s, const struct service *svc)
{
    unsigned order[RAWLB_MAX_RS_PER_SERVICE];
    uint64_t turns[RAWLB_MAX_RS_PER_SERVICE];
    uint32_t pos[RAWLB_MAX_RS_PER_SERVICE], skip[RAWLB_MAX_RS_PER_SERVICE];
    unsigned n = mh_members(svc, order, turns), filled = 0;

    memset(s->owner, MH_NONE, sizeof s->owner);
    s->members = 0;
    for (unsigned k = 0; k < n; k++) {
        const struct endpoint *ep = &svc->rs[order[k]].ep;
        pos[k] = (uint32_t)(mh_hash(ep->addr, ep->port, MH_HASH_OFFSET) % MH_TAB_SIZE);
        skip[k] = (uint32_t)(mh_hash(ep->addr, ep->port, MH_HASH_SKIP) % (MH_TAB_SIZE - 1) + 1);
        s->members |= 1ull << order[k];
    }
    while (n && filled < MH_TAB_SIZE) {
        for (unsigned k = 0; k < n && filled < MH_TAB_SIZE; k++) {
            for (uint64_t t = 0; t < turns[k] && filled < MH_TAB_SIZE; t++) {
                /* The next slot of this server's list that nobody has claimed. */
                while (s->owner[pos[k]] != MH_NONE)
                    pos[k] = pos[k] + skip[k] >= MH_TAB_SIZE ? pos[k] + skip[k] - MH_TAB_SIZE : pos[k] + skip[k];
                s->owner[pos[k]] = (uint8_t)order[k];
                filled++;
            }
        }
    }
}

static bool mh_init(struct service *svc)
{
    struct mh_state *s = malloc(sizeof(*s));
    if (!s) return false;
    mh_build(s, svc);
    svc->sched_data = s;
    return true;
}

/* See the top: out only at weight 0, down by health (not merely pending) or overloaded. */
static bool mh_up(const struct real_server *rs)
{
    return rs->weight > 0 && (rs->available || rs->pending) && !rs->overloaded;
}

/* mh-fallback: the next slots in order, the first whose server is up (see the top). */
static int mh_fallback(const struct mh_state *s, const struct service *svc, uint32_t slot)
{
    bool any = false;
    for (unsigned i = 0; i < svc->n_rs && !any; i++)
        any = (s->members >> i & 1) && mh_up(&svc->rs[i]);
    if (!any)
        return -1;
    for (;;) {
        slot = slot + 1 == MH_TAB_SIZE ? 0 : slot + 1;
        unsigned i = s->owner[slot];
        if (mh_up(&svc->rs[i]))
            return (int)i;
    }
}

static int mh_schedule(struct service *svc, uint32_t caddr, uint16_t cport)
{
    const struct mh_state *s = svc->sched_data;
    if (!s->members)
        return -1;
    uint16_t port = svc->sched_flags & SCHED_FLAG_MH_PORT ? cport : 0;
    uint32_t slot = (uint32_t)(mh_hash(caddr, port, MH_HASH_CLIENT) % MH_TAB_SIZE);
    unsigned i = s->owner[slot];
    if (mh_up(&svc->rs[i]))
        return (int)i;
    return svc->sched_flags & SCHED_FLAG_MH_FALLBACK ? mh_fallback(s, svc, slot) : -1;
}

int sched_mh_owner(const struct service *svc, uint32_t slot)
{
    const struct mh_state *s = svc->sched_data;
    return s->members && slot < MH_TAB_SIZE ? s->owner[slot] : -1;
}

const struct sched_ops sched_mh_ops = {
    .name = "mh",
    .flags = SCHED_FLAG_MH_PORT | SCHED_FLAG_MH_FALLBACK,
    .init = mh_init,
    .done = sched_free_data,
    .schedule = mh_schedule,
};
