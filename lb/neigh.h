/* neigh: the MAC addresses of the real servers on the internal link, learnt from ARP.
 * Only addresses registered with neigh_add (the real servers) are kept, so nothing a host on
 * the link sends can grow or poison the table beyond them. The fast path reads it; ARP
 * solicitation (arp.c) is told which entries need asking through neigh_wanted. */
#ifndef RAWLB_NEIGH_H
#define RAWLB_NEIGH_H

#include <stdbool.h>
#include <stdint.h>

#define NEIGH_SLOTS 8192 /* power of two, above RAWLB_MAX_SERVICES * RAWLB_MAX_RS_PER_SERVICE */
/* An entry not confirmed by ARP for this long is asked again; it stays usable meanwhile. */
#define NEIGH_REFRESH 30
/* ... and is forgotten when nothing answered for this long (a replaced server's MAC). */
#define NEIGH_STALE 120

struct neigh_entry {
    uint32_t addr; /* 0 = free slot */
    uint8_t mac[6];
    bool known;
    bool wanted;   /* the fast path needed it and found nothing: ask now */
    uint32_t confirmed;
    uint32_t asked;       /* when it was last solicited */
    bool ever_asked;
    bool retired;         /* no server uses it any more: kept as a tombstone, never asked */
};

struct neigh_table {
    struct neigh_entry e[NEIGH_SLOTS];
    bool any_wanted;
};

void neigh_init(struct neigh_table *n);
/* Registers a real server's address (again, if it was retired). False when the table is full. */
bool neigh_add(struct neigh_table *n, uint32_t addr);
/* Control (after an edit): every address for which in_use(arg, addr) is false is retired, so a
 * removed server is not asked for any more. */
void neigh_retire_unused(struct neigh_table *n, bool (*in_use)(void *arg, uint32_t addr), void *arg);
/* Fast path: the MAC for addr, or NULL (and the entry is marked wanted). */
const uint8_t *neigh_lookup(struct neigh_table *n, uint32_t addr);
/* From any ARP frame on the internal link: sender addr is at mac. Ignored unless registered. */
void neigh_learn(struct neigh_table *n, uint32_t addr, const uint8_t *mac, uint32_t now);
/* Timer: forget stale entries and mark those due a refresh as wanted. */
void neigh_age(struct neigh_table *n, uint32_t now);
/* Calls fn for each wanted entry not asked within NEIGH_RETRY and clears its mark: a server
 * that does not answer is asked once a second, however many packets want it. */
#define NEIGH_RETRY 1
void neigh_for_each_wanted(struct neigh_table *n, uint32_t now, void (*fn)(void *arg, uint32_t addr), void *arg);

#endif
