/* frag: the fragment map keeps datagrams' first fragments against one sender's flood (the Hardening
 * issue: a direct-mapped map let one address sending 16,384 first fragments take the tails of
 * about two thirds of other flows' datagrams in flight), entries expire, and a sender's own flood
 * recycles its own entries. */
#include <stdio.h>
#include <stdlib.h>

#include "frag.h"
#include "testing.h"

#define VICTIMS 1000          /* other senders' datagrams in flight when the flood starts */
#define FLOOD FRAG_SLOTS      /* the flood: as many first fragments as the map has entries */
#define UDP 17
#define VIP 0x0a64330au       /* 198.51.100.10, any fixed destination */
#define ATTACKER 0x640000c8u  /* one source address */
#define VICTIM_NET 0x0a000000u /* 10.0.0.0/8: one address per victim */

static const struct siphash_key key = { 0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull };

/* The remembered connection index of a victim datagram: its number, so a mix-up shows. */
static unsigned victims_found(const struct frag_table *f, uint32_t now)
{
    unsigned found = 0;
    for (uint32_t v = 0; v < VICTIMS; v++) {
        const struct frag_slot *s = frag_find(f, VICTIM_NET + v, VIP, UDP, (uint16_t)v, now);
        found += s && s->conn == v;
    }
    return found;
}

/* Sets whose every way holds a live entry: where a sender holding none replaces the oldest. */
static unsigned sets_full(const struct frag_table *f)
{
    unsigned full = 0;
    for (unsigned i = 0; i < FRAG_SETS; i++) {
        unsigned used = 0;
        for (unsigned w = 0; w < FRAG_WAYS; w++)
            used += f->set[i][w].used;
        full += used == FRAG_WAYS;
    }
    return full;
}

/* Every victim's first fragment is remembered, then one address floods; the victims' tails must
 * still find their entries (the direct-mapped map lost ~63% of them here), all but one per set
 * the victims alone had filled (frag.h: the flooder takes the oldest of such a set once). */
static void test_flood_after(struct frag_table *f)
{
    uint32_t now = 1000;
    frag_init(f, &key);
    for (uint32_t v = 0; v < VICTIMS; v++)
        frag_remember(f, VICTIM_NET + v, VIP, UDP, (uint16_t)v, v, 1, now);
    CHECK_EQ_U(victims_found(f, now), VICTIMS);
    unsigned full = sets_full(f);
    CHECK(full < VICTIMS / 100); /* a handful: 1000 entries over 4096 sets */
    for (uint32_t i = 0; i < FLOOD; i++)
        frag_remember(f, ATTACKER, VIP, UDP, (uint16_t)i, 0, 1, now + 1);
    unsigned found = victims_found(f, now + 1);
    printf("flood of %u first fragments from one address: %u of %u other datagrams keep their entry "
           "(%u sets were full of them)\n", FLOOD, found, VICTIMS, full);
    CHECK_EQ_U(found, VICTIMS - full);
    /* the flooder's latest datagram is placed too: it recycles its own entries */
    CHECK(frag_find(f, ATTACKER, VIP, UDP, (uint16_t)(FLOOD - 1), now + 1) != NULL);
}

/* One client's datagrams, each first fragment followed by a burst of the flood before its tail:
 * every tail finds its entry, though the client's earlier datagrams hold ways too. */
static void test_flood_between(struct frag_table *f)
{
    enum { BURST = 64 };
    uint32_t now = 2000, client = VICTIM_NET + 1, lost = 0;
    frag_init(f, &key);
    for (uint32_t d = 0; d < VICTIMS; d++) {
        frag_remember(f, client, VIP, UDP, (uint16_t)d, d, 1, now);
        for (uint32_t i = 0; i < BURST; i++)
            frag_remember(f, ATTACKER, VIP, UDP, (uint16_t)(d * BURST + i), 0, 1, now);
        const struct frag_slot *s = frag_find(f, client, VIP, UDP, (uint16_t)d, now);
        lost += !s || s->conn != d;
    }
    CHECK_EQ_U(lost, 0);
}

static void test_expiry_and_refresh(struct frag_table *f)
{
    uint32_t now = 3000;
    frag_init(f, &key);
    CHECK(frag_find(f, VICTIM_NET, VIP, UDP, 7, now) == NULL);
    frag_remember(f, VICTIM_NET, VIP, UDP, 7, 42, 3, now);
    const struct frag_slot *s = frag_find(f, VICTIM_NET, VIP, UDP, 7, now + FRAG_LIFETIME - 1);
    CHECK(s && s->conn == 42 && s->generation == 3);
    CHECK(frag_find(f, VICTIM_NET, VIP, UDP, 7, now + FRAG_LIFETIME) == NULL);
    CHECK(frag_find(f, VICTIM_NET, VIP, 6 /* TCP */, 7, now) == NULL);
    /* the same first fragment again (a retransmission) updates its entry in place */
    frag_remember(f, VICTIM_NET, VIP, UDP, 7, 43, 4, now + 10);
    s = frag_find(f, VICTIM_NET, VIP, UDP, 7, now + FRAG_LIFETIME + 5);
    CHECK(s && s->conn == 43 && s->generation == 4);
}

int main(void)
{
    struct frag_table *f = malloc(sizeof *f); /* too large for the stack */
    if (!f)
        return 1;
    test_flood_after(f);
    test_flood_between(f);
    test_expiry_and_refresh(f);
    free(f);
    CHECK_DONE();
}
