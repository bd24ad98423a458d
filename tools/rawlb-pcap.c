/* rawlb-pcap: the real fast path (fastpath_handle, linked from rawlb_core) driven from pcap files
 * instead of interfaces, for counting what it does (instructions per packet under callgrind,
 * tools/bench/instructions.sh) and for looking at what it would send.
 *
 * Takes rawlb's own service flags (config_parse: -e/-i are only labels here), builds the service
 * table, the neighbour table and the fast path as the daemon's setup() does, then feeds every
 * frame of --in-ext (as received on the external interface) and --in-int (on the internal one),
 * merged in timestamp order, each behind a zeroed virtio_net_hdr. What the fast path sends is
 * written (without the vnet header) to --out-ext / --out-int.
 *
 * Offline stand-ins for what the daemon learns from the host:
 *   - interface MACs: ext 02:00:00:00:00:01, int 02:00:00:00:00:02; MTU 1500 (--mtu);
 *   - the real servers' MACs are known from the start: 02:aa:00:00:00:<last octet of address>
 *     (learnt again after each tick, as ARP replies would keep them fresh);
 *   - the NAT router address is not a kernel address (rawlb answers ARP for it);
 *   - the clock is the capture's: seconds since its first frame, plus one; fastpath_tick runs each
 *     time it moves to the next second, as the daemon's timer does once a second.
 * --repeat N feeds the input N times. Pass k (from 0) replays the capture k x (span + 1 s) later,
 * with the client addresses moved by k << 16 (source of external frames, destination of internal
 * ones; checksums updated), so every pass makes new connections as the first did. --same-flows
 * keeps the addresses (later passes then meet the entries the first one left).
 * --memory adds what the connection table costs (tools/bench/memory.sh): its entry and bucket
 * sizes, the entries tracked at the end, and the process's resident memory read at four points
 * (before the fast path is made, after, after the input is loaded, after it was fed), so the table's
 * growth is told apart from the frames held in memory. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/virtio_net.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fastpath.h"
#include "neigh.h"
#include "packet.h"
#include "service.h"

#define BUF_SIZE 70000 /* as the daemon's capture frames: 64 KiB and the vnet header */
#define MAX_ARGS 1024

static const uint8_t ext_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t int_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };

struct frame {
    struct timeval ts;
    bool from_ext;
    uint32_t len;
    uint8_t *data;
};

struct frames {
    struct frame *f;
    size_t n, cap;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rawlb-pcap RAWLB_FLAGS --in-ext FILE [--in-int FILE] [--out-ext FILE] [--out-int FILE]\n"
            "                  [--repeat N] [--same-flows] [--mtu N] [--quiet] [--memory]\n"
            "Feeds pcap files through rawlb's fast path and writes what it would send.\n"
            "  --in-ext FILE   frames as received on the external interface (Ethernet pcap)\n"
            "  --in-int FILE   frames as received on the internal interface, merged by timestamp\n"
            "  --out-ext FILE  what rawlb sends on the external interface (pcap)\n"
            "  --out-int FILE  what rawlb sends on the internal interface (pcap)\n"
            "  --repeat N      feed the input N times (default 1); each pass moves client addresses\n"
            "                  by pass << 16 so that it makes new connections\n"
            "  --same-flows    do not move client addresses between passes\n"
            "  --mtu N         both interfaces' MTU (default 1500)\n"
            "  --quiet         print only the counters that are not zero\n"
            "  --memory        also the connection table's sizes and the resident memory (kB) before\n"
            "                  and after the table is made and before and after the frames are fed\n"
            "Interface MACs: ext 02:00:00:00:00:01, int 02:00:00:00:00:02; real server A.B.C.D is at\n"
            "02:aa:00:00:00:D. RAWLB_FLAGS are rawlb's (-e and -i are labels here):\n\n");
    config_usage(out);
}

static bool load(struct frames *fs, const char *path, bool from_ext)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, err);
    if (!p) {
        fprintf(stderr, "rawlb-pcap: %s\n", err);
        return false;
    }
    if (pcap_datalink(p) != DLT_EN10MB) {
        fprintf(stderr, "rawlb-pcap: %s: link type %s, want EN10MB (Ethernet)\n", path,
                pcap_datalink_val_to_name(pcap_datalink(p)));
        pcap_close(p);
        return false;
    }
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc;
    size_t truncated = 0;
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        if (h->caplen < h->len)
            truncated++;
        if (h->caplen > BUF_SIZE - VNET_HLEN) {
            fprintf(stderr, "rawlb-pcap: %s: a frame of %u bytes, more than %zu: skipped\n", path, h->caplen,
                    (size_t)(BUF_SIZE - VNET_HLEN));
            continue;
        }
        if (fs->n == fs->cap) {
            size_t cap = fs->cap ? fs->cap * 2 : 1024;
            struct frame *f = realloc(fs->f, cap * sizeof *f);
            if (!f) {
                fprintf(stderr, "rawlb-pcap: out of memory\n");
                pcap_close(p);
                return false;
            }
            fs->f = f;
            fs->cap = cap;
        }
        struct frame *f = &fs->f[fs->n];
        f->data = malloc(h->caplen ? h->caplen : 1);
        if (!f->data) {
            fprintf(stderr, "rawlb-pcap: out of memory\n");
            pcap_close(p);
            return false;
        }
        memcpy(f->data, data, h->caplen);
        f->len = h->caplen;
        f->ts = h->ts;
        f->from_ext = from_ext;
        fs->n++;
    }
    if (rc == PCAP_ERROR) {
        fprintf(stderr, "rawlb-pcap: %s: %s\n", path, pcap_geterr(p));
        pcap_close(p);
        return false;
    }
    if (truncated)
        fprintf(stderr, "rawlb-pcap: %s: %zu frame(s) captured shorter than they were (snaplen)\n", path,
                truncated);
    pcap_close(p);
    return true;
}

static bool ts_before(struct timeval a, struct timeval b)
{
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_usec < b.tv_usec);
}

/* Merges two captures, each in its own order, by timestamp (the external frame first on ties). */
static struct frame *merge(const struct frames *a, const struct frames *b, size_t *n)
{
    *n = a->n + b->n;
    struct frame *m = malloc((*n ? *n : 1) * sizeof *m);
    if (!m)
        return NULL;
    size_t i = 0, j = 0, k = 0;
    while (i < a->n || j < b->n) {
        if (j == b->n || (i < a->n && !ts_before(b->f[j].ts, a->f[i].ts)))
            m[k++] = a->f[i++];
        else
            m[k++] = b->f[j++];
    }
    return m;
}

/* Moves the client address of an IPv4 frame (eth points at it) by delta, checksums kept valid. */
static void move_client(uint8_t *eth, size_t len, bool from_ext, uint32_t delta)
{
    struct parsed p;
    if (packet_parse(eth, len, &p) != PARSE_OK)
        return;
    if (from_ext)
        packet_set_saddr(&p, htonl(ntohl(p.saddr) + delta), false);
    else
        packet_set_daddr(&p, htonl(ntohl(p.daddr) + delta), false);
}

static void learn_servers(struct neigh_table *neigh, const struct service_table *svcs, uint32_t now)
{
    for (unsigned i = 0; i < svcs->n; i++) {
        const struct service *svc = &svcs->svc[i];
        for (unsigned j = 0; j < svc->n_rs + (svc->has_sorry ? 1 : 0); j++) {
            uint8_t mac[6] = { 0x02, 0xaa, 0, 0, 0, 0 };
            mac[5] = (uint8_t)ntohl(svc->rs[j].ep.addr);
            neigh_learn(neigh, svc->rs[j].ep.addr, mac, now);
        }
    }
}

static pcap_dumper_t *open_out(pcap_t **dead, const char *path)
{
    if (!path)
        return NULL;
    *dead = pcap_open_dead(DLT_EN10MB, 262144);
    pcap_dumper_t *d = *dead ? pcap_dump_open(*dead, path) : NULL;
    if (!d)
        fprintf(stderr, "rawlb-pcap: %s: %s\n", path, *dead ? pcap_geterr(*dead) : "pcap_open_dead failed");
    return d;
}

static bool take_value(int argc, char **argv, int *i, const char *name, const char **val)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return false;
    if (argv[*i][n] == '=') {
        *val = argv[*i] + n + 1;
        return true;
    }
    if (argv[*i][n] != '\0')
        return false;
    if (*i + 1 >= argc) {
        fprintf(stderr, "rawlb-pcap: %s needs a value\n", name);
        exit(2);
    }
    *val = argv[++*i];
    return true;
}

/* A "Vm...:" line of /proc/self/status in kB (0 when unreadable). */
static unsigned long status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long kb = 0;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            kb = strtoul(line + n + 1, NULL, 10);
            break;
        }
    if (f)
        fclose(f);
    return kb;
}

static unsigned long number(const char *flag, const char *s, unsigned long min, unsigned long max)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
        fprintf(stderr, "rawlb-pcap: %s '%s': want a number from %lu to %lu\n", flag, s, min, max);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    static struct rawlb_config cfg; /* large: not on the stack */
    static struct service_table svcs;
    static struct neigh_table neigh;
    static struct fastpath fp;
    static _Alignas(16) uint8_t buf[BUF_SIZE];
    const char *in_ext = NULL, *in_int = NULL, *out_ext = NULL, *out_int = NULL, *v;
    unsigned long repeat = 1, mtu = 1500;
    bool same_flows = false, quiet = false, memory = false;
    unsigned long rss_start = 0, rss_table = 0, rss_loaded = 0, rss_fed = 0;
    char *rargv[MAX_ARGS];
    int rargc = 0;

    rargv[rargc++] = "rawlb";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (take_value(argc, argv, &i, "--in-ext", &v))
            in_ext = v;
        else if (take_value(argc, argv, &i, "--in-int", &v))
            in_int = v;
        else if (take_value(argc, argv, &i, "--out-ext", &v))
            out_ext = v;
        else if (take_value(argc, argv, &i, "--out-int", &v))
            out_int = v;
        else if (take_value(argc, argv, &i, "--repeat", &v))
            repeat = number("--repeat", v, 1, 1000000);
        else if (take_value(argc, argv, &i, "--mtu", &v))
            mtu = number("--mtu", v, 68, 65535);
        else if (strcmp(argv[i], "--same-flows") == 0)
            same_flows = true;
        else if (strcmp(argv[i], "--quiet") == 0)
            quiet = true;
        else if (strcmp(argv[i], "--memory") == 0)
            memory = true;
        else if (rargc < MAX_ARGS - 1)
            rargv[rargc++] = argv[i];
        else {
            fprintf(stderr, "rawlb-pcap: too many arguments\n");
            return 2;
        }
    }
    rargv[rargc] = NULL;
    if (!in_ext) {
        fprintf(stderr, "rawlb-pcap: --in-ext FILE is required\nTry 'rawlb-pcap --help' for more information.\n");
        return 2;
    }
    char err[RAWLB_ERRLEN * 2];
    switch (config_parse(&cfg, rargc, rargv, err, sizeof err)) {
    case CONFIG_EXIT_OK:
        return 0;
    case CONFIG_ERROR:
        fprintf(stderr, "rawlb-pcap: %s\nTry 'rawlb-pcap --help' for more information.\n", err);
        return 2;
    case CONFIG_OK:
        break;
    }

    /* As the daemon's setup(), with the host's answers replaced by the fixed ones above. */
    if (!service_table_init(&svcs, &cfg, err, sizeof err)) {
        fprintf(stderr, "rawlb-pcap: %s\n", err);
        return 1;
    }
    neigh_init(&neigh);
    for (unsigned i = 0; i < svcs.n; i++) {
        const struct service *svc = &svcs.svc[i];
        for (unsigned j = 0; j < svc->n_rs + (svc->has_sorry ? 1 : 0); j++)
            neigh_add(&neigh, svc->rs[j].ep.addr);
    }
    uint32_t now = 1;
    learn_servers(&neigh, &svcs, now);
    struct fastpath_config fc = {
        .nat_ip = cfg.nat_ip, .answer_arp_nat = true, .ext_mtu = (unsigned)mtu, .int_mtu = (unsigned)mtu,
        .max_conns = cfg.max_conns, .timeouts = cfg.timeouts,
        .conn_key = { 0x2545f491u, 1 }, .frag_key = { 0x2545f491u, 2 }, /* fixed: same run, same output */
    };
    if (memory)
        rss_start = status_kb("VmRSS");
    memcpy(fc.ext_mac, ext_mac, sizeof fc.ext_mac);
    memcpy(fc.int_mac, int_mac, sizeof fc.int_mac);
    if (!fastpath_init(&fp, &fc, &svcs, &neigh)) {
        fprintf(stderr, "rawlb-pcap: --max-conns %u: not enough memory for the connection table\n", cfg.max_conns);
        return 1;
    }
    fastpath_tick(&fp, now);
    if (memory)
        rss_table = status_kb("VmRSS");

    struct frames fe = { 0 }, fi = { 0 };
    if (!load(&fe, in_ext, true) || (in_int && !load(&fi, in_int, false)))
        return 1;
    size_t n;
    struct frame *fr = merge(&fe, &fi, &n);
    if (!fr) {
        fprintf(stderr, "rawlb-pcap: out of memory\n");
        return 1;
    }
    pcap_t *dead_ext = NULL, *dead_int = NULL;
    pcap_dumper_t *dump_ext = open_out(&dead_ext, out_ext), *dump_int = open_out(&dead_int, out_int);
    if ((out_ext && !dump_ext) || (out_int && !dump_int))
        return 1;
    if (memory)
        rss_loaded = status_kb("VmRSS");

    struct timeval t0 = n ? fr[0].ts : (struct timeval){ 0 };
    uint32_t span = n ? (uint32_t)(fr[n - 1].ts.tv_sec - t0.tv_sec) + 1 : 1; /* whole seconds a pass takes */
    uint64_t ticks = 0;
    for (unsigned long pass = 0; pass < repeat; pass++) {
        for (size_t i = 0; i < n; i++) {
            const struct frame *f = &fr[i];
            uint32_t t = 1 + (uint32_t)(f->ts.tv_sec - t0.tv_sec) + (uint32_t)pass * span;
            if (t != now) {
                now = t;
                fastpath_tick(&fp, now);
                learn_servers(&neigh, &svcs, now);
                ticks++;
            }
            memset(buf, 0, VNET_HLEN); /* struct virtio_net_hdr: no GSO, no checksum to finish */
            memcpy(buf + VNET_HLEN, f->data, f->len);
            if (pass && !same_flows)
                move_client(buf + VNET_HLEN, f->len, f->from_ext, (uint32_t)pass << 16);
            size_t len = VNET_HLEN + f->len;
            enum fp_verdict verdict = fastpath_handle(&fp, f->from_ext, buf, &len, now);
            pcap_dumper_t *d = verdict == FP_VERDICT_TX_EXT ? dump_ext : verdict == FP_VERDICT_TX_INT ? dump_int : NULL;
            if (d) {
                struct pcap_pkthdr h = { .ts = f->ts, .caplen = (bpf_u_int32)(len - VNET_HLEN),
                                         .len = (bpf_u_int32)(len - VNET_HLEN) };
                h.ts.tv_sec += (time_t)pass * span;
                pcap_dump((u_char *)d, &h, buf + VNET_HLEN);
            }
        }
    }
    if (memory)
        rss_fed = status_kb("VmRSS");
    if (dump_ext)
        pcap_dump_close(dump_ext);
    if (dump_int)
        pcap_dump_close(dump_int);
    if (dead_ext)
        pcap_close(dead_ext);
    if (dead_int)
        pcap_close(dead_int);

    const struct fastpath_stats *s = &fp.stats;
    uint64_t drops = 0;
    for (unsigned d = 0; d < FP_DROP_COUNT; d++)
        drops += s->drops[d];
    printf("passes %lu\nframes_per_pass %zu\nframes_in %llu\nin_ext %llu\nin_int %llu\nsent_ext %llu\nsent_int %llu\n"
           "dropped %llu\nticks %llu\n",
           repeat, n, (unsigned long long)(s->rx_ext + s->rx_int), (unsigned long long)s->rx_ext,
           (unsigned long long)s->rx_int, (unsigned long long)s->tx_ext, (unsigned long long)s->tx_int,
           (unsigned long long)drops, (unsigned long long)ticks);
    const struct {
        const char *name;
        uint64_t v;
    } made[] = { { "arp_replies", s->arp_replies },   { "echo_replies", s->echo_replies },
                 { "resets_sent", s->resets_sent },   { "icmp_too_big_sent", s->icmp_too_big_sent },
                 { "icmp_translated", s->icmp_translated }, { "icmp_unreach_sent", s->icmp_unreach_sent } };
    for (size_t k = 0; k < sizeof made / sizeof made[0]; k++)
        if (!quiet || made[k].v)
            printf("%s %llu\n", made[k].name, (unsigned long long)made[k].v);
    for (unsigned d = 0; d < FP_DROP_COUNT; d++)
        if (!quiet || s->drops[d])
            printf("drop_%s %llu\n", fastpath_drop_name((enum fp_drop)d), (unsigned long long)s->drops[d]);
    if (memory)
        printf("conn_entry_bytes %zu\nconn_capacity %u\nconn_buckets %u\nconn_bucket_bytes %zu\nconn_tracked %u\n"
               "rss_start_kb %lu\nrss_table_made_kb %lu\nrss_loaded_kb %lu\nrss_fed_kb %lu\nrss_peak_kb %lu\n",
               sizeof(struct conn), fp.conns.capacity, fp.conns.bucket_mask + 1, 2 * sizeof *fp.conns.fwd_buckets,
               fp.conns.count, rss_start, rss_table, rss_loaded, rss_fed, status_kb("VmHWM"));

    fastpath_free(&fp);
    service_table_free(&svcs);
    for (size_t i = 0; i < n; i++)
        free(fr[i].data);
    free(fr);
    free(fe.f);
    free(fi.f);
    return 0;
}
