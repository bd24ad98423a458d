/* announcer: see announcer.h. */
#include "announcer.h"

#include <stdio.h>

#include "addr.h"
#include "annproto.h"

#define HOST_PREFIX_LEN 32 /* a VIP is announced as a host route */

void announcer_init(struct announcer *a)
{
    a->n_announced = a->n_up = 0;
}

static bool contains(const uint32_t *set, unsigned n, uint32_t addr)
{
    for (unsigned i = 0; i < n; i++)
        if (set[i] == addr)
            return true;
    return false;
}

/* The snapshot is whole: withdraw what is announced and no longer up, announce what is up and
 * not announced yet. */
static void act(struct announcer *a, announcer_emit emit, void *arg)
{
    unsigned kept = 0;
    for (unsigned i = 0; i < a->n_announced; i++) {
        uint32_t addr = a->announced[i];
        if (contains(a->up, a->n_up, addr))
            a->announced[kept++] = addr;
        else
            emit(arg, false, addr);
    }
    a->n_announced = kept;
    for (unsigned i = 0; i < a->n_up; i++)
        if (!contains(a->announced, a->n_announced, a->up[i])) {
            a->announced[a->n_announced++] = a->up[i];
            emit(arg, true, a->up[i]);
        }
    a->n_up = 0;
}

enum announcer_result announcer_line(struct announcer *a, const char *line, announcer_emit emit, void *arg)
{
    enum annproto_kind kind;
    uint32_t addr;
    bool up;
    if (!annproto_parse_snapshot_line(line, &kind, &addr, &up))
        return ANNOUNCER_BAD_LINE;
    switch (kind) {
    case ANNPROTO_ERROR:
        return ANNOUNCER_REFUSED;
    case ANNPROTO_END:
        act(a, emit, arg);
        return ANNOUNCER_OK;
    case ANNPROTO_VIP:
        if (!up || contains(a->up, a->n_up, addr))
            return ANNOUNCER_OK;
        if (a->n_up == ANNOUNCER_MAX)
            return ANNOUNCER_BAD_LINE; /* more VIPs than rawlb can have */
        a->up[a->n_up++] = addr;
        return ANNOUNCER_OK;
    }
    return ANNOUNCER_BAD_LINE;
}

void announcer_withdraw_all(struct announcer *a, announcer_emit emit, void *arg)
{
    for (unsigned i = 0; i < a->n_announced; i++)
        emit(arg, false, a->announced[i]);
    a->n_announced = a->n_up = 0;
}

int announcer_command(bool announce, uint32_t addr, const char *next_hop, char *buf, size_t len)
{
    char s[ADDR_STRLEN];
    return snprintf(buf, len, "%s route %s/%d next-hop %s\n", announce ? "announce" : "withdraw", addr_str(addr, s),
                    HOST_PREFIX_LEN, next_hop);
}
