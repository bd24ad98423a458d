/* hash: the one 32-bit mixer every table in rawlb uses. Full avalanche (Chris Wellons'
 * lowbias32), because the keys are anything but random: Linux prefers even source ports and
 * clients share their high address bits. Unseeded where a peer must hash alike (sh), seeded
 * where an attacker must not be able to aim at one bucket (connection table). */
#ifndef RAWLB_HASH_H
#define RAWLB_HASH_H

#include <stdint.h>

static inline uint32_t hash_mix32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

/* Folds one more word into a running hash. */
static inline uint32_t hash_add(uint32_t h, uint32_t word)
{
    return hash_mix32(h ^ word) + 0x9e3779b9u;
}

#endif
