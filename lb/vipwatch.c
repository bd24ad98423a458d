/* vipwatch: see vipwatch.h. */
#include "vipwatch.h"

#include <string.h>

#include "addr.h"
#include "log.h"

static void watch_line(void *arg, int watcher, const char *line)
{
    struct vipwatch *w = arg;
    if (!vipstate_report(&w->state, watcher, line))
        log_warn("announcer (control slot %d): not a report, ignored: '%.*s'", watcher, ANNPROTO_LINE_MAX, line);
}

static void watch_gone(void *arg, int watcher)
{
    struct vipwatch *w = arg;
    vipstate_forget(&w->state, watcher);
    log_info("announcer (control slot %d) disconnected; %u left", watcher, control_watchers(w->ctl));
}

void vipwatch_init(struct vipwatch *w, struct control *ctl)
{
    memset(w, 0, sizeof *w);
    w->ctl = ctl;
    control_set_watch(ctl, watch_line, watch_gone, w);
}

/* Each VIP whose eligibility is new or changed from before, in the log. */
static void log_changes(const struct vipstate *before, const struct vipstate *now)
{
    char a[ADDR_STRLEN];
    for (unsigned i = 0; i < now->n; i++) {
        const struct vipstate_vip *v = &now->vips[i];
        bool same = false;
        for (unsigned j = 0; j < before->n && !same; j++)
            same = before->vips[j].addr == v->addr && before->vips[j].eligible == v->eligible;
        if (!same)
            log_info("vip %s: %s for BGP announcement", addr_str(v->addr, a), v->eligible ? "eligible" : "not eligible");
    }
}

void vipwatch_check(struct vipwatch *w, const struct service_table *t, bool forwarding)
{
    static struct vipstate before; /* the loop is single-threaded */
    before = w->state;
    if (!vipstate_update(&w->state, t, forwarding))
        return;
    log_changes(&before, &w->state);
    size_t n = vipstate_snapshot(&w->state, w->snapshot, sizeof w->snapshot);
    control_watch_send(w->ctl, w->snapshot, n);
}

size_t vipwatch_answer(struct vipwatch *w, const struct service_table *t, bool forwarding, char *out, size_t len,
                       struct control_stream *more)
{
    vipwatch_check(w, t, forwarding); /* the others hear of a change before this one starts */
    log_info("an announcer asks to watch the VIPs");
    more->watch = true;
    return vipstate_snapshot(&w->state, out, len);
}

void vipwatch_render_status(const struct vipwatch *w, bool json, struct textout *o)
{
    vipstate_render_status(&w->state, control_watchers(w->ctl), json, o);
}
