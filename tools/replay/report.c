/* report: what a run did, as text for people and JSON for scripts. Rates are over the sending
 * time (sender) or from the first to the last frame received (sink); Gbit/s counts frame bytes
 * from the Ethernet header on, without FCS, preamble or gap. */
#include "replay.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

static double rate(uint64_t n, double s) { return s > 0 ? (double)n / s : 0; }

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void latency_percentiles(struct latency *l, double *p50, double *p99, double *p999)
{
    *p50 = *p99 = *p999 = 0;
    if (!l->n)
        return;
    qsort(l->rtt_ns, l->n, sizeof *l->rtt_ns, cmp_u64);
    /* nearest rank */
    size_t i50 = (size_t)(0.50 * (double)(l->n - 1) + 0.5), i99 = (size_t)(0.99 * (double)(l->n - 1) + 0.5),
           i999 = (size_t)(0.999 * (double)(l->n - 1) + 0.5);
    *p50 = (double)l->rtt_ns[i50] / 1e3;
    *p99 = (double)l->rtt_ns[i99] / 1e3;
    *p999 = (double)l->rtt_ns[i999] / 1e3;
}

void lathist_add(struct lathist *h, uint64_t ns)
{
    unsigned idx;
    if (ns < LATHIST_SUB) {
        idx = (unsigned)ns;
    } else {
        unsigned msb = 63u - (unsigned)__builtin_clzll(ns);
        idx = (msb - LATHIST_SUB_BITS + 1) * LATHIST_SUB + (unsigned)((ns >> (msb - LATHIST_SUB_BITS)) & (LATHIST_SUB - 1));
    }
    h->count[idx]++;
    h->n++;
    if (ns > h->max_ns)
        h->max_ns = ns;
}

uint64_t lathist_bucket_low(unsigned idx)
{
    if (idx < LATHIST_SUB)
        return idx;
    unsigned shift = idx / LATHIST_SUB - 1;
    return (uint64_t)(LATHIST_SUB + idx % LATHIST_SUB) << shift;
}

double lathist_quantile_us(const struct lathist *h, double q)
{
    if (!h->n)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)(h->n - 1) + 0.5) + 1, seen = 0;
    for (unsigned i = 0; i < LATHIST_BUCKETS; i++) {
        seen += h->count[i];
        if (seen >= rank) {
            uint64_t hi = i + 1 < LATHIST_BUCKETS ? lathist_bucket_low(i + 1) - 1 : h->max_ns;
            return (double)(hi < h->max_ns ? hi : h->max_ns) / 1e3;
        }
    }
    return (double)h->max_ns / 1e3;
}

/* "1.234 Gbit/s", or Mbit/s below one Gbit/s */
static const char *bits(double gbps, char *buf, size_t len)
{
    if (gbps >= 1)
        snprintf(buf, len, "%.3f Gbit/s", gbps);
    else
        snprintf(buf, len, "%.3f Mbit/s", gbps * 1e3);
    return buf;
}

void report_progress(const char *what, uint64_t pkts, uint64_t bytes, uint64_t last_pkts, uint64_t last_bytes, double dt)
{
    char b[32];
    printf("\r%s %llu frames, %.0f pps, %s   ", what, (unsigned long long)pkts, rate(pkts - last_pkts, dt),
           bits(rate(bytes - last_bytes, dt) * 8 / 1e9, b, sizeof b));
    fflush(stdout);
}

static const char *proto_name(uint8_t p)
{
    return p == 6 ? "tcp" : p == 17 ? "udp" : p == 1 ? "icmp" : "other";
}

static void json_flows(FILE *out, const struct flowtab *ft, bool stamps)
{
    char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];
    bool first = true;
    fputs("[", out);
    for (uint32_t i = 0; i <= ft->mask; i++) {
        const struct flow *f = &ft->slots[i];
        if (!f->used || !f->pkts)
            continue;
        inet_ntop(AF_INET, &f->key.saddr, s, sizeof s);
        inet_ntop(AF_INET, &f->key.daddr, d, sizeof d);
        fprintf(out, "%s\n  {\"proto\":\"%s\",\"src\":\"%s\",\"sport\":%u,\"dst\":\"%s\",\"dport\":%u,\"packets\":%llu,\"bytes\":%llu",
                first ? "" : ",", proto_name(f->key.proto), s, ntohs(f->key.sport), d, ntohs(f->key.dport),
                (unsigned long long)f->pkts, (unsigned long long)f->bytes);
        if (stamps && f->stamped) {
            uint64_t got = f->stamped - f->dups, lost = f->next_seq > got ? f->next_seq - got : 0;
            fprintf(out, ",\"stamped\":%llu,\"lost\":%llu,\"loss_pct\":%.3f,\"dups\":%llu", (unsigned long long)f->stamped,
                    (unsigned long long)lost, f->next_seq ? 100.0 * (double)lost / (double)f->next_seq : 0.0,
                    (unsigned long long)f->dups);
        }
        fputs("}", out);
        first = false;
    }
    fputs("]", out);
}

static void json_senders(FILE *out, const struct flowtab *ft)
{
    char s[INET_ADDRSTRLEN];
    bool first = true;
    fputs("[", out);
    for (uint32_t i = 0; i <= ft->mask; i++) {
        const struct flow *f = &ft->slots[i];
        if (!f->used || !f->pkts)
            continue;
        inet_ntop(AF_INET, &f->key.saddr, s, sizeof s);
        fprintf(out, "%s{\"src\":\"%s\",\"packets\":%llu,\"bytes\":%llu}", first ? "" : ",", s,
                (unsigned long long)f->pkts, (unsigned long long)f->bytes);
        first = false;
    }
    fputs("]", out);
}

void report_send(FILE *out, const struct opts *o, struct send_result *r)
{
    uint64_t offered = r->sent + r->link_drops;
    double pps = rate(offered, r->elapsed_s), gbps = rate(r->bytes, r->elapsed_s) * 8 / 1e9;
    double p50 = 0, p99 = 0, p999 = 0;
    if (r->echo)
        latency_percentiles(&r->lat, &p50, &p99, &p999);
    const struct trace *tr = &r->trace;
    if (o->json) {
        fprintf(out, "{\"mode\":\"send\",\"interface\":\"%s\",\"offered\":%llu,\"sent\":%llu,\"link_drops\":%llu,\"failed\":%llu,\"retried\":%llu,"
                     "\"bytes\":%llu,\"elapsed_s\":%.6f,\"pps\":%.1f,\"gbps\":%.6f,\"loops\":%llu,\"templates\":%zu,"
                     "\"skipped\":{\"replies\":%llu,\"truncated\":%llu,\"too_big\":%llu,\"other\":%llu},"
                     "\"flow_overflow\":%llu",
                o->ifname, (unsigned long long)offered, (unsigned long long)r->sent,
                (unsigned long long)r->link_drops, (unsigned long long)r->failed, (unsigned long long)r->retried,
                (unsigned long long)r->bytes, r->elapsed_s, pps, gbps, (unsigned long long)r->loops_done, tr->n,
                (unsigned long long)tr->skipped_reply, (unsigned long long)tr->skipped_truncated,
                (unsigned long long)tr->skipped_big, (unsigned long long)tr->skipped_other,
                (unsigned long long)r->flows.overflow);
        if (r->echo)
            fprintf(out, ",\"latency\":{\"probes\":%llu,\"echoes\":%llu,\"bad\":%llu,\"loss_pct\":%.3f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f}",
                    (unsigned long long)r->lat.sent, (unsigned long long)r->lat.received, (unsigned long long)r->lat.bad,
                    r->lat.sent ? 100.0 * (double)(r->lat.sent - (r->lat.received < r->lat.sent ? r->lat.received : r->lat.sent)) / (double)r->lat.sent : 0.0,
                    p50, p99, p999);
        if (!o->quiet_flows) {
            fputs(",\"flows\":", out);
            json_flows(out, &r->flows, false);
        }
        fputs("}\n", out);
        return;
    }
    char b[32];
    fprintf(out, "offered %llu frames in %.3f s on %s: %.0f pps, %s (%llu dropped by the device, "
                 "%llu failed, %llu retries)\n",
            (unsigned long long)offered, r->elapsed_s, o->ifname, pps, bits(gbps, b, sizeof b), (unsigned long long)r->link_drops,
            (unsigned long long)r->failed, (unsigned long long)r->retried);
    fprintf(out, "%zu frames per pass, %llu passes, %u flows per pass", tr->n, (unsigned long long)r->loops_done, tr->nflows);
    if (o->file)
        fprintf(out, "; capture: %llu read, %llu replies skipped, %llu other skipped", (unsigned long long)tr->read,
                (unsigned long long)tr->skipped_reply,
                (unsigned long long)(tr->skipped_other + tr->skipped_truncated + tr->skipped_big));
    fputc('\n', out);
    if (r->echo)
        fprintf(out, "latency: %llu probes, %llu echoes, round trip p50 %.1f us, p99 %.1f us, p999 %.1f us\n",
                (unsigned long long)r->lat.sent, (unsigned long long)r->lat.received, p50, p99, p999);
}

void report_sink(FILE *out, const struct opts *o, const struct sink_result *r)
{
    double pps = rate(r->pkts, r->elapsed_s), gbps = rate(r->bytes, r->elapsed_s) * 8 / 1e9;
    uint64_t expected = r->stamped + r->lost;
    double loss = expected ? 100.0 * (double)r->lost / (double)expected : 0;
    if (o->json) {
        fprintf(out, "{\"mode\":\"sink\",\"interface\":\"%s\",\"packets\":%llu,\"bytes\":%llu,\"elapsed_s\":%.6f,"
                     "\"pps\":%.1f,\"gbps\":%.6f,\"stamped\":%llu,\"lost\":%llu,\"loss_pct\":%.3f,\"echoed\":%llu,"
                     "\"echo_failed\":%llu,\"kernel_drops\":%llu,\"flow_overflow\":%llu,\"senders\":",
                o->sink_if, (unsigned long long)r->pkts, (unsigned long long)r->bytes, r->elapsed_s, pps, gbps,
                (unsigned long long)r->stamped, (unsigned long long)r->lost, loss, (unsigned long long)r->echoed,
                (unsigned long long)r->echo_failed, (unsigned long long)r->kernel_drops,
                (unsigned long long)r->flows.overflow);
        json_senders(out, &r->senders);
        if (o->one_way) {
            const struct lathist *h = &r->one_way;
            fprintf(out, ",\"one_way\":{\"samples\":%llu,\"future\":%llu,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,"
                         "\"max_us\":%.1f,\"hist\":[",
                    (unsigned long long)h->n, (unsigned long long)h->future, lathist_quantile_us(h, 0.5),
                    lathist_quantile_us(h, 0.99), lathist_quantile_us(h, 0.999), (double)h->max_ns / 1e3);
            bool first = true;
            for (unsigned i = 0; i < LATHIST_BUCKETS; i++)
                if (h->count[i]) {
                    fprintf(out, "%s[%llu,%llu]", first ? "" : ",", (unsigned long long)lathist_bucket_low(i),
                            (unsigned long long)h->count[i]);
                    first = false;
                }
            fputs("]}", out);
        }
        if (!o->quiet_flows) {
            fputs(",\"flows\":", out);
            json_flows(out, &r->flows, true);
        }
        fputs("}\n", out);
        return;
    }
    char b[32];
    fprintf(out, "received %llu frames on %s in %.3f s: %.0f pps, %s, %u flows, %u senders\n",
            (unsigned long long)r->pkts, o->sink_if, r->elapsed_s, pps, bits(gbps, b, sizeof b), r->flows.used, r->senders.used);
    if (r->stamped)
        fprintf(out, "stamped %llu, lost %llu (%.3f %%) by sequence gaps\n", (unsigned long long)r->stamped,
                (unsigned long long)r->lost, loss);
    if (o->echo)
        fprintf(out, "echoed %llu (%llu failed)\n", (unsigned long long)r->echoed, (unsigned long long)r->echo_failed);
    if (o->one_way)
        fprintf(out, "one-way latency: %llu stamped frames, p50 %.1f us, p99 %.1f us, p999 %.1f us, max %.1f us\n",
                (unsigned long long)r->one_way.n, lathist_quantile_us(&r->one_way, 0.5),
                lathist_quantile_us(&r->one_way, 0.99), lathist_quantile_us(&r->one_way, 0.999),
                (double)r->one_way.max_ns / 1e3);
    if (r->kernel_drops)
        fprintf(out, "kernel drops on the receive socket: %llu\n", (unsigned long long)r->kernel_drops);
}
