/* config: the daemon's command line turned into one validated struct rawlb_config.
 * Grouping rules (../shared/README.md): options before the first service are defaults for every
 * service; -t/-u opens a service and the per-service options that follow belong to it.
 * The parser never exits: it returns false with a message naming the flag and the value, and
 * the caller exits 2. */
#ifndef RAWLB_CONFIG_H
#define RAWLB_CONFIG_H

#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

#include "addr.h"

#define RAWLB_MAX_SERVICES 64
#define RAWLB_MAX_RS_PER_SERVICE 64
#define RAWLB_DEFAULT_CTL "/run/rawlb/rawlb.sock"
#define RAWLB_DEFAULT_MAX_CONNS (1u << 20)
#define RAWLB_MAX_MAX_CONNS (1u << 26)
#define RAWLB_SCHED_NAMELEN 8

/* IPVS defaults (ipvsadm --set, ip_vs_proto_tcp.c / ip_vs_proto_udp.c). */
#define RAWLB_DEFAULT_TCP_TIMEOUT 900
#define RAWLB_DEFAULT_TCPFIN_TIMEOUT 120
#define RAWLB_DEFAULT_UDP_TIMEOUT 300

struct rs_config {
    struct endpoint ep;
    int weight;
};

struct service_config {
    uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
    struct endpoint vip;
    char scheduler[RAWLB_SCHED_NAMELEN];
    uint32_t persist_timeout; /* seconds, 0 = no persistence */
    uint32_t persist_mask;    /* network order */
    bool one_packet;          /* -o, UDP only */
    unsigned n_rs;
    struct rs_config rs[RAWLB_MAX_RS_PER_SERVICE];
};

struct timeouts {
    uint32_t tcp;    /* ESTABLISHED */
    uint32_t tcpfin; /* FIN_WAIT and TIME_WAIT */
    uint32_t udp;
};

struct rawlb_config {
    char ext_if[IF_NAMESIZE];
    char int_if[IF_NAMESIZE];
    uint32_t nat_ip;
    struct timeouts timeouts;
    uint32_t max_conns;
    char ctl_path[108]; /* sizeof(sun_path) */
    char pidfile[256];
    unsigned n_services;
    struct service_config services[RAWLB_MAX_SERVICES];
};

enum config_result {
    CONFIG_OK,
    CONFIG_EXIT_OK, /* --help or --version printed: exit 0 */
    CONFIG_ERROR,   /* message in err: exit 2 */
};

enum config_result config_parse(struct rawlb_config *cfg, int argc, char **argv, char *err, size_t errlen);
void config_usage(FILE *out);

#endif
