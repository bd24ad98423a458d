/* test_metrics: the /metrics text rendered from a hand-built service table: exact sample lines,
 * HELP and TYPE before every family's samples, label escaping, health states into rawlb_rs_up,
 * the sorry server, and cut output (whole lines, the full length returned). Snapshots: rendered
 * whole whatever the size tried first, shared by reference (every scrape gets the same text, not
 * a copy) and freed with the last reference (ASan's leak check sees the rest). HA: a hand-built
 * view renders the rawlb_ha_* families (exactly one state at 1), none without --ha-role, and
 * metrics_ha_fill copies a hand-built struct ha as rawlb-ctl status reads it, counting
 * transitions past the HA_HISTORY kept. BGP announcement: rawlb_vip_eligible and
 * rawlb_vip_announced per VIP and rawlb_announcers from a vipstate, none without one. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"
#include "svctable.h"
#include "ha.h"
#include "metrics.h"
#include "scheduler.h"

static struct service_table table;
static struct fastpath_stats fps;


/* Health as the daemon would describe it: rs 1 of service 0 is down, the sorry server is
 * "sorry", service 1 is not checked. */
static bool fake_health(void *arg, unsigned svc, unsigned rs, struct ctl_rs_health *h)
{
    (void)arg;
    if (svc != 0)
        return false;
    static const char *const states[] = { "up", "down", "sorry" };
    *h = (struct ctl_rs_health){ .state = states[rs < 3 ? rs : 0], .since_s = 1, .last = "ok" };
    return true;
}

static struct metrics_view build(void)
{
    memset(&table, 0, sizeof(table));
    memset(&fps, 0, sizeof(fps));
    struct service *svc = svctable_add_svc(&table, IPPROTO_TCP, "198.51.100.10", 80);
    struct real_server *rs = svctable_add_rs(svc, "203.0.113.11", 80, 3);
    rs->stats = (struct rs_stats){ .conns = 12, .in_pkts = 100, .out_pkts = 90, .in_bytes = 6000, .out_bytes = 123456 };
    rs->active = 2;
    rs->inactive = 5;
    rs->u_threshold = 7; /* -x 7: at its limit */
    rs = svctable_add_rs(svc, "203.0.113.12", 8080, 1);
    rs->stats = (struct rs_stats){ .conns = 8, .in_pkts = 1, .out_pkts = 2, .in_bytes = 3, .out_bytes = 4 };
    rs->active = 1;
    rs->available = false;
    svc->has_sorry = true;
    svc->rs[2].ep.addr = svctable_ip("203.0.113.99");
    svc->rs[2].ep.port = htons(80);
    svc->rs[2].weight = 1;
    svc->rs[2].stats.conns = 1;
    svc = svctable_add_svc(&table, IPPROTO_UDP, "198.51.100.10", 53);
    rs = svctable_add_rs(svc, "203.0.113.13", 53, 0);
    rs->stats.conns = 18446744073709551615ull;
    rs->inactive = 4294967295u;
    fps.rx_ext = 1000;
    fps.tx_ext = 900;
    fps.rx_int = 800;
    fps.tx_int = 700;
    fps.drops[FP_DROP_NOT_SYN] = 7;
    fps.drops[FP_DROP_GSO_BAD] = 1;
    fps.arp_replies = 3;
    return (struct metrics_view){
        .services = &table, .fp = &fps, .health = fake_health, .ext_if = "ext", .int_if = "int",
        .conn_entries = 42, .conn_capacity = 1048576, .conns_created = 50, .conns_expired = 8,
    };
}

static char *render(const struct metrics_view *v)
{
    size_t need = metrics_render(v, NULL, 0);
    char *buf = malloc(need + 1);
    CHECK(buf != NULL);
    CHECK_EQ_U(metrics_render(v, buf, need + 1), need);
    CHECK_EQ_U(strlen(buf), need);
    return buf;
}

static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return true;
    return false;
}

#define CHECK_LINE(text, line)                                                              \
    do {                                                                                    \
        if (!has_line(text, line)) {                                                        \
            fprintf(stderr, "%s:%d: no line: %s\n", __FILE__, __LINE__, line);              \
            check_failures++;                                                               \
        }                                                                                   \
    } while (0)

static void test_samples(void)
{
    struct metrics_view v = build();
    char *t = render(&v);
    const char *rs1 = "{proto=\"tcp\",vip=\"198.51.100.10:80\",rs=\"203.0.113.11:80\"}";
    const char *rs2 = "{proto=\"tcp\",vip=\"198.51.100.10:80\",rs=\"203.0.113.12:8080\"}";
    const char *sorry = "{proto=\"tcp\",vip=\"198.51.100.10:80\",rs=\"203.0.113.99:80\"}";
    const char *rs3 = "{proto=\"udp\",vip=\"198.51.100.10:53\",rs=\"203.0.113.13:53\"}";
    char line[256];
#define L(fmt, ...) (snprintf(line, sizeof line, fmt, __VA_ARGS__), line)
    CHECK_LINE(t, "# HELP rawlb_rs_connections_total Connections scheduled, per real server.");
    CHECK_LINE(t, "# TYPE rawlb_rs_connections_total counter");
    CHECK_LINE(t, L("rawlb_rs_connections_total%s 12", rs1));
    CHECK_LINE(t, L("rawlb_rs_connections_total%s 8", rs2));
    CHECK_LINE(t, L("rawlb_rs_connections_total%s 1", sorry));
    CHECK_LINE(t, L("rawlb_rs_connections_total%s 18446744073709551615", rs3));
    CHECK_LINE(t, L("rawlb_rs_in_packets_total%s 100", rs1));
    CHECK_LINE(t, L("rawlb_rs_out_packets_total%s 90", rs1));
    CHECK_LINE(t, L("rawlb_rs_in_bytes_total%s 6000", rs1));
    CHECK_LINE(t, L("rawlb_rs_out_bytes_total%s 123456", rs1));
    CHECK_LINE(t, "# TYPE rawlb_rs_active_connections gauge");
    CHECK_LINE(t, L("rawlb_rs_active_connections%s 2", rs1));
    CHECK_LINE(t, L("rawlb_rs_inactive_connections%s 5", rs1));
    CHECK_LINE(t, L("rawlb_rs_inactive_connections%s 4294967295", rs3));
    CHECK_LINE(t, L("rawlb_rs_weight%s 3", rs1));
    CHECK_LINE(t, L("rawlb_rs_weight%s 0", rs3));
    /* up: health says up / down / sorry; service 1 is not checked: the schedule's word */
    CHECK_LINE(t, L("rawlb_rs_up%s 1", rs1));
    CHECK_LINE(t, L("rawlb_rs_up%s 0", rs2));
    CHECK_LINE(t, L("rawlb_rs_up%s 1", sorry));
    CHECK_LINE(t, L("rawlb_rs_up%s 1", rs3));
    /* overloaded: rs1 holds its -x of 7 (active + inactive); the others have no limit */
    CHECK_LINE(t, "# TYPE rawlb_rs_overloaded gauge");
    CHECK_LINE(t, L("rawlb_rs_overloaded%s 1", rs1));
    CHECK_LINE(t, L("rawlb_rs_overloaded%s 0", rs2));
    /* per service: sums over the real servers, the sorry server included */
    CHECK_LINE(t, "rawlb_service_connections_total{proto=\"tcp\",vip=\"198.51.100.10:80\"} 21");
    CHECK_LINE(t, "rawlb_service_in_bytes_total{proto=\"tcp\",vip=\"198.51.100.10:80\"} 6003");
    CHECK_LINE(t, "rawlb_service_active_connections{proto=\"tcp\",vip=\"198.51.100.10:80\"} 3");
    CHECK_LINE(t, "rawlb_service_inactive_connections{proto=\"udp\",vip=\"198.51.100.10:53\"} 4294967295");
    CHECK_LINE(t, "rawlb_service_servers_up{proto=\"tcp\",vip=\"198.51.100.10:80\"} 1");
    CHECK_LINE(t, "rawlb_service_sorry_active{proto=\"tcp\",vip=\"198.51.100.10:80\"} 0");
    CHECK_LINE(t, "rawlb_frames_total{interface=\"ext\",direction=\"rx\"} 1000");
    CHECK_LINE(t, "rawlb_frames_total{interface=\"ext\",direction=\"tx\"} 900");
    CHECK_LINE(t, "rawlb_frames_total{interface=\"int\",direction=\"rx\"} 800");
    CHECK_LINE(t, "rawlb_frames_total{interface=\"int\",direction=\"tx\"} 700");
    CHECK_LINE(t, "rawlb_drops_total{reason=\"not_syn\"} 7");
    CHECK_LINE(t, "rawlb_drops_total{reason=\"gso_bad\"} 1");
    CHECK_LINE(t, "rawlb_drops_total{reason=\"truncated\"} 0");
    for (unsigned i = 0; i < FP_DROP_COUNT; i++) {
        snprintf(line, sizeof line, "rawlb_drops_total{reason=\"%s\"} ", fastpath_drop_name((enum fp_drop)i));
        CHECK(strstr(t, line) != NULL);
    }
    CHECK_LINE(t, "rawlb_replies_total{kind=\"arp\"} 3");
    CHECK_LINE(t, "rawlb_conn_table_entries 42");
    CHECK_LINE(t, "rawlb_conn_table_capacity 1048576");
    CHECK_LINE(t, "rawlb_conn_created_total 50");
    /* without --ha-role: no HA family at all */
    CHECK(strstr(t, "rawlb_ha_") == NULL);
#undef L
    free(t);

    /* Without a health function rawlb_rs_up is the schedule's: rs2 is held out. */
    v.health = NULL;
    t = render(&v);
    CHECK_LINE(t, "rawlb_rs_up{proto=\"tcp\",vip=\"198.51.100.10:80\",rs=\"203.0.113.12:8080\"} 0");
    CHECK_LINE(t, "rawlb_rs_up{proto=\"tcp\",vip=\"198.51.100.10:80\",rs=\"203.0.113.11:80\"} 1");
    free(t);
}

/* Every line is a comment (# HELP / # TYPE) or `name{labels} value` / `name value`; every
 * family's samples follow its own HELP and TYPE and no family appears twice. */
static void check_structure(const struct metrics_view *v)
{
    char *t = render(v);
    char family[128] = "", seen[8192] = " ";
    bool help = false, type = false;
    unsigned samples = 0;
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
        char name[128];
        if (strncmp(line, "# HELP ", 7) == 0) {
            CHECK(sscanf(line + 7, "%127s", name) == 1);
            snprintf(family, sizeof family, "%s", name);
            char key[140];
            snprintf(key, sizeof key, " %s ", name);
            CHECK(strstr(seen, key) == NULL); /* one block per family */
            strncat(seen, key + 1, sizeof seen - strlen(seen) - 1);
            help = true;
            type = false;
            continue;
        }
        if (strncmp(line, "# TYPE ", 7) == 0) {
            char kind[32];
            CHECK(sscanf(line + 7, "%127s %31s", name, kind) == 2);
            CHECK(help && strcmp(name, family) == 0);
            CHECK(strcmp(kind, "counter") == 0 || strcmp(kind, "gauge") == 0);
            CHECK((strcmp(kind, "counter") == 0) == (strlen(name) > 6 && strcmp(name + strlen(name) - 6, "_total") == 0));
            type = true;
            continue;
        }
        CHECK(line[0] != '#');
        size_t n = strspn(line, "abcdefghijklmnopqrstuvwxyz_");
        CHECK(n > 0 && strncmp(line, family, n) == 0 && family[n] == '\0');
        CHECK(help && type);
        const char *rest = line + n;
        if (*rest == '{') {
            const char *close = strstr(rest, "} ");
            CHECK(close != NULL);
            rest = close ? close + 1 : rest;
        }
        CHECK(*rest == ' ');
        size_t digits = strspn(rest + 1, "0123456789");
        if (rest[1 + digits] == '.' && digits) /* seconds: one fraction */
            digits += 1 + strspn(rest + 2 + digits, "0123456789");
        CHECK(digits == strlen(rest + 1) && rest[1]);
        samples++;
    }
    CHECK(samples > 50);
    free(t);
}

static struct metrics_ha_view ha_view(void);

static void test_structure(void)
{
    struct metrics_view v = build();
    check_structure(&v);
    struct metrics_ha_view h = ha_view();
    v.ha = &h;
    check_structure(&v);
}

/* Interface names may hold quotes and backslashes: escaped as the text format wants. */
static void test_escaping(void)
{
    char out[64];
    CHECK_EQ_U(metrics_escape_label("a\"b\\c\nd", out, sizeof out), 10);
    CHECK(strcmp(out, "a\\\"b\\\\c\\nd") == 0);
    CHECK_EQ_U(metrics_escape_label("a\"b", out, 3), 4); /* cut, still terminated */
    CHECK(strcmp(out, "a\\") == 0);
    struct metrics_view v = build();
    v.ext_if = "e\"x\\t";
    char *t = render(&v);
    CHECK_LINE(t, "rawlb_frames_total{interface=\"e\\\"x\\\\t\",direction=\"rx\"} 1000");
    CHECK_LINE(t, "rawlb_receive_buffer_drops_total{interface=\"e\\\"x\\\\t\"} 0");
    free(t);
}

/* A buffer too small: only whole lines, the full length returned, never an overrun. */
static void test_truncated(void)
{
    struct metrics_view v = build();
    size_t need = metrics_render(&v, NULL, 0);
    char *full = render(&v);
    for (size_t len = 1; len < need; len += 97) {
        char *buf = malloc(len + 16);
        memset(buf, 'X', len + 16);
        CHECK_EQ_U(metrics_render(&v, buf, len), need);
        size_t got = strlen(buf);
        CHECK(got < len);
        CHECK(buf[len + 15] == 'X');
        CHECK(strncmp(buf, full, got) == 0);
        CHECK(got == 0 || buf[got - 1] == '\n');
        free(buf);
    }
    free(full);
}

/* ---- snapshots (what every scrape sends) ---- */

static void test_snapshot(void)
{
    struct metrics_view v = build();
    char *full = render(&v);
    size_t cap = 0; /* the daemon's first render: no size known yet */
    struct metrics_snapshot *s = metrics_snapshot_render(&v, &cap);
    CHECK(s != NULL);
    CHECK_EQ_U(atomic_load(&s->refs), 1);
    CHECK_EQ_U(s->len, strlen(full));
    CHECK(strcmp(s->text, full) == 0);
    CHECK(cap > s->len); /* room to grow was kept */
    /* The next second's render fits in the size learnt: the hint stays. */
    size_t learnt = cap;
    struct metrics_snapshot *next = metrics_snapshot_render(&v, &cap);
    CHECK_EQ_U(cap, learnt);
    CHECK(strcmp(next->text, full) == 0);
    /* Two scrapes while s is current: both send s itself. */
    struct metrics_snapshot *a = metrics_snapshot_ref(s), *b = metrics_snapshot_ref(s);
    CHECK(a == s && b == s);
    CHECK_EQ_U(atomic_load(&s->refs), 3);
    /* next is published: the daemon drops s, the scrapes still send it whole. */
    metrics_snapshot_unref(s);
    CHECK_EQ_U(atomic_load(&a->refs), 2);
    CHECK(strcmp(a->text, full) == 0);
    metrics_snapshot_unref(a);
    CHECK(strcmp(b->text, full) == 0);
    metrics_snapshot_unref(b); /* the last: freed (ASan reports a leak otherwise, a use after it) */
    metrics_snapshot_unref(NULL); /* before the first publish, metrics_stop drops nothing */
    metrics_snapshot_unref(next);
    free(full);
}

/* ---- HA ---- */

static struct metrics_ha_view ha_view(void)
{
    struct metrics_ha_view h = {
        .role = HA_ROLE_PRIMARY, .state = HA_STATE_MASTER, .node = 0x0123456789abcdefull, .epoch = 7,
        .state_changes = 3, .peer_heard = true, .peer_alive = true, .peer_age_ms = 1250, .peer_epoch = 5,
        .n_links = 2, .heartbeats_sent = 40, .heartbeats_received = 38, .unknown_sender = 2,
        .sync = { .datagrams_sent = 100, .datagrams_resent = 4, .datagrams_received = 90, .records_sent = 1000,
                  .records_applied = 800, .records_unknown = 6, .records_stale = 9, .bulks_sent = 2,
                  .bulks_received = 1, .configs_sent = 3, .configs_received = 0, .overflows = 1 },
        .sync_queued = 12, .sync_in_flight = 3,
    };
    h.links[0] = (struct metrics_ha_link){ .ifname = "ha0", .peer = svctable_ip("192.0.2.2"), .up = true, .rx = 50,
                                           .tx = 60, .tx_failed = 1 };
    h.links[1] = (struct metrics_ha_link){ .ifname = "h\"a\\1", .peer = svctable_ip("192.0.2.6"), .up = false, .rx = 0,
                                           .tx = 20, .tx_failed = 20 };
    h.rejected[HA_BAD_LENGTH] = 1;
    h.rejected[HA_BAD_MAGIC] = 2;
    h.rejected[HA_BAD_MAC] = 3;
    h.rejected[HA_BAD_PAYLOAD] = 4;
    h.rejected[HA_STALE] = 5;
    return h;
}

/* How many lines start with prefix, and how many of them end in " 1". */
static unsigned count_lines(const char *text, const char *prefix, unsigned *ones)
{
    unsigned n = 0;
    *ones = 0;
    size_t plen = strlen(prefix);
    for (const char *p = text; *p; p = strchr(p, '\n') + 1) {
        const char *end = strchr(p, '\n');
        if (strncmp(p, prefix, plen) == 0) {
            n++;
            *ones += end - p >= 2 && strncmp(end - 2, " 1", 2) == 0;
        }
    }
    return n;
}

static void test_ha_samples(void)
{
    struct metrics_view v = build();
    struct metrics_ha_view h = ha_view();
    v.ha = &h;
    char *t = render(&v);
    static const char *const want[] = {
        "# HELP rawlb_ha_info 1: this director runs HA (--ha-role), with its role and node id (absent without "
        "--ha-role).",
        "# TYPE rawlb_ha_info gauge",
        "rawlb_ha_info{role=\"primary\",node=\"0123456789abcdef\"} 1",
        "# TYPE rawlb_ha_state gauge",
        "rawlb_ha_state{state=\"backup\"} 0",
        "rawlb_ha_state{state=\"master\"} 1",
        "rawlb_ha_state{state=\"fault\"} 0",
        "rawlb_ha_state{state=\"leaving\"} 0",
        "# TYPE rawlb_ha_state_changes_total counter",
        "rawlb_ha_state_changes_total 3",
        "rawlb_ha_epoch 7",
        "# TYPE rawlb_ha_peer_up gauge",
        "rawlb_ha_peer_up 1",
        "# TYPE rawlb_ha_peer_last_heartbeat_seconds gauge",
        "rawlb_ha_peer_last_heartbeat_seconds 1.250",
        "rawlb_ha_peer_epoch 5",
        "# TYPE rawlb_ha_link_up gauge",
        "rawlb_ha_link_up{interface=\"ha0\",peer=\"192.0.2.2\"} 1",
        "rawlb_ha_link_up{interface=\"h\\\"a\\\\1\",peer=\"192.0.2.6\"} 0",
        "# TYPE rawlb_ha_link_datagrams_total counter",
        "rawlb_ha_link_datagrams_total{interface=\"ha0\",peer=\"192.0.2.2\",direction=\"rx\"} 50",
        "rawlb_ha_link_datagrams_total{interface=\"ha0\",peer=\"192.0.2.2\",direction=\"tx\"} 60",
        "rawlb_ha_link_datagrams_total{interface=\"h\\\"a\\\\1\",peer=\"192.0.2.6\",direction=\"tx\"} 20",
        "rawlb_ha_link_send_failures_total{interface=\"ha0\",peer=\"192.0.2.2\"} 1",
        "rawlb_ha_link_send_failures_total{interface=\"h\\\"a\\\\1\",peer=\"192.0.2.6\"} 20",
        "rawlb_ha_config_compared 1",
        "rawlb_ha_config_match 1",
        "rawlb_ha_heartbeats_sent_total 40",
        "rawlb_ha_heartbeats_received_total 38",
        "# TYPE rawlb_ha_rejected_total counter",
        "rawlb_ha_rejected_total{reason=\"bad_length\"} 1",
        "rawlb_ha_rejected_total{reason=\"bad_magic\"} 2",
        "rawlb_ha_rejected_total{reason=\"bad_mac\"} 3",
        "rawlb_ha_rejected_total{reason=\"bad_payload\"} 4",
        "rawlb_ha_rejected_total{reason=\"stale\"} 5",
        "rawlb_ha_rejected_total{reason=\"unknown_sender\"} 2",
        "rawlb_ha_sync_datagrams_total{kind=\"sent\"} 100",
        "rawlb_ha_sync_datagrams_total{kind=\"resent\"} 4",
        "rawlb_ha_sync_datagrams_total{kind=\"received\"} 90",
        "rawlb_ha_sync_records_total{kind=\"sent\"} 1000",
        "rawlb_ha_sync_records_total{kind=\"applied\"} 800",
        "rawlb_ha_sync_records_total{kind=\"unknown\"} 6",
        "rawlb_ha_sync_records_total{kind=\"stale\"} 9",
        "rawlb_ha_sync_tables_total{kind=\"sent\"} 2",
        "rawlb_ha_sync_tables_total{kind=\"received\"} 1",
        "rawlb_ha_sync_configs_total{kind=\"sent\"} 3",
        "rawlb_ha_sync_configs_total{kind=\"received\"} 0",
        "# TYPE rawlb_ha_sync_queued gauge",
        "rawlb_ha_sync_queued 12",
        "# TYPE rawlb_ha_sync_in_flight gauge",
        "rawlb_ha_sync_in_flight 3",
        "# TYPE rawlb_ha_sync_overflows_total counter",
        "rawlb_ha_sync_overflows_total 1",
    };
    for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++)
        CHECK_LINE(t, want[i]);
    unsigned ones;
    CHECK_EQ_U(count_lines(t, "rawlb_ha_state{", &ones), HA_STATE_COUNT);
    CHECK_EQ_U(ones, 1);
    CHECK_EQ_U(count_lines(t, "# HELP rawlb_ha_state ", &ones), 1);
    CHECK_EQ_U(count_lines(t, "# TYPE rawlb_ha_link_up ", &ones), 1);
    CHECK_EQ_U(count_lines(t, "rawlb_ha_link_up{", &ones), 2);
    CHECK_EQ_U(count_lines(t, "rawlb_ha_info", &ones), 1);
    CHECK(strstr(t, "# HELP rawlb_ha_") < strstr(t, "# HELP rawlb_build_info")); /* before the last family */
    free(t);

    /* Every state in turn: exactly one sample at 1, the one named. */
    for (unsigned s = 0; s < HA_STATE_COUNT; s++) {
        h.state = (enum ha_state)s;
        t = render(&v);
        char line[64];
        snprintf(line, sizeof line, "rawlb_ha_state{state=\"%s\"} 1", ha_state_name(s));
        CHECK_LINE(t, line);
        CHECK_EQ_U(count_lines(t, "rawlb_ha_state{", &ones), HA_STATE_COUNT);
        CHECK_EQ_U(ones, 1);
        free(t);
    }

    /* A backup that has not heard its peer: no heartbeat age, nothing compared yet. */
    h = ha_view();
    h.role = HA_ROLE_BACKUP;
    h.state = HA_STATE_BACKUP;
    h.peer_heard = h.peer_alive = false;
    h.peer_age_ms = 0;
    h.peer_epoch = 0;
    t = render(&v);
    CHECK_LINE(t, "rawlb_ha_info{role=\"backup\",node=\"0123456789abcdef\"} 1");
    CHECK_LINE(t, "rawlb_ha_state{state=\"backup\"} 1");
    CHECK_LINE(t, "rawlb_ha_peer_up 0");
    CHECK_LINE(t, "# TYPE rawlb_ha_peer_last_heartbeat_seconds gauge");
    CHECK_EQ_U(count_lines(t, "rawlb_ha_peer_last_heartbeat_seconds ", &ones), 0);
    CHECK_LINE(t, "rawlb_ha_peer_epoch 0");
    CHECK_LINE(t, "rawlb_ha_config_compared 0");
    CHECK_LINE(t, "rawlb_ha_config_match 0");
    free(t);
    /* Heard, and the digests differ. */
    h.peer_heard = true;
    h.config_differs = true;
    t = render(&v);
    CHECK_LINE(t, "rawlb_ha_config_compared 1");
    CHECK_LINE(t, "rawlb_ha_config_match 0");
    CHECK_LINE(t, "rawlb_ha_peer_last_heartbeat_seconds 0.000");
    free(t);

    /* Cut output with HA: whole lines still. */
    size_t need = metrics_render(&v, NULL, 0);
    char *buf = malloc(need);
    CHECK_EQ_U(metrics_render(&v, buf, need), need);
    CHECK(strlen(buf) < need && (buf[0] == '\0' || buf[strlen(buf) - 1] == '\n'));
    free(buf);
}

/* A transition as ha.c's remember() records it: the oldest goes when HA_HISTORY are kept. */
static void push_transition(struct ha *ha, uint64_t at_ms, unsigned from, unsigned to, const char *reason)
{
    if (ha->n_history == HA_HISTORY)
        memmove(ha->history, ha->history + 1, sizeof ha->history[0] * (HA_HISTORY - 1));
    else
        ha->n_history++;
    ha->history[ha->n_history - 1] =
        (struct ha_transition){ .at_ms = at_ms, .from = (uint8_t)from, .to = (uint8_t)to, .reason = reason };
}

static void flip(struct ha *ha, uint64_t at_ms)
{
    unsigned from = ha->fsm.state;
    ha->fsm.state = from == HA_STATE_MASTER ? HA_STATE_BACKUP : HA_STATE_MASTER;
    push_transition(ha, at_ms, from, ha->fsm.state, from == HA_STATE_MASTER ? "the peer has precedence" : "peer dead");
}

static void test_ha_fill(void)
{
    static struct ha ha; /* large: not on the stack */
    static struct ha_config hc;
    memset(&ha, 0, sizeof ha);
    memset(&hc, 0, sizeof hc);
    hc.role = HA_ROLE_BACKUP;
    hc.deadtime_ms = 5000;
    ha.hc = &hc;
    ha.node = 0xfeedull;
    ha.epoch = 12;
    ha.fsm.cfg.deadtime_ms = 5000;
    ha.fsm.state = HA_STATE_FAULT;
    ha.fsm.heard = true;
    ha.fsm.heard_ms = 100000;
    ha.fsm.peer_epoch = 9;
    snprintf(ha.mismatch, sizeof ha.mismatch, "globals");
    ha.n_links = 2;
    snprintf(ha.links[0].ifname, sizeof ha.links[0].ifname, "ha0");
    ha.links[0].peer = svctable_ip("192.0.2.2");
    ha.links[0].heard_ms = 100000;
    ha.links[0].rx = 7;
    ha.links[0].tx = 8;
    ha.links[0].tx_failed = 1;
    snprintf(ha.links[1].ifname, sizeof ha.links[1].ifname, "ext");
    ha.links[1].peer = svctable_ip("198.51.100.3");
    ha.links[1].heard_ms = 90000; /* too long ago */
    ha.stats.heartbeats_sent = 30;
    ha.stats.heartbeats_received = 29;
    ha.stats.rejected[HA_BAD_MAC] = 4;
    ha.stats.rejected[HA_STALE] = 6;
    ha.stats.unknown_sender = 2;
    ha.sync.stats.datagrams_sent = 17;
    ha.sync.stats.records_stale = 3;
    ha.sync.stats.configs_received = 1;
    ha.sync.queue_len = 5;
    ha.sync.next_number = 10; /* 9 sent, 7 acknowledged */
    ha.sync.acked = 7;

    struct metrics_ha_track track = { 0 };
    struct metrics_ha_view h;
    CHECK(metrics_ha_fill(&h, &track, &ha, 101500) == &h);
    CHECK_EQ_U(h.role, HA_ROLE_BACKUP);
    CHECK_EQ_U(h.state, HA_STATE_FAULT);
    CHECK_EQ_U(h.node, 0xfeed);
    CHECK_EQ_U(h.epoch, 12);
    CHECK_EQ_U(h.state_changes, 0);
    CHECK(h.peer_heard && h.peer_alive);
    CHECK_EQ_U(h.peer_age_ms, 1500);
    CHECK_EQ_U(h.peer_epoch, 9);
    CHECK(h.config_differs);
    CHECK_EQ_U(h.n_links, 2);
    CHECK(strcmp(h.links[0].ifname, "ha0") == 0 && h.links[0].up);
    CHECK(strcmp(h.links[1].ifname, "ext") == 0 && !h.links[1].up);
    CHECK_EQ_U(h.links[0].peer, svctable_ip("192.0.2.2"));
    CHECK_EQ_U(h.links[0].rx, 7);
    CHECK_EQ_U(h.links[0].tx, 8);
    CHECK_EQ_U(h.links[0].tx_failed, 1);
    CHECK_EQ_U(h.heartbeats_sent, 30);
    CHECK_EQ_U(h.heartbeats_received, 29);
    CHECK_EQ_U(h.rejected[HA_BAD_MAC], 4);
    CHECK_EQ_U(h.rejected[HA_STALE], 6);
    CHECK_EQ_U(h.unknown_sender, 2);
    CHECK_EQ_U(h.sync.datagrams_sent, 17);
    CHECK_EQ_U(h.sync.records_stale, 3);
    CHECK_EQ_U(h.sync.configs_received, 1);
    CHECK_EQ_U(h.sync_queued, 5);
    CHECK_EQ_U(h.sync_in_flight, 2);

    /* The rendering of what was filled: the same words as rawlb-ctl status. */
    struct metrics_view v = build();
    v.ha = &h;
    char *t = render(&v);
    CHECK_LINE(t, "rawlb_ha_info{role=\"backup\",node=\"000000000000feed\"} 1");
    CHECK_LINE(t, "rawlb_ha_state{state=\"fault\"} 1");
    CHECK_LINE(t, "rawlb_ha_peer_last_heartbeat_seconds 1.500");
    CHECK_LINE(t, "rawlb_ha_config_match 0");
    CHECK_LINE(t, "rawlb_ha_link_up{interface=\"ext\",peer=\"198.51.100.3\"} 0");
    CHECK_LINE(t, "rawlb_ha_sync_in_flight 2");
    free(t);

    /* Dead peer: past the dead time. */
    metrics_ha_fill(&h, &track, &ha, 105000);
    CHECK(h.peer_heard && !h.peer_alive && !h.links[0].up);

    /* Transitions: counted once each, also after the kept history is full and shifts. */
    uint64_t at = 1700000000000ull;
    flip(&ha, at++);
    flip(&ha, at++);
    CHECK_EQ_U(metrics_ha_fill(&h, &track, &ha, 105000)->state_changes, 2);
    CHECK_EQ_U(metrics_ha_fill(&h, &track, &ha, 105000)->state_changes, 2);
    for (unsigned i = 0; i < 13; i++)
        flip(&ha, at++);
    CHECK_EQ_U(metrics_ha_fill(&h, &track, &ha, 105000)->state_changes, 15);
    for (unsigned i = 0; i < 5; i++) /* 20 made, 16 kept: the oldest shift out */
        flip(&ha, at++);
    CHECK_EQ_U(metrics_ha_fill(&h, &track, &ha, 105000)->state_changes, 20);
    flip(&ha, at); /* the same wall-clock millisecond as the last one */
    CHECK_EQ_U(metrics_ha_fill(&h, &track, &ha, 105000)->state_changes, 21);
    for (unsigned i = 0; i < HA_HISTORY + 4; i++) /* more than are kept between two snapshots */
        flip(&ha, at++);
    CHECK_EQ_U(metrics_ha_fill(&h, &track, &ha, 105000)->state_changes, 21 + HA_HISTORY);
    CHECK_EQ_U(h.state, ha.fsm.state);
}

static void test_vip_samples(void)
{
    struct metrics_view v = build();
    char *text = render(&v);
    CHECK(!strstr(text, "rawlb_vip_") && !strstr(text, "rawlb_announcers"));
    free(text);
    struct vipstate s = { 0 };
    vipstate_update(&s, &table, true);
    CHECK(vipstate_report(&s, 0, "announced 198.51.100.10"));
    v.vips = &s;
    v.announcers = 1;
    text = render(&v);
    CHECK_LINE(text, "# TYPE rawlb_vip_eligible gauge");
    CHECK_LINE(text, "rawlb_vip_eligible{vip=\"198.51.100.10\"} 1");
    CHECK_LINE(text, "rawlb_vip_announced{vip=\"198.51.100.10\"} 1");
    CHECK_LINE(text, "rawlb_announcers 1");
    free(text);
    vipstate_update(&s, &table, false); /* a backup: not eligible, the report stays until it changes */
    CHECK(vipstate_report(&s, 0, "withdrawn 198.51.100.10"));
    v.announcers = 0;
    text = render(&v);
    CHECK_LINE(text, "rawlb_vip_eligible{vip=\"198.51.100.10\"} 0");
    CHECK_LINE(text, "rawlb_vip_announced{vip=\"198.51.100.10\"} 0");
    CHECK_LINE(text, "rawlb_announcers 0");
    free(text);
}

int main(void)
{
    test_samples();
    test_vip_samples();
    test_structure();
    test_escaping();
    test_truncated();
    test_snapshot();
    test_ha_samples();
    test_ha_fill();
    CHECK_DONE();
}
