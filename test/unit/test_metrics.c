/* test_metrics: the /metrics text rendered from a hand-built service table: exact sample lines,
 * HELP and TYPE before every family's samples, label escaping, health states into rawlb_rs_up,
 * the sorry server, and cut output (whole lines, the full length returned). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"
#include "metrics.h"
#include "scheduler.h"

static struct service_table table;
static struct fastpath_stats fps;

static uint32_t ip(const char *s)
{
    struct in_addr in;
    inet_pton(AF_INET, s, &in);
    return in.s_addr;
}

static struct service *add_svc(uint8_t proto, const char *vip, uint16_t port)
{
    struct service *svc = &table.svc[table.n++];
    memset(svc, 0, sizeof(*svc));
    svc->proto = proto;
    svc->vip.addr = ip(vip);
    svc->vip.port = htons(port);
    svc->sched = &sched_wlc_ops;
    svc->persist_mask = 0xffffffffu;
    return svc;
}

static struct real_server *add_rs(struct service *svc, const char *addr, uint16_t port, int weight)
{
    struct real_server *rs = &svc->rs[svc->n_rs++];
    rs->ep.addr = ip(addr);
    rs->ep.port = htons(port);
    rs->weight = rs->config_weight = weight;
    rs->available = true;
    return rs;
}

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
    struct service *svc = add_svc(IPPROTO_TCP, "198.51.100.10", 80);
    struct real_server *rs = add_rs(svc, "203.0.113.11", 80, 3);
    rs->stats = (struct rs_stats){ .conns = 12, .in_pkts = 100, .out_pkts = 90, .in_bytes = 6000, .out_bytes = 123456 };
    rs->active = 2;
    rs->inactive = 5;
    rs = add_rs(svc, "203.0.113.12", 8080, 1);
    rs->stats = (struct rs_stats){ .conns = 8, .in_pkts = 1, .out_pkts = 2, .in_bytes = 3, .out_bytes = 4 };
    rs->active = 1;
    rs->available = false;
    svc->has_sorry = true;
    svc->rs[2].ep.addr = ip("203.0.113.99");
    svc->rs[2].ep.port = htons(80);
    svc->rs[2].weight = 1;
    svc->rs[2].stats.conns = 1;
    svc = add_svc(IPPROTO_UDP, "198.51.100.10", 53);
    rs = add_rs(svc, "203.0.113.13", 53, 0);
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
    CHECK_LINE(t, "rawlb_ha_role{role=\"master\"} 1");
    CHECK_LINE(t, "# TYPE rawlb_ha_role gauge");
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
static void test_structure(void)
{
    struct metrics_view v = build();
    char *t = render(&v);
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
        CHECK(strspn(rest + 1, "0123456789") == strlen(rest + 1) && rest[1]);
        samples++;
    }
    CHECK(samples > 50);
    free(t);
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

int main(void)
{
    test_samples();
    test_structure();
    test_escaping();
    test_truncated();
    CHECK_DONE();
}
