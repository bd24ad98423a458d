/* fastpath: what happens to one received frame, as a pure function of the frame and the
 * worker's state: parse, find or make the connection, rewrite in place, and say where the frame
 * goes (a verdict). Replies the director makes itself (ARP answers, ICMP echo replies, RSTs,
 * ICMP port unreachable and fragmentation-needed) are built in place of the frame that caused
 * them, so nothing is allocated and every frame is sent at most once.
 * Frames start with a struct virtio_net_hdr (PACKET_VNET_HDR), then Ethernet.
 * No I/O here: capture.c reads batches, xmit.c sends them, and the same code can be driven from
 * a file. One struct fastpath per worker; only the service table is shared.
 *
 * Design shared by the issues that change what the fast path answers:
 * - The role gate (HA): one flag, fp->master, set through fastpath_set_role. A director that is
 *   not master sends nothing of its own: no ARP answers for VIPs or the NAT router address, no
 *   echo replies, no RST, no ICMP, no forwarding (every such frame is dropped as "standby"). It
 *   still learns the real servers' MACs, and its table still takes synced entries (conn_import),
 *   so it can forward the moment it becomes master. Without --ha-role a director is master.
 * - One rule for unknown flows, everywhere (Edges and Scale-out fill in the answers):
 *     TCP non-SYN without an entry: an RST from VIP:port (never for an RST segment), no entry
 *       made; for mh services forwarded to the server mh picks, as a mid-flow entry in SYN_RECV
 *       (half-open until the server answers; never for an RST segment either);
 *     the same within the grace period (from becoming master until grace_until: one dead time,
 *       and while an HA import or a saved-table restore runs): dropped silently as "grace", so a
 *       flow whose entry had not reached this director yet is not reset by the takeover;
 *     TCP SYN (any TCP) / UDP to a VIP port without a service: RST / ICMP port unreachable;
 *     a reply from a real server without an entry: mh services rewritten from the service table
 *       (a stateless reply, whose next hop is the kernel's route toward the client: uplink.h),
 *       otherwise dropped as no_conn; an ICMP error from the client side about such a reply
 *       goes to the server mh picks for the quoted client (path MTU discovery across directors). No entry is made: the director that carried the request
 *       keeps the flow's state, and its entry stays half-open when the replies leave through
 *       another director (each client segment renews it; mh re-picks the same server after it).
 *   The RSTs and ICMP errors of this rule share one token bucket per worker (FP_REPLY_RATE):
 *   what it refuses is dropped as rate_limited. None answers what RFC 1122 forbids answering
 *   (reply_allowed). A fragmented ping to a VIP is dropped whole (icmp_fragment), never
 *   answered in part; so is a fragmented ICMP error from either side (its checksum covers the
 *   whole message, and later fragments carry no quote to find the flow by).
 * - Counters are per worker and summed when read; every frame is counted once in and once out. */
#ifndef RAWLB_FASTPATH_H
#define RAWLB_FASTPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "frag.h"
#include "neigh.h"
#include "ratelimit.h"
#include "service.h"

struct uplink;

/* Answers to traffic of no flow (RSTs, ICMP port unreachable) per second and worker: the
 * kernel's net.ipv4.icmp_msgs_per_sec. The clock counts whole seconds, so the bucket holds one
 * second's worth (the kernel's burst of 50 needs a finer clock): at most FP_REPLY_RATE in any
 * one second of the clock. */
#define FP_REPLY_RATE 1000
#define FP_REPLY_BURST FP_REPLY_RATE

#define FP_DROP_REASONS(X)                                                                    \
    X(TRUNCATED, "truncated")           /* shorter than its headers say */                    \
    X(BAD_IP, "bad_ip")                 /* IPv4 header fields impossible */                   \
    X(BAD_L4, "bad_l4")                 /* TCP header length impossible */                    \
    X(NOT_IPV4, "not_ipv4")             /* other ethertypes */                                \
    X(ARP_IGNORED, "arp_ignored")       /* ARP not for an address we answer */                \
    X(NO_SERVICE, "no_service")         /* no service there, not answered (reply_allowed) */  \
    X(NOT_SYN, "not_syn")               /* non-SYN TCP of no flow, not answered (an RST) */   \
    X(NO_SERVER, "no_server")           /* every real server quiesced or down */              \
    X(SERVER_LIMIT, "server_limit")     /* every real server at its -x connection limit */    \
    X(TABLE_FULL, "table_full")         /* --max-conns reached */                             \
    X(NO_NEIGH, "no_neigh")             /* real server's MAC not learnt yet */                \
    X(TTL, "ttl_exceeded")              /* TTL would reach zero */                            \
    X(TOO_BIG, "too_big")               /* larger than the egress MTU, DF clear */            \
    X(FRAG_UNKNOWN, "frag_unknown")     /* later fragment without its first */                \
    X(NO_CONN, "no_conn")               /* from a real server, no entry (nor an mh service) */ \
    X(NO_ROUTE, "no_route")             /* stateless reply: no route via a gateway on ext */  \
    X(NO_GATEWAY_MAC, "no_gateway_mac") /* stateless reply: its gateway's MAC not learnt yet */ \
    X(ICMP_UNTRACKED, "icmp_untracked") /* ICMP error about no flow of ours */                \
    X(ICMP_OTHER, "icmp_other")         /* ICMP to a VIP that is neither echo nor error */    \
    X(GSO_BAD, "gso_bad")               /* vnet header inconsistent with the frame */         \
    X(STANDBY, "standby")               /* not master: the role gate holds (HA) */            \
    X(GRACE, "grace")                   /* unknown mid-flow TCP just after a takeover */      \
    X(RATE_LIMITED, "rate_limited")     /* an RST or ICMP error over FP_REPLY_RATE */         \
    X(ICMP_FRAGMENT, "icmp_fragment")   /* ICMP to a VIP or from a real server, fragmented */

enum fp_drop {
#define FP_DROP_ENUM(name, str) FP_DROP_##name,
    FP_DROP_REASONS(FP_DROP_ENUM)
#undef FP_DROP_ENUM
    FP_DROP_COUNT
};
const char *fastpath_drop_name(enum fp_drop d);

enum fp_verdict {
    FP_VERDICT_DROP,
    FP_VERDICT_TX_EXT, /* send on the external interface */
    FP_VERDICT_TX_INT, /* send on the internal interface */
};

struct fastpath_config {
    uint8_t ext_mac[6], int_mac[6];
    uint32_t nat_ip;        /* network order */
    bool answer_arp_nat;    /* false when the NAT router address is a kernel address */
    unsigned ext_mtu, int_mtu;
    uint32_t max_conns;
    struct timeouts timeouts;
    struct siphash_key conn_key, frag_key; /* the tables' hash keys (getrandom), independent */
};

struct fastpath_stats {
    uint64_t rx_ext, rx_int, tx_ext, tx_int;
    uint64_t arp_replies, echo_replies;
    uint64_t resets_sent;       /* RSTs from a VIP: flows dropped, segments of no flow, no service */
    uint64_t mid_flow_taken;    /* mh: TCP segments of no flow here forwarded, a mid-flow entry made */
    uint64_t stateless_replies; /* mh: real servers' segments of no flow here sent on to the client */
    uint64_t icmp_too_big_sent;
    uint64_t icmp_unreach_sent; /* ICMP port unreachable: UDP to a VIP port without a service */
    uint64_t icmp_translated;
    uint64_t drops[FP_DROP_COUNT];
};

struct fastpath {
    struct fastpath_config cfg;
    struct service_table *services;
    struct neigh_table *neigh;
    struct uplink *uplink; /* the way to clients for stateless replies; NULL: none (dropped as no_conn) */
    struct conn_table conns;
    struct frag_table frags;
    struct fastpath_stats stats;
    bool master;          /* the role gate: forward and answer only when true */
    uint32_t grace_until; /* unknown mid-flow TCP is dropped silently before this second */
    struct ratelimit replies; /* RSTs and ICMP errors about traffic of no flow */
    /* Per-packet counters of each service's real servers (and connections made per service),
     * kept here so that no two workers write one cache line per packet; fastpath_fold_stats
     * adds them into the service table. */
    struct rs_stats (*rs_stats)[RAWLB_MAX_RS_PER_SERVICE + 1];
    uint64_t svc_conns[RAWLB_MAX_SERVICES];
    /* The reap walk (fastpath_reap_some): the slots' retirement count it covers, and where it is. */
    uint32_t reaped, reap_cursor;
    bool reaping;
};

/* Makes the connection table (cfg->max_conns entries). False when memory is short. */
bool fastpath_init(struct fastpath *fp, const struct fastpath_config *cfg, struct service_table *services,
                   struct neigh_table *neigh);
void fastpath_free(struct fastpath *fp);

/* One frame received on the external (from_ext) or internal interface: buf holds the vnet
 * header and the frame, *len their length; buf has room for at least *len and at least
 * REPLY_ICMP_ERROR_MAX (reply.h) bytes (a reply is never longer than what it answers, but an
 * ICMP error about a short datagram). On TX verdicts buf[0..*len) is what to send. now is the
 * worker's clock in seconds (the one given to fastpath_tick). */
enum fp_verdict fastpath_handle(struct fastpath *fp, bool from_ext, uint8_t *buf, size_t *len, uint32_t now);
/* Overload (capture.h): the frame belongs to an established flow (an entry of class
 * CONN_C_ESTABLISHED: TCP past its handshake, a UDP stream), which is still forwarded when it
 * waited too long; anything else then is dropped unprocessed. Changes nothing. */
bool fastpath_of_stream(struct fastpath *fp, bool from_ext, uint8_t *buf, size_t len, uint32_t now);

/* HA: open (master) or close the role gate; grace_until is the worker's second until which
 * unknown mid-flow TCP segments are dropped silently (0: no grace). A new fastpath is master. */
void fastpath_set_role(struct fastpath *fp, bool master, uint32_t grace_until);

/* The reap walk: entries of retired slots (slots.h: servers removed by an edit, or whose flows
 * health dropped) are marked so that each client's next segment gets an RST from the VIP (TCP)
 * or is scheduled afresh (UDP), and their persistence templates go. The fast path already
 * answers them so when it meets one first (it checks the slot at every lookup); the walk is what
 * lets the rest expire after CONN_TIMEOUT_RESET instead of their full timeout and frees their
 * slots. At most budget pool slots are looked at per call; a walk resumes where it stopped and
 * starts over when more slots were retired meanwhile. *done: nothing left to reap. Returns how
 * many connections were marked. The daemon's workers call it with their expiry (worker.c). */
uint32_t fastpath_reap_some(struct fastpath *fp, uint32_t budget, bool *done);
/* For a driver of one fastpath (tests, the fuzzer): health declared a real server dead, without
 * --quiesce (service_drop_flows), and its entries are reaped in one go. Returns how many
 * connections were marked (0 when its service had no free slot). */
uint32_t fastpath_drop_server(struct fastpath *fp, unsigned svc, unsigned rs);

/* The ActiveConn/InActConn/persistent counter an entry in state counts in. Workers change
 * these shared counters with atomic operations (the schedulers read them). */
uint32_t *fastpath_counter_for(struct real_server *rs, unsigned state);

/* sum += s, counter by counter (the workers' counters, summed when read). */
void fastpath_stats_add(struct fastpath_stats *sum, const struct fastpath_stats *s);

/* Adds what this fastpath counted per real server and service into the service table and
 * starts counting afresh (the main thread, before it reads or renumbers the table). */
void fastpath_fold_stats(struct fastpath *fp);

/* Once a second, for a driver of one fastpath (rawlb-pcap, tests): expire connections, reap
 * those of retired slots, age neighbours. The daemon's workers expire and reap their tables in
 * slices (worker.c) and its main thread ages the neighbour table. */
void fastpath_tick(struct fastpath *fp, uint32_t now);

#endif
