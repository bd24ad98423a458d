/* ratelimit: a token bucket on the fast path's clock (whole seconds). It bounds what a worker
 * sends of its own accord in answer to traffic it has no flow for (RSTs, ICMP port
 * unreachable): a flood of such traffic, spoofed or not, must not become a flood of answers,
 * as the kernel bounds its ICMP errors with net.ipv4.icmp_msgs_per_sec. Header-only: two small
 * functions on the per-packet path. */
#ifndef RAWLB_RATELIMIT_H
#define RAWLB_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit {
    uint32_t rate;   /* tokens added per second */
    uint32_t burst;  /* the most the bucket holds */
    uint32_t tokens;
    uint32_t stamp;  /* the second of the last refill */
};

/* A full bucket, as of second now. */
static inline void ratelimit_init(struct ratelimit *r, uint32_t rate, uint32_t burst, uint32_t now)
{
    *r = (struct ratelimit){ .rate = rate, .burst = burst, .tokens = burst, .stamp = now };
}

/* Takes one token at second now; false when the bucket is empty. */
static inline bool ratelimit_take(struct ratelimit *r, uint32_t now)
{
    uint32_t elapsed = now - r->stamp;
    if (elapsed) {
        uint64_t t = (uint64_t)r->tokens + (uint64_t)elapsed * r->rate;
        r->tokens = t > r->burst ? r->burst : (uint32_t)t;
        r->stamp = now;
    }
    if (!r->tokens)
        return false;
    r->tokens--;
    return true;
}

#endif
