/* trace: a pcap file read into templates, each rewritten once for the target: Ethernet
 * destination (the target's MAC) and source (ours), IP destination (and port with --to
 * ADDR:PORT), checksums recomputed (incrementally for fragments, whose L4 checksum covers
 * bytes other frames hold). Only the client side of each conversation is kept: the side that
 * sent the first SYN of a TCP flow, or the first datagram of any other flow; the replies a
 * capture holds would go to the wrong place through a load balancer and are counted skipped. */
#include "replay.h"

#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#define CONV_MAX 65536

struct loader {
    /* both directions' keys of every conversation; in each entry, pkts holds the conversation
     * number + 1 and bytes 1 for the client's direction, 0 for the replies' */
    struct flowtab convs;
    uint32_t nconv;
    uint32_t srcs[4096];  /* distinct client addresses, in order of first appearance */
    uint32_t nsrc;
};

bool trace_add(struct trace *tr, const uint8_t *data, size_t len, uint64_t ts_ns, uint32_t src_idx, uint32_t flow)
{
    if (tr->n == tr->cap) {
        size_t cap = tr->cap ? tr->cap * 2 : 256;
        struct tmpl *t = realloc(tr->t, cap * sizeof *t);
        if (!t)
            return false;
        tr->t = t;
        tr->cap = cap;
    }
    struct tmpl *t = &tr->t[tr->n];
    memset(t, 0, sizeof *t);
    if (!(t->data = malloc(len)))
        return false;
    memcpy(t->data, data, len);
    t->len = (uint32_t)len;
    t->ts_ns = ts_ns;
    t->src_idx = src_idx;
    t->flow = flow;
    frame_parse(t->data, len, &t->h);
    tr->n++;
    return true;
}

void trace_free(struct trace *tr)
{
    for (size_t i = 0; i < tr->n; i++)
        free(tr->t[i].data);
    free(tr->t);
    memset(tr, 0, sizeof *tr);
}

static uint32_t src_index(struct loader *ld, uint32_t addr)
{
    for (uint32_t i = 0; i < ld->nsrc; i++)
        if (ld->srcs[i] == addr)
            return i;
    if (ld->nsrc == sizeof ld->srcs / sizeof ld->srcs[0])
        return ld->nsrc - 1; /* more sources than we spread: they share the last slot */
    ld->srcs[ld->nsrc] = addr;
    return ld->nsrc++;
}

/* The conversation of a frame, and whether the frame goes the client's way. -1: no room. */
static int conv_of(struct loader *ld, const uint8_t *f, const struct hdrs *h, uint32_t *flow)
{
    struct flow_key k, r;
    flow_key_of(f, h, &k);
    r = k;
    r.saddr = k.daddr; r.daddr = k.saddr; r.sport = k.dport; r.dport = k.sport;
    struct flow *e = flowtab_get(&ld->convs, &k);
    if (!e)
        return -1;
    if (e->pkts) { /* known key */
        *flow = (uint32_t)(e->pkts - 1);
        return (int)e->bytes;
    }
    /* new key: a reply of a known conversation? */
    struct flow *re = flowtab_get(&ld->convs, &r);
    bool tcp_synack = h->proto == 6 && h->l4 && (f[h->l4 + 13] & 0x12) == 0x12;
    if (re && re->pkts && re->bytes == 1) {
        e->pkts = re->pkts; e->bytes = 0;
        *flow = (uint32_t)(e->pkts - 1);
        return 0;
    }
    if (ld->nconv == CONV_MAX)
        return -1;
    /* a new conversation: this side is the client, unless the frame is a SYN-ACK */
    uint32_t idx = ld->nconv++;
    if (tcp_synack && re) {
        re->pkts = idx + 1; re->bytes = 1;
        e->pkts = idx + 1; e->bytes = 0;
        *flow = idx;
        return 0;
    }
    e->pkts = idx + 1; e->bytes = 1;
    if (re && !re->pkts) { re->pkts = idx + 1; re->bytes = 0; }
    *flow = idx;
    return 1;
}

bool trace_load(struct trace *tr, const char *path, const struct target *tg, char *err, size_t errlen)
{
    char perr[PCAP_ERRBUF_SIZE];
    memset(tr, 0, sizeof *tr);
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, perr);
    if (!p) {
        snprintf(err, errlen, "%s", perr);
        return false;
    }
    if (pcap_datalink(p) != DLT_EN10MB) {
        snprintf(err, errlen, "%s: link type %s, want Ethernet", path, pcap_datalink_val_to_name(pcap_datalink(p)));
        pcap_close(p);
        return false;
    }
    struct loader *ld = calloc(1, sizeof *ld);
    if (!ld || !flowtab_init(&ld->convs, 2 * CONV_MAX)) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    struct pcap_pkthdr *ph;
    const u_char *data;
    uint64_t t0 = 0, tlast = 0;
    int rc;
    while ((rc = pcap_next_ex(p, &ph, &data)) == 1) {
        tr->read++;
        uint64_t ts = (uint64_t)ph->ts.tv_sec * 1000000000u + (uint64_t)ph->ts.tv_usec; /* usec holds ns */
        if (tr->read == 1)
            t0 = ts;
        struct hdrs h;
        if (ph->caplen < ph->len) {
            tr->skipped_truncated++;
            continue;
        }
        if (ph->caplen > REPLAY_FRAME_MAX) {
            tr->skipped_big++;
            continue;
        }
        if (!frame_parse(data, ph->caplen, &h)) {
            tr->skipped_other++;
            continue;
        }
        uint32_t flow;
        int dir = conv_of(ld, data, &h, &flow);
        if (dir < 0) {
            tr->skipped_other++;
            continue;
        }
        if (dir == 0) {
            tr->skipped_reply++;
            continue;
        }
        uint32_t saddr;
        memcpy(&saddr, data + h.l3 + 12, 4);
        if (!trace_add(tr, data, ph->caplen, ts >= t0 ? ts - t0 : 0, src_index(ld, saddr), flow)) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        tlast = ts;
        struct tmpl *t = &tr->t[tr->n - 1];
        memcpy(t->data, tg->dst_mac, 6);
        memcpy(t->data + 6, tg->src_mac, 6);
        frame_set_dst(t->data, &t->h, tg->dst_addr, tg->dst_port);
        if (!t->h.fragment)
            frame_fix_csums(t->data, &t->h); /* captures taken with offloads hold partial sums */
    }
    if (rc == -1) {
        snprintf(err, errlen, "%s: %s", path, pcap_geterr(p));
        goto fail;
    }
    if (!tr->n) {
        snprintf(err, errlen, "%s: no IPv4 frame to replay (%llu read)", path, (unsigned long long)tr->read);
        goto fail;
    }
    tr->nsrc = ld->nsrc;
    tr->nflows = ld->nconv;
    /* one pass lasts the capture plus one mean gap, so loops keep the capture's rate */
    tr->span_ns = tlast - t0 + (tr->n > 1 ? (tlast - t0) / (tr->n - 1) : 1000000u);
    flowtab_free(&ld->convs);
    free(ld);
    pcap_close(p);
    return true;
fail:
    if (ld) {
        flowtab_free(&ld->convs);
        free(ld);
    }
    pcap_close(p);
    trace_free(tr);
    return false;
}
