/* flowtab: per-flow counters in a table sized at start (open addressing, linear probing).
 * Nothing is allocated while packets flow: when the table is full, the frame is counted in
 * overflow and not per flow. */
#include "replay.h"

#include <stdlib.h>
#include <string.h>

bool flowtab_init(struct flowtab *ft, uint32_t max_flows)
{
    memset(ft, 0, sizeof *ft);
    uint32_t cap = 1024;
    while (cap < max_flows * 2u && cap < (1u << 22))
        cap <<= 1;
    ft->slots = calloc(cap, sizeof *ft->slots);
    if (!ft->slots)
        return false;
    ft->mask = cap - 1;
    ft->max_used = cap / 2; /* keep probes short */
    return true;
}

void flowtab_free(struct flowtab *ft)
{
    free(ft->slots);
    memset(ft, 0, sizeof *ft);
}

static uint32_t flow_hash(const struct flow_key *k)
{
    uint64_t h = 0x9e3779b97f4a7c15u;
    uint64_t w[2] = { (uint64_t)k->saddr << 32 | k->daddr, (uint64_t)k->sport << 24 | (uint64_t)k->dport << 8 | k->proto };
    for (int i = 0; i < 2; i++) {
        h ^= w[i];
        h *= 0xff51afd7ed558ccdu;
        h ^= h >> 33;
    }
    return (uint32_t)h;
}

struct flow *flowtab_get(struct flowtab *ft, const struct flow_key *k)
{
    for (uint32_t i = flow_hash(k) & ft->mask, n = 0; n <= ft->mask; i = (i + 1) & ft->mask, n++) {
        struct flow *f = &ft->slots[i];
        if (f->used) {
            if (!memcmp(&f->key, k, sizeof *k))
                return f;
            continue;
        }
        if (ft->used >= ft->max_used)
            break;
        f->used = true;
        f->key = *k;
        ft->used++;
        return f;
    }
    ft->overflow++;
    return NULL;
}

void flow_key_of(const uint8_t *f, const struct hdrs *h, struct flow_key *k)
{
    memset(k, 0, sizeof *k);
    memcpy(&k->saddr, f + h->l3 + 12, 4);
    memcpy(&k->daddr, f + h->l3 + 16, 4);
    k->proto = h->proto;
    if (h->l4 && (h->proto == 6 || h->proto == 17)) {
        memcpy(&k->sport, f + h->l4, 2);
        memcpy(&k->dport, f + h->l4 + 2, 2);
    }
}
