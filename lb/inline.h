/* inline: FAST_INLINE marks the few functions of the per-packet path that must compile into
 * their callers whatever the compiler's size heuristics say: each call they would otherwise cost
 * (saved registers, arguments moved, a frame) is paid on every packet
 * (tools/bench/instructions.sh counts it). */
#ifndef RAWLB_INLINE_H
#define RAWLB_INLINE_H

#define FAST_INLINE static inline __attribute__((always_inline))

#endif
