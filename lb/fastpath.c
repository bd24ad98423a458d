/* fastpath: see fastpath.h. Each handler returns a verdict; every drop names its reason. */
#include "fastpath.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "icmp.h"
#include "inline.h"
#include "packet.h"
#include "reply.h"
#include "scheduler.h"
#include "uplink.h"

static const char *const drop_names[FP_DROP_COUNT] = {
#define FP_DROP_NAME(name, str) [FP_DROP_##name] = str,
    FP_DROP_REASONS(FP_DROP_NAME)
#undef FP_DROP_NAME
};

const char *fastpath_drop_name(enum fp_drop d)
{
    return d < FP_DROP_COUNT ? drop_names[d] : "?";
}

static enum fp_verdict drop(struct fastpath *fp, enum fp_drop why)
{
    fp->stats.drops[why]++;
    return FP_VERDICT_DROP;
}

/* The slot an entry names (slots.h): where its real server sits in the service table now. */
FAST_INLINE struct rs_slot *slot_of(struct fastpath *fp, const struct conn *c)
{
    return service_slot_of(fp->services, c->svc, c->rs);
}

uint32_t *fastpath_counter_for(struct real_server *rs, unsigned state)
{
    if (state == CONN_S_TEMPLATE)
        return &rs->persistent;
    return state == TCP_S_ESTABLISHED ? &rs->active : &rs->inactive;
}

/* An entry's counter goes down, never below zero (an entry counted before health dropped its
 * server's flows and zeroed the counters goes later; its slot is retired by then, so this is a
 * guard, not a correction). */
static void counter_dec(uint32_t *n)
{
    uint32_t v = __atomic_load_n(n, __ATOMIC_RELAXED);
    while (v && !__atomic_compare_exchange_n(n, &v, v - 1, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

/* ActiveConn/InActConn follow every entry's state, as IPVS's ip_vs_set_state does; the slot's
 * count of entries naming it keeps a tombstone from being handed out while it is named. */
static void on_conn_state(void *arg, struct conn *c, unsigned old_state, unsigned new_state)
{
    struct fastpath *fp = arg;
    struct rs_slot *slot = slot_of(fp, c);
    if (old_state == CONN_S_COUNT)
        __atomic_add_fetch(&slot->refs, 1, __ATOMIC_RELAXED);
    else if (new_state == CONN_S_COUNT)
        __atomic_sub_fetch(&slot->refs, 1, __ATOMIC_RELAXED);
    if (!slots_live(slot) || old_state == new_state)
        return; /* its real server is gone from the table, or its flows dropped: nothing to count on */
    struct real_server *rs = &fp->services->svc[slot->svc].rs[slot->rs];
    if (old_state != CONN_S_COUNT) {
        counter_dec(fastpath_counter_for(rs, old_state));
    } else if (new_state != CONN_S_TEMPLATE) {
        fp->rs_stats[slot->svc][slot->rs].conns++;
        fp->svc_conns[slot->svc]++;
    }
    if (new_state != CONN_S_COUNT)
        __atomic_add_fetch(fastpath_counter_for(rs, new_state), 1, __ATOMIC_RELAXED);
}

_Static_assert(sizeof(struct fastpath_stats) % sizeof(uint64_t) == 0, "fastpath_stats: uint64_t counters only");

void fastpath_stats_add(struct fastpath_stats *sum, const struct fastpath_stats *s)
{
    uint64_t *t = (uint64_t *)sum;
    const uint64_t *p = (const uint64_t *)s;
    for (size_t i = 0; i < sizeof *s / sizeof(uint64_t); i++)
        t[i] += p[i];
}

void fastpath_fold_stats(struct fastpath *fp)
{
    for (unsigned i = 0; i < fp->services->n; i++) {
        struct service *svc = &fp->services->svc[i];
        svc->stats.conns += fp->svc_conns[i];
        fp->svc_conns[i] = 0;
        for (unsigned r = 0; r <= svc->n_rs; r++) {
            struct rs_stats *from = &fp->rs_stats[i][r], *to = &svc->rs[r].stats;
            to->conns += from->conns;
            to->in_pkts += from->in_pkts;
            to->out_pkts += from->out_pkts;
            to->in_bytes += from->in_bytes;
            to->out_bytes += from->out_bytes;
            *from = (struct rs_stats){ 0 };
        }
    }
}

bool fastpath_init(struct fastpath *fp, const struct fastpath_config *cfg, struct service_table *services,
                   struct neigh_table *neigh)
{
    memset(fp, 0, sizeof *fp);
    fp->cfg = *cfg;
    fp->services = services;
    fp->neigh = neigh;
    fp->reaped = services->slots.retired; /* nothing to reap yet */
    fp->rs_stats = calloc(RAWLB_MAX_SERVICES, sizeof *fp->rs_stats);
    if (!fp->rs_stats || !conn_table_init(&fp->conns, cfg->max_conns, &cfg->timeouts, &cfg->conn_key)) {
        fastpath_free(fp);
        return false;
    }
    conn_watch(&fp->conns, on_conn_state, fp, false);
    fp->master = true;
    frag_init(&fp->frags, &cfg->frag_key);
    ratelimit_init(&fp->replies, FP_REPLY_RATE, FP_REPLY_BURST, 0);
    return true;
}

void fastpath_free(struct fastpath *fp)
{
    conn_table_free(&fp->conns);
    free(fp->rs_stats);
    fp->rs_stats = NULL;
}

void fastpath_set_role(struct fastpath *fp, bool master, uint32_t grace_until)
{
    fp->master = master;
    fp->grace_until = grace_until;
}

void fastpath_tick(struct fastpath *fp, uint32_t now)
{
    bool reaped;
    conn_expire_tick(&fp->conns, now);
    fastpath_reap_some(fp, UINT32_MAX, &reaped);
    neigh_age(fp->neigh, now);
    if (fp->uplink)
        neigh_age(&fp->uplink->gateways, now);
}

struct reap {
    struct fastpath *fp;
    uint32_t marked;
};

/* An entry of a retired slot: marked so that its client's next segment gets an RST and it goes
 * after CONN_TIMEOUT_RESET; a template goes now, or with the last entry it controls (pick_server
 * skips it meanwhile). */
static void reap_entry(void *arg, struct conn_table *t, struct conn *c)
{
    struct reap *r = arg;
    if ((c->flags & CONN_F_RESET) || slots_live(slot_of(r->fp, c)))
        return;
    if (c->flags & CONN_F_TEMPLATE) {
        if (!c->controlled)
            conn_delete(t, c);
        return;
    }
    conn_mark_reset(t, c);
    r->marked++;
}

uint32_t fastpath_reap_some(struct fastpath *fp, uint32_t budget, bool *done)
{
    struct reap r = { .fp = fp };
    if (fp->reaped != fp->services->slots.retired) {
        /* Slots retired since the walk began: entries behind the cursor may name them. */
        fp->reaped = fp->services->slots.retired;
        fp->reap_cursor = 0;
        fp->reaping = true;
    }
    if (fp->reaping)
        fp->reaping = !conn_walk_some(&fp->conns, &fp->reap_cursor, budget, reap_entry, &r);
    *done = !fp->reaping;
    return r.marked;
}

uint32_t fastpath_drop_server(struct fastpath *fp, unsigned svc, unsigned rs)
{
    uint32_t flows;
    bool done;
    if (!service_drop_flows(fp->services, svc, rs, &flows))
        return 0;
    return fastpath_reap_some(fp, UINT32_MAX, &done);
}

/* An entry the fast path meets is usable unless rawlb dropped it: marked by the reap walk, or
 * naming a slot retired since (an edit removed its server, or health dropped its flows) that the
 * walk has not come to yet. Such an entry is marked here, so it is answered exactly as a marked
 * one: an RST at the client's next segment, nothing forwarded either way. */
FAST_INLINE bool dropped(struct fastpath *fp, struct conn *c)
{
    if (c->flags & CONN_F_RESET)
        return true;
    if (slots_live(slot_of(fp, c)))
        return false;
    conn_mark_reset(&fp->conns, c);
    return true;
}

/* The vnet header's fields are read one by one where they sit: each frame needs two or three
 * of them, not a copy of the whole header. */
FAST_INLINE bool needs_csum(const uint8_t *buf)
{
    return (buf[offsetof(struct virtio_net_hdr, flags)] & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0;
}

/* Largest IP packet this frame puts on the wire: the frame itself, or for a GSO superframe
 * one segment (headers plus gso_size). 0 when the vnet header cannot be right. */
FAST_INLINE size_t wire_ip_len(const uint8_t *buf, const struct parsed *p)
{
    if (buf[offsetof(struct virtio_net_hdr, gso_type)] == VIRTIO_NET_HDR_GSO_NONE)
        return p->ip_len;
    uint16_t gso_size;
    memcpy(&gso_size, buf + offsetof(struct virtio_net_hdr, gso_size), sizeof gso_size);
    if (gso_size == 0 || !p->l4_hlen)
        return 0; /* no segment size, or nothing the kernel can segment (not TCP or UDP) */
    size_t seg = p->ip_hlen + p->l4_hlen + gso_size;
    return seg < p->ip_len ? seg : p->ip_len;
}

/* Checks that the packet fits the egress link. Returns FP_VERDICT_TX_* with a
 * fragmentation-needed reply built in buf when it does not and DF is set, DROP when it does not
 * fit otherwise, or -1 when it fits. icmp_src is the address the sender knows us by. */
FAST_INLINE int check_mtu(struct fastpath *fp, uint8_t *buf, size_t *len, const struct parsed *p, unsigned mtu,
                          uint32_t icmp_src, bool back_to_ext)
{
    size_t wire = wire_ip_len(buf, p);
    if (wire == 0)
        return drop(fp, FP_DROP_GSO_BAD);
    if (wire <= mtu)
        return -1;
    if (!(p->frag & IP_DF_))
        return drop(fp, FP_DROP_TOO_BIG);
    *len = reply_frag_needed(buf, p, icmp_src, mtu, back_to_ext ? fp->cfg.ext_mac : fp->cfg.int_mac);
    fp->stats.icmp_too_big_sent++;
    return back_to_ext ? FP_VERDICT_TX_EXT : FP_VERDICT_TX_INT;
}

FAST_INLINE void set_eth(struct parsed *p, const uint8_t *dst, const uint8_t *src)
{
    memcpy(p->eth, dst, ETH_ALEN_);
    memcpy(p->eth + ETH_ALEN_, src, ETH_ALEN_);
}

static bool is_new_flow_syn(uint8_t flags)
{
    return (flags & (TH_SYN_ | TH_ACK_ | TH_RST_)) == TH_SYN_;
}

/* A tuple reused after its connection closed starts afresh (IPVS conn_reuse_mode). */
static bool reusable(const struct conn *c)
{
    return c->state == TCP_S_TIME_WAIT || c->state == TCP_S_CLOSE;
}

/* Persistence (-p): the client network's template names the server while it lives. */
static int pick_server(struct fastpath *fp, unsigned svc_idx, uint32_t caddr, uint16_t cport, uint32_t *template)
{
    struct service *svc = &fp->services->svc[svc_idx];
    *template = CONN_NONE;
    if (svc->sorry_active)
        return (int)service_sorry_index(svc); /* every real server is down: no persistence either */
    if (!svc->persist_timeout)
        return service_schedule(svc, caddr, cport);
    uint32_t net = caddr & svc->persist_mask;
    struct conn *t = conn_lookup_template(&fp->conns, svc->proto, net, svc->vip.addr, svc->vip.port);
    /* As IPVS by default: a quiesced (weight 0) server keeps its persistent clients; one that
     * health holds out does not, nor one whose slot is retired (removed, or its flows dropped). */
    const struct rs_slot *ts = t ? slot_of(fp, t) : NULL;
    if (ts && slots_live(ts) && ts->svc == (int)svc_idx && svc->rs[ts->rs].available) {
        conn_touch(&fp->conns, t);
        *template = conn_index(&fp->conns, t);
        return ts->rs;
    }
    if (t && !t->controlled)
        conn_delete(&fp->conns, t);
    int rs = service_schedule(svc, caddr, cport);
    if (rs < 0)
        return rs;
    struct conn proto_entry = {
        .caddr = net, .vaddr = svc->vip.addr, .vport = svc->vip.port, .daddr = svc->rs[rs].ep.addr,
        .dport = svc->rs[rs].ep.port, .proto = svc->proto, .flags = CONN_F_TEMPLATE, .svc = svc->slot,
        .rs = svc->rs[rs].slot, .template = CONN_NONE, .template_timeout = svc->persist_timeout,
    };
    struct conn *made = conn_create(&fp->conns, &proto_entry);
    if (made)
        *template = conn_index(&fp->conns, made);
    return rs;
}

/* A packet from a client that opens a flow of service svc_idx: a server, an entry (fwd_bucket:
 * its key's, from the lookup that missed). */
static struct conn *new_flow(struct fastpath *fp, const struct parsed *p, unsigned svc_idx, uint32_t fwd_bucket,
                             enum fp_drop *why)
{
    struct service *svc = &fp->services->svc[svc_idx];
    uint32_t template;
    int rs = pick_server(fp, svc_idx, p->saddr, p->sport, &template);
    if (rs < 0) {
        *why = rs == SERVICE_SCHED_LIMIT ? FP_DROP_SERVER_LIMIT : FP_DROP_NO_SERVER;
        return NULL;
    }
    const struct endpoint *dst = &svc->rs[rs].ep;
    if (!neigh_lookup(fp->neigh, dst->addr)) {
        /* No entry for a flow we cannot send yet: the client's retransmission finds the MAC. */
        *why = FP_DROP_NO_NEIGH;
        return NULL;
    }
    if (svc->one_packet) {
        /* Each datagram on its own: only the reply direction needs an entry. */
        struct conn *c = conn_lookup_out(&fp->conns, p->proto, dst->addr, dst->port, p->saddr, p->sport);
        if (c && !dropped(fp, c))
            return c;
        if (c)
            conn_delete(&fp->conns, c); /* dropped with its server earlier: start afresh */
    }
    /* Field by field into a zeroed entry: a designated initializer of this size is built in a
     * temporary and copied (gcc 12), some 50 instructions more per new flow. */
    struct conn proto_entry;
    memset(&proto_entry, 0, sizeof proto_entry);
    proto_entry.caddr = p->saddr;
    proto_entry.cport = p->sport;
    proto_entry.vaddr = p->daddr;
    proto_entry.vport = p->dport;
    proto_entry.daddr = dst->addr;
    proto_entry.dport = dst->port;
    proto_entry.proto = p->proto;
    proto_entry.flags = svc->one_packet ? CONN_F_ONE_PACKET : 0;
    proto_entry.svc = svc->slot;
    proto_entry.rs = svc->rs[rs].slot;
    proto_entry.template = template;
    struct conn *c = conn_create_in_bucket(&fp->conns, &proto_entry, fwd_bucket);
    if (!c)
        *why = FP_DROP_TABLE_FULL;
    return c;
}

/* What every forwarded packet does to its flow's entry, in either direction: state and
 * deadline, the real server's counters, and the fragment map when it opens a fragmented datagram. */
FAST_INLINE void track(struct fastpath *fp, struct conn *c, const struct parsed *p, enum conn_dir dir, uint32_t now)
{
    if (c->proto == IPPROTO_TCP && p->l4)
        conn_tcp_update(&fp->conns, c, dir, p->tcp_flags);
    else if (c->proto == IPPROTO_UDP)
        conn_udp_update(&fp->conns, c, dir);
    else
        conn_touch(&fp->conns, c);
    const struct rs_slot *slot = slot_of(fp, c); /* live: what is tracked was not dropped() */
    struct rs_stats *st = &fp->rs_stats[slot->svc][slot->rs];
    if (dir == CONN_DIR_IN) {
        st->in_pkts++;
        st->in_bytes += p->ip_len;
    } else {
        st->out_pkts++;
        st->out_bytes += p->ip_len;
    }
    if (packet_is_fragment(p) && packet_is_first_fragment(p))
        frag_remember(&fp->frags, p->saddr, p->daddr, p->proto, p->ip_id, conn_index(&fp->conns, c),
                      c->generation, now);
}

/* Sends a client's packet on to its real server: state, counters, rewrite. */
FAST_INLINE enum fp_verdict forward_in(struct fastpath *fp, struct conn *c, uint8_t *buf, size_t *len,
                                       struct parsed *p, uint32_t now)
{
    const uint8_t *mac = neigh_lookup(fp->neigh, c->daddr);
    if (!mac)
        return drop(fp, FP_DROP_NO_NEIGH);
    int v = check_mtu(fp, buf, len, p, fp->cfg.int_mtu, p->daddr, true);
    if (v >= 0)
        return (enum fp_verdict)v;
    if (!packet_ttl_ok(p))
        return drop(fp, FP_DROP_TTL);
    track(fp, c, p, CONN_DIR_IN, now);
    memcpy(c->client_mac, p->eth + ETH_ALEN_, ETH_ALEN_);
    packet_forward_dnat(p, c->daddr, c->dport, needs_csum(buf));
    set_eth(p, mac, fp->cfg.int_mac);
    return FP_VERDICT_TX_INT;
}

/* Sends a real server's reply on to its client from VIP:port. */
FAST_INLINE enum fp_verdict forward_out(struct fastpath *fp, struct conn *c, uint8_t *buf, size_t *len,
                                        struct parsed *p, uint32_t now)
{
    int v = check_mtu(fp, buf, len, p, fp->cfg.ext_mtu, fp->cfg.nat_ip, false);
    if (v >= 0)
        return (enum fp_verdict)v;
    if (!packet_ttl_ok(p))
        return drop(fp, FP_DROP_TTL);
    track(fp, c, p, CONN_DIR_OUT, now);
    packet_forward_snat(p, c->vaddr, c->vport, needs_csum(buf));
    set_eth(p, c->client_mac, fp->cfg.ext_mac);
    return FP_VERDICT_TX_EXT;
}

/* A later fragment follows the entry its first fragment matched. */
static struct conn *frag_conn(struct fastpath *fp, const struct parsed *p, uint32_t now)
{
    const struct frag_slot *s = frag_find(&fp->frags, p->saddr, p->daddr, p->proto, p->ip_id, now);
    if (!s || s->conn >= fp->conns.capacity)
        return NULL;
    struct conn *c = &fp->conns.pool[s->conn];
    return c->generation == s->generation && !dropped(fp, c) ? c : NULL;
}

/* An ICMP error about a reply of an mh service's flow that has no entry here (a stateless
 * reply: a router on the way to the client saying it was too big, say): the server is the one
 * mh picks for the quoted client, as every director picks it. Without this, path MTU
 * discovery would fail for every flow whose requests pass another director. */
static bool stateless_server(struct fastpath *fp, const struct icmp_quote *q, struct endpoint *server)
{
    int svc_idx = service_find(fp->services, q->proto, q->saddr, q->sport);
    if (svc_idx < 0 || fp->services->svc[svc_idx].sched != &sched_mh_ops)
        return false;
    struct service *svc = &fp->services->svc[svc_idx];
    int rs = service_schedule(svc, q->daddr, q->dport);
    if (rs < 0)
        return false;
    *server = svc->rs[rs].ep;
    return true;
}

static enum fp_verdict icmp_from_client(struct fastpath *fp, uint8_t *buf, size_t *len, struct parsed *p)
{
    if (icmp_is_echo_request(p) && service_is_vip(fp->services, p->daddr)) {
        *len = reply_echo(buf, p, fp->cfg.ext_mac);
        fp->stats.echo_replies++;
        return FP_VERDICT_TX_EXT;
    }
    struct icmp_quote q;
    if (!icmp_parse_error(p, &q))
        return drop(fp, FP_DROP_ICMP_OTHER);
    /* It quotes what we sent the client: VIP:vport -> client:cport. */
    struct conn *c = conn_lookup_in(&fp->conns, q.proto, q.daddr, q.dport, q.saddr, q.sport);
    struct endpoint server;
    if (c && !dropped(fp, c))
        server = (struct endpoint){ .addr = c->daddr, .port = c->dport };
    else if (c || !stateless_server(fp, &q, &server))
        return drop(fp, FP_DROP_ICMP_UNTRACKED);
    const uint8_t *mac = neigh_lookup(fp->neigh, server.addr);
    if (!mac)
        return drop(fp, FP_DROP_NO_NEIGH);
    if (!packet_dec_ttl(p))
        return drop(fp, FP_DROP_TTL);
    packet_set_daddr(p, server.addr, false);
    icmp_quote_set_saddr(&q, server.addr);
    icmp_quote_set_sport(&q, server.port);
    icmp_finish(p);
    memset(buf, 0, VNET_HLEN);
    set_eth(p, mac, fp->cfg.int_mac);
    fp->stats.icmp_translated++;
    return FP_VERDICT_TX_INT;
}

static enum fp_verdict icmp_from_server(struct fastpath *fp, uint8_t *buf, struct parsed *p)
{
    struct icmp_quote q;
    if (!icmp_parse_error(p, &q))
        return drop(fp, FP_DROP_ICMP_OTHER);
    /* It quotes what the server got from us: client:cport -> server:port. */
    struct conn *c = conn_lookup_out(&fp->conns, q.proto, q.daddr, q.dport, q.saddr, q.sport);
    if (!c || dropped(fp, c))
        return drop(fp, FP_DROP_ICMP_UNTRACKED);
    if (!packet_dec_ttl(p))
        return drop(fp, FP_DROP_TTL);
    if (p->saddr == c->daddr)
        packet_set_saddr(p, c->vaddr, false);
    icmp_quote_set_daddr(&q, c->vaddr);
    icmp_quote_set_dport(&q, c->vport);
    icmp_finish(p);
    memset(buf, 0, VNET_HLEN);
    set_eth(p, c->client_mac, fp->cfg.ext_mac);
    fp->stats.icmp_translated++;
    return FP_VERDICT_TX_EXT;
}

/* Answers a client's TCP/UDP packet that no flow takes (the unknown-flow rule, fastpath.h): an
 * RST from VIP:port, or ICMP port unreachable for UDP; within the worker's budget and where
 * RFC 1122 allows an answer at all, else dropped as unanswered. */
static enum fp_verdict refuse(struct fastpath *fp, uint8_t *buf, size_t *len, const struct parsed *p, uint32_t now,
                              enum fp_drop unanswered)
{
    if (!reply_allowed(p))
        return drop(fp, unanswered);
    if (!ratelimit_take(&fp->replies, now))
        return drop(fp, FP_DROP_RATE_LIMITED);
    if (p->proto == IPPROTO_TCP) {
        *len = reply_tcp_rst(buf, p, fp->cfg.ext_mac);
        fp->stats.resets_sent++;
    } else {
        *len = reply_port_unreach(buf, p, fp->cfg.ext_mac);
        fp->stats.icmp_unreach_sent++;
    }
    return FP_VERDICT_TX_EXT;
}

/* A client's TCP/UDP packet without a usable entry: a new flow, or the unknown-flow rule. */
static enum fp_verdict unknown_flow(struct fastpath *fp, uint8_t *buf, size_t *len, struct parsed *p, uint32_t now,
                                    uint32_t fwd_bucket)
{
    bool mid_flow = p->proto == IPPROTO_TCP && !is_new_flow_syn(p->tcp_flags);
    if (mid_flow && (int32_t)(fp->grace_until - now) > 0)
        return drop(fp, FP_DROP_GRACE);
    int svc_idx = service_find(fp->services, p->proto, p->daddr, p->dport);
    if (svc_idx < 0)
        return service_is_vip(fp->services, p->daddr) ? refuse(fp, buf, len, p, now, FP_DROP_NO_SERVICE)
                                                      : drop(fp, FP_DROP_NO_SERVICE);
    bool picks_mid_flow = fp->services->svc[svc_idx].sched == &sched_mh_ops;
    if (mid_flow && (!picks_mid_flow || !reply_allowed(p))) /* expired, or never here: the client learns at once */
        return refuse(fp, buf, len, p, now, FP_DROP_NOT_SYN);
    enum fp_drop why;
    struct conn *c = new_flow(fp, p, (unsigned)svc_idx, fwd_bucket, &why);
    if (c && mid_flow) {
        /* Another director carried it until the network's ECMP moved it here: mh picks the same
         * server every director picks. Half-open (SYN_RECV, whose rows let only the server move
         * it on) until the server's answer shows the flow is real, as IPVS's sloppy_tcp. */
        conn_change_state(&fp->conns, c, TCP_S_SYN_RECV);
        fp->stats.mid_flow_taken++;
    }
    return c ? forward_in(fp, c, buf, len, p, now) : drop(fp, why);
}

static enum fp_verdict from_client(struct fastpath *fp, uint8_t *buf, size_t *len, struct parsed *p, uint32_t now)
{
    /* Answering the first fragment of a large ping alone would hand the client a truncated
     * echo; the kernel answers only the reassembled whole, which rawlb does not make. */
    if (p->proto == IPPROTO_ICMP && packet_is_fragment(p) && service_is_vip(fp->services, p->daddr))
        return drop(fp, FP_DROP_ICMP_FRAGMENT);
    if (!packet_is_first_fragment(p)) {
        struct conn *c = frag_conn(fp, p, now);
        return c ? forward_in(fp, c, buf, len, p, now) : drop(fp, FP_DROP_FRAG_UNKNOWN);
    }
    if (p->proto == IPPROTO_ICMP)
        return icmp_from_client(fp, buf, len, p);
    if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
        return drop(fp, FP_DROP_NO_SERVICE);
    uint32_t fwd_bucket = conn_bucket(&fp->conns, p->proto, p->saddr, p->sport, p->daddr, p->dport);
    struct conn *c = conn_lookup_in_bucket(&fp->conns, fwd_bucket, p->proto, p->saddr, p->sport, p->daddr, p->dport);
    bool syn = p->proto == IPPROTO_TCP && is_new_flow_syn(p->tcp_flags);
    if (c && dropped(fp, c)) {
        /* Its server was taken away: tell the client at once instead of letting it time out
         * (one RST per entry, so no budget to draw on). */
        if (p->proto == IPPROTO_TCP && !syn && reply_allowed(p)) {
            *len = reply_tcp_rst(buf, p, fp->cfg.ext_mac);
            conn_delete(&fp->conns, c);
            fp->stats.resets_sent++;
            return FP_VERDICT_TX_EXT;
        }
        conn_delete(&fp->conns, c);
        c = NULL;
    } else if (c && syn && reusable(c)) {
        conn_delete(&fp->conns, c);
        c = NULL;
    }
    return c ? forward_in(fp, c, buf, len, p, now) : unknown_flow(fp, buf, len, p, now, fwd_bucket);
}

/* A real server's TCP/UDP segment without an entry here (the unknown-flow rule): for an mh
 * service, rewritten from the service table and sent toward the client by the kernel's route
 * (uplink.h). With several directors behind ECMP the servers' return path need not come back
 * through the director that carried the request, so this is how most replies leave; the
 * server's address:port must name one service, or whose reply it is cannot be told. */
static enum fp_verdict stateless_reply(struct fastpath *fp, uint8_t *buf, size_t *len, struct parsed *p)
{
    unsigned rs = 0;
    int svc_idx = fp->uplink ? service_find_by_server(fp->services, p->proto, p->saddr, p->sport, &rs) : -1;
    if (svc_idx < 0 || fp->services->svc[svc_idx].sched != &sched_mh_ops)
        return drop(fp, FP_DROP_NO_CONN);
    const struct service *svc = &fp->services->svc[svc_idx];
    bool routed;
    const uint8_t *mac = uplink_next_hop(fp->uplink, p->daddr, &routed);
    if (!mac)
        return drop(fp, routed ? FP_DROP_NO_GATEWAY_MAC : FP_DROP_NO_ROUTE);
    int v = check_mtu(fp, buf, len, p, fp->cfg.ext_mtu, fp->cfg.nat_ip, false);
    if (v >= 0)
        return (enum fp_verdict)v;
    if (!packet_ttl_ok(p))
        return drop(fp, FP_DROP_TTL);
    struct rs_stats *st = &fp->rs_stats[svc_idx][rs];
    st->out_pkts++;
    st->out_bytes += p->ip_len;
    packet_forward_snat(p, svc->vip.addr, svc->vip.port, needs_csum(buf));
    set_eth(p, mac, fp->cfg.ext_mac);
    fp->stats.stateless_replies++;
    return FP_VERDICT_TX_EXT;
}

static enum fp_verdict from_server(struct fastpath *fp, uint8_t *buf, size_t *len, struct parsed *p, uint32_t now)
{
    /* An ICMP error is at most 576 bytes (RFC 1812): one in fragments is dropped whole, as a
     * fragmented ping from a client is. */
    if (p->proto == IPPROTO_ICMP && packet_is_fragment(p))
        return drop(fp, FP_DROP_ICMP_FRAGMENT);
    if (!packet_is_first_fragment(p)) {
        struct conn *c = frag_conn(fp, p, now);
        return c ? forward_out(fp, c, buf, len, p, now) : drop(fp, FP_DROP_FRAG_UNKNOWN);
    }
    if (p->proto == IPPROTO_ICMP)
        return icmp_from_server(fp, buf, p);
    struct conn *c = NULL;
    if (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP)
        c = conn_lookup_out(&fp->conns, p->proto, p->saddr, p->sport, p->daddr, p->dport);
    if (!c && (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP))
        return stateless_reply(fp, buf, len, p);
    if (!c || dropped(fp, c))
        return drop(fp, FP_DROP_NO_CONN);
    return forward_out(fp, c, buf, len, p, now);
}

static enum fp_verdict handle_arp(struct fastpath *fp, bool from_ext, uint8_t *buf, size_t *len, uint32_t now)
{
    struct arp_view a;
    uint8_t *eth = buf + VNET_HLEN;
    if (!arp_parse(eth, *len - VNET_HLEN, &a))
        return drop(fp, FP_DROP_ARP_IGNORED);
    if (!from_ext)
        neigh_learn(fp->neigh, a.spa, a.sha, now);
    else if (fp->uplink)
        neigh_learn(&fp->uplink->gateways, a.spa, a.sha, now);
    if (!fp->master)
        return drop(fp, FP_DROP_STANDBY);
    if (a.op != ARP_OP_REQUEST)
        return drop(fp, FP_DROP_ARP_IGNORED);
    bool ours = from_ext ? service_is_vip(fp->services, a.tpa) : (fp->cfg.answer_arp_nat && a.tpa == fp->cfg.nat_ip);
    if (!ours)
        return drop(fp, FP_DROP_ARP_IGNORED);
    *len = reply_arp(buf, *len, from_ext ? fp->cfg.ext_mac : fp->cfg.int_mac);
    fp->stats.arp_replies++;
    return from_ext ? FP_VERDICT_TX_EXT : FP_VERDICT_TX_INT;
}

static enum fp_verdict dispatch(struct fastpath *fp, bool from_ext, uint8_t *buf, size_t *len, uint32_t now)
{
    if (*len < VNET_HLEN)
        return drop(fp, FP_DROP_TRUNCATED);
    struct parsed p;
    switch (packet_parse(buf + VNET_HLEN, *len - VNET_HLEN, &p)) {
    case PARSE_OK:
        break;
    case PARSE_NOT_IPV4:
        if (packet_is_arp(buf + VNET_HLEN, *len - VNET_HLEN))
            return handle_arp(fp, from_ext, buf, len, now);
        return drop(fp, FP_DROP_NOT_IPV4);
    case PARSE_TRUNCATED:
        return drop(fp, FP_DROP_TRUNCATED);
    case PARSE_BAD_IP:
        return drop(fp, FP_DROP_BAD_IP);
    case PARSE_BAD_L4:
        return drop(fp, FP_DROP_BAD_L4);
    }
    if (!fp->master)
        return drop(fp, FP_DROP_STANDBY);
    return from_ext ? from_client(fp, buf, len, &p, now) : from_server(fp, buf, len, &p, now);
}

bool fastpath_of_stream(struct fastpath *fp, bool from_ext, uint8_t *buf, size_t len, uint32_t now)
{
    struct parsed p;
    if (len < VNET_HLEN || packet_parse(buf + VNET_HLEN, len - VNET_HLEN, &p) != PARSE_OK)
        return false;
    struct conn *c = NULL;
    if (!packet_is_first_fragment(&p))
        c = frag_conn(fp, &p, now);
    else if (p.proto == IPPROTO_TCP || p.proto == IPPROTO_UDP)
        c = from_ext ? conn_lookup_in(&fp->conns, p.proto, p.saddr, p.sport, p.daddr, p.dport)
                     : conn_lookup_out(&fp->conns, p.proto, p.saddr, p.sport, p.daddr, p.dport);
    return c && c->wclass == CONN_C_ESTABLISHED;
}

/* Every frame in is counted once out: sent on one side, or dropped for a named reason. */
enum fp_verdict fastpath_handle(struct fastpath *fp, bool from_ext, uint8_t *buf, size_t *len, uint32_t now)
{
    if (from_ext)
        fp->stats.rx_ext++;
    else
        fp->stats.rx_int++;
    enum fp_verdict v = dispatch(fp, from_ext, buf, len, now);
    if (v == FP_VERDICT_TX_EXT)
        fp->stats.tx_ext++;
    else if (v == FP_VERDICT_TX_INT)
        fp->stats.tx_int++;
    return v;
}
