/* test_statusjson: /status.json rendered from a hand-built service table: valid JSON (checked by a
 * strict parser here), every real server with weight, connections, rates and health (state,
 * since, last), the fast path's drops by reason, the interfaces, HA (null without --ha-role, role,
 * state, peer and links with it); the BGP announcement (null without the VIPs' state; with it,
 * rawlb-ctl status --json's members: an announced VIP, one not eligible, the announcers);
 * health results with quotes, backslashes and control
 * characters stay valid JSON; a short buffer says what the whole text needs; and a snapshot
 * holds both texts, /metrics and /status.json, whatever the size tried first. */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"
#include "svctable.h"
#include "metrics.h"
#include "scheduler.h"
#include "statusjson.h"

/* ---- a strict JSON checker (RFC 8259 grammar, no extensions) ---- */

#define JSON_MAX_DEPTH 32 /* far deeper than the status nests */

static const char *json_value(const char *p, int depth);

static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static const char *json_string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    for (; *p != '"'; p++) {
        if ((unsigned char)*p < 0x20) /* control characters only escaped; NUL: the text ended */
            return NULL;
        if (*p != '\\')
            continue;
        p++;
        if (*p == 'u') {
            for (int i = 1; i <= 4; i++)
                if (!isxdigit((unsigned char)p[i]))
                    return NULL;
            p += 4;
        } else if (!*p || !strchr("\"\\/bfnrt", *p)) {
            return NULL;
        }
    }
    return p + 1;
}

static const char *json_number(const char *p)
{
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (isdigit((unsigned char)*p))
        while (isdigit((unsigned char)*p))
            p++;
    else
        return NULL;
    if (*p == '.') {
        if (!isdigit((unsigned char)*++p))
            return NULL;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return NULL;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return p;
}

/* An object ({ string : value, ... }) or an array ([ value, ... ]) after its opening bracket. */
static const char *json_members(const char *p, char close, int depth)
{
    p = json_ws(p);
    if (*p == close)
        return p + 1;
    for (;;) {
        if (close == '}') {
            p = json_string(json_ws(p));
            if (!p || *(p = json_ws(p)) != ':')
                return NULL;
            p++;
        }
        p = json_value(p, depth + 1);
        if (!p)
            return NULL;
        p = json_ws(p);
        if (*p == close)
            return p + 1;
        if (*p++ != ',')
            return NULL;
    }
}

static const char *json_value(const char *p, int depth)
{
    if (depth > JSON_MAX_DEPTH)
        return NULL;
    p = json_ws(p);
    switch (*p) {
    case '{': return json_members(p + 1, '}', depth);
    case '[': return json_members(p + 1, ']', depth);
    case '"': return json_string(p);
    case 't': return strncmp(p, "true", 4) == 0 ? p + 4 : NULL;
    case 'f': return strncmp(p, "false", 5) == 0 ? p + 5 : NULL;
    case 'n': return strncmp(p, "null", 4) == 0 ? p + 4 : NULL;
    default: return json_number(p);
    }
}

static bool json_valid(const char *text)
{
    const char *end = json_value(text, 0);
    return end && *json_ws(end) == '\0';
}

/* The checker itself must be able to fail. */
static void test_checker(void)
{
    CHECK(json_valid("{\"a\":[1,-2.5e3,true,false,null,\"x\\u00e9\\n\"],\"b\":{}}\n"));
    CHECK(!json_valid("{\"a\":1,}"));
    CHECK(!json_valid("{\"a\" 1}"));
    CHECK(!json_valid("[1,2"));
    CHECK(!json_valid("{\"a\":\"line\nbreak\"}"));
    CHECK(!json_valid("{\"a\":01}"));
    CHECK(!json_valid("{\"a\":1} x"));
    CHECK(!json_valid("{\"a\":\"\\x41\"}"));
}

/* ---- the table ---- */

static struct service_table table;
static struct fastpath_stats fps;


static const char *last_of_rs1 = "ok";

/* Health as the daemon would describe it: service 0's rs 0 up, rs 1 down; service 1 not checked. */
static bool fake_health(void *arg, unsigned svc, unsigned rs, struct ctl_rs_health *h)
{
    (void)arg;
    if (svc != 0)
        return false;
    *h = rs == 0 ? (struct ctl_rs_health){ .state = "up", .since_s = 30, .last = last_of_rs1 }
                 : (struct ctl_rs_health){ .state = "down", .since_s = 4, .last = "connect refused" };
    return true;
}

static struct metrics_view build(void)
{
    memset(&table, 0, sizeof(table));
    memset(&fps, 0, sizeof(fps));
    struct service *svc = svctable_add_svc(&table, IPPROTO_TCP, "198.51.100.10", 80);
    struct real_server *rs = svctable_add_rs(svc, "203.0.113.11", 80, 3);
    rs->active = 2;
    rs->inactive = 5;
    rs->stats = (struct rs_stats){ .conns = 12, .in_pkts = 100, .out_pkts = 90, .in_bytes = 6000, .out_bytes = 123456 };
    rs->rate = (struct rs_stats){ .conns = 4, .in_pkts = 40, .out_pkts = 30, .in_bytes = 2400, .out_bytes = 45000 };
    rs = svctable_add_rs(svc, "203.0.113.12", 8080, 1);
    rs->available = false;
    svctable_add_rs(svctable_add_svc(&table, IPPROTO_UDP, "198.51.100.10", 53), "203.0.113.11", 53, 1);
    fps.rx_ext = 1000;
    fps.tx_int = 700;
    fps.drops[FP_DROP_NOT_SYN] = 7;
    return (struct metrics_view){ .services = &table, .fp = &fps, .health = fake_health, .ext_if = "ext",
                                  .int_if = "int", .conn_entries = 42, .conn_capacity = 1048576,
                                  .rx_kernel_drops_int = 3 };
}

/* The whole text, rendered into a buffer just large enough (what statusjson_render asked for). */
static char *render(const struct metrics_view *v)
{
    size_t need = statusjson_render(v, NULL, 0);
    char *buf = malloc(need + 1);
    CHECK(buf != NULL);
    CHECK_EQ_U(statusjson_render(v, buf, need + 1), need);
    CHECK_EQ_U(strlen(buf), need);
    return buf;
}

#define CHECK_HAS(text, part)                                                       \
    do {                                                                            \
        if (!strstr((text), (part))) {                                              \
            fprintf(stderr, "%s:%d: not in the JSON: %s\n", __FILE__, __LINE__, part); \
            check_failures++;                                                       \
        }                                                                           \
    } while (0)

static void test_fields(void)
{
    struct metrics_view v = build();
    char *t = render(&v);
    CHECK(json_valid(t));
    CHECK(strncmp(t, "{\"list\":{\"version\":\"" RAWLB_VERSION "\",\"size\":1048576,\"services\":[", 40) == 0);
    CHECK_HAS(t, "{\"proto\":\"TCP\",\"address\":\"198.51.100.10\",\"port\":80,\"scheduler\":\"wlc\"");
    CHECK_HAS(t, "{\"address\":\"203.0.113.11\",\"port\":80,\"forward\":\"Masq\",\"weight\":3,\"config_weight\":3,"
                 "\"available\":true,\"active\":2,\"inactive\":5,");
    CHECK_HAS(t, "\"rate\":{\"cps\":4,\"in_pps\":40,\"out_pps\":30,\"in_bps\":2400,\"out_bps\":45000}");
    CHECK_HAS(t, "\"health\":{\"checked\":true,\"state\":\"up\",\"since\":30,\"last\":\"ok\"}");
    CHECK_HAS(t, "\"address\":\"203.0.113.12\",\"port\":8080,\"forward\":\"Masq\",\"weight\":1");
    CHECK_HAS(t, "\"health\":{\"checked\":true,\"state\":\"down\",\"since\":4,\"last\":\"connect refused\"}");
    CHECK_HAS(t, "{\"proto\":\"UDP\",\"address\":\"198.51.100.10\",\"port\":53");
    CHECK_HAS(t, "\"health\":{\"checked\":false,\"state\":\"up\",\"since\":null,\"last\":\"not checked\"}");
    CHECK_HAS(t, "\"conn_table\":{\"entries\":42,\"capacity\":1048576}");
    CHECK_HAS(t, "\"interfaces\":[{\"name\":\"ext\",\"rx\":1000,\"tx\":0,\"receive_buffer_drops\":0,");
    CHECK_HAS(t, "{\"name\":\"int\",\"rx\":0,\"tx\":700,\"receive_buffer_drops\":3,\"overload_drops\":0,"
                 "\"vlan_drops\":0,\"send_failures\":0}]");
    CHECK_HAS(t, "\"drops\":{\"truncated\":0,");
    CHECK_HAS(t, "\"not_syn\":7");
    for (unsigned i = 0; i < FP_DROP_COUNT; i++) { /* every reason, by its name */
        char key[64];
        snprintf(key, sizeof key, "\"%s\":", fastpath_drop_name((enum fp_drop)i));
        CHECK_HAS(t, key);
    }
    CHECK_HAS(t, ",\"announce\":null,\"ha\":null}\n");
    free(t);

    /* Without fast-path stats nor a health describer: still valid, the parts absent say null. */
    v.fp = NULL;
    v.health = NULL;
    t = render(&v);
    CHECK(json_valid(t));
    CHECK_HAS(t, "\"interfaces\":null,\"drops\":null");
    CHECK(strstr(t, "\"health\"") == NULL);
    free(t);
}

static void test_escaping(void)
{
    struct metrics_view v = build();
    last_of_rs1 = "bad \"status\" \\ line\nnext\ttab\x01";
    char *t = render(&v);
    last_of_rs1 = "ok";
    CHECK(json_valid(t));
    CHECK_HAS(t, "\"last\":\"bad \\\"status\\\" \\\\ line\\nnext\\ttab\\u0001\"");
    free(t);
}

static void test_ha(void)
{
    struct metrics_view v = build();
    struct metrics_ha_view ha = { .role = HA_ROLE_BACKUP, .state = HA_STATE_MASTER, .node = 0x5df17e4d6d71e796ull,
                                  .epoch = 3, .n_links = 1 };
    memcpy(ha.links[0].ifname, "ext", 4);
    ha.links[0].peer = svctable_ip("198.51.100.3");
    v.ha = &ha;
    char *t = render(&v);
    CHECK(json_valid(t));
    CHECK_HAS(t, "\"ha\":{\"role\":\"backup\",\"state\":\"master\",\"node\":\"5df17e4d6d71e796\",\"epoch\":3,"
                 "\"peer\":{\"heard\":false,\"alive\":false,\"last_heartbeat_ms\":null,\"epoch\":null,"
                 "\"config_match\":null},\"links\":[{\"if\":\"ext\",\"peer\":\"198.51.100.3\",\"up\":false}]}");
    free(t);

    ha.peer_heard = ha.peer_alive = ha.links[0].up = true;
    ha.peer_age_ms = 1500;
    ha.peer_epoch = 7;
    ha.config_differs = true;
    t = render(&v);
    CHECK(json_valid(t));
    CHECK_HAS(t, "\"peer\":{\"heard\":true,\"alive\":true,\"last_heartbeat_ms\":1500,\"epoch\":7,"
                 "\"config_match\":false}");
    CHECK_HAS(t, "\"up\":true}]}");
    free(t);
}

/* The VIPs as rawlb-ctl status --json shows them: 198.51.100.10 has a real server up and was
 * reported announced; 198.51.100.20's only real server is down, so it is not eligible. */
static void test_announce(void)
{
    struct metrics_view v = build();
    struct service *svc = svctable_add_svc(&table, IPPROTO_TCP, "198.51.100.20", 80);
    svctable_add_rs(svc, "203.0.113.13", 80, 1)->available = false;
    struct vipstate s = { 0 };
    vipstate_update(&s, &table, true);
    CHECK(vipstate_report(&s, 0, "announced 198.51.100.10"));
    v.vips = &s;
    v.announcers = 1;
    char *t = render(&v);
    CHECK(json_valid(t));
    CHECK_HAS(t, ",\"announce\":{\"announcers\":1,\"vips\":["
                 "{\"vip\":\"198.51.100.10\",\"eligible\":\"up\",\"announcer\":true,\"reported\":\"announced\"},"
                 "{\"vip\":\"198.51.100.20\",\"eligible\":\"down\",\"announcer\":true,\"reported\":\"none\"}]},"
                 "\"ha\":null}\n");
    free(t);

    /* the announcer gone: its report is void, and nobody is connected */
    vipstate_forget(&s, 0);
    v.announcers = 0;
    t = render(&v);
    CHECK(json_valid(t));
    CHECK_HAS(t, "\"announce\":{\"announcers\":0,\"vips\":[{\"vip\":\"198.51.100.10\",\"eligible\":\"up\","
                 "\"announcer\":false,\"reported\":\"none\"},");
    free(t);
}

/* A buffer too short: the length the whole text needs all the same, never an overrun. */
static void test_short_buffer(void)
{
    struct metrics_view v = build();
    size_t need = statusjson_render(&v, NULL, 0);
    CHECK(need > 100);
    char *buf = malloc(need + 8);
    CHECK(buf != NULL);
    memset(buf, 'x', need + 8);
    CHECK_EQ_U(statusjson_render(&v, buf, need), need); /* no room for the NUL: incomplete */
    CHECK(buf[need] == 'x' && strlen(buf) < need);
    CHECK_EQ_U(statusjson_render(&v, buf, 64), need);
    CHECK(strlen(buf) < 64);
    free(buf);
}

/* One snapshot holds both texts, each exactly as its renderer makes it, however small the first try. */
static void test_snapshot(void)
{
    struct metrics_view v = build();
    size_t metrics_need = metrics_render(&v, NULL, 0);
    char *status = render(&v);
    size_t cap_hints[] = { 16, metrics_need + 1, metrics_need + 2, 1u << 20 };
    for (unsigned i = 0; i < sizeof cap_hints / sizeof cap_hints[0]; i++) {
        size_t cap = cap_hints[i];
        struct metrics_snapshot *s = metrics_snapshot_render(&v, &cap);
        CHECK(s != NULL);
        CHECK_EQ_U(s->len, metrics_need);
        CHECK_EQ_U(strlen(s->text), metrics_need);
        CHECK_EQ_U(s->status_len, strlen(status));
        CHECK(strcmp(metrics_snapshot_status(s), status) == 0);
        CHECK(json_valid(metrics_snapshot_status(s)));
        metrics_snapshot_unref(s);
    }
    free(status);
}

int main(void)
{
    test_checker();
    test_fields();
    test_escaping();
    test_ha();
    test_announce();
    test_short_buffer();
    test_snapshot();
    CHECK_DONE();
}
