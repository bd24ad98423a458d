/* test_hamsg: the HA wire format of ha/hamsg.h. Golden bytes for the datagram header (with its
 * HMAC recomputed by libsodium's one-shot call) and for each payload; round trips of every
 * payload at its sizes (heartbeats of 0..HA_MAX_SECTIONS sections, SYNC with 0..max records,
 * configuration chunks reassembled, acks), alone and sealed; every decoder refusal; the wrong
 * key, every bit flipped, every truncation; the size limits; the anti-replay window. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"
#include "hamsg.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static struct ha_key key_of(uint8_t first, size_t len)
{
    struct ha_key k = { .len = len };
    for (size_t i = 0; i < HA_KEY_MAX; i++)
        k.bytes[i] = (uint8_t)(first + i);
    return k;
}

static const struct ha_header hdr = { .type = HA_MSG_SYNC, .node = 0x0102030405060708ull,
                                      .epoch = 0x1112131415161718ull, .seq = 0x2122232425262728ull };

/* ---- payload builders and comparisons (field by field: structs have padding) ---- */

static void fill_heartbeat(struct ha_heartbeat *hb, unsigned n)
{
    memset(hb, 0, sizeof *hb);
    hb->state = (uint8_t)(rnd() % HA_STATE_COUNT);
    hb->role = rnd() % 2 ? HA_ROLE_PRIMARY : HA_ROLE_BACKUP;
    hb->flags = (uint16_t)rnd();
    hb->n_sections = (uint16_t)n;
    for (unsigned i = 0; i < n; i++) {
        struct ha_section *s = &hb->sections[i];
        s->kind = i == 0 ? HA_SECTION_GLOBALS : HA_SECTION_SERVICE;
        if (s->kind == HA_SECTION_SERVICE) {
            s->proto = rnd() % 2 ? IPPROTO_TCP : IPPROTO_UDP;
            s->port = (uint16_t)rnd();
            s->addr = rnd();
        }
        for (unsigned j = 0; j < HA_DIGEST_LEN; j++)
            s->digest[j] = (uint8_t)rnd();
    }
}

static bool section_eq(const struct ha_section *a, const struct ha_section *b)
{
    return a->kind == b->kind && a->proto == b->proto && a->port == b->port && a->addr == b->addr &&
           memcmp(a->digest, b->digest, HA_DIGEST_LEN) == 0;
}

static bool heartbeat_eq(const struct ha_heartbeat *a, const struct ha_heartbeat *b)
{
    if (a->state != b->state || a->role != b->role || a->flags != b->flags || a->n_sections != b->n_sections)
        return false;
    for (unsigned i = 0; i < a->n_sections; i++)
        if (!section_eq(&a->sections[i], &b->sections[i]))
            return false;
    return true;
}

static void fill_record(struct ha_record *r)
{
    r->kind = (uint8_t)(HA_REC_UPSERT + rnd() % 4);
    r->proto = (uint8_t)rnd();
    r->state = (uint8_t)rnd();
    r->flags = (uint8_t)rnd();
    r->caddr = rnd();
    r->vaddr = rnd();
    r->daddr = rnd();
    r->cport = (uint16_t)rnd();
    r->vport = (uint16_t)rnd();
    r->dport = (uint16_t)rnd();
    for (unsigned j = 0; j < sizeof r->client_mac; j++)
        r->client_mac[j] = (uint8_t)rnd();
    r->lifetime = rnd();
}

static bool record_eq(const struct ha_record *a, const struct ha_record *b)
{
    return a->kind == b->kind && a->proto == b->proto && a->state == b->state && a->flags == b->flags &&
           a->caddr == b->caddr && a->vaddr == b->vaddr && a->daddr == b->daddr && a->cport == b->cport &&
           a->vport == b->vport && a->dport == b->dport &&
           memcmp(a->client_mac, b->client_mac, sizeof a->client_mac) == 0 && a->lifetime == b->lifetime;
}

static void fill_records(struct ha_sync *s, unsigned n)
{
    memset(s, 0, sizeof *s);
    s->stream_seq = (uint64_t)rnd() << 32 | rnd();
    s->body = HA_SYNC_RECORDS;
    s->count = (uint16_t)n;
    for (unsigned i = 0; i < n; i++)
        fill_record(&s->records[i]);
}

static bool sync_eq(const struct ha_sync *a, const struct ha_sync *b)
{
    if (a->stream_seq != b->stream_seq || a->body != b->body || a->count != b->count)
        return false;
    if (a->body == HA_SYNC_CONFIG)
        return a->config_total == b->config_total && a->config_offset == b->config_offset &&
               memcmp(a->config, b->config, a->count) == 0;
    for (unsigned i = 0; i < a->count; i++)
        if (!record_eq(&a->records[i], &b->records[i]))
            return false;
    return true;
}

/* Seals the payload with the test key and opens it again: the payload must come back as it went. */
static void check_sealed(uint8_t type, const uint8_t *payload, size_t plen)
{
    struct ha_key key = key_of(1, 32);
    struct ha_header h = hdr, got;
    h.type = type;
    uint8_t dgram[HA_DATAGRAM_MAX];
    size_t n = ha_msg_seal(&key, &h, payload, plen, dgram, sizeof dgram);
    CHECK_EQ_U(n, HA_HEADER_LEN + plen + HA_MAC_LEN);
    const uint8_t *p = NULL;
    size_t pl = 0;
    CHECK_EQ_U(ha_msg_open(&key, dgram, n, &got, &p, &pl), HA_OK);
    CHECK_EQ_U(pl, plen);
    CHECK(p == dgram + HA_HEADER_LEN && memcmp(p, payload, plen) == 0);
    CHECK(got.type == type && got.node == h.node && got.epoch == h.epoch && got.seq == h.seq);
}

/* ---- names ---- */

static void test_names(void)
{
    CHECK(strcmp(ha_verdict_name(HA_OK), "ok") == 0);
    CHECK(strcmp(ha_verdict_name(HA_BAD_LENGTH), "bad_length") == 0);
    CHECK(strcmp(ha_verdict_name(HA_BAD_MAGIC), "bad_magic") == 0);
    CHECK(strcmp(ha_verdict_name(HA_BAD_MAC), "bad_mac") == 0);
    CHECK(strcmp(ha_verdict_name(HA_BAD_PAYLOAD), "bad_payload") == 0);
    CHECK(strcmp(ha_verdict_name(HA_STALE), "stale") == 0);
    CHECK(strcmp(ha_verdict_name((enum ha_verdict)99), "?") == 0);
    CHECK(strcmp(ha_state_name(HA_STATE_BACKUP), "backup") == 0);
    CHECK(strcmp(ha_state_name(HA_STATE_MASTER), "master") == 0);
    CHECK(strcmp(ha_state_name(HA_STATE_FAULT), "fault") == 0);
    CHECK(strcmp(ha_state_name(HA_STATE_LEAVING), "leaving") == 0);
    CHECK(strcmp(ha_state_name(HA_STATE_COUNT), "?") == 0);
    CHECK(strcmp(ha_state_name(~0u), "?") == 0);
}

/* ---- golden bytes ---- */

static void test_header_golden(void)
{
    static const uint8_t want[HA_HEADER_LEN] = {
        'R',  'L',  'B',  'H',  1,    HA_MSG_SYNC, 0,    0,    /* magic, version, type, zero */
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* node */
        0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, /* epoch */
        0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, /* seq */
        0x00, 0x03, 0x00, 0x00,                         /* payload length, zero */
    };
    struct ha_key key = key_of(0, crypto_auth_hmacsha256_KEYBYTES);
    uint8_t out[HA_HEADER_LEN + 3 + HA_MAC_LEN + 1];
    memset(out, 0xee, sizeof out);
    size_t n = ha_msg_seal(&key, &hdr, (const uint8_t *)"abc", 3, out, sizeof out);
    CHECK_EQ_U(n, HA_HEADER_LEN + 3 + HA_MAC_LEN);
    CHECK(memcmp(out, want, sizeof want) == 0);
    CHECK(memcmp(out + HA_HEADER_LEN, "abc", 3) == 0);
    /* The HMAC is HMAC-SHA256 of everything before it, with the whole key. */
    CHECK(sodium_init() >= 0);
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256(mac, out, HA_HEADER_LEN + 3, key.bytes);
    CHECK(memcmp(out + HA_HEADER_LEN + 3, mac, sizeof mac) == 0);
    CHECK_EQ_U(out[n], 0xee); /* nothing written past the datagram */
    check_sealed(HA_MSG_SYNC, (const uint8_t *)"abc", 3);
}

static void test_payload_golden(void)
{
    struct ha_heartbeat hb = { .state = HA_STATE_MASTER, .role = HA_ROLE_BACKUP,
                               .flags = HA_HB_READY | HA_HB_WANT_TABLE, .n_sections = 2 };
    hb.sections[0] = (struct ha_section){ .kind = HA_SECTION_GLOBALS, .digest = { 9, 9, 9, 9, 9, 9, 9, 9 } };
    hb.sections[1] = (struct ha_section){ .kind = HA_SECTION_SERVICE, .proto = IPPROTO_TCP, .port = 80,
                                          .addr = inet_addr("198.51.100.10"),
                                          .digest = { 1, 2, 3, 4, 5, 6, 7, 8 } };
    static const uint8_t want_hb[] = {
        1, 2, 0x00, 0x09, 0, 2,                                     /* state, role, flags, n */
        0, 0, 0, 0,  0,   0,   0,   0, 9, 9, 9, 9, 9, 9, 9, 9,       /* globals */
        1, 6, 0, 80, 198, 51, 100, 10, 1, 2, 3, 4, 5, 6, 7, 8,       /* TCP 198.51.100.10:80 */
    };
    uint8_t out[HA_PAYLOAD_MAX];
    CHECK_EQ_U(ha_heartbeat_encode(&hb, out, sizeof out), sizeof want_hb);
    CHECK(memcmp(out, want_hb, sizeof want_hb) == 0);

    struct ha_sync s = { .stream_seq = 5, .body = HA_SYNC_RECORDS, .count = 1 };
    s.records[0] = (struct ha_record){
        .kind = HA_REC_UPSERT, .proto = IPPROTO_UDP, .state = 3, .flags = HA_REC_F_PERSIST,
        .caddr = inet_addr("192.0.2.7"), .vaddr = inet_addr("198.51.100.10"), .daddr = inet_addr("203.0.113.11"),
        .cport = 40000, .vport = 53, .dport = 5353, .client_mac = { 2, 0, 0, 0, 0, 0x42 }, .lifetime = 300,
    };
    static const uint8_t want_rec[] = {
        0, 0, 0, 0, 0, 0, 0, 5, HA_SYNC_RECORDS, 0, 0, 1,     /* stream seq, body, zero, count */
        1, 17, 3, 4,                                          /* kind, proto, state, flags */
        192, 0, 2, 7, 198, 51, 100, 10, 203, 0, 113, 11,      /* caddr, vaddr, daddr */
        0x9c, 0x40, 0, 53, 0x14, 0xe9,                        /* cport, vport, dport */
        2, 0, 0, 0, 0, 0x42, 0, 0, 0x01, 0x2c,                /* client MAC, lifetime */
    };
    CHECK_EQ_U(ha_sync_encode(&s, out, sizeof out), sizeof want_rec);
    CHECK(memcmp(out, want_rec, sizeof want_rec) == 0);

    struct ha_sync c = { .stream_seq = 0x0102030405060708ull, .body = HA_SYNC_CONFIG, .count = 3,
                         .config_total = 0x10000, .config_offset = 0x1234, .config = "cfg" };
    static const uint8_t want_cfg[] = {
        1, 2, 3, 4, 5, 6, 7, 8, HA_SYNC_CONFIG, 0, 0, 3, 0, 1, 0, 0, 0, 0, 0x12, 0x34, 'c', 'f', 'g',
    };
    CHECK_EQ_U(ha_sync_encode(&c, out, sizeof out), sizeof want_cfg);
    CHECK(memcmp(out, want_cfg, sizeof want_cfg) == 0);

    struct ha_ack a = { .stream_epoch = 7, .acked = 0x8000000000000001ull };
    static const uint8_t want_ack[] = { 0, 0, 0, 0, 0, 0, 0, 7, 0x80, 0, 0, 0, 0, 0, 0, 1 };
    CHECK_EQ_U(ha_ack_encode(&a, out, sizeof out), HA_ACK_LEN);
    CHECK(memcmp(out, want_ack, sizeof want_ack) == 0);
}

/* ---- round trips ---- */

static void test_heartbeat_roundtrip(void)
{
    static const unsigned sizes[] = { 0, 1, 2, 17, HA_MAX_SECTIONS - 1, HA_MAX_SECTIONS };
    for (unsigned k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        struct ha_heartbeat hb, got;
        fill_heartbeat(&hb, sizes[k]);
        uint8_t out[HA_PAYLOAD_MAX];
        size_t n = ha_heartbeat_encode(&hb, out, sizeof out);
        CHECK_EQ_U(n, HA_HEARTBEAT_FIXED + sizes[k] * HA_SECTION_LEN);
        CHECK(ha_heartbeat_decode(out, n, &got));
        CHECK(heartbeat_eq(&hb, &got));
        CHECK_EQ_U(ha_heartbeat_encode(&hb, out, n - 1), 0);
        check_sealed(HA_MSG_HEARTBEAT, out, n);
    }
}

static void test_sync_records_roundtrip(void)
{
    for (unsigned k = 0; k <= HA_SYNC_MAX_RECORDS; k++) {
        static struct ha_sync s, got;
        fill_records(&s, k);
        uint8_t out[HA_PAYLOAD_MAX];
        size_t n = ha_sync_encode(&s, out, sizeof out);
        CHECK_EQ_U(n, HA_SYNC_FIXED + k * HA_RECORD_LEN);
        CHECK(ha_sync_decode(out, n, &got));
        CHECK(sync_eq(&s, &got));
        CHECK_EQ_U(ha_sync_encode(&s, out, n - 1), 0);
        check_sealed(HA_MSG_SYNC, out, n);
    }
}

/* A text cut into chunks, each sealed, opened, decoded and put back together. */
static void config_roundtrip(size_t total)
{
    static char text[3 * HA_CONFIG_CHUNK_MAX + 5], back[sizeof text];
    for (size_t i = 0; i < total; i++)
        text[i] = (char)('a' + rnd() % 26);
    memset(back, 0, sizeof back);
    size_t off = 0;
    do {
        static struct ha_sync s, got;
        size_t count = total - off < HA_CONFIG_CHUNK_MAX ? total - off : HA_CONFIG_CHUNK_MAX;
        s = (struct ha_sync){ .stream_seq = 1 + off, .body = HA_SYNC_CONFIG, .count = (uint16_t)count,
                              .config_total = (uint32_t)total, .config_offset = (uint32_t)off };
        memcpy(s.config, text + off, count);
        uint8_t out[HA_PAYLOAD_MAX];
        size_t n = ha_sync_encode(&s, out, sizeof out);
        CHECK_EQ_U(n, HA_SYNC_FIXED + HA_CONFIG_FIXED + count);
        CHECK(ha_sync_decode(out, n, &got));
        CHECK(sync_eq(&s, &got));
        check_sealed(HA_MSG_SYNC, out, n);
        memcpy(back + got.config_offset, got.config, got.count);
        off += count;
    } while (off < total);
    CHECK(memcmp(text, back, total) == 0);
}

static void test_sync_config_roundtrip(void)
{
    config_roundtrip(0); /* an empty text is one empty chunk */
    config_roundtrip(1);
    config_roundtrip(HA_CONFIG_CHUNK_MAX);
    config_roundtrip(HA_CONFIG_CHUNK_MAX + 1);
    config_roundtrip(3 * HA_CONFIG_CHUNK_MAX + 5);

    /* The last chunk of the longest text allowed. */
    static struct ha_sync s, got;
    s = (struct ha_sync){ .stream_seq = 9, .body = HA_SYNC_CONFIG, .count = 10,
                          .config_total = HA_CONFIG_TOTAL_MAX, .config_offset = HA_CONFIG_TOTAL_MAX - 10 };
    uint8_t out[HA_PAYLOAD_MAX];
    size_t n = ha_sync_encode(&s, out, sizeof out);
    CHECK(n > 0 && ha_sync_decode(out, n, &got) && sync_eq(&s, &got));
}

static void test_ack_roundtrip(void)
{
    static const struct ha_ack acks[] = { { 0, 0 }, { 1, 1 }, { UINT64_MAX, UINT64_MAX - 1 } };
    for (unsigned k = 0; k < sizeof acks / sizeof acks[0]; k++) {
        struct ha_ack got;
        uint8_t out[HA_ACK_LEN];
        CHECK_EQ_U(ha_ack_encode(&acks[k], out, sizeof out), HA_ACK_LEN);
        CHECK(ha_ack_decode(out, HA_ACK_LEN, &got));
        CHECK(got.stream_epoch == acks[k].stream_epoch && got.acked == acks[k].acked);
        CHECK_EQ_U(ha_ack_encode(&acks[k], out, HA_ACK_LEN - 1), 0);
        check_sealed(HA_MSG_SYNC_ACK, out, HA_ACK_LEN);
    }
}

/* ---- what decoders refuse (and encoders will not write) ---- */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

/* An encoded heartbeat with one edit must not decode. */
static void hb_refused(const struct ha_heartbeat *hb, size_t at, uint8_t value)
{
    uint8_t out[HA_PAYLOAD_MAX];
    struct ha_heartbeat got;
    size_t n = ha_heartbeat_encode(hb, out, sizeof out);
    CHECK(n > at);
    out[at] = value;
    CHECK(!ha_heartbeat_decode(out, n, &got));
}

static void test_heartbeat_refused(void)
{
    struct ha_heartbeat hb, bad;
    fill_heartbeat(&hb, 3);
    hb_refused(&hb, 0, HA_STATE_COUNT); /* state */
    hb_refused(&hb, 0, 0xff);
    hb_refused(&hb, 1, 0);              /* role */
    hb_refused(&hb, 1, 3);
    hb_refused(&hb, HA_HEARTBEAT_FIXED + HA_SECTION_LEN, 2);          /* section kind */
    hb_refused(&hb, HA_HEARTBEAT_FIXED + 1, IPPROTO_TCP);             /* globals: proto ... */
    hb_refused(&hb, HA_HEARTBEAT_FIXED + 3, 1);                       /* ... port ... */
    hb_refused(&hb, HA_HEARTBEAT_FIXED + 7, 1);                       /* ... addr are zero */

    /* More sections than the maximum, even with the length to match. */
    uint8_t big[HA_HEARTBEAT_FIXED + (HA_MAX_SECTIONS + 1) * HA_SECTION_LEN] = { 0, HA_ROLE_PRIMARY };
    put16(big + 4, HA_MAX_SECTIONS + 1);
    CHECK(!ha_heartbeat_decode(big, sizeof big, &bad));
    put16(big + 4, HA_MAX_SECTIONS);
    CHECK(ha_heartbeat_decode(big, sizeof big - HA_SECTION_LEN, &bad));
    CHECK(!ha_heartbeat_decode(big, sizeof big, &bad)); /* a trailing section */

    /* Encoders write nothing a decoder would refuse. */
    bad = hb;
    bad.state = HA_STATE_COUNT;
    uint8_t out[HA_PAYLOAD_MAX];
    CHECK_EQ_U(ha_heartbeat_encode(&bad, out, sizeof out), 0);
    bad = hb;
    bad.role = 0;
    CHECK_EQ_U(ha_heartbeat_encode(&bad, out, sizeof out), 0);
    bad = hb;
    bad.n_sections = HA_MAX_SECTIONS + 1;
    CHECK_EQ_U(ha_heartbeat_encode(&bad, out, sizeof out), 0);
    bad = hb;
    bad.sections[0].port = 1;
    CHECK_EQ_U(ha_heartbeat_encode(&bad, out, sizeof out), 0);
    bad = hb;
    bad.sections[2].kind = 2;
    CHECK_EQ_U(ha_heartbeat_encode(&bad, out, sizeof out), 0);
}

static bool sync_decodes(const uint8_t *p, size_t len)
{
    static struct ha_sync got;
    return ha_sync_decode(p, len, &got);
}

static void test_sync_refused(void)
{
    static struct ha_sync s, bad;
    uint8_t out[HA_PAYLOAD_MAX + HA_RECORD_LEN];
    fill_records(&s, 2);
    s.records[0].kind = HA_REC_UPSERT;
    s.records[1].kind = HA_REC_BULK_END;
    size_t n = ha_sync_encode(&s, out, sizeof out);
    CHECK(sync_decodes(out, n));
    static const struct { size_t at; uint8_t value; } edits[] = {
        { 8, 0 }, { 8, 3 }, { 9, 1 },                              /* body kind, reserved */
        { HA_SYNC_FIXED, 0 }, { HA_SYNC_FIXED + HA_RECORD_LEN, 5 }, /* record kinds */
        { 11, 1 }, { 11, 3 },                                      /* count against the length */
    };
    for (unsigned k = 0; k < sizeof edits / sizeof edits[0]; k++) {
        uint8_t e[sizeof out];
        memcpy(e, out, n);
        e[edits[k].at] = edits[k].value;
        CHECK(!sync_decodes(e, n));
    }

    /* More records than the maximum, even with the length to match. */
    static uint8_t big[HA_SYNC_FIXED + (HA_SYNC_MAX_RECORDS + 1) * HA_RECORD_LEN];
    memset(big, 0, sizeof big);
    big[8] = HA_SYNC_RECORDS;
    for (size_t i = 0; i <= HA_SYNC_MAX_RECORDS; i++)
        big[HA_SYNC_FIXED + i * HA_RECORD_LEN] = HA_REC_DELETE;
    put16(big + 10, HA_SYNC_MAX_RECORDS);
    CHECK(sync_decodes(big, sizeof big - HA_RECORD_LEN));
    CHECK(!sync_decodes(big, sizeof big));
    put16(big + 10, HA_SYNC_MAX_RECORDS + 1);
    CHECK(!sync_decodes(big, sizeof big));

    /* Configuration chunks: inside their text, the text at most HA_CONFIG_TOTAL_MAX, the count at
     * most a chunk (the length to match each time). */
    static uint8_t cfg[HA_SYNC_FIXED + HA_CONFIG_FIXED + HA_CONFIG_CHUNK_MAX + 1];
    static const struct { uint32_t total, offset; uint16_t count; bool ok; } chunks[] = {
        { 100, 90, 10, true },  { 100, 91, 10, false },   { 100, 101, 0, false },   { 0, 0, 0, true },
        { HA_CONFIG_TOTAL_MAX, 0, 1, true },                { HA_CONFIG_TOTAL_MAX + 1, 0, 1, false },
        { UINT32_MAX, UINT32_MAX - 4, 10, false },         /* offset + count wraps around 2^32 */
        { HA_CONFIG_TOTAL_MAX, 0xfffffff8u, 10, false },
        { 5000, 0, HA_CONFIG_CHUNK_MAX, true },             { 5000, 0, HA_CONFIG_CHUNK_MAX + 1, false },
    };
    for (unsigned k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
        memset(cfg, 'x', sizeof cfg);
        memset(cfg, 0, HA_SYNC_FIXED);
        cfg[8] = HA_SYNC_CONFIG;
        put16(cfg + 10, chunks[k].count);
        put32(cfg + HA_SYNC_FIXED, chunks[k].total);
        put32(cfg + HA_SYNC_FIXED + 4, chunks[k].offset);
        CHECK(sync_decodes(cfg, HA_SYNC_FIXED + HA_CONFIG_FIXED + chunks[k].count) == chunks[k].ok);
        bad = (struct ha_sync){ .body = HA_SYNC_CONFIG, .count = chunks[k].count,
                                .config_total = chunks[k].total, .config_offset = chunks[k].offset };
        CHECK((ha_sync_encode(&bad, out, sizeof out) != 0) == chunks[k].ok);
    }

    /* Encoders write nothing a decoder would refuse. */
    bad = s;
    bad.body = 3;
    CHECK_EQ_U(ha_sync_encode(&bad, out, sizeof out), 0);
    bad = s;
    bad.records[1].kind = 0;
    CHECK_EQ_U(ha_sync_encode(&bad, out, sizeof out), 0);
    bad = s;
    bad.count = HA_SYNC_MAX_RECORDS + 1;
    CHECK_EQ_U(ha_sync_encode(&bad, out, sizeof out), 0);
}

static void test_ack_refused(void)
{
    uint8_t b[HA_ACK_LEN + 1] = { 0 };
    struct ha_ack a;
    CHECK(ha_ack_decode(b, HA_ACK_LEN, &a));
    CHECK(!ha_ack_decode(b, HA_ACK_LEN - 1, &a));
    CHECK(!ha_ack_decode(b, HA_ACK_LEN + 1, &a));
    CHECK(!ha_ack_decode(b, 0, &a));
}

/* ---- truncation, trailing bytes, the wrong key, flipped bits ---- */

/* The four kinds of payload, encoded: heartbeat, records, configuration, ack. */
static size_t sample_payload(unsigned kind, uint8_t *out, uint8_t *type)
{
    static struct ha_heartbeat hb;
    static struct ha_sync s;
    struct ha_ack a = { 3, 4 };
    switch (kind) {
    case 0:
        fill_heartbeat(&hb, 4);
        *type = HA_MSG_HEARTBEAT;
        return ha_heartbeat_encode(&hb, out, HA_PAYLOAD_MAX);
    case 1:
        fill_records(&s, 5);
        *type = HA_MSG_SYNC;
        return ha_sync_encode(&s, out, HA_PAYLOAD_MAX);
    case 2:
        s = (struct ha_sync){ .stream_seq = 1, .body = HA_SYNC_CONFIG, .count = 4, .config_total = 4,
                              .config = "x=1\n" };
        *type = HA_MSG_SYNC;
        return ha_sync_encode(&s, out, HA_PAYLOAD_MAX);
    default:
        *type = HA_MSG_SYNC_ACK;
        return ha_ack_encode(&a, out, HA_PAYLOAD_MAX);
    }
}

static bool decodes(uint8_t type, const uint8_t *p, size_t len)
{
    static struct ha_heartbeat hb;
    static struct ha_sync s;
    struct ha_ack a;
    if (type == HA_MSG_HEARTBEAT)
        return ha_heartbeat_decode(p, len, &hb);
    if (type == HA_MSG_SYNC)
        return ha_sync_decode(p, len, &s);
    return ha_ack_decode(p, len, &a);
}

static void test_truncated(void)
{
    struct ha_key key = key_of(7, HA_KEY_MIN);
    for (unsigned kind = 0; kind < 4; kind++) {
        uint8_t type, payload[HA_PAYLOAD_MAX + 1];
        size_t plen = sample_payload(kind, payload, &type);
        CHECK(plen > 0 && decodes(type, payload, plen));
        for (size_t n = 0; n < plen; n++)
            CHECK(!decodes(type, payload, n));
        payload[plen] = 0;
        CHECK(!decodes(type, payload, plen + 1));

        struct ha_header h = hdr, got;
        h.type = type;
        uint8_t dgram[HA_DATAGRAM_MAX];
        size_t n = ha_msg_seal(&key, &h, payload, plen, dgram, sizeof dgram);
        const uint8_t *p;
        size_t pl;
        CHECK_EQ_U(ha_msg_open(&key, dgram, n, &got, &p, &pl), HA_OK);
        for (size_t cut = 0; cut < n; cut++) {
            /* An exact-size copy: a sanitizer sees any read past the cut. */
            uint8_t *t = malloc(cut ? cut : 1);
            memcpy(t, dgram, cut);
            enum ha_verdict v = ha_msg_open(&key, t, cut, &got, &p, &pl);
            CHECK(v == HA_BAD_LENGTH);
            free(t);
        }
        CHECK_EQ_U(ha_msg_open(&key, dgram, n + 1, &got, &p, &pl), HA_BAD_LENGTH);
    }
}

static void test_wrong_key(void)
{
    struct ha_key key = key_of(1, 32), other = key_of(2, 32), longer = key_of(1, 33);
    const struct ha_key ends[] = { key_of(1, HA_KEY_MIN), key_of(1, HA_KEY_MAX) };
    uint8_t dgram[HA_DATAGRAM_MAX];
    struct ha_header got;
    const uint8_t *p;
    size_t pl;
    size_t n = ha_msg_seal(&key, &hdr, (const uint8_t *)"hello", 5, dgram, sizeof dgram);
    CHECK_EQ_U(ha_msg_open(&key, dgram, n, &got, &p, &pl), HA_OK);
    CHECK_EQ_U(ha_msg_open(&other, dgram, n, &got, &p, &pl), HA_BAD_MAC);
    CHECK_EQ_U(ha_msg_open(&longer, dgram, n, &got, &p, &pl), HA_BAD_MAC); /* the same bytes, one more */
    for (unsigned k = 0; k < 2; k++) {
        n = ha_msg_seal(&ends[k], &hdr, (const uint8_t *)"hello", 5, dgram, sizeof dgram);
        CHECK_EQ_U(ha_msg_open(&ends[k], dgram, n, &got, &p, &pl), HA_OK);
        CHECK_EQ_U(ha_msg_open(&key, dgram, n, &got, &p, &pl), HA_BAD_MAC);
    }
    /* Keys of a length outside the bounds: nothing sealed, nothing opened. */
    struct ha_key tiny = key_of(1, HA_KEY_MIN - 1), huge = key_of(1, HA_KEY_MAX + 1);
    CHECK_EQ_U(ha_msg_seal(&tiny, &hdr, (const uint8_t *)"x", 1, dgram, sizeof dgram), 0);
    CHECK_EQ_U(ha_msg_seal(&huge, &hdr, (const uint8_t *)"x", 1, dgram, sizeof dgram), 0);
    n = ha_msg_seal(&key, &hdr, (const uint8_t *)"x", 1, dgram, sizeof dgram);
    CHECK_EQ_U(ha_msg_open(&tiny, dgram, n, &got, &p, &pl), HA_BAD_MAC);
    CHECK_EQ_U(ha_msg_open(&huge, dgram, n, &got, &p, &pl), HA_BAD_MAC);
}

/* What one flipped bit at this offset of a datagram makes of it. */
static enum ha_verdict flip_verdict(size_t off)
{
    if (off < 5 || (off >= 6 && off < 8) || (off >= 34 && off < 36))
        return HA_BAD_MAGIC; /* magic, version, reserved */
    if (off >= 32 && off < 34)
        return HA_BAD_LENGTH;
    return HA_BAD_MAC; /* type, node, epoch, seq, payload, the MAC itself */
}

static void test_bit_flips(void)
{
    struct ha_key key = key_of(1, 32);
    for (unsigned kind = 0; kind < 4; kind++) {
        uint8_t type, payload[HA_PAYLOAD_MAX + 1], dgram[HA_DATAGRAM_MAX];
        size_t plen = sample_payload(kind, payload, &type);
        struct ha_header h = hdr, got;
        h.type = type;
        size_t n = ha_msg_seal(&key, &h, payload, plen, dgram, sizeof dgram);
        for (size_t bit = 0; bit < n * 8; bit++) {
            const uint8_t *p;
            size_t pl;
            dgram[bit / 8] ^= (uint8_t)(1u << bit % 8);
            enum ha_verdict v = ha_msg_open(&key, dgram, n, &got, &p, &pl);
            if (v != flip_verdict(bit / 8))
                fprintf(stderr, "bit %zu: %s\n", bit, ha_verdict_name(v));
            CHECK(v == flip_verdict(bit / 8));
            dgram[bit / 8] ^= (uint8_t)(1u << bit % 8);
        }
    }
}

/* ---- sizes ---- */

static void test_sizes(void)
{
    struct ha_key key = key_of(1, 32);
    static uint8_t payload[HA_PAYLOAD_MAX + 1], dgram[HA_DATAGRAM_MAX + 1];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)rnd();
    CHECK_EQ_U(ha_msg_seal(&key, &hdr, payload, HA_PAYLOAD_MAX, dgram, HA_DATAGRAM_MAX), HA_DATAGRAM_MAX);
    CHECK_EQ_U(ha_msg_seal(&key, &hdr, payload, HA_PAYLOAD_MAX, dgram, HA_DATAGRAM_MAX - 1), 0);
    CHECK_EQ_U(ha_msg_seal(&key, &hdr, payload, HA_PAYLOAD_MAX + 1, dgram, sizeof dgram), 0);
    CHECK_EQ_U(ha_msg_seal(&key, &hdr, NULL, 0, dgram, HA_HEADER_LEN + HA_MAC_LEN), HA_HEADER_LEN + HA_MAC_LEN);
    CHECK_EQ_U(ha_msg_seal(&key, &hdr, NULL, 0, dgram, HA_HEADER_LEN + HA_MAC_LEN - 1), 0);
    check_sealed(HA_MSG_SYNC, payload, 0);
    check_sealed(HA_MSG_SYNC, payload, HA_PAYLOAD_MAX);

    /* Too long to have been sealed, whatever its length field says. */
    struct ha_header got;
    const uint8_t *p;
    size_t pl;
    CHECK_EQ_U(ha_msg_open(&key, dgram, HA_DATAGRAM_MAX + 1, &got, &p, &pl), HA_BAD_LENGTH);

    /* The largest of each payload fits, encoded in place behind the header. */
    static struct ha_heartbeat hb;
    static struct ha_sync s;
    fill_heartbeat(&hb, HA_MAX_SECTIONS);
    size_t n = ha_heartbeat_encode(&hb, dgram + HA_HEADER_LEN, HA_PAYLOAD_MAX);
    CHECK(n > 0 && ha_msg_seal(&key, &hdr, dgram + HA_HEADER_LEN, n, dgram, HA_DATAGRAM_MAX) > 0);
    CHECK_EQ_U(ha_msg_open(&key, dgram, HA_HEADER_LEN + n + HA_MAC_LEN, &got, &p, &pl), HA_OK);
    static struct ha_heartbeat hb_got;
    CHECK(ha_heartbeat_decode(p, pl, &hb_got) && heartbeat_eq(&hb, &hb_got));
    fill_records(&s, HA_SYNC_MAX_RECORDS);
    n = ha_sync_encode(&s, dgram + HA_HEADER_LEN, HA_PAYLOAD_MAX);
    CHECK(n > 0 && ha_msg_seal(&key, &hdr, dgram + HA_HEADER_LEN, n, dgram, HA_DATAGRAM_MAX) > 0);
    s = (struct ha_sync){ .body = HA_SYNC_CONFIG, .count = HA_CONFIG_CHUNK_MAX, .config_total = 100000 };
    n = ha_sync_encode(&s, dgram + HA_HEADER_LEN, HA_PAYLOAD_MAX);
    CHECK_EQ_U(n, HA_PAYLOAD_MAX);
    CHECK_EQ_U(ha_msg_seal(&key, &hdr, dgram + HA_HEADER_LEN, n, dgram, HA_DATAGRAM_MAX), HA_DATAGRAM_MAX);
}

/* ---- anti-replay ---- */

static void test_replay(void)
{
    struct ha_replay r = { 0 };
    CHECK_EQ_U(ha_replay_check(&r, 0, 0), HA_STALE); /* sequence 0 is never sent */
    /* In order. */
    for (uint64_t s = 1; s <= 3; s++)
        CHECK_EQ_U(ha_replay_check(&r, 1, s), HA_OK);
    CHECK_EQ_U(ha_replay_check(&r, 1, 3), HA_STALE); /* duplicate */
    CHECK_EQ_U(ha_replay_check(&r, 1, 0), HA_STALE);
    /* Reordered within the window. */
    CHECK_EQ_U(ha_replay_check(&r, 1, 10), HA_OK);
    CHECK_EQ_U(ha_replay_check(&r, 1, 7), HA_OK);
    CHECK_EQ_U(ha_replay_check(&r, 1, 9), HA_OK);
    CHECK_EQ_U(ha_replay_check(&r, 1, 8), HA_OK);
    CHECK_EQ_U(ha_replay_check(&r, 1, 8), HA_STALE);
    CHECK_EQ_U(ha_replay_check(&r, 1, 2), HA_STALE);
    CHECK_EQ_U(ha_replay_check(&r, 1, 4), HA_OK);
    /* The window's edge: top - 63 is inside, top - 64 below. */
    CHECK_EQ_U(ha_replay_check(&r, 1, 100), HA_OK);
    CHECK_EQ_U(ha_replay_check(&r, 1, 100 - HA_REPLAY_WINDOW + 1), HA_OK);
    CHECK_EQ_U(ha_replay_check(&r, 1, 100 - HA_REPLAY_WINDOW), HA_STALE);
    CHECK_EQ_U(ha_replay_check(&r, 1, 5), HA_STALE); /* far below, never seen */
    /* A jump beyond the window forgets it; what was taken stays refused below. */
    CHECK_EQ_U(ha_replay_check(&r, 1, 100000), HA_OK);
    CHECK_EQ_U(ha_replay_check(&r, 1, 100), HA_STALE);
    CHECK_EQ_U(ha_replay_check(&r, 1, 99999), HA_OK);
    /* An older epoch, a newer one (the window starts again), then the old one is over. */
    CHECK_EQ_U(ha_replay_check(&r, 0, 200000), HA_STALE);
    CHECK_EQ_U(ha_replay_check(&r, 2, 1), HA_OK);
    CHECK_EQ_U(ha_replay_check(&r, 2, 1), HA_STALE);
    CHECK_EQ_U(ha_replay_check(&r, 1, 100001), HA_STALE);
    CHECK_EQ_U(ha_replay_check(&r, 2, 2), HA_OK);
    /* A whole window taken backwards, then each refused once more. */
    CHECK_EQ_U(ha_replay_check(&r, 3, HA_REPLAY_WINDOW), HA_OK);
    for (uint64_t s = HA_REPLAY_WINDOW - 1; s >= 1; s--)
        CHECK_EQ_U(ha_replay_check(&r, 3, s), HA_OK);
    for (uint64_t s = 1; s <= HA_REPLAY_WINDOW; s++)
        CHECK_EQ_U(ha_replay_check(&r, 3, s), HA_STALE);
    CHECK_EQ_U(ha_replay_check(&r, 3, HA_REPLAY_WINDOW + 1), HA_OK);
    CHECK_EQ_U(ha_replay_check(&r, 3, HA_REPLAY_WINDOW + 1), HA_STALE);
    /* A shift of exactly the window's width keeps nothing; one less keeps the old top. */
    CHECK_EQ_U(ha_replay_check(&r, 4, 1000), HA_OK);
    CHECK_EQ_U(ha_replay_check(&r, 4, 1000 + HA_REPLAY_WINDOW - 1), HA_OK);
    CHECK_EQ_U(ha_replay_check(&r, 4, 1000), HA_STALE);
    CHECK_EQ_U(ha_replay_check(&r, 5, 1000), HA_OK);
    CHECK_EQ_U(ha_replay_check(&r, 5, 1000 + HA_REPLAY_WINDOW), HA_OK);
    CHECK_EQ_U(ha_replay_check(&r, 5, 1000), HA_STALE); /* below the window now */
    /* The ends of the counters. */
    CHECK_EQ_U(ha_replay_check(&r, UINT64_MAX, UINT64_MAX), HA_OK);
    CHECK_EQ_U(ha_replay_check(&r, UINT64_MAX, UINT64_MAX), HA_STALE);
    CHECK_EQ_U(ha_replay_check(&r, UINT64_MAX, UINT64_MAX - 1), HA_OK);
    CHECK_EQ_U(ha_replay_check(&r, UINT64_MAX, 1), HA_STALE);
}

int main(void)
{
    test_names();
    test_header_golden();
    test_payload_golden();
    test_heartbeat_roundtrip();
    test_sync_records_roundtrip();
    test_sync_config_roundtrip();
    test_ack_roundtrip();
    test_heartbeat_refused();
    test_sync_refused();
    test_ack_refused();
    test_truncated();
    test_wrong_key();
    test_bit_flips();
    test_sizes();
    test_replay();
    CHECK_DONE();
}
