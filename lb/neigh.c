/* neigh: see neigh.h. Open addressing with linear probing; a slot never becomes empty again
 * (entries are marked unknown or retired, and a retired slot is reused for a new address), so
 * probe chains stay intact. */
#include "neigh.h"

#include <string.h>

static struct neigh_entry *find(struct neigh_table *n, uint32_t addr)
{
    for (uint32_t i = neigh_home_slot(addr), probes = 0; probes < NEIGH_SLOTS;
         i = (i + 1) & (NEIGH_SLOTS - 1), probes++) {
        if (n->e[i].addr == addr)
            return &n->e[i];
        if (n->e[i].addr == 0)
            return NULL;
    }
    return NULL;
}

/* A registered, not retired entry for addr, or NULL. */
static struct neigh_entry *find_live(struct neigh_table *n, uint32_t addr)
{
    struct neigh_entry *e = find(n, addr);
    return e && !e->retired ? e : NULL;
}

/* Also called by the workers' lookups, several at once: relaxed stores of the same value. */
static void want(struct neigh_table *n, struct neigh_entry *e)
{
    __atomic_store_n(&e->wanted, true, __ATOMIC_RELAXED);
    __atomic_store_n(&n->any_wanted, true, __ATOMIC_RELAXED);
}

void neigh_init(struct neigh_table *n)
{
    memset(n, 0, sizeof *n);
}

void neigh_watch(struct neigh_table *n, neigh_change_cb cb, void *arg)
{
    n->changed = cb;
    n->changed_arg = arg;
}

bool neigh_add(struct neigh_table *n, uint32_t addr)
{
    if (addr == 0)
        return false;
    struct neigh_entry *known = find(n, addr);
    if (known) {
        if (known->retired) {
            known->retired = false;
            want(n, known);
        }
        return true;
    }
    /* The first retired or empty slot on the probe path: a retired slot keeps a non-zero
     * address, so reusing it for another one leaves every chain through it intact. */
    for (uint32_t i = neigh_home_slot(addr), probes = 0; probes < NEIGH_SLOTS;
         i = (i + 1) & (NEIGH_SLOTS - 1), probes++) {
        if (n->e[i].addr == 0 || n->e[i].retired) {
            n->e[i] = (struct neigh_entry){ .addr = addr };
            want(n, &n->e[i]);
            return true;
        }
    }
    return false;
}

const uint8_t *neigh_lookup_slow(struct neigh_table *n, uint32_t addr)
{
    struct neigh_entry *e = find_live(n, addr);
    if (!e)
        return NULL;
    if (e->known)
        return e->mac;
    want(n, e);
    return NULL;
}

bool neigh_known(struct neigh_table *n, uint32_t addr)
{
    const struct neigh_entry *e = find_live(n, addr);
    return e && e->known;
}

void neigh_learn(struct neigh_table *n, uint32_t addr, const uint8_t *mac, uint32_t now)
{
    struct neigh_entry *e = find_live(n, addr);
    if (!e)
        return;
    bool learnt = !e->known, moved = e->known && memcmp(e->mac, mac, sizeof e->mac) != 0;
    uint8_t old[sizeof e->mac];
    memcpy(old, e->mac, sizeof old);
    memcpy(e->mac, mac, sizeof e->mac);
    e->known = true;
    e->confirmed = now;
    e->unanswered = 0;
    /* Asked because it fell silent, and the MAC is the same: the MAC was not the reason. */
    if (moved)
        e->silence_excused = false;
    else if (e->silence_asked)
        e->silence_excused = true;
    e->silence_asked = false;
    if ((learnt || moved) && n->changed)
        n->changed(n->changed_arg, addr, learnt ? NULL : old, e->mac);
}

void neigh_note_traffic(struct neigh_table *n, uint32_t addr, bool sent, bool heard)
{
    struct neigh_entry *e = find_live(n, addr);
    if (!e)
        return;
    e->sent = e->sent || sent;
    e->heard = e->heard || heard;
}

/* Consumes the tick's traffic notes: true when frames went to a known entry for
 * NEIGH_UNANSWERED ticks with nothing heard from it since the first (then counted afresh). */
static bool gone_silent(struct neigh_entry *e)
{
    bool sent = e->sent, heard = e->heard;
    e->sent = e->heard = false;
    if (heard) {
        e->unanswered = 0;
        e->silence_excused = false;
        return false;
    }
    if (!sent || !e->known || e->silence_excused || ++e->unanswered < NEIGH_UNANSWERED)
        return false;
    e->unanswered = 0;
    e->silence_asked = true;
    return true;
}

void neigh_age(struct neigh_table *n, uint32_t now)
{
    for (unsigned i = 0; i < NEIGH_SLOTS; i++) {
        struct neigh_entry *e = &n->e[i];
        if (!e->addr || e->retired)
            continue;
        uint32_t age = now - e->confirmed;
        bool silent = gone_silent(e);
        if (e->known && age >= NEIGH_STALE) {
            e->known = false;
            if (n->changed)
                n->changed(n->changed_arg, e->addr, e->mac, NULL);
        }
        if (!e->known || age >= NEIGH_REFRESH || silent)
            want(n, e);
    }
}

void neigh_for_each_wanted(struct neigh_table *n, uint32_t now, void (*fn)(void *arg, uint32_t addr), void *arg)
{
    if (!n->any_wanted)
        return;
    bool still_wanted = false;
    for (unsigned i = 0; i < NEIGH_SLOTS; i++) {
        struct neigh_entry *e = &n->e[i];
        if (!e->addr || !e->wanted)
            continue;
        if (e->ever_asked && now - e->asked < NEIGH_RETRY) {
            still_wanted = true;
            continue;
        }
        e->wanted = false;
        e->asked = now;
        e->ever_asked = true;
        fn(arg, e->addr);
    }
    n->any_wanted = still_wanted;
}

void neigh_retire_unused(struct neigh_table *n, bool (*in_use)(void *arg, uint32_t addr), void *arg)
{
    for (unsigned i = 0; i < NEIGH_SLOTS; i++) {
        struct neigh_entry *e = &n->e[i];
        if (e->addr && !e->retired && !in_use(arg, e->addr))
            *e = (struct neigh_entry){ .addr = e->addr, .retired = true };
    }
}
