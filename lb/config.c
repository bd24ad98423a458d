/* config: the daemon's flags into one validated struct rawlb_config (README.md, "Running it").
 * Options keep their order ("+" optstring): -s -b -p -M -o and the health
 * options before the first service are defaults for every service, after a -t/-u they belong to
 * that service. -b goes with -s: a -s without a -b in the same place means no flags, so a
 * service that names its own scheduler does not inherit the default scheduler's flags.
 * -x and -y (connection limits) are a real server's: after a -r they belong to it, before the
 * first -r of a service to every server of that service, before the first service to every
 * server.
 * Every refusal names the flag and the value as typed; nothing is printed except for --help and
 * --version, and nothing here looks at the host (interfaces are checked by the daemon). */
#include "config.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scheduler.h"
#include "setupcheck.h"

#define PERSIST_MAX 2147483647ul /* 2^31-1 seconds, as ipvsadm */
#define TIMEOUT_MAX 2147483647ul

enum {
    OPT_TIMEOUTS = 256,
    OPT_MAX_CONNS,
    OPT_WORKERS,
    OPT_CTL,
    OPT_PIDFILE,
    OPT_CHECK,
    OPT_EXPECT_STATUS,
    OPT_EXPECT,
    OPT_SEND,
    OPT_CHECK_PORT,
    OPT_CHECK_INTERVAL,
    OPT_PROBE_TIMEOUT,
    OPT_CHECK_TIMEOUT,
    OPT_REENTRY,
    OPT_QUIESCE,
    OPT_SORRY_SERVER,
    OPT_AGENT_PORT,
    OPT_METRICS,
    OPT_USER,
    OPT_CTL_GROUP,
};

static const char short_opts[] = "+:e:i:n:t:u:s:b:p:M:or:x:y:hV";

static const struct option own_opts[] = {
    {"ext-if", required_argument, NULL, 'e'},
    {"int-if", required_argument, NULL, 'i'},
    {"nat-ip", required_argument, NULL, 'n'},
    {"tcp-service", required_argument, NULL, 't'},
    {"udp-service", required_argument, NULL, 'u'},
    {"scheduler", required_argument, NULL, 's'},
    {"sched-flags", required_argument, NULL, 'b'},
    {"persistent", required_argument, NULL, 'p'},
    {"netmask", required_argument, NULL, 'M'},
    {"ops", no_argument, NULL, 'o'},
    {"real-server", required_argument, NULL, 'r'},
    {"u-threshold", required_argument, NULL, 'x'},
    {"l-threshold", required_argument, NULL, 'y'},
    {"timeouts", required_argument, NULL, OPT_TIMEOUTS},
    {"max-conns", required_argument, NULL, OPT_MAX_CONNS},
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"ctl", required_argument, NULL, OPT_CTL},
    {"pidfile", required_argument, NULL, OPT_PIDFILE},
    {"check", required_argument, NULL, OPT_CHECK},
    {"expect-status", required_argument, NULL, OPT_EXPECT_STATUS},
    {"expect", required_argument, NULL, OPT_EXPECT},
    {"send", required_argument, NULL, OPT_SEND},
    {"check-port", required_argument, NULL, OPT_CHECK_PORT},
    {"check-interval", required_argument, NULL, OPT_CHECK_INTERVAL},
    {"probe-timeout", required_argument, NULL, OPT_PROBE_TIMEOUT},
    {"check-timeout", required_argument, NULL, OPT_CHECK_TIMEOUT},
    {"reentry", required_argument, NULL, OPT_REENTRY},
    {"quiesce", no_argument, NULL, OPT_QUIESCE},
    {"sorry-server", required_argument, NULL, OPT_SORRY_SERVER},
    {"agent-port", required_argument, NULL, OPT_AGENT_PORT},
    {"metrics", required_argument, NULL, OPT_METRICS},
    {"user", required_argument, NULL, OPT_USER},
    {"ctl-group", required_argument, NULL, OPT_CTL_GROUP},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};
#define N_OWN_OPTS (sizeof own_opts / sizeof own_opts[0] - 1)
#define N_HA_OPTS HACONFIG_N_OPTIONS

/* Every long option: config.c's own, then those of the modules with their own table. */
static struct option long_opts[N_OWN_OPTS + N_HA_OPTS + 1];

static void collect_options(void)
{
    memcpy(long_opts, own_opts, sizeof(struct option) * N_OWN_OPTS);
    unsigned n = N_OWN_OPTS;
    for (const struct option *o = haconfig_options; o->name; o++)
        long_opts[n++] = *o;
    memset(&long_opts[n], 0, sizeof long_opts[n]);
}

/* The per-service settings, and whether -M was given in this scope: it needs -p to mean anything.
 * Likewise the health options that only mean something with some check kinds: whether they were
 * given in this scope, checked once every service's check kind is known. */
struct svc_opts {
    const struct sched_ops *sched;
    unsigned sched_flags;
    bool flags_given; /* -b in this scope: a later -s here keeps them */
    uint32_t persist_timeout;
    uint32_t persist_mask;
    bool one_packet;
    bool mask_given;
    uint32_t u_threshold, l_threshold; /* -x -y: what this scope's real servers start with */
    struct check_config check;
    bool expect_status_given, expect_given, send_given;
    char sorry_arg[64]; /* --sorry-server as typed, for messages */
};

struct parser {
    struct rawlb_config *cfg;
    char *err;
    size_t errlen;
    struct svc_opts defaults;
    struct svc_opts per_svc[RAWLB_MAX_SERVICES];
    struct service_config *cur; /* the service the per-service options go to, or NULL */
};

static bool fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(struct parser *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, p->errlen, fmt, ap);
    va_end(ap);
    return false;
}

/* The long name of an option, for messages. */
static const char *opt_name(int val)
{
    for (const struct option *o = long_opts; o->name; o++)
        if (o->val == val) return o->name;
    return "?";
}

static const char *proto_name(uint8_t proto)
{
    return proto == IPPROTO_TCP ? "TCP" : "UDP";
}

/* "TCP 198.51.100.10:80", for messages about a service. */
static const char *svc_str(const struct service_config *sc, char *buf, size_t len)
{
    char ep[ENDPOINT_STRLEN];
    snprintf(buf, len, "%s %s", proto_name(sc->proto), endpoint_str(sc->vip.addr, sc->vip.port, ep));
    return buf;
}

/* Where the service-scoped options go: the open service, or the defaults before any. */
static struct svc_opts *scope(struct parser *p)
{
    return p->cur ? &p->per_svc[p->cur - p->cfg->services] : &p->defaults;
}

/* --check: the kinds that make sense for a protocol (none and auto for both). */
static bool check_fits(enum check_kind kind, uint8_t proto)
{
    switch (kind) {
    case CHECK_TCP:
    case CHECK_HTTP:
        return proto == IPPROTO_TCP;
    case CHECK_UDP:
    case CHECK_DNS:
        return proto == IPPROTO_UDP;
    case CHECK_AUTO:
    case CHECK_NONE:
        break;
    }
    return true;
}

static bool set_ifname(struct parser *p, int opt, char *dst, const char *val)
{
    char why[RAWLB_ERRLEN];
    if (dst[0]) /* rawlb has one interface of each kind: a second one is a mistake, not an override */
        return fail(p, "-%c/--%s: given twice ('%s' and '%s')", opt, opt_name(opt), dst, val);
    if (!addr_parse_ifname(val, dst, why, sizeof why))
        return fail(p, "--%s: %s", opt_name(opt), why);
    return true;
}

static bool set_path(struct parser *p, int opt, char *dst, size_t size, const char *val)
{
    if (*val == '\0')
        return fail(p, "--%s: empty path", opt_name(opt));
    if (strlen(val) >= size)
        return fail(p, "--%s: path '%s' is too long (at most %zu bytes)", opt_name(opt), val, size - 1);
    strcpy(dst, val);
    return true;
}

/* --user, --ctl-group: a name, looked up by the daemon (nothing here looks at the host). */
static bool set_account(struct parser *p, int opt, char *dst, const char *val)
{
    if (*val == '\0')
        return fail(p, "--%s: empty name", opt_name(opt));
    if (strlen(val) >= RAWLB_ACCOUNT_MAX)
        return fail(p, "--%s: name '%s' is too long (at most %d bytes)", opt_name(opt), val, RAWLB_ACCOUNT_MAX - 1);
    strcpy(dst, val);
    return true;
}

static bool add_service(struct parser *p, int opt, const char *val)
{
    struct rawlb_config *cfg = p->cfg;
    struct endpoint vip;
    char why[RAWLB_ERRLEN];
    uint8_t proto = opt == 't' ? IPPROTO_TCP : IPPROTO_UDP;

    if (!addr_parse_endpoint(val, &vip, why, sizeof(why)))
        return fail(p, "--%s: %s", opt_name(opt), why);
    for (unsigned i = 0; i < cfg->n_services; i++) {
        const struct service_config *o = &cfg->services[i];
        if (o->proto == proto && o->vip.addr == vip.addr && o->vip.port == vip.port)
            return fail(p, "--%s: service %s/%s is given twice", opt_name(opt), val,
                        opt == 't' ? "tcp" : "udp");
    }
    if (cfg->n_services == RAWLB_MAX_SERVICES)
        return fail(p, "--%s: '%s' is one service too many (at most %d)", opt_name(opt), val,
                    RAWLB_MAX_SERVICES);

    struct service_config *sc = &cfg->services[cfg->n_services];
    struct svc_opts *so = &p->per_svc[cfg->n_services];
    cfg->n_services++;
    memset(sc, 0, sizeof(*sc));
    sc->proto = proto;
    sc->vip = vip;
    *so = p->defaults;
    so->one_packet = so->one_packet && proto == IPPROTO_UDP; /* a default -o is for UDP services */
    so->mask_given = false; /* a default -M is checked against the defaults, not per service */
    so->flags_given = false;
    /* Likewise a default --check is for the services of its protocol; the others keep their own. */
    if (!check_fits(so->check.kind, proto))
        so->check.kind = CHECK_AUTO;
    so->expect_status_given = so->expect_given = so->send_given = false;
    p->cur = sc;
    return true;
}

static bool add_real_server(struct parser *p, const char *val)
{
    struct service_config *sc = p->cur;
    struct endpoint ep;
    int weight;
    char why[RAWLB_ERRLEN], name[64];

    if (!sc)
        return fail(p, "-r needs a service (-t or -u) before it (--real-server '%s')", val);
    if (!addr_parse_real_server(val, &ep, &weight, why, sizeof(why)))
        return fail(p, "--real-server: %s", why);
    for (unsigned i = 0; i < sc->n_rs; i++)
        if (sc->rs[i].ep.addr == ep.addr && sc->rs[i].ep.port == ep.port)
            return fail(p, "--real-server: '%s' is given twice for %s", val, svc_str(sc, name, sizeof(name)));
    if (sc->n_rs == RAWLB_MAX_RS_PER_SERVICE)
        return fail(p, "--real-server: '%s' is one real server too many for %s (at most %d)", val,
                    svc_str(sc, name, sizeof(name)), RAWLB_MAX_RS_PER_SERVICE);
    sc->rs[sc->n_rs].ep = ep;
    sc->rs[sc->n_rs].weight = weight;
    sc->rs[sc->n_rs].u_threshold = scope(p)->u_threshold;
    sc->rs[sc->n_rs].l_threshold = scope(p)->l_threshold;
    sc->n_rs++;
    return true;
}

/* --timeouts TCP,TCPFIN,UDP: seconds, 0 keeps that timeout as it is (ipvsadm --set). */
static bool set_timeouts(struct parser *p, const char *val)
{
    static const char *const field[] = {"tcp", "tcpfin", "udp"};
    uint32_t *dst[] = {&p->cfg->timeouts.tcp, &p->cfg->timeouts.tcpfin, &p->cfg->timeouts.udp};
    unsigned long v[3];
    char copy[64];

    if (strlen(val) >= sizeof(copy) || strspn(val, "0123456789,") != strlen(val))
        return fail(p, "--timeouts: '%s' is not TCP,TCPFIN,UDP (three numbers of seconds)", val);
    strcpy(copy, val);
    char *s = copy;
    for (int i = 0; i < 3; i++) {
        char *comma = strchr(s, ',');
        if ((i < 2) != (comma != NULL))
            return fail(p, "--timeouts: '%s' is not TCP,TCPFIN,UDP (three numbers of seconds)", val);
        if (comma) *comma = '\0';
        if (*s == '\0')
            return fail(p, "--timeouts: '%s' is not TCP,TCPFIN,UDP (three numbers of seconds)", val);
        if (!addr_parse_uint(s, 0, TIMEOUT_MAX, &v[i]))
            return fail(p, "--timeouts: %s timeout '%s' is %s 0..%lu (0 keeps the default)",
                        field[i], s, addr_uint_problem(s), TIMEOUT_MAX);
        if (comma)
            s = comma + 1; /* the last field has none after it (NULL + 1 is undefined) */
    }
    for (int i = 0; i < 3; i++)
        if (v[i]) *dst[i] = (uint32_t)v[i];
    return true;
}

static bool set_scheduler(struct parser *p, const char *val)
{
    const struct sched_ops *ops = sched_find(val);
    if (!ops)
        return fail(p, "--scheduler: unknown scheduler '%s' (known: %s)", val, sched_names());
    scope(p)->sched = ops;
    if (!scope(p)->flags_given)
        scope(p)->sched_flags = 0;
    return true;
}

/* -b FLAGS; whether they fit the scheduler is checked once the scope's scheduler is final. */
static bool set_sched_flags(struct parser *p, const char *val)
{
    char why[RAWLB_ERRLEN];
    if (!sched_flags_parse(val, &scope(p)->sched_flags, why, sizeof why))
        return fail(p, "--sched-flags: %s in '%s'", why, val);
    scope(p)->flags_given = true;
    return true;
}

static bool set_persistent(struct parser *p, const char *val)
{
    unsigned long v;
    if (val[0] == '-') /* getopt took the next flag for the value */
        return fail(p, "--persistent " RAWLB_PERSIST_NEEDS_VALUE " (not '%s')", val);
    if (!addr_parse_uint(val, 1, PERSIST_MAX, &v))
        return fail(p, "--persistent: '%s' is not a number of seconds 1..%lu", val, PERSIST_MAX);
    scope(p)->persist_timeout = (uint32_t)v;
    return true;
}

static bool set_netmask(struct parser *p, const char *val)
{
    char why[RAWLB_ERRLEN];
    uint32_t mask;
    if (!addr_parse_netmask(val, &mask, why, sizeof(why)))
        return fail(p, "--netmask: %s", why);
    scope(p)->persist_mask = mask;
    scope(p)->mask_given = true;
    return true;
}

static bool set_ops(struct parser *p)
{
    char name[64];
    if (p->cur && p->cur->proto != IPPROTO_UDP)
        return fail(p, "--ops: one-packet scheduling is for UDP services only, not %s",
                    svc_str(p->cur, name, sizeof(name)));
    scope(p)->one_packet = true;
    return true;
}

bool config_parse_threshold(int flag, const char *val, uint32_t *out, char *err, size_t errlen)
{
    unsigned long v;
    if (!addr_parse_uint(val, 0, RAWLB_THRESHOLD_MAX, &v)) {
        snprintf(err, errlen, "--%s: '%s' is not a number of connections 0..%u (0 = no limit)",
                 flag == 'x' ? "u-threshold" : "l-threshold", val, RAWLB_THRESHOLD_MAX);
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

bool config_check_thresholds(const struct rs_config *rs, const char *who, char *err, size_t errlen)
{
    if (!rs->u_threshold || rs->l_threshold <= rs->u_threshold)
        return true;
    snprintf(err, errlen, "--l-threshold: %u is above the --u-threshold %u of %s (the lower limit must be at most "
             "the upper one)", rs->l_threshold, rs->u_threshold, who);
    return false;
}

/* -x/-y: the last real server's when its service has one, else the scope's (see the top). */
static bool set_threshold(struct parser *p, int opt, const char *val)
{
    uint32_t v;
    if (!config_parse_threshold(opt, val, &v, p->err, p->errlen))
        return false;
    uint32_t *u = &scope(p)->u_threshold, *l = &scope(p)->l_threshold;
    if (p->cur && p->cur->n_rs) {
        struct rs_config *rs = &p->cur->rs[p->cur->n_rs - 1];
        u = &rs->u_threshold;
        l = &rs->l_threshold;
    }
    *(opt == 'x' ? u : l) = v;
    return true;
}

static bool set_max_conns(struct parser *p, const char *val)
{
    unsigned long v;
    if (!addr_parse_uint(val, 1, RAWLB_MAX_MAX_CONNS, &v))
        return fail(p, "--max-conns: '%s' is %s 1..%u", val, addr_uint_problem(val), RAWLB_MAX_MAX_CONNS);
    p->cfg->max_conns = (uint32_t)v;
    return true;
}

unsigned config_default_workers(void)
{
    cpu_set_t cpus;
    long cores = sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus) : sysconf(_SC_NPROCESSORS_ONLN);
    return cores < 1 ? 1 : cores > RAWLB_MAX_WORKERS ? RAWLB_MAX_WORKERS : (unsigned)cores;
}

static bool set_workers(struct parser *p, const char *val)
{
    unsigned long v;
    if (!addr_parse_uint(val, 1, RAWLB_MAX_WORKERS, &v))
        return fail(p, "--workers: '%s' is %s 1..%u", val, addr_uint_problem(val), RAWLB_MAX_WORKERS);
    p->cfg->workers = (unsigned)v;
    return true;
}

/* A --check dns:NAME name: dot-separated labels of 1..63 letters, digits, '-' or '_', at most
 * RAWLB_DNS_NAME_MAX characters, one final dot allowed; "." alone is the root. Into out (without
 * the final dot), or false with why. */
static bool parse_dns_name(const char *name, char *out, char *why, size_t whylen)
{
    size_t n = strlen(name);
    if (strcmp(name, ".") == 0) {
        strcpy(out, name);
        return true;
    }
    if (n && name[n - 1] == '.')
        n--;
    if (n == 0 || n > RAWLB_DNS_NAME_MAX) {
        snprintf(why, whylen, "a length other than 1..%d characters", RAWLB_DNS_NAME_MAX);
        return false;
    }
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (c == '.') {
            if (label == 0) {
                snprintf(why, whylen, "an empty label");
                return false;
            }
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_')) {
            snprintf(why, whylen, "a character other than letters, digits, '-', '_' and dots");
            return false;
        }
        if (++label > RAWLB_DNS_LABEL_MAX) {
            snprintf(why, whylen, "a label longer than %d characters", RAWLB_DNS_LABEL_MAX);
            return false;
        }
    }
    if (label == 0) { /* a second final dot */
        snprintf(why, whylen, "an empty label");
        return false;
    }
    memcpy(out, name, n);
    out[n] = '\0';
    return true;
}

/* --check tcp|http[:PATH]|udp|dns[:NAME]|none. */
static bool set_check(struct parser *p, const char *val)
{
    struct check_config *cc = &scope(p)->check;
    enum check_kind kind;
    const char *path = "/";
    char name[64], dns[RAWLB_DNS_NAME_MAX + 1] = RAWLB_DEFAULT_DNS_NAME, why[96];

    if (strcmp(val, "tcp") == 0) {
        kind = CHECK_TCP;
    } else if (strcmp(val, "udp") == 0) {
        kind = CHECK_UDP;
    } else if (strcmp(val, "none") == 0) {
        kind = CHECK_NONE;
    } else if (strcmp(val, "http") == 0 || strncmp(val, "http:", 5) == 0) {
        kind = CHECK_HTTP;
        if (val[4] == ':') {
            path = val + 5;
            if (path[0] != '/')
                return fail(p, "--check: path '%s' in '%s' does not start with '/'", path, val);
            if (strlen(path) >= sizeof(cc->http_path))
                return fail(p, "--check: path in '%s' is too long (at most %zu bytes)", val,
                            sizeof(cc->http_path) - 1);
            for (const char *c = path; *c; c++)
                if ((unsigned char)*c <= ' ' || *c == 0x7f)
                    return fail(p, "--check: path in '%s' has a space or control character", val);
        }
    } else if (strcmp(val, "dns") == 0 || strncmp(val, "dns:", 4) == 0) {
        kind = CHECK_DNS;
        if (val[3] == ':' && !parse_dns_name(val + 4, dns, why, sizeof why))
            return fail(p, "--check: the name has %s in '%s' (a name: labels of letters, digits, '-' or '_' "
                           "joined by dots; '.' is the root)", why, val);
    } else {
        return fail(p, "--check: unknown check '%s' (known: tcp http[:PATH] udp dns[:NAME] none)", val);
    }
    if (p->cur && !check_fits(kind, p->cur->proto))
        return fail(p, "--check: '%s' is for %s services, not %s", val,
                    check_fits(kind, IPPROTO_UDP) ? "UDP" : "TCP", svc_str(p->cur, name, sizeof(name)));
    cc->kind = kind;
    if (kind == CHECK_HTTP)
        snprintf(cc->http_path, sizeof(cc->http_path), "%s", path);
    if (kind == CHECK_DNS)
        snprintf(cc->dns_name, sizeof(cc->dns_name), "%s", dns);
    return true;
}

static bool set_expect_status(struct parser *p, const char *val)
{
    unsigned long v;
    if (!addr_parse_uint(val, 100, 599, &v))
        return fail(p, "--expect-status: '%s' is %s 100..599", val, addr_uint_problem(val));
    scope(p)->check.expect_status = (int)v;
    scope(p)->expect_status_given = true;
    return true;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool config_unescape_bytes(const char *text, struct check_bytes *out, char *why, size_t whylen)
{
    size_t n = 0;
    memset(out, 0, sizeof *out); /* nothing of an earlier value stays behind its length */
    for (const char *s = text; *s; n++) {
        if (n == RAWLB_CHECK_STRLEN - 1) {
            snprintf(why, whylen, "too long (at most %d bytes)", RAWLB_CHECK_STRLEN - 1);
            return false;
        }
        if (*s != '\\') {
            out->data[n] = *s++;
            continue;
        }
        if (s[1] == '\\') {
            out->data[n] = '\\';
            s += 2;
            continue;
        }
        int hi = s[1] == 'x' ? hex_digit(s[2]) : -1, lo = hi >= 0 ? hex_digit(s[3]) : -1;
        if (lo < 0) {
            snprintf(why, whylen, "'\\%.3s' is no escape (\\xNN for a byte, \\\\ for a backslash)", s + 1);
            return false;
        }
        out->data[n] = (char)(hi << 4 | lo);
        s += 4;
    }
    out->len = (uint8_t)n;
    return true;
}

char *config_escape_bytes(const struct check_bytes *b, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < b->len; i++) {
        unsigned char c = (unsigned char)b->data[i];
        if (c == '\\')
            o += (size_t)sprintf(out + o, "\\\\");
        else if (c >= ' ' && c < 0x7f)
            out[o++] = (char)c;
        else
            o += (size_t)sprintf(out + o, "\\x%02x", c);
    }
    out[o] = '\0';
    return out;
}

/* --expect and --send: a non-empty string, with escapes, that fits struct check_config. */
static bool set_check_string(struct parser *p, int opt, const char *val)
{
    struct svc_opts *so = scope(p);
    struct check_bytes *dst = opt == OPT_SEND ? &so->check.send : &so->check.expect;
    char why[128];
    if (*val == '\0')
        return fail(p, "--%s: empty string", opt_name(opt));
    if (!config_unescape_bytes(val, dst, why, sizeof why))
        return fail(p, "--%s: %s: '%s'", opt_name(opt), why, val);
    if (opt == OPT_SEND)
        so->send_given = true;
    else
        so->expect_given = true;
    return true;
}

static bool set_check_port(struct parser *p, int opt, const char *val)
{
    unsigned long v;
    if (!addr_parse_uint(val, 1, 65535, &v))
        return fail(p, "--%s: '%s' is %s 1..65535", opt_name(opt), val, addr_uint_problem(val));
    if (opt == OPT_AGENT_PORT)
        scope(p)->check.agent_port = (uint16_t)v;
    else
        scope(p)->check.port = (uint16_t)v;
    return true;
}

/* --check-interval, --probe-timeout, --check-timeout, --reentry: seconds into milliseconds. */
static bool set_check_time(struct parser *p, int opt, const char *val)
{
    struct check_config *cc = &scope(p)->check;
    uint32_t *dst;
    uint64_t ms, min_ms = 100, max_ms;
    const char *range;

    switch (opt) {
    case OPT_CHECK_INTERVAL:
        dst = &cc->interval_ms, max_ms = 3600000, range = "0.1..3600";
        break;
    case OPT_PROBE_TIMEOUT:
        dst = &cc->probe_timeout_ms, max_ms = 3600000, range = "0.1..3600";
        break;
    case OPT_CHECK_TIMEOUT:
        dst = &cc->dead_after_ms, max_ms = 86400000, range = "0.1..86400";
        break;
    default: /* OPT_REENTRY */
        dst = &cc->reentry_ms, min_ms = 0, max_ms = 86400000, range = "0..86400";
        break;
    }
    if (!addr_parse_seconds_ms(val, &ms))
        return fail(p, "--%s: '%s' is not a number of seconds (up to 3 decimals, e.g. 2 or 0.5)",
                    opt_name(opt), val);
    if (ms < min_ms || ms > max_ms)
        return fail(p, "--%s: '%s' is out of range %s seconds", opt_name(opt), val, range);
    *dst = (uint32_t)ms;
    return true;
}

static bool set_sorry_server(struct parser *p, const char *val)
{
    struct svc_opts *so = scope(p);
    char why[RAWLB_ERRLEN];
    if (!addr_parse_endpoint(val, &so->check.sorry, why, sizeof(why)))
        return fail(p, "--sorry-server: %s", why);
    so->check.has_sorry = true;
    snprintf(so->sorry_arg, sizeof(so->sorry_arg), "%s", val);
    return true;
}

/* --metrics ADDR:PORT, a global option; 0.0.0.0:PORT listens on every address. */
static bool set_metrics(struct parser *p, const char *val)
{
    char why[RAWLB_ERRLEN], any[32];
    struct endpoint ep;
    bool wildcard = strncmp(val, "0.0.0.0:", 8) == 0 && strlen(val) < sizeof(any) - 8;
    if (wildcard) /* addr_parse_endpoint wants a host address: check the port with one */
        snprintf(any, sizeof(any), "127.0.0.1:%s", val + 8);
    if (!addr_parse_endpoint(wildcard ? any : val, &ep, why, sizeof(why)))
        return fail(p, "--metrics: %s", why); /* with 0.0.0.0 only the port can be wrong */
    if (wildcard)
        ep.addr = 0;
    p->cfg->metrics = true;
    p->cfg->metrics_ep = ep;
    return true;
}

/* The option getopt refused, as the user typed it: "--name" (without "=value") or "-x". */
static bool fail_option(struct parser *p, int c, const char *arg)
{
    char shortopt[3] = {'-', (char)optopt, '\0'};
    const char *name = shortopt;
    int namelen = 2;
    bool is_long = arg[0] == '-' && arg[1] == '-';

    if (is_long) {
        name = arg;
        namelen = (int)strcspn(arg, "=");
    }
    if (c == ':')
        return fail(p, "option '%.*s' needs a value", namelen, name);
    if (is_long && optopt)
        return fail(p, "option '%.*s' does not take a value ('%s')", namelen, name, arg);
    if (!is_long && strlen(arg) > 2)
        return fail(p, "unknown option '%s' (in '%s')", name, arg);
    if (is_long && namelen > 2) {
        /* getopt_long takes unique prefixes; say so when this one was not unique. */
        char could[RAWLB_ERRLEN] = "";
        size_t n = 0;
        for (const struct option *o = long_opts; o->name; o++)
            if (strncmp(o->name, name + 2, (size_t)namelen - 2) == 0 && n < sizeof(could))
                n += (size_t)snprintf(could + n, sizeof(could) - n, "%s--%s", n ? ", " : "", o->name);
        if (n)
            return fail(p, "ambiguous option '%.*s' (could be %s)", namelen, name, could);
    }
    return fail(p, "unknown option '%.*s'", namelen, name);
}

/* A service's health check, once its kind is known: the options that need some kind, the sorry
 * server against its real servers. Fields the resolved kind does not use are cleared. */
static bool check_service_health(struct parser *p, struct service_config *sc, const struct svc_opts *so)
{
    struct check_config cc = so->check;
    char name[64];

    if (cc.kind == CHECK_AUTO)
        cc.kind = sc->proto == IPPROTO_TCP ? CHECK_TCP : CHECK_NONE;
    svc_str(sc, name, sizeof(name));
    if (so->expect_status_given && cc.kind != CHECK_HTTP)
        return fail(p, "--expect-status: only meaningful with --check http, which %s does not have", name);
    if (so->expect_given && cc.kind != CHECK_HTTP && cc.kind != CHECK_UDP)
        return fail(p, "--expect: only meaningful with --check http or udp, which %s does not have", name);
    if (so->send_given && cc.kind != CHECK_UDP)
        return fail(p, "--send: only meaningful with --check udp, which %s does not have", name);
    if (cc.kind == CHECK_UDP && cc.send.len == 0)
        return fail(p, "--check udp: %s needs --send STRING (the probe's payload)", name);
    if (cc.has_sorry)
        for (unsigned i = 0; i < sc->n_rs; i++)
            if (sc->rs[i].ep.addr == cc.sorry.addr && sc->rs[i].ep.port == cc.sorry.port)
                return fail(p, "--sorry-server: '%s' is also a real server of %s", so->sorry_arg, name);
    struct check_config defaults = config_check_defaults();
    if (cc.kind != CHECK_UDP)
        cc.send = defaults.send;
    if (cc.kind != CHECK_UDP && cc.kind != CHECK_HTTP)
        cc.expect = defaults.expect;
    if (cc.kind != CHECK_HTTP)
        memcpy(cc.http_path, defaults.http_path, sizeof cc.http_path);
    if (cc.kind != CHECK_DNS)
        memcpy(cc.dns_name, defaults.dns_name, sizeof cc.dns_name);
    sc->check = cc;
    return true;
}

static bool check_services(struct parser *p)
{
    struct rawlb_config *cfg = p->cfg;
    bool any_persistent = p->defaults.persist_timeout != 0;
    bool any_http = false, any_udp = false;
    char name[64];

    /* No service, or a service without real servers, is what edits can leave (rawlb-ctl -D, -d),
     * so it starts too: rawlb-ctl -S of any running daemon is a command line rawlb takes. */
    for (unsigned i = 0; i < cfg->n_services; i++) {
        struct service_config *sc = &cfg->services[i];
        const struct svc_opts *so = &p->per_svc[i];
        if (so->mask_given && so->persist_timeout == 0)
            return fail(p, "--netmask: only meaningful with --persistent, which %s does not have",
                        svc_str(sc, name, sizeof(name)));
        snprintf(sc->scheduler, sizeof(sc->scheduler), "%s", so->sched->name);
        char why[RAWLB_ERRLEN];
        if (!sched_flags_fit(so->sched, so->sched_flags, why, sizeof why))
            return fail(p, "--sched-flags: %s (%s)", why, svc_str(sc, name, sizeof(name)));
        sc->sched_flags = so->sched_flags;
        sc->persist_timeout = so->persist_timeout;
        sc->persist_mask = so->persist_mask;
        sc->one_packet = so->one_packet;
        any_persistent |= so->persist_timeout != 0;
        if (!check_service_health(p, sc, so))
            return false;
        for (unsigned j = 0; j < sc->n_rs; j++) {
            char who[128], ep[ENDPOINT_STRLEN];
            snprintf(who, sizeof who, "real server %s of %s", endpoint_str(sc->rs[j].ep.addr, sc->rs[j].ep.port, ep),
                     svc_str(sc, name, sizeof(name)));
            if (!config_check_thresholds(&sc->rs[j], who, p->err, p->errlen))
                return false;
        }
        any_http |= sc->check.kind == CHECK_HTTP;
        any_udp |= sc->check.kind == CHECK_UDP;
    }
    char why[RAWLB_ERRLEN];
    if (!sched_flags_fit(p->defaults.sched, p->defaults.sched_flags, why, sizeof why))
        return fail(p, "--sched-flags: %s (the default scheduler, before the first service)", why);
    if (p->defaults.mask_given && !any_persistent)
        return fail(p, "--netmask: only meaningful with --persistent, which no service has");
    if (p->defaults.expect_status_given && !any_http)
        return fail(p, "--expect-status: only meaningful with --check http, which no service has");
    if (p->defaults.expect_given && !any_http && !any_udp)
        return fail(p, "--expect: only meaningful with --check http or udp, which no service has");
    if (p->defaults.send_given && !any_udp)
        return fail(p, "--send: only meaningful with --check udp, which no service has");
    return true;
}

static bool check_globals(struct parser *p)
{
    struct rawlb_config *cfg = p->cfg;
    if (cfg->ext_if[0] == '\0')
        return fail(p, "missing -e/--ext-if (the interface facing the clients)");
    if (cfg->int_if[0] == '\0')
        return fail(p, "missing -i/--int-if (the interface facing the real servers)");
    if (cfg->nat_ip == 0)
        return fail(p, "missing -n/--nat-ip (the real servers' default gateway address)");
    if (strcmp(cfg->ext_if, cfg->int_if) == 0)
        return fail(p, "--int-if: '%s' is also the --ext-if; rawlb needs two interfaces", cfg->int_if);
    return true;
}

static void set_defaults(struct parser *p)
{
    struct rawlb_config *cfg = p->cfg;
    memset(cfg, 0, sizeof(*cfg));
    cfg->timeouts.tcp = RAWLB_DEFAULT_TCP_TIMEOUT;
    cfg->timeouts.tcpfin = RAWLB_DEFAULT_TCPFIN_TIMEOUT;
    cfg->timeouts.udp = RAWLB_DEFAULT_UDP_TIMEOUT;
    cfg->max_conns = RAWLB_DEFAULT_MAX_CONNS;
    snprintf(cfg->ctl_path, sizeof(cfg->ctl_path), "%s", RAWLB_DEFAULT_CTL);
    p->defaults.sched = &sched_wlc_ops;
    p->defaults.persist_mask = 0xffffffffu;
    p->defaults.check = config_check_defaults();
    haconfig_defaults(&cfg->ha);
}

struct check_config config_check_defaults(void)
{
    return (struct check_config){
        .kind = CHECK_AUTO,
        .http_path = "/",
        .dns_name = RAWLB_DEFAULT_DNS_NAME,
        .expect_status = RAWLB_DEFAULT_EXPECT_STATUS,
        .interval_ms = RAWLB_DEFAULT_CHECK_INTERVAL_MS,
        .probe_timeout_ms = RAWLB_DEFAULT_PROBE_TIMEOUT_MS,
        .dead_after_ms = RAWLB_DEFAULT_CHECK_TIMEOUT_MS,
        .reentry_ms = RAWLB_DEFAULT_REENTRY_MS,
    };
}

static bool parse_one(struct parser *p, int c, const char *arg)
{
    char why[RAWLB_ERRLEN];
    switch (c) {
    case 'e':
        return set_ifname(p, c, p->cfg->ext_if, optarg);
    case 'i':
        return set_ifname(p, c, p->cfg->int_if, optarg);
    case 'n':
        if (!addr_parse_host(optarg, &p->cfg->nat_ip, why, sizeof(why)))
            return fail(p, "--nat-ip: %s", why);
        return true;
    case 't':
    case 'u':
        return add_service(p, c, optarg);
    case 's':
        return set_scheduler(p, optarg);
    case 'b':
        return set_sched_flags(p, optarg);
    case 'p':
        return set_persistent(p, optarg);
    case 'M':
        return set_netmask(p, optarg);
    case 'o':
        return set_ops(p);
    case 'r':
        return add_real_server(p, optarg);
    case 'x':
    case 'y':
        return set_threshold(p, c, optarg);
    case OPT_TIMEOUTS:
        return set_timeouts(p, optarg);
    case OPT_MAX_CONNS:
        return set_max_conns(p, optarg);
    case OPT_WORKERS:
        return set_workers(p, optarg);
    case OPT_CTL:
        return set_path(p, c, p->cfg->ctl_path, sizeof(p->cfg->ctl_path), optarg);
    case OPT_PIDFILE:
        return set_path(p, c, p->cfg->pidfile, sizeof(p->cfg->pidfile), optarg);
    case OPT_CHECK:
        return set_check(p, optarg);
    case OPT_EXPECT_STATUS:
        return set_expect_status(p, optarg);
    case OPT_EXPECT:
    case OPT_SEND:
        return set_check_string(p, c, optarg);
    case OPT_CHECK_PORT:
    case OPT_AGENT_PORT:
        return set_check_port(p, c, optarg);
    case OPT_CHECK_INTERVAL:
    case OPT_PROBE_TIMEOUT:
    case OPT_CHECK_TIMEOUT:
    case OPT_REENTRY:
        return set_check_time(p, c, optarg);
    case OPT_QUIESCE:
        scope(p)->check.quiesce = true;
        return true;
    case OPT_SORRY_SERVER:
        return set_sorry_server(p, optarg);
    case OPT_METRICS:
        return set_metrics(p, optarg);
    case OPT_USER:
        return set_account(p, c, p->cfg->user, optarg);
    case OPT_CTL_GROUP:
        return set_account(p, c, p->cfg->ctl_group, optarg);
    case '?':
    case ':':
        return fail_option(p, c, arg);
    default: /* a module's own option (haconfig_options) */
        return haconfig_set(&p->cfg->ha, c, optarg, p->err, p->errlen);
    }
}

/* may_print: -h and -V print and end the parse (CONFIG_EXIT_OK); otherwise they are refused, with
 * nothing printed (config_parse_line: a line is a configuration, never a request for help). */
static enum config_result parse_argv(struct rawlb_config *cfg, int argc, char **argv, char *err, size_t errlen,
                                     bool may_print)
{
    struct parser p = {.cfg = cfg, .err = err, .errlen = errlen};
    int c;

    set_defaults(&p);
    collect_options();
    if (errlen) err[0] = '\0';
    optind = 0; /* GNU: full reinitialisation, so tests can call us again */
    opterr = 0;
    for (;;) {
        /* With "+" getopt never permutes: the option it looks at is argv[optind]. */
        int at = optind ? optind : 1;
        c = getopt_long(argc, argv, short_opts, long_opts, NULL);
        if (c == -1) break;
        if ((c == 'h' || c == 'V') && !may_print) {
            fail(&p, "a command line asking for help or the version is no configuration");
            return CONFIG_ERROR;
        }
        if (c == 'h') {
            config_usage(stdout);
            return CONFIG_EXIT_OK;
        }
        if (c == 'V') {
            printf("rawlb %s\n", RAWLB_VERSION);
            return CONFIG_EXIT_OK;
        }
        if (!parse_one(&p, c, argv[at]))
            return CONFIG_ERROR;
    }
    if (optind < argc) {
        fail(&p, "unexpected argument '%s' (every value follows its flag)", argv[optind]);
        return CONFIG_ERROR;
    }
    if (!check_globals(&p) || !check_services(&p) || !haconfig_check(&cfg->ha, err, errlen) ||
        !setupcheck_config(cfg, err, errlen))
        return CONFIG_ERROR;
    if (!cfg->workers)
        cfg->workers = config_default_workers();
    return CONFIG_OK;
}

enum config_result config_parse(struct rawlb_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
    return parse_argv(cfg, argc, argv, err, errlen, true);
}

#define LINE_WORDS_MAX 32768 /* 64 services of 64 real servers (-r -x -y: 6 words each) with every option */

/* Splits line (modified in place) into words as a POSIX shell would for what -S prints: single
 * quotes and a backslash before a quote. Returns the number of words, -1 when there are too many
 * or a quote is left open. */
static int split_words(char *line, char **words, int max)
{
    int n = 0;
    char *in = line, *out = line;
    while (*in) {
        if (*in == ' ' || *in == '\t' || *in == '\n') {
            in++;
            continue;
        }
        if (n == max)
            return -1;
        words[n++] = out;
        while (*in && *in != ' ' && *in != '\t' && *in != '\n') {
            if (*in == '\'') {
                char *close = strchr(in + 1, '\'');
                if (!close)
                    return -1;
                size_t len = (size_t)(close - in - 1);
                memmove(out, in + 1, len);
                out += len;
                in = close + 1;
            } else if (*in == '\\' && in[1]) {
                *out++ = in[1];
                in += 2;
            } else {
                *out++ = *in++;
            }
        }
        bool end = *in != '\0';
        *out++ = '\0';
        in += end; /* past the separator (out never overtakes in: it only ever drops characters) */
    }
    return n;
}

enum config_result config_parse_line(struct rawlb_config *cfg, const char *line, char *err, size_t errlen)
{
    static char *words[LINE_WORDS_MAX + 1];
    char *copy = strdup(line);
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return CONFIG_ERROR;
    }
    int n = split_words(copy, words, LINE_WORDS_MAX);
    enum config_result r = CONFIG_ERROR;
    if (n < 1)
        snprintf(err, errlen, "not a rawlb command line (%s)", n < 0 ? "too many words or an open quote" : "empty");
    else if (strcmp(words[0], "rawlb") != 0)
        snprintf(err, errlen, "not a rawlb command line: it starts with '%.32s'", words[0]);
    else {
        words[n] = NULL;
        r = parse_argv(cfg, n, words, err, errlen, false);
    }
    free(copy);
    return r;
}

void config_usage(FILE *out)
{
    fprintf(out,
            "usage: rawlb -e IF -i IF -n ADDR [SERVICE-OPTIONS] [SERVICE...] [OPTIONS]\n"
            "       SERVICE = -t|-u VIP:PORT [SERVICE-OPTIONS] [-r ADDR:PORT[:WEIGHT] [-x N] [-y N]...]\n"
            "userspace LVS-NAT load balancer. Service options before the first service are\n"
            "defaults for every service; after a service they belong to that service only.\n"
            "\n"
            "  -e, --ext-if IF               interface facing the clients (VIPs live here)\n"
            "  -i, --int-if IF               interface facing the real servers (one rawlb per\n"
            "                                interface and network namespace: a second is refused)\n"
            "  -n, --nat-ip ADDR             NAT router address, the real servers' default gateway:\n"
            "                                in a subnet of -i's addresses, no VIP nor real server\n"
            "  -t, --tcp-service VIP:PORT    open a TCP virtual service (repeatable)\n"
            "  -u, --udp-service VIP:PORT    open a UDP virtual service (repeatable)\n"
            "  -s, --scheduler NAME          %s (default wlc); mh: Maglev\n"
            "                                hashing, directors with the same set-up pick alike\n"
            "  -b, --sched-flags FLAGS       scheduler flags, a comma list: mh-port (mh hashes\n"
            "                                the client port too), mh-fallback (mh sends a flow\n"
            "                                whose server is down to the next one); goes with the\n"
            "                                -s before it (-s alone: no flags)\n"
            "  -p, --persistent SECONDS      send a client to the same real server for SECONDS\n"
            "                                (SECONDS required: -p alone is not ipvsadm's 360)\n"
            "  -M, --netmask MASK            persistence granularity, a.b.c.d or /LEN (default /32)\n"
            "  -o, --ops                     UDP one-packet scheduling: each datagram on its own\n"
            "  -r, --real-server ADDR:PORT[:WEIGHT]\n"
            "                                add a real server to the service before it (repeatable;\n"
            "                                not a VIP, loopback, -n or the director's address;\n"
            "                                weight 0..%d, default 1, 0 = quiesced)\n"
            "  -x, --u-threshold N           a real server with N connections (ActiveConn + InActConn\n"
            "                                of every worker) gets no new ones (0, the default: no\n"
            "                                limit) until it has fewer than\n"
            "  -y, --l-threshold N           N (default 0: 3/4 of its -x; at most its -x). Both after\n"
            "                                a -r are that server's, before a service's first -r its\n"
            "                                servers', before the first service every server's\n"
            "                                (0..%u)\n"
            "      --timeouts TCP,TCPFIN,UDP connection timeouts in seconds, 0 keeps one\n"
            "                                (default %d,%d,%d, as ipvsadm --set)\n"
            "      --max-conns N             connection table size (default %u, at most %u)\n"
            "      --workers N               fast-path threads, each with its share of the flows\n"
            "                                and of --max-conns (default: one per core, at most %u)\n"
            "      --ctl PATH                control socket for rawlb-ctl (default %s)\n"
            "      --pidfile PATH            write the process id to PATH\n"
            "      --metrics ADDR:PORT       serve Prometheus metrics at http://ADDR:PORT/metrics\n"
            "                                (0.0.0.0:PORT: every address)\n"
            "      --user NAME               run as NAME once every socket and file is open (started\n"
            "                                as root: default nobody; no capabilities, no new\n"
            "                                privileges, a seccomp filter; 'root' keeps root's\n"
            "                                privileges, the filter still applies; started as\n"
            "                                another user: that user, without capabilities)\n"
            "      --ctl-group NAME          the control socket is root:NAME mode 0660 (default\n"
            "                                0600: root only)\n"
            "  -h, --help                    print this help and exit\n"
            "  -V, --version                 print the version and exit\n"
            "\n"
            "health checks (per service, or defaults before the first service):\n"
            "      --check KIND              tcp, http[:PATH], udp, dns[:NAME] or none (default tcp\n"
            "                                for TCP services, none for UDP ones; PATH default /,\n"
            "                                NAME default . (a type A query; any answer is alive))\n"
            "      --expect-status N         http: the status a healthy server answers (default %d)\n"
            "      --expect STRING           http or udp: the body or reply must contain STRING\n"
            "      --send STRING             udp: the probe's payload (required with --check udp);\n"
            "                                in both, \\xNN is the byte NN and \\\\ a backslash\n"
            "      --check-port N            probe port N instead of the real server's port\n"
            "      --check-interval SEC      between probes (default %g)\n"
            "      --probe-timeout SEC       for one probe (default %g)\n"
            "      --check-timeout SEC       no successful probe for SEC: dead (default %g)\n"
            "      --reentry SEC             a dead server passes every probe for SEC before it is\n"
            "                                used again (default %g, 0 = at the first good probe)\n"
            "      --quiesce                 a dead server keeps its flows (default: they are reset)\n"
            "      --sorry-server ADDR:PORT  used only while every real server is down\n"
            "      --agent-port N            poll an agent on each real server for its weight\n"
            "                                (75%%, drain, down, up, ready)\n",
            sched_names(), RAWLB_WEIGHT_MAX, RAWLB_THRESHOLD_MAX, RAWLB_DEFAULT_TCP_TIMEOUT, RAWLB_DEFAULT_TCPFIN_TIMEOUT,
            RAWLB_DEFAULT_UDP_TIMEOUT, RAWLB_DEFAULT_MAX_CONNS, RAWLB_MAX_MAX_CONNS, RAWLB_MAX_WORKERS,
            RAWLB_DEFAULT_CTL,
            RAWLB_DEFAULT_EXPECT_STATUS, RAWLB_DEFAULT_CHECK_INTERVAL_MS / 1000.0,
            RAWLB_DEFAULT_PROBE_TIMEOUT_MS / 1000.0, RAWLB_DEFAULT_CHECK_TIMEOUT_MS / 1000.0,
            RAWLB_DEFAULT_REENTRY_MS / 1000.0);
    haconfig_usage(out);
    fprintf(out,
            "\n"
            "example: rawlb -e ext -i int -n 203.0.113.1 -t 198.51.100.10:80 -s wlc \\\n"
            "             -r 203.0.113.11:80 -r 203.0.113.12:80:2\n");
}
