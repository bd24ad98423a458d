/* hasync: see hasync.h. */
#include "hasync.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "connrec.h"

#define NUMBER_MASK ((UINT64_C(1) << HASYNC_STREAM_SHIFT) - 1)
#define QUEUE_MASK (HASYNC_QUEUE - 1)
#define BULK_PASSES 2 /* templates, then the entries they control */

_Static_assert((HASYNC_QUEUE & QUEUE_MASK) == 0, "the queue is a power of two");
_Static_assert(HASYNC_MAX_TABLES - 1 <= UINT8_MAX, "queue_table holds a table's number");

static uint64_t seq_of(uint64_t stream, uint64_t number)
{
    return stream << HASYNC_STREAM_SHIFT | number;
}

static uint32_t in_flight(const struct hasync *s)
{
    return (uint32_t)(s->next_number - 1 - s->acked);
}

uint32_t hasync_in_flight(const struct hasync *s)
{
    return in_flight(s);
}

static struct hasync_slot *slot_of(struct hasync *s, uint64_t number)
{
    return &s->window[number % HASYNC_WINDOW];
}

/* ---- sender ---- */

static void send_slot(struct hasync *s, struct hasync_slot *slot)
{
    slot->sent_ms = s->now_ms;
    s->send(s->arg, HA_MSG_SYNC, slot->payload, slot->len);
}

/* m goes out as the stream's next datagram and into the window. False when the window is full. */
static bool send_datagram(struct hasync *s, struct ha_sync *m)
{
    if (in_flight(s) >= HASYNC_WINDOW)
        return false;
    uint64_t number = s->next_number;
    struct hasync_slot *slot = slot_of(s, number);
    m->stream_seq = seq_of(s->stream, number);
    size_t len = ha_sync_encode(m, slot->payload, sizeof slot->payload);
    if (!len)
        return false; /* cannot happen: m is built within the limits */
    s->next_number++;
    slot->seq = m->stream_seq;
    slot->len = (uint16_t)len;
    s->stats.datagrams_sent++;
    send_slot(s, slot);
    return true;
}

/* The records datagram being filled goes out. False when the window is full. */
static bool close_datagram(struct hasync *s)
{
    s->out.body = HA_SYNC_RECORDS;
    uint64_t number = s->next_number;
    if (!send_datagram(s, &s->out))
        return false;
    for (unsigned i = 0; i < s->out.count; i++)
        if (s->out.records[i].kind == HA_REC_BULK_END)
            s->bulk_end_number = number;
    s->stats.records_sent += s->out.count;
    s->out.count = 0;
    return true;
}

/* Room for one more record: the datagram being filled, closed and sent first when it is full. */
static bool make_room(struct hasync *s)
{
    return s->out.count < HA_SYNC_MAX_RECORDS || close_datagram(s);
}

static bool append(struct hasync *s, const struct ha_record *r)
{
    if (!make_room(s))
        return false;
    s->out.records[s->out.count++] = *r;
    return true;
}

static bool append_marker(struct hasync *s, uint8_t kind)
{
    struct ha_record r = { .kind = kind };
    return append(s, &r);
}

/* c queued, or its DELETE record appended (gone), by a worker: under queue_lock. Out of line, so
 * that the watcher's common case (nothing to do) costs a few instructions, not the saving of
 * the registers a call to the lock needs. */
__attribute__((noinline)) static void take_change(const struct hasync_table *ht, struct conn *c, bool gone)
{
    struct hasync *s = ht->sync;
    pthread_mutex_lock(&s->queue_lock);
    if (gone) {
        struct ha_record r;
        connrec_of(ht->conns, c, HA_REC_DELETE, &r);
        if (!append(s, &r))
            s->stats.overflows++; /* the peer's copy expires at its own deadline */
    } else if (s->queue_len == HASYNC_QUEUE) {
        s->stats.overflows++;
        s->bulk_wanted = true;
    } else {
        c->flags |= CONN_F_SYNC_DIRTY;
        uint32_t at = (s->queue_head + s->queue_len++) & QUEUE_MASK;
        s->queue_idx[at] = conn_index(ht->conns, c);
        s->queue_gen[at] = c->generation;
        s->queue_table[at] = (uint8_t)(ht - s->tables);
    }
    pthread_mutex_unlock(&s->queue_lock);
}

/* Called by a worker under its table's lock (see Threads in hasync.h): s->sending and the
 * table's importing change only while no worker runs, and c's flags are its table's. */
static void on_conn(void *arg, struct conn *c, unsigned old_state, unsigned new_state)
{
    const struct hasync_table *ht = arg;
    (void)old_state;
    if (!ht->sync->sending || ht->conns->importing)
        return;
    bool gone = new_state == CONN_S_COUNT;
    if (gone || !(c->flags & CONN_F_SYNC_DIRTY))
        take_change(ht, c, gone);
}

/* The table of the queue's entry at. */
static struct conn_table *queued_table(const struct hasync *s, uint32_t at)
{
    return s->tables[s->queue_table[at]].conns;
}

/* Entries queued as they are now; stops when the window is full. */
static void drain_queue(struct hasync *s)
{
    while (s->queue_len && make_room(s)) {
        uint32_t at = s->queue_head;
        s->queue_head = (s->queue_head + 1) & QUEUE_MASK;
        s->queue_len--;
        struct conn_table *t = queued_table(s, at);
        struct conn *c = &t->pool[s->queue_idx[at]];
        if (!(c->flags & CONN_F_LIVE) || c->generation != s->queue_gen[at] || !(c->flags & CONN_F_SYNC_DIRTY))
            continue; /* gone since (its DELETE went out), or sent already */
        c->flags &= (uint16_t)~CONN_F_SYNC_DIRTY;
        struct ha_record r;
        connrec_of(t, c, (c->flags & CONN_F_RESET) ? HA_REC_DELETE : HA_REC_UPSERT, &r);
        append(s, &r);
    }
}

static bool in_bulk_pass(const struct conn *c, unsigned pass)
{
    bool tpl = (c->flags & CONN_F_TEMPLATE) != 0;
    return (c->flags & CONN_F_LIVE) && !(c->flags & CONN_F_RESET) && tpl == (pass == 0);
}

/* The whole table (every table in each pass), as far as the window allows. */
static void bulk_progress(struct hasync *s)
{
    if (s->bulk_wanted && !s->bulk_running) {
        if (!append_marker(s, HA_REC_BULK_BEGIN))
            return;
        s->bulk_wanted = false;
        s->bulk_running = true;
        s->bulk_pass = 0;
        s->bulk_table = 0;
        s->bulk_pos = 0;
    }
    while (s->bulk_running) {
        const struct conn_table *t = s->tables[s->bulk_table].conns;
        for (; s->bulk_pos < t->never_used; s->bulk_pos++) {
            const struct conn *c = &t->pool[s->bulk_pos];
            if (!in_bulk_pass(c, s->bulk_pass))
                continue;
            struct ha_record r;
            connrec_of(t, c, HA_REC_UPSERT, &r);
            if (!append(s, &r))
                return; /* on from here when acknowledgements free the window */
        }
        s->bulk_pos = 0;
        if (s->bulk_table + 1 < s->n_tables) {
            s->bulk_table++;
            continue;
        }
        s->bulk_table = 0;
        if (s->bulk_pass + 1 < BULK_PASSES) {
            s->bulk_pass++;
            continue;
        }
        if (!append_marker(s, HA_REC_BULK_END))
            return;
        /* Busy until acknowledged, also while a full window keeps this datagram unsent. */
        s->bulk_end_number = s->next_number;
        s->bulk_running = false;
        s->stats.bulks_sent++;
    }
}

/* The configuration being sent, chunk by chunk, after the records already in a datagram. */
static void config_progress(struct hasync *s)
{
    static struct ha_sync m;
    while (s->config_out) {
        if (s->out.count && !close_datagram(s))
            return;
        size_t left = s->config_out_len - s->config_out_off;
        m.body = HA_SYNC_CONFIG;
        m.count = (uint16_t)(left < HA_CONFIG_CHUNK_MAX ? left : HA_CONFIG_CHUNK_MAX);
        m.config_total = (uint32_t)s->config_out_len;
        m.config_offset = (uint32_t)s->config_out_off;
        memcpy(m.config, s->config_out + s->config_out_off, m.count);
        if (!send_datagram(s, &m))
            return;
        s->config_out_off += m.count;
        if (s->config_out_off == s->config_out_len) {
            free(s->config_out);
            s->config_out = NULL;
            s->stats.configs_sent++;
        }
    }
}

bool hasync_send_config(struct hasync *s, const char *text, size_t len)
{
    if (len == 0 || len > HA_CONFIG_TOTAL_MAX)
        return false;
    char *copy = malloc(len);
    if (!copy)
        return false;
    memcpy(copy, text, len);
    free(s->config_out);
    s->config_out = copy;
    s->config_out_len = len;
    s->config_out_off = 0;
    return true;
}

/* Go-back-N: everything from the oldest unacknowledged datagram. */
static void resend_all(struct hasync *s)
{
    for (uint64_t n = s->acked + 1; n < s->next_number; n++) {
        send_slot(s, slot_of(s, n));
        s->stats.datagrams_resent++;
    }
}

/* ... once it has waited long enough, and longer each time nothing comes back. */
static void resend_due(struct hasync *s)
{
    if (!in_flight(s) || s->now_ms - slot_of(s, s->acked + 1)->sent_ms < s->resend_ms)
        return;
    resend_all(s);
    s->resend_ms = s->resend_ms * 2 < HASYNC_RESEND_MAX_MS ? s->resend_ms * 2 : HASYNC_RESEND_MAX_MS;
}

void hasync_flush(struct hasync *s, uint64_t now_ms)
{
    s->now_ms = now_ms;
    resend_due(s);
    /* A configuration goes before every entry still queued and any table: the peer must run the
     * services before it takes their entries (the queue is read as the entries are when sent). */
    config_progress(s);
    if (!s->config_out) {
        drain_queue(s);
        bulk_progress(s);
    }
    if (s->out.count)
        close_datagram(s);
}

static void forget_queue(struct hasync *s)
{
    for (; s->queue_len; s->queue_len--, s->queue_head = (s->queue_head + 1) & QUEUE_MASK) {
        struct conn *c = &queued_table(s, s->queue_head)->pool[s->queue_idx[s->queue_head]];
        if (c->generation == s->queue_gen[s->queue_head])
            c->flags &= (uint16_t)~CONN_F_SYNC_DIRTY;
    }
}

void hasync_peer_restarted(struct hasync *s)
{
    forget_queue(s);
    s->stream = (s->stream + 1) & 0xffff;
    s->next_number = 1;
    s->acked = 0;
    s->dup_acks = 0;
    s->resend_ms = HASYNC_RESEND_MS;
    s->out.count = 0;
    s->bulk_running = s->bulk_wanted = false;
    s->bulk_end_number = 0;
    s->config_out_off = 0; /* a configuration being sent starts over in the new stream */
}

void hasync_request_bulk(struct hasync *s)
{
    s->bulk_running = false;
    s->bulk_wanted = true;
}

static void take_ack(struct hasync *s, const struct ha_ack *a)
{
    s->stats.acks_received++;
    if (a->stream_epoch != s->epoch || a->acked >> HASYNC_STREAM_SHIFT != s->stream)
        return; /* for a stream of ours that is over */
    uint64_t number = a->acked & NUMBER_MASK;
    if (number == s->acked && in_flight(s)) {
        /* Once per loss: the acknowledgements of what followed it repeat this one. */
        if (++s->dup_acks == HASYNC_DUP_ACKS) {
            resend_all(s);
            s->stats.fast_resends++;
        }
        return;
    }
    if (number < s->acked || number >= s->next_number)
        return;
    s->acked = number;
    s->dup_acks = 0;
    s->resend_ms = HASYNC_RESEND_MS;
    if (s->bulk_end_number && s->acked >= s->bulk_end_number) {
        s->bulk_end_number = 0;
        s->bulk_acked_ms = s->now_ms;
    }
    hasync_flush(s, s->now_ms); /* the window has room again */
}

/* ---- receiver ---- */

static void send_ack(struct hasync *s, uint64_t peer_epoch)
{
    struct ha_ack a = { .stream_epoch = peer_epoch, .acked = seq_of(s->in_stream, s->in_next - 1) };
    uint8_t buf[HA_ACK_LEN];
    size_t len = ha_ack_encode(&a, buf, sizeof buf);
    if (len && s->send(s->arg, HA_MSG_SYNC_ACK, buf, len))
        s->stats.acks_sent++;
}

static struct conn_table *owner_table(void *arg, const struct conn *entry)
{
    struct hasync *s = arg;
    return s->tables[s->owner(s->arg, entry)].conns;
}

static void apply_record(struct hasync *s, const struct ha_record *r)
{
    struct conn e;
    struct conn_table *t;
    switch (r->kind) {
    case HA_REC_UPSERT:
        if (!connrec_entry(s->services, owner_table, s, r, &e, &t)) {
            s->stats.records_unknown++;
        } else if (!r->lifetime || (s->master && conn_find(t, &e))) {
            s->stats.records_stale++; /* expired on the way, or ours is newer */
        } else if (conn_import(t, &e, r->lifetime)) {
            s->stats.records_applied++;
        }
        return;
    case HA_REC_DELETE:
        if (!connrec_entry(s->services, owner_table, s, r, &e, &t)) {
            s->stats.records_unknown++;
            return;
        }
        struct conn *c = conn_find(t, &e);
        if (c && !s->master) {
            conn_delete(t, c);
            s->stats.records_applied++;
        }
        return;
    case HA_REC_BULK_END:
        s->stats.bulks_received++;
        if (s->table_done)
            s->table_done(s->arg);
        return;
    default: /* BULK_BEGIN: nothing to do before the records */
        return;
    }
}

/* A stream that starts after the one we follow: a later epoch of the peer, or a later stream
 * of the same epoch (16-bit serial numbers). An older stream's first datagram, delayed or
 * resent, must not take us back to a stream the sender has left (we would then drop and never
 * acknowledge its current one). */
static bool newer_stream(const struct hasync *s, uint64_t peer_epoch, uint64_t stream)
{
    if (peer_epoch != s->in_epoch)
        return peer_epoch > s->in_epoch;
    uint16_t ahead = (uint16_t)(stream - s->in_stream);
    return ahead != 0 && ahead < 0x8000;
}

/* Chunks arrive in order (the stream is ordered); one at offset 0 starts a text afresh. */
static void take_config(struct hasync *s, const struct ha_sync *m)
{
    if (m->config_offset == 0) {
        free(s->config_in);
        s->config_in = malloc((size_t)m->config_total + 1);
        s->config_in_total = s->config_in ? m->config_total : 0;
        s->config_in_got = 0;
    }
    if (!s->config_in || m->config_total != s->config_in_total || m->config_offset != s->config_in_got) {
        s->stats.records_unknown++; /* a chunk of a text whose start we missed */
        return;
    }
    memcpy(s->config_in + s->config_in_got, m->config, m->count);
    s->config_in_got += m->count;
    if (s->config_in_got < s->config_in_total)
        return;
    s->config_in[s->config_in_total] = '\0';
    s->stats.configs_received++;
    if (s->config_done)
        s->config_done(s->arg, s->config_in, s->config_in_total);
    free(s->config_in);
    s->config_in = NULL;
}

static void take_sync(struct hasync *s, uint64_t peer_epoch, const struct ha_sync *m)
{
    uint64_t stream = m->stream_seq >> HASYNC_STREAM_SHIFT, number = m->stream_seq & NUMBER_MASK;
    s->stats.datagrams_received++;
    if (peer_epoch != s->in_epoch || stream != s->in_stream) {
        if (number != 1 || !newer_stream(s, peer_epoch, stream)) {
            s->stats.out_of_order++; /* a stream joined midway (wait for its start), or an old one */
            return;
        }
        s->in_epoch = peer_epoch;
        s->in_stream = stream;
        s->in_next = 1;
    }
    if (number == s->in_next) {
        s->in_next++;
        if (m->body == HA_SYNC_CONFIG)
            take_config(s, m);
        else
            for (unsigned i = 0; i < m->count; i++)
                apply_record(s, &m->records[i]);
    } else if (number > s->in_next) {
        s->stats.out_of_order++;
    }
    send_ack(s, peer_epoch); /* a duplicate or a gap: the sender learns where we are */
}

void hasync_receive(struct hasync *s, uint64_t peer_epoch, enum ha_msg_type type, const uint8_t *payload,
                    size_t len, uint64_t now_ms)
{
    s->now_ms = now_ms;
    if (type == HA_MSG_SYNC_ACK) {
        struct ha_ack a;
        if (ha_ack_decode(payload, len, &a))
            take_ack(s, &a);
        return;
    }
    static struct ha_sync m; /* 1.3 KB: not on the stack of the loop's callback */
    if (type == HA_MSG_SYNC && ha_sync_decode(payload, len, &m))
        take_sync(s, peer_epoch, &m);
}

/* ---- set-up ---- */

bool hasync_init(struct hasync *s, struct conn_table *const *tables, unsigned n_tables, hasync_owner_fn owner,
                 struct service_table *services, hasync_send_fn send, hasync_table_fn table_done,
                 hasync_config_fn config_done, void *arg)
{
    memset(s, 0, sizeof *s);
    if (n_tables == 0 || n_tables > HASYNC_MAX_TABLES)
        return false;
    pthread_mutex_init(&s->queue_lock, NULL);
    s->n_tables = n_tables;
    for (unsigned i = 0; i < n_tables; i++)
        s->tables[i] = (struct hasync_table){ .sync = s, .conns = tables[i] };
    s->owner = owner;
    s->services = services;
    s->send = send;
    s->table_done = table_done;
    s->config_done = config_done;
    s->arg = arg;
    s->stream = 1;
    s->next_number = 1;
    s->resend_ms = HASYNC_RESEND_MS;
    s->queue_idx = calloc(HASYNC_QUEUE, sizeof *s->queue_idx);
    s->queue_gen = calloc(HASYNC_QUEUE, sizeof *s->queue_gen);
    s->queue_table = calloc(HASYNC_QUEUE, sizeof *s->queue_table);
    s->window = calloc(HASYNC_WINDOW, sizeof *s->window);
    bool ok = s->queue_idx && s->queue_gen && s->queue_table && s->window;
    for (unsigned i = 0; ok && i < n_tables; i++)
        ok = conn_watch(tables[i], on_conn, &s->tables[i], true);
    if (!ok)
        hasync_free(s);
    return ok;
}

void hasync_free(struct hasync *s)
{
    /* The tables keep their watchers: from now on ours does nothing (s->tables stays for their
     * arguments). */
    s->sending = false;
    if (s->n_tables)
        pthread_mutex_destroy(&s->queue_lock);
    s->n_tables = 0;
    free(s->queue_idx);
    free(s->queue_gen);
    free(s->queue_table);
    free(s->window);
    free(s->config_out);
    free(s->config_in);
    s->queue_idx = s->queue_gen = NULL;
    s->queue_table = NULL;
    s->window = NULL;
    s->config_out = s->config_in = NULL;
}

void hasync_set_role(struct hasync *s, bool sending, bool master)
{
    s->sending = sending;
    s->master = master;
}
