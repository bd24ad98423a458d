/* hamsg: see hamsg.h. Every field is written and read byte by byte, big-endian, at the offsets
 * named below: no struct is laid over a buffer, so neither alignment, padding nor the host's
 * byte order reaches the wire. Addresses, kept in network order in the structs, travel as their
 * four bytes in that order. Encoders and decoders share one validity check per payload, so what
 * one writes the other takes, and decode(encode(x)) == x. */
#include "hamsg.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <string.h>

/* Datagram header. */
#define HDR_OFF_MAGIC 0
#define HDR_OFF_VERSION 4
#define HDR_OFF_TYPE 5
#define HDR_OFF_ZERO1 6
#define HDR_OFF_NODE 8
#define HDR_OFF_EPOCH 16
#define HDR_OFF_SEQ 24
#define HDR_OFF_PLEN 32
#define HDR_OFF_ZERO2 34

/* HEARTBEAT, then its sections. */
#define HB_OFF_STATE 0
#define HB_OFF_ROLE 1
#define HB_OFF_FLAGS 2
#define HB_OFF_NSECT 4
#define SEC_OFF_KIND 0
#define SEC_OFF_PROTO 1
#define SEC_OFF_PORT 2
#define SEC_OFF_ADDR 4
#define SEC_OFF_DIGEST 8

/* SYNC, then its body: records or a configuration chunk. */
#define SYNC_OFF_SEQ 0
#define SYNC_OFF_BODY 8
#define SYNC_OFF_ZERO 9
#define SYNC_OFF_COUNT 10
#define REC_OFF_KIND 0
#define REC_OFF_PROTO 1
#define REC_OFF_STATE 2
#define REC_OFF_FLAGS 3
#define REC_OFF_CADDR 4
#define REC_OFF_VADDR 8
#define REC_OFF_DADDR 12
#define REC_OFF_CPORT 16
#define REC_OFF_VPORT 18
#define REC_OFF_DPORT 20
#define REC_OFF_MAC 22
#define REC_OFF_LIFETIME 28
#define CFG_OFF_TOTAL 0
#define CFG_OFF_OFFSET 4

/* SYNC_ACK. */
#define ACK_OFF_EPOCH 0
#define ACK_OFF_ACKED 8

_Static_assert(HDR_OFF_ZERO2 + 2 == HA_HEADER_LEN, "header layout");
_Static_assert(SEC_OFF_DIGEST + HA_DIGEST_LEN == HA_SECTION_LEN, "section layout");
_Static_assert(HB_OFF_NSECT + 2 == HA_HEARTBEAT_FIXED, "heartbeat layout");
_Static_assert(SYNC_OFF_COUNT + 2 == HA_SYNC_FIXED, "sync layout");
_Static_assert(REC_OFF_LIFETIME + 4 == HA_RECORD_LEN, "record layout");
_Static_assert(CFG_OFF_OFFSET + 4 == HA_CONFIG_FIXED, "config layout");
_Static_assert(ACK_OFF_ACKED + 8 == HA_ACK_LEN, "ack layout");
_Static_assert(HA_MAC_LEN == crypto_auth_hmacsha256_BYTES, "HMAC-SHA256 length");
_Static_assert(HA_PAYLOAD_MAX <= UINT16_MAX, "payload length fits its u16 field");
_Static_assert(HA_HEARTBEAT_FIXED + HA_MAX_SECTIONS * HA_SECTION_LEN <= HA_PAYLOAD_MAX,
               "a full heartbeat fits one datagram");
_Static_assert(sizeof ((struct ha_record *)0)->client_mac == REC_OFF_LIFETIME - REC_OFF_MAC, "MAC length");

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
static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) << 32 | get32(p + 4); }

/* Network-order addresses: their bytes as they are in memory, which is big-endian. */
static void put_addr(uint8_t *p, uint32_t net) { put32(p, ntohl(net)); }
static uint32_t get_addr(const uint8_t *p) { return htonl(get32(p)); }

const char *ha_verdict_name(enum ha_verdict v)
{
    static const char *const names[] = {
        [HA_OK] = "ok",           [HA_BAD_LENGTH] = "bad_length",   [HA_BAD_MAGIC] = "bad_magic",
        [HA_BAD_MAC] = "bad_mac", [HA_BAD_PAYLOAD] = "bad_payload", [HA_STALE] = "stale",
    };
    return (unsigned)v < sizeof names / sizeof names[0] ? names[v] : "?";
}

const char *ha_state_name(unsigned state)
{
    static const char *const names[HA_STATE_COUNT] = {
        [HA_STATE_BACKUP] = "backup", [HA_STATE_MASTER] = "master",
        [HA_STATE_FAULT] = "fault",   [HA_STATE_LEAVING] = "leaving",
    };
    return state < HA_STATE_COUNT ? names[state] : "?";
}

/* ---- datagrams ---- */

/* A key of another length is a caller's mistake; refusing it keeps reads inside key->bytes. */
static bool key_usable(const struct ha_key *key)
{
    return key->len >= HA_KEY_MIN && key->len <= HA_KEY_MAX;
}

/* sodium_init() is idempotent and cheap next to an HMAC: calling it here spares every caller
 * (and every test) an initialisation step to forget. */
static bool hmac(const struct ha_key *key, const uint8_t *msg, size_t len, uint8_t mac[HA_MAC_LEN])
{
    if (!key_usable(key) || sodium_init() < 0)
        return false;
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key->bytes, key->len);
    crypto_auth_hmacsha256_update(&st, msg, len);
    crypto_auth_hmacsha256_final(&st, mac); /* also wipes st, which holds key material */
    return true;
}

size_t ha_msg_seal(const struct ha_key *key, const struct ha_header *h, const uint8_t *payload, size_t plen,
                   uint8_t *out, size_t outlen)
{
    if (plen > HA_PAYLOAD_MAX || HA_HEADER_LEN + plen + HA_MAC_LEN > outlen)
        return 0;
    if (plen) /* memmove: the payload may have been encoded in place */
        memmove(out + HA_HEADER_LEN, payload, plen);
    put32(out + HDR_OFF_MAGIC, HA_MAGIC);
    out[HDR_OFF_VERSION] = HA_VERSION;
    out[HDR_OFF_TYPE] = h->type;
    put16(out + HDR_OFF_ZERO1, 0);
    put64(out + HDR_OFF_NODE, h->node);
    put64(out + HDR_OFF_EPOCH, h->epoch);
    put64(out + HDR_OFF_SEQ, h->seq);
    put16(out + HDR_OFF_PLEN, (uint16_t)plen);
    put16(out + HDR_OFF_ZERO2, 0);
    if (!hmac(key, out, HA_HEADER_LEN + plen, out + HA_HEADER_LEN + plen))
        return 0;
    return HA_HEADER_LEN + plen + HA_MAC_LEN;
}

enum ha_verdict ha_msg_open(const struct ha_key *key, const uint8_t *buf, size_t len, struct ha_header *h,
                            const uint8_t **payload, size_t *plen)
{
    if (len < HA_HEADER_LEN + HA_MAC_LEN || len > HA_DATAGRAM_MAX)
        return HA_BAD_LENGTH;
    if (get32(buf + HDR_OFF_MAGIC) != HA_MAGIC || buf[HDR_OFF_VERSION] != HA_VERSION ||
        get16(buf + HDR_OFF_ZERO1) != 0 || get16(buf + HDR_OFF_ZERO2) != 0)
        return HA_BAD_MAGIC;
    size_t n = get16(buf + HDR_OFF_PLEN);
    if (n != len - HA_HEADER_LEN - HA_MAC_LEN)
        return HA_BAD_LENGTH;
    uint8_t mac[HA_MAC_LEN];
    if (!hmac(key, buf, HA_HEADER_LEN + n, mac) || crypto_verify_32(mac, buf + HA_HEADER_LEN + n) != 0)
        return HA_BAD_MAC;
    h->type = buf[HDR_OFF_TYPE];
    h->node = get64(buf + HDR_OFF_NODE);
    h->epoch = get64(buf + HDR_OFF_EPOCH);
    h->seq = get64(buf + HDR_OFF_SEQ);
    *payload = buf + HA_HEADER_LEN;
    *plen = n;
    return HA_OK;
}

/* ---- HEARTBEAT ---- */

static bool section_valid(const struct ha_section *s)
{
    if (s->kind == HA_SECTION_GLOBALS)
        return s->proto == 0 && s->port == 0 && s->addr == 0;
    return s->kind == HA_SECTION_SERVICE;
}

static bool heartbeat_valid(const struct ha_heartbeat *hb)
{
    if (hb->state >= HA_STATE_COUNT || (hb->role != HA_ROLE_PRIMARY && hb->role != HA_ROLE_BACKUP) ||
        hb->n_sections > HA_MAX_SECTIONS)
        return false;
    for (unsigned i = 0; i < hb->n_sections; i++)
        if (!section_valid(&hb->sections[i]))
            return false;
    return true;
}

size_t ha_heartbeat_encode(const struct ha_heartbeat *hb, uint8_t *out, size_t len)
{
    if (!heartbeat_valid(hb))
        return 0;
    size_t need = HA_HEARTBEAT_FIXED + (size_t)hb->n_sections * HA_SECTION_LEN;
    if (need > len)
        return 0;
    out[HB_OFF_STATE] = hb->state;
    out[HB_OFF_ROLE] = hb->role;
    put16(out + HB_OFF_FLAGS, hb->flags);
    put16(out + HB_OFF_NSECT, hb->n_sections);
    for (unsigned i = 0; i < hb->n_sections; i++) {
        const struct ha_section *s = &hb->sections[i];
        uint8_t *p = out + HA_HEARTBEAT_FIXED + (size_t)i * HA_SECTION_LEN;
        p[SEC_OFF_KIND] = s->kind;
        p[SEC_OFF_PROTO] = s->proto;
        put16(p + SEC_OFF_PORT, s->port);
        put_addr(p + SEC_OFF_ADDR, s->addr);
        memcpy(p + SEC_OFF_DIGEST, s->digest, HA_DIGEST_LEN);
    }
    return need;
}

bool ha_heartbeat_decode(const uint8_t *p, size_t len, struct ha_heartbeat *hb)
{
    memset(hb, 0, sizeof *hb);
    if (len < HA_HEARTBEAT_FIXED)
        return false;
    hb->state = p[HB_OFF_STATE];
    hb->role = p[HB_OFF_ROLE];
    hb->flags = get16(p + HB_OFF_FLAGS);
    hb->n_sections = get16(p + HB_OFF_NSECT);
    /* The count is checked before it sizes anything, the length before anything is read. */
    if (hb->n_sections > HA_MAX_SECTIONS || len != HA_HEARTBEAT_FIXED + (size_t)hb->n_sections * HA_SECTION_LEN)
        return false;
    for (unsigned i = 0; i < hb->n_sections; i++) {
        struct ha_section *s = &hb->sections[i];
        const uint8_t *q = p + HA_HEARTBEAT_FIXED + (size_t)i * HA_SECTION_LEN;
        s->kind = q[SEC_OFF_KIND];
        s->proto = q[SEC_OFF_PROTO];
        s->port = get16(q + SEC_OFF_PORT);
        s->addr = get_addr(q + SEC_OFF_ADDR);
        memcpy(s->digest, q + SEC_OFF_DIGEST, HA_DIGEST_LEN);
    }
    return heartbeat_valid(hb);
}

/* ---- SYNC ---- */

static bool record_valid(const struct ha_record *r)
{
    return r->kind >= HA_REC_UPSERT && r->kind <= HA_REC_BULK_END;
}

static bool sync_valid(const struct ha_sync *s)
{
    if (s->body == HA_SYNC_RECORDS) {
        if (s->count > HA_SYNC_MAX_RECORDS)
            return false;
        for (unsigned i = 0; i < s->count; i++)
            if (!record_valid(&s->records[i]))
                return false;
        return true;
    }
    /* 64-bit sum: offset + count must not wrap around to pass */
    return s->body == HA_SYNC_CONFIG && s->count <= HA_CONFIG_CHUNK_MAX &&
           s->config_total <= HA_CONFIG_TOTAL_MAX && (uint64_t)s->config_offset + s->count <= s->config_total;
}

/* The body's length on the wire for a count that has passed sync_valid's bounds. */
static size_t sync_body_len(uint8_t body, uint16_t count)
{
    return body == HA_SYNC_RECORDS ? (size_t)count * HA_RECORD_LEN : HA_CONFIG_FIXED + (size_t)count;
}

static void record_put(uint8_t *p, const struct ha_record *r)
{
    p[REC_OFF_KIND] = r->kind;
    p[REC_OFF_PROTO] = r->proto;
    p[REC_OFF_STATE] = r->state;
    p[REC_OFF_FLAGS] = r->flags;
    put_addr(p + REC_OFF_CADDR, r->caddr);
    put_addr(p + REC_OFF_VADDR, r->vaddr);
    put_addr(p + REC_OFF_DADDR, r->daddr);
    put16(p + REC_OFF_CPORT, r->cport);
    put16(p + REC_OFF_VPORT, r->vport);
    put16(p + REC_OFF_DPORT, r->dport);
    memcpy(p + REC_OFF_MAC, r->client_mac, sizeof r->client_mac);
    put32(p + REC_OFF_LIFETIME, r->lifetime);
}

static void record_get(const uint8_t *p, struct ha_record *r)
{
    r->kind = p[REC_OFF_KIND];
    r->proto = p[REC_OFF_PROTO];
    r->state = p[REC_OFF_STATE];
    r->flags = p[REC_OFF_FLAGS];
    r->caddr = get_addr(p + REC_OFF_CADDR);
    r->vaddr = get_addr(p + REC_OFF_VADDR);
    r->daddr = get_addr(p + REC_OFF_DADDR);
    r->cport = get16(p + REC_OFF_CPORT);
    r->vport = get16(p + REC_OFF_VPORT);
    r->dport = get16(p + REC_OFF_DPORT);
    memcpy(r->client_mac, p + REC_OFF_MAC, sizeof r->client_mac);
    r->lifetime = get32(p + REC_OFF_LIFETIME);
}

size_t ha_sync_encode(const struct ha_sync *s, uint8_t *out, size_t len)
{
    if (!sync_valid(s))
        return 0;
    size_t need = HA_SYNC_FIXED + sync_body_len(s->body, s->count);
    if (need > len)
        return 0;
    put64(out + SYNC_OFF_SEQ, s->stream_seq);
    out[SYNC_OFF_BODY] = s->body;
    out[SYNC_OFF_ZERO] = 0;
    put16(out + SYNC_OFF_COUNT, s->count);
    uint8_t *body = out + HA_SYNC_FIXED;
    if (s->body == HA_SYNC_RECORDS) {
        for (unsigned i = 0; i < s->count; i++)
            record_put(body + (size_t)i * HA_RECORD_LEN, &s->records[i]);
    } else {
        put32(body + CFG_OFF_TOTAL, s->config_total);
        put32(body + CFG_OFF_OFFSET, s->config_offset);
        memcpy(body + HA_CONFIG_FIXED, s->config, s->count);
    }
    return need;
}

bool ha_sync_decode(const uint8_t *p, size_t len, struct ha_sync *s)
{
    memset(s, 0, sizeof *s);
    if (len < HA_SYNC_FIXED || p[SYNC_OFF_ZERO] != 0)
        return false;
    s->stream_seq = get64(p + SYNC_OFF_SEQ);
    s->body = p[SYNC_OFF_BODY];
    s->count = get16(p + SYNC_OFF_COUNT);
    /* Bounds before anything is read: the body kind, the count against its maximum, the length. */
    uint16_t max = s->body == HA_SYNC_RECORDS ? HA_SYNC_MAX_RECORDS : HA_CONFIG_CHUNK_MAX;
    if ((s->body != HA_SYNC_RECORDS && s->body != HA_SYNC_CONFIG) || s->count > max ||
        len != HA_SYNC_FIXED + sync_body_len(s->body, s->count))
        return false;
    const uint8_t *body = p + HA_SYNC_FIXED;
    if (s->body == HA_SYNC_RECORDS) {
        for (unsigned i = 0; i < s->count; i++)
            record_get(body + (size_t)i * HA_RECORD_LEN, &s->records[i]);
    } else {
        s->config_total = get32(body + CFG_OFF_TOTAL);
        s->config_offset = get32(body + CFG_OFF_OFFSET);
        memcpy(s->config, body + HA_CONFIG_FIXED, s->count);
    }
    return sync_valid(s);
}

/* ---- SYNC_ACK ---- */

size_t ha_ack_encode(const struct ha_ack *a, uint8_t *out, size_t len)
{
    if (len < HA_ACK_LEN)
        return 0;
    put64(out + ACK_OFF_EPOCH, a->stream_epoch);
    put64(out + ACK_OFF_ACKED, a->acked);
    return HA_ACK_LEN;
}

bool ha_ack_decode(const uint8_t *p, size_t len, struct ha_ack *a)
{
    memset(a, 0, sizeof *a);
    if (len != HA_ACK_LEN)
        return false;
    a->stream_epoch = get64(p + ACK_OFF_EPOCH);
    a->acked = get64(p + ACK_OFF_ACKED);
    return true;
}

/* ---- anti-replay (RFC 4303 section 3.4.3's sliding window, per sender epoch) ---- */

#define REPLAY_BITS 64 /* the width of r->seen */
_Static_assert(HA_REPLAY_WINDOW == REPLAY_BITS, "the window is one 64-bit mask");

enum ha_verdict ha_replay_check(struct ha_replay *r, uint64_t epoch, uint64_t seq)
{
    if (seq == 0 || epoch < r->epoch)
        return HA_STALE;
    if (epoch > r->epoch) { /* the sender restarted: its sequence starts again */
        r->epoch = epoch;
        r->top = seq;
        r->seen = 1;
        return HA_OK;
    }
    if (seq > r->top) {
        uint64_t shift = seq - r->top;
        r->seen = shift >= REPLAY_BITS ? 0 : r->seen << shift;
        r->seen |= 1;
        r->top = seq;
        return HA_OK;
    }
    uint64_t age = r->top - seq;
    if (age >= REPLAY_BITS || (r->seen >> age & 1))
        return HA_STALE;
    r->seen |= (uint64_t)1 << age;
    return HA_OK;
}

enum ha_verdict ha_msg_accept(const struct ha_key *key, struct ha_replay *r, uint64_t own_node, const uint8_t *buf,
                              size_t len, struct ha_header *h, const uint8_t **payload, size_t *plen)
{
    enum ha_verdict v = ha_msg_open(key, buf, len, h, payload, plen);
    if (v == HA_OK && h->node == own_node)
        v = HA_BAD_PAYLOAD;
    return v == HA_OK ? ha_replay_check(r, h->epoch, h->seq) : v;
}
