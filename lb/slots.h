/* slots: the stable names connection entries give their service and real server.
 * The service table (service.h) is built afresh in configuration order at every edit, so its
 * indexes move; an entry names its real server instead by a service slot and a server slot,
 * which keep their meaning for as long as any entry uses them (Katran's reals by index, made
 * safe across edits). A slot says where its server sits in the service table now, or that it is
 * retired: the server was removed by an edit, or health dropped its flows and the server went on
 * under a fresh slot. The fast path answers an entry of a retired slot as dropped the moment it
 * meets it, and each worker's reap walk (fastpath_reap_some) marks the rest over several ticks,
 * so neither an edit nor a dead server walks a whole table in one call.
 * A retired slot is a tombstone: it is handed out again only once no entry names it (refs, the
 * count of entries naming it, kept by the fast path's watcher). Nothing else keeps a slot across
 * an edit (health and the control protocol use the table's indexes, HA and saved tables name
 * servers by address), so the count alone keeps a reused slot from being confused with the old:
 * no generation is needed on top of it.
 * Written by the main thread with the workers paused; the workers read slots and change refs
 * (atomically). */
#ifndef RAWLB_SLOTS_H
#define RAWLB_SLOTS_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

/* Twice what can be live at once: room for as many tombstones as live servers. */
#define SLOT_SERVICES (2 * RAWLB_MAX_SERVICES)
#define SLOT_SERVERS (2 * (RAWLB_MAX_RS_PER_SERVICE + 1)) /* per service slot: its sorry server too */
#define SLOT_RETIRED (-1)

struct rs_slot {
    int16_t svc, rs; /* the service table's indexes of the server holding it, or SLOT_RETIRED */
    uint32_t refs;   /* connection entries (templates too) naming it */
};

struct svc_slot {
    bool used; /* a service holds it (its server slots may still hold tombstones when not) */
    struct rs_slot rs[SLOT_SERVERS];
};

struct slot_table {
    struct svc_slot svc[SLOT_SERVICES];
    /* Bumped whenever a slot is retired: a reap walk that began before starts over. */
    uint32_t retired;
};

/* Every slot free. */
void slots_init(struct slot_table *s);
/* A free service slot, marked used, or -1 when every one is used or holds tombstones. */
int slots_take_service(struct slot_table *s);
/* A free server slot of a used service slot, bound to the table's indexes svc:rs, or -1. */
int slots_take_server(struct slot_table *s, unsigned svc_slot, unsigned svc, unsigned rs);
/* The server slot now belongs to the server at the table's indexes svc:rs. */
void slots_bind(struct slot_table *s, unsigned svc_slot, unsigned rs_slot, unsigned svc, unsigned rs);
/* Its server is gone (or its flows dropped): entries naming it are dropped from now on. */
void slots_retire(struct slot_table *s, unsigned svc_slot, unsigned rs_slot);
/* The service left the table; the service slot is handed out again once its server slots are
 * free. Its servers' slots must have been retired. */
void slots_release_service(struct slot_table *s, unsigned svc_slot);

static inline struct rs_slot *slots_server(struct slot_table *s, unsigned svc_slot, unsigned rs_slot)
{
    return &s->svc[svc_slot].rs[rs_slot];
}

static inline bool slots_live(const struct rs_slot *r)
{
    return r->svc != SLOT_RETIRED;
}

#endif
