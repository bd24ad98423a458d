/* probe: one health probe of one real server, in flight in the daemon's libev loop with
 * ordinary non-blocking kernel sockets bound to the director's own internal address: a TCP
 * connect, an HTTP GET, a UDP request/reply, a DNS query, or a query of the server's load agent
 * (HAProxy's agent-check protocol: one line such as "75%", "drain", "down", "up", "ready").
 * A probe never blocks the loop and ends exactly once, through its callback, within its timeout.
 * One file per kind behind one ops table (probe_tcp.c, probe_http.c, probe_udp.c, probe_dns.c,
 * probe_agent.c); probe.c owns the socket, the watchers and the ending, and lists the kinds. */
#ifndef RAWLB_HEALTH_PROBE_H
#define RAWLB_HEALTH_PROBE_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "check.h"
#include "config.h"

#define PROBE_BUF 4096 /* what a probe reads at most: status line and enough body for --expect */
#define PROBE_WHYLEN 256 /* the reason buffer handed to the ops hooks */

enum agent_verdict {
    AGENT_NONE,   /* nothing usable in the reply */
    AGENT_WEIGHT, /* "N%": weight is N percent of the configured one */
    AGENT_DRAIN,  /* weight 0: keeps its flows, gets no new ones */
    AGENT_DOWN,   /* out of the schedule until the agent says up or ready */
    AGENT_UP,     /* "up" or "ready": back in, at its full weight unless a percentage came too */
};

struct agent_reply {
    enum agent_verdict verdict; /* the state word, or AGENT_WEIGHT/AGENT_NONE when there is none */
    bool has_percent;
    unsigned percent;           /* 0..100 (larger values are capped at 100) */
};

/* Parses one agent line ("75%", "drain", "down", "up 50%", "ready\r\n"...): words separated by
 * spaces, tabs or commas, case-insensitive; unknown words are ignored. When several state words
 * come, the most cautious wins (down > drain > up). Returns false (verdict AGENT_NONE) when
 * nothing usable is there. Pure, for tests. */
bool agent_parse(const char *line, struct agent_reply *r);

/* DNS (probe_dns.c), pure, for tests. The query for name ("." is the root) of type A, class IN,
 * with the given id and recursion not desired (a resolver answers from what it has, at once).
 * Returns its length, 0 when it does not fit len or name is not a valid name. */
size_t dns_build_query(const char *name, uint16_t id, uint8_t *out, size_t len);
/* A datagram that answers the query with that id: 1 with the response code in *rcode, -1 with
 * why (not a DNS answer, another id). Whatever the response code, the server answered. */
int dns_parse_answer(const uint8_t *b, size_t n, uint16_t id, unsigned *rcode, char *why, size_t whylen);

/* ok, result: "ok" or why not ("connect refused", "timeout", "status 500", "no 'OK' in reply").
 * agent: for agent probes that succeeded, the parsed reply; NULL otherwise. Both pointers are
 * valid only during the call. The probe is idle again when done runs: done may start the next
 * probe on the same struct. */
typedef void (*probe_done_cb)(void *arg, bool ok, const char *result, const struct agent_reply *agent);

enum probe_kind { PROBE_TCP, PROBE_HTTP, PROBE_UDP, PROBE_DNS, PROBE_AGENT, PROBE_KINDS };

/* A zeroed struct probe is idle (probe_cancel on it does nothing). */
struct probe {
    /* set by probe_start */
    struct ev_loop *loop;
    enum probe_kind kind;
    const struct check_config *cfg; /* must outlive the probe */
    struct endpoint dst;
    probe_done_cb done;
    void *arg;
    /* in flight */
    bool running;
    bool connecting; /* stream: waiting for the connect to complete */
    int fd;
    ev_io io;
    ev_timer timeout;
    size_t got;                 /* bytes in buf */
    char buf[PROBE_BUF + 1];    /* room for a terminating NUL */
    struct agent_reply agent;   /* agent probes: what agent_parse made of the line */
    uint16_t dns_id;            /* dns probes: the id the answer must carry */
};

/* One kind of probe. probe.c creates, binds and connects the socket, runs the timeout and ends
 * the probe; a kind only talks its protocol. Hooks are called from the loop (io watcher), or for
 * datagram kinds from probe_start itself; they never end the probe themselves. */
struct probe_ops {
    const char *name;
    int socktype; /* SOCK_STREAM or SOCK_DGRAM */
    /* Called once the socket is connected (stream: the connect completed; dgram: at once).
     * Returns false with a reason in why when the probe fails there. May be NULL. */
    bool (*connected)(struct probe *p, char *why, size_t len);
    /* Called when the socket is readable (or has an error pending); returns 1 done ok (why may
     * then say more than "ok": "ok, NXDOMAIN"), 0 needs more, -1 failed (reason in why). May be
     * NULL: then the probe succeeds as soon as it is connected (TCP check). */
    int (*readable)(struct probe *p, char *why, size_t len);
};

extern const struct probe_ops probe_tcp_ops, probe_http_ops, probe_udp_ops, probe_dns_ops, probe_agent_ops;

/* Starts probing dst (address and port as the kind wants: the caller passes --check-port or
 * --agent-port already) from src (port 0), both network order, for at most cfg->probe_timeout_ms.
 * A probe still running on p is cancelled first. Failure to even start (no socket, src not
 * local, a connect error the kernel reports at once) is reported through done before
 * probe_start returns, like any other failure. */
void probe_start(struct probe *p, struct ev_loop *loop, enum probe_kind kind, const struct check_config *cfg,
                 uint32_t src, struct endpoint dst, probe_done_cb done, void *arg);
/* Stops a running probe without calling done (the daemon is stopping). Idle probes: no-op. */
void probe_cancel(struct probe *p);

/* For the kinds: a short lower-case reason for a socket error ("connect refused", "timeout",
 * "host unreachable"...), into why. */
void probe_strerror(int err, char *why, size_t len);
/* For the kinds that read an answer over a stream: takes what has arrived into p->buf.
 * Returns 1 when the answer is there to judge (the peer closed, the buffer is full, a reset came
 * after some data, or with line set a newline arrived; p->buf is then NUL-terminated), 0 to wait
 * for more, -1 when there is no answer (why says so). */
int probe_read_answer(struct probe *p, bool line, char *why, size_t len);
/* For the datagram kinds, on their connected socket: sends one datagram, or false with why; the
 * ICMP port unreachable of an earlier datagram comes back here or in probe_recv_datagram as
 * ECONNREFUSED: "port unreachable", the probe fails at once. */
bool probe_send_datagram(struct probe *p, const void *data, size_t n, char *why, size_t len);
/* Takes the datagram that arrived into p->buf (p->got its length, NUL-terminated). Returns 1 when
 * there is one, 0 to wait for it, -1 with why on an error. */
int probe_recv_datagram(struct probe *p, char *why, size_t len);
/* For the kinds: s cut to at most max printable characters (others become '?'), for quoting
 * what a server said in a reason. Returns out, which holds at least max + 1 bytes. */
char *probe_quote(const char *s, size_t n, size_t max, char *out);

#endif
