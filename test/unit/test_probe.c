/* test_probe: the agent-check parser, the DNS query and answer, and real probes on loopback in a
 * libev loop against tiny servers this test runs itself (forked children, or sockets that never
 * answer). Every probe must end exactly once with the expected verdict and reason. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testing.h"
#include "probe.h"

static uint32_t loopback;

/* ---- agent_parse ---- */

#define CHECK_AGENT(line, ok, v, hasp, pct)                        \
    do {                                                           \
        struct agent_reply r_;                                     \
        memset(&r_, 0x55, sizeof r_);                              \
        CHECK(agent_parse((line), &r_) == (ok));                   \
        CHECK_EQ_U(r_.verdict, (v));                               \
        CHECK_EQ_U(r_.has_percent, (hasp));                        \
        if (hasp)                                                  \
            CHECK_EQ_U(r_.percent, (pct));                         \
    } while (0)

static void test_agent_parse(void)
{
    CHECK_AGENT("75%", true, AGENT_WEIGHT, true, 75);
    CHECK_AGENT("75%\r\n", true, AGENT_WEIGHT, true, 75);
    CHECK_AGENT("0%\n", true, AGENT_WEIGHT, true, 0);
    CHECK_AGENT("100%", true, AGENT_WEIGHT, true, 100);
    CHECK_AGENT("150%", true, AGENT_WEIGHT, true, 100);
    CHECK_AGENT("99999999999999999999%", true, AGENT_WEIGHT, true, 100);
    CHECK_AGENT("drain\n", true, AGENT_DRAIN, false, 0);
    CHECK_AGENT("DRAIN", true, AGENT_DRAIN, false, 0);
    CHECK_AGENT("down", true, AGENT_DOWN, false, 0);
    CHECK_AGENT("fail", true, AGENT_DOWN, false, 0);
    CHECK_AGENT("Stopped", true, AGENT_DOWN, false, 0);
    CHECK_AGENT("maint\r\n", true, AGENT_DOWN, false, 0);
    CHECK_AGENT("up", true, AGENT_UP, false, 0);
    CHECK_AGENT("Ready\r\n", true, AGENT_UP, false, 0);
    CHECK_AGENT("up 50%\n", true, AGENT_UP, true, 50);
    CHECK_AGENT("50%,up", true, AGENT_UP, true, 50);
    CHECK_AGENT("\tready ,\t 20%  \r\n", true, AGENT_UP, true, 20);
    CHECK_AGENT("drain 30%", true, AGENT_DRAIN, true, 30);
    CHECK_AGENT("up drain", true, AGENT_DRAIN, false, 0);  /* most cautious wins */
    CHECK_AGENT("down ready", true, AGENT_DOWN, false, 0);
    CHECK_AGENT("maxconn:30 75% #comment", true, AGENT_WEIGHT, true, 75); /* unknown words ignored */
    CHECK_AGENT("75% up\ndown", true, AGENT_UP, true, 75); /* one line only */
    CHECK_AGENT("", false, AGENT_NONE, false, 0);
    CHECK_AGENT("\r\n", false, AGENT_NONE, false, 0);
    CHECK_AGENT("hello world", false, AGENT_NONE, false, 0);
    CHECK_AGENT("75", false, AGENT_NONE, false, 0);
    CHECK_AGENT("%", false, AGENT_NONE, false, 0);
    CHECK_AGENT("-5%", false, AGENT_NONE, false, 0);
    CHECK_AGENT("7x%", false, AGENT_NONE, false, 0);
    CHECK_AGENT("upx downy", false, AGENT_NONE, false, 0);
}

/* ---- DNS query and answer ---- */

/* The query for example.test with id 0x1234, byte by byte (RFC 1035 4.1): no recursion desired. */
static const uint8_t example_query[] = {
    0x12, 0x34, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,   /* header */
    7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0,          /* name */
    0x00, 0x01, 0x00, 0x01,                                                    /* A, IN */
};

static void test_dns_messages(void)
{
    uint8_t q[512];
    CHECK_EQ_U(dns_build_query("example.test", 0x1234, q, sizeof q), sizeof example_query);
    CHECK(memcmp(q, example_query, sizeof example_query) == 0);
    CHECK_EQ_U(dns_build_query("example.test.", 0x1234, q, sizeof q), sizeof example_query);
    CHECK(memcmp(q, example_query, sizeof example_query) == 0);
    /* the root: an empty name */
    static const uint8_t root[] = { 0xbe, 0xef, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1 };
    CHECK_EQ_U(dns_build_query(".", 0xbeef, q, sizeof q), sizeof root);
    CHECK(memcmp(q, root, sizeof root) == 0);
    /* what does not fit, or is no name */
    CHECK_EQ_U(dns_build_query("example.test", 1, q, sizeof example_query - 1), 0);
    CHECK_EQ_U(dns_build_query("example.test", 1, q, sizeof example_query), sizeof example_query);
    CHECK_EQ_U(dns_build_query(".", 1, q, 11), 0);
    CHECK_EQ_U(dns_build_query("a..b", 1, q, sizeof q), 0);
    char label[RAWLB_DNS_LABEL_MAX + 2];
    memset(label, 'l', RAWLB_DNS_LABEL_MAX + 1);
    label[RAWLB_DNS_LABEL_MAX + 1] = '\0';
    CHECK_EQ_U(dns_build_query(label, 1, q, sizeof q), 0);
    label[RAWLB_DNS_LABEL_MAX] = '\0';
    CHECK_EQ_U(dns_build_query(label, 1, q, sizeof q), 12 + 1 + RAWLB_DNS_LABEL_MAX + 1 + 4);

    /* answers: the id and the response flag; any response code */
    uint8_t a[sizeof example_query];
    memcpy(a, example_query, sizeof a);
    char why[PROBE_WHYLEN];
    unsigned rcode = 99;
    CHECK(dns_parse_answer(a, sizeof a, 0x1234, &rcode, why, sizeof why) < 0); /* a query */
    CHECK(strstr(why, "not a DNS answer"));
    a[2] = 0x80;
    CHECK_EQ_U(dns_parse_answer(a, sizeof a, 0x1234, &rcode, why, sizeof why), 1);
    CHECK_EQ_U(rcode, 0);
    a[3] = 0x83; /* RA, NXDOMAIN */
    CHECK_EQ_U(dns_parse_answer(a, sizeof a, 0x1234, &rcode, why, sizeof why), 1);
    CHECK_EQ_U(rcode, 3);
    CHECK_EQ_U(dns_parse_answer(a, 12, 0x1234, &rcode, why, sizeof why), 1); /* a bare header */
    CHECK(dns_parse_answer(a, 11, 0x1234, &rcode, why, sizeof why) < 0);
    CHECK(strstr(why, "not a DNS answer (11 bytes)"));
    CHECK(dns_parse_answer(a, sizeof a, 0x1235, &rcode, why, sizeof why) < 0);
    CHECK(strstr(why, "another query (id 4660, want 4661)"));
}

/* ---- tiny servers ---- */

static pid_t children[32];
static unsigned n_children;

static int bound_socket(int type, uint16_t *port)
{
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = loopback};
    socklen_t len = sizeof sin;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
        perror("test socket");
        exit(1);
    }
    *port = sin.sin_port;
    return fd;
}

/* A port where nothing listens (bound, read back, closed again). */
static uint16_t closed_port(int type)
{
    uint16_t port;
    close(bound_socket(type, &port));
    return port;
}

/* A listener that never accepts: connects complete, nobody ever answers. */
static int silent_listener(uint16_t *port)
{
    int fd = bound_socket(SOCK_STREAM, port);
    listen(fd, 64);
    return fd;
}

static pid_t fork_child(void)
{
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0)
        prctl(PR_SET_PDEATHSIG, SIGKILL);
    else
        children[n_children++] = pid;
    return pid;
}

/* A TCP server in a child: for each connection, reads the request up to its blank line when
 * read_request, writes reply (then the request itself when echo), closes its side and waits for
 * the probe to close. */
static uint16_t serve_tcp(const char *reply, size_t reply_len, bool read_request, bool echo)
{
    uint16_t port;
    int l = bound_socket(SOCK_STREAM, &port);
    listen(l, 64);
    if (fork_child() > 0) {
        close(l);
        return port;
    }
    for (;;) {
        int c = accept(l, NULL, NULL);
        if (c < 0)
            continue;
        char req[2048];
        size_t got = 0;
        while (read_request && got < sizeof req - 1) {
            ssize_t n = read(c, req + got, sizeof req - 1 - got);
            if (n <= 0)
                break;
            got += (size_t)n;
            req[got] = '\0';
            if (strstr(req, "\r\n\r\n"))
                break;
        }
        if (reply_len)
            send(c, reply, reply_len, MSG_NOSIGNAL);
        if (echo)
            send(c, req, got, MSG_NOSIGNAL);
        shutdown(c, SHUT_WR);
        while (read(c, req, sizeof req) > 0)
            ;
        close(c);
    }
}

/* A UDP server in a child answering every datagram with reply, or with the datagram itself when
 * reply is NULL. */
static uint16_t serve_udp(const char *reply)
{
    uint16_t port;
    int s = bound_socket(SOCK_DGRAM, &port);
    if (fork_child() > 0) {
        close(s);
        return port;
    }
    for (;;) {
        char buf[2048];
        struct sockaddr_in from;
        socklen_t len = sizeof from;
        ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
        if (n >= 0)
            sendto(s, reply ? reply : buf, reply ? strlen(reply) : (size_t)n, 0, (struct sockaddr *)&from, len);
    }
}

/* A DNS server in a child: a query that is exactly the one for example.test (whatever its id)
 * gets an answer as mode says; any other datagram gets nothing (the probe then times out). */
enum dns_mode { DNS_NOERROR, DNS_NXDOMAIN, DNS_REFUSED, DNS_OTHER_ID, DNS_NOT_ANSWER };
static uint16_t serve_dns(enum dns_mode mode)
{
    uint16_t port;
    int s = bound_socket(SOCK_DGRAM, &port);
    if (fork_child() > 0) {
        close(s);
        return port;
    }
    for (;;) {
        uint8_t b[512];
        struct sockaddr_in from;
        socklen_t len = sizeof from;
        ssize_t n = recvfrom(s, b, sizeof b, 0, (struct sockaddr *)&from, &len);
        if (n != (ssize_t)sizeof example_query || memcmp(b + 2, example_query + 2, sizeof example_query - 2) != 0)
            continue;
        static const uint8_t rcodes[] = { [DNS_NOERROR] = 0, [DNS_NXDOMAIN] = 3, [DNS_REFUSED] = 5 };
        if (mode != DNS_NOT_ANSWER)
            b[2] = 0x80; /* QR */
        if (mode < sizeof rcodes)
            b[3] = rcodes[mode];
        if (mode == DNS_OTHER_ID)
            b[1] ^= 1;
        sendto(s, b, (size_t)n, 0, (struct sockaddr *)&from, len);
    }
}

static uint16_t serve_text(const char *reply, bool read_request)
{
    return serve_tcp(reply, strlen(reply), read_request, false);
}

static void stop_children(void)
{
    for (unsigned i = 0; i < n_children; i++) {
        kill(children[i], SIGKILL);
        waitpid(children[i], NULL, 0);
    }
    n_children = 0;
}

/* ---- probes ---- */

struct outcome {
    unsigned calls;
    bool ok;
    char result[PROBE_WHYLEN];
    bool has_agent;
    struct agent_reply agent;
};

static void record_cb(void *arg, bool ok, const char *result, const struct agent_reply *agent)
{
    struct outcome *o = arg;
    o->calls++;
    o->ok = ok;
    snprintf(o->result, sizeof o->result, "%s", result);
    o->has_agent = agent != NULL;
    if (agent)
        o->agent = *agent;
}

struct probe_case {
    const char *name;
    enum probe_kind kind;
    uint16_t port;
    struct check_config cfg;
    bool want_ok;
    const char *want; /* a part of the result */
    enum agent_verdict verdict;
    bool has_percent;
    unsigned percent;
    struct probe probe;
    struct outcome out;
};

/* expect and send as config.c reads them: \xNN for a byte. */
static struct check_config cfg_of(const char *path, int status, const char *expect, const char *send,
                                  uint32_t timeout_ms)
{
    struct check_config c = {.expect_status = status, .probe_timeout_ms = timeout_ms};
    char why[128];
    snprintf(c.http_path, sizeof c.http_path, "%s", path);
    snprintf(c.dns_name, sizeof c.dns_name, "example.test");
    CHECK(config_unescape_bytes(expect, &c.expect, why, sizeof why));
    CHECK(config_unescape_bytes(send, &c.send, why, sizeof why));
    return c;
}

#define FAST 2000 /* ms: probes that should end long before it */
#define SLOW 300  /* ms: probes that should run into it */

static void guard_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w;
    (void)revents;
    fprintf(stderr, "test_probe: the loop still runs after the guard time\n");
    ev_break(loop, EVBREAK_ALL);
}

/* Runs the loop until every probe has ended (nothing left active), at most 4 s. */
static void run_loop(struct ev_loop *loop)
{
    ev_timer guard;
    ev_timer_init(&guard, guard_cb, 4., 0.);
    ev_timer_start(loop, &guard);
    ev_unref(loop);
    ev_run(loop, 0);
    ev_ref(loop);
    ev_timer_stop(loop, &guard);
}

static void test_probes(void)
{
    static const char ok200[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall good\n";
    static char big[PROBE_BUF * 2 + 64];
    int n = snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\n\r\n");
    memset(big + n, 'x', PROBE_BUF * 2);
    snprintf(big + n + PROBE_BUF * 2, sizeof big - (size_t)n - PROBE_BUF * 2, "TAIL");

    uint16_t silent_port;
    int silent = silent_listener(&silent_port);
    uint16_t silent_udp_port;
    int silent_udp = bound_socket(SOCK_DGRAM, &silent_udp_port);

    uint16_t http200 = serve_text(ok200, true);
    uint16_t http_big = serve_tcp(big, strlen(big), true, false);
    uint16_t echo = serve_tcp("HTTP/1.0 200 OK\r\n\r\n", 19, true, true);
    uint16_t udp = serve_udp("PONG from rs"), udp_echo = serve_udp(NULL);

    uint16_t tcp_closed = closed_port(SOCK_STREAM), udp_closed = closed_port(SOCK_DGRAM);
    struct probe_case cases[] = {
        {"tcp ok", PROBE_TCP, silent_port, cfg_of("", 0, "", "", FAST), true, "ok"},
        {"tcp refused", PROBE_TCP, tcp_closed, cfg_of("", 0, "", "", FAST), false, "connect refused"},
        {"http timeout", PROBE_HTTP, silent_port, cfg_of("/", 200, "", "", SLOW), false, "timeout"},
        {"http 200", PROBE_HTTP, http200, cfg_of("/", 200, "", "", FAST), true, "ok"},
        {"http 200 expect", PROBE_HTTP, http200, cfg_of("/", 200, "all good", "", FAST), true, "ok"},
        {"http 200 expect missing", PROBE_HTTP, http200, cfg_of("/", 200, "bad news", "", FAST), false,
         "no 'bad news' in body"},
        {"http expect in a header only", PROBE_HTTP, http200, cfg_of("/", 200, "Content-Type", "", FAST), false,
         "no 'Content-Type' in body"},
        {"http 500", PROBE_HTTP, serve_text("HTTP/1.1 500 Internal Server Error\r\n\r\noops", true),
         cfg_of("/", 200, "", "", FAST), false, "status 500"},
        {"http 404 expected", PROBE_HTTP, serve_text("HTTP/1.1 404 Not Found\r\n\r\n", true),
         cfg_of("/", 404, "", "", FAST), true, "ok"},
        {"http garbage", PROBE_HTTP, serve_text("SSH-2.0-OpenSSH_9.2\r\n", false), cfg_of("/", 200, "", "", FAST),
         false, "bad status line"},
        {"http closed", PROBE_HTTP, serve_text("", true), cfg_of("/", 200, "", "", FAST), false,
         "closed without answer"},
        {"http refused", PROBE_HTTP, tcp_closed, cfg_of("/", 200, "", "", FAST), false, "connect refused"},
        {"http request line", PROBE_HTTP, echo,
         cfg_of("/health?x=1", 200, "GET /health?x=1 HTTP/1.0\r\nHost: 127.0.0.1:", "", FAST), true, "ok"},
        {"http request headers", PROBE_HTTP, echo,
         cfg_of("/", 200, "\r\nUser-Agent: rawlb-health\r\nConnection: close\r\n\r\n", "", FAST), true, "ok"},
        {"http long, judged on its start", PROBE_HTTP, http_big, cfg_of("/", 200, "xxxxxxxx", "", FAST), true, "ok"},
        {"http long, tail unread", PROBE_HTTP, http_big, cfg_of("/", 200, "TAIL", "", FAST), false,
         "no 'TAIL' in body"},
        {"udp any reply", PROBE_UDP, udp, cfg_of("", 0, "", "PING", FAST), true, "ok"},
        {"udp expect", PROBE_UDP, udp, cfg_of("", 0, "PONG", "PING", FAST), true, "ok"},
        {"udp expect missing", PROBE_UDP, udp, cfg_of("", 0, "NOPE", "PING", FAST), false, "no 'NOPE' in reply"},
        {"udp port unreachable", PROBE_UDP, udp_closed, cfg_of("", 0, "", "PING", FAST), false, "port unreachable"},
        {"udp silence", PROBE_UDP, silent_udp_port, cfg_of("", 0, "", "PING", SLOW), false, "timeout"},
        /* bytes with NULs go out whole and are looked for whole */
        {"udp bytes", PROBE_UDP, udp_echo, cfg_of("", 0, "g\\x00\\xff", "\\x00ping\\x00\\xff", FAST), true, "ok"},
        {"udp bytes missing", PROBE_UDP, udp_echo, cfg_of("", 0, "\\x00\\x00", "\\x00ping\\x00", FAST), false,
         "no '\\x00\\x00' in reply"},
        {"http expect escaped", PROBE_HTTP, http200, cfg_of("/", 200, "all\\x20good\\x0a", "", FAST), true, "ok"},
        {"dns noerror", PROBE_DNS, serve_dns(DNS_NOERROR), cfg_of("", 0, "", "", FAST), true, "ok"},
        {"dns nxdomain", PROBE_DNS, serve_dns(DNS_NXDOMAIN), cfg_of("", 0, "", "", FAST), true, "ok, NXDOMAIN"},
        {"dns refused", PROBE_DNS, serve_dns(DNS_REFUSED), cfg_of("", 0, "", "", FAST), true, "ok, REFUSED"},
        {"dns another id", PROBE_DNS, serve_dns(DNS_OTHER_ID), cfg_of("", 0, "", "", FAST), false,
         "DNS answer to another query"},
        {"dns query back", PROBE_DNS, serve_dns(DNS_NOT_ANSWER), cfg_of("", 0, "", "", FAST), false,
         "not a DNS answer (30 bytes)"},
        {"dns port unreachable", PROBE_DNS, udp_closed, cfg_of("", 0, "", "", FAST), false, "port unreachable"},
        {"dns silence", PROBE_DNS, silent_udp_port, cfg_of("", 0, "", "", SLOW), false, "timeout"},
        {"agent 75%", PROBE_AGENT, serve_text("75%\n", false), cfg_of("", 0, "", "", FAST), true, "ok", AGENT_WEIGHT,
         true, 75},
        {"agent drain", PROBE_AGENT, serve_text("drain\n", false), cfg_of("", 0, "", "", FAST), true, "ok",
         AGENT_DRAIN},
        {"agent down", PROBE_AGENT, serve_text("down\n", false), cfg_of("", 0, "", "", FAST), true, "ok", AGENT_DOWN},
        {"agent up 50%", PROBE_AGENT, serve_text("up 50%\n", false), cfg_of("", 0, "", "", FAST), true, "ok",
         AGENT_UP, true, 50},
        {"agent line without newline", PROBE_AGENT, serve_text("ready", false), cfg_of("", 0, "", "", FAST), true,
         "ok", AGENT_UP},
        {"agent nonsense", PROBE_AGENT, serve_text("hello\x01\r\n", false), cfg_of("", 0, "", "", FAST), false,
         "no usable agent answer 'hello?'"},
        {"agent silent", PROBE_AGENT, silent_port, cfg_of("", 0, "", "", SLOW), false, "timeout"},
        {"agent refused", PROBE_AGENT, tcp_closed, cfg_of("", 0, "", "", FAST), false, "connect refused"},
    };
    struct probe_case *c;

    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    ev_tstamp t0 = ev_time();
    for (c = cases; c < cases + sizeof cases / sizeof cases[0]; c++)
        probe_start(&c->probe, loop, c->kind, &c->cfg, loopback, (struct endpoint){loopback, c->port}, record_cb,
                    &c->out);
    run_loop(loop);
    ev_tstamp took = ev_time() - t0;

    for (c = cases; c < cases + sizeof cases / sizeof cases[0]; c++) {
        const struct outcome *o = &c->out;
        bool good = o->calls == 1 && o->ok == c->want_ok && strstr(o->result, c->want) && !c->probe.running &&
                    c->probe.fd == -1 && o->has_agent == (c->kind == PROBE_AGENT && c->want_ok);
        if (good && o->has_agent)
            good = o->agent.verdict == c->verdict && o->agent.has_percent == c->has_percent &&
                   (!c->has_percent || o->agent.percent == c->percent);
        if (!good)
            fprintf(stderr, "probe '%s': %u call(s), %s '%s' (want %s '%s')\n", c->name, o->calls,
                    o->ok ? "ok" : "failed", o->result, c->want_ok ? "ok" : "failed", c->want);
        CHECK(good);
    }
    for (c = cases; c < cases + sizeof cases / sizeof cases[0]; c++)
        if (strcmp(c->name, "dns noerror") == 0)
            CHECK(strcmp(c->out.result, "ok") == 0); /* NOERROR is plain ok */
    /* the timeouts are the slowest: about SLOW ms, well under FAST */
    CHECK(took >= SLOW / 1000. * 0.9);
    CHECK(took < FAST / 1000.);

    ev_loop_destroy(loop);
    close(silent);
    close(silent_udp);
}

/* An ICMP port unreachable fails a datagram probe at once, long before its timeout. */
static void test_unreachable_at_once(void)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    static struct probe udp, dns;
    struct check_config cfg = cfg_of("", 0, "", "PING", 3000);
    struct outcome ou = {0}, od = {0};
    struct endpoint dst = {loopback, closed_port(SOCK_DGRAM)};
    ev_tstamp t0 = ev_time();
    probe_start(&udp, loop, PROBE_UDP, &cfg, loopback, dst, record_cb, &ou);
    probe_start(&dns, loop, PROBE_DNS, &cfg, loopback, dst, record_cb, &od);
    run_loop(loop);
    ev_tstamp took = ev_time() - t0;
    CHECK_EQ_U(ou.calls, 1);
    CHECK_EQ_U(od.calls, 1);
    CHECK(!ou.ok && strcmp(ou.result, "port unreachable") == 0);
    CHECK(!od.ok && strcmp(od.result, "port unreachable") == 0);
    if (took >= 0.5)
        fprintf(stderr, "test_probe: port unreachable took %.3f s (timeout 3 s)\n", took);
    CHECK(took < 0.5);
    ev_loop_destroy(loop);
}

/* ---- the life cycle: start failures, cancel, restart from the callback ---- */

struct restarter {
    struct probe probe;
    struct check_config cfg;
    struct ev_loop *loop;
    struct endpoint dst;
    unsigned calls, oks;
};

static void restart_cb(void *arg, bool ok, const char *result, const struct agent_reply *agent)
{
    struct restarter *r = arg;
    (void)result;
    (void)agent;
    CHECK(!r->probe.running);
    r->calls++;
    r->oks += ok;
    if (r->calls < 3)
        probe_start(&r->probe, r->loop, PROBE_TCP, &r->cfg, loopback, r->dst, restart_cb, r);
}

static void test_life_cycle(void)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    uint16_t port;
    int l = silent_listener(&port);
    struct check_config cfg = cfg_of("/", 200, "", "", FAST);
    struct endpoint dst = {loopback, port};

    /* src not an address of this host: ends through done, within probe_start */
    static struct probe p;
    struct outcome o = {0};
    probe_start(&p, loop, PROBE_TCP, &cfg, inet_addr("192.0.2.1"), dst, record_cb, &o);
    CHECK_EQ_U(o.calls, 1);
    CHECK(!o.ok && strstr(o.result, "bind 192.0.2.1: "));
    CHECK(!p.running && p.fd == -1);
    run_loop(loop);
    CHECK_EQ_U(o.calls, 1);

    /* cancelled: done never runs, nothing stays active in the loop */
    memset(&o, 0, sizeof o);
    probe_start(&p, loop, PROBE_HTTP, &cfg, loopback, dst, record_cb, &o);
    CHECK(p.running);
    probe_cancel(&p);
    CHECK(!p.running && p.fd == -1);
    probe_cancel(&p); /* twice is harmless */
    ev_tstamp t0 = ev_time();
    run_loop(loop);
    CHECK(ev_time() - t0 < 0.5);
    CHECK_EQ_U(o.calls, 0);

    /* started again while running: the first one is cancelled, the second one ends once */
    memset(&o, 0, sizeof o);
    struct outcome o2 = {0};
    probe_start(&p, loop, PROBE_HTTP, &cfg, loopback, dst, record_cb, &o);
    probe_start(&p, loop, PROBE_TCP, &cfg, loopback, dst, record_cb, &o2);
    run_loop(loop);
    CHECK_EQ_U(o.calls, 0);
    CHECK_EQ_U(o2.calls, 1);
    CHECK(o2.ok);

    /* done starts the next probe on the same struct */
    static struct restarter r;
    r.cfg = cfg;
    r.loop = loop;
    r.dst = dst;
    probe_start(&r.probe, loop, PROBE_TCP, &r.cfg, loopback, dst, restart_cb, &r);
    run_loop(loop);
    CHECK_EQ_U(r.calls, 3);
    CHECK_EQ_U(r.oks, 3);
    CHECK(!r.probe.running);

    /* a zeroed probe is idle */
    static struct probe idle;
    probe_cancel(&idle);

    close(l);
    ev_loop_destroy(loop);
}

static void test_strerror(void)
{
    char why[PROBE_WHYLEN], q[8];
    probe_strerror(ECONNREFUSED, why, sizeof why);
    CHECK(strcmp(why, "connect refused") == 0);
    probe_strerror(EHOSTUNREACH, why, sizeof why);
    CHECK(strcmp(why, "host unreachable") == 0);
    probe_strerror(ETIMEDOUT, why, sizeof why);
    CHECK(strcmp(why, "timeout") == 0);
    probe_strerror(EADDRNOTAVAIL, why, sizeof why);
    CHECK(why[0] == 'c'); /* "cannot assign requested address" */
    CHECK(strcmp(probe_quote("ab\tc\x7f" "defghij", 12, 7, q), "ab?c?de") == 0);
    CHECK(strcmp(probe_quote("ab", 2, 7, q), "ab") == 0);
}

int main(void)
{
    loopback = htonl(INADDR_LOOPBACK);
    test_agent_parse();
    test_strerror();
    test_dns_messages();
    test_probes();
    test_unreachable_at_once();
    test_life_cycle();
    stop_children();
    CHECK_DONE();
}
