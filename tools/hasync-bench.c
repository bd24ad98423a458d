/* hasync-bench: how long the HA whole-table transfer (ha/hasync.c's bulk) takes and how much
 * memory the receiving director's table gains, on synthetic entries over loopback UDP.
 *
 * One process plays two directors. A (master, sending) and B (backup) each have their own
 * configuration and service table (config_parse + service_table_init from the same flags:
 * BENCH_FLAGS, 4 services x 8 real servers, one of them persistent, one UDP), their own
 * connection table of TABLE_CAPACITY entries and their own struct hasync, whose send function
 * does what ha/ha.c's send_on does (ha_msg_seal with a 32-byte key, node, epoch, a sequence
 * counted up per datagram) and sendto()s to the peer from a non-blocking UDP socket bound to
 * 127.0.0.1 (an ephemeral port each; a receive buffer of HASYNC_SOCKET_BUFFER, as rawlb's HA
 * socket, unless --rcvbuf). Receiving is ha/ha.c's take_datagram for SYNC and SYNC_ACK:
 * recvfrom, ha_msg_accept (authentic, not our own, fresh), hasync_receive.
 *
 * A is filled with --entries entries as lb/fastpath.c makes them (conn_create, persistence
 * templates as pick_server makes them, conn_tcp_update for TCP states) before its sync sends
 * anything, so only the transfer is measured. Then hasync_request_bulk(A) and a poll() loop on
 * both sockets, flushing both directors every HASYNC_FLUSH_MS (ha/ha.c's tick), until B's
 * table_done fired and A's transfer is acknowledged (hasync_bulk_busy false).
 *
 * Printed: the transfer's wall and CPU seconds, datagrams, resends, records, the datagrams the
 * kernel dropped (a full receive buffer) and those --loss dropped, the pauses in B's progress,
 * and memory: VmRSS before B's table got entries and after the transfer (the extra RSS), with A's
 * growth while it was filled for comparison. B must end with A's entry count and every A entry
 * (same state, real server, template link, lifetime): exit 1 otherwise.
 * The tables' clocks do not move (nothing expires while it runs). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "conn.h"
#include "hamsg.h"
#include "hasync.h"
#include "packet.h"
#include "scheduler.h"
#include "service.h"

#define DEFAULT_ENTRIES 1000000u
#define TABLE_CAPACITY (1u << 21)
#define KEY_LEN 32
#define NODE_A UINT64_C(0xa11ce0000000000a)
#define NODE_B UINT64_C(0xb0b000000000000b)
#define EPOCH_A 7
#define EPOCH_B 9
#define SEED_A 0x1234567u
#define SEED_B 0x7654321u
#define LOSS_SEED UINT64_C(0x9e3779b97f4a7c15)
#define STALL_LIMIT_MS 60000u /* no progress for this long: the transfer is stuck */
#define PAUSE_MS 100u         /* a gap in B's progress this long is counted as a pause */
#define MAX_ARGS 128
#define MS_PER_S 1000.0
#define BYTES_PER_MIB (1024.0 * 1024.0)

/* rawlb's own flags: the same for both directors. 198.51.100.10:443 is persistent per /24. */
#define RS8(net, port)                                                                                       \
    " -r " net ".1:" port " -r " net ".2:" port " -r " net ".3:" port " -r " net ".4:" port " -r " net       \
    ".5:" port " -r " net ".6:" port " -r " net ".7:" port " -r " net ".8:" port
#define BENCH_FLAGS                                                                                         \
    "-e ext -i int -n 192.168.0.1 -s rr"                                                                    \
    " -t 198.51.100.10:80" RS8("192.168.10", "8080")                                                        \
    " -t 198.51.100.10:443 -p 300 -M 255.255.255.0" RS8("192.168.11", "443")                                \
    " -t 198.51.100.11:80" RS8("192.168.12", "8080")                                                        \
    " -u 198.51.100.10:53" RS8("192.168.13", "53")
enum bench_service { SVC_WEB, SVC_PERSIST, SVC_API, SVC_DNS, SVC_COUNT };

/* The mix, out of MIX_SLOTS consecutive flows; and of TCP flows' states, out of STATE_SLOTS. */
#define MIX_SLOTS 20
#define MIX_PERSIST_FROM 11 /* 0..10 web, 11..14 persistent, 15..17 api, 18..19 UDP */
#define MIX_API_FROM 15
#define MIX_UDP_FROM 18
#define STATE_SLOTS 100
#define STATE_SYN_RECV_FROM 90 /* 0..89 ESTABLISHED, 90..94 SYN_RECV, 95..97 FIN_WAIT, 98..99 CLOSE_WAIT */
#define STATE_FIN_WAIT_FROM 95
#define STATE_CLOSE_WAIT_FROM 98
#define PERSIST_CLIENTS_PER_NET 8    /* clients of one /24 share its template */
#define CLIENT_NET 0x0a000000u       /* 10.0.0.0/8: clients of the other services */
#define PERSIST_CLIENT_NET 0x0b000000u /* 11.0.0.0/8: one /24 per template */
#define CLIENT_PORTS 1024            /* flows per client address */
#define CLIENT_PORT_BASE 1024
#define KNUTH_MULT 2654435761u

struct io_stats {
    uint64_t tx, tx_failed, rx, lost, unknown_sender, rejected, not_sync;
};

struct director {
    const char *name;
    uint64_t node, epoch;
    struct rawlb_config cfg;
    struct service_table svcs;
    struct conn_table conns;
    struct hasync sync;
    int fd;
    struct sockaddr_in addr;
    struct director *peer;
    uint64_t seq;            /* of the datagrams it sends, from 1 (ha.c: ++ha->seq) */
    struct ha_replay replay; /* of the peer's datagrams */
    unsigned tables_done;
    struct io_stats io;
};

struct fill_stats {
    uint64_t tcp, udp, templates, controlled;
    uint64_t states[CONN_S_COUNT];
};

struct options {
    uint32_t entries;
    double loss;
    int rcvbuf; /* SO_RCVBUF of both sockets; 0: the system's default */
};

static struct director A, B;
static struct ha_key bench_key;
static double loss_rate;
static int rcvbuf_wanted;
static uint64_t loss_state = LOSS_SEED;

/* ---- measuring ---- */

static double rss_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb < 0 ? -1.0 : kb / 1024.0;
}

static double cpu_seconds(double *user, double *sys)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *user = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
    *sys = (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    return *user + *sys;
}

/* xorshift64*: a fixed sequence, so a --loss run drops the same datagrams every time. */
static bool lose_this_one(void)
{
    if (loss_rate <= 0.0)
        return false;
    loss_state ^= loss_state >> 12;
    loss_state ^= loss_state << 25;
    loss_state ^= loss_state >> 27;
    uint64_t r = loss_state * UINT64_C(2685821657736338717);
    return (double)(r >> 11) / (double)(UINT64_C(1) << 53) < loss_rate;
}

/* ---- the wire: as ha/ha.c's send_on and take_datagram ---- */

static bool director_send(void *arg, enum ha_msg_type type, const uint8_t *payload, size_t len)
{
    struct director *d = arg;
    uint8_t dgram[HA_DATAGRAM_MAX];
    struct ha_header h = { .type = (uint8_t)type, .node = d->node, .epoch = d->epoch, .seq = ++d->seq };
    size_t n = ha_msg_seal(&bench_key, &h, payload, len, dgram, sizeof dgram);
    const struct sockaddr *to = (const struct sockaddr *)&d->peer->addr;
    if (n && sendto(d->fd, dgram, n, 0, to, sizeof d->peer->addr) == (ssize_t)n) {
        d->io.tx++;
        return true;
    }
    d->io.tx_failed++;
    return false;
}

static void take_datagram(struct director *d, const uint8_t *buf, size_t len)
{
    struct ha_header h;
    const uint8_t *payload;
    size_t plen;
    enum ha_verdict v = ha_msg_accept(&bench_key, &d->replay, d->node, buf, len, &h, &payload, &plen);
    if (v != HA_OK) {
        d->io.rejected++;
        return;
    }
    if (h.type != HA_MSG_SYNC && h.type != HA_MSG_SYNC_ACK) {
        d->io.not_sync++;
        return;
    }
    if (h.epoch == d->peer->epoch) /* ha.c: the peer's epoch from its heartbeats */
        hasync_receive(&d->sync, h.epoch, (enum ha_msg_type)h.type, payload, plen, clock_monotonic_ms());
}

/* Everything waiting on d's socket. */
static void drain(struct director *d)
{
    uint8_t buf[HA_DATAGRAM_MAX + 1]; /* one more: a longer datagram shows as too long */
    for (;;) {
        struct sockaddr_in from;
        socklen_t fromlen = sizeof from;
        ssize_t n = recvfrom(d->fd, buf, sizeof buf, MSG_TRUNC, (struct sockaddr *)&from, &fromlen);
        if (n < 0)
            return; /* EAGAIN: all read */
        d->io.rx++;
        if (from.sin_addr.s_addr != d->peer->addr.sin_addr.s_addr || from.sin_port != d->peer->addr.sin_port) {
            d->io.unknown_sender++;
            continue;
        }
        if (lose_this_one()) {
            d->io.lost++;
            continue;
        }
        take_datagram(d, buf, (size_t)n > sizeof buf ? sizeof buf : (size_t)n);
    }
}

static bool open_socket(struct director *d)
{
    d->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    d->addr = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof d->addr;
    if (d->fd < 0 ||
        (rcvbuf_wanted && setsockopt(d->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf_wanted, sizeof rcvbuf_wanted) != 0 &&
         setsockopt(d->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf_wanted, sizeof rcvbuf_wanted) != 0) ||
        bind(d->fd, (struct sockaddr *)&d->addr, sizeof d->addr) != 0 ||
        getsockname(d->fd, (struct sockaddr *)&d->addr, &len) != 0) {
        fprintf(stderr, "hasync-bench: director %s: UDP socket on 127.0.0.1: %s\n", d->name, strerror(errno));
        return false;
    }
    return true;
}

/* ---- the two directors ---- */

static void table_done(void *arg)
{
    ((struct director *)arg)->tables_done++;
}

/* Each director has one connection table (one worker), as rawlb without --workers. */
static unsigned one_table(void *arg, const struct conn *entry)
{
    (void)arg;
    (void)entry;
    return 0;
}

static bool parse_flags(struct rawlb_config *cfg)
{
    static char line[sizeof BENCH_FLAGS];
    char *argv[MAX_ARGS], err[RAWLB_ERRLEN * 2];
    int argc = 0;
    snprintf(line, sizeof line, "%s", BENCH_FLAGS);
    argv[argc++] = "rawlb";
    for (char *tok = strtok(line, " "); tok && argc < MAX_ARGS - 1; tok = strtok(NULL, " "))
        argv[argc++] = tok;
    argv[argc] = NULL;
    if (config_parse(cfg, argc, argv, err, sizeof err) != CONFIG_OK) {
        fprintf(stderr, "hasync-bench: %s\n", err);
        return false;
    }
    return true;
}

static bool director_up(struct director *d, const char *name, uint64_t node, uint64_t epoch, uint32_t seed,
                        struct director *peer)
{
    char err[RAWLB_ERRLEN * 2] = "";
    d->name = name;
    d->node = node;
    d->epoch = epoch;
    d->peer = peer;
    d->fd = -1;
    if (!parse_flags(&d->cfg))
        return false;
    if (!service_table_init(&d->svcs, &d->cfg, err, sizeof err) ||
        !conn_table_init(&d->conns, TABLE_CAPACITY, &d->cfg.timeouts, &(struct siphash_key){ seed, 0 }) ||
        !hasync_init(&d->sync, (struct conn_table *const[]){ &d->conns }, 1, one_table, &d->svcs, director_send,
                     table_done, NULL, d)) {
        fprintf(stderr, "hasync-bench: director %s: set-up failed %s\n", name, err);
        return false;
    }
    d->sync.epoch = epoch; /* not sending until hasync_set_role */
    return open_socket(d);
}

static void director_down(struct director *d)
{
    hasync_free(&d->sync);
    conn_table_free(&d->conns);
    service_table_free(&d->svcs);
    if (d->fd >= 0)
        close(d->fd);
}

/* ---- filling A as the fast path would ---- */

static void client_mac_of(uint32_t caddr, uint8_t mac[6])
{
    const uint8_t m[6] = { 0x02, 0xcc, (uint8_t)(caddr >> 24), (uint8_t)(caddr >> 16), (uint8_t)(caddr >> 8),
                           (uint8_t)caddr };
    memcpy(mac, m, sizeof m);
}

/* The template of caddr's network (made, as pick_server does, when there is none) and the real
 * server it names; CONN_NONE when the table is full. */
static uint32_t template_for(struct director *d, unsigned svc_idx, uint32_t caddr, int *rs, struct fill_stats *fs)
{
    struct service *svc = &d->svcs.svc[svc_idx];
    uint32_t net = caddr & svc->persist_mask;
    struct conn *t = conn_lookup_template(&d->conns, svc->proto, net, svc->vip.addr, svc->vip.port);
    if (t) {
        conn_touch(&d->conns, t);
        *rs = t->rs;
        return conn_index(&d->conns, t);
    }
    *rs = svc->sched->schedule(svc, caddr, 0); /* a template is the client's, not one port's */
    struct conn e = { .caddr = net, .vaddr = svc->vip.addr, .vport = svc->vip.port,
                      .daddr = svc->rs[*rs].ep.addr, .dport = svc->rs[*rs].ep.port, .proto = svc->proto,
                      .flags = CONN_F_TEMPLATE, .svc = (uint16_t)svc_idx, .rs = (uint16_t)*rs,
                      .template = CONN_NONE, .template_timeout = svc->persist_timeout };
    t = conn_create(&d->conns, &e);
    if (!t)
        return CONN_NONE;
    fs->templates++;
    return conn_index(&d->conns, t);
}

/* TCP segments that take a new entry to the state flow number i is given. */
static void drive_tcp(struct conn_table *t, struct conn *c, uint32_t i, struct fill_stats *fs)
{
    unsigned slot = (unsigned)((i * KNUTH_MULT) >> 8) % STATE_SLOTS;
    conn_tcp_update(t, c, CONN_DIR_IN, TH_SYN_);
    if (slot < STATE_SYN_RECV_FROM || slot >= STATE_FIN_WAIT_FROM) {
        conn_tcp_update(t, c, CONN_DIR_OUT, TH_SYN_ | TH_ACK_);
        conn_tcp_update(t, c, CONN_DIR_IN, TH_ACK_);
    }
    if (slot >= STATE_CLOSE_WAIT_FROM)
        conn_tcp_update(t, c, CONN_DIR_IN, TH_FIN_ | TH_ACK_);
    else if (slot >= STATE_FIN_WAIT_FROM)
        conn_tcp_update(t, c, CONN_DIR_OUT, TH_FIN_ | TH_ACK_);
    fs->tcp++;
    fs->states[c->state]++;
}

/* One new flow of service svc_idx from caddr:cport; false when the table is full. */
static bool make_flow(struct director *d, unsigned svc_idx, uint32_t caddr, uint16_t cport, uint32_t i,
                      struct fill_stats *fs)
{
    struct service *svc = &d->svcs.svc[svc_idx];
    int rs;
    uint32_t tpl = CONN_NONE;
    if (svc->persist_timeout) {
        tpl = template_for(d, svc_idx, caddr, &rs, fs);
        if (tpl == CONN_NONE)
            return false;
    } else {
        rs = svc->sched->schedule(svc, caddr, cport);
    }
    struct conn e = { .caddr = caddr, .cport = cport, .vaddr = svc->vip.addr, .vport = svc->vip.port,
                      .daddr = svc->rs[rs].ep.addr, .dport = svc->rs[rs].ep.port, .proto = svc->proto,
                      .svc = (uint16_t)svc_idx, .rs = (uint16_t)rs, .template = tpl };
    client_mac_of(ntohl(caddr), e.client_mac);
    struct conn *c = conn_create(&d->conns, &e);
    if (!c)
        return false;
    if (tpl != CONN_NONE)
        fs->controlled++;
    if (svc->proto == IPPROTO_TCP) {
        drive_tcp(&d->conns, c, i, fs);
    } else {
        conn_touch(&d->conns, c);
        fs->udp++;
        fs->states[c->state]++;
    }
    return true;
}

static enum bench_service service_of(uint32_t i)
{
    unsigned slot = i % MIX_SLOTS;
    if (slot < MIX_PERSIST_FROM)
        return SVC_WEB;
    if (slot < MIX_API_FROM)
        return SVC_PERSIST;
    return slot < MIX_UDP_FROM ? SVC_API : SVC_DNS;
}

/* Flows until the table holds n entries (templates included). */
static bool fill(struct director *d, uint32_t n, struct fill_stats *fs)
{
    uint32_t plain = 0, persistent = 0;
    for (uint32_t i = 0; d->conns.count < n; i++) {
        enum bench_service s = service_of(i);
        uint32_t caddr;
        uint16_t cport = CLIENT_PORT_BASE;
        bool new_net = persistent % PERSIST_CLIENTS_PER_NET == 0;
        if (s == SVC_PERSIST && new_net && n - d->conns.count < 2)
            s = SVC_WEB; /* no room left for a template and its first entry */
        if (s == SVC_PERSIST) {
            uint32_t net = persistent / PERSIST_CLIENTS_PER_NET, host = persistent % PERSIST_CLIENTS_PER_NET + 1;
            caddr = PERSIST_CLIENT_NET + (net << 8) + host;
            persistent++;
        } else {
            caddr = CLIENT_NET + plain / CLIENT_PORTS;
            cport = (uint16_t)(CLIENT_PORT_BASE + plain % CLIENT_PORTS);
            plain++;
        }
        if (!make_flow(d, (unsigned)s, htonl(caddr), htons(cport), i, fs)) {
            fprintf(stderr, "hasync-bench: director A's table is full at %u entries\n", d->conns.count);
            return false;
        }
    }
    return true;
}

/* ---- the transfer ---- */

struct transfer {
    double seconds, cpu_user, cpu_sys;
    uint64_t pauses, paused_ms, longest_pause_ms;
    bool stalled;
};

static bool transfer_over(void)
{
    return B.tables_done > 0 && !hasync_bulk_busy(&A.sync);
}

static uint64_t progress_mark(void)
{
    return B.sync.stats.datagrams_received + A.sync.acked;
}

/* A's whole table to B, as ha/ha.c's loop would: both sockets, both flushed every tick. */
static void run_transfer(struct transfer *tr)
{
    double user0, sys0;
    cpu_seconds(&user0, &sys0);
    uint64_t start = clock_monotonic_ms(), now = start, next_flush = start + HASYNC_FLUSH_MS;
    uint64_t last_progress = start, mark = progress_mark();
    hasync_request_bulk(&A.sync);
    hasync_flush(&A.sync, start);
    struct pollfd fds[2] = { { .fd = A.fd, .events = POLLIN }, { .fd = B.fd, .events = POLLIN } };
    while (!transfer_over()) {
        if (now >= next_flush) {
            hasync_flush(&A.sync, now);
            hasync_flush(&B.sync, now);
            next_flush = now + HASYNC_FLUSH_MS;
        }
        poll(fds, 2, (int)(next_flush > now ? next_flush - now : 0));
        drain(&B);
        drain(&A);
        now = clock_monotonic_ms();
        if (progress_mark() != mark) {
            uint64_t gap = now - last_progress;
            if (gap >= PAUSE_MS) {
                tr->pauses++;
                tr->paused_ms += gap;
            }
            if (gap > tr->longest_pause_ms)
                tr->longest_pause_ms = gap;
            mark = progress_mark();
            last_progress = now;
        } else if (now - last_progress > STALL_LIMIT_MS) {
            tr->stalled = true;
            break;
        }
    }
    tr->seconds = (double)(clock_monotonic_ms() - start) / MS_PER_S;
    double user1, sys1;
    cpu_seconds(&user1, &sys1);
    tr->cpu_user = user1 - user0;
    tr->cpu_sys = sys1 - sys0;
}

/* ---- checking B's table against A's ---- */

/* Entries of A that B lacks or has otherwise (state, real server, template link, lifetime). */
static uint64_t mismatches(void)
{
    uint64_t bad = 0;
    for (uint32_t i = 0; i < A.conns.never_used; i++) {
        const struct conn *a = &A.conns.pool[i];
        if (!(a->flags & CONN_F_LIVE))
            continue;
        struct conn key = { .caddr = a->caddr, .cport = a->cport, .vaddr = a->vaddr, .vport = a->vport,
                            .daddr = a->daddr, .dport = a->dport, .proto = a->proto,
                            .flags = (uint16_t)(a->flags & (CONN_F_TEMPLATE | CONN_F_ONE_PACKET)) };
        const struct conn *b = conn_find(&B.conns, &key);
        if (!b || b->state != a->state || b->daddr != a->daddr || b->dport != a->dport ||
            (b->template == CONN_NONE) != (a->template == CONN_NONE) ||
            conn_lifetime(&B.conns, b) != conn_lifetime(&A.conns, a) ||
            memcmp(b->client_mac, a->client_mac, sizeof a->client_mac) != 0)
            bad++;
    }
    return bad;
}

/* ---- main ---- */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: hasync-bench [--entries N] [--loss P] [--rcvbuf BYTES]\n"
            "Times rawlb's HA whole-table transfer between two directors in this process over\n"
            "loopback UDP and measures the memory the receiving table gains.\n"
            "  --entries N  entries in the sending director's table (default %u, at most %u)\n"
            "  --loss P     drop this fraction of received datagrams, 0 <= P < 1 (default 0)\n"
            "  --rcvbuf B   the receive buffer of both sockets (default %u, as rawlb's HA socket;\n"
            "               the kernel doubles it; 0: the system's default)\n",
            DEFAULT_ENTRIES, TABLE_CAPACITY, HASYNC_SOCKET_BUFFER);
}

static bool parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        { "entries", required_argument, NULL, 'n' },
        { "loss", required_argument, NULL, 'l' },
        { "rcvbuf", required_argument, NULL, 'r' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    *o = (struct options){ .entries = DEFAULT_ENTRIES, .loss = 0.0, .rcvbuf = HASYNC_SOCKET_BUFFER };
    for (int c; (c = getopt_long(argc, argv, "", longopts, NULL)) != -1;) {
        char *end;
        if (c == 'n') {
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end || !v || v > TABLE_CAPACITY) {
                fprintf(stderr, "hasync-bench: --entries: '%s' is not 1..%u\n", optarg, TABLE_CAPACITY);
                return false;
            }
            o->entries = (uint32_t)v;
        } else if (c == 'l') {
            o->loss = strtod(optarg, &end);
            if (*end || !(o->loss >= 0.0 && o->loss < 1.0)) {
                fprintf(stderr, "hasync-bench: --loss: '%s' is not 0 <= P < 1\n", optarg);
                return false;
            }
        } else if (c == 'r') {
            long v = strtol(optarg, &end, 10);
            if (*end || end == optarg || v < 0 || v > INT32_MAX / 2) {
                fprintf(stderr, "hasync-bench: --rcvbuf: '%s' is not a size in bytes\n", optarg);
                return false;
            }
            o->rcvbuf = (int)v;
        } else {
            usage(c == 'h' ? stdout : stderr);
            exit(c == 'h' ? 0 : 2);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "hasync-bench: unexpected '%s'\n", argv[optind]);
        return false;
    }
    return true;
}

static void print_fill(const struct fill_stats *fs, uint32_t n, double seconds, double rss_grew)
{
    printf("fill: entries %u tcp %" PRIu64 " (established %" PRIu64 " syn_recv %" PRIu64 " fin_wait %" PRIu64
           " close_wait %" PRIu64 ") udp %" PRIu64 " templates %" PRIu64 " controlled %" PRIu64 " seconds %.2f"
           " rss_mb %.1f bytes_per_entry %.1f\n",
           n, fs->tcp, fs->states[TCP_S_ESTABLISHED], fs->states[TCP_S_SYN_RECV], fs->states[TCP_S_FIN_WAIT],
           fs->states[TCP_S_CLOSE_WAIT], fs->udp, fs->templates, fs->controlled, seconds, rss_grew,
           rss_grew * BYTES_PER_MIB / n);
}

static void print_transfer(const struct transfer *tr, uint32_t n)
{
    const struct hasync_stats *a = &A.sync.stats, *b = &B.sync.stats;
    printf("transfer: seconds %.3f entries_per_s %.0f cpu_s %.3f (user %.3f sys %.3f) datagrams %" PRIu64
           " resent %" PRIu64 " records %" PRIu64 " acks %" PRIu64 "\n",
           tr->seconds, n / tr->seconds, tr->cpu_user + tr->cpu_sys, tr->cpu_user, tr->cpu_sys, a->datagrams_sent,
           a->datagrams_resent, a->records_sent, b->acks_sent);
    printf("wire: A sent %" PRIu64 " (failed %" PRIu64 ") B read %" PRIu64 " kernel_drops %" PRIu64
           " loss_drops %" PRIu64 "; B sent %" PRIu64 " (failed %" PRIu64 ") A read %" PRIu64 " kernel_drops %" PRIu64
           " loss_drops %" PRIu64 "; rejected %" PRIu64 "\n",
           A.io.tx, A.io.tx_failed, B.io.rx, A.io.tx - B.io.rx, B.io.lost, B.io.tx, B.io.tx_failed, A.io.rx,
           B.io.tx - A.io.rx, A.io.lost,
           A.io.rejected + B.io.rejected + A.io.unknown_sender + B.io.unknown_sender + A.io.not_sync + B.io.not_sync);
    printf("receiver: datagrams %" PRIu64 " out_of_order %" PRIu64 " applied %" PRIu64 " unknown %" PRIu64
           " stale %" PRIu64 " tables %" PRIu64 "; pauses >= %u ms: %" PRIu64 " (%.1f s), longest %" PRIu64 " ms\n",
           b->datagrams_received, b->out_of_order, b->records_applied, b->records_unknown, b->records_stale,
           b->bulks_received, PAUSE_MS, tr->pauses, tr->paused_ms / MS_PER_S, tr->longest_pause_ms);
}

int main(int argc, char **argv)
{
    struct options o;
    if (!parse_options(argc, argv, &o))
        return 2;
    loss_rate = o.loss;
    rcvbuf_wanted = o.rcvbuf;
    bench_key.len = KEY_LEN;
    for (unsigned i = 0; i < KEY_LEN; i++)
        bench_key.bytes[i] = (uint8_t)(i * 7 + 1);

    double rss_start = rss_mib();
    if (!director_up(&A, "A", NODE_A, EPOCH_A, SEED_A, &B))
        return 1;
    double rss_a_empty = rss_mib();
    struct fill_stats fs = { 0 };
    uint64_t t0 = clock_monotonic_ms();
    if (!fill(&A, o.entries, &fs))
        return 1;
    double fill_s = (double)(clock_monotonic_ms() - t0) / MS_PER_S, rss_a_full = rss_mib();
    if (!director_up(&B, "B", NODE_B, EPOCH_B, SEED_B, &A))
        return 1;
    hasync_set_role(&A.sync, true, true);
    hasync_set_role(&B.sync, false, false);
    double rss_b_empty = rss_mib();

    int rcvbuf = 0;
    socklen_t rcvbuf_len = sizeof rcvbuf;
    getsockopt(B.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &rcvbuf_len);
    printf("config: %u services x 8 real servers (1 persistent per /24, 1 UDP), tables of %u entries, loss %.4f,"
           " rcvbuf %d bytes, window %u datagrams of %u records\n",
           A.svcs.n, TABLE_CAPACITY, o.loss, rcvbuf, HASYNC_WINDOW, (unsigned)HA_SYNC_MAX_RECORDS);
    print_fill(&fs, o.entries, fill_s, rss_a_full - rss_a_empty);
    struct transfer tr = { 0 };
    run_transfer(&tr);
    double rss_after = rss_mib();
    drain(&B); /* what resends left queued, so the kernel's drops can be counted */
    drain(&A);
    print_transfer(&tr, o.entries);
    double extra = rss_after - rss_b_empty;
    printf("memory: rss_start_mb %.1f empty_director_mb A %.1f B %.1f (config, tables' buckets, hasync)"
           " B rss_before_mb %.1f rss_after_mb %.1f\n",
           rss_start, rss_a_empty - rss_start, rss_b_empty - rss_a_full, rss_b_empty, rss_after);
    uint64_t bad = tr.stalled ? 0 : mismatches();
    bool ok = !tr.stalled && B.conns.count == A.conns.count && bad == 0;
    if (tr.stalled)
        printf("check: STALLED: no progress for %u ms\n", STALL_LIMIT_MS);
    printf("check: %s: B has %u entries, A %u, %" PRIu64 " of A's missing or different on B\n", ok ? "ok" : "FAILED",
           B.conns.count, A.conns.count, bad);
    printf("entries %u seconds %.3f cpu_s %.3f datagrams %" PRIu64 " records %" PRIu64 " resent %" PRIu64
           " kernel_drops %" PRIu64 " pauses %" PRIu64 " extra_rss_mb %.1f bytes_per_entry %.1f fill_rss_mb %.1f\n",
           o.entries, tr.seconds, tr.cpu_user + tr.cpu_sys, A.sync.stats.datagrams_sent, A.sync.stats.records_sent,
           A.sync.stats.datagrams_resent, A.io.tx - B.io.rx, tr.pauses, extra, extra * BYTES_PER_MIB / o.entries,
           rss_a_full - rss_a_empty);
    director_down(&A);
    director_down(&B);
    return ok ? 0 : 1;
}
