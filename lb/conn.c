/* conn: see conn.h. */
#include "conn.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "packet.h"
#include "siphash.h"

_Static_assert(sizeof(struct conn) + 2 * sizeof(uint32_t) <= 96, "the entry budget: 96 bytes with its buckets");

/* IPVS defaults for the states --timeouts does not set (ip_vs_proto_tcp.c), but for the
 * half-open states: short, so a flood's entries go soon (a client retransmitting its SYN keeps
 * its entry alive; one that waited longer is scheduled afresh). */
#define TIMEOUT_SYN_SENT 120
#define TIMEOUT_HALF_OPEN 10
#define TIMEOUT_CLOSE 10
#define TIMEOUT_CLOSE_WAIT 60
#define TIMEOUT_LAST_ACK 30
#define TIMEOUT_LISTEN 120
#define TIMEOUT_NONE 2
/* UDP that is not yet a stream: conntrack's unreplied timeout (at most --timeouts' udp). */
#define TIMEOUT_UDP_NEW 30

static const char *const state_names[CONN_S_COUNT] = {
    [TCP_S_NONE] = "NONE",           [TCP_S_ESTABLISHED] = "ESTABLISHED", [TCP_S_SYN_SENT] = "SYN_SENT",
    [TCP_S_SYN_RECV] = "SYN_RECV",   [TCP_S_FIN_WAIT] = "FIN_WAIT",       [TCP_S_TIME_WAIT] = "TIME_WAIT",
    [TCP_S_CLOSE] = "CLOSE",         [TCP_S_CLOSE_WAIT] = "CLOSE_WAIT",   [TCP_S_LAST_ACK] = "LAST_ACK",
    [TCP_S_LISTEN] = "LISTEN",       [TCP_S_SYNACK] = "SYNACK",           [CONN_S_UDP] = "UDP",
    [CONN_S_TEMPLATE] = "TEMPLATE",  [CONN_S_UDP_NEW] = "UDP_NEW",
};

/* The eviction class of each state (templates and dropped entries aside: class_of). */
static const uint8_t state_class[CONN_S_COUNT] = {
    [TCP_S_NONE] = CONN_C_HALF_OPEN,      [TCP_S_ESTABLISHED] = CONN_C_ESTABLISHED,
    [TCP_S_SYN_SENT] = CONN_C_HALF_OPEN,  [TCP_S_SYN_RECV] = CONN_C_HALF_OPEN,
    [TCP_S_FIN_WAIT] = CONN_C_ESTABLISHED, [TCP_S_TIME_WAIT] = CONN_C_CLOSED,
    [TCP_S_CLOSE] = CONN_C_CLOSED,        [TCP_S_CLOSE_WAIT] = CONN_C_ESTABLISHED,
    [TCP_S_LAST_ACK] = CONN_C_ESTABLISHED, [TCP_S_LISTEN] = CONN_C_HALF_OPEN,
    [TCP_S_SYNACK] = CONN_C_HALF_OPEN,    [CONN_S_UDP] = CONN_C_ESTABLISHED,
    [CONN_S_TEMPLATE] = CONN_C_HALF_OPEN, [CONN_S_UDP_NEW] = CONN_C_UDP_NEW,
};

static unsigned class_of(const struct conn *c)
{
    if (c->flags & CONN_F_RESET)
        return CONN_C_CLOSED;
    if (c->state == CONN_S_TEMPLATE && (c->flags & CONN_F_CONFIRMED))
        return CONN_C_TEMPLATE;
    return state_class[c->state];
}

const char *conn_state_name(unsigned state)
{
    return state < CONN_S_COUNT ? state_names[state] : "?";
}

const char *conn_class_name(unsigned cls)
{
    static const char *const names[CONN_C_COUNT] = {
        [CONN_C_CLOSED] = "closed", [CONN_C_HALF_OPEN] = "half_open", [CONN_C_UDP_NEW] = "udp_new",
        [CONN_C_ESTABLISHED] = "established", [CONN_C_TEMPLATE] = "template",
    };
    return cls < CONN_C_COUNT ? names[cls] : "?";
}

/* IPVS's state table for NAT (ip_vs_proto_tcp.c tcp_states): rows by segment kind,
 * columns by current state, for packets from the client (IN) and from the server (OUT); in
 * SYN_RECV the rows of its secure_tcp table (tcp_states_dos): only the server's SYN-ACK moves the
 * flow on (to SYNACK), so a client's blind ACK or FIN cannot make a flood's entries established
 * or closing, both longer-lived and outside the half-open class. */
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
        [CONN_SEG_SYN] = { sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSA },
        [CONN_SEG_FIN] = { sCL, sCW, sSS, sSR, sTW, sTW, sCL, sCW, sLA, sLI, sTW },
        [CONN_SEG_ACK] = { sES, sES, sSS, sSR, sFW, sTW, sCL, sCW, sCL, sLI, sES },
        [CONN_SEG_RST] = { sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sSR },
    },
    [CONN_DIR_OUT] = {
        [CONN_SEG_SYN] = { sSS, sES, sSS, sSA, sSS, sSS, sSS, sSS, sSS, sLI, sSA },
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
        [TCP_S_SYN_RECV] = TIMEOUT_HALF_OPEN,   [TCP_S_CLOSE] = TIMEOUT_CLOSE,
        [TCP_S_CLOSE_WAIT] = TIMEOUT_CLOSE_WAIT, [TCP_S_LAST_ACK] = TIMEOUT_LAST_ACK,
        [TCP_S_LISTEN] = TIMEOUT_LISTEN,       [TCP_S_SYNACK] = TIMEOUT_HALF_OPEN,
    };
    memcpy(t->timeout, fixed, sizeof fixed);
    t->timeout[TCP_S_ESTABLISHED] = to->tcp;
    t->timeout[TCP_S_FIN_WAIT] = to->tcpfin;
    t->timeout[TCP_S_TIME_WAIT] = to->tcpfin;
    t->timeout[CONN_S_UDP] = to->udp;
    t->timeout[CONN_S_UDP_NEW] = to->udp < TIMEOUT_UDP_NEW ? to->udp : TIMEOUT_UDP_NEW;
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
    memset(t->wheel, 0xff, sizeof t->wheel);
    t->half_open_max = capacity / CONN_HALF_OPEN_SHARE ? capacity / CONN_HALF_OPEN_SHARE : 1;
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

/* A wheel slot's list is in filing order, oldest first (eviction takes from the front): next
 * links end in CONN_NONE, and the head's prev link names the tail, where entries are added. */
static void wheel_insert(struct conn_table *t, struct conn *c)
{
    uint32_t idx = conn_index(t, c);
    c->filed = c->expires;
    uint32_t *slot = &t->wheel[c->wclass][c->filed & (CONN_WHEEL_SLOTS - 1)];
    c->wheel_next = CONN_NONE;
    if (*slot == CONN_NONE) {
        c->wheel_prev = idx;
        *slot = idx;
        return;
    }
    struct conn *head = &t->pool[*slot];
    c->wheel_prev = head->wheel_prev;
    t->pool[head->wheel_prev].wheel_next = idx;
    head->wheel_prev = idx;
}

/* c is in its slot's list, or in the list a sweep cut short has yet to finish (sweep_rest). */
static void wheel_remove(struct conn_table *t, struct conn *c)
{
    uint32_t idx = conn_index(t, c), prev = c->wheel_prev, next = c->wheel_next;
    uint32_t *slot = &t->wheel[c->wclass][c->filed & (CONN_WHEEL_SLOTS - 1)];
    if (t->pool[prev].wheel_next != idx) { /* c heads its list: prev is the tail */
        *(t->sweep_rest == idx ? &t->sweep_rest : slot) = next;
        if (next != CONN_NONE)
            t->pool[next].wheel_prev = prev;
        return;
    }
    t->pool[prev].wheel_next = next;
    if (next != CONN_NONE) {
        t->pool[next].wheel_prev = prev;
        return;
    }
    /* c was the tail: its list's head now names prev. */
    uint32_t head = *slot != CONN_NONE && t->pool[*slot].wheel_prev == idx ? *slot : t->sweep_rest;
    t->pool[head].wheel_prev = prev;
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

static bool has_room(const struct conn_table *t)
{
    return t->free_head != CONN_NONE || t->never_used < t->capacity;
}

/* May c go to make room? keep is the template the new entry will refer to. */
static bool evictable(const struct conn_table *t, const struct conn *c, unsigned cls, uint32_t keep)
{
    if (conn_index(t, c) == keep || c->controlled)
        return false; /* a template goes only after the flows it controls */
    if (cls != CONN_C_ESTABLISHED)
        return true;
    uint32_t timeout = conn_timeout_of(t, c), left = conn_lifetime(t, c);
    return left < timeout && timeout - left >= CONN_EVICT_IDLE_MIN;
}

/* Deletes the oldest evictable entry of class cls: the first one found from the front of its
 * wheel, the one nearest its deadline (a class's entries mostly share a timeout, so that is the
 * longest idle), looking at no more than CONN_EVICT_LOOK_MAX entries. */
static bool evict_from(struct conn_table *t, unsigned cls, uint32_t keep)
{
    if (!t->class_count[cls])
        return false;
    unsigned looked = 0;
    for (uint32_t n = 1; n <= CONN_WHEEL_SLOTS; n++) {
        for (uint32_t i = t->wheel[cls][(t->swept + n) & (CONN_WHEEL_SLOTS - 1)]; i != CONN_NONE;) {
            struct conn *c = &t->pool[i];
            i = c->wheel_next;
            if ((int32_t)(c->expires - c->filed) > 0) {
                /* Refreshed since it was filed: not the oldest. Filed where it belongs now, so the
                 * front of the wheel is the front again for the next eviction. */
                wheel_remove(t, c);
                wheel_insert(t, c);
            } else if (evictable(t, c, cls, keep)) {
                t->stats.evicted[cls]++;
                conn_delete(t, c);
                return true;
            }
            if (++looked == CONN_EVICT_LOOK_MAX)
                return false;
        }
    }
    return false;
}

/* Room for one more entry of class cls (conn.h's header): the half-open share, then a free slot,
 * evicting in class order if there is none. False (counted) when nothing can go. */
static bool make_room(struct conn_table *t, unsigned cls, uint32_t keep)
{
    if (cls == CONN_C_HALF_OPEN && t->class_count[cls] >= t->half_open_max)
        evict_from(t, cls, keep);
    for (unsigned k = 0; !has_room(t); k++)
        if (k == CONN_C_EVICTABLE) {
            t->stats.table_full++;
            return false;
        } else if (evict_from(t, k, keep)) {
            break;
        }
    return true;
}

/* Takes a free slot (make_room made sure of one), copies entry into it and hashes it (fwd_b: its
 * forward bucket, when it is hashed forward); the caller sets state and deadline. */
static struct conn *insert(struct conn_table *t, const struct conn *entry, uint32_t fwd_b)
{
    uint32_t idx;
    if (t->free_head != CONN_NONE) {
        idx = t->free_head;
        t->free_head = t->pool[idx].fwd_next;
    } else {
        idx = t->never_used++; /* untouched pages of the pool stay unbacked until needed */
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
    c->wclass = (uint8_t)class_of(c);
    t->class_count[c->wclass]++;
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
    unsigned state = proto_entry->flags & CONN_F_TEMPLATE ? CONN_S_TEMPLATE
                     : proto_entry->proto == IPPROTO_TCP  ? TCP_S_NONE
                                                          : CONN_S_UDP_NEW;
    if (!make_room(t, state_class[state], proto_entry->template))
        return NULL;
    struct conn *c = insert(t, proto_entry, fwd_b);
    c->state = (uint8_t)state;
    c->flags &= (uint16_t)~(CONN_F_REPLIED | CONN_F_CONFIRMED);
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
        /* The peer had it: a template it synced has served a flow (or will, from its table). */
        struct conn copy = *entry;
        if (copy.state == CONN_S_TEMPLATE)
            copy.flags |= CONN_F_CONFIRMED;
        c = NULL;
        if (make_room(t, class_of(&copy), copy.template)) {
            c = insert(t, &copy, fwd_bucket_of(t, &copy));
            commit(t, c, lifetime);
        }
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
 * persistence for the timeout after the client's last connection); one that never saw a flow
 * established dies a second later (the next second's slot: never the one a running expiry walk
 * has taken). A template deleted and reused meanwhile is left alone: the generation tells. */
static void release_template(struct conn_table *t, struct conn *tpl, uint32_t generation)
{
    if (tpl->generation != generation || !tpl->controlled || --tpl->controlled)
        return;
    if (!(tpl->flags & CONN_F_CONFIRMED)) {
        conn_move_deadline(t, tpl, t->now + 1, tpl->template_timeout);
        return;
    }
    uint32_t expires = t->now + tpl->template_timeout;
    if ((int32_t)(expires - tpl->expires) > 0)
        tpl->expires = expires; /* later: the wheel re-files it when its slot comes round */
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
    t->class_count[c->wclass]--;
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

static void reclass(struct conn_table *t, struct conn *c);

/* A flow established: the template that sent it there has proved itself (never evicted now). */
static void confirm_template(struct conn_table *t, const struct conn *c)
{
    struct conn *tpl = &t->pool[c->template];
    if (tpl->generation != c->template_generation || (tpl->flags & CONN_F_CONFIRMED))
        return;
    tpl->flags |= CONN_F_CONFIRMED;
    reclass(t, tpl);
}

/* The entry's class follows its state and flags: it moves to that class's wheel. */
static void reclass(struct conn_table *t, struct conn *c)
{
    unsigned cls = class_of(c);
    if (cls == c->wclass)
        return;
    wheel_remove(t, c);
    t->class_count[c->wclass]--;
    t->class_count[cls]++;
    c->wclass = (uint8_t)cls;
    wheel_insert(t, c);
    if (cls == CONN_C_ESTABLISHED && c->template != CONN_NONE)
        confirm_template(t, c);
}

void conn_change_state(struct conn_table *t, struct conn *c, unsigned state)
{
    unsigned old_state = c->state;
    c->state = (uint8_t)state;
    reclass(t, c);
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
    reclass(t, c);
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
    if (now - t->swept > CONN_WHEEL_SLOTS && t->sweep_class == 0 && !t->sweep_taken)
        t->swept = now - CONN_WHEEL_SLOTS;
    while (t->swept != now) {
        uint32_t slot = (t->swept + 1) & (CONN_WHEEL_SLOTS - 1);
        for (; t->sweep_class < CONN_C_COUNT; t->sweep_class++, t->sweep_taken = false) {
            if (!t->sweep_taken) { /* a list not begun: take it whole */
                t->sweep_rest = t->wheel[t->sweep_class][slot];
                t->wheel[t->sweep_class][slot] = CONN_NONE;
                t->sweep_taken = true;
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
                    t->pool[t->sweep_rest].wheel_prev = c->wheel_prev;
                expired += sweep_one(t, c);
            }
        }
        t->sweep_class = 0;
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
