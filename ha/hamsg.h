/* hamsg: what two rawlb directors say to each other over UDP (--ha-port, 539), as pure code:
 * sealing and opening authenticated datagrams, the heartbeat and sync payloads, and the
 * anti-replay window. No sockets, no clock: the fuzzer and unit tests drive all of it.
 *
 * Every datagram (integers big-endian; an IPv4 address is a u32 whose bytes are the address in
 * network order, 198.51.100.10 = c6 33 64 0a):
 *   0 magic "RLBH" | 4 version (1) | 5 type | 6 zero u16 | 8 sender node id u64 | 16 sender epoch u64
 *   | 24 sequence u64 | 32 payload length u16 | 34 zero u16 | 36 payload | HMAC-SHA256 (32 bytes)
 * The HMAC (libsodium) covers everything before it, so the epoch and the sequence are
 * authenticated with the message. The epoch grows at every start of the sender (kept in its
 * --state-dir) and the sequence at every datagram it sends in that run, on any link: a receiver
 * that has seen (epoch, seq) takes nothing at or below it twice (a window of HA_REPLAY_WINDOW
 * datagrams tolerates the reordering between several links).
 *
 * Payloads:
 *   HEARTBEAT  state u8 | role u8 | flags u16 | n_sections u16 | sections (16 bytes each:
 *              kind u8, proto u8, port u16, addr u32, digest 8 bytes)
 *   SYNC       stream seq u64 | body kind u8 | zero u8 | count u16 | body
 *              RECORDS: count records of HA_RECORD_LEN bytes (struct ha_record's fields in order):
 *                kind u8 | proto u8 | state u8 | flags u8 | caddr, vaddr, daddr u32 | cport,
 *                vport, dport u16 | client MAC 6 bytes | lifetime u32
 *              CONFIG:  total length u32 | offset u32 | count bytes of configuration text
 *   SYNC_ACK   stream epoch u64 | acked stream seq u64 (every seq up to it was applied)
 * Sync datagrams form one ordered stream per sender epoch, numbered from 1 (ha/hasync.c). */
#ifndef RAWLB_HAMSG_H
#define RAWLB_HAMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HA_MAGIC 0x524c4248u /* "RLBH" */
#define HA_VERSION 1
#define HA_HEADER_LEN 36
#define HA_MAC_LEN 32
#define HA_KEY_MIN 16
#define HA_KEY_MAX 64
/* Datagrams stay below the usual 1500-byte MTU: no IP fragments between the directors. */
#define HA_DATAGRAM_MAX 1400
#define HA_PAYLOAD_MAX (HA_DATAGRAM_MAX - HA_HEADER_LEN - HA_MAC_LEN)
#define HA_SECTION_LEN 16
#define HA_HEARTBEAT_FIXED 6
#define HA_MAX_SECTIONS 65 /* globals + RAWLB_MAX_SERVICES */
#define HA_DIGEST_LEN 8
#define HA_SYNC_FIXED 12
#define HA_RECORD_LEN 32
#define HA_SYNC_MAX_RECORDS ((HA_PAYLOAD_MAX - HA_SYNC_FIXED) / HA_RECORD_LEN)
#define HA_CONFIG_FIXED 8
#define HA_CONFIG_CHUNK_MAX (HA_PAYLOAD_MAX - HA_SYNC_FIXED - HA_CONFIG_FIXED)
#define HA_CONFIG_TOTAL_MAX (1u << 20) /* longest configuration text a CONFIG stream carries */
#define HA_ACK_LEN 16
#define HA_REPLAY_WINDOW 64

enum ha_msg_type { HA_MSG_HEARTBEAT = 1, HA_MSG_SYNC = 2, HA_MSG_SYNC_ACK = 3 };

/* What a director says it is, in its heartbeats and its status. */
enum ha_state {
    HA_STATE_BACKUP = 0,  /* silent behind the role gate (also while starting) */
    HA_STATE_MASTER = 1,  /* owns the VIPs and the NAT router address, forwards */
    HA_STATE_FAULT = 2,   /* a tracked link lost carrier: cannot serve */
    HA_STATE_LEAVING = 3, /* stopping (SIGTERM): the peer takes over now */
    HA_STATE_COUNT
};
enum ha_role { HA_ROLE_PRIMARY = 1, HA_ROLE_BACKUP = 2 };

/* Heartbeat flags. */
#define HA_HB_READY 0x1      /* first round of health probes done and, if it needed one, the peer's table received */
#define HA_HB_FORCED 0x2     /* the operator said "ha takeover" here: the peer yields */
#define HA_HB_RELEASED 0x4   /* the operator said "ha release" here: it does not pre-empt */
#define HA_HB_WANT_TABLE 0x8 /* send me your whole connection table (a returning node) */

enum ha_section_kind { HA_SECTION_GLOBALS = 0, HA_SECTION_SERVICE = 1 };

/* One configuration section's identity and digest: the globals (addr, port, proto 0), or a
 * service named by protocol and VIP:port (network order address, host order port). */
struct ha_section {
    uint8_t kind, proto;
    uint16_t port;
    uint32_t addr;
    uint8_t digest[HA_DIGEST_LEN];
};

struct ha_heartbeat {
    uint8_t state, role;
    uint16_t flags;
    uint16_t n_sections;
    struct ha_section sections[HA_MAX_SECTIONS];
};

/* A connection entry in transit, named by address and port (never by index). Addresses in
 * network order, ports in host order. lifetime: seconds it has left. */
enum ha_record_kind {
    HA_REC_UPSERT = 1,     /* make or update the entry with this key */
    HA_REC_DELETE = 2,     /* the entry with this key is gone */
    HA_REC_BULK_BEGIN = 3, /* a whole-table transfer starts (no entry) */
    HA_REC_BULK_END = 4,   /* ... and is complete: every record before it was applied */
};
#define HA_REC_F_TEMPLATE 0x1   /* a persistence template (key: caddr masked, vaddr, vport) */
#define HA_REC_F_ONE_PACKET 0x2 /* -o entry: found by its reply key only */
#define HA_REC_F_PERSIST 0x4    /* controlled by its service's template for caddr */

struct ha_record {
    uint8_t kind, proto, state, flags;
    uint32_t caddr, vaddr, daddr;
    uint16_t cport, vport, dport;
    uint8_t client_mac[6];
    uint32_t lifetime;
};

enum ha_sync_body { HA_SYNC_RECORDS = 1, HA_SYNC_CONFIG = 2 };

struct ha_sync {
    uint64_t stream_seq;
    uint8_t body;
    uint16_t count; /* records, or bytes of config text */
    /* RECORDS */
    struct ha_record records[HA_SYNC_MAX_RECORDS];
    /* CONFIG: text[0..count) is bytes offset..offset+count of a text total bytes long */
    uint32_t config_total, config_offset;
    char config[HA_CONFIG_CHUNK_MAX];
};

struct ha_ack {
    uint64_t stream_epoch, acked;
};

struct ha_key {
    uint8_t bytes[HA_KEY_MAX];
    size_t len; /* HA_KEY_MIN..HA_KEY_MAX */
};

struct ha_header {
    uint8_t type;
    uint64_t node, epoch, seq;
};

/* Why a datagram was not taken (each counted apart in the status). */
enum ha_verdict {
    HA_OK,
    HA_BAD_LENGTH,  /* shorter than a header and a MAC, or not what its length field says */
    HA_BAD_MAGIC,   /* not ours (magic, version or a reserved field not zero) */
    HA_BAD_MAC,     /* wrong key or altered */
    HA_BAD_PAYLOAD, /* authentic but its payload does not decode (unknown type, bad counts) */
    HA_STALE,       /* authentic but replayed: an older epoch, or a sequence already seen */
};
const char *ha_verdict_name(enum ha_verdict v);
const char *ha_state_name(unsigned state);

/* Writes header + payload + HMAC into out; returns the datagram's length, 0 if it does not fit
 * (or plen > HA_PAYLOAD_MAX, or key->len is outside HA_KEY_MIN..HA_KEY_MAX). The payload may
 * already sit at out + HA_HEADER_LEN (encoded in place). */
size_t ha_msg_seal(const struct ha_key *key, const struct ha_header *h, const uint8_t *payload, size_t plen,
                   uint8_t *out, size_t outlen);
/* Checks length, magic, version and HMAC (in constant time) and points *payload into buf.
 * Returns HA_OK, HA_BAD_LENGTH, HA_BAD_MAGIC or HA_BAD_MAC (also for a key->len outside
 * HA_KEY_MIN..HA_KEY_MAX); never reads past buf[len). h, payload and plen are set on HA_OK.
 * Both call sodium_init() themselves: callers need not. */
enum ha_verdict ha_msg_open(const struct ha_key *key, const uint8_t *buf, size_t len, struct ha_header *h,
                            const uint8_t **payload, size_t *plen);

/* Payload encoders return the length written (0 if it does not fit in len, or if the struct
 * is one its decoder would refuse); decoders return false for anything that is not exactly one
 * well-formed payload of that type. */
size_t ha_heartbeat_encode(const struct ha_heartbeat *hb, uint8_t *out, size_t len);
bool ha_heartbeat_decode(const uint8_t *p, size_t len, struct ha_heartbeat *hb);
size_t ha_sync_encode(const struct ha_sync *s, uint8_t *out, size_t len);
bool ha_sync_decode(const uint8_t *p, size_t len, struct ha_sync *s);
size_t ha_ack_encode(const struct ha_ack *a, uint8_t *out, size_t len);
bool ha_ack_decode(const uint8_t *p, size_t len, struct ha_ack *a);

/* Anti-replay for one peer: the highest (epoch, seq) taken and which of the HA_REPLAY_WINDOW
 * sequences below it were taken too. Starts zeroed. */
struct ha_replay {
    uint64_t epoch, top;
    uint64_t seen; /* bit i: top - i was taken */
};
/* Call only for an authentic datagram. HA_OK (and it is recorded) when (epoch, seq) is new:
 * a later epoch starts the window afresh; HA_STALE for an older epoch, a sequence taken
 * before, or one too far below the window. Sequence 0 is never sent (senders count from 1)
 * and always HA_STALE, so a zeroed window has taken nothing. */
enum ha_verdict ha_replay_check(struct ha_replay *r, uint64_t epoch, uint64_t seq);

/* A datagram as a director takes it from its peer: ha_msg_open, then one carrying our own node
 * id refused (a datagram of ours looped back is never the peer's: HA_BAD_PAYLOAD), then the
 * anti-replay window r (HA_STALE). HA_OK only for an authentic, fresh datagram of the peer. */
enum ha_verdict ha_msg_accept(const struct ha_key *key, struct ha_replay *r, uint64_t own_node, const uint8_t *buf,
                              size_t len, struct ha_header *h, const uint8_t **payload, size_t *plen);

#endif
