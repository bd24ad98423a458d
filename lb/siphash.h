/* siphash: SipHash-1-3 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012; one
 * compression round per 8-byte word, three finalization rounds, as the reference implementation
 * built with cROUNDS 1 and dROUNDS 3), the keyed hash of the tables whose keys come off the wire
 * (connection table, fragment map): without the key nobody can aim flows at one chain.
 *
 * Why SipHash-1-3 and not HalfSipHash-1-3: both rounds are the same 14 add/rotate/xor operations,
 * on 64-bit words here and 32-bit words there, so on the 64-bit machines rawlb runs on the cost
 * is the number of rounds. The connection key (two addresses, two ports, the protocol: 13 bytes)
 * is one word and a tail for SipHash, 1 + 1 + 3 = 5 rounds; HalfSipHash needs three words and a
 * tail, 4 + 3 = 7 rounds. SipHash also has the larger key (128 bits) and margin.
 *
 * Callers hash fixed layouts word by word: siphash_begin (from the state siphash_start made of the
 * key once, at start), siphash_word per full 8 bytes of the message, siphash_end with the last
 * (len % 8) bytes. A word is the little-endian reading of its 8 message bytes, so a caller
 * composing words from values defines its message as those values laid out little-endian
 * (test_siphash checks this against the reference vectors). Everything is inline: a table's
 * hash compiles to straight-line code for its own layout. */
#ifndef RAWLB_SIPHASH_H
#define RAWLB_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#include "inline.h"

/* 128 bits from getrandom at start (k0: key bytes 0-7 little-endian, k1: bytes 8-15). */
struct siphash_key {
    uint64_t k0, k1;
};

struct siphash {
    uint64_t v0, v1, v2, v3;
};

FAST_INLINE uint64_t siphash_rotl(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64 - b));
}

FAST_INLINE void siphash_round(struct siphash *s)
{
    s->v0 += s->v1;
    s->v1 = siphash_rotl(s->v1, 13);
    s->v1 ^= s->v0;
    s->v0 = siphash_rotl(s->v0, 32);
    s->v2 += s->v3;
    s->v3 = siphash_rotl(s->v3, 16);
    s->v3 ^= s->v2;
    s->v0 += s->v3;
    s->v3 = siphash_rotl(s->v3, 21);
    s->v3 ^= s->v0;
    s->v2 += s->v1;
    s->v1 = siphash_rotl(s->v1, 17);
    s->v1 ^= s->v2;
    s->v2 = siphash_rotl(s->v2, 32);
}

/* The initial state under key k, the same for every message: tables keep it instead of the key. */
FAST_INLINE struct siphash siphash_start(const struct siphash_key *k)
{
    /* "somepseudorandomlygeneratedbytes" */
    return (struct siphash){ .v0 = k->k0 ^ 0x736f6d6570736575ull, .v1 = k->k1 ^ 0x646f72616e646f6dull,
                             .v2 = k->k0 ^ 0x6c7967656e657261ull, .v3 = k->k1 ^ 0x7465646279746573ull };
}

FAST_INLINE struct siphash siphash_begin(const struct siphash *start)
{
    return *start;
}

/* Absorbs the next 8 message bytes, m their little-endian value: c = 1 round. */
FAST_INLINE void siphash_word(struct siphash *s, uint64_t m)
{
    s->v3 ^= m;
    siphash_round(s);
    s->v0 ^= m;
}

/* The hash of a message of len bytes whose last len % 8 bytes have the little-endian value tail
 * (0 when len is a multiple of 8): the tail word, then d = 3 rounds. */
FAST_INLINE uint64_t siphash_end(struct siphash *s, uint64_t tail, size_t len)
{
    siphash_word(s, tail | (uint64_t)len << 56);
    s->v2 ^= 0xff;
    siphash_round(s);
    siphash_round(s);
    siphash_round(s);
    return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

#endif
