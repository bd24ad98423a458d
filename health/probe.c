/* probe: see probe.h. The common machinery: socket, bind, non-blocking connect, timeout and the
 * one way a probe ends (probe_end). The kinds live in probe_tcp.c, probe_http.c, probe_udp.c and
 * probe_agent.c and are listed here, once. */
#include "probe.h"

#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const struct probe_ops *const probe_kinds[PROBE_KINDS] = {
    [PROBE_TCP] = &probe_tcp_ops,
    [PROBE_HTTP] = &probe_http_ops,
    [PROBE_UDP] = &probe_udp_ops,
    [PROBE_DNS] = &probe_dns_ops,
    [PROBE_AGENT] = &probe_agent_ops,
};

void probe_strerror(int err, char *why, size_t len)
{
    switch (err) {
    case ECONNREFUSED: snprintf(why, len, "connect refused"); break;
    case ETIMEDOUT: snprintf(why, len, "timeout"); break;
    case EHOSTUNREACH: snprintf(why, len, "host unreachable"); break;
    case ENETUNREACH: snprintf(why, len, "network unreachable"); break;
    case ECONNRESET: snprintf(why, len, "connection reset"); break;
    case EPIPE: snprintf(why, len, "connection closed"); break;
    default: {
        /* strerror's words, in the lower case of the others */
        int n = snprintf(why, len, "%s", strerror(err));
        if (n > 0 && len > 0)
            why[0] = (char)tolower((unsigned char)why[0]);
    }
    }
}

char *probe_quote(const char *s, size_t n, size_t max, char *out)
{
    size_t i;
    for (i = 0; i < n && i < max && s[i]; i++)
        out[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
    out[i] = '\0';
    return out;
}

/* A connected datagram socket reports an ICMP port unreachable as ECONNREFUSED. */
static void dgram_strerror(int err, char *why, size_t len)
{
    if (err == ECONNREFUSED)
        snprintf(why, len, "port unreachable");
    else
        probe_strerror(err, why, len);
}

bool probe_send_datagram(struct probe *p, const void *data, size_t n, char *why, size_t len)
{
    if (send(p->fd, data, n, 0) < 0) {
        dgram_strerror(errno, why, len);
        return false;
    }
    return true;
}

int probe_recv_datagram(struct probe *p, char *why, size_t len)
{
    ssize_t n = recv(p->fd, p->buf, PROBE_BUF, 0);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return 0;
        dgram_strerror(errno, why, len);
        return -1;
    }
    p->got = (size_t)n;
    p->buf[p->got] = '\0';
    return 1;
}

/* The only way a probe ends: everything is released and the struct is idle before done runs,
 * so done may start the next probe on p. */
static void probe_end(struct probe *p, bool ok, const char *result)
{
    if (!p->running)
        return;
    struct agent_reply agent = p->agent;
    bool with_agent = ok && p->kind == PROBE_AGENT;
    probe_cancel(p);
    p->done(p->arg, ok, result, with_agent ? &agent : NULL);
}

static void probe_connected(struct probe *p)
{
    const struct probe_ops *ops = probe_kinds[p->kind];
    char why[PROBE_WHYLEN] = "";

    p->connecting = false;
    if (ops->connected && !ops->connected(p, why, sizeof why)) {
        probe_end(p, false, why);
        return;
    }
    if (!ops->readable) {
        probe_end(p, true, "ok");
        return;
    }
    ev_io_stop(p->loop, &p->io);
    ev_io_set(&p->io, p->fd, EV_READ);
    ev_io_start(p->loop, &p->io);
}

static void probe_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct probe *p = w->data;
    char why[PROBE_WHYLEN] = "";
    (void)loop;
    (void)revents;

    if (p->connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err == EINPROGRESS || err == EALREADY)
            return;
        if (err) {
            probe_strerror(err, why, sizeof why);
            probe_end(p, false, why);
            return;
        }
        probe_connected(p);
        return;
    }
    int r = probe_kinds[p->kind]->readable(p, why, sizeof why);
    if (r > 0)
        probe_end(p, true, why[0] ? why : "ok");
    else if (r < 0)
        probe_end(p, false, why);
}

static void probe_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct probe *p = w->data;
    (void)loop;
    (void)revents;
    probe_end(p, false, p->connecting ? "connect timeout" : "timeout");
}

/* Fails the probe from within probe_start: what (the call) and the errno's reason. */
static void probe_fail_start(struct probe *p, const char *what, int err)
{
    char why[PROBE_WHYLEN], reason[PROBE_WHYLEN / 2]; /* leaves room for what */
    probe_strerror(err, reason, sizeof reason);
    snprintf(why, sizeof why, "%s%s", what, reason);
    probe_end(p, false, why);
}

void probe_start(struct probe *p, struct ev_loop *loop, enum probe_kind kind, const struct check_config *cfg,
                 uint32_t src, struct endpoint dst, probe_done_cb done, void *arg)
{
    probe_cancel(p);
    const struct probe_ops *ops = probe_kinds[kind];
    p->loop = loop;
    p->kind = kind;
    p->cfg = cfg;
    p->dst = dst;
    p->done = done;
    p->arg = arg;
    p->got = 0;
    p->buf[0] = '\0';
    memset(&p->agent, 0, sizeof p->agent);
    p->connecting = false;
    p->running = true;

    ev_init(&p->io, probe_io_cb);
    p->io.data = p;
    ev_timer_init(&p->timeout, probe_timeout_cb, cfg->probe_timeout_ms / 1000.0, 0.);
    p->timeout.data = p;

    p->fd = socket(AF_INET, ops->socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->fd < 0) {
        probe_fail_start(p, "socket: ", errno);
        return;
    }
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = src, .sin_port = 0};
    if (bind(p->fd, (struct sockaddr *)&sin, sizeof sin) < 0) {
        char a[ADDR_STRLEN], what[64];
        snprintf(what, sizeof what, "bind %s: ", addr_str(src, a));
        probe_fail_start(p, what, errno);
        return;
    }
    sin.sin_addr.s_addr = dst.addr;
    sin.sin_port = dst.port;
    int r = connect(p->fd, (struct sockaddr *)&sin, sizeof sin);
    if (r < 0 && errno != EINPROGRESS) {
        probe_fail_start(p, "", errno);
        return;
    }
    ev_timer_start(loop, &p->timeout);
    if (r < 0) {
        p->connecting = true;
        ev_io_set(&p->io, p->fd, EV_WRITE);
        ev_io_start(loop, &p->io);
        return;
    }
    /* connected at once: always for datagrams, sometimes on loopback for streams */
    ev_io_set(&p->io, p->fd, EV_READ);
    probe_connected(p);
}

void probe_cancel(struct probe *p)
{
    if (!p->running)
        return;
    ev_io_stop(p->loop, &p->io);
    ev_timer_stop(p->loop, &p->timeout);
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    p->connecting = false;
    p->running = false;
}

int probe_read_answer(struct probe *p, bool line, char *why, size_t len)
{
    ssize_t n = recv(p->fd, p->buf + p->got, PROBE_BUF - p->got, 0);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return 0;
        if (p->got == 0) {
            probe_strerror(errno, why, len);
            return -1;
        }
        /* a reset after part of an answer: judge that part */
    } else if (n > 0) {
        p->got += (size_t)n;
        if (p->got < PROBE_BUF && !(line && memchr(p->buf, '\n', p->got)))
            return 0;
    } else if (p->got == 0) {
        snprintf(why, len, "closed without answer");
        return -1;
    }
    p->buf[p->got] = '\0';
    return 1;
}
