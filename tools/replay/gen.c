/* gen: templates made without a capture.
 *   udp: one datagram of --size frame bytes per flow, flows differing by source port; each send
 *        stamps flow id, sequence and time into the payload (when it has room) with UDP checksum
 *        0, so the stamp changes nothing else.
 *   tcp: per flow a SYN, a data segment (a small GET) and a FIN, sent phase by phase (all SYNs,
 *        then all data, then all FINs) so many connections are open at once in the balancer.
 * Sources: the interface's address, or --src-range spread over the flows. */
#include "replay.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#define GEN_SPORT_BASE 10000
#define GEN_UDP_DPORT 9
#define GEN_TCP_DPORT 80

static const char http_get[] = "GET / HTTP/1.0\r\nHost: rawlb-replay\r\n\r\n";

static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void wr32(uint8_t *p, uint32_t v) { wr16(p, (uint16_t)(v >> 16)); wr16(p + 2, (uint16_t)v); }

/* Ethernet + IPv4 header for a datagram of l4len bytes; returns the L4 offset. */
static size_t build_ip(uint8_t *f, const struct target *tg, uint32_t saddr, uint8_t proto, size_t l4len, uint16_t id)
{
    memcpy(f, tg->dst_mac, 6);
    memcpy(f + 6, tg->src_mac, 6);
    wr16(f + 12, 0x0800);
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    ip[1] = 0;
    wr16(ip + 2, (uint16_t)(20 + l4len));
    wr16(ip + 4, id);
    wr16(ip + 6, 0x4000); /* DF */
    ip[8] = 64;
    ip[9] = proto;
    memcpy(ip + 12, &saddr, 4);
    memcpy(ip + 16, &tg->dst_addr, 4);
    return 34;
}

static uint32_t flow_src(const struct opts *o, const struct target *tg, unsigned f)
{
    return o->src_range ? htonl(o->src_base + f % o->src_size) : tg->src_addr;
}

static bool add(struct trace *tr, uint8_t *f, size_t len, uint32_t src_idx, uint32_t flow, bool stamp, char *err, size_t errlen)
{
    if (!trace_add(tr, f, len, 0, src_idx, flow)) {
        snprintf(err, errlen, "out of memory for %u flows", flow);
        return false;
    }
    struct tmpl *t = &tr->t[tr->n - 1];
    frame_fix_csums(t->data, &t->h);
    t->stamp = stamp;
    return true;
}

static bool gen_udp(struct trace *tr, const struct opts *o, const struct target *tg, uint16_t echo_sport, char *err, size_t errlen)
{
    uint8_t f[REPLAY_FRAME_MAX];
    size_t len = o->size;
    uint16_t dport = tg->dst_port ? ntohs(tg->dst_port) : GEN_UDP_DPORT;
    for (unsigned i = 0; i < o->flows; i++) {
        memset(f, 0, sizeof f);
        size_t l4 = build_ip(f, tg, flow_src(o, tg, i), 17, len - 34, (uint16_t)i);
        uint16_t sport = echo_sport ? echo_sport : (uint16_t)(GEN_SPORT_BASE + i % (65536 - GEN_SPORT_BASE));
        wr16(f + l4, sport);
        wr16(f + l4 + 2, dport);
        wr16(f + l4 + 4, (uint16_t)(len - l4));
        bool stamp = len - l4 - 8 >= STAMP_LEN;
        if (!add(tr, f, len, o->src_range ? i % o->src_size : 0, i, stamp, err, errlen))
            return false;
        /* checksum 0 (none), so the per-send stamp needs no checksum update */
        wr16(tr->t[tr->n - 1].data + l4 + 6, 0);
    }
    return true;
}

static bool gen_tcp(struct trace *tr, const struct opts *o, const struct target *tg, char *err, size_t errlen)
{
    uint8_t f[REPLAY_FRAME_MAX];
    uint16_t dport = tg->dst_port ? ntohs(tg->dst_port) : GEN_TCP_DPORT;
    size_t glen = sizeof http_get - 1;
    for (int phase = 0; phase < 3; phase++) {
        for (unsigned i = 0; i < o->flows; i++) {
            memset(f, 0, sizeof f);
            size_t paylen = phase == 1 ? glen : 0;
            size_t l4 = build_ip(f, tg, flow_src(o, tg, i), 6, 20 + paylen, (uint16_t)(phase * 7919 + i));
            uint32_t isn = 0x10000000u + i * 0x1000u;
            wr16(f + l4, (uint16_t)(GEN_SPORT_BASE + i % (65536 - GEN_SPORT_BASE)));
            wr16(f + l4 + 2, dport);
            wr32(f + l4 + 4, phase == 0 ? isn : phase == 1 ? isn + 1 : isn + 1 + (uint32_t)glen);
            wr32(f + l4 + 8, phase == 0 ? 0 : 1);
            f[l4 + 12] = 5 << 4;
            f[l4 + 13] = phase == 0 ? 0x02 : phase == 1 ? 0x18 : 0x11; /* SYN, PSH|ACK, FIN|ACK */
            wr16(f + l4 + 14, 65535);
            if (paylen)
                memcpy(f + l4 + 20, http_get, glen);
            if (!add(tr, f, l4 + 20 + paylen, o->src_range ? i % o->src_size : 0, i, false, err, errlen))
                return false;
        }
    }
    return true;
}

bool gen_build(struct trace *tr, const struct opts *o, const struct target *tg, uint16_t echo_sport, char *err, size_t errlen)
{
    memset(tr, 0, sizeof *tr);
    bool ok = o->gen == GEN_TCP ? gen_tcp(tr, o, tg, err, errlen) : gen_udp(tr, o, tg, echo_sport, err, errlen);
    if (!ok) {
        trace_free(tr);
        return false;
    }
    tr->nflows = o->flows;
    tr->nsrc = o->src_range ? (o->flows < o->src_size ? o->flows : o->src_size) : 1;
    return true;
}
