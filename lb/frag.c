/* frag: see frag.h. */
#include "frag.h"

#include <string.h>

#include "hash.h"

static uint32_t frag_hash(uint32_t seed, uint32_t saddr, uint32_t daddr, uint8_t proto, uint16_t id)
{
    uint32_t h = hash_add(hash_add(seed, saddr), daddr);
    return hash_mix32(h ^ (((uint32_t)id << 8) | proto)) & (FRAG_SLOTS - 1);
}

void frag_init(struct frag_table *f, uint32_t seed)
{
    memset(f, 0, sizeof *f);
    f->seed = seed;
}

void frag_remember(struct frag_table *f, uint32_t saddr, uint32_t daddr, uint8_t proto, uint16_t id,
                   uint32_t conn, uint32_t generation, uint32_t now)
{
    struct frag_slot *s = &f->slot[frag_hash(f->seed, saddr, daddr, proto, id)];
    *s = (struct frag_slot){ .saddr = saddr, .daddr = daddr, .id = id, .proto = proto, .used = 1,
                             .conn = conn, .generation = generation, .expires = now + FRAG_LIFETIME };
}

const struct frag_slot *frag_find(const struct frag_table *f, uint32_t saddr, uint32_t daddr, uint8_t proto,
                                  uint16_t id, uint32_t now)
{
    const struct frag_slot *s = &f->slot[frag_hash(f->seed, saddr, daddr, proto, id)];
    if (!s->used || s->saddr != saddr || s->daddr != daddr || s->id != id || s->proto != proto ||
        (int32_t)(s->expires - now) <= 0)
        return NULL;
    return s;
}
