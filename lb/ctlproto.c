/* ctlproto: the answers the daemon sends over the control socket, rendered as text.
 * "list" follows ipvsadm -L -n (ipvsadm.c print_title / print_service_entry) line for line. */
#include "ctlproto.h"

#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "sched.h"

/* An output buffer that never overruns and remembers whether anything was cut. */
struct out {
    char *buf;
    size_t len; /* size of buf */
    size_t pos; /* bytes written, excluding the terminating NUL */
    bool truncated;
};

static void out_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(struct out *o, const char *fmt, ...)
{
    if (o->truncated) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->pos, o->len - o->pos, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->len - o->pos) {
        o->truncated = true;
        return;
    }
    o->pos += (size_t)n;
}

/* Cut output ends after the last whole line that fitted (or, when not even one fitted, with a
 * newline in place of the last byte), so a reader never sees half a line. */
static size_t out_finish(struct out *o)
{
    if (!o->truncated) return o->pos;
    char *nl = o->pos ? memrchr(o->buf, '\n', o->pos) : NULL;
    if (nl) {
        o->pos = (size_t)(nl - o->buf) + 1;
    } else {
        o->pos = strnlen(o->buf, o->len - 1); /* what vsnprintf managed to put there */
        if (o->pos == o->len - 1) o->pos--;
        o->buf[o->pos++] = '\n';
    }
    o->buf[o->pos] = '\0';
    return o->pos;
}

static void render_health(struct out *o, const struct service *svc, unsigned svc_idx, unsigned rs_idx,
                          ctl_health_fn health, void *arg)
{
    const struct real_server *rs = &svc->rs[rs_idx];
    struct ctl_rs_health h;
    if (!health(arg, svc_idx, rs_idx, &h)) {
        /* Not checked: what the schedule makes of it is all there is to say. */
        h = (struct ctl_rs_health){ .state = rs->weight > 0 ? "up" : "quiesced", .last = "not checked" };
        out_printf(o, " %-12s %-7s %s", h.state, "-", h.last);
        return;
    }
    char since[16];
    snprintf(since, sizeof since, "%us", h.since_s);
    out_printf(o, " %-12s %-7s %s", h.state, since, h.last);
}

static void render_service(struct out *o, const struct service *svc, unsigned svc_idx, ctl_health_fn health,
                           void *arg)
{
    char ep[ENDPOINT_STRLEN], mask[ADDR_STRLEN];

    out_printf(o, "%s  %s %s", svc->proto == IPPROTO_TCP ? "TCP" : "UDP",
               endpoint_str(svc->vip.addr, svc->vip.port, ep), svc->sched ? svc->sched->name : "-");
    if (svc->persist_timeout) {
        out_printf(o, " persistent %u", svc->persist_timeout);
        if (svc->persist_mask != 0xffffffffu)
            out_printf(o, " mask %s", addr_str(svc->persist_mask, mask));
    }
    if (svc->one_packet)
        out_printf(o, " ops");
    out_printf(o, "\n");
    unsigned n = svc->n_rs < RAWLB_MAX_RS_PER_SERVICE ? svc->n_rs : RAWLB_MAX_RS_PER_SERVICE;
    if (svc->has_sorry && svc->sorry_active)
        n++; /* the sorry server, at index n_rs, while it is in use */
    for (unsigned i = 0; i < n; i++) {
        const struct real_server *rs = &svc->rs[i];
        out_printf(o, "  -> %-28s %-7s %-6d %-10u %-10u", endpoint_str(rs->ep.addr, rs->ep.port, ep), "Masq",
                   rs->weight, rs->active, rs->inactive);
        if (health)
            render_health(o, svc, svc_idx, i, health, arg);
        out_printf(o, "\n");
    }
}

size_t ctlproto_render_list(const struct service_table *t, uint32_t max_conns, ctl_health_fn health, void *arg,
                            char *buf, size_t len)
{
    if (len < 2) { /* no room for even a newline */
        if (len) buf[0] = '\0';
        return 0;
    }
    struct out o = {.buf = buf, .len = len};
    buf[0] = '\0';
    out_printf(&o, "rawlb %s (size=%u)\n", RAWLB_VERSION, max_conns);
    out_printf(&o, "Prot LocalAddress:Port Scheduler Flags\n");
    out_printf(&o, "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn%s\n",
               health ? "  State        Since   Last" : "");
    for (unsigned i = 0; i < t->n && i < RAWLB_MAX_SERVICES; i++)
        render_service(&o, &t->svc[i], i, health, arg);
    return out_finish(&o);
}
