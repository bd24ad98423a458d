/* fpenv: the fast path fixture shared by test_fastpath, test_reconfig and fuzz_fastpath (so also
 * test_fastpath_fuzz). It builds, with no I/O, what the daemon has once it is up:
 *   - a config parsed from a rawlb command line (split on spaces, argv[0] "rawlb"), as main does;
 *   - the service table made from it;
 *   - a neighbour table with every real server registered and its MAC already learnt, the fake
 *     02:aa:00:00:00:<last octet of its address> (fpenv_rs_mac), as if each had answered ARP;
 *   - a fast path on them with fixed interface MACs (EXT_MAC, INT_MAC), the config's NAT address
 *     and timeouts, answer_arp_nat on, and the MTUs, connection limit and hash keys of the test.
 * So every test drives the real fastpath_handle() with frames built in memory (frames.h) against
 * the same world, and a frame a test builds for "a real server" carries the MAC the fast path
 * knows for it. The client/server frame specs below are the frames of that world: a client's
 * arrives on the external side from CLIENT_MAC, a server's on the internal side from its
 * learnt MAC. Set-up failures are bugs of the test: they print and abort.
 *
 * The objects stay the caller's (file-scope, under the names its checks use); struct fpenv only
 * says where they are, so one fixture serves tests that reach into fp, svcs or neigh directly. */
#ifndef RAWLB_TEST_FPENV_H
#define RAWLB_TEST_FPENV_H

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fastpath.h"
#include "frames.h"
#include "neigh.h"
#include "service.h"

static const uint8_t EXT_MAC[6] = { 0x02, 0xee, 0, 0, 0, 0x01 };    /* rawlb's external interface */
static const uint8_t INT_MAC[6] = { 0x02, 0x1e, 0, 0, 0, 0x01 };    /* rawlb's internal interface */
static const uint8_t CLIENT_MAC[6] = { 0x02, 0xcc, 0, 0, 0, 0x07 }; /* the client side's next hop */

struct fpenv {
    struct rawlb_config *cfg;
    struct service_table *svcs;
    struct neigh_table *neigh;
    struct fastpath *fp;
};

struct fpenv_opts {
    uint32_t max_conns; /* 0: the command line's (--max-conns, or its default) */
    unsigned ext_mtu, int_mtu;
    uint32_t seed;      /* the hash keys' (connection table, fragment map) */
    uint32_t learnt_at; /* the clock when the real servers' MACs were learnt */
};

/* A real server's MAC (learnt from "ARP" at start): 02:aa:00:00:00:<last octet>. */
static inline void fpenv_rs_mac(uint32_t addr_host, uint8_t mac[6])
{
    static const uint8_t base[6] = { 0x02, 0xaa, 0, 0, 0, 0 };
    memcpy(mac, base, 6);
    mac[5] = (uint8_t)addr_host;
}

/* Registers the real server at addr_host (host order) and learns its MAC at now. */
static inline void fpenv_learn(struct neigh_table *n, uint32_t addr_host, uint32_t now)
{
    uint8_t mac[6];
    fpenv_rs_mac(addr_host, mac);
    neigh_add(n, htonl(addr_host));
    neigh_learn(n, htonl(addr_host), mac, now);
}

/* cfg from the command line "rawlb ARGS". */
static inline void fpenv_parse(struct rawlb_config *cfg, const char *args)
{
    static char line[1024];
    char *argv[64];
    int argc = 0;
    char err[RAWLB_ERRLEN];
    snprintf(line, sizeof line, "%s", args);
    argv[argc++] = "rawlb";
    for (char *tok = strtok(line, " "); tok && argc < 63; tok = strtok(NULL, " "))
        argv[argc++] = tok;
    argv[argc] = NULL;
    if (config_parse(cfg, argc, argv, err, sizeof err) != CONFIG_OK) {
        fprintf(stderr, "fpenv setup: %s\n", err);
        abort();
    }
}

/* The whole fixture from ARGS (see the top of this file). */
static inline void fpenv_up(const struct fpenv *e, const char *args, const struct fpenv_opts *o)
{
    char err[RAWLB_ERRLEN];
    fpenv_parse(e->cfg, args);
    if (!service_table_init(e->svcs, e->cfg, err, sizeof err)) {
        fprintf(stderr, "fpenv setup: %s\n", err);
        abort();
    }
    neigh_init(e->neigh);
    for (unsigned i = 0; i < e->svcs->n; i++)
        for (unsigned j = 0; j < e->svcs->svc[i].n_rs; j++)
            fpenv_learn(e->neigh, ntohl(e->svcs->svc[i].rs[j].ep.addr), o->learnt_at);
    struct fastpath_config fc = {
        .nat_ip = e->cfg->nat_ip, .answer_arp_nat = true, .ext_mtu = o->ext_mtu, .int_mtu = o->int_mtu,
        .max_conns = o->max_conns ? o->max_conns : e->cfg->max_conns, .timeouts = e->cfg->timeouts,
        .conn_key = { .k0 = o->seed }, .frag_key = { .k1 = o->seed },
    };
    memcpy(fc.ext_mac, EXT_MAC, 6);
    memcpy(fc.int_mac, INT_MAC, 6);
    if (!fastpath_init(e->fp, &fc, e->svcs, e->neigh)) {
        fprintf(stderr, "fpenv setup: fastpath_init failed\n");
        abort();
    }
}

static inline void fpenv_down(const struct fpenv *e)
{
    fastpath_free(e->fp);
    service_table_free(e->svcs);
}

/* ---- frames of this world (host order, as struct frame_spec) ---- */

/* A client's packet caddr:cport -> vaddr:vport, arriving on the external side. */
static inline struct frame_spec fpenv_client_spec(uint8_t proto, uint32_t caddr, uint16_t cport, uint32_t vaddr,
                                                  uint16_t vport)
{
    struct frame_spec s = { .saddr = caddr, .daddr = vaddr, .proto = proto, .sport = cport, .dport = vport,
                            .ip_id = 0x1c46 };
    memcpy(s.smac, CLIENT_MAC, 6);
    memcpy(s.dmac, EXT_MAC, 6);
    return s;
}

/* A real server's packet raddr:rport -> caddr:cport, arriving on the internal side. */
static inline struct frame_spec fpenv_server_spec(uint8_t proto, uint32_t raddr, uint16_t rport, uint32_t caddr,
                                                  uint16_t cport)
{
    struct frame_spec s = { .saddr = raddr, .daddr = caddr, .proto = proto, .sport = rport, .dport = cport,
                            .ip_id = 0x2d57 };
    fpenv_rs_mac(raddr, s.smac);
    memcpy(s.dmac, INT_MAC, 6);
    return s;
}

#endif
