/* slots: see slots.h. */
#include "slots.h"

#include <string.h>

void slots_init(struct slot_table *s)
{
    memset(s, 0, sizeof *s);
    for (unsigned i = 0; i < SLOT_SERVICES; i++)
        for (unsigned j = 0; j < SLOT_SERVERS; j++)
            s->svc[i].rs[j].svc = s->svc[i].rs[j].rs = SLOT_RETIRED;
}

static bool free_server(const struct rs_slot *r)
{
    return !slots_live(r) && __atomic_load_n(&r->refs, __ATOMIC_RELAXED) == 0;
}

int slots_take_service(struct slot_table *s)
{
    for (unsigned i = 0; i < SLOT_SERVICES; i++) {
        if (s->svc[i].used)
            continue;
        bool empty = true;
        for (unsigned j = 0; j < SLOT_SERVERS && empty; j++)
            empty = free_server(&s->svc[i].rs[j]);
        if (empty) {
            s->svc[i].used = true;
            return (int)i;
        }
    }
    return -1;
}

int slots_take_server(struct slot_table *s, unsigned svc_slot, unsigned svc, unsigned rs)
{
    for (unsigned j = 0; j < SLOT_SERVERS; j++) {
        if (free_server(&s->svc[svc_slot].rs[j])) {
            slots_bind(s, svc_slot, j, svc, rs);
            return (int)j;
        }
    }
    return -1;
}

void slots_bind(struct slot_table *s, unsigned svc_slot, unsigned rs_slot, unsigned svc, unsigned rs)
{
    struct rs_slot *r = slots_server(s, svc_slot, rs_slot);
    r->svc = (int16_t)svc;
    r->rs = (int16_t)rs;
}

void slots_retire(struct slot_table *s, unsigned svc_slot, unsigned rs_slot)
{
    struct rs_slot *r = slots_server(s, svc_slot, rs_slot);
    r->svc = r->rs = SLOT_RETIRED;
    s->retired++;
}

void slots_release_service(struct slot_table *s, unsigned svc_slot)
{
    s->svc[svc_slot].used = false;
}
