/* conn: see conn.h. */
#include "conn.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "packet.h"
#include "siphash.h"

/* IPVS defaults for the states --timeouts does not set (ip_vs_proto_tcp.c). */
#define TIMEOUT_SYN_SENT 120
#define TIMEOUT_SYN_RECV 60
#define TIMEOUT_CLOSE 10
#define TIMEOUT_CLOSE_WAIT 60
#define TIMEOUT_LAST_ACK 30
#define TIMEOUT_LISTEN 120
#define TIMEOUT_SYNACK 120
#define TIMEOUT_NONE 2

static const char *const state_names[CONN_S_COUNT] = {
    [TCP_S_NONE] = "NONE",           [TCP_S_ESTABLISHED] = "ESTABLISHED", [TCP_S_SYN_SENT] = "SYN_SENT",
    [TCP_S_SYN_RECV] = "SYN_RECV",   [TCP_S_FIN_WAIT] = "FIN_WAIT",       [TCP_S_TIME_WAIT] = "TIME_WAIT",
    [TCP_S_CLOSE] = "CLOSE",         [TCP_S_CLOSE_WAIT] = "CLOSE_WAIT",   [TCP_S_LAST_ACK] = "LAST_ACK",
    [TCP_S_LISTEN] = "LISTEN",       [TCP_S_SYNACK] = "SYNACK",           [CONN_S_UDP] = "UDP",
    [CONN_S_TEMPLATE] = "TEMPLATE",
};

const char *conn_state_name(unsigned state)
{
    return state < CONN_S_COUNT ? state_names[state] : "?";
}

/* IPVS's state table for NAT (ip_vs_proto_tcp.c tcp_states): rows by segment kind,
 * columns by current state, for packets from the client (IN) and from the server (OUT). */
#define sNO TCP_S_NONE
#define sES TCP_S_ESTABLISHED
#define sSS TCP_S_SYN_SENT
#define sSR TCP_S_SYN_RECV
#define sFW TCP_S_FIN_WAIT
#define sTW TCP_S_TIME_WAIT
#define sCL TCP_S_CLOSE
#define sCW TCP_S_CLOSE_WAIT
#define sLA TCP_S_LAST_ACK
#define sLI TCP_S_LISTEN
#define sSA TCP_S_SYNACK
const uint8_t conn_tcp_transitions[2][CONN_SEG_KINDS][TCP_S_COUNT] = {
    [CONN_DIR_IN] = {
        /*            sNO  sES  sSS  sSR  sFW  sTW  sCL  sCW  sLA  sLI  sSA */
        [CONN_SEG_SYN] = { sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR },
        [CONN_SEG_FIN] = { sCL, sCW, sSS, sTW, sTW, sTW, sCL, sCW, sLA, sLI, sTW },
        [CONN_SEG_ACK] = { sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES },
        [CONN_SEG_RST] = { sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sSR },
    },
    [CONN_DIR_OUT] = {
        [CONN_SEG_SYN] = { sSS, sES, sSS, sSR, sSS, sSS, sSS, sSS, sSS, sLI, sSR },
        [CONN_SEG_FIN] = { sTW, sFW, sSS, sTW, sFW, sTW, sCL, sTW, sLA, sLI, sTW },
        [CONN_SEG_ACK] = { sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sLA, sES, sES },
        [CONN_SEG_RST] = { sCL, sCL, sSS, sCL, sCL, sTW, sCL, sCL, sCL, sCL, sCL },
    },
};

static uint32_t fwd_bucket(const struct conn_table *t, const struct conn *c)
{
    return conn_bucket(t, c->proto, c->caddr, c->cport, c->vaddr, c->vport);
}
static uint32_t rev_bucket(const struct conn_table *t, const struct conn *c)
{
    return conn_bucket(t, c->proto, c->daddr, c->dport, c->caddr, c->cport);
}
static bool hashed_fwd(const struct conn *c) { return !(c->flags & CONN_F_ONE_PACKET); }
static bool hashed_rev(const struct conn *c) { return !(c->flags & CONN_F_TEMPLATE); }

void conn_set_timeouts(struct conn_table *t, const struct timeouts *to)
{
    static const uint32_t fixed[CONN_S_COUNT] = {
        [TCP_S_NONE] = TIMEOUT_NONE,           [TCP_S_SYN_SENT] = TIMEOUT_SYN_SENT,
        [TCP_S_SYN_RECV] = TIMEOUT_SYN_RECV,   [TCP_S_CLOSE] = TIMEOUT_CLOSE,
        [TCP_S_CLOSE_WAIT] = TIMEOUT_CLOSE_WAIT, [TCP_S_LAST_ACK] = TIMEOUT_LAST_ACK,
        [TCP_S_LISTEN] = TIMEOUT_LISTEN,       [TCP_S_SYNACK] = TIMEOUT_SYNACK,
    };
    memcpy(t->timeout, fixed, sizeof fixed);
    t->timeout[TCP_S_ESTABLISHED] = to->tcp;
    t->timeout[TCP_S_FIN_WAIT] = to->tcpfin;
    t->timeout[TCP_S_TIME_WAIT] = to->tcpfin;
    t->timeout[CONN_S_UDP] = to->udp;
    /* Templates carry their own (the service's persistence timeout) in conn_touch. */
}

bool conn_table_init(struct conn_table *t, uint32_t capacity, const struct timeouts *to,
                     const struct siphash_key *key)
{
    memset(t, 0, sizeof *t);
    uint32_t buckets = 1;
    while (buckets < capacity && buckets < (1u << 31))
        buckets <<= 1;
    t->pool = calloc(capacity, sizeof *t->pool);
    t->fwd_buckets = malloc(sizeof(uint32_t) * buckets);
    t->rev_buckets = malloc(sizeof(uint32_t) * buckets);
    if (!t->pool || !t->fwd_buckets || !t->rev_buckets) {
        conn_table_free(t);
        return false;
    }
    memset(t->fwd_buckets, 0xff, sizeof(uint32_t) * buckets);
    memset(t->rev_buckets, 0xff, sizeof(uint32_t) * buckets);
    t->capacity = capacity;
    t->bucket_mask = buckets - 1;
    t->hash_start = siphash_start(key);
    t->free_head = CONN_NONE;
    for (unsigned i = 0; i < CONN_WHEEL_SLOTS; i++)
        t->wheel[i] = CONN_NONE;
    t->sweep_rest = CONN_NONE;
    conn_set_timeouts(t, to);
    return true;
}

void conn_table_free(struct conn_table *t)
{
    free(t->pool);
    free(t->fwd_buckets);
    free(t->rev_buckets);
    t->pool = NULL;
    t->fwd_buckets = t->rev_buckets = NULL;
}

struct conn *conn_lookup_template(struct conn_table *t, uint8_t proto, uint32_t caddr, uint32_t vaddr,
                                  uint16_t vport)
{
    uint32_t b = conn_bucket(t, proto, caddr, 0, vaddr, vport);
    for (uint32_t i = t->fwd_buckets[b]; i != CONN_NONE; i = t->pool[i].fwd_next) {
        struct conn *c = &t->pool[i];
        if ((c->flags & CONN_F_TEMPLATE) && c->caddr == caddr && c->vaddr == vaddr && c->vport == vport &&
            c->proto == proto)
            return c;
    }
    return NULL;
}

static void set_state(struct conn_table *t, struct conn *c, unsigned state);

FAST_INLINE void tell_watchers(struct conn_table *t, struct conn *c, unsigned old_state, unsigned new_state)
{
    c->told_expires = c->expires;
    for (unsigned i = 0; i < t->n_watchers; i++)
        if (old_state != new_state || t->watchers[i].refreshes)
            t->watchers[i].cb(t->watchers[i].arg, c, old_state, new_state);
}

bool conn_watch(struct conn_table *t, conn_state_cb cb, void *arg, bool refreshes)
{
    if (t->n_watchers == CONN_MAX_WATCHERS)
        return false;
    t->watchers[t->n_watchers++] = (struct conn_watcher){ .cb = cb, .arg = arg, .refreshes = refreshes };
    t->refresh_watched |= refreshes;
    return true;
}

static void wheel_insert(struct conn_table *t, struct conn *c)
{
    uint32_t idx = conn_index(t, c);
    c->filed = c->expires;
    uint32_t *slot = &t->wheel[c->filed & (CONN_WHEEL_SLOTS - 1)];
    c->wheel_prev = CONN_NONE;
    c->wheel_next = *slot;
    if (*slot != CONN_NONE)
        t->pool[*slot].wheel_prev = idx;
    *slot = idx;
}

static void wheel_remove(struct conn_table *t, struct conn *c)
{
    if (c->wheel_prev != CONN_NONE)
        t->pool[c->wheel_prev].wheel_next = c->wheel_next;
    else if (t->sweep_rest == conn_index(t, c))
        t->sweep_rest = c->wheel_next; /* the head of a slot's list a sweep has yet to finish */
    else
        t->wheel[c->filed & (CONN_WHEEL_SLOTS - 1)] = c->wheel_next;
    if (c->wheel_next != CONN_NONE)
        t->pool[c->wheel_next].wheel_prev = c->wheel_prev;
}

static void chain_remove(struct conn_table *t, uint32_t *head, uint32_t idx, bool rev)
{
    for (uint32_t *link = head; *link != CONN_NONE;) {
        struct conn *c = &t->pool[*link];
        if (*link == idx) {
            *link = rev ? c->rev_next : c->fwd_next;
            return;
        }
        link = rev ? &c->rev_next : &c->fwd_next;
    }
}

/* Takes a free slot, copies entry into it and hashes it (fwd_b: its forward bucket, when it is
 * hashed forward); the caller sets state and deadline. */
static struct conn *insert(struct conn_table *t, const struct conn *entry, uint32_t fwd_b)
{
    uint32_t idx;
    if (t->free_head != CONN_NONE) {
        idx = t->free_head;
        t->free_head = t->pool[idx].fwd_next;
    } else if (t->never_used < t->capacity) {
        idx = t->never_used++; /* untouched pages of the pool stay unbacked until needed */
    } else {
        t->stats.table_full++;
        return NULL;
    }
    struct conn *c = &t->pool[idx];
    uint32_t generation = c->generation + 1;
    *c = *entry;
    c->generation = generation;
    c->flags = (uint16_t)((c->flags & ~CONN_F_SYNC_DIRTY) | CONN_F_LIVE);
    c->controlled = 0;
    c->fwd_next = c->rev_next = CONN_NONE;
    if (hashed_fwd(c)) {
        c->fwd_next = t->fwd_buckets[fwd_b];
        t->fwd_buckets[fwd_b] = idx;
    }
    if (hashed_rev(c)) {
        uint32_t b = rev_bucket(t, c);
        c->rev_next = t->rev_buckets[b];
        t->rev_buckets[b] = idx;
    }
    return c;
}

/* The entry is complete: file it, bind it to its template, count it, tell the watchers. */
static void commit(struct conn_table *t, struct conn *c, uint32_t lifetime)
{
    c->expires = t->now + lifetime;
    wheel_insert(t, c);
    if (c->template != CONN_NONE) {
        t->pool[c->template].controlled++;
        c->template_generation = t->pool[c->template].generation;
    }
    t->count++;
    t->stats.created++;
    tell_watchers(t, c, CONN_S_COUNT, c->state);
}

/* insert's forward bucket for entry (none when it is not hashed forward). */
static uint32_t fwd_bucket_of(const struct conn_table *t, const struct conn *entry)
{
    return hashed_fwd(entry) ? fwd_bucket(t, entry) : 0;
}

struct conn *conn_create(struct conn_table *t, const struct conn *proto_entry)
{
    return conn_create_in_bucket(t, proto_entry, fwd_bucket_of(t, proto_entry));
}

struct conn *conn_create_in_bucket(struct conn_table *t, const struct conn *proto_entry, uint32_t fwd_b)
{
    struct conn *c = insert(t, proto_entry, fwd_b);
    if (!c)
        return NULL;
    if (c->flags & CONN_F_TEMPLATE)
        c->state = CONN_S_TEMPLATE;
    else
        c->state = c->proto == IPPROTO_TCP ? TCP_S_NONE : CONN_S_UDP;
    commit(t, c, conn_timeout_of(t, c));
    return c;
}

struct conn *conn_find(struct conn_table *t, const struct conn *e)
{
    if (e->flags & CONN_F_TEMPLATE)
        return conn_lookup_template(t, e->proto, e->caddr, e->vaddr, e->vport);
    if (e->flags & CONN_F_ONE_PACKET)
        return conn_lookup_out(t, e->proto, e->daddr, e->dport, e->caddr, e->cport);
    return conn_lookup_in(t, e->proto, e->caddr, e->cport, e->vaddr, e->vport);
}

struct conn *conn_import(struct conn_table *t, const struct conn *entry, uint32_t lifetime)
{
    t->importing = true;
    struct conn *c = conn_find(t, entry);
    if (c && c->svc == entry->svc && c->rs == entry->rs && c->daddr == entry->daddr &&
        c->dport == entry->dport && !(c->flags & CONN_F_RESET)) {
        /* The same flow moved on: its state and deadline follow, its links stay. */
        memcpy(c->client_mac, entry->client_mac, sizeof c->client_mac);
        set_state(t, c, entry->state);
        conn_set_deadline(t, c, lifetime);
        tell_watchers(t, c, c->state, c->state);
    } else {
        if (c)
            conn_delete(t, c);
        c = insert(t, entry, fwd_bucket_of(t, entry));
        if (c)
            commit(t, c, lifetime);
    }
    t->importing = false;
    return c;
}

uint32_t conn_lifetime(const struct conn_table *t, const struct conn *c)
{
    int32_t left = (int32_t)(c->expires - t->now);
    return left > 0 ? (uint32_t)left : 0;
}

/* A template lives on for its timeout after the last entry it controls is gone (IPVS keeps
 * persistence for the timeout after the client's last connection). Its deadline only moves
 * later, which never re-files it: this runs inside the expiry walk, whose slot list must not
 * change under it. A template deleted and reused meanwhile is left alone: the generation tells. */
static void release_template(struct conn_table *t, struct conn *tpl, uint32_t generation)
{
    if (tpl->generation != generation || !tpl->controlled)
        return;
    uint32_t expires = t->now + tpl->template_timeout;
    if (--tpl->controlled == 0 && (int32_t)(expires - tpl->expires) > 0)
        tpl->expires = expires;
}

/* Everything but the wheel: the expiry walk has already taken the entry off its slot. */
static void unhash_and_free(struct conn_table *t, struct conn *c)
{
    uint32_t idx = conn_index(t, c);
    tell_watchers(t, c, c->state, CONN_S_COUNT);
    if (hashed_fwd(c))
        chain_remove(t, &t->fwd_buckets[fwd_bucket(t, c)], idx, false);
    if (hashed_rev(c))
        chain_remove(t, &t->rev_buckets[rev_bucket(t, c)], idx, true);
    if (c->template != CONN_NONE)
        release_template(t, &t->pool[c->template], c->template_generation);
    c->generation++;
    c->flags = 0;
    c->fwd_next = t->free_head;
    t->free_head = idx;
    t->count--;
}

void conn_delete(struct conn_table *t, struct conn *c)
{
    wheel_remove(t, c);
    unhash_and_free(t, c);
}

/* An earlier deadline (a state with a shorter timeout) re-files the entry now; watchers that
 * asked for refreshes hear of one once it moved more than half its timeout past the last told. */
void conn_move_deadline(struct conn_table *t, struct conn *c, uint32_t expires, uint32_t timeout)
{
    if ((int32_t)(expires - c->filed) < 0) {
        wheel_remove(t, c);
        c->expires = expires;
        wheel_insert(t, c);
    } else {
        c->expires = expires;
    }
    if (t->refresh_watched && (int32_t)(expires - c->told_expires) > (int32_t)(timeout / 2))
        tell_watchers(t, c, c->state, c->state);
}

void conn_change_state(struct conn_table *t, struct conn *c, unsigned state)
{
    unsigned old_state = c->state;
    c->state = (uint8_t)state;
    tell_watchers(t, c, old_state, state);
}

static void set_state(struct conn_table *t, struct conn *c, unsigned state)
{
    if (state != c->state)
        conn_change_state(t, c, state);
}

void conn_mark_reset(struct conn_table *t, struct conn *c)
{
    c->flags |= CONN_F_RESET;
    if (c->proto == IPPROTO_TCP)
        set_state(t, c, TCP_S_CLOSE);
    conn_set_deadline(t, c, conn_timeout_of(t, c));
}

/* One entry of the slot being swept: re-filed, kept (a template still in use), or expired. */
static bool sweep_one(struct conn_table *t, struct conn *c)
{
    if ((int32_t)(c->expires - t->now) > 0) {
        wheel_insert(t, c); /* refreshed since it was filed: file it again */
    } else if (c->controlled) {
        /* A template outlives the connections it controls (IPVS). */
        c->expires = t->now + c->template_timeout;
        wheel_insert(t, c);
    } else {
        unhash_and_free(t, c); /* its slot list was detached before */
        return true;
    }
    return false;
}

uint32_t conn_expire_some(struct conn_table *t, uint32_t now, uint32_t budget, bool *done)
{
    uint32_t expired = 0, looked = 0;
    t->now = now;
    /* At most one lap of the wheel is due: older slots are the same slots. */
    if (now - t->swept > CONN_WHEEL_SLOTS && t->sweep_rest == CONN_NONE)
        t->swept = now - CONN_WHEEL_SLOTS;
    while (t->swept != now) {
        uint32_t *slot = &t->wheel[(t->swept + 1) & (CONN_WHEEL_SLOTS - 1)];
        if (t->sweep_rest == CONN_NONE) { /* a slot not begun: take its whole list */
            t->sweep_rest = *slot;
            *slot = CONN_NONE;
        }
        while (t->sweep_rest != CONN_NONE) {
            if (looked++ == budget) {
                *done = false;
                t->stats.expired += expired;
                return expired;
            }
            struct conn *c = &t->pool[t->sweep_rest];
            t->sweep_rest = c->wheel_next;
            if (t->sweep_rest != CONN_NONE)
                t->pool[t->sweep_rest].wheel_prev = CONN_NONE;
            expired += sweep_one(t, c);
        }
        t->swept++;
    }
    *done = true;
    t->stats.expired += expired;
    return expired;
}

uint32_t conn_expire_tick(struct conn_table *t, uint32_t now)
{
    bool done;
    return conn_expire_some(t, now, UINT32_MAX, &done);
}

bool conn_walk_some(struct conn_table *t, uint32_t *cursor, uint32_t budget, conn_visit_fn fn, void *arg)
{
    uint32_t end = t->never_used - *cursor > budget ? *cursor + budget : t->never_used;
    for (; *cursor < end; (*cursor)++)
        if (t->pool[*cursor].flags & CONN_F_LIVE)
            fn(arg, t, &t->pool[*cursor]);
    return *cursor >= t->never_used;
}

void conn_for_each(struct conn_table *t, conn_visit_fn fn, void *arg)
{
    uint32_t cursor = 0;
    conn_walk_some(t, &cursor, UINT32_MAX, fn, arg);
}
