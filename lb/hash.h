/* hash: the unkeyed 32-bit mixer, for tables whose keys an outsider does not choose (the
 * neighbour table of configured servers) and where a peer must hash alike (sh: two directors
 * pick the same server). Full avalanche (Chris Wellons' lowbias32), because the keys are
 * anything but random: clients share their high address bits. Tables keyed by what arrives
 * from the network (connections, fragments) use the keyed siphash.h instead, so nobody can aim
 * at one chain. */
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

#endif
