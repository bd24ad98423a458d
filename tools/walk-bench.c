/* walk-bench: the longest single call of each walk over a full connection table, the figures
 * the Hardening issue asks for ("no single call on the loop walks more than a bounded slice").
 *
 * One fastpath (one worker: all the entries in one table, the worst case) with --entries
 * entries (default 1,048,576) spread evenly over the four real servers of one service, made as
 * the fast path makes them (conn_create, then ESTABLISHED; the fastpath's watcher counts them),
 * all due at the same second. Then, timed call by call with the daemon's budgets:
 *   listing   rawlb-ctl -c: ctlproto_conns_part, CTL_CONNS_PART_SLOTS pool slots into a
 *             CONTROL_PART_MAX part, within CONTROL_ANSWER_MAX (main.c's conns_listing);
 *   drop      health drops server A's flows: service_drop_flows, then fastpath_reap_some
 *             slices of WORKER_REAP_BUDGET (worker.c's expire_cb);
 *   edit      rawlb-ctl -d of server C: reconfig_apply, then the reap slices likewise;
 *   expiry    every entry due at once: conn_expire_some slices of WORKER_EXPIRE_BUDGET.
 * For comparison the same work in one call, as rawlb did it before: the whole listing
 * (ctlproto_render_conns into CONTROL_ANSWER_MAX), and server B's drop reaped in one call (what
 * fastpath_drop_server's whole-table walk did).
 * One line per round (--rounds, default 3), then the medians; milliseconds. */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "conn.h"
#include "control.h"
#include "ctlproto.h"
#include "fastpath.h"
#include "neigh.h"
#include "reconfig.h"
#include "service.h"
#include "worker.h"

#define DEFAULT_ENTRIES (1u << 20)
#define DEFAULT_ROUNDS 3
#define SERVERS 4
#define FLAGS "-e ext -i int -n 203.0.113.1 -t 198.51.100.10:80 -r 203.0.113.11:80 -r 203.0.113.12:80 " \
              "-r 203.0.113.13:80 -r 203.0.113.14:80"
#define FLAGS_WITHOUT_C "-e ext -i int -n 203.0.113.1 -t 198.51.100.10:80 -r 203.0.113.11:80 " \
                        "-r 203.0.113.12:80 -r 203.0.113.14:80"
#define SERVER_A 0
#define SERVER_B 1
#define CLIENT_BASE 0x0a000000u /* 10.0.0.0: clients 10.x.y.z */
#define CLIENT_PORTS 16         /* per client address */
#define CLIENT_PORT_BASE 1024
#define SEED 0x3a1fu
#define MAX_ARGS 32

enum { LISTING, LISTING_ONE_CALL, DROP_MARK, DROP_SLICE, DROP_ONE_CALL, EDIT_APPLY, EDIT_SLICE, EXPIRY_SLICE,
       FIGURES };
static const char *const names[FIGURES] = {
    [LISTING] = "listing_part", [LISTING_ONE_CALL] = "listing_one_call", [DROP_MARK] = "drop_mark",
    [DROP_SLICE] = "drop_slice",     [DROP_ONE_CALL] = "drop_one_call",       [EDIT_APPLY] = "edit_apply",
    [EDIT_SLICE] = "edit_slice",     [EXPIRY_SLICE] = "expiry_slice",
};

struct bench {
    struct rawlb_config cfg, cfg_without_c;
    struct service_table services;
    struct neigh_table neigh;
    struct fastpath fp;
    uint32_t entries;
    char *part, *answer;
    double ms[FIGURES];
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void parse(struct rawlb_config *cfg, const char *flags)
{
    static char line[512];
    char *argv[MAX_ARGS], err[RAWLB_ERRLEN];
    int argc = 0;
    snprintf(line, sizeof line, "%s", flags);
    argv[argc++] = "rawlb";
    for (char *w = strtok(line, " "); w && argc < MAX_ARGS - 1; w = strtok(NULL, " "))
        argv[argc++] = w;
    argv[argc] = NULL;
    if (config_parse(cfg, argc, argv, err, sizeof err) != CONFIG_OK) {
        fprintf(stderr, "walk-bench: %s\n", err);
        exit(1);
    }
}

static void fill(struct bench *b)
{
    char err[RAWLB_ERRLEN];
    if (!service_table_init(&b->services, &b->cfg, err, sizeof err)) {
        fprintf(stderr, "walk-bench: %s\n", err);
        exit(1);
    }
    neigh_init(&b->neigh);
    struct fastpath_config fc = { .max_conns = b->entries, .timeouts = b->cfg.timeouts, .ext_mtu = 1500,
                                  .int_mtu = 1500, .conn_key = { .k0 = SEED }, .frag_key = { .k1 = SEED } };
    if (!fastpath_init(&b->fp, &fc, &b->services, &b->neigh)) {
        fprintf(stderr, "walk-bench: no memory for %u entries\n", b->entries);
        exit(1);
    }
    const struct service *svc = &b->services.svc[0];
    for (uint32_t i = 0; i < b->entries; i++) {
        const struct real_server *rs = &svc->rs[i % SERVERS];
        struct conn e = { .caddr = htonl(CLIENT_BASE + i / CLIENT_PORTS),
                          .cport = htons((uint16_t)(CLIENT_PORT_BASE + i % CLIENT_PORTS)), .vaddr = svc->vip.addr,
                          .vport = svc->vip.port, .daddr = rs->ep.addr, .dport = rs->ep.port, .proto = IPPROTO_TCP,
                          .svc = svc->slot, .rs = rs->slot, .template = CONN_NONE };
        struct conn *c = conn_create(&b->fp.conns, &e);
        if (!c) {
            fprintf(stderr, "walk-bench: the table took only %u entries\n", i);
            exit(1);
        }
        conn_change_state(&b->fp.conns, c, TCP_S_ESTABLISHED);
    }
}

/* Each part's time; the longest is kept. */
static void listing(struct bench *b)
{
    struct conn_table *tables[] = { &b->fp.conns };
    struct ctl_conns_listing l;
    bool done = false;
    ctlproto_conns_begin(&l, &b->services, tables, 1, 0, NULL, false, CONTROL_ANSWER_MAX);
    while (!done) {
        double t0 = now_ms();
        ctlproto_conns_part(&l, CTL_CONNS_PART_SLOTS, b->part, CONTROL_PART_MAX, &done);
        double t = now_ms() - t0;
        if (t > b->ms[LISTING])
            b->ms[LISTING] = t;
    }
    double t0 = now_ms();
    ctlproto_render_conns(&b->services, tables, 1, 0, NULL, false, b->answer, CONTROL_ANSWER_MAX);
    b->ms[LISTING_ONE_CALL] = now_ms() - t0;
}

/* The reap walk in the worker's slices: the longest slice. */
static double reap_slices(struct bench *b)
{
    double longest = 0;
    bool done = false;
    while (!done) {
        double t0 = now_ms();
        fastpath_reap_some(&b->fp, WORKER_REAP_BUDGET, &done);
        double t = now_ms() - t0;
        if (t > longest)
            longest = t;
    }
    return longest;
}

static void drop(struct bench *b)
{
    uint32_t flows;
    bool done;
    double t0 = now_ms();
    bool ok = service_drop_flows(&b->services, 0, SERVER_A, &flows);
    b->ms[DROP_MARK] = now_ms() - t0;
    b->ms[DROP_SLICE] = reap_slices(b);
    ok = ok && service_drop_flows(&b->services, 0, SERVER_B, &flows);
    t0 = now_ms();
    fastpath_reap_some(&b->fp, UINT32_MAX, &done);
    b->ms[DROP_ONE_CALL] = now_ms() - t0;
    if (!ok) {
        fprintf(stderr, "walk-bench: no free slot to drop a server's flows\n");
        exit(1);
    }
}

static void edit(struct bench *b)
{
    struct reconfig_result res;
    char err[RAWLB_ERRLEN * 2];
    double t0 = now_ms();
    bool ok = reconfig_apply(&b->services, &b->cfg_without_c, &res, err, sizeof err);
    b->ms[EDIT_APPLY] = now_ms() - t0;
    if (!ok || res.servers_removed != 1) {
        fprintf(stderr, "walk-bench: the edit failed: %s\n", ok ? "not one server removed" : err);
        exit(1);
    }
    b->ms[EDIT_SLICE] = reap_slices(b);
}

/* Every entry due at the same second (the fill made them all at second 0). */
static void expiry(struct bench *b)
{
    uint32_t due = b->fp.conns.timeout[TCP_S_ESTABLISHED] + 1;
    bool done = false;
    while (!done) {
        double t0 = now_ms();
        conn_expire_some(&b->fp.conns, due, WORKER_EXPIRE_BUDGET, &done);
        double t = now_ms() - t0;
        if (t > b->ms[EXPIRY_SLICE])
            b->ms[EXPIRY_SLICE] = t;
    }
    if (b->fp.conns.count) {
        fprintf(stderr, "walk-bench: %u entries left after expiry\n", b->fp.conns.count);
        exit(1);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: walk-bench [--entries N] [--rounds N]\n"
                 "  the longest single call of each table walk, in ms (default %u entries, %u rounds)\n",
            DEFAULT_ENTRIES, DEFAULT_ROUNDS);
}

int main(int argc, char **argv)
{
    static struct bench b;
    unsigned rounds = DEFAULT_ROUNDS;
    b.entries = DEFAULT_ENTRIES;
    static const struct option opts[] = {
        { "entries", required_argument, NULL, 'e' }, { "rounds", required_argument, NULL, 'r' },
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
    };
    for (int o; (o = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        if (o == 'e')
            b.entries = (uint32_t)strtoul(optarg, NULL, 10);
        else if (o == 'r')
            rounds = (unsigned)strtoul(optarg, NULL, 10);
        else {
            usage(o == 'h' ? stdout : stderr);
            return o == 'h' ? 0 : 2;
        }
    }
    if (!b.entries || !rounds) {
        usage(stderr);
        return 2;
    }
    parse(&b.cfg, FLAGS);
    parse(&b.cfg_without_c, FLAGS_WITHOUT_C);
    b.part = malloc(CONTROL_PART_MAX);
    b.answer = malloc(CONTROL_ANSWER_MAX);
    double *all = calloc((size_t)rounds * FIGURES, sizeof *all);
    if (!b.part || !b.answer || !all)
        return 1;
    printf("entries %u, one table; longest single call in ms\nround", b.entries);
    for (unsigned f = 0; f < FIGURES; f++)
        printf(" %s", names[f]);
    printf("\n");
    for (unsigned r = 0; r < rounds; r++) {
        memset(b.ms, 0, sizeof b.ms);
        fill(&b);
        listing(&b);
        drop(&b);
        edit(&b);
        expiry(&b);
        fastpath_free(&b.fp);
        service_table_free(&b.services);
        printf("%u", r + 1);
        for (unsigned f = 0; f < FIGURES; f++) {
            printf(" %.2f", b.ms[f]);
            all[f * rounds + r] = b.ms[f];
        }
        printf("\n");
    }
    printf("median");
    for (unsigned f = 0; f < FIGURES; f++) {
        qsort(all + f * rounds, rounds, sizeof *all, cmp_double);
        printf(" %.2f", all[f * rounds + rounds / 2]);
    }
    printf("\n");
    free(all);
    free(b.part);
    free(b.answer);
    return 0;
}
