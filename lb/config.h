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
#define RAWLB_ACCOUNT_MAX 64 /* --user, --ctl-group: a user or group name */
#define RAWLB_DEFAULT_MAX_CONNS (1u << 20)
#define RAWLB_MAX_MAX_CONNS (1u << 26)
#define RAWLB_MAX_WORKERS 64
#define RAWLB_SCHED_NAMELEN 8
/* -p without its seconds (rawlb and rawlb-ctl): ipvsadm takes -p alone as 360 s, rawlb refuses it
 * rather than guess whether the next word was meant as the value. */
#define RAWLB_PERSIST_NEEDS_VALUE "needs a number of seconds (unlike ipvsadm, -p alone is not taken for 360 s)"

/* IPVS defaults (ipvsadm --set, ip_vs_proto_tcp.c / ip_vs_proto_udp.c). */
#define RAWLB_DEFAULT_TCP_TIMEOUT 900
#define RAWLB_DEFAULT_TCPFIN_TIMEOUT 120
#define RAWLB_DEFAULT_UDP_TIMEOUT 300

/* -x/--u-threshold and -y/--l-threshold (ipvsadm's): a real server with u_threshold connections
 * (ActiveConn + InActConn over every worker, templates not counted) gets no new ones until it is
 * back below l_threshold, or below 3/4 of u_threshold when l_threshold is 0 (IPVS's
 * ip_vs_dest_totalconns and ip_vs_unbind_dest). 0 = no limit. A server cannot hold more
 * connections than the largest table, so neither can a limit (ipvsadm takes up to INT_MAX). */
#define RAWLB_THRESHOLD_MAX RAWLB_MAX_MAX_CONNS

struct rs_config {
    struct endpoint ep;
    int weight;
    uint32_t u_threshold; /* 0 = no limit */
    uint32_t l_threshold; /* 0 = 3/4 of u_threshold; at most u_threshold when that is set */
};

/* Health checks (health/): how a real server's health is probed and judged, per service. */
enum check_kind {
    CHECK_AUTO, /* not given: config_parse makes it tcp for TCP services, none for UDP ones */
    CHECK_NONE,
    CHECK_TCP,  /* connect to the real server's (or --check-port's) port */
    CHECK_HTTP, /* GET path, status and optional body string */
    CHECK_UDP,  /* send a string, expect a reply (containing a string) */
    CHECK_DNS,  /* a DNS query (type A) for a name: any answer to it is alive */
};
#define RAWLB_CHECK_STRLEN 128
#define RAWLB_DNS_NAME_MAX 253 /* characters of a name without its final dot (RFC 1035) */
#define RAWLB_DNS_LABEL_MAX 63
#define RAWLB_DEFAULT_CHECK_INTERVAL_MS 2000
#define RAWLB_DEFAULT_PROBE_TIMEOUT_MS 3000
#define RAWLB_DEFAULT_CHECK_TIMEOUT_MS 10000
#define RAWLB_DEFAULT_REENTRY_MS 180000
#define RAWLB_DEFAULT_EXPECT_STATUS 200
#define RAWLB_DEFAULT_DNS_NAME "." /* the root: every DNS server answers for it, if only to refuse */

/* --send and --expect: bytes, NUL included (typed as \xNN), so they carry their length. */
struct check_bytes {
    uint8_t len; /* < RAWLB_CHECK_STRLEN; 0 = not given */
    char data[RAWLB_CHECK_STRLEN];
};
/* The longest text config_escape_bytes writes: every byte as \xNN, and the NUL. */
#define RAWLB_CHECK_ESCAPED_LEN (4 * RAWLB_CHECK_STRLEN)

struct check_config {
    enum check_kind kind;
    char http_path[RAWLB_CHECK_STRLEN]; /* --check http:PATH, default "/" */
    char dns_name[RAWLB_DNS_NAME_MAX + 1]; /* --check dns:NAME without its final dot, default "." */
    int expect_status;                  /* --expect-status, http only */
    struct check_bytes expect;          /* --expect: in the http body or the udp reply; len 0 = any */
    struct check_bytes send;            /* --send: the udp probe's payload */
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
    unsigned sched_flags;     /* -b: SCHED_FLAG_ bits (scheduler.h), each one this scheduler's */
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
    unsigned workers;   /* --workers; 0 until config_parse resolves the default (one per core) */
    char ctl_path[108]; /* sizeof(sun_path) */
    char pidfile[256];
    char user[RAWLB_ACCOUNT_MAX];      /* --user; "" = the default (privdrop.h) */
    char ctl_group[RAWLB_ACCOUNT_MAX]; /* --ctl-group; "" = none: the control socket is root's only */
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
/* --send and --expect as typed: "\\" is a backslash, "\xNN" the byte NN (two hex digits, 00
 * too); any other backslash is refused. False with why (a clause for a message) when the text
 * is not valid or its bytes do not fit. */
bool config_unescape_bytes(const char *text, struct check_bytes *out, char *why, size_t whylen);
/* The reverse, for -S and messages: printable ASCII as it is, a backslash as "\\", every other
 * byte as "\xNN", so config_unescape_bytes gives the same bytes back. out holds
 * RAWLB_CHECK_ESCAPED_LEN. */
char *config_escape_bytes(const struct check_bytes *b, char *out);

/* -x/-y's value (flag is 'x' or 'y'), for config.c and the edits: 0..RAWLB_THRESHOLD_MAX,
 * false with a message naming the flag and the value. */
bool config_parse_threshold(int flag, const char *val, uint32_t *out, char *err, size_t errlen);
/* A real server's pair of limits: false with a message naming it (who, e.g. "real server
 * 203.0.113.11:80 of TCP 198.51.100.10:80") when l_threshold is above a set u_threshold. ipvsadm
 * takes that, but such a server leaves overload as soon as it is below u_threshold, as if l were
 * u: the lower limit would do nothing, so it is a mistake (-y without -x does nothing either,
 * and is taken, as in ipvsadm: a default -y may meet servers without -x). */
bool config_check_thresholds(const struct rs_config *rs, const char *who, char *err, size_t errlen);

/* --workers when not given: one fast-path thread per core the process may run on (its affinity
 * mask: a container's or taskset's cores, not the host's). */
unsigned config_default_workers(void);
enum config_result config_parse(struct rawlb_config *cfg, int argc, char **argv, char *err, size_t errlen);
/* The same from one line as rawlb-ctl -S prints it ("rawlb -e ext ..."): words separated by
 * spaces, a word in single quotes where it needs them, '\'' for a quote inside one. */
enum config_result config_parse_line(struct rawlb_config *cfg, const char *line, char *err, size_t errlen);
void config_usage(FILE *out);

#endif
