/* frag: which connection the fragments of an IPv4 datagram belong to. Only the first fragment
 * carries ports, so when it passes, its (src, dst, proto, id) is remembered with the connection
 * it matched; later fragments follow it to the same real server (what LVS gets from
 * ip_always_defrag, without reassembling). A direct-mapped cache of fixed size: a collision
 * overwrites, and a fragment that finds nothing (overwritten, or ahead of its first fragment)
 * is dropped and counted by the caller. Slots are picked by SipHash-1-3 under a key of its own
 * (not the connection table's), so no sender can aim its fragments at one slot. */
#ifndef RAWLB_FRAG_H
#define RAWLB_FRAG_H

#include <stdint.h>

#include "siphash.h"

#define FRAG_SLOTS 16384 /* a power of two */
#define FRAG_LIFETIME 30 /* seconds, as the kernel's ipfrag_time */

struct frag_slot {
    uint32_t saddr, daddr;
    uint16_t id;
    uint8_t proto;
    uint8_t used;
    uint32_t conn, generation; /* weak reference: checked against the entry's generation */
    uint32_t expires;
};

struct frag_table {
    struct siphash hash_start; /* SipHash's state under the map's key */
    struct frag_slot slot[FRAG_SLOTS];
};

void frag_init(struct frag_table *f, const struct siphash_key *key);
void frag_remember(struct frag_table *f, uint32_t saddr, uint32_t daddr, uint8_t proto, uint16_t id,
                   uint32_t conn, uint32_t generation, uint32_t now);
/* The remembered slot for a later fragment, or NULL. */
const struct frag_slot *frag_find(const struct frag_table *f, uint32_t saddr, uint32_t daddr, uint8_t proto,
                                  uint16_t id, uint32_t now);

#endif
