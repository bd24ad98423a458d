/* neigh: the MAC addresses of the real servers on the internal link, learnt from ARP.
 * Only addresses registered with neigh_add (the real servers) are kept, so nothing a host on
 * the link sends can grow or poison the table beyond them. The fast path reads it; ARP
 * solicitation (arp.c) is told which entries need asking through neigh_for_each_wanted.
 * Whoever keeps state derived from it (the daemon: which real servers may be scheduled) hears
 * of every entry learnt, moved or forgotten through one callback. An entry is asked for again
 * when traffic says its MAC may be wrong: frames keep going to the server and nothing comes
 * back (Linux's neighbour table does the same with its reachability confirmations). */
#ifndef RAWLB_NEIGH_H
#define RAWLB_NEIGH_H

#include <stdbool.h>
#include <stdint.h>

#include "hash.h"
#include "inline.h"

#define NEIGH_SLOTS 8192 /* power of two, above RAWLB_MAX_SERVICES * RAWLB_MAX_RS_PER_SERVICE */
/* An entry not confirmed by ARP for this long is asked again; it stays usable meanwhile. */
#define NEIGH_REFRESH 30
/* ... and is forgotten when nothing answered for this long (a replaced server's MAC). */
#define NEIGH_STALE 120
/* Ticks with frames sent to a server and nothing heard from it since the first, after which it
 * is asked for its MAC at once: it may have changed it without a gratuitous ARP, and otherwise
 * only NEIGH_REFRESH would find out. Two, not one: a second without an answer is ordinary. */
#define NEIGH_UNANSWERED 2

struct neigh_entry {
    uint32_t addr; /* 0 = free slot */
    uint8_t mac[6];
    bool known;
    bool wanted;   /* the fast path needed it and found nothing: ask now */
    uint32_t confirmed;
    uint32_t asked;       /* when it was last solicited */
    bool ever_asked;
    bool retired;         /* no server uses it any more: kept as a tombstone, never asked */
    bool sent, heard;     /* this tick's traffic to and from it (neigh_note_traffic) */
    uint8_t unanswered;   /* ticks with frames sent to it and nothing heard since the first */
    bool silence_asked;   /* asked because of that silence; no ARP from it since */
    /* ... and its ARP then kept the same MAC: the silence is its own (one-way traffic), so it is
     * not asked about again until it is heard from. */
    bool silence_excused;
};

/* The callback of neigh_watch: old_mac is NULL when addr was just learnt, new_mac NULL when it
 * was forgotten, both are set when it moved to another MAC. Called from neigh_learn (the fast
 * path, on ARP) and neigh_age (the timer), only on such a change: it may walk the services, and
 * must not touch the frame being handled. */
typedef void (*neigh_change_cb)(void *arg, uint32_t addr, const uint8_t *old_mac, const uint8_t *new_mac);

struct neigh_table {
    struct neigh_entry e[NEIGH_SLOTS];
    bool any_wanted;
    neigh_change_cb changed; /* NULL: nobody listens */
    void *changed_arg;
};

void neigh_init(struct neigh_table *n);
/* Registers the one listener for entries learnt, moved and forgotten (retired ones are not
 * reported: no server uses them). */
void neigh_watch(struct neigh_table *n, neigh_change_cb cb, void *arg);
/* Registers a real server's address (again, if it was retired). False when the table is full. */
bool neigh_add(struct neigh_table *n, uint32_t addr);
/* Control (after an edit): every address for which in_use(arg, addr) is false is retired, so a
 * removed server is not asked for any more. */
void neigh_retire_unused(struct neigh_table *n, bool (*in_use)(void *arg, uint32_t addr), void *arg);
/* The slot addr's probe sequence starts at. */
static inline uint32_t neigh_home_slot(uint32_t addr)
{
    return hash_mix32(addr) & (NEIGH_SLOTS - 1);
}
/* neigh_lookup beyond the common case: a probe past the home slot, or no usable MAC. */
const uint8_t *neigh_lookup_slow(struct neigh_table *n, uint32_t addr);
/* Fast path: the MAC for addr, or NULL (and the entry is marked wanted). Inline for the common
 * case, a known server in its home slot (the table is sized well above the servers). */
FAST_INLINE const uint8_t *neigh_lookup(struct neigh_table *n, uint32_t addr)
{
    const struct neigh_entry *e = &n->e[neigh_home_slot(addr)];
    if (e->addr == addr && e->known && !e->retired)
        return e->mac;
    return neigh_lookup_slow(n, addr);
}
/* Control: whether addr's MAC is known, without marking anything. */
bool neigh_known(struct neigh_table *n, uint32_t addr);
/* From any ARP frame on the internal link: sender addr is at mac. Ignored unless registered. */
void neigh_learn(struct neigh_table *n, uint32_t addr, const uint8_t *mac, uint32_t now);
/* Timer, once a tick before neigh_age: frames went to addr since the last tick (sent), frames
 * came from it (heard). An address may be noted several times a tick (it serves several
 * services); unregistered ones are ignored. */
void neigh_note_traffic(struct neigh_table *n, uint32_t addr, bool sent, bool heard);
/* Timer: forget stale entries, and mark as wanted those due a refresh and those that went
 * NEIGH_UNANSWERED ticks without answering the frames sent to them. */
void neigh_age(struct neigh_table *n, uint32_t now);
/* Calls fn for each wanted entry not asked within NEIGH_RETRY and clears its mark: a server
 * that does not answer is asked once a second, however many packets want it. */
#define NEIGH_RETRY 1
void neigh_for_each_wanted(struct neigh_table *n, uint32_t now, void (*fn)(void *arg, uint32_t addr), void *arg);

#endif
