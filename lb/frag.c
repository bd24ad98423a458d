/* frag: see frag.h. */
#include "frag.h"

#include <stdbool.h>
#include <string.h>

/* The hashed message: saddr daddr (network order) id proto, 11 bytes: a word and a tail. */
#define FRAG_MSG_LEN 11

static uint32_t frag_set(const struct siphash *start, uint32_t saddr, uint32_t daddr, uint8_t proto, uint16_t id)
{
    struct siphash s = siphash_begin(start);
    siphash_word(&s, (uint64_t)daddr << 32 | saddr);
    return (uint32_t)siphash_end(&s, (uint64_t)proto << 16 | id, FRAG_MSG_LEN) & (FRAG_SETS - 1);
}

static bool slot_live(const struct frag_slot *s, uint32_t now)
{
    return s->used && (int32_t)(s->expires - now) > 0;
}

static bool slot_is(const struct frag_slot *s, uint32_t saddr, uint32_t daddr, uint8_t proto, uint16_t id)
{
    return s->saddr == saddr && s->daddr == daddr && s->id == id && s->proto == proto;
}

/* a was remembered before b (every entry lives FRAG_LIFETIME). */
static bool slot_older(const struct frag_slot *a, const struct frag_slot *b)
{
    return (int32_t)(a->expires - b->expires) < 0;
}

void frag_init(struct frag_table *f, const struct siphash_key *key)
{
    memset(f, 0, sizeof *f);
    f->hash_start = siphash_start(key);
}

void frag_remember(struct frag_table *f, uint32_t saddr, uint32_t daddr, uint8_t proto, uint16_t id,
                   uint32_t conn, uint32_t generation, uint32_t now)
{
    struct frag_slot *set = f->set[frag_set(&f->hash_start, saddr, daddr, proto, id)];
    struct frag_slot *spare = NULL, *own = NULL, *oldest = NULL, *s = NULL;
    for (unsigned w = 0; w < FRAG_WAYS && !s; w++) {
        struct frag_slot *way = &set[w];
        if (!slot_live(way, now)) {
            spare = spare ? spare : way;
            continue;
        }
        if (slot_is(way, saddr, daddr, proto, id))
            s = way; /* its first fragment again */
        if (way->saddr == saddr && (!own || slot_older(way, own)))
            own = way;
        if (!oldest || slot_older(way, oldest))
            oldest = way;
    }
    s = s ? s : spare ? spare : own ? own : oldest;
    *s = (struct frag_slot){ .saddr = saddr, .daddr = daddr, .id = id, .proto = proto, .used = 1,
                             .conn = conn, .generation = generation, .expires = now + FRAG_LIFETIME };
}

const struct frag_slot *frag_find(const struct frag_table *f, uint32_t saddr, uint32_t daddr, uint8_t proto,
                                  uint16_t id, uint32_t now)
{
    const struct frag_slot *set = f->set[frag_set(&f->hash_start, saddr, daddr, proto, id)];
    for (unsigned w = 0; w < FRAG_WAYS; w++)
        if (slot_live(&set[w], now) && slot_is(&set[w], saddr, daddr, proto, id))
            return &set[w];
    return NULL;
}
