/* frag: see frag.h. */
#include "frag.h"

#include <string.h>

/* The hashed message: saddr daddr (network order) id proto, 11 bytes: a word and a tail. */
#define FRAG_MSG_LEN 11

static uint32_t frag_hash(const struct siphash *start, uint32_t saddr, uint32_t daddr, uint8_t proto, uint16_t id)
{
    struct siphash s = siphash_begin(start);
    siphash_word(&s, (uint64_t)daddr << 32 | saddr);
    return (uint32_t)siphash_end(&s, (uint64_t)proto << 16 | id, FRAG_MSG_LEN) & (FRAG_SLOTS - 1);
}

void frag_init(struct frag_table *f, const struct siphash_key *key)
{
    memset(f, 0, sizeof *f);
    f->hash_start = siphash_start(key);
}

void frag_remember(struct frag_table *f, uint32_t saddr, uint32_t daddr, uint8_t proto, uint16_t id,
                   uint32_t conn, uint32_t generation, uint32_t now)
{
    struct frag_slot *s = &f->slot[frag_hash(&f->hash_start, saddr, daddr, proto, id)];
    *s = (struct frag_slot){ .saddr = saddr, .daddr = daddr, .id = id, .proto = proto, .used = 1,
                             .conn = conn, .generation = generation, .expires = now + FRAG_LIFETIME };
}

const struct frag_slot *frag_find(const struct frag_table *f, uint32_t saddr, uint32_t daddr, uint8_t proto,
                                  uint16_t id, uint32_t now)
{
    const struct frag_slot *s = &f->slot[frag_hash(&f->hash_start, saddr, daddr, proto, id)];
    if (!s->used || s->saddr != saddr || s->daddr != daddr || s->id != id || s->proto != proto ||
        (int32_t)(s->expires - now) <= 0)
        return NULL;
    return s;
}
