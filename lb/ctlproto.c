/* ctlproto: the requests rawlb-ctl sends and the answers the daemon renders (see ctlproto.h).
 * "list" follows ipvsadm -L -n (ipvsadm.c print_title / print_service_entry) line for line,
 * --stats and --rate as ipvsadm -L -n --exact; "conns" follows ipvsadm -L -n -c (print_conn).
 * JSON is written by hand: the only strings in it are addresses, names and health results,
 * escaped by json_str. */
#include "ctlproto.h"

#include <netinet/in.h>
#include <ctype.h>
#include <strings.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "scheduler.h"
#include "textout.h"

/* Control answers are line-oriented and never empty: a cut answer ends after the last whole line
 * that fitted (textout_finish) or, when not even one fitted, with what did and a newline in place
 * of its last byte, so rawlb-ctl always reads at least one line. Needs len >= 2. */
static size_t answer_finish(struct textout *o)
{
    if (o->truncated && !(o->pos && memrchr(o->buf, '\n', o->pos))) {
        o->pos = strnlen(o->buf, o->len - 1); /* the prefix textout_printf managed to put there */
        if (o->pos == o->len - 1) o->pos--;
        o->buf[o->pos++] = '\n';
        o->buf[o->pos] = '\0';
        return o->pos;
    }
    return textout_finish(o);
}

size_t ctlproto_render_error(const char *msg, char *buf, size_t len)
{
    if (len < 2) {
        if (len) buf[0] = '\0';
        return 0;
    }
    struct textout o;
    textout_init(&o, buf, len);
    textout_printf(&o, "error: %s\n", msg);
    return answer_finish(&o);
}

/* ---- requests ---- */

int ctlproto_split(char *line, char **words, int max)
{
    int n = 0;
    for (char *p = line;;) {
        p += strspn(p, " \t");
        if (*p == '\0')
            return n;
        if (n == max)
            return -1;
        words[n++] = p;
        p += strcspn(p, " \t");
        if (*p)
            *p++ = '\0';
    }
}

bool ctlproto_parse_service(const char *s, uint8_t *proto, struct endpoint *vip, char *err, size_t errlen)
{
    char why[RAWLB_ERRLEN];
    if (strncasecmp(s, "tcp:", 4) == 0)
        *proto = IPPROTO_TCP;
    else if (strncasecmp(s, "udp:", 4) == 0)
        *proto = IPPROTO_UDP;
    else {
        snprintf(err, errlen, "--service: '%s' is not tcp:VIP:PORT or udp:VIP:PORT", s);
        return false;
    }
    if (!addr_parse_endpoint(s + 4, vip, why, sizeof why)) {
        snprintf(err, errlen, "--service: %s", why);
        return false;
    }
    return true;
}

/* "--name" or "--name=value" against name; *val is the attached value or NULL. */
static bool opt_is(const char *word, const char *name, const char **val)
{
    size_t n = strlen(name);
    if (strncmp(word, name, n) != 0)
        return false;
    if (word[n] == '\0') {
        *val = NULL;
        return true;
    }
    if (word[n] == '=') {
        *val = word + n + 1;
        return true;
    }
    return false;
}

static bool parse_list(int argc, char **argv, struct ctl_request *req, char *err, size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *w = argv[i];
        if (strcmp(w, "--health") == 0)
            req->health = true;
        else if (strcmp(w, "--stats") == 0)
            req->list.stats = true;
        else if (strcmp(w, "--rate") == 0)
            req->list.rate = true;
        else if (strcmp(w, "--json") == 0)
            req->list.json = true;
        else {
            snprintf(err, errlen, "list: unknown option '%s' (known: --health --stats --rate --json)", w);
            return false;
        }
    }
    if (req->list.stats && req->list.rate) {
        snprintf(err, errlen, "list: --stats and --rate do not go together (as in ipvsadm); --json has both");
        return false;
    }
    return true;
}

static bool parse_conns(int argc, char **argv, struct ctl_request *req, char *err, size_t errlen)
{
    struct ctl_conn_filter *f = &req->filter;
    for (int i = 1; i < argc; i++) {
        const char *w = argv[i], *val;
        bool service = opt_is(w, "--service", &val), client = !service && opt_is(w, "--client", &val);
        if (strcmp(w, "--json") == 0) {
            req->json = true;
            continue;
        }
        if (!service && !client) {
            snprintf(err, errlen, "conns: unknown option '%s' (known: --json --service --client)", w);
            return false;
        }
        if (!val) {
            if (i + 1 == argc) {
                snprintf(err, errlen, "conns: option '%s' needs a value", w);
                return false;
            }
            val = argv[++i];
        }
        if (service) {
            if (f->by_service) {
                snprintf(err, errlen, "--service: given twice");
                return false;
            }
            if (!ctlproto_parse_service(val, &f->proto, &f->vip, err, errlen))
                return false;
            f->by_service = true;
        } else {
            char why[RAWLB_ERRLEN];
            if (f->by_client) {
                snprintf(err, errlen, "--client: given twice");
                return false;
            }
            if (!addr_parse_host(val, &f->client, why, sizeof why)) {
                snprintf(err, errlen, "--client: %s", why);
                return false;
            }
            f->by_client = true;
        }
    }
    return true;
}

bool ctlproto_parse_request(const char *line, struct ctl_request *req, char *err, size_t errlen)
{
    char copy[CTL_REQUEST_MAX];
    char *words[CTL_MAX_WORDS];

    memset(req, 0, sizeof *req);
    if (strlen(line) >= sizeof copy) {
        snprintf(err, errlen, "request too long (at most %d bytes)", CTL_REQUEST_MAX - 1);
        return false;
    }
    strcpy(copy, line);
    int n = ctlproto_split(copy, words, CTL_MAX_WORDS);
    if (n < 0) {
        snprintf(err, errlen, "too many words in the request (at most %d)", CTL_MAX_WORDS);
        return false;
    }
    if (n == 0) {
        snprintf(err, errlen, "empty request");
        return false;
    }
    const char *verb = words[0];
    if (strcmp(verb, CTL_REQ_LIST) == 0) {
        req->verb = CTL_LIST;
        return parse_list(n, words, req, err, errlen);
    }
    if (strcmp(verb, CTL_REQ_CONNS) == 0) {
        req->verb = CTL_CONNS;
        return parse_conns(n, words, req, err, errlen);
    }
    if (strcmp(verb, CTL_REQ_EDIT) == 0) {
        req->verb = CTL_EDIT;
        return edit_parse(n - 1, words + 1, &req->edit, err, errlen);
    }
    if (strcmp(verb, CTL_REQ_ZERO) == 0 || strcmp(verb, CTL_REQ_SAVE) == 0) {
        req->verb = verb[0] == 'z' ? CTL_ZERO : CTL_SAVE;
        if (n > 1) {
            snprintf(err, errlen, "%s: unexpected argument '%s'", verb, words[1]);
            return false;
        }
        return true;
    }
    if (strcmp(verb, CTL_REQ_STATUS) == 0) {
        req->verb = CTL_STATUS;
        req->json = n == 2 && strcmp(words[1], "--json") == 0;
        if (n > 2 || (n == 2 && !req->json)) {
            snprintf(err, errlen, "status: unexpected argument '%s' (status [--json])", words[n - 1]);
            return false;
        }
        return true;
    }
    if (strcmp(verb, CTL_REQ_HA) == 0) {
        bool takeover = n == 2 && strcmp(words[1], "takeover") == 0;
        if (n != 2 || (!takeover && strcmp(words[1], "release") != 0)) {
            snprintf(err, errlen, "ha: say 'ha takeover' or 'ha release'");
            return false;
        }
        req->verb = takeover ? CTL_HA_TAKEOVER : CTL_HA_RELEASE;
        return true;
    }
    snprintf(err, errlen, "unknown request '%.64s' (known: list conns zero save edit status ha)", verb);
    return false;
}

/* ---- JSON ---- */

static void json_str(struct textout *o, const char *s)
{
    textout_printf(o, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            textout_printf(o, "\\%c", *p);
        else if (*p == '\n')
            textout_printf(o, "\\n");
        else if (*p == '\t')
            textout_printf(o, "\\t");
        else if (*p == '\r')
            textout_printf(o, "\\r");
        else if (*p < 0x20 || *p == 0x7f)
            textout_printf(o, "\\u%04x", *p);
        else
            textout_printf(o, "%c", *p);
    }
    textout_printf(o, "\"");
}

static void json_addr(struct textout *o, const char *key, uint32_t addr)
{
    char a[ADDR_STRLEN];
    textout_printf(o, "\"%s\":\"%s\"", key, addr_str(addr, a));
}

static void json_stats(struct textout *o, const char *key, const struct rs_stats *s, bool rate)
{
    if (rate)
        textout_printf(o, "\"%s\":{\"cps\":%llu,\"in_pps\":%llu,\"out_pps\":%llu,\"in_bps\":%llu,\"out_bps\":%llu}",
                       key, (unsigned long long)s->conns, (unsigned long long)s->in_pkts,
                       (unsigned long long)s->out_pkts, (unsigned long long)s->in_bytes,
                       (unsigned long long)s->out_bytes);
    else
        textout_printf(o, "\"%s\":{\"conns\":%llu,\"in_pkts\":%llu,\"out_pkts\":%llu,\"in_bytes\":%llu,"
                          "\"out_bytes\":%llu}",
                       key, (unsigned long long)s->conns, (unsigned long long)s->in_pkts,
                       (unsigned long long)s->out_pkts, (unsigned long long)s->in_bytes,
                       (unsigned long long)s->out_bytes);
}

/* ---- list ---- */

static void stats_add(struct rs_stats *sum, const struct rs_stats *s)
{
    sum->conns += s->conns;
    sum->in_pkts += s->in_pkts;
    sum->out_pkts += s->out_pkts;
    sum->in_bytes += s->in_bytes;
    sum->out_bytes += s->out_bytes;
}

/* A service's counters (or rates): the sum over its real servers and its sorry server. */
static struct rs_stats service_sum(const struct service *svc, bool rate)
{
    struct rs_stats sum = {0};
    unsigned n = svc->n_rs < RAWLB_MAX_RS_PER_SERVICE ? svc->n_rs : RAWLB_MAX_RS_PER_SERVICE;
    for (unsigned i = 0; i < n + (svc->has_sorry ? 1u : 0u); i++)
        stats_add(&sum, rate ? &svc->rs[i].rate : &svc->rs[i].stats);
    return sum;
}

/* ipvsadm's print_largenum with --exact: at least 9 columns, one space before a longer number. */
static void out_num(struct textout *o, uint64_t v)
{
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
    textout_printf(o, "%*s", n <= 8 ? 9 : n + 1, digits);
}

static void out_stats(struct textout *o, const struct rs_stats *s)
{
    out_num(o, s->conns);
    out_num(o, s->in_pkts);
    out_num(o, s->out_pkts);
    out_num(o, s->in_bytes);
    out_num(o, s->out_bytes);
}

static void render_health(struct textout *o, const struct service *svc, unsigned svc_idx, unsigned rs_idx,
                          const struct ctl_list_opts *opts)
{
    const struct real_server *rs = &svc->rs[rs_idx];
    struct ctl_rs_health h;
    if (!opts->health(opts->health_arg, svc_idx, rs_idx, &h)) {
        /* Not checked: what the schedule makes of it is all there is to say. */
        h = (struct ctl_rs_health){ .state = rs->weight > 0 ? "up" : "quiesced", .last = "not checked" };
        textout_printf(o, " %-12s %-7s %s", h.state, "-", h.last);
        return;
    }
    char since[16];
    snprintf(since, sizeof since, "%us", h.since_s);
    textout_printf(o, " %-12s %-7s %s", h.state, since, h.last);
}

static void render_service(struct textout *o, const struct service *svc, unsigned svc_idx,
                           const struct ctl_list_opts *opts)
{
    char ep[ENDPOINT_STRLEN], mask[ADDR_STRLEN];
    const char *proto = svc->proto == IPPROTO_TCP ? "TCP" : "UDP";
    bool numbers = opts->stats || opts->rate;

    if (numbers) {
        char name[48];
        snprintf(name, sizeof name, "%s  %s", proto, endpoint_str(svc->vip.addr, svc->vip.port, ep));
        textout_printf(o, "%-33s", name);
        struct rs_stats sum = service_sum(svc, opts->rate);
        out_stats(o, &sum);
    } else {
        textout_printf(o, "%s  %s %s", proto, endpoint_str(svc->vip.addr, svc->vip.port, ep),
                       svc->sched ? svc->sched->name : "-");
        if (svc->persist_timeout) {
            textout_printf(o, " persistent %u", svc->persist_timeout);
            if (svc->persist_mask != 0xffffffffu)
                textout_printf(o, " mask %s", addr_str(svc->persist_mask, mask));
        }
        if (svc->one_packet)
            textout_printf(o, " ops");
    }
    textout_printf(o, "\n");
    unsigned n = svc->n_rs < RAWLB_MAX_RS_PER_SERVICE ? svc->n_rs : RAWLB_MAX_RS_PER_SERVICE;
    if (svc->has_sorry && svc->sorry_active)
        n++; /* the sorry server, at index n_rs, while it is in use */
    for (unsigned i = 0; i < n; i++) {
        const struct real_server *rs = &svc->rs[i];
        if (numbers) {
            textout_printf(o, "  -> %-28s", endpoint_str(rs->ep.addr, rs->ep.port, ep));
            out_stats(o, opts->rate ? &rs->rate : &rs->stats);
        } else {
            textout_printf(o, "  -> %-28s %-7s %-6d %-10u %-10u", endpoint_str(rs->ep.addr, rs->ep.port, ep), "Masq",
                           rs->weight, rs->active, rs->inactive);
        }
        if (opts->health)
            render_health(o, svc, svc_idx, i, opts);
        textout_printf(o, "\n");
    }
}

static void render_list_text(struct textout *o, const struct service_table *t, uint32_t max_conns,
                             const struct ctl_list_opts *opts)
{
    static const char health_cols[] = "  State        Since   Last";
    textout_printf(o, "rawlb %s (size=%u)\n", RAWLB_VERSION, max_conns);
    if (opts->stats || opts->rate) {
        textout_printf(o, "%s\n",
                       opts->stats ? "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes"
                                   : "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS");
        if (opts->health)
            textout_printf(o, "%-77s%s\n", "  -> RemoteAddress:Port", health_cols);
        else
            textout_printf(o, "  -> RemoteAddress:Port\n");
    } else {
        textout_printf(o, "Prot LocalAddress:Port Scheduler Flags\n");
        textout_printf(o, "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn%s\n",
                       opts->health ? health_cols : "");
    }
    for (unsigned i = 0; i < t->n && i < RAWLB_MAX_SERVICES; i++)
        render_service(o, &t->svc[i], i, opts);
}

static void render_rs_json(struct textout *o, const struct service *svc, unsigned svc_idx, unsigned i,
                           const struct ctl_list_opts *opts)
{
    const struct real_server *rs = &svc->rs[i];
    bool sorry = svc->has_sorry && i == svc->n_rs;
    textout_printf(o, "{");
    json_addr(o, "address", rs->ep.addr);
    textout_printf(o, ",\"port\":%u,\"forward\":\"Masq\",\"weight\":%d,\"config_weight\":%d,\"available\":%s,"
                  "\"active\":%u,\"inactive\":%u,\"persistent\":%u,\"sorry\":%s",
                   (unsigned)ntohs(rs->ep.port), rs->weight, rs->config_weight, rs->available ? "true" : "false",
                   rs->active, rs->inactive, rs->persistent, sorry ? "true" : "false");
    if (sorry)
        textout_printf(o, ",\"in_use\":%s", svc->sorry_active ? "true" : "false");
    textout_printf(o, ",");
    json_stats(o, "stats", &rs->stats, false);
    textout_printf(o, ",");
    json_stats(o, "rate", &rs->rate, true);
    if (opts->health && (!sorry || svc->sorry_active)) {
        struct ctl_rs_health h;
        if (opts->health(opts->health_arg, svc_idx, i, &h)) {
            textout_printf(o, ",\"health\":{\"checked\":true,\"state\":");
            json_str(o, h.state);
            textout_printf(o, ",\"since\":%u,\"last\":", h.since_s);
            json_str(o, h.last);
            textout_printf(o, "}");
        } else {
            textout_printf(o,
                           ",\"health\":{\"checked\":false,\"state\":\"%s\",\"since\":null,\"last\":\"not checked\"}",
                           rs->weight > 0 ? "up" : "quiesced");
        }
    }
    textout_printf(o, "}");
}

static void render_list_json(struct textout *o, const struct service_table *t, uint32_t max_conns,
                             const struct ctl_list_opts *opts)
{
    textout_printf(o, "{\"version\":\"%s\",\"size\":%u,\"services\":[", RAWLB_VERSION, max_conns);
    for (unsigned s = 0; s < t->n && s < RAWLB_MAX_SERVICES; s++) {
        const struct service *svc = &t->svc[s];
        char mask[ADDR_STRLEN];
        textout_printf(o, "%s{\"proto\":\"%s\",", s ? "," : "", svc->proto == IPPROTO_TCP ? "TCP" : "UDP");
        json_addr(o, "address", svc->vip.addr);
        textout_printf(o, ",\"port\":%u,\"scheduler\":", (unsigned)ntohs(svc->vip.port));
        json_str(o, svc->sched ? svc->sched->name : "-");
        textout_printf(o, ",\"persistent\":%u,\"netmask\":\"%s\",\"ops\":%s,", svc->persist_timeout,
                       addr_str(svc->persist_mask, mask), svc->one_packet ? "true" : "false");
        struct rs_stats sum = service_sum(svc, false), rate = service_sum(svc, true);
        json_stats(o, "stats", &sum, false);
        textout_printf(o, ",");
        json_stats(o, "rate", &rate, true);
        textout_printf(o, ",\"real_servers\":[");
        unsigned n = svc->n_rs < RAWLB_MAX_RS_PER_SERVICE ? svc->n_rs : RAWLB_MAX_RS_PER_SERVICE;
        for (unsigned i = 0; i < n + (svc->has_sorry ? 1u : 0u); i++) {
            textout_printf(o, "%s", i ? "," : "");
            render_rs_json(o, svc, s, i, opts);
        }
        textout_printf(o, "]}");
    }
    textout_printf(o, "]}\n");
}

size_t ctlproto_render_list(const struct service_table *t, uint32_t max_conns, const struct ctl_list_opts *opts,
                            char *buf, size_t len)
{
    static const struct ctl_list_opts none;
    if (len < 2) { /* no room for even a newline */
        if (len) buf[0] = '\0';
        return 0;
    }
    if (!opts)
        opts = &none;
    struct textout o;
    textout_init(&o, buf, len);
    if (opts->json) {
        render_list_json(&o, t, max_conns, opts);
        if (o.truncated) {
            char msg[96];
            snprintf(msg, sizeof msg, "list --json: the answer is larger than %zu bytes", len);
            return ctlproto_render_error(msg, buf, len);
        }
        return o.pos;
    }
    render_list_text(&o, t, max_conns, opts);
    return answer_finish(&o);
}

/* ---- conns ---- */

static bool conn_matches(const struct service_table *t, const struct conn *c, const struct ctl_conn_filter *f)
{
    bool template = c->flags & CONN_F_TEMPLATE;
    if (!f)
        return true;
    if (f->by_service &&
        (c->proto != f->proto || c->vaddr != f->vip.addr || (c->vport != f->vip.port && !(template && c->vport == 0))))
        return false;
    if (f->by_client) {
        uint32_t mask = 0xffffffffu;
        if (template && c->svc < t->n)
            mask = t->svc[c->svc].persist_mask;
        if ((f->client & mask) != c->caddr)
            return false;
    }
    return true;
}

static void render_conn(struct textout *o, const struct conn *c, uint32_t now, bool json, bool first)
{
    bool template = c->flags & CONN_F_TEMPLATE;
    const char *proto = c->proto == IPPROTO_TCP ? "TCP" : c->proto == IPPROTO_UDP ? "UDP" : "IP";
    const char *state = template ? "NONE" : conn_state_name(c->state);
    uint32_t left = c->expires > now ? c->expires - now : 0;
    char src[ENDPOINT_STRLEN], vip[ENDPOINT_STRLEN], dst[ENDPOINT_STRLEN];

    endpoint_str(c->caddr, c->cport, src);
    endpoint_str(c->vaddr, c->vport, vip);
    endpoint_str(c->daddr, c->dport, dst);
    if (!json) {
        textout_printf(o, "%-3s %02u:%02u  %-11s %-18s %-18s %-18s\n", proto, left / 60, left % 60, state, src, vip,
                       dst);
        return;
    }
    textout_printf(o, "%s{\"proto\":\"%s\",\"expire\":%u,\"state\":\"%s\",\"template\":%s,\"source\":{",
                   first ? "" : ",", proto, left, state, template ? "true" : "false");
    json_addr(o, "address", c->caddr);
    textout_printf(o, ",\"port\":%u},\"virtual\":{", (unsigned)ntohs(c->cport));
    json_addr(o, "address", c->vaddr);
    textout_printf(o, ",\"port\":%u},\"destination\":{", (unsigned)ntohs(c->vport));
    json_addr(o, "address", c->daddr);
    textout_printf(o, ",\"port\":%u}}", (unsigned)ntohs(c->dport));
}

#define CONNS_TAIL_ROOM 128 /* kept for the closing line */

size_t ctlproto_render_conns(const struct service_table *t, const struct conn_table *ct, uint32_t now,
                             const struct ctl_conn_filter *f, bool json, char *buf, size_t len)
{
    if (len < 2) {
        if (len) buf[0] = '\0';
        return 0;
    }
    struct textout o;
    textout_init(&o, buf, len);
    if (json)
        textout_printf(&o, "{\"conns\":[");
    else
        textout_printf(&o, "IPVS connection entries\n"
                       "pro expire state       source             virtual            destination\n");
    if (o.truncated || len <= o.pos + CONNS_TAIL_ROOM)
        return json ? ctlproto_render_error("conns: no room for the answer", buf, len) : answer_finish(&o);

    uint64_t shown = 0, left_out = 0;
    o.len = len - CONNS_TAIL_ROOM;
    for (uint32_t i = 0; i < ct->never_used; i++) {
        const struct conn *c = &ct->pool[i];
        if (!(c->flags & CONN_F_LIVE) || !conn_matches(t, c, f))
            continue;
        if (left_out) {
            left_out++;
            continue;
        }
        size_t mark = o.pos;
        render_conn(&o, c, now, json, shown == 0);
        if (o.truncated) {
            textout_rewind(&o, mark);
            left_out++;
        } else {
            shown++;
        }
    }
    o.len = len;
    if (json)
        textout_printf(&o, "],\"shown\":%llu,\"left_out\":%llu}\n", (unsigned long long)shown,
                       (unsigned long long)left_out);
    else if (left_out)
        textout_printf(&o, "... %llu more entries left out: the answer is limited to %zu bytes (filter with "
                       "--service or --client)\n", (unsigned long long)left_out, len);
    return answer_finish(&o);
}

/* ---- save ---- */

/* Milliseconds as the seconds config.c reads: "2", "0.5", "1.25". */
static void out_seconds(struct textout *o, const char *flag, uint32_t ms)
{
    char frac[8];
    snprintf(frac, sizeof frac, ".%03u", ms % 1000);
    size_t n = strlen(frac);
    while (n > 1 && frac[n - 1] == '0')
        frac[--n] = '\0';
    textout_printf(o, " %s %u%s", flag, ms / 1000, n > 1 ? frac : "");
}

static void save_check(struct textout *o, const struct service_config *sc)
{
    const struct check_config *c = &sc->check;
    enum check_kind auto_kind = sc->proto == IPPROTO_TCP ? CHECK_TCP : CHECK_NONE;
    char ep[ENDPOINT_STRLEN];

    if (c->kind != auto_kind && c->kind != CHECK_AUTO) {
        switch (c->kind) {
        case CHECK_HTTP:
            if (strcmp(c->http_path, "/") == 0) {
                textout_printf(o, " --check http");
            } else {
                char arg[RAWLB_CHECK_STRLEN + 8];
                snprintf(arg, sizeof arg, "http:%s", c->http_path);
                textout_printf(o, " --check");
                textout_word(o, arg);
            }
            break;
        case CHECK_TCP:
            textout_printf(o, " --check tcp");
            break;
        case CHECK_UDP:
            textout_printf(o, " --check udp");
            break;
        default:
            textout_printf(o, " --check none");
            break;
        }
    }
    if (c->kind == CHECK_HTTP && c->expect_status != RAWLB_DEFAULT_EXPECT_STATUS)
        textout_printf(o, " --expect-status %d", c->expect_status);
    if (c->expect[0]) {
        textout_printf(o, " --expect");
        textout_word(o, c->expect);
    }
    if (c->send[0]) {
        textout_printf(o, " --send");
        textout_word(o, c->send);
    }
    if (c->port)
        textout_printf(o, " --check-port %u", c->port);
    if (c->interval_ms != RAWLB_DEFAULT_CHECK_INTERVAL_MS)
        out_seconds(o, "--check-interval", c->interval_ms);
    if (c->probe_timeout_ms != RAWLB_DEFAULT_PROBE_TIMEOUT_MS)
        out_seconds(o, "--probe-timeout", c->probe_timeout_ms);
    if (c->dead_after_ms != RAWLB_DEFAULT_CHECK_TIMEOUT_MS)
        out_seconds(o, "--check-timeout", c->dead_after_ms);
    if (c->reentry_ms != RAWLB_DEFAULT_REENTRY_MS)
        out_seconds(o, "--reentry", c->reentry_ms);
    if (c->quiesce)
        textout_printf(o, " --quiesce");
    if (c->has_sorry)
        textout_printf(o, " --sorry-server %s", endpoint_str(c->sorry.addr, c->sorry.port, ep));
    if (c->agent_port)
        textout_printf(o, " --agent-port %u", c->agent_port);
}

/* --ha-* flags that both directors share (in the globals' digest) or that are this host's. */
static void save_ha(struct textout *o, const struct ha_config *h, bool per_host)
{
    char a[ADDR_STRLEN];
    if (!h->enabled)
        return;
    if (per_host) {
        textout_printf(o, " --ha-role %s", h->role == HA_ROLE_PRIMARY ? "primary" : "backup");
        for (unsigned i = 0; i < h->n_peers; i++) {
            if (h->n_ifs) {
                textout_printf(o, " --ha-if");
                textout_word(o, h->ifs[i]);
            }
            textout_printf(o, " --ha-peer %s", addr_str(h->peers[i], a));
        }
        textout_printf(o, " --ha-key");
        textout_word(o, h->key_file);
        if (h->notify[0]) {
            textout_printf(o, " --ha-notify");
            textout_word(o, h->notify);
        }
        if (strcmp(h->state_dir, HA_DEFAULT_STATE_DIR) != 0) {
            textout_printf(o, " --state-dir");
            textout_word(o, h->state_dir);
        }
        return;
    }
    if (h->port != HA_DEFAULT_PORT)
        textout_printf(o, " --ha-port %u", h->port);
    if (h->interval_ms != HA_DEFAULT_INTERVAL_MS)
        textout_printf(o, " --ha-interval %g", h->interval_ms / 1000.0);
    if (h->deadtime_ms != HA_DEFAULT_DEADTIME_MS)
        textout_printf(o, " --ha-deadtime %g", h->deadtime_ms / 1000.0);
    for (unsigned i = 0; i < h->n_track; i++) {
        textout_printf(o, " --ha-track");
        textout_word(o, h->track[i]);
    }
}

/* The options before the first service; per_host adds the ones that may differ between two
 * directors (--ctl, --pidfile, --metrics, --ha-role, --ha-peer, --ha-if, --ha-key, --ha-notify,
 * --state-dir). */
static void save_globals(struct textout *o, const struct rawlb_config *cfg, bool per_host, bool with_ha)
{
    char a[ADDR_STRLEN];
    textout_printf(o, "rawlb -e");
    textout_word(o, cfg->ext_if);
    textout_printf(o, " -i");
    textout_word(o, cfg->int_if);
    textout_printf(o, " -n %s", addr_str(cfg->nat_ip, a));
    if (cfg->timeouts.tcp != RAWLB_DEFAULT_TCP_TIMEOUT || cfg->timeouts.tcpfin != RAWLB_DEFAULT_TCPFIN_TIMEOUT ||
        cfg->timeouts.udp != RAWLB_DEFAULT_UDP_TIMEOUT)
        textout_printf(o, " --timeouts %u,%u,%u", cfg->timeouts.tcp, cfg->timeouts.tcpfin, cfg->timeouts.udp);
    if (cfg->max_conns != RAWLB_DEFAULT_MAX_CONNS)
        textout_printf(o, " --max-conns %u", cfg->max_conns);
    if (with_ha)
        save_ha(o, &cfg->ha, false);
    if (!per_host)
        return;
    if (strcmp(cfg->ctl_path, RAWLB_DEFAULT_CTL) != 0) {
        textout_printf(o, " --ctl");
        textout_word(o, cfg->ctl_path);
    }
    if (cfg->pidfile[0]) {
        textout_printf(o, " --pidfile");
        textout_word(o, cfg->pidfile);
    }
    if (cfg->metrics)
        textout_printf(o, " --metrics %s:%u", cfg->metrics_ep.addr ? addr_str(cfg->metrics_ep.addr, a) : "0.0.0.0",
                       (unsigned)ntohs(cfg->metrics_ep.port));
    save_ha(o, &cfg->ha, true);
}

static void save_service(struct textout *o, const struct service_config *sc)
{
    char a[ADDR_STRLEN], ep[ENDPOINT_STRLEN];
    textout_printf(o, " %s %s -s", sc->proto == IPPROTO_TCP ? "-t" : "-u",
                   endpoint_str(sc->vip.addr, sc->vip.port, ep));
    textout_word(o, sc->scheduler);
    if (sc->persist_timeout) {
        textout_printf(o, " -p %u", sc->persist_timeout);
        if (sc->persist_mask != 0xffffffffu)
            textout_printf(o, " -M %s", addr_str(sc->persist_mask, a));
    }
    if (sc->one_packet)
        textout_printf(o, " -o");
    save_check(o, sc);
    for (unsigned j = 0; j < sc->n_rs; j++)
        textout_printf(o, " -r %s:%d", endpoint_str(sc->rs[j].ep.addr, sc->rs[j].ep.port, ep), sc->rs[j].weight);
}

size_t ctlproto_render_save(const struct rawlb_config *cfg, char *buf, size_t len)
{
    char ep[ENDPOINT_STRLEN];
    if (len < 2) {
        if (len) buf[0] = '\0';
        return 0;
    }
    for (unsigned i = 0; i < cfg->n_services; i++) {
        const struct service_config *sc = &cfg->services[i];
        if (sc->n_rs == 0) {
            char msg[160];
            snprintf(msg, sizeof msg,
                     "save: service %s %s has no real servers, which rawlb refuses at start: add one (-a) or "
                     "delete the service (-D) first",
                     sc->proto == IPPROTO_TCP ? "TCP" : "UDP", endpoint_str(sc->vip.addr, sc->vip.port, ep));
            return ctlproto_render_error(msg, buf, len);
        }
    }
    struct textout o;
    textout_init(&o, buf, len);
    save_globals(&o, cfg, true, true);
    for (unsigned i = 0; i < cfg->n_services; i++)
        save_service(&o, &cfg->services[i]);
    textout_printf(&o, "\n");
    if (o.truncated)
        return ctlproto_render_error("save: the command line does not fit in the answer", buf, len);
    return o.pos;
}

size_t ctlproto_render_section(const struct rawlb_config *cfg, int svc, bool with_ha, char *buf, size_t len)
{
    struct textout o;
    textout_init(&o, buf, len);
    if (svc < 0)
        save_globals(&o, cfg, false, with_ha);
    else if ((unsigned)svc < cfg->n_services)
        save_service(&o, &cfg->services[svc]);
    return o.truncated ? 0 : o.pos;
}
