/* fuzz_hamsg: ha/hamsg.c, what meets the datagrams of the HA port, on arbitrary bytes.
 *
 * libFuzzer (clang, -DRAWLB_FUZZ=ON):  fuzz_hamsg [-max_total_time=60] [CORPUS_DIR]
 *   (seeds: test/fuzz/corpus/hamsg/, valid sealed datagrams of every type, written by
 *   build/test/test_hamsg_fuzz --write-corpus DIR 16; copy them, libFuzzer adds to its CORPUS_DIR)
 * Standalone (any compiler, -DRAWLB_FUZZ_STANDALONE; test/unit/test_hamsg_fuzz.c includes this
 * file that way):  with file arguments, replays them (crash reproduction without libFuzzer);
 * without, feeds a deterministic stream of datagrams sealed with the key below (heartbeats, SYNC
 * records and configuration chunks, acks), bare payloads and replay sequences, half of them
 * mutated; --write-corpus DIR N writes the first N (the first 16 are unmutated datagrams).
 *
 * Each input, from an exact-size heap copy (a read past its end is a heap overflow under ASan):
 *   - ha_msg_open with the fixed key: HA_OK only for exactly what ha_msg_seal makes of the
 *     header and payload it reports (so nothing opens that was not sealed with the key), the
 *     payload inside the input; the payload then goes to the decoder of its type;
 *   - every payload decoder on the whole input: what decodes re-encodes to exactly the same bytes,
 *     and does not fit one byte less;
 *   - the input as a payload (if it fits one): sealed under a header drawn from it, it opens to
 *     the same header and payload; with one bit flipped (drawn from it too) it does not open;
 *   - the input as (epoch, seq) pairs through ha_replay_check, against a model that remembers
 *     every sequence taken in the current epoch: taken iff seq is not 0 and the epoch is newer,
 *     or the same and seq is above the top or within the window and not taken before. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "hamsg.h"

static const struct ha_key fz_key = {
    .bytes = "rawlb fuzz key: thirty-two bytes",
    .len = 32,
};

/* FNV-1a: values drawn from the input, so they vary with it. */
static uint64_t fz_hash(const uint8_t *data, size_t size)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 1099511628211ull;
    return h;
}

/* ---- decoders: decode, re-encode, compare ---- */

/* The buffer an encoder writes into: as long as any input, and one byte too short. */
static void fz_same_bytes(size_t (*encode)(const void *msg, uint8_t *out, size_t len), const void *msg,
                          const uint8_t *p, size_t len)
{
    uint8_t *out = malloc(len + 1);
    FUZZ_ASSERT(out);
    FUZZ_ASSERT(encode(msg, out, len) == len);
    FUZZ_ASSERT(memcmp(out, p, len) == 0);
    FUZZ_ASSERT(len == 0 || encode(msg, out, len - 1) == 0);
    free(out);
}

static size_t fz_encode_hb(const void *m, uint8_t *out, size_t len) { return ha_heartbeat_encode(m, out, len); }
static size_t fz_encode_sync(const void *m, uint8_t *out, size_t len) { return ha_sync_encode(m, out, len); }
static size_t fz_encode_ack(const void *m, uint8_t *out, size_t len) { return ha_ack_encode(m, out, len); }

static bool fz_decode_hb(const uint8_t *p, size_t len)
{
    static struct ha_heartbeat hb;
    if (!ha_heartbeat_decode(p, len, &hb))
        return false;
    fz_same_bytes(fz_encode_hb, &hb, p, len);
    return true;
}

static bool fz_decode_sync(const uint8_t *p, size_t len)
{
    static struct ha_sync sync;
    if (!ha_sync_decode(p, len, &sync))
        return false;
    fz_same_bytes(fz_encode_sync, &sync, p, len);
    return true;
}

static bool fz_decode_ack(const uint8_t *p, size_t len)
{
    struct ha_ack ack;
    if (!ha_ack_decode(p, len, &ack))
        return false;
    fz_same_bytes(fz_encode_ack, &ack, p, len);
    return true;
}

/* Every decoder on the same bytes (a payload of one type may well decode as another): how many
 * took them. */
static unsigned fz_decode_all(const uint8_t *p, size_t len)
{
    return fz_decode_hb(p, len) + fz_decode_sync(p, len) + fz_decode_ack(p, len);
}

/* The payload of an authentic datagram, to the decoder its type names. */
static void fz_decode_type(uint8_t type, const uint8_t *p, size_t len)
{
    if (type == HA_MSG_HEARTBEAT)
        fz_decode_hb(p, len);
    else if (type == HA_MSG_SYNC)
        fz_decode_sync(p, len);
    else if (type == HA_MSG_SYNC_ACK)
        fz_decode_ack(p, len);
}

/* ---- datagrams ---- */

static void fz_open(const uint8_t *data, size_t size)
{
    struct ha_header h;
    const uint8_t *payload;
    size_t plen;
    if (ha_msg_open(&fz_key, data, size, &h, &payload, &plen) != HA_OK)
        return;
    FUZZ_ASSERT(payload >= data && plen <= size && payload + plen <= data + size);
    uint8_t *resealed = malloc(size);
    FUZZ_ASSERT(resealed);
    FUZZ_ASSERT(ha_msg_seal(&fz_key, &h, payload, plen, resealed, size) == size);
    FUZZ_ASSERT(memcmp(resealed, data, size) == 0);
    free(resealed);
    fz_decode_type(h.type, payload, plen);
}

static void fz_seal_input(const uint8_t *data, size_t size)
{
    if (size > HA_PAYLOAD_MAX)
        return;
    uint64_t v = fz_hash(data, size);
    struct ha_header h = { .type = (uint8_t)v, .node = v * 3, .epoch = v >> 7, .seq = ~v }, got;
    size_t n = HA_HEADER_LEN + size + HA_MAC_LEN;
    uint8_t *dgram = malloc(n);
    FUZZ_ASSERT(dgram);
    FUZZ_ASSERT(ha_msg_seal(&fz_key, &h, data, size, dgram, n) == n);
    const uint8_t *payload;
    size_t plen;
    FUZZ_ASSERT(ha_msg_open(&fz_key, dgram, n, &got, &payload, &plen) == HA_OK);
    FUZZ_ASSERT(got.type == h.type && got.node == h.node && got.epoch == h.epoch && got.seq == h.seq);
    FUZZ_ASSERT(plen == size && payload == dgram + HA_HEADER_LEN && memcmp(payload, data, size) == 0);
    size_t bit = (size_t)(v % (n * 8));
    dgram[bit / 8] ^= (uint8_t)(1u << bit % 8);
    FUZZ_ASSERT(ha_msg_open(&fz_key, dgram, n, &got, &payload, &plen) != HA_OK);
    free(dgram);
}

/* ---- anti-replay against a model ---- */

/* Byte pairs: the first's low bits pick the epoch, the second is the sequence's low byte. The
 * last epoch's sequences sit at the top of the 64-bit range, where arithmetic could wrap. */
#define FZ_EPOCHS 4
#define FZ_SEQ_SPAN 256
static const uint64_t fz_epochs[FZ_EPOCHS] = { 0, 1, 2, UINT64_MAX };
static const uint64_t fz_seq_base[FZ_EPOCHS] = { 0, 0, 0, UINT64_MAX - (FZ_SEQ_SPAN - 1) };

struct fz_model {
    bool any;
    uint64_t epoch, top;
    bool taken[FZ_SEQ_SPAN]; /* by sequence - its epoch's base */
};

static bool fz_model_takes(const struct fz_model *m, uint64_t epoch, uint64_t seq, unsigned low)
{
    if (seq == 0)
        return false;
    if (!m->any || epoch > m->epoch)
        return true;
    if (epoch < m->epoch)
        return false;
    if (seq > m->top)
        return true;
    return m->top - seq < HA_REPLAY_WINDOW && !m->taken[low];
}

static void fz_model_take(struct fz_model *m, uint64_t epoch, uint64_t seq, unsigned low)
{
    if (!m->any || epoch > m->epoch) {
        memset(m->taken, 0, sizeof m->taken);
        m->any = true;
        m->epoch = epoch;
        m->top = seq;
    }
    if (seq > m->top)
        m->top = seq;
    m->taken[low] = true;
}

static void fz_replay_pairs(const uint8_t *data, size_t size)
{
    struct ha_replay r = { 0 };
    struct fz_model m = { 0 };
    for (size_t i = 0; i + 1 < size; i += 2) {
        unsigned e = data[i] % FZ_EPOCHS, low = data[i + 1];
        uint64_t epoch = fz_epochs[e], seq = fz_seq_base[e] + low;
        bool want = fz_model_takes(&m, epoch, seq, low);
        enum ha_verdict v = ha_replay_check(&r, epoch, seq);
        FUZZ_ASSERT(v == (want ? HA_OK : HA_STALE));
        if (want)
            fz_model_take(&m, epoch, seq, low);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy: a read beyond the input is a heap overflow the sanitizer reports. */
    uint8_t *in = malloc(size ? size : 1);
    if (!in)
        return 0;
    if (size)
        memcpy(in, data, size);
    fz_open(in, size);
    fz_decode_all(in, size);
    fz_seal_input(in, size);
    fz_replay_pairs(in, size);
    free(in);
    return 0;
}

#ifdef RAWLB_FUZZ_STANDALONE
/* ---- the standalone driver: deterministic stream of datagrams, payloads and pairs ---- */

#define FZ_INPUT_MAX (HA_DATAGRAM_MAX + 64)
#define FZ_SEEDS 16 /* the first inputs: unmutated datagrams, the payload kinds in turn */

static uint64_t fz_rnd64(void) { return (uint64_t)fz_rnd() << 32 | fz_rnd(); }

static size_t fz_heartbeat(uint8_t *out)
{
    static struct ha_heartbeat hb;
    memset(&hb, 0, sizeof hb);
    hb.state = (uint8_t)(fz_rnd() % HA_STATE_COUNT);
    hb.role = fz_rnd() % 2 ? HA_ROLE_PRIMARY : HA_ROLE_BACKUP;
    hb.flags = (uint16_t)(fz_rnd() & 0xf);
    hb.n_sections = (uint16_t)(fz_rnd() % 4 ? fz_rnd() % 4 : fz_rnd() % (HA_MAX_SECTIONS + 1));
    for (unsigned i = 0; i < hb.n_sections; i++) {
        struct ha_section *s = &hb.sections[i];
        s->kind = i ? HA_SECTION_SERVICE : HA_SECTION_GLOBALS;
        if (i) {
            s->proto = fz_rnd() % 2 ? 6 : 17;
            s->port = (uint16_t)fz_rnd();
            s->addr = fz_rnd();
        }
        for (unsigned j = 0; j < HA_DIGEST_LEN; j++)
            s->digest[j] = (uint8_t)fz_rnd();
    }
    return ha_heartbeat_encode(&hb, out, HA_PAYLOAD_MAX);
}

static size_t fz_records(uint8_t *out)
{
    static struct ha_sync s;
    memset(&s, 0, sizeof s);
    s.stream_seq = 1 + fz_rnd() % 1000;
    s.body = HA_SYNC_RECORDS;
    s.count = (uint16_t)(fz_rnd() % (HA_SYNC_MAX_RECORDS + 1));
    for (unsigned i = 0; i < s.count; i++) {
        struct ha_record *r = &s.records[i];
        r->kind = (uint8_t)(HA_REC_UPSERT + fz_rnd() % 4);
        r->proto = fz_rnd() % 2 ? 6 : 17;
        r->state = (uint8_t)(fz_rnd() % 12);
        r->flags = (uint8_t)(fz_rnd() & 7);
        r->caddr = fz_rnd();
        r->vaddr = fz_rnd();
        r->daddr = fz_rnd();
        r->cport = (uint16_t)fz_rnd();
        r->vport = (uint16_t)fz_rnd();
        r->dport = (uint16_t)fz_rnd();
        for (unsigned j = 0; j < sizeof r->client_mac; j++)
            r->client_mac[j] = (uint8_t)fz_rnd();
        r->lifetime = fz_rnd() % 1000;
    }
    return ha_sync_encode(&s, out, HA_PAYLOAD_MAX);
}

static size_t fz_config(uint8_t *out)
{
    static struct ha_sync s;
    memset(&s, 0, sizeof s);
    s.stream_seq = 1 + fz_rnd() % 1000;
    s.body = HA_SYNC_CONFIG;
    s.count = (uint16_t)(fz_rnd() % (HA_CONFIG_CHUNK_MAX + 1));
    s.config_total = s.count + fz_rnd() % 20000;
    s.config_offset = fz_rnd() % (s.config_total - s.count + 1);
    for (unsigned i = 0; i < s.count; i++)
        s.config[i] = (char)(' ' + fz_rnd() % 95);
    return ha_sync_encode(&s, out, HA_PAYLOAD_MAX);
}

static size_t fz_ack(uint8_t *out)
{
    struct ha_ack a = { .stream_epoch = fz_rnd64(), .acked = fz_rnd64() };
    return ha_ack_encode(&a, out, HA_PAYLOAD_MAX);
}

/* One payload of the given kind (0..3) in out; its message type in *type. */
static size_t fz_payload(unsigned kind, uint8_t *out, uint8_t *type)
{
    static const uint8_t types[] = { HA_MSG_HEARTBEAT, HA_MSG_SYNC, HA_MSG_SYNC, HA_MSG_SYNC_ACK };
    static size_t (*const make[])(uint8_t *) = { fz_heartbeat, fz_records, fz_config, fz_ack };
    *type = types[kind];
    size_t n = make[kind](out);
    FUZZ_ASSERT(n > 0);
    return n;
}

static size_t fz_datagram(unsigned kind, uint8_t *f)
{
    struct ha_header h = { .node = fz_rnd64(), .epoch = fz_rnd() % 4, .seq = 1 + fz_rnd() % 300 };
    size_t plen = fz_payload(kind, f + HA_HEADER_LEN, &h.type);
    size_t n = ha_msg_seal(&fz_key, &h, f + HA_HEADER_LEN, plen, f, FZ_INPUT_MAX);
    FUZZ_ASSERT(n > 0);
    return n;
}

/* Pairs for fz_replay_pairs: mostly rising sequences, some reordered, now and then a new epoch. */
static size_t fz_pairs(uint8_t *f)
{
    size_t n = 2 * (1 + fz_rnd() % 300);
    unsigned e = 0, seq = 1;
    for (size_t i = 0; i < n; i += 2) {
        if (fz_rnd() % 32 == 0)
            e = fz_rnd() % FZ_EPOCHS;
        seq = fz_rnd() % 16 == 0 ? fz_rnd() : seq + fz_rnd() % 6 - 2;
        f[i] = (uint8_t)(e | fz_rnd() << 2);
        f[i + 1] = (uint8_t)seq;
    }
    return n;
}

/* A few random edits: bits, bytes, the length field made to match, counts, truncation, extension. */
static size_t fz_mutate(uint8_t *f, size_t len)
{
    unsigned n = 1 + fz_rnd() % 3;
    for (unsigned k = 0; k < n; k++) {
        switch (fz_rnd() % 7) {
        case 0:
            if (len)
                f[fz_rnd() % len] ^= (uint8_t)(1u << fz_rnd() % 8);
            break;
        case 1:
            if (len)
                f[fz_rnd() % len] = (uint8_t)fz_rnd();
            break;
        case 2: /* past the length check, on to the MAC */
            if (len >= HA_HEADER_LEN + HA_MAC_LEN) {
                f[32] = (uint8_t)((len - HA_HEADER_LEN - HA_MAC_LEN) >> 8);
                f[33] = (uint8_t)(len - HA_HEADER_LEN - HA_MAC_LEN);
            }
            break;
        case 3: /* a count: sections or records of a datagram, or of a bare payload */
            f[(fz_rnd() % 2 ? HA_HEADER_LEN : 0) + (fz_rnd() % 2 ? 5 : 11)] = (uint8_t)fz_rnd();
            break;
        case 4:
            len = fz_rnd() % (len + 1);
            break;
        case 5: {
            size_t add = 1 + fz_rnd() % 40;
            for (size_t i = 0; i < add && len < FZ_INPUT_MAX; i++)
                f[len++] = (uint8_t)fz_rnd();
            break;
        }
        default: /* the key of the wrong peer */
            if (len >= HA_MAC_LEN)
                f[len - 1 - fz_rnd() % HA_MAC_LEN] ^= 0x80;
            break;
        }
    }
    return len;
}

static unsigned fz_count;

static size_t fz_next(uint8_t *f)
{
    memset(f, 0, FZ_INPUT_MAX);
    unsigned i = fz_count++;
    if (i < FZ_SEEDS)
        return fz_datagram(i % 4, f);
    size_t len;
    uint8_t type;
    unsigned what = fz_rnd() % 8;
    if (what < 5)
        len = fz_datagram(fz_rnd() % 4, f);
    else if (what < 7)
        len = fz_payload(fz_rnd() % 4, f, &type);
    else
        len = fz_pairs(f);
    return fz_rnd() % 2 ? fz_mutate(f, len) : len;
}

#ifndef FZ_ITERATIONS
#define FZ_ITERATIONS 60000u
#endif

int main(int argc, char **argv)
{
    static uint8_t f[FZ_INPUT_MAX];
    int status = fz_standalone_args(argc, argv, fz_next, f);
    if (status >= 0)
        return status;
    unsigned opened = 0, decoded = 0;
    for (unsigned i = 0; i < FZ_ITERATIONS; i++) {
        size_t len = fz_next(f);
        struct ha_header h;
        const uint8_t *p;
        size_t pl;
        opened += ha_msg_open(&fz_key, f, len, &h, &p, &pl) == HA_OK;
        decoded += fz_decode_all(f, len) > 0;
        LLVMFuzzerTestOneInput(f, len);
    }
    printf("%u inputs, %u opened, %u decoded as a bare payload\n", FZ_ITERATIONS, opened, decoded);
    /* Authentic datagrams and decodable payloads must be well represented, or the stream tests
     * little beyond the first checks. */
    return opened > FZ_ITERATIONS / 5 && opened < FZ_ITERATIONS - FZ_ITERATIONS / 4 && decoded > FZ_ITERATIONS / 20
               ? 0
               : 1;
}
#endif
