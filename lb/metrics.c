/* metrics: see metrics.h. The rendering (pure, unit-tested) comes first, then the HTTP side. */
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "log.h"
#include "textout.h"

/* ---- rendering ---- */

size_t metrics_escape_label(const char *s, char *out, size_t outlen)
{
    size_t n = 0;
    for (; *s; s++) {
        const char *rep = NULL;
        char one[2] = { *s, '\0' };
        switch (*s) {
        case '\\': rep = "\\\\"; break;
        case '"': rep = "\\\""; break;
        case '\n': rep = "\\n"; break;
        default: rep = one; break;
        }
        for (; *rep; rep++, n++)
            if (outlen && n < outlen - 1)
                out[n] = *rep;
    }
    if (outlen)
        out[n < outlen ? n : outlen - 1] = '\0';
    return n;
}

static void family(struct textout *o, const char *name, const char *type, const char *help)
{
    textout_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *proto_label(uint8_t proto)
{
    return proto == IPPROTO_TCP ? "tcp" : "udp";
}

/* The real servers a service exports: its own, and its sorry server (whether in use or not, so
 * its counters are continuous). */
static unsigned rs_count(const struct service *svc)
{
    unsigned n = svc->n_rs < RAWLB_MAX_RS_PER_SERVICE ? svc->n_rs : RAWLB_MAX_RS_PER_SERVICE;
    return n + (svc->has_sorry ? 1 : 0);
}

/* Healthy: its health check says so (up, or up with weight 0: quiesced; the sorry server
 * counts as up), or, where nothing checks it, the schedule has it. */
static bool rs_up(const struct metrics_view *v, unsigned si, unsigned ri)
{
    const struct service *svc = &v->services->svc[si];
    struct ctl_rs_health h;
    if (v->health && v->health(v->health_arg, si, ri, &h) && h.state)
        return strcmp(h.state, "up") == 0 || strcmp(h.state, "quiesced") == 0 || strcmp(h.state, "sorry") == 0;
    if (svc->has_sorry && ri == service_sorry_index(svc))
        return true;
    return svc->rs[ri].available;
}

enum rs_field {
    F_CONNS,
    F_IN_PKTS,
    F_OUT_PKTS,
    F_IN_BYTES,
    F_OUT_BYTES,
    F_ACTIVE,
    F_INACTIVE,
    F_WEIGHT,
    F_UP,
    F_COUNT
};

static const struct field_desc {
    const char *suffix, *type, *what;
} fields[F_COUNT] = {
    [F_CONNS] = { "connections_total", "counter", "Connections scheduled" },
    [F_IN_PKTS] = { "in_packets_total", "counter", "Packets forwarded from clients" },
    [F_OUT_PKTS] = { "out_packets_total", "counter", "Packets forwarded back to clients" },
    [F_IN_BYTES] = { "in_bytes_total", "counter", "IP bytes forwarded from clients" },
    [F_OUT_BYTES] = { "out_bytes_total", "counter", "IP bytes forwarded back to clients" },
    [F_ACTIVE] = { "active_connections", "gauge", "Connections in ESTABLISHED (ActiveConn)" },
    [F_INACTIVE] = { "inactive_connections", "gauge", "Connections in any other state, UDP included (InActConn)" },
    [F_WEIGHT] = { "weight", "gauge", "Weight in effect (0 = quiesced)" },
    [F_UP] = { "up", "gauge", "1 while healthy (health check up, or in the schedule when not checked)" },
};

static uint64_t rs_value(const struct metrics_view *v, unsigned si, unsigned ri, enum rs_field f)
{
    const struct real_server *rs = &v->services->svc[si].rs[ri];
    switch (f) {
    case F_CONNS: return rs->stats.conns;
    case F_IN_PKTS: return rs->stats.in_pkts;
    case F_OUT_PKTS: return rs->stats.out_pkts;
    case F_IN_BYTES: return rs->stats.in_bytes;
    case F_OUT_BYTES: return rs->stats.out_bytes;
    case F_ACTIVE: return rs->active;
    case F_INACTIVE: return rs->inactive;
    case F_WEIGHT: return rs->weight > 0 ? (uint64_t)rs->weight : 0;
    case F_UP: return rs_up(v, si, ri) ? 1 : 0;
    case F_COUNT: break;
    }
    return 0;
}

static unsigned n_services(const struct metrics_view *v)
{
    return v->services ? (v->services->n < RAWLB_MAX_SERVICES ? v->services->n : RAWLB_MAX_SERVICES) : 0;
}

static void render_rs_families(struct textout *o, const struct metrics_view *v)
{
    char name[64], help[160], vip[ENDPOINT_STRLEN], rs[ENDPOINT_STRLEN];
    for (unsigned f = 0; f < F_COUNT; f++) {
        snprintf(name, sizeof name, "rawlb_rs_%s", fields[f].suffix);
        snprintf(help, sizeof help, "%s, per real server.", fields[f].what);
        family(o, name, fields[f].type, help);
        for (unsigned si = 0; si < n_services(v); si++) {
            const struct service *svc = &v->services->svc[si];
            endpoint_str(svc->vip.addr, svc->vip.port, vip);
            for (unsigned ri = 0; ri < rs_count(svc); ri++) {
                endpoint_str(svc->rs[ri].ep.addr, svc->rs[ri].ep.port, rs);
                textout_printf(o, "%s{proto=\"%s\",vip=\"%s\",rs=\"%s\"} %llu\n", name, proto_label(svc->proto), vip,
                               rs, (unsigned long long)rs_value(v, si, ri, f));
            }
        }
    }
}

/* Per service: the sums over its real servers (the sorry server included), the count of
 * healthy real servers (the sorry server not included) and whether the sorry server is in use. */
static void render_service_families(struct textout *o, const struct metrics_view *v)
{
    char name[64], help[160], vip[ENDPOINT_STRLEN];
    for (unsigned f = 0; f <= F_INACTIVE; f++) {
        snprintf(name, sizeof name, "rawlb_service_%s", fields[f].suffix);
        snprintf(help, sizeof help, "%s, per virtual service (sum over its real servers).", fields[f].what);
        family(o, name, fields[f].type, help);
        for (unsigned si = 0; si < n_services(v); si++) {
            const struct service *svc = &v->services->svc[si];
            uint64_t sum = 0;
            for (unsigned ri = 0; ri < rs_count(svc); ri++)
                sum += rs_value(v, si, ri, f);
            textout_printf(o, "%s{proto=\"%s\",vip=\"%s\"} %llu\n", name, proto_label(svc->proto),
                           endpoint_str(svc->vip.addr, svc->vip.port, vip), (unsigned long long)sum);
        }
    }
    family(o, "rawlb_service_servers_up", "gauge", "Real servers that are healthy (rawlb_rs_up), per virtual service.");
    for (unsigned si = 0; si < n_services(v); si++) {
        const struct service *svc = &v->services->svc[si];
        unsigned up = 0;
        for (unsigned ri = 0; ri < svc->n_rs && ri < RAWLB_MAX_RS_PER_SERVICE; ri++)
            up += rs_up(v, si, ri) ? 1u : 0u;
        textout_printf(o, "rawlb_service_servers_up{proto=\"%s\",vip=\"%s\"} %u\n", proto_label(svc->proto),
                       endpoint_str(svc->vip.addr, svc->vip.port, vip), up);
    }
    family(o, "rawlb_service_sorry_active", "gauge",
           "1 while the sorry server takes the service's new connections (every real server down).");
    for (unsigned si = 0; si < n_services(v); si++) {
        const struct service *svc = &v->services->svc[si];
        textout_printf(o, "rawlb_service_sorry_active{proto=\"%s\",vip=\"%s\"} %d\n", proto_label(svc->proto),
                       endpoint_str(svc->vip.addr, svc->vip.port, vip), svc->has_sorry && svc->sorry_active ? 1 : 0);
    }
}

static void render_interfaces(struct textout *o, const struct metrics_view *v)
{
    char ext[4 * 16 + 1], in[4 * 16 + 1];
    metrics_escape_label(v->ext_if ? v->ext_if : "ext", ext, sizeof ext);
    metrics_escape_label(v->int_if ? v->int_if : "int", in, sizeof in);
    const struct fastpath_stats *s = v->fp;
    family(o, "rawlb_frames_total", "counter", "Frames received (rx) and sent (tx) by the fast path, per interface.");
    textout_printf(o, "rawlb_frames_total{interface=\"%s\",direction=\"rx\"} %llu\n", ext,
                   (unsigned long long)s->rx_ext);
    textout_printf(o, "rawlb_frames_total{interface=\"%s\",direction=\"tx\"} %llu\n", ext,
                   (unsigned long long)s->tx_ext);
    textout_printf(o, "rawlb_frames_total{interface=\"%s\",direction=\"rx\"} %llu\n", in,
                   (unsigned long long)s->rx_int);
    textout_printf(o, "rawlb_frames_total{interface=\"%s\",direction=\"tx\"} %llu\n", in,
                   (unsigned long long)s->tx_int);
    family(o, "rawlb_receive_buffer_drops_total", "counter",
           "Frames the kernel dropped because rawlb's receive buffer was full, per interface.");
    textout_printf(o, "rawlb_receive_buffer_drops_total{interface=\"%s\"} %llu\n", ext,
                   (unsigned long long)v->rx_kernel_drops_ext);
    textout_printf(o, "rawlb_receive_buffer_drops_total{interface=\"%s\"} %llu\n", in,
                   (unsigned long long)v->rx_kernel_drops_int);
    family(o, "rawlb_send_failures_total", "counter", "Frames the kernel refused to send, per interface.");
    textout_printf(o, "rawlb_send_failures_total{interface=\"%s\"} %llu\n", ext, (unsigned long long)v->tx_failed_ext);
    textout_printf(o, "rawlb_send_failures_total{interface=\"%s\"} %llu\n", in, (unsigned long long)v->tx_failed_int);
}

static void render_fastpath(struct textout *o, const struct metrics_view *v)
{
    const struct fastpath_stats *s = v->fp;
    family(o, "rawlb_drops_total", "counter", "Frames not forwarded, by reason (lb/fastpath.h).");
    for (unsigned i = 0; i < FP_DROP_COUNT; i++)
        textout_printf(o, "rawlb_drops_total{reason=\"%s\"} %llu\n", fastpath_drop_name((enum fp_drop)i),
                       (unsigned long long)s->drops[i]);
    family(o, "rawlb_replies_total", "counter",
           "Frames the director answered itself, by kind (arp, echo, rst, frag_needed).");
    textout_printf(o, "rawlb_replies_total{kind=\"arp\"} %llu\n", (unsigned long long)s->arp_replies);
    textout_printf(o, "rawlb_replies_total{kind=\"echo\"} %llu\n", (unsigned long long)s->echo_replies);
    textout_printf(o, "rawlb_replies_total{kind=\"rst\"} %llu\n", (unsigned long long)s->resets_sent);
    textout_printf(o, "rawlb_replies_total{kind=\"frag_needed\"} %llu\n", (unsigned long long)s->icmp_too_big_sent);
    family(o, "rawlb_icmp_translated_total", "counter", "ICMP errors about balanced flows translated and forwarded.");
    textout_printf(o, "rawlb_icmp_translated_total %llu\n", (unsigned long long)s->icmp_translated);
}

size_t metrics_render(const struct metrics_view *v, char *buf, size_t len)
{
    struct textout o;
    textout_init(&o, buf, len);
    render_rs_families(&o, v);
    render_service_families(&o, v);
    if (v->fp) {
        render_interfaces(&o, v);
        render_fastpath(&o, v);
    }
    family(&o, "rawlb_conn_table_entries", "gauge", "Entries in the connection table (persistence templates included).");
    textout_printf(&o, "rawlb_conn_table_entries %u\n", v->conn_entries);
    family(&o, "rawlb_conn_table_capacity", "gauge", "Size of the connection table (--max-conns).");
    textout_printf(&o, "rawlb_conn_table_capacity %u\n", v->conn_capacity);
    family(&o, "rawlb_conn_created_total", "counter", "Connection table entries created.");
    textout_printf(&o, "rawlb_conn_created_total %llu\n", (unsigned long long)v->conns_created);
    family(&o, "rawlb_conn_expired_total", "counter", "Connection table entries expired.");
    textout_printf(&o, "rawlb_conn_expired_total %llu\n", (unsigned long long)v->conns_expired);
    family(&o, "rawlb_ha_role", "gauge",
           "The director's high-availability role (no HA yet: every rawlb is master).");
    char role[64];
    metrics_escape_label(v->ha_role ? v->ha_role : "master", role, sizeof role);
    textout_printf(&o, "rawlb_ha_role{role=\"%s\"} 1\n", role);
    family(&o, "rawlb_build_info", "gauge", "rawlb's version.");
    textout_printf(&o, "rawlb_build_info{version=\"%s\"} 1\n", RAWLB_VERSION);
    textout_finish(&o);
    return o.need; /* the full length, even when cut */
}

/* ---- the HTTP side (libmicrohttpd's thread) ---- */

static const char not_found[] = "not found: rawlb serves " METRICS_PATH " only\n";
static const char not_allowed[] = "method not allowed: GET or HEAD\n";
static const char not_yet[] = "no snapshot yet: try again in a second\n";

static enum MHD_Result reply_static(struct MHD_Connection *conn, unsigned status, const char *text)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size,
                              void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    struct metrics *m = cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply_static(conn, MHD_HTTP_METHOD_NOT_ALLOWED, not_allowed);
    if (strcmp(url, METRICS_PATH) != 0)
        return reply_static(conn, MHD_HTTP_NOT_FOUND, not_found);
    struct MHD_Response *r = NULL;
    mtx_lock(&m->lock);
    if (m->cur) {
        r = MHD_create_response_from_buffer(m->cur_len, m->cur, MHD_RESPMEM_MUST_COPY);
        m->scrapes++;
    }
    mtx_unlock(&m->lock);
    if (!r)
        return reply_static(conn, MHD_HTTP_SERVICE_UNAVAILABLE, not_yet);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, METRICS_CONTENT_TYPE);
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_warn("--metrics: %s", msg);
}

bool metrics_start(struct metrics *m, const struct endpoint *ep, char *err, size_t errlen)
{
    char where[ENDPOINT_STRLEN];
    endpoint_str(ep->addr, ep->port, where);
    memset(m, 0, sizeof *m);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, errlen, "--metrics %s: socket: %s", where, strerror(errno));
        return false;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = ep->addr, .sin_port = ep->port };
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 64) != 0) {
        snprintf(err, errlen, "--metrics %s: cannot listen there: %s", where, strerror(errno));
        close(fd);
        return false;
    }
    if (mtx_init(&m->lock, mtx_plain) != thrd_success) {
        snprintf(err, errlen, "--metrics %s: cannot make a mutex", where);
        close(fd);
        return false;
    }
    /* The HTTP thread takes no signal: SIGTERM and SIGINT are the event loop's. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    m->mhd = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, handle, m,
                              MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
                              MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                              MHD_OPTION_END);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!m->mhd) {
        snprintf(err, errlen, "--metrics %s: the HTTP server (libmicrohttpd) did not start", where);
        if (fcntl(fd, F_GETFD) >= 0)
            close(fd);
        mtx_destroy(&m->lock);
        return false;
    }
    m->fd = fd; /* closed by MHD_stop_daemon */
    return true;
}

void metrics_publish(struct metrics *m, const struct metrics_view *v)
{
    if (!m->mhd)
        return;
    size_t need = metrics_render(v, m->spare, m->spare_cap);
    if (need >= m->spare_cap) {
        size_t cap = need + need / 4 + 4096;
        char *b = realloc(m->spare, cap);
        if (!b) {
            log_warn("--metrics: no memory for a %zu-byte snapshot; serving the previous one", cap);
            return;
        }
        m->spare = b;
        m->spare_cap = cap;
        need = metrics_render(v, m->spare, m->spare_cap);
        if (need >= m->spare_cap)
            return;
    }
    mtx_lock(&m->lock);
    char *old = m->cur;
    size_t old_cap = m->cur_cap;
    m->cur = m->spare;
    m->cur_len = need;
    m->cur_cap = m->spare_cap;
    m->spare = old;
    m->spare_cap = old ? old_cap : 0;
    mtx_unlock(&m->lock);
}

void metrics_stop(struct metrics *m)
{
    if (!m->mhd)
        return;
    MHD_stop_daemon(m->mhd); /* joins the thread and closes the listening socket */
    m->mhd = NULL;
    m->fd = -1;
    mtx_destroy(&m->lock);
    free(m->cur);
    free(m->spare);
    m->cur = m->spare = NULL;
    m->cur_cap = m->spare_cap = m->cur_len = 0;
}
