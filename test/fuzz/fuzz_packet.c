/* fuzz_packet: packet_parse and the NAT rewrites on arbitrary bytes.
 *
 * libFuzzer (clang, -DRAWLB_FUZZ=ON):  fuzz_packet [-max_total_time=60] [CORPUS_DIR]
 * Standalone (any compiler, -DRAWLB_FUZZ_STANDALONE; test/unit/test_packet_fuzz.c includes this
 * file that way):  with file arguments, replays them (crash reproduction without libFuzzer);
 * without, feeds a deterministic corpus of mutated frames; --write-corpus DIR N writes N seeds.
 *
 * Each input is parsed from an exact-size heap copy (so a sanitizer sees any read past the end).
 * On PARSE_OK the rewrites run with needs_csum false and true, twice: on the bytes as given, and
 * on a copy whose checksums were first made valid, where these must hold afterwards:
 *   - the IP header checksum and (for unfragmented TCP/UDP) the L4 checksum still verify, checked
 *     by the reference sum of test/unit/frames.h (no code shared with packet.c); a UDP checksum
 *     of 0 stays 0, a non-zero one never becomes 0;
 *   - with needs_csum the L4 field moves exactly by the pseudo-header address change;
 *   - the parse of the rewritten bytes gives the new addresses and ports, the rest unchanged;
 *   - what parsed OK has its headers inside the datagram (TCP data offset, UDP header);
 *   - packet_dec_ttl refuses TTL 0 and 1 and then changes nothing. */
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frames.h"
#include "fuzz.h"
#include "packet.h"

/* One's complement equality: 0 and 0xffff are both zero. */
static bool fz_same(uint16_t a, uint16_t b)
{
    return (a == 0xffff ? 0 : a) == (b == 0xffff ? 0 : b);
}

static uint16_t fz_addr_sum(const struct parsed *p) { return ref_fold(ref_sum(p->ip + 12, 8, 0)); }

/* The checksum helpers of frames.h (ip_csum_ok, l4_csum_ok, pseudo_sum) take the frame, p->eth,
 * and read the header lengths from its bytes: what parsed OK has its IP header at p->eth + 14
 * with those lengths (asserted in fz_rewrite). */

/* Where the TCP/UDP checksum is when the whole segment is here, or NULL. */
static uint8_t *fz_l4_check(const struct parsed *p)
{
    if (!p->l4 || packet_is_fragment(p))
        return NULL;
    if (p->proto == IPPROTO_TCP)
        return p->l4 + 16;
    if (p->proto == IPPROTO_UDP)
        return p->l4 + 6;
    return NULL;
}

/* Makes the IP and L4 checksums of a parsed frame valid (a UDP 0 stays "no checksum"). */
static void fz_fix_checksums(const struct parsed *p)
{
    put16(p->ip + 10, 0);
    put16(p->ip + 10, (uint16_t)~ref_fold(ref_sum(p->ip, p->ip_hlen, 0)));
    uint8_t *check = fz_l4_check(p);
    if (!check || (p->proto == IPPROTO_UDP && get16(check) == 0))
        return;
    put16(check, 0);
    uint16_t c = (uint16_t)~ref_fold(ref_sum(p->l4, p->l4_len, pseudo_sum(p->eth)));
    put16(check, p->proto == IPPROTO_UDP && c == 0 ? 0xffff : c);
}

/* Rewrite values derived from the input, so they vary with it. */
struct fz_values {
    uint32_t daddr, saddr;
    uint16_t dport, sport;
    unsigned ops; /* which rewrites to do */
};

static struct fz_values fz_values_of(const uint8_t *data, size_t size)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 16777619u;
    struct fz_values v = {
        .daddr = h * 0x9e3779b1u, .saddr = h ^ 0x5bd1e995u, .dport = (uint16_t)(h >> 7),
        .sport = (uint16_t)(h >> 19), .ops = h >> 27,
    };
    return v;
}

static void fz_rewrite(uint8_t *frame, size_t size, const struct fz_values *v, bool needs_csum, bool fixed)
{
    struct parsed p;
    if (packet_parse(frame, size, &p) != PARSE_OK)
        return;
    FUZZ_ASSERT(p.ip_len >= p.ip_hlen && p.ip_len <= size - ETH_HLEN_);
    FUZZ_ASSERT(p.ip == frame + ETH_HLEN_);
    FUZZ_ASSERT(!p.l4 || (p.l4 == p.ip + p.ip_hlen && p.l4_len == p.ip_len - p.ip_hlen));
    FUZZ_ASSERT(p.l4 || (p.sport == 0 && p.dport == 0));
    FUZZ_ASSERT(p.l4 || !packet_is_first_fragment(&p));
    if (p.l4 && p.proto == IPPROTO_TCP)
        FUZZ_ASSERT((size_t)(p.l4[12] >> 4) * 4 >= 20 && (size_t)(p.l4[12] >> 4) * 4 <= p.l4_len);
    if (p.l4 && p.proto == IPPROTO_UDP)
        FUZZ_ASSERT(p.l4_len >= 8);
    if (fixed)
        fz_fix_checksums(&p);

    bool ip_ok = ip_csum_ok(p.eth);
    uint8_t *check = fz_l4_check(&p);
    uint16_t check_before = check ? get16(check) : 0;
    bool l4_ok = check && !needs_csum && !(p.proto == IPPROTO_UDP && check_before == 0) && l4_csum_ok(p.eth);
    uint16_t addr_before = fz_addr_sum(&p);
    bool has_ports = p.l4 && (p.proto == IPPROTO_TCP || p.proto == IPPROTO_UDP);
    uint32_t want_saddr = p.saddr, want_daddr = p.daddr;
    uint16_t want_sport = p.sport, want_dport = p.dport;
    uint8_t ttl = p.ip[8];
    uint8_t proto = p.proto;

    if (v->ops & 1) {
        packet_set_daddr(&p, v->daddr, needs_csum);
        want_daddr = v->daddr;
    }
    if (v->ops & 2) {
        packet_set_dport(&p, v->dport, needs_csum);
        if (has_ports)
            want_dport = v->dport;
    }
    if (v->ops & 4) {
        packet_set_saddr(&p, v->saddr, needs_csum);
        want_saddr = v->saddr;
    }
    if (v->ops & 8) {
        packet_set_sport(&p, v->sport, needs_csum);
        if (has_ports)
            want_sport = v->sport;
    }
    if (v->ops & 16) {
        uint8_t *copy = malloc(size);
        FUZZ_ASSERT(copy);
        memcpy(copy, frame, size);
        bool ok = packet_dec_ttl(&p);
        FUZZ_ASSERT(ok == (ttl > 1));
        if (ok)
            FUZZ_ASSERT(p.ip[8] == ttl - 1);
        else
            FUZZ_ASSERT(memcmp(copy, frame, size) == 0);
        free(copy);
    }

    if (ip_ok)
        FUZZ_ASSERT(ip_csum_ok(p.eth));
    if (check) {
        uint16_t after = get16(check);
        if (needs_csum) {
            /* field - address sum is invariant (ports and TTL are not in the pseudo-header) */
            uint16_t d_before = ref_fold((uint64_t)check_before + (uint16_t)~addr_before);
            uint16_t d_after = ref_fold((uint64_t)after + (uint16_t)~fz_addr_sum(&p));
            FUZZ_ASSERT(fz_same(d_before, d_after));
        } else if (proto == IPPROTO_UDP && check_before == 0) {
            FUZZ_ASSERT(after == 0);
        } else {
            if (l4_ok)
                FUZZ_ASSERT(l4_csum_ok(p.eth));
            if (proto == IPPROTO_UDP)
                FUZZ_ASSERT(after != 0);
        }
    }

    struct parsed q;
    FUZZ_ASSERT(packet_parse(frame, size, &q) == PARSE_OK);
    FUZZ_ASSERT(q.saddr == want_saddr && q.daddr == want_daddr);
    FUZZ_ASSERT(q.sport == want_sport && q.dport == want_dport);
    FUZZ_ASSERT(p.saddr == want_saddr && p.daddr == want_daddr);
    FUZZ_ASSERT(p.sport == want_sport && p.dport == want_dport);
    FUZZ_ASSERT(q.ip_len == p.ip_len && q.l4_len == p.l4_len && q.proto == p.proto);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size copies: a read beyond the frame is a heap overflow the sanitizer reports. */
    uint8_t *frame = malloc(size ? size : 1);
    if (!frame)
        return 0;
    struct fz_values v = fz_values_of(data, size);
    for (unsigned run = 0; run < 4; run++) {
        if (size)
            memcpy(frame, data, size);
        fz_rewrite(frame, size, &v, run & 1, run & 2);
    }
    free(frame);
    return 0;
}

#ifdef RAWLB_FUZZ_STANDALONE
/* ---- the standalone driver: deterministic corpus of frames, valid and mutated ---- */

#define FZ_FRAME_MAX 2048

/* A well-formed frame with valid checksums, of a random shape; returns its length. */
static size_t fz_build(uint8_t *f)
{
    static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDP, IPPROTO_ICMP, 47 };
    memset(f, 0, FZ_FRAME_MAX);
    for (unsigned i = 0; i < 12; i++)
        f[i] = (uint8_t)fz_rnd();
    put16(f + 12, fz_rnd() % 16 ? 0x0800 : (uint16_t)fz_rnd());
    uint8_t *ip = f + ETH_HLEN_;
    size_t ihl = fz_rnd() % 4 ? 5 : 5 + fz_rnd() % 11;
    uint8_t proto = protos[fz_rnd() % sizeof protos];
    size_t l4h = proto == IPPROTO_TCP ? (fz_rnd() % 3 ? 5 : 5 + fz_rnd() % 11) * 4 : 8;
    size_t payload = fz_rnd() % 4 ? fz_rnd() % 64 : fz_rnd() % 1400;
    size_t tot = ihl * 4 + l4h + payload;
    ip[0] = (uint8_t)(0x40 | ihl);
    put16(ip + 2, (uint16_t)tot);
    put16(ip + 4, (uint16_t)fz_rnd());
    uint16_t frag = fz_rnd() % 8 ? IP_DF_ : (uint16_t)(fz_rnd() & (IP_MF_ | IP_OFFMASK_));
    put16(ip + 6, frag);
    ip[8] = fz_rnd() % 8 ? (uint8_t)(2 + fz_rnd() % 254) : (uint8_t)(fz_rnd() % 3);
    ip[9] = proto;
    for (size_t i = 12; i < tot; i++)
        ip[i] = (uint8_t)fz_rnd();
    uint8_t *l4 = ip + ihl * 4;
    if (proto == IPPROTO_TCP)
        l4[12] = (uint8_t)((l4h / 4) << 4 | (l4[12] & 0x0f));
    if (proto == IPPROTO_UDP) {
        put16(l4 + 4, (uint16_t)(l4h + payload));
        if (fz_rnd() % 8 == 0)
            put16(l4 + 6, 0); /* no checksum */
        else
            put16(l4 + 6, 1); /* fixed below */
    }
    size_t len = ETH_HLEN_ + tot + (fz_rnd() % 8 ? 0 : fz_rnd() % 32); /* Ethernet padding */
    struct parsed p;
    if (packet_parse(f, len, &p) == PARSE_OK)
        fz_fix_checksums(&p);
    return len;
}

/* A few random edits: byte flips, header bytes, length fields, truncation, extension. */
static size_t fz_mutate(uint8_t *f, size_t len)
{
    unsigned n = 1 + fz_rnd() % 4;
    for (unsigned k = 0; k < n; k++) {
        switch (fz_rnd() % 8) {
        case 0:
            if (len)
                f[fz_rnd() % len] ^= (uint8_t)(1u << (fz_rnd() % 8));
            break;
        case 1: /* somewhere in the headers */
            if (len)
                f[fz_rnd() % (len < 120 ? len : 120)] = (uint8_t)fz_rnd();
            break;
        case 2: /* version / ihl */
            f[14] = (uint8_t)fz_rnd();
            break;
        case 3: /* total length */
            put16(f + 16, fz_rnd() % 2 ? (uint16_t)fz_rnd() : (uint16_t)(len - 14 + fz_rnd() % 9 - 4));
            break;
        case 4: /* TCP data offset, UDP length */
            f[14 + (f[14] & 0x0f) * 4 + 12] = (uint8_t)fz_rnd();
            break;
        case 5:
            len = fz_rnd() % (len + 1);
            break;
        case 6: {
            size_t add = fz_rnd() % 64;
            for (size_t i = 0; i < add && len < FZ_FRAME_MAX; i++)
                f[len++] = (uint8_t)fz_rnd();
            break;
        }
        default: /* fragment field */
            put16(f + 20, (uint16_t)fz_rnd());
            break;
        }
    }
    return len;
}

static size_t fz_next(uint8_t *f)
{
    size_t len = fz_build(f);
    if (fz_rnd() % 2)
        len = fz_mutate(f, len);
    return len;
}

#ifndef FZ_ITERATIONS
#define FZ_ITERATIONS 200000u
#endif

int main(int argc, char **argv)
{
    static uint8_t f[FZ_FRAME_MAX];
    int status = fz_standalone_args(argc, argv, fz_next, f);
    if (status >= 0)
        return status;
    unsigned parsed_ok = 0;
    for (unsigned i = 0; i < FZ_ITERATIONS; i++) {
        size_t len = fz_next(f);
        struct parsed p;
        uint8_t copy[FZ_FRAME_MAX];
        memcpy(copy, f, len);
        parsed_ok += packet_parse(copy, len, &p) == PARSE_OK;
        LLVMFuzzerTestOneInput(f, len);
    }
    printf("%u frames, %u parsed OK\n", FZ_ITERATIONS, parsed_ok);
    /* Both kinds must be well represented, or the corpus tests little. */
    return parsed_ok > FZ_ITERATIONS / 4 && parsed_ok < FZ_ITERATIONS - FZ_ITERATIONS / 10 ? 0 : 1;
}
#endif
