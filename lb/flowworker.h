/* flowworker: which worker owns a flow (--workers). One definition, used three ways: the kernel's
 * PACKET_FANOUT program that hands each frame to a worker's socket is generated from it
 * (flow_fanout_prog), HA's import of synced entries and templates goes through it
 * (flow_worker_of_entry), and the unit test checks that the two agree frame by frame.
 *
 * What a flow is keyed on has to be readable in both directions: a client's frame names
 * client:port -> VIP:port, the real server's reply names server:port -> client:port. Only the
 * client's address and port appear in both, so the key is built from them:
 * - TCP: client address and port, so one client's connections spread over the workers;
 * - UDP: the client address alone, because only a datagram's first fragment carries ports and
 *   every fragment must reach the worker holding the flow's entry and fragment map;
 * - with any persistent service (-p): the client address masked by the widest persistence mask
 *   of all services, no port, for every flow: a template (masked client address) and all the
 *   connections it controls must meet in one table;
 * - ICMP errors: the flow of the header they quote; other ICMP (echo): the outer client address;
 * - a later fragment carries no port: keyed on the address alone, which for TCP (fragmented only
 *   when DF is clear, which no current stack sends) may name another worker than its flow's:
 *   such fragments are dropped as frag_unknown there.
 * ARP never reaches the workers (the main thread answers it and is the neighbour table's writer).
 * The hash is a multiply-xorshift mixer, unkeyed: it splits load over a handful of workers, an
 * attacker aiming at one worker gains nothing a flood does not give, and the connection table
 * behind it has its own keyed hash. */
#ifndef RAWLB_FLOWWORKER_H
#define RAWLB_FLOWWORKER_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stdint.h>

#include "service.h"

#define FLOW_MAX_WORKERS RAWLB_MAX_WORKERS
/* Longest generated fanout program (instructions): fixed shape, no per-service code. */
#define FLOW_PROG_MAX 64

struct flow_map {
    unsigned n_workers;
    uint32_t mask;  /* host order: applied to the client address */
    bool use_port;  /* TCP flows keyed on the client port too (no persistent service) */
};

/* The map for n_workers and the services as they are (persistence decides mask and use_port). */
void flow_map_init(struct flow_map *m, unsigned n_workers, const struct service_table *services);
bool flow_map_equal(const struct flow_map *a, const struct flow_map *b);

/* The worker of a flow: proto, the client's address and port in network order. */
unsigned flow_worker(const struct flow_map *m, uint8_t proto, uint32_t caddr, uint16_t cport);

/* A connection entry or persistence template (HA import, table checks). */
struct conn;
unsigned flow_worker_of_entry(const struct flow_map *m, const struct conn *c);

/* The classic BPF program for the fanout group of one interface: from_ext for frames from
 * clients (the client is the source), else frames from real servers (the client is the
 * destination). It reads the frame from its network header, as the kernel runs fanout
 * programs, and returns the worker index. prog must have room for FLOW_PROG_MAX instructions;
 * returns the count. */
unsigned flow_fanout_prog(const struct flow_map *m, bool from_ext, struct sock_filter *prog);

#endif
