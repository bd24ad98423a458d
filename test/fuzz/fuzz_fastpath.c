/* fuzz_fastpath: the whole fast path (fastpath_handle), what meets untrusted frames, on arbitrary
 * bytes, with state carried from one input to the next as in the daemon.
 *
 * libFuzzer (clang, -DRAWLB_FUZZ=ON):  fuzz_fastpath [-max_total_time=120] [CORPUS_DIR]
 *   (seeds: a copy of test/fuzz/corpus/fastpath/, see CMakeLists.txt)
 * Standalone (any compiler, -DRAWLB_FUZZ_STANDALONE; test/unit/test_fastpath_fuzz.c includes this
 * file that way):  with file arguments, replays them in order (crash reproduction without
 * libFuzzer); without, feeds a deterministic stream of frames built with test/unit/frames.h
 * (TCP SYN/ACK/FIN/RST from clients, replies from the real servers, UDP, ICMP echo and errors,
 * fragments, GSO superframes, ARP, and now and then a flood of port scans with the clock standing
 * still), half of them mutated; --write-corpus DIR N writes N seeds.
 *
 * Set up once: the services of FZ_ARGS (TCP, UDP one-packet, TCP persistent whose server takes
 * at most 4 connections, -x 4, so that "server limit" is reached, and an mh service whose
 * server's answers without an entry are stateless replies), the real servers' MACs learnt, a
 * connection table of 64 entries so that "table full" is reached, and routes toward the
 * clients (FZ_ONLINK on the link itself, the rest via the client-side router, whose MAC the
 * stream's ARP teaches).
 * Input: byte 0 is control (bit 0: from the external side; bit 1: make the IPv4 and L4
 * checksums of the frame valid first; bits 2-7, a code: mostly nothing; FZ_CODE_DROP: a real
 * server is declared dead (fastpath_drop_server, the one the input's last byte picks), so its
 * flows' next segments get RSTs; FZ_CODE_STEP and up: the clock moves a few seconds, the real
 * servers answer the refresh ARP (their MACs learnt again, as handle_arp does) and
 * fastpath_tick runs; FZ_CODE_JUMP and up: it jumps minutes, past the neighbours' lifetime, so
 * the MACs are forgotten until the next step and entries expire; the clock also decides the HA
 * role: standby for one 64-second period in FZ_ROLE_PERIODS, master otherwise with a grace
 * period at the start of each. Without the steps' ARP, one jump would leave every later input
 * of a run without a server to forward to: the rewrites, and the RST and frag-needed replies,
 * were then reached only by the seeds). The rest is the vnet header and the frame, copied into a 70000-byte buffer (as the
 * daemon's capture buffers) whose bytes past the frame are poisoned under AddressSanitizer, so
 * reading or writing beyond the frame is reported. The room fastpath_handle may use past a
 * short frame (up to REPLY_ICMP_ERROR_MAX, for an ICMP error longer than what it answers) is
 * left writable but filled with a canary instead. Invariants after each fastpath_handle:
 *   - the returned length never exceeds the input length (an ICMP port unreachable: that room),
 *     nothing was written past the frame otherwise, and a TX frame has an Ethernet header
 *     whose source is the MAC of the interface it leaves by;
 *   - a TX frame that is IPv4 has a valid header checksum, and a valid L4 (TCP/UDP/ICMP)
 *     checksum when it is whole and complete (no NEEDS_CSUM), if the input's were valid;
 *   - a director in standby sends nothing;
 *   - an RST or ICMP port unreachable answers only what RFC 1122 allows (no RST, no ICMP, no
 *     later fragment, no link-layer broadcast, a source that names one host; read here from the
 *     input's bytes), from the address the input went to, back to its source; and no more of
 *     them than FP_REPLY_BURST within one second of the clock, but for one RST to each entry
 *     marked reset (a dropped server's), which must then be gone;
 *   - the counters add up: each frame counts once as received on its side and once as either
 *     sent on the side of its verdict or dropped for one reason; over the run
 *     rx_ext + rx_int = tx_ext + tx_int + all drops. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fastpath.h"
#include "fpenv.h"
#include "frames.h"
#include "fuzz.h"
#include "neigh.h"
#include "packet.h"
#include "reply.h"
#include "service.h"
#include "uplink.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FZ_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define FZ_ASAN 1
#endif
#ifdef FZ_ASAN
#include <sanitizer/asan_interface.h>
#define FZ_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define FZ_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define FZ_POISON(p, n) ((void)(p), (void)(n))
#define FZ_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define FZ_ARGS                                                                                        \
    "-e ext -i int -n 203.0.113.1 --max-conns 64 "                                                     \
    "-t 198.51.100.10:80 -r 203.0.113.11:80:3 -r 203.0.113.12:80 "                                     \
    "-u 198.51.100.10:53 -o -r 203.0.113.11:53 -r 203.0.113.12:53 "                                    \
    "-t 198.51.100.11:443 -p 60 -r 203.0.113.11:443 -x 4 "                                            \
    "-t 198.51.100.12:80 -s mh -b mh-port -r 203.0.113.13:80"

#define FZ_IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))
#define FZ_VIP FZ_IP4(198, 51, 100, 10)
#define FZ_VIP2 FZ_IP4(198, 51, 100, 11)
#define FZ_NAT FZ_IP4(203, 0, 113, 1)
#define FZ_RS1 FZ_IP4(203, 0, 113, 11)
#define FZ_RS2 FZ_IP4(203, 0, 113, 12)
#define FZ_VIP_MH FZ_IP4(198, 51, 100, 12)
#define FZ_RS_MH FZ_IP4(203, 0, 113, 13)
#define FZ_ROUTER FZ_IP4(192, 0, 2, 254) /* the clients' side router: the default route's gateway */
#define FZ_ONLINK FZ_IP4(192, 0, 2, 0)   /* clients 192.0.2.1-3 are on the external link: /30 */
#define FZ_ONLINK_LEN 30
#define FZ_EXT_MTU 1500
#define FZ_INT_MTU 1480

#define FZ_BUF_SIZE 70000
#define FZ_CANARY 0xa5

static struct rawlb_config fz_cfg;
static struct service_table fz_svcs;
static struct neigh_table fz_neigh;
static struct fastpath fz_fp;
static struct uplink fz_uplink;
static uint32_t fz_now = 1;
static _Alignas(16) uint8_t fz_buf[FZ_BUF_SIZE];

/* What the last input did (the standalone driver follows the flows it made). */
static enum fp_verdict fz_last_verdict;
static size_t fz_last_len;
static uint8_t fz_last_out[FRAME_VNET_LEN + 14 + 60 + 8]; /* the start of what it sent */

/* The fast path of FZ_ARGS, its real servers' MACs learnt (test/unit/fpenv.h). */
static void fz_setup(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    static const struct fpenv env = { &fz_cfg, &fz_svcs, &fz_neigh, &fz_fp };
    struct fpenv_opts o = { .ext_mtu = FZ_EXT_MTU, .int_mtu = FZ_INT_MTU, .seed = 0x2545f491u, .learnt_at = fz_now };
    fpenv_up(&env, FZ_ARGS, &o);
    neigh_init(&fz_uplink.gateways);
    /* longest prefix first, as uplink_refresh orders them (uplink.c is the daemon's, not linked here) */
    fz_uplink.routes[0] = (struct uplink_route){
        .net = htonl(FZ_ONLINK), .mask = htonl(~0u << (32 - FZ_ONLINK_LEN)), .len = FZ_ONLINK_LEN };
    fz_uplink.routes[1] = (struct uplink_route){ .gateway = htonl(FZ_ROUTER) };
    fz_uplink.n = 2;
    neigh_add(&fz_uplink.gateways, htonl(FZ_ROUTER));
    fz_fp.uplink = &fz_uplink;
    FZ_POISON(fz_buf, sizeof fz_buf);
}

/* ---- checksums of a frame, read from its bytes with the reference sum of frames.h ---- */

/* The Ethernet frame f of flen bytes holds a whole IPv4 header and its total length. */
static bool fz_ipv4_whole(const uint8_t *f, size_t flen)
{
    if (flen < 14 + 20 || get16(f + 12) != 0x0800 || (f[14] >> 4) != 4 || ihlof(f) < 20)
        return false;
    return totof(f) >= ihlof(f) && 14 + totof(f) <= flen;
}

/* Where the L4 checksum of a whole (unfragmented) TCP/UDP/ICMP packet is, as an offset into
 * its L4 header, or 0 when it has none to check. */
static size_t fz_l4_checkoff(const uint8_t *f)
{
    uint8_t proto = f[14 + 9];
    if (get16(f + 14 + 6) & (IP_MF_ | IP_OFFMASK_))
        return 0;
    size_t need = proto == IPPROTO_TCP ? 20 : proto == IPPROTO_UDP || proto == IPPROTO_ICMP ? 8 : 0;
    if (!need || l4lenof(f) < need || (proto == IPPROTO_TCP && (size_t)(f[14 + ihlof(f) + 12] >> 4) * 4 < 20))
        return 0;
    return l4checkoff(proto);
}

static bool fz_needs_csum(const uint8_t *buf)
{
    struct virtio_net_hdr h;
    memcpy(&h, buf, sizeof h);
    return (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0;
}

/* Whether what the frame carries verifies: the IP header, and the L4 checksum where there is
 * one to check (a UDP 0 is "none"). True for what is not IPv4. */
static bool fz_csums_ok(uint8_t *buf, size_t len)
{
    uint8_t *f = buf + FRAME_VNET_LEN;
    if (len < FRAME_VNET_LEN || !fz_ipv4_whole(f, len - FRAME_VNET_LEN))
        return true;
    if (!ip_csum_ok(f))
        return false;
    size_t co = fz_l4_checkoff(f);
    if (!co || fz_needs_csum(buf) || (f[14 + 9] == IPPROTO_UDP && l4_check(f) == 0))
        return true;
    return l4_csum_ok(f);
}

/* Makes them valid (control bit 1), so the fuzzer mostly explores frames that verify. */
static void fz_fix_csums(uint8_t *buf, size_t len)
{
    uint8_t *f = buf + FRAME_VNET_LEN;
    if (len < FRAME_VNET_LEN || !fz_ipv4_whole(f, len - FRAME_VNET_LEN))
        return;
    put16(ipof(f) + 10, 0);
    put16(ipof(f) + 10, (uint16_t)~ref_fold(ref_sum(ipof(f), ihlof(f), 0)));
    size_t co = fz_l4_checkoff(f);
    uint8_t proto = f[14 + 9];
    if (!co || fz_needs_csum(buf) || (proto == IPPROTO_UDP && l4_check(f) == 0))
        return;
    uint8_t *l4 = l4of(f);
    put16(l4 + co, 0);
    uint16_t c = (uint16_t)~ref_fold(ref_sum(l4, l4lenof(f), proto == IPPROTO_ICMP ? 0 : pseudo_sum(f)));
    put16(l4 + co, proto == IPPROTO_UDP && c == 0 ? 0xffff : c);
}

/* ---- the target ---- */

static uint64_t fz_drops(const struct fastpath_stats *s)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < FP_DROP_COUNT; i++)
        n += s->drops[i];
    return n;
}

/* Control codes (bits 2-7), see the top of this file. */
#define FZ_CODE_DROP 47
#define FZ_CODE_STEP 48 /* 48..59: 1..12 s */
#define FZ_CODE_JUMP 60 /* 60..63: 150..600 s */
#define FZ_JUMP_UNIT 150 /* seconds: more than NEIGH_STALE, every TCP and UDP timeout of FZ_ARGS after a few */
#define FZ_ROLE_PERIOD 64 /* seconds */
#define FZ_ROLE_PERIODS 8
#define FZ_GRACE 5

/* The HA role at the clock's time: standby in the last period of every FZ_ROLE_PERIODS. */
static bool fz_standby(uint32_t now)
{
    return (now / FZ_ROLE_PERIOD) % FZ_ROLE_PERIODS == FZ_ROLE_PERIODS - 1;
}

/* Whether RFC 1122 lets the input frame f (flen bytes, from a client) be answered with an RST or
 * an ICMP error, from its bytes. */
static bool fz_answerable(const uint8_t *f, size_t flen)
{
    if (flen < 14 + 20 || get16(f + 12) != 0x0800 || (f[0] & 1) || (get16(f + 14 + 6) & IP_OFFMASK_))
        return false;
    uint8_t first_octet = f[14 + 12];
    if (first_octet == 0 || first_octet == 127 || first_octet >= 224)
        return false;
    uint8_t proto = f[14 + 9];
    size_t flags_at = 14 + ihlof(f) + 13;
    if (proto == IPPROTO_TCP)
        return flags_at < flen && !(f[flags_at] & TH_RST_);
    return proto == IPPROTO_UDP;
}

/* Answers to traffic of no flow within the clock's current second. */
static uint32_t fz_answers_at;
static uint64_t fz_answers;

static uint32_t fz_advance(uint8_t code)
{
    if (code < FZ_CODE_STEP)
        return 0;
    if (code < FZ_CODE_JUMP)
        return code - FZ_CODE_STEP + 1u;
    return (code - FZ_CODE_JUMP + 1u) * FZ_JUMP_UNIT;
}

/* Every real server answers ARP at fz_now: what handle_arp does with a server's reply. */
static void fz_relearn(void)
{
    for (unsigned i = 0; i < fz_svcs.n; i++)
        for (unsigned j = 0; j < fz_svcs.svc[i].n_rs; j++) {
            uint8_t mac[6];
            uint32_t addr = fz_svcs.svc[i].rs[j].ep.addr;
            fpenv_rs_mac(ntohl(addr), mac);
            neigh_learn(&fz_neigh, addr, mac, fz_now);
        }
}

/* Entries marked reset by dropped servers, and RSTs that answered one (the standalone run's
 * summary: both must happen). */
static uint64_t fz_marked, fz_marked_answered;

/* The pick-th real server over all services (modulo their number) is declared dead. */
static void fz_drop_server(unsigned pick)
{
    unsigned n = 0;
    for (unsigned i = 0; i < fz_svcs.n; i++)
        n += fz_svcs.svc[i].n_rs;
    pick %= n;
    for (unsigned i = 0;; i++) {
        if (pick < fz_svcs.svc[i].n_rs) {
            fz_marked += fastpath_drop_server(&fz_fp, i, pick);
            return;
        }
        pick -= fz_svcs.svc[i].n_rs;
    }
}

/* The entry a client's TCP segment (Ethernet frame f of flen bytes) belongs to, if any. */
static const struct conn *fz_tcp_entry(const uint8_t *f, size_t flen)
{
    if (flen < 14 + 20 || get16(f + 12) != 0x0800 || (f[14] >> 4) != 4 || ihlof(f) < 20 || f[14 + 9] != IPPROTO_TCP ||
        flen < 14 + ihlof(f) + 4)
        return NULL;
    uint32_t saddr, daddr;
    uint16_t sport, dport;
    memcpy(&saddr, f + 14 + 12, 4);
    memcpy(&daddr, f + 14 + 16, 4);
    memcpy(&sport, f + 14 + ihlof(f), 2);
    memcpy(&dport, f + 14 + ihlof(f) + 2, 2);
    return conn_lookup_in(&fz_fp.conns, IPPROTO_TCP, saddr, sport, daddr, dport);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_setup();
    if (size < 1)
        return 0;
    bool from_ext = data[0] & 1;
    uint8_t code = (uint8_t)(data[0] >> 2);
    uint32_t adv = fz_advance(code);
    if (code == FZ_CODE_DROP)
        fz_drop_server(data[size - 1]);
    if (adv) {
        fz_now += adv;
        if (code < FZ_CODE_JUMP)
            fz_relearn();
        fastpath_tick(&fz_fp, fz_now);
        fastpath_set_role(&fz_fp, !fz_standby(fz_now), fz_now - fz_now % FZ_ROLE_PERIOD + FZ_GRACE);
    }
    size_t in_len = size - 1 < FZ_BUF_SIZE ? size - 1 : FZ_BUF_SIZE;
    size_t room = in_len > REPLY_ICMP_ERROR_MAX ? in_len : REPLY_ICMP_ERROR_MAX;
    FZ_UNPOISON(fz_buf, room);
    memcpy(fz_buf, data + 1, in_len);
    memset(fz_buf + in_len, FZ_CANARY, room - in_len);
    if (data[0] & 2)
        fz_fix_csums(fz_buf, in_len);
    bool in_ok = fz_csums_ok(fz_buf, in_len);
    /* One RST per entry marked reset, outside the reply budget (fastpath.c, from_client). */
    const struct conn *entry = from_ext && in_len > FRAME_VNET_LEN
                                   ? fz_tcp_entry(fz_buf + FRAME_VNET_LEN, in_len - FRAME_VNET_LEN)
                                   : NULL;
    bool marked = entry && (entry->flags & CONN_F_RESET);

    struct fastpath_stats before = fz_fp.stats;
    size_t len = in_len;
    enum fp_verdict v = fastpath_handle(&fz_fp, from_ext, fz_buf, &len, fz_now);
    const struct fastpath_stats *s = &fz_fp.stats;

    bool unreach = s->icmp_unreach_sent != before.icmp_unreach_sent;
    bool reset = s->resets_sent != before.resets_sent;
    FUZZ_ASSERT(len <= (unreach ? room : in_len));
    for (size_t i = in_len; i < room && !unreach; i++)
        FUZZ_ASSERT(fz_buf[i] == FZ_CANARY);
    FUZZ_ASSERT(v == FP_VERDICT_DROP || v == FP_VERDICT_TX_EXT || v == FP_VERDICT_TX_INT);
    FUZZ_ASSERT(fz_fp.master || v == FP_VERDICT_DROP);
    if (unreach || reset) {
        const uint8_t *in = data + 1 + FRAME_VNET_LEN, *out = fz_buf + FRAME_VNET_LEN;
        FUZZ_ASSERT(from_ext && v == FP_VERDICT_TX_EXT && in_len > FRAME_VNET_LEN);
        FUZZ_ASSERT(fz_answerable(in, in_len - FRAME_VNET_LEN));
        FUZZ_ASSERT(in[14 + 9] == (unreach ? IPPROTO_UDP : IPPROTO_TCP));
        FUZZ_ASSERT(out[14 + 9] == (unreach ? IPPROTO_ICMP : IPPROTO_TCP));
        FUZZ_ASSERT(get32(out + 14 + 12) == get32(in + 14 + 16) && get32(out + 14 + 16) == get32(in + 14 + 12));
        if (reset && marked) {
            FUZZ_ASSERT(!fz_tcp_entry(in, in_len - FRAME_VNET_LEN)); /* answered once: gone */
            fz_marked_answered++;
        } else {
            if (fz_answers_at != fz_now) {
                fz_answers_at = fz_now;
                fz_answers = 0;
            }
            fz_answers++;
            FUZZ_ASSERT(fz_answers <= FP_REPLY_BURST);
        }
    }
    /* Counted once on receipt, once on the way out. */
    FUZZ_ASSERT(s->rx_ext - before.rx_ext == (from_ext ? 1u : 0u));
    FUZZ_ASSERT(s->rx_int - before.rx_int == (from_ext ? 0u : 1u));
    FUZZ_ASSERT(fz_drops(s) - fz_drops(&before) == (v == FP_VERDICT_DROP ? 1u : 0u));
    FUZZ_ASSERT(s->tx_ext - before.tx_ext == (v == FP_VERDICT_TX_EXT ? 1u : 0u));
    FUZZ_ASSERT(s->tx_int - before.tx_int == (v == FP_VERDICT_TX_INT ? 1u : 0u));
    FUZZ_ASSERT(s->rx_ext + s->rx_int == s->tx_ext + s->tx_int + fz_drops(s));

    if (v != FP_VERDICT_DROP) {
        FUZZ_ASSERT(len >= FRAME_VNET_LEN + 14);
        uint8_t *f = fz_buf + FRAME_VNET_LEN;
        FUZZ_ASSERT(memcmp(f + 6, v == FP_VERDICT_TX_EXT ? EXT_MAC : INT_MAC, 6) == 0);
        if (get16(f + 12) == 0x0800) {
            FUZZ_ASSERT(len >= FRAME_VNET_LEN + 14 + 20 && (f[14] >> 4) == 4 && ihlof(f) >= 20 &&
                        FRAME_VNET_LEN + 14 + ihlof(f) <= len);
            if (in_ok)
                FUZZ_ASSERT(ip_csum_ok(f));
            if (in_ok && fz_ipv4_whole(f, len - FRAME_VNET_LEN))
                FUZZ_ASSERT(fz_csums_ok(fz_buf, len));
        }
    }
    fz_last_verdict = v;
    fz_last_len = len;
    memcpy(fz_last_out, fz_buf, len < sizeof fz_last_out ? len : sizeof fz_last_out);
    FZ_POISON(fz_buf, room);
    return 0;
}

#ifdef RAWLB_FUZZ_STANDALONE
/* ---- the standalone driver: a deterministic stream of frames, valid and mutated ---- */

/* Flows the fast path sent on to a real server, so servers can answer and hosts complain. */
struct fz_flow {
    uint8_t proto;
    uint32_t caddr, vaddr, raddr; /* host order */
    uint16_t cport, vport, rport;
};
#define FZ_FLOWS 32
static struct fz_flow fz_flows[FZ_FLOWS];
static unsigned fz_n_flows;

static struct fz_flow fz_any_flow(void)
{
    if (fz_n_flows && fz_rnd() % 8)
        return fz_flows[fz_rnd() % (fz_n_flows < FZ_FLOWS ? fz_n_flows : FZ_FLOWS)];
    static const uint16_t vports[] = { 80, 53, 443, 22 };
    unsigned k = fz_rnd() % 4;
    struct fz_flow fl = {
        .proto = k == 1 ? IPPROTO_UDP : IPPROTO_TCP, .caddr = FZ_IP4(192, 0, 2, 1 + fz_rnd() % 8),
        .vaddr = k == 2 || fz_rnd() % 16 == 0 ? FZ_VIP2 : FZ_VIP, .raddr = fz_rnd() % 2 ? FZ_RS1 : FZ_RS2,
        .cport = (uint16_t)(40000 + fz_rnd() % 16), .vport = vports[k],
    };
    fl.rport = fl.vport;
    return fl;
}

static void fz_client_mac(uint8_t mac[6], uint32_t caddr)
{
    static const uint8_t base[6] = { 0x02, 0xcc, 0, 0, 0, 0 };
    memcpy(mac, base, 6);
    mac[5] = (uint8_t)caddr;
}

/* What a built frame of the stream varies beyond its flow (drawn in this order). */
static void fz_randomise(struct frame_spec *s)
{
    s->ip_id = (uint16_t)fz_rnd();
    s->frag = IP_DF_;
    s->seq = fz_rnd();
    s->ack = fz_rnd();
}

/* A client's packet for flow fl (client -> VIP). */
static struct frame_spec fz_client_spec(const struct fz_flow *fl)
{
    struct frame_spec s = fpenv_client_spec(fl->proto, fl->caddr, fl->cport, fl->vaddr, fl->vport);
    fz_client_mac(s.smac, fl->caddr);
    fz_randomise(&s);
    return s;
}

/* A real server's packet for flow fl (server -> client). */
static struct frame_spec fz_server_spec(const struct fz_flow *fl)
{
    struct frame_spec s = fpenv_server_spec(fl->proto, fl->raddr, fl->rport, fl->caddr, fl->cport);
    fz_randomise(&s);
    return s;
}

/* Payload length: mostly small, sometimes around or above the MTUs. */
static size_t fz_payload(void)
{
    unsigned k = fz_rnd() % 16;
    if (k < 11)
        return fz_rnd() % 200;
    if (k < 15)
        return 1400 + fz_rnd() % 160;
    return fz_rnd() % 4000;
}

/* An ICMP error about the packet described by inner (its IP header and 8 bytes quoted). */
static size_t fz_icmp_error(uint8_t *buf, struct frame_spec *outer, const struct frame_spec *inner)
{
    static uint8_t tmp[FRAME_VNET_LEN + 14 + 20 + 20 + 8];
    struct frame_spec in = *inner;
    in.payload = 0;
    frame_build(tmp, &in);
    static const uint8_t types[][2] = { { 3, 4 }, { 3, 3 }, { 3, 1 }, { 11, 0 }, { 12, 0 }, { 5, 1 } };
    unsigned k = fz_rnd() % 6;
    outer->proto = IPPROTO_ICMP;
    outer->icmp_type = types[k][0];
    outer->icmp_code = types[k][1];
    outer->icmp_rest = k == 0 ? 1400 : 0;
    outer->data = tmp + FRAME_VNET_LEN + 14;
    outer->payload = 20 + (fz_rnd() % 4 ? 8 : fz_rnd() % 9);
    return frame_build(buf, outer);
}

/* The vnet header of a TCP/UDP frame: mostly none, sometimes a partial checksum or GSO. */
static void fz_vnet(struct frame_spec *s)
{
    unsigned k = fz_rnd() % 16;
    if (s->proto != IPPROTO_TCP && s->proto != IPPROTO_UDP)
        return;
    if (k == 0 || k == 1)
        s->partial_csum = true;
    if (k == 1 && s->proto == IPPROTO_TCP) {
        s->vnet.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
        s->vnet.gso_size = (uint16_t)(fz_rnd() % 4 ? 1448 : fz_rnd() % 3000);
        s->vnet.hdr_len = 14 + 20 + 20;
        s->payload = 2000 + fz_rnd() % 20000;
    }
}

/* A flood: for FZ_FLOOD_LEN frames of every FZ_FLOOD_EVERY the clock stands still and three
 * frames in four scan the VIPs' ports without a service (TCP SYN, UDP), so the answers run out
 * of budget (FP_REPLY_BURST) and the rest are refused. */
#define FZ_FLOOD_EVERY 100000u
#define FZ_FLOOD_LEN 4000u
static unsigned fz_pos; /* the stream's position */

static size_t fz_scan(uint8_t *buf, struct fz_flow *fl)
{
    fl->proto = fz_rnd() % 2 ? IPPROTO_TCP : IPPROTO_UDP;
    fl->vport = (uint16_t)(1000 + fz_rnd() % 1000);
    fl->cport = (uint16_t)fz_rnd();
    struct frame_spec s = fz_client_spec(fl);
    s.tcp_flags = TH_SYN_;
    return frame_build(buf, &s);
}

/* How often the stream's control codes come, in FZ_CODE_ODDS frames: a jump of minutes, a dropped
 * server, a step of seconds. */
#define FZ_CODE_ODDS 512
#define FZ_JUMP_ODDS 2
#define FZ_DROP_ODDS 2
#define FZ_STEP_ODDS 32

/* One well-formed frame of a random kind after its control byte; returns the whole length. */
static size_t fz_build(uint8_t *d)
{
    bool flood = fz_pos++ % FZ_FLOOD_EVERY < FZ_FLOOD_LEN;
    uint8_t *buf = d + 1;
    bool from_ext = true;
    struct fz_flow fl = fz_any_flow();
    struct frame_spec s;
    size_t len;
    static const uint8_t client_flags[] = { TH_ACK_, TH_ACK_ | 0x08, TH_FIN_ | TH_ACK_, TH_RST_, TH_RST_ | TH_ACK_,
                                            TH_SYN_ | TH_ACK_, 0 };
    static const uint8_t server_flags[] = { TH_SYN_ | TH_ACK_, TH_ACK_, TH_ACK_ | 0x08, TH_FIN_ | TH_ACK_, TH_RST_ };
    switch (flood && fz_rnd() % 4 ? 16 : fz_rnd() % 16) {
    case 16:
        len = fz_scan(buf, &fl);
        break;
    case 0:
    case 1: /* a new TCP connection */
        fl.proto = IPPROTO_TCP;
        fl.vport = fl.vaddr == FZ_VIP2 ? 443 : 80;
        fl.cport = (uint16_t)(40000 + fz_rnd() % 64);
        s = fz_client_spec(&fl);
        s.tcp_flags = TH_SYN_;
        s.payload = 0;
        len = frame_build(buf, &s);
        break;
    case 2:
    case 3: /* more of a client's connection */
        s = fz_client_spec(&fl);
        s.tcp_flags = client_flags[fz_rnd() % sizeof client_flags];
        s.payload = fz_payload();
        fz_vnet(&s);
        len = frame_build(buf, &s);
        break;
    case 4:
    case 5:
    case 6: /* a real server answers (now and then the mh service's, of no flow here) */
        from_ext = false;
        if (fz_rnd() % 4 == 0) {
            fl.proto = IPPROTO_TCP;
            fl.raddr = FZ_RS_MH;
            fl.rport = 80;
        }
        s = fz_server_spec(&fl);
        s.tcp_flags = server_flags[fz_rnd() % sizeof server_flags];
        s.payload = fz_payload();
        fz_vnet(&s);
        len = frame_build(buf, &s);
        break;
    case 7: /* a datagram to a service (or next to one) */
        fl.proto = IPPROTO_UDP;
        fl.vport = fz_rnd() % 8 ? 53 : 54;
        s = fz_client_spec(&fl);
        s.payload = fz_payload();
        s.udp_nocsum = fz_rnd() % 8 == 0;
        fz_vnet(&s);
        len = frame_build(buf, &s);
        break;
    case 8: /* echo request to a VIP or elsewhere */
        s = fz_client_spec(&fl);
        s.proto = IPPROTO_ICMP;
        s.daddr = fz_rnd() % 4 ? fl.vaddr : FZ_NAT;
        s.icmp_type = fz_rnd() % 8 ? 8 : (uint8_t)fz_rnd();
        s.icmp_rest = fz_rnd();
        s.payload = fz_payload();
        len = frame_build(buf, &s);
        break;
    case 9: { /* a host on the client side complains about what the VIP sent */
        struct frame_spec inner = fz_server_spec(&fl);
        inner.saddr = fl.vaddr;
        inner.sport = fl.vport;
        s = fz_client_spec(&fl);
        s.saddr = fz_rnd() % 2 ? fl.caddr : FZ_IP4(192, 0, 2, 254);
        len = fz_icmp_error(buf, &s, &inner);
        break;
    }
    case 10: { /* ... or a real server (or its router) about what it got */
        from_ext = false;
        struct frame_spec inner = fz_client_spec(&fl);
        inner.daddr = fl.raddr;
        inner.dport = fl.rport;
        s = fz_server_spec(&fl);
        if (fz_rnd() % 4 == 0)
            s.saddr = FZ_IP4(203, 0, 113, 254);
        len = fz_icmp_error(buf, &s, &inner);
        break;
    }
    case 11: { /* fragments: the first (with the L4 header) or a later one */
        from_ext = fz_rnd() % 2;
        s = from_ext ? fz_client_spec(&fl) : fz_server_spec(&fl);
        s.ip_id = (uint16_t)(0x4000 + fz_rnd() % 4);
        s.payload = 8 * (1 + fz_rnd() % 200);
        if (fz_rnd() % 2) {
            s.frag = IP_MF_;
            s.udp_len = (uint16_t)(8 + s.payload + 800);
        } else {
            s.frag = (uint16_t)((fz_rnd() % 2 ? IP_MF_ : 0) | (1 + fz_rnd() % 200));
            s.no_l4_header = true;
        }
        len = frame_build(buf, &s);
        break;
    }
    case 12: { /* ARP: for a VIP, for the NAT address, a server's reply, anything */
        uint8_t smac[6], tha[6] = { 0 };
        static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
        unsigned k = fz_rnd() % 4;
        uint32_t spa, tpa;
        uint16_t op = 1;
        if (k == 0) {
            fz_client_mac(smac, 254);
            spa = FZ_ROUTER;
            tpa = fz_rnd() % 2 ? FZ_VIP : FZ_VIP2;
        } else if (k == 1) {
            from_ext = false;
            fpenv_rs_mac(fl.raddr, smac);
            spa = fl.raddr;
            tpa = FZ_NAT;
        } else if (k == 2) {
            from_ext = false;
            fpenv_rs_mac(fl.raddr, smac);
            smac[4] = (uint8_t)(fz_rnd() % 2); /* sometimes a replaced server */
            spa = fl.raddr;
            tpa = FZ_NAT;
            op = 2;
            memcpy(tha, INT_MAC, 6);
        } else {
            from_ext = fz_rnd() % 2;
            for (unsigned i = 0; i < 6; i++)
                smac[i] = (uint8_t)fz_rnd();
            spa = fz_rnd();
            tpa = fz_rnd() % 2 ? FZ_VIP : fz_rnd();
            op = (uint16_t)(fz_rnd() % 4);
        }
        len = frame_build_arp(buf, op, smac, op == 1 ? bcast : from_ext ? EXT_MAC : INT_MAC, smac, spa, tha,
                              tpa);
        len = op == 1 && fz_rnd() % 4 == 0 ? FRAME_VNET_LEN + 42 : len; /* unpadded */
        break;
    }
    case 13: /* TTL running out */
        from_ext = fz_rnd() % 2;
        s = from_ext ? fz_client_spec(&fl) : fz_server_spec(&fl);
        s.tcp_flags = TH_SYN_;
        s.ttl = (uint8_t)(1 + fz_rnd() % 2);
        s.payload = fz_payload();
        len = frame_build(buf, &s);
        break;
    default: /* other protocols, to a VIP or from a server */
        from_ext = fz_rnd() % 2;
        s = from_ext ? fz_client_spec(&fl) : fz_server_spec(&fl);
        s.proto = fz_rnd() % 2 ? 47 : IPPROTO_UDP;
        s.frag = fz_rnd() % 4 ? IP_DF_ : 0;
        s.payload = fz_payload();
        len = frame_build(buf, &s);
        break;
    }
    /* Control: the side, valid checksums kept (bit 1 set half of the time: a mutation is
     * then repaired), now and then the clock moves, rarely a server is dropped. */
    unsigned k = fz_rnd() % FZ_CODE_ODDS;
    unsigned code = k < FZ_JUMP_ODDS                  ? FZ_CODE_JUMP + fz_rnd() % 4
                    : k < FZ_JUMP_ODDS + FZ_DROP_ODDS ? FZ_CODE_DROP
                    : k < FZ_JUMP_ODDS + FZ_DROP_ODDS + FZ_STEP_ODDS ? FZ_CODE_STEP + fz_rnd() % 4
                                                                      : 0;
    if (flood)
        code = 0;
    d[0] = (uint8_t)((from_ext ? 1 : 0) | (fz_rnd() % 2 ? 2 : 0) | code << 2);
    return 1 + len;
}

/* A few random edits of the frame after the control byte: bits, headers, vnet header, length
 * fields, truncation, extension; now and then the side is swapped. */
static size_t fz_mutate(uint8_t *d, size_t len)
{
    unsigned n = 1 + fz_rnd() % 4;
    const size_t eth = 1 + FRAME_VNET_LEN, ip = eth + 14;
    for (unsigned k = 0; k < n; k++) {
        switch (fz_rnd() % 10) {
        case 0:
            if (len > 1)
                d[1 + fz_rnd() % (len - 1)] ^= (uint8_t)(1u << (fz_rnd() % 8));
            break;
        case 1: /* somewhere in the headers */
            if (len > 1)
                d[1 + fz_rnd() % (len - 1 < 140 ? len - 1 : 140)] = (uint8_t)fz_rnd();
            break;
        case 2: /* vnet header */
            d[1 + fz_rnd() % FRAME_VNET_LEN] = (uint8_t)fz_rnd();
            break;
        case 3: /* version / ihl */
            d[ip] = (uint8_t)fz_rnd();
            break;
        case 4: /* total length */
            put16(d + ip + 2, fz_rnd() % 2 ? (uint16_t)fz_rnd() : (uint16_t)(len - ip + fz_rnd() % 9 - 4));
            break;
        case 5: /* TCP data offset and flags, UDP length, ICMP type and code */
            d[ip + (d[ip] & 0x0f) * 4 + fz_rnd() % 14] = (uint8_t)fz_rnd();
            break;
        case 6:
            len = 1 + fz_rnd() % len;
            break;
        case 7: {
            size_t add = fz_rnd() % 64;
            for (size_t i = 0; i < add && len < 1 + FZ_BUF_SIZE; i++)
                d[len++] = (uint8_t)fz_rnd();
            break;
        }
        case 8: /* fragment field */
            put16(d + ip + 6, (uint16_t)fz_rnd());
            break;
        default:
            d[0] ^= 1;
            break;
        }
    }
    return len;
}

/* The stream's next input (into d, room for 1 + FZ_BUF_SIZE + 64 bytes). */
static size_t fz_next(uint8_t *d)
{
    memset(d, 0, 1 + FRAME_VNET_LEN + 14 + 60 + 160);
    size_t len = fz_build(d);
    if (fz_rnd() % 2)
        len = fz_mutate(d, len);
    return len;
}

/* After a client's TCP/UDP packet went on to a real server: remember the flow. */
static void fz_follow(const uint8_t *d, size_t len)
{
    const uint8_t *in = d + 1 + FRAME_VNET_LEN, *out = fz_last_out + FRAME_VNET_LEN;
    if (!(d[0] & 1) || fz_last_verdict != FP_VERDICT_TX_INT || len < 1 + FRAME_VNET_LEN + 14 + 20 + 8 ||
        fz_last_len < FRAME_VNET_LEN + 14 + 20 + 8 || get16(out + 12) != 0x0800 || ihlof(out) != 20)
        return;
    uint8_t proto = out[14 + 9];
    if ((proto != IPPROTO_TCP && proto != IPPROTO_UDP) || (get16(out + 14 + 6) & IP_OFFMASK_) || ihlof(in) != 20)
        return;
    struct fz_flow fl = {
        .proto = proto, .caddr = get32(out + 14 + 12), .vaddr = get32(in + 14 + 16), .raddr = get32(out + 14 + 16),
        .cport = get16(out + 34), .vport = get16(in + 36), .rport = get16(out + 36),
    };
    fz_flows[fz_n_flows++ % FZ_FLOWS] = fl;
}

static uint8_t fz_in[1 + FZ_BUF_SIZE + 64];

/* A seed: the stream's next input, run so that the seeds after it follow the flows it made. */
static size_t fz_next_run(uint8_t *d)
{
    size_t len = fz_next(d);
    LLVMFuzzerTestOneInput(d, len);
    fz_follow(d, len);
    return len;
}

#ifndef FZ_ITERATIONS
#define FZ_ITERATIONS 300000u
#endif

int main(int argc, char **argv)
{
    int status = fz_standalone_args(argc, argv, fz_next_run, fz_in);
    if (status >= 0)
        return status;
    unsigned tx = 0;
    for (unsigned i = 0; i < FZ_ITERATIONS; i++) {
        size_t len = fz_next(fz_in);
        LLVMFuzzerTestOneInput(fz_in, len);
        tx += fz_last_verdict != FP_VERDICT_DROP;
        fz_follow(fz_in, len);
    }
    const struct fastpath_stats *s = &fz_fp.stats;
    uint64_t evicted = 0;
    for (unsigned k = 0; k < CONN_C_EVICTABLE; k++)
        evicted += fz_fp.conns.stats.evicted[k];
    printf("%u frames: %u sent (ext %llu, int %llu), %llu dropped; %llu connections made, %llu expired, %llu "
           "evicted\n",
           FZ_ITERATIONS, tx, (unsigned long long)s->tx_ext, (unsigned long long)s->tx_int,
           (unsigned long long)fz_drops(s), (unsigned long long)fz_fp.conns.stats.created,
           (unsigned long long)fz_fp.conns.stats.expired, (unsigned long long)evicted);
    unsigned unused = 0;
    for (unsigned i = 0; i < FP_DROP_COUNT; i++) {
        printf("  dropped (%s): %llu\n", fastpath_drop_name((enum fp_drop)i), (unsigned long long)s->drops[i]);
        unused += s->drops[i] == 0;
    }
    printf("  arp replies %llu, echo replies %llu, resets %llu (%llu of %llu entries of dropped servers), "
           "too big %llu, port unreachable %llu, icmp translated %llu, stateless replies %llu\n",
           (unsigned long long)s->arp_replies, (unsigned long long)s->echo_replies,
           (unsigned long long)s->resets_sent, (unsigned long long)fz_marked_answered,
           (unsigned long long)fz_marked, (unsigned long long)s->icmp_too_big_sent,
           (unsigned long long)s->icmp_unreach_sent, (unsigned long long)s->icmp_translated,
           (unsigned long long)s->stateless_replies);
    /* The stream must reach the fast path's verdicts broadly, or it tests little. */
    bool broad = tx > FZ_ITERATIONS / 10 && s->tx_ext && s->tx_int && s->arp_replies && s->echo_replies &&
                 s->resets_sent && fz_marked_answered && s->icmp_too_big_sent && s->icmp_unreach_sent && s->icmp_translated &&
                 evicted && s->drops[FP_DROP_RATE_LIMITED] && s->stateless_replies && unused <= 2;
    if (!broad)
        fprintf(stderr, "the frame stream reaches too little of the fast path\n");
    return broad ? 0 : 1;
}
#endif
