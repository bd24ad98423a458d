/* test_replay_frame: rawlb-replay's frame helpers and capture loading (tools/replay/frame.c,
 * flowtab.c, trace.c, compiled into this test): address and port rewrites keep every checksum
 * right (checked with the reference sums of frames.h, no code shared with frame.c), a UDP
 * checksum of 0 stays 0, full recomputation repairs a broken sum, the stamp reads back, the flow
 * table finds flows again and counts what does not fit, and the shipped capture loads with only
 * the clients' side kept, every template rewritten to the target with valid checksums. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"
#include "frames.h"

#include "../../tools/replay/frame.c"
#include "../../tools/replay/flowtab.c"
#include "../../tools/replay/trace.c"

volatile int replay_stop;

/* tools/replay/NAME in the source tree, found from this file's path (CMake compiles it by its
 * absolute path) */
static const char *source_file(const char *name, char *buf, size_t len)
{
    const char *me = __FILE__, *cut = strstr(me, "test/unit/");
    snprintf(buf, len, "%.*stools/replay/%s", cut ? (int)(cut - me) : 0, me, name);
    return buf;
}

static size_t build(uint8_t *buf, uint8_t proto, bool nocsum, size_t payload)
{
    struct frame_spec s = { .saddr = 0xc6336414, .daddr = 0xc633640a, .proto = proto, .sport = 40000,
                            .dport = proto == IPPROTO_TCP ? 80 : 53, .tcp_flags = 0x02, .seq = 7,
                            .payload = payload, .udp_nocsum = nocsum };
    size_t n = frame_build(buf, &s);
    memmove(buf, buf + FRAME_VNET_LEN, n - FRAME_VNET_LEN);
    return n - FRAME_VNET_LEN;
}

static void test_rewrites(void)
{
    for (int proto = 0; proto < 2; proto++) {
        uint8_t f[600];
        uint8_t p = proto ? IPPROTO_UDP : IPPROTO_TCP;
        size_t len = build(f, p, false, 101); /* odd length: the last byte is padded */
        struct hdrs h;
        CHECK(frame_parse(f, len, &h));
        CHECK_EQ_U(h.proto, p);
        CHECK_EQ_U(h.l4, 34);
        CHECK_EQ_U(h.payload, 34 + (proto ? 8u : 20u));
        CHECK(ip_csum_ok(f) && l4_csum_ok(f));
        frame_set_dst(f, &h, htonl(0xcb00710b), htons(8080));
        CHECK_EQ_U(get32(f + 30), 0xcb00710b);
        CHECK_EQ_U(get16(f + 36), 8080);
        CHECK(ip_csum_ok(f));
        CHECK(l4_csum_ok(f));
        frame_set_src(f, &h, htonl(0xc6336481));
        CHECK_EQ_U(get32(f + 26), 0xc6336481);
        CHECK(ip_csum_ok(f) && l4_csum_ok(f));
        /* a broken sum (as captured with checksum offload) is repaired by recomputing */
        f[24] ^= 0x5a;
        put16(l4of(f) + l4checkoff(p), 0x1234);
        frame_fix_csums(f, &h);
        CHECK(ip_csum_ok(f) && l4_csum_ok(f));
    }
    uint8_t f[200];
    size_t len = build(f, IPPROTO_UDP, true, 30);
    struct hdrs h;
    CHECK(frame_parse(f, len, &h));
    frame_set_dst(f, &h, htonl(0xcb00710b), htons(9));
    frame_set_src(f, &h, htonl(0x01020304));
    frame_fix_csums(f, &h);
    CHECK_EQ_U(l4_check(f), 0); /* no checksum stays none */
    CHECK(ip_csum_ok(f));
    /* truncated and non-IPv4 frames are refused */
    CHECK(!frame_parse(f, 30, &h));
    put16(f + 12, 0x0806);
    CHECK(!frame_parse(f, len, &h));
}

static void test_incremental_vectors(void)
{
    /* RFC 1624 section 4: HC 0xdd2f, m 0x5555 -> m' 0x3285 gives 0x0000 */
    CHECK_EQ_U(csum_replace2(0xdd2f, 0x5555, 0x3285), 0x0000);
    CHECK_EQ_U(csum_replace2(0x1234, 0xabcd, 0xabcd), 0x1234);
}

static void test_stamp(void)
{
    uint8_t b[STAMP_LEN + 4];
    struct stamp s = { .flow = 7, .seq = 0xfffffffe, .ts_ns = 0x0123456789abcdefull }, r;
    stamp_write(b, &s);
    CHECK(stamp_read(b, sizeof b, &r));
    CHECK_EQ_U(r.flow, 7);
    CHECK_EQ_U(r.seq, 0xfffffffe);
    CHECK_EQ_U(r.ts_ns, 0x0123456789abcdefull);
    CHECK(!stamp_read(b, STAMP_LEN - 1, &r));
    b[0] ^= 1;
    CHECK(!stamp_read(b, sizeof b, &r));
}

static void test_flowtab(void)
{
    struct flowtab ft;
    CHECK(flowtab_init(&ft, 10));
    uint32_t cap = ft.max_used;
    for (uint32_t i = 0; i < cap; i++) {
        struct flow_key k = { .saddr = i, .daddr = 1, .sport = (uint16_t)i, .dport = 53, .proto = 17 };
        struct flow *f = flowtab_get(&ft, &k);
        CHECK(f != NULL);
        if (f)
            f->pkts = i + 1;
    }
    for (uint32_t i = 0; i < cap; i++) {
        struct flow_key k = { .saddr = i, .daddr = 1, .sport = (uint16_t)i, .dport = 53, .proto = 17 };
        struct flow *f = flowtab_get(&ft, &k);
        CHECK(f && f->pkts == i + 1);
    }
    struct flow_key k = { .saddr = 0xffffffff, .proto = 6 };
    CHECK(flowtab_get(&ft, &k) == NULL); /* full: counted, not grown */
    CHECK_EQ_U(ft.overflow, 1);
    CHECK_EQ_U(ft.used, cap);
    flowtab_free(&ft);
}

static void test_capture(void)
{
    struct trace tr;
    char err[256] = "";
    struct target tg = { .src_mac = { 2, 0, 0, 0, 0, 1 }, .dst_mac = { 2, 0, 0, 0, 0, 2 },
                         .dst_addr = htonl(0xcb007164), .dst_port = 0 };
    char path[4096];
    CHECK(trace_load(&tr, source_file("mixed.pcap", path, sizeof path), &tg, err, sizeof err));
    if (err[0])
        fprintf(stderr, "%s\n", err);
    CHECK(tr.n > 100);
    CHECK_EQ_U(tr.read, tr.n + tr.skipped_reply + tr.skipped_other + tr.skipped_truncated + tr.skipped_big);
    CHECK(tr.skipped_reply > 100);
    CHECK_EQ_U(tr.skipped_other + tr.skipped_truncated + tr.skipped_big, 0);
    CHECK(tr.nflows >= 100);
    CHECK(tr.nsrc > 1 && tr.nsrc <= 40);
    uint64_t syns = 0, last_ts = 0;
    for (size_t i = 0; i < tr.n; i++) {
        uint8_t *f = tr.t[i].data;
        CHECK(!memcmp(f, tg.dst_mac, 6) && !memcmp(f + 6, tg.src_mac, 6));
        CHECK_EQ_U(get32(f + 30), 0xcb007164);
        uint16_t dport = get16(f + 36);
        CHECK(dport == 80 || dport == 53); /* only the clients' side: to the server's ports */
        CHECK(ip_csum_ok(f) && l4_csum_ok(f));
        CHECK(tr.t[i].ts_ns >= last_ts);
        last_ts = tr.t[i].ts_ns;
        if (f[23] == IPPROTO_TCP && (f[47] & 0x12) == 0x02)
            syns++;
    }
    CHECK(syns > 10);
    CHECK(tr.span_ns > last_ts);
    trace_free(&tr);
    CHECK(!trace_load(&tr, source_file("no-such.pcap", path, sizeof path), &tg, err, sizeof err));
}

int main(void)
{
    test_rewrites();
    test_incremental_vectors();
    test_stamp();
    test_flowtab();
    test_capture();
    CHECK_DONE();
}
