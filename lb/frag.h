/* frag: which connection the fragments of an IPv4 datagram belong to. Only the first fragment
 * carries ports, so when it passes, its (src, dst, proto, id) is remembered with the connection
 * it matched; later fragments follow it to the same real server (what LVS gets from
 * ip_always_defrag, without reassembling). A fragment that finds nothing (its entry replaced, or
 * ahead of its first fragment) is dropped and counted by the caller.
 *
 * A set-associative cache of fixed size: FRAG_SETS sets of FRAG_WAYS entries, the set picked by
 * SipHash-1-3 under a key of its own (not the connection table's). A first fragment takes, in
 * its set: its own entry (same datagram again), else a free or expired way, else, if its sender
 * (source address) already holds a way of the set, the sender's own oldest, else the set's
 * oldest entry.
 *
 * What a sender can do to other senders' datagrams, then: it cannot aim its fragments at a set
 * (the key), and from one source address, however many first fragments it sends, it replaces at
 * most one live entry of others per set, and only one that was the oldest of a set full of them;
 * after that its datagrams replace only its own (the direct-mapped map this was let one address
 * sending 16,384 first fragments take the tails of about two thirds of everyone's datagrams in
 * flight; test_frag). What it still can: from FRAG_WAYS or more source addresses (fragments need
 * no handshake, so spoofed ones do), push an entry out of its set by sending newer first
 * fragments into that set from FRAG_WAYS addresses that hold none of it, blindly, so a flood from
 * many addresses still costs other datagrams their tails, as any cache of fixed size would; and
 * a sender with many datagrams in flight in one set loses its own older ones. */
#ifndef RAWLB_FRAG_H
#define RAWLB_FRAG_H

#include <stdint.h>

#include "siphash.h"

#define FRAG_SLOTS 16384 /* entries in all, a power of two */
#define FRAG_WAYS 4      /* per set: two cache lines of entries to compare */
#define FRAG_SETS (FRAG_SLOTS / FRAG_WAYS)
#define FRAG_LIFETIME 30 /* seconds, as the kernel's ipfrag_time */

struct frag_slot {
    uint32_t saddr, daddr;
    uint16_t id;
    uint8_t proto;
    uint8_t used;
    uint32_t conn, generation; /* weak reference: checked against the entry's generation */
    uint32_t expires;          /* remembered at expires - FRAG_LIFETIME: orders a set's ways by age */
};

struct frag_table {
    struct siphash hash_start; /* SipHash's state under the map's key */
    struct frag_slot set[FRAG_SETS][FRAG_WAYS];
};

void frag_init(struct frag_table *f, const struct siphash_key *key);
void frag_remember(struct frag_table *f, uint32_t saddr, uint32_t daddr, uint8_t proto, uint16_t id,
                   uint32_t conn, uint32_t generation, uint32_t now);
/* The remembered slot for a later fragment, or NULL. */
const struct frag_slot *frag_find(const struct frag_table *f, uint32_t saddr, uint32_t daddr, uint8_t proto,
                                  uint16_t id, uint32_t now);

#endif
