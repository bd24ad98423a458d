/* rawlb-replay: the traffic replay benchmark. Types shared by its modules; each module's
 * functions are declared in the section named after its file.
 *
 *   main.c     picks the mode (send, sink), runs it, prints the report
 *   opts.c     flags -> struct opts (bad flags exit 2 naming the flag and value)
 *   netif.c    an interface's index, MAC and address; the MAC of a neighbour by ARP (libnet)
 *   frame.c    header offsets, checksums (full and RFC 1624 incremental), the payload stamp
 *   trace.c    a pcap file read into templates, rewritten for the target once at load
 *   gen.c      generated templates: UDP over N flows, TCP SYN/data/FIN per flow
 *   flowtab.c  fixed-size per-flow (5-tuple) counters, shared by sender and sink
 *   sender.c   paced, batched sending with sendmmsg on an AF_PACKET socket; echo probes
 *   sink.c     receiving side: per-flow and per-sender counts, gaps in stamps, UDP echo
 *   report.c   text and JSON summaries, the progress line
 */
#ifndef RAWLB_REPLAY_H
#define RAWLB_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define REPLAY_EXIT_OK 0
#define REPLAY_EXIT_FAIL 1
#define REPLAY_EXIT_USAGE 2

#define REPLAY_FRAME_MAX 1514   /* Ethernet frame without FCS; longer capture frames are skipped */
#define REPLAY_BATCH_MAX 1024
#define REPLAY_FLOWS_MAX (1u << 20)

/* ---- opts.c ---- */
enum gen_kind { GEN_NONE, GEN_UDP, GEN_TCP };

struct opts {
    const char *ifname;      /* -i: send interface */
    const char *file;        /* -r: pcap to replay */
    const char *sink_if;     /* --sink IF: receive mode */
    uint32_t to_addr;        /* --to, network order */
    uint16_t to_port;        /* network order; 0 = keep the capture's */
    bool to_set;
    uint8_t to_mac[6];
    bool to_mac_set;
    uint32_t src_base, src_size; /* --src-range, base in host order */
    bool src_range;
    double speed;            /* --speed multiplier of the capture's timing (default 1) */
    double pps, mbps;        /* --pps, --mbps; 0 = unset */
    bool topspeed;
    uint64_t loops;          /* --loop (default 1) */
    double duration;         /* --duration SEC; 0 = unbounded (send: until loops are done) */
    enum gen_kind gen;
    unsigned size;           /* --size: frame bytes without FCS */
    unsigned flows;          /* --flows */
    unsigned batch;          /* --batch (default 64) */
    bool qdisc_bypass;
    bool json;
    bool echo;               /* send: latency probes; sink: echo stamped UDP back */
    double idle;             /* sink: stop after this long without a frame once one came */
    const char *filter;      /* sink: BPF filter (default "ip") */
    bool progress;           /* a line a second (default: when stdout is a terminal) */
    bool quiet_flows;        /* --no-flows: JSON without the per-flow list */
    bool one_way;            /* sink: one-way latency of stamped frames (one host's clock) */
};

/* Parses argv into o. Returns REPLAY_EXIT_OK, or an exit status after printing help or the
 * version (0) or an error naming the flag (2); *done tells the caller to exit with that status. */
int opts_parse(struct opts *o, int argc, char **argv, bool *done);
void opts_usage(FILE *out);

/* ---- netif.c ---- */
struct netif {
    const char *name;
    int ifindex;
    uint8_t mac[6];
    uint32_t addr, mask; /* network order; 0 if the interface has none */
};

bool netif_lookup(struct netif *nif, const char *name, char *err, size_t errlen);
/* The address to ARP for to reach addr through nif: addr itself, or the gateway of the most
 * specific route to it on nif (from /proc/net/route of this namespace). */
uint32_t netif_next_hop(const struct netif *nif, uint32_t addr);
/* Asks for addr's MAC with an ARP request from nif (3 tries, 1 s each). */
bool netif_arp(const struct netif *nif, uint32_t addr, uint8_t mac[6], char *err, size_t errlen);

/* ---- frame.c ---- */
#define STAMP_MAGIC 0x524c4250u /* "RLBP" */
#define STAMP_LEN 20            /* magic, flow id, sequence (u32 each), send time ns (u64) */

struct stamp {
    uint32_t flow, seq;
    uint64_t ts_ns;
};

/* Offsets of an Ethernet/IPv4 frame's headers; l4 is 0 for non-first fragments. */
struct hdrs {
    size_t l3, l4, payload; /* offsets into the frame */
    size_t ip_len;          /* IP total length */
    uint8_t proto;
    bool fragment;          /* any fragment (MF or offset) */
};

bool frame_parse(const uint8_t *f, size_t len, struct hdrs *h);
uint16_t csum_fold(uint32_t sum);
uint32_t csum_add(const void *data, size_t len, uint32_t sum);
uint16_t csum_replace4(uint16_t check, uint32_t from, uint32_t to);
uint16_t csum_replace2(uint16_t check, uint16_t from, uint16_t to);
/* Recomputes the IP header checksum, and the TCP/UDP checksum when the frame holds the whole
 * datagram (not a fragment). */
void frame_fix_csums(uint8_t *f, const struct hdrs *h);
/* Changes the IP source/destination (and port when port != 0) with incremental checksums. */
void frame_set_src(uint8_t *f, const struct hdrs *h, uint32_t addr);
void frame_set_dst(uint8_t *f, const struct hdrs *h, uint32_t addr, uint16_t port);
void stamp_write(uint8_t *p, const struct stamp *s);
bool stamp_read(const uint8_t *p, size_t len, struct stamp *s);
uint64_t now_ns(void); /* CLOCK_MONOTONIC */

/* ---- trace.c and gen.c: the templates the sender sends ---- */
struct tmpl {
    uint8_t *data;
    uint32_t len;
    uint64_t ts_ns;    /* offset from the first frame (capture timing) */
    uint32_t src_idx;  /* index of the frame's original source address (for --src-range) */
    uint32_t flow;     /* flow number (stamp flow id for generated UDP) */
    struct hdrs h;
    bool stamp;        /* generated UDP: stamp flow/seq/time on every send */
};

struct trace {
    struct tmpl *t;
    size_t n, cap;
    uint32_t nsrc;       /* distinct source addresses */
    uint32_t nflows;
    uint64_t span_ns;    /* capture time of one pass, for looping at capture timing */
    /* what was not kept, for the report */
    uint64_t read, skipped_reply, skipped_other, skipped_truncated, skipped_big;
};

struct target {
    uint8_t src_mac[6], dst_mac[6];
    uint32_t src_addr;          /* the interface's address, network order */
    uint32_t dst_addr;          /* network order */
    uint16_t dst_port;          /* network order, 0 = keep */
};

bool trace_load(struct trace *tr, const char *path, const struct target *tg, char *err, size_t errlen);
void trace_free(struct trace *tr);
bool trace_add(struct trace *tr, const uint8_t *data, size_t len, uint64_t ts_ns, uint32_t src_idx, uint32_t flow);
bool gen_build(struct trace *tr, const struct opts *o, const struct target *tg, uint16_t echo_sport,
               char *err, size_t errlen);

/* ---- flowtab.c ---- */
struct flow_key {
    uint32_t saddr, daddr;
    uint16_t sport, dport;
    uint8_t proto, pad[3];
};

struct flow {
    struct flow_key key;
    bool used;
    uint64_t pkts, bytes;
    uint64_t stamped, next_seq, dups; /* stamped frames: next_seq = highest sequence + 1 */
};

struct flowtab {
    struct flow *slots;
    uint32_t mask, used, max_used;
    uint64_t overflow; /* frames whose flow found no free slot */
};

bool flowtab_init(struct flowtab *ft, uint32_t max_flows);
void flowtab_free(struct flowtab *ft);
/* The flow's entry, created if new; NULL when the table is full (counted in overflow). */
struct flow *flowtab_get(struct flowtab *ft, const struct flow_key *k);
/* The key of an IPv4 frame (ports 0 for fragments and other protocols). */
void flow_key_of(const uint8_t *f, const struct hdrs *h, struct flow_key *k);

/* ---- sender.c ---- */
struct latency {
    uint64_t *rtt_ns;
    size_t n, cap;
    uint64_t sent, received, bad;
};

struct send_result {
    /* sent: accepted by the kernel; link_drops: refused by the device with ENOBUFS (offered, not
     * sent on); failed: given up after the socket stayed full; bytes: of sent and link_drops */
    uint64_t sent, link_drops, failed, retried, bytes, loops_done;
    double elapsed_s;
    struct flowtab flows;
    struct latency lat;
    struct trace trace; /* the templates and what loading them skipped */
    bool echo;
};

int sender_run(const struct opts *o, struct send_result *r);

/* ---- report.c: latency histogram ----
 * Log-linear: exact below 2^LATHIST_SUB_BITS ns, then 2^LATHIST_SUB_BITS buckets per power of two
 * (a value is known to within 1/16 of itself), so millions of frames cost a fixed 8 KB and two
 * sinks' histograms add up bucket by bucket. */
#define LATHIST_SUB_BITS 4
#define LATHIST_SUB (1u << LATHIST_SUB_BITS)
#define LATHIST_BUCKETS ((64 - LATHIST_SUB_BITS + 1) * LATHIST_SUB)

struct lathist {
    uint64_t count[LATHIST_BUCKETS];
    uint64_t n, max_ns;
    uint64_t future; /* stamps later than the receive time: not one clock, not counted */
};

void lathist_add(struct lathist *h, uint64_t ns);
uint64_t lathist_bucket_low(unsigned idx); /* the smallest value of bucket idx */
/* The upper edge of the bucket holding the value of rank q (0..1, nearest rank); 0 when empty. */
double lathist_quantile_us(const struct lathist *h, double q);

/* ---- sink.c ---- */
struct sink_result {
    uint64_t pkts, bytes, stamped, lost, echoed, echo_failed, kernel_drops;
    struct lathist one_way; /* --one-way: receive time minus stamp, per stamped frame */
    double elapsed_s; /* from the first frame to the last */
    struct flowtab flows;
    struct flowtab senders; /* keyed by source address only */
};

int sink_run(const struct opts *o, struct sink_result *r);

/* ---- report.c ---- */
void report_send(FILE *out, const struct opts *o, struct send_result *r);
void report_sink(FILE *out, const struct opts *o, const struct sink_result *r);
/* One line, rewritten in place (\r) on a terminal. */
void report_progress(const char *what, uint64_t pkts, uint64_t bytes, uint64_t last_pkts,
                     uint64_t last_bytes, double dt);
void latency_percentiles(struct latency *l, double *p50, double *p99, double *p999);

/* set by SIGINT/SIGTERM (main.c): every loop checks it */
extern volatile int replay_stop;

#endif
