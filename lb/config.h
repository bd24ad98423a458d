/* config: the daemon's command line turned into one validated struct rawlb_config.
 * Grouping rules (README.md, "Running it"): options before the first service are defaults for every
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
#include "haconfig.h"

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

/* Health checks (health/): how a real server's health is probed and judged, per service. */
enum check_kind {
    CHECK_AUTO, /* not given: config_parse makes it tcp for TCP services, none for UDP ones */
    CHECK_NONE,
    CHECK_TCP,  /* connect to the real server's (or --check-port's) port */
    CHECK_HTTP, /* GET path, status and optional body string */
    CHECK_UDP,  /* send a string, expect a reply (containing a string) */
};
#define RAWLB_CHECK_STRLEN 128
#define RAWLB_DEFAULT_CHECK_INTERVAL_MS 2000
#define RAWLB_DEFAULT_PROBE_TIMEOUT_MS 3000
#define RAWLB_DEFAULT_CHECK_TIMEOUT_MS 10000
#define RAWLB_DEFAULT_REENTRY_MS 180000
#define RAWLB_DEFAULT_EXPECT_STATUS 200

struct check_config {
    enum check_kind kind;
    char http_path[RAWLB_CHECK_STRLEN]; /* --check http:PATH, default "/" */
    int expect_status;                  /* --expect-status, http only */
    char expect[RAWLB_CHECK_STRLEN];    /* --expect: in the http body or the udp reply; "" = any */
    char send[RAWLB_CHECK_STRLEN];      /* --send: the udp probe's payload */
    uint16_t port;                      /* --check-port, host order; 0 = the real server's port */
    uint32_t interval_ms;               /* --check-interval: from one probe's end to the next start */
    uint32_t probe_timeout_ms;          /* --probe-timeout: one probe */
    uint32_t dead_after_ms;             /* --check-timeout: no success for this long = dead */
    uint32_t reentry_ms;                /* --reentry: a dead server passes every probe this long */
    bool quiesce;                       /* --quiesce: a dead server keeps its established flows */
    bool has_sorry;
    struct endpoint sorry;              /* --sorry-server: used only while every server is down */
    uint16_t agent_port;                /* --agent-port, host order; 0 = no agent */
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
    struct check_config check;
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
    bool metrics;               /* --metrics given */
    struct endpoint metrics_ep; /* --metrics ADDR:PORT; addr 0 = every address */
    struct ha_config ha;        /* --ha-* and --state-dir (haconfig.h) */
    unsigned n_services;
    struct service_config services[RAWLB_MAX_SERVICES];
};

enum config_result {
    CONFIG_OK,
    CONFIG_EXIT_OK, /* --help or --version printed: exit 0 */
    CONFIG_ERROR,   /* message in err: exit 2 */
};

/* The health-check settings a service has when none are given (kind CHECK_AUTO). */
struct check_config config_check_defaults(void);

enum config_result config_parse(struct rawlb_config *cfg, int argc, char **argv, char *err, size_t errlen);
/* The same from one line as rawlb-ctl -S prints it ("rawlb -e ext ..."): words separated by
 * spaces, a word in single quotes where it needs them, '\'' for a quote inside one. */
enum config_result config_parse_line(struct rawlb_config *cfg, const char *line, char *err, size_t errlen);
void config_usage(FILE *out);

#endif
