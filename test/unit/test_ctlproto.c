/* test_ctlproto: every answer of the control protocol: list byte for byte in ipvsadm -L -n layout
 * (plain, --stats, --rate, --health), its JSON, the connection table as ipvsadm -L -n -c, save
 * (and that its command line parses back into the same list), cut output, and request parsing. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testing.h"
#include "config.h"
#include "conn.h"
#include "ctlproto.h"
#include "scheduler.h"

static struct service_table table;

static uint32_t ip(const char *s)
{
    struct in_addr in;
    inet_pton(AF_INET, s, &in);
    return in.s_addr;
}

static struct service *add_svc(uint8_t proto, const char *vip, uint16_t port, const struct sched_ops *ops)
{
    struct service *svc = &table.svc[table.n++];
    memset(svc, 0, sizeof(*svc));
    svc->proto = proto;
    svc->vip.addr = ip(vip);
    svc->vip.port = htons(port);
    svc->sched = ops;
    svc->persist_mask = 0xffffffffu;
    return svc;
}

static void add_rs(struct service *svc, const char *addr, uint16_t port, int weight, uint32_t active,
                   uint32_t inactive)
{
    struct real_server *rs = &svc->rs[svc->n_rs++];
    rs->ep.addr = ip(addr);
    rs->ep.port = htons(port);
    rs->weight = weight;
    rs->available = true;
    rs->active = active;
    rs->inactive = inactive;
}

static const char expected[] =
    "rawlb " RAWLB_VERSION " (size=1048576)\n"
    "Prot LocalAddress:Port Scheduler Flags\n"
    "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
    "TCP  198.51.100.10:80 wlc\n"
    "  -> 203.0.113.11:80              Masq    3      0          0         \n"
    "  -> 203.0.113.12:8080            Masq    0      12345      4294967295\n"
    "UDP  198.51.100.10:53 rr ops\n"
    "TCP  198.51.100.10:443 sh persistent 300 mask 255.255.255.0\n"
    "  -> 203.0.113.13:443             Masq    65535  1          2         \n"
    "TCP  198.51.100.10:8443 lc persistent 60\n"
    "UDP  198.51.100.10:5353 wrr persistent 10 ops\n";

static void build(void)
{
    memset(&table, 0, sizeof(table));
    struct service *svc = add_svc(IPPROTO_TCP, "198.51.100.10", 80, &sched_wlc_ops);
    add_rs(svc, "203.0.113.11", 80, 3, 0, 0);
    add_rs(svc, "203.0.113.12", 8080, 0, 12345, 4294967295u);
    svc = add_svc(IPPROTO_UDP, "198.51.100.10", 53, &sched_rr_ops);
    svc->one_packet = true;
    svc = add_svc(IPPROTO_TCP, "198.51.100.10", 443, &sched_sh_ops);
    svc->persist_timeout = 300;
    svc->persist_mask = ip("255.255.255.0");
    add_rs(svc, "203.0.113.13", 443, 65535, 1, 2);
    svc = add_svc(IPPROTO_TCP, "198.51.100.10", 8443, &sched_lc_ops);
    svc->persist_timeout = 60; /* /32: no mask shown */
    svc = add_svc(IPPROTO_UDP, "198.51.100.10", 5353, &sched_wrr_ops);
    svc->persist_timeout = 10;
    svc->one_packet = true;
}

static void test_full(void)
{
    char buf[4096];
    build();
    memset(buf, 'X', sizeof(buf));
    size_t n = ctlproto_render_list(&table, 1048576, NULL, buf, sizeof(buf));
    CHECK_EQ_U(n, strlen(expected));
    CHECK_EQ_U(strlen(buf), n);
    if (strcmp(buf, expected) != 0) {
        fprintf(stderr, "got:\n%s---\nwant:\n%s---\n", buf, expected);
        check_failures++;
    }
    /* Exactly big enough. */
    char exact[sizeof(expected)];
    CHECK_EQ_U(ctlproto_render_list(&table, 1048576, NULL, exact, sizeof(exact)), strlen(expected));
    CHECK(strcmp(exact, expected) == 0);
}

static void test_empty(void)
{
    char buf[512];
    memset(&table, 0, sizeof(table));
    size_t n = ctlproto_render_list(&table, 4096, NULL, buf, sizeof(buf));
    CHECK(strcmp(buf, "rawlb " RAWLB_VERSION " (size=4096)\n"
                      "Prot LocalAddress:Port Scheduler Flags\n"
                      "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n") == 0);
    CHECK_EQ_U(n, strlen(buf));
}

/* Every buffer size from 0 up: never past len, always a prefix of whole lines ending in '\n'. */
static void test_truncated(void)
{
    char buf[sizeof(expected) + 16];
    build();
    for (size_t len = 0; len < sizeof(expected); len++) {
        memset(buf, 'X', sizeof(buf));
        size_t n = ctlproto_render_list(&table, 1048576, NULL, buf, len);
        CHECK(buf[len] == 'X'); /* nothing written past len */
        if (len == 0) {
            CHECK_EQ_U(n, 0);
            continue;
        }
        CHECK(n < len);
        CHECK_EQ_U(strlen(buf), n);
        if (len < 2) continue;
        CHECK(n > 0 && buf[n - 1] == '\n');
        /* Whole lines of the full answer, unless not even the first one fits. */
        size_t first = (size_t)(strchr(expected, '\n') - expected) + 1;
        if (len > first) {
            CHECK(strncmp(buf, expected, n) == 0);
            CHECK(expected[n - 1] == '\n');
        }
    }
    /* One byte short of the whole answer: the last line goes, the rest stays. */
    size_t last = strlen(expected) - strlen("UDP  198.51.100.10:5353 wrr persistent 10 ops\n");
    CHECK_EQ_U(ctlproto_render_list(&table, 1048576, NULL, buf, sizeof(expected) - 1), last);
    CHECK(strncmp(buf, expected, last) == 0 && buf[last] == '\0');
}

static void expect_text(const char *what, const char *got, const char *want)
{
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "%s: got:\n%s---\nwant:\n%s---\n", what, got, want);
        check_failures++;
    }
}

static void set_stats(struct real_server *rs, uint64_t conns, uint64_t in_pkts, uint64_t out_pkts, uint64_t in_bytes,
                      uint64_t out_bytes)
{
    rs->stats = (struct rs_stats){conns, in_pkts, out_pkts, in_bytes, out_bytes};
    rs->rate = (struct rs_stats){conns * 2, in_pkts * 2, out_pkts * 2, in_bytes * 2, out_bytes * 2};
}

static void build_stats(void)
{
    memset(&table, 0, sizeof(table));
    struct service *svc = add_svc(IPPROTO_TCP, "198.51.100.10", 80, &sched_wlc_ops);
    svc->persist_timeout = 60; /* not shown with --stats, as in ipvsadm */
    add_rs(svc, "203.0.113.11", 80, 3, 2, 1);
    add_rs(svc, "203.0.113.12", 8080, 1, 0, 0);
    set_stats(&svc->rs[0], 3, 30, 20, 1500, 123456789);
    set_stats(&svc->rs[1], 1, 10, 5, 600, 7000);
    add_svc(IPPROTO_UDP, "198.51.100.10", 53, &sched_rr_ops);
}

/* ipvsadm -L -n --stats --exact: 33 columns of name, then each number in 9 (a longer one gets one space). */
static const char expected_stats[] =
    "rawlb " RAWLB_VERSION " (size=1048576)\n"
    "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n"
    "  -> RemoteAddress:Port\n"
    "TCP  198.51.100.10:80                    4       40       25     2100 123463789\n"
    "  -> 203.0.113.11:80                     3       30       20     1500 123456789\n"
    "  -> 203.0.113.12:8080                   1       10        5      600     7000\n"
    "UDP  198.51.100.10:53                    0        0        0        0        0\n";

static const char expected_rate[] =
    "rawlb " RAWLB_VERSION " (size=1048576)\n"
    "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n"
    "  -> RemoteAddress:Port\n"
    "TCP  198.51.100.10:80                    8       80       50     4200 246927578\n"
    "  -> 203.0.113.11:80                     6       60       40     3000 246913578\n"
    "  -> 203.0.113.12:8080                   2       20       10     1200    14000\n"
    "UDP  198.51.100.10:53                    0        0        0        0        0\n";

static const char *health_last = "ok";

static bool fake_health(void *arg, unsigned svc, unsigned rs, struct ctl_rs_health *h)
{
    (void)arg;
    if (svc != 0 || rs != 0)
        return false;
    *h = (struct ctl_rs_health){.state = "up", .since_s = 5, .last = health_last};
    return true;
}

static void test_stats_rate(void)
{
    char buf[4096];
    build_stats();
    struct ctl_list_opts opts = {.stats = true};
    size_t n = ctlproto_render_list(&table, 1048576, &opts, buf, sizeof buf);
    expect_text("--stats", buf, expected_stats);
    CHECK_EQ_U(n, strlen(expected_stats));
    opts = (struct ctl_list_opts){.rate = true};
    ctlproto_render_list(&table, 1048576, &opts, buf, sizeof buf);
    expect_text("--rate", buf, expected_rate);

    /* A number past 8 digits keeps a space before it. */
    table.svc[0].rs[1].stats.in_bytes = 12345678901ull;
    opts = (struct ctl_list_opts){.stats = true};
    ctlproto_render_list(&table, 1048576, &opts, buf, sizeof buf);
    CHECK(strstr(buf, "  -> 203.0.113.12:8080                   1       10        5 12345678901     7000\n"));

    /* --stats --health: the health columns after the numbers, the header aligned with them. */
    opts = (struct ctl_list_opts){.stats = true, .health = fake_health};
    ctlproto_render_list(&table, 1048576, &opts, buf, sizeof buf);
    const char *hdr = strstr(buf, "  -> RemoteAddress:Port");
    const char *row = strstr(buf, "  -> 203.0.113.11:80");
    CHECK(hdr && row);
    if (hdr && row) {
        CHECK(strncmp(hdr + 77, "  State        Since   Last\n", 28) == 0);
        CHECK(strncmp(row + 79, " up           5s      ok\n", 25) == 0); /* a 9-digit number: 79 columns */
    }
    CHECK(strstr(buf, "  -> 203.0.113.12:8080                   1       10        5 12345678901     7000 up           -       not checked\n"));

    /* Plain list --health as before. */
    opts = (struct ctl_list_opts){.health = fake_health};
    ctlproto_render_list(&table, 1048576, &opts, buf, sizeof buf);
    CHECK(strstr(buf, "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn  State        Since   Last\n"));
    CHECK(strstr(buf, "  -> 203.0.113.11:80              Masq    3      2          1          up           5s      ok\n"));
    CHECK(strstr(buf, "TCP  198.51.100.10:80 wlc persistent 60\n"));
}

/* ipvsadm -L -n --thresholds: the service's name in 33 columns, then Uthreshold Lthreshold
 * ActiveConn InActConn in 10 each, and rawlb's Overloaded. */
static const char expected_thresholds[] =
    "rawlb " RAWLB_VERSION " (size=1048576)\n"
    "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn Overloaded\n"
    "  -> RemoteAddress:Port\n"
    "TCP  198.51.100.10:80            \n"
    "  -> 203.0.113.11:80              3          2          2          1          yes       \n"
    "  -> 203.0.113.12:8080            0          0          0          0          no        \n"
    "UDP  198.51.100.10:53            \n";

static void test_thresholds(void)
{
    char buf[4096];
    build_stats();
    struct real_server *rs = &table.svc[0].rs[0];
    rs->u_threshold = 3;
    rs->l_threshold = 2;
    rs->overloaded = true;
    struct ctl_list_opts opts = {.thresholds = true};
    size_t n = ctlproto_render_list(&table, 1048576, &opts, buf, sizeof buf);
    expect_text("--thresholds", buf, expected_thresholds);
    CHECK_EQ_U(n, strlen(expected_thresholds));

    /* --thresholds --health: the header's health columns over the rows'. */
    opts.health = fake_health;
    ctlproto_render_list(&table, 1048576, &opts, buf, sizeof buf);
    const char *hdr = strstr(buf, "  -> RemoteAddress:Port"), *row = strstr(buf, "  -> 203.0.113.11:80");
    CHECK(hdr && row && strncmp(hdr + 87, "  State        Since   Last\n", 28) == 0 &&
          strncmp(row + 88, " up           5s      ok\n", 25) == 0);

    /* JSON has them always. */
    static char json[16384];
    opts = (struct ctl_list_opts){.json = true};
    ctlproto_render_list(&table, 4096, &opts, json, sizeof json);
    CHECK(strstr(json, "\"active\":2,\"inactive\":1,\"persistent\":0,\"u_threshold\":3,\"l_threshold\":2,"
                       "\"overloaded\":true,"));
    CHECK(strstr(json, "\"u_threshold\":0,\"l_threshold\":0,\"overloaded\":false,"));
}

/* Braces and brackets balance outside strings, strings end, nothing follows the object. */
static bool json_balanced(const char *s)
{
    int depth = 0;
    bool in_str = false;
    for (const char *p = s; *p; p++) {
        if (in_str) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '"')
                in_str = false;
            else if ((unsigned char)*p < 0x20)
                return false;
            continue;
        }
        if (*p == '"')
            in_str = true;
        else if (*p == '{' || *p == '[')
            depth++;
        else if (*p == '}' || *p == ']') {
            if (--depth < 0)
                return false;
            if (depth == 0 && strcmp(p + 1, "\n") != 0)
                return false;
        }
    }
    return depth == 0 && !in_str;
}

static void test_json(void)
{
    static char buf[16384];
    build_stats();
    struct service *svc = &table.svc[0];
    svc->has_sorry = true; /* listed in JSON even when not in use */
    svc->rs[svc->n_rs].ep.addr = ip("203.0.113.99");
    svc->rs[svc->n_rs].ep.port = htons(80);
    health_last = "connect \"refused\"\\\n\x01";
    struct ctl_list_opts opts = {.json = true, .health = fake_health};
    size_t n = ctlproto_render_list(&table, 4096, &opts, buf, sizeof buf);
    CHECK_EQ_U(n, strlen(buf));
    CHECK(json_balanced(buf));
    CHECK(strncmp(buf, "{\"version\":\"" RAWLB_VERSION "\",\"size\":4096,\"services\":[{\"proto\":\"TCP\","
                       "\"address\":\"198.51.100.10\",\"port\":80,\"scheduler\":\"wlc\",\"sched_flags\":\"\",\"persistent\":60,",
                  strlen("{\"version\":\"" RAWLB_VERSION "\",\"size\":4096,\"services\":[{\"proto\":\"TCP\","
                         "\"address\":\"198.51.100.10\",\"port\":80,\"scheduler\":\"wlc\",\"sched_flags\":\"\",\"persistent\":60,")) == 0);
    CHECK(strstr(buf, "\"stats\":{\"conns\":4,\"in_pkts\":40,\"out_pkts\":25,\"in_bytes\":2100,\"out_bytes\":123463789}"));
    CHECK(strstr(buf, "\"rate\":{\"cps\":8,\"in_pps\":80,\"out_pps\":50,\"in_bps\":4200,\"out_bps\":246927578}"));
    CHECK(strstr(buf, "{\"address\":\"203.0.113.11\",\"port\":80,\"forward\":\"Masq\",\"weight\":3,"));
    CHECK(strstr(buf, "\"active\":2,\"inactive\":1,"));
    CHECK(strstr(buf, "\"health\":{\"checked\":true,\"state\":\"up\",\"since\":5,"
                      "\"last\":\"connect \\\"refused\\\"\\\\\\n\\u0001\"}"));
    CHECK(strstr(buf, "\"health\":{\"checked\":false,\"state\":\"up\",\"since\":null,\"last\":\"not checked\"}"));
    CHECK(strstr(buf, "\"address\":\"203.0.113.99\",\"port\":80,") && strstr(buf, "\"sorry\":true,\"in_use\":false"));
    CHECK(strstr(buf, "{\"proto\":\"UDP\",\"address\":\"198.51.100.10\",\"port\":53,\"scheduler\":\"rr\",\"sched_flags\":\"\","
                      "\"persistent\":0,\"netmask\":\"255.255.255.255\",\"ops\":false,"));
    CHECK(strstr(buf, "\"real_servers\":[]}]}\n"));
    health_last = "ok";

    /* Without health: no "health" key. Too small: an error line, never cut JSON. */
    opts.health = NULL;
    ctlproto_render_list(&table, 4096, &opts, buf, sizeof buf);
    CHECK(json_balanced(buf) && !strstr(buf, "\"health\""));
    char small[200];
    n = ctlproto_render_list(&table, 4096, &opts, small, sizeof small);
    CHECK(strncmp(small, "error: list --json: the answer is larger than 200 bytes\n", n) == 0 && n == strlen(small));
}

static struct conn *add_conn(struct conn_table *ct, uint8_t proto, const char *c, uint16_t cport, const char *v,
                             uint16_t vport, const char *d, uint16_t dport, uint16_t flags, unsigned state,
                             uint32_t expires, uint16_t svc)
{
    struct conn k = {.caddr = ip(c), .cport = htons(cport), .vaddr = ip(v), .vport = htons(vport), .daddr = ip(d),
                     .dport = htons(dport), .proto = proto, .flags = flags, .svc = svc, .template = CONN_NONE,
                     .template_timeout = 300, .state = (uint8_t)state};
    struct conn *e = conn_import(ct, &k, expires - ct->now); /* made in its state, as a synced one */
    CHECK(e != NULL);
    return e;
}

static void test_conns(void)
{
    static char buf[8192];
    struct conn_table ct;
    struct timeouts to = {900, 120, 300};
    memset(&table, 0, sizeof(table));
    struct service *svc = add_svc(IPPROTO_TCP, "198.51.100.10", 80, &sched_wlc_ops);
    svc->persist_timeout = 300;
    svc->persist_mask = ip("255.255.255.0");
    add_svc(IPPROTO_UDP, "198.51.100.10", 53, &sched_rr_ops);
    CHECK(conn_table_init(&ct, 64, &to, &(struct siphash_key){ 7, 0 }));
    add_conn(&ct, IPPROTO_TCP, "198.51.100.100", 40000, "198.51.100.10", 80, "203.0.113.11", 80, 0,
             TCP_S_ESTABLISHED, 100 + 899, 0);
    add_conn(&ct, IPPROTO_TCP, "198.51.100.0", 0, "198.51.100.10", 0, "203.0.113.11", 80, CONN_F_TEMPLATE,
             CONN_S_TEMPLATE, 100 + 300, 0);
    add_conn(&ct, IPPROTO_UDP, "198.51.100.7", 5353, "198.51.100.10", 53, "203.0.113.12", 53, 0, CONN_S_UDP, 100 + 5,
             1);
    add_conn(&ct, IPPROTO_TCP, "10.1.2.3", 1234, "198.51.100.10", 80, "203.0.113.12", 80, 0, TCP_S_TIME_WAIT, 90, 0);

    static const char header[] = "IPVS connection entries\n"
                                 "pro expire state       source             virtual            destination\n";
    static const char l_tcp[] = "TCP 14:59  ESTABLISHED 198.51.100.100:40000 198.51.100.10:80   203.0.113.11:80   \n";
    static const char l_tpl[] = "TCP 05:00  NONE        198.51.100.0:0     198.51.100.10:0    203.0.113.11:80   \n";
    static const char l_udp[] = "UDP 00:05  UDP         198.51.100.7:5353  198.51.100.10:53   203.0.113.12:53   \n";
    static const char l_tw[] = "TCP 00:00  TIME_WAIT   10.1.2.3:1234      198.51.100.10:80   203.0.113.12:80   \n";
    char want[1024];
    struct conn_table *tables[] = { &ct };

    size_t n = ctlproto_render_conns(&table, tables, 1, 100, NULL, false, buf, sizeof buf);
    snprintf(want, sizeof want, "%s%s%s%s%s", header, l_tcp, l_tpl, l_udp, l_tw);
    expect_text("conns", buf, want);
    CHECK_EQ_U(n, strlen(want));

    /* By service: the all-port template on its VIP goes with it. */
    struct ctl_conn_filter f = {.by_service = true, .proto = IPPROTO_TCP, .vip = {ip("198.51.100.10"), htons(80)}};
    ctlproto_render_conns(&table, tables, 1, 100, &f, false, buf, sizeof buf);
    snprintf(want, sizeof want, "%s%s%s%s", header, l_tcp, l_tpl, l_tw);
    expect_text("conns --service tcp:198.51.100.10:80", buf, want);
    f = (struct ctl_conn_filter){.by_service = true, .proto = IPPROTO_UDP, .vip = {ip("198.51.100.10"), htons(53)}};
    ctlproto_render_conns(&table, tables, 1, 100, &f, false, buf, sizeof buf);
    snprintf(want, sizeof want, "%s%s", header, l_udp);
    expect_text("conns --service udp:198.51.100.10:53", buf, want);
    /* A service that does not exist: an error, not an empty list. */
    f = (struct ctl_conn_filter){.by_service = true, .proto = IPPROTO_TCP, .vip = {ip("198.51.100.99"), htons(80)}};
    ctlproto_render_conns(&table, tables, 1, 100, &f, false, buf, sizeof buf);
    expect_text("conns --service tcp:198.51.100.99:80", buf,
                "error: conns: no service TCP 198.51.100.99:80 (rawlb-ctl list shows them)\n");
    /* By client: its template through the service's netmask. */
    f = (struct ctl_conn_filter){.by_client = true, .client = ip("198.51.100.100")};
    ctlproto_render_conns(&table, tables, 1, 100, &f, false, buf, sizeof buf);
    snprintf(want, sizeof want, "%s%s%s", header, l_tcp, l_tpl);
    expect_text("conns --client 198.51.100.100", buf, want);
    f.client = ip("10.9.9.9");
    ctlproto_render_conns(&table, tables, 1, 100, &f, false, buf, sizeof buf);
    expect_text("conns --client 10.9.9.9", buf, header);

    /* JSON */
    n = ctlproto_render_conns(&table, tables, 1, 100, NULL, true, buf, sizeof buf);
    CHECK(json_balanced(buf) && n == strlen(buf));
    CHECK(strncmp(buf, "{\"conns\":[{\"proto\":\"TCP\",\"expire\":899,\"state\":\"ESTABLISHED\",\"template\":false,"
                       "\"source\":{\"address\":\"198.51.100.100\",\"port\":40000},\"virtual\":{\"address\":"
                       "\"198.51.100.10\",\"port\":80},\"destination\":{\"address\":\"203.0.113.11\",\"port\":80}},",
                  200) == 0);
    CHECK(strstr(buf, "\"state\":\"NONE\",\"template\":true,"));
    CHECK(strstr(buf, "],\"shown\":4,\"left_out\":0}\n"));

    /* Full answer: whole lines, then one saying how many were left out. */
    for (unsigned i = 0; i < 40; i++)
        add_conn(&ct, IPPROTO_TCP, "198.51.100.200", (uint16_t)(1000 + i), "198.51.100.10", 80, "203.0.113.11", 80,
                 0, TCP_S_ESTABLISHED, 1000, 0);
    size_t len = 1500;
    n = ctlproto_render_conns(&table, tables, 1, 100, NULL, false, buf, len);
    CHECK(n < len && n == strlen(buf) && buf[n - 1] == '\n');
    const char *last = buf + n - 1;
    while (last > buf && last[-1] != '\n')
        last--;
    unsigned lines = 0, left = 0;
    for (const char *p = buf; p < last; p++)
        lines += *p == '\n';
    CHECK(sscanf(last, "... %u more entries left out", &left) == 1);
    CHECK_EQ_U(lines - 2 + left, 44);
    CHECK(left > 0 && left < 44);
    n = ctlproto_render_conns(&table, tables, 1, 100, NULL, true, buf, len);
    CHECK(json_balanced(buf) && n < len);
    unsigned shown = 0;
    const char *tail = strstr(buf, "],\"shown\":");
    CHECK(tail && sscanf(tail, "],\"shown\":%u,\"left_out\":%u}", &shown, &left) == 2 && shown + left == 44 && left);
    conn_table_free(&ct);
}

/* Splits a saved command line as a shell would (plain words and '...' with '\'' inside). */
static int shell_split(const char *line, char *store, char **argv, int max)
{
    int n = 0;
    const char *p = line;
    char *o = store;
    while (*p && *p != '\n') {
        while (*p == ' ')
            p++;
        if (!*p || *p == '\n' || n == max)
            break;
        argv[n++] = o;
        while (*p && *p != ' ' && *p != '\n') {
            if (*p == '\'') {
                for (p++; *p && *p != '\''; p++)
                    *o++ = *p;
                if (*p) p++;
            } else if (*p == '\\' && p[1]) {
                *o++ = p[1];
                p += 2;
            } else {
                *o++ = *p++;
            }
        }
        *o++ = '\0';
    }
    return n;
}

static bool parse_line(const char *line, struct rawlb_config *cfg)
{
    static char store[4096];
    char *argv[128], err[RAWLB_ERRLEN * 2];
    int argc = shell_split(line, store, argv, 128);
    if (config_parse(cfg, argc, argv, err, sizeof err) != CONFIG_OK) {
        fprintf(stderr, "config_parse of '%s': %s\n", line, err);
        return false;
    }
    return true;
}

static void test_save(void)
{
    static struct rawlb_config cfg, back;
    static struct service_table t1, t2;
    static char buf[4096], buf2[4096], l1[4096], l2[4096];
    char err[RAWLB_ERRLEN];
    /* As a shell reads it: '...' and backslashes, which shell_split understands. */
    const char *line =
        "rawlb -e ext -i int -n 203.0.113.1 --timeouts 900,60,300 --max-conns 4096 --ctl /tmp/my\\ lb.sock "
        "--pidfile /tmp/lb.pid -t 198.51.100.10:80 -s wrr -p 300 -M 24 --check http:/health --expect-status 204 "
        "--expect 'it'\\''s ok' --check-interval 0.5 --probe-timeout 1.25 --check-timeout 30 --reentry 0 --quiesce "
        "--sorry-server 203.0.113.99:80 --agent-port 9999 --check-port 8080 -r 203.0.113.11:80:3 -r 203.0.113.12:80:0 "
        "-u 198.51.100.10:53 -s rr -o --check udp --send ping -r 203.0.113.11:53 "
        "-t 198.51.100.10:443 -r 203.0.113.11:443";
    CHECK(parse_line(line, &cfg));

    size_t n = ctlproto_render_save(&cfg, buf, sizeof buf);
    expect_text("save", buf,
                "rawlb -e ext -i int -n 203.0.113.1 --timeouts 900,60,300 --max-conns 4096 --ctl '/tmp/my lb.sock' "
                "--pidfile /tmp/lb.pid -t 198.51.100.10:80 -s wrr -p 300 -M 255.255.255.0 --check http:/health "
                "--expect-status 204 --expect 'it'\\''s ok' --check-port 8080 --check-interval 0.5 "
                "--probe-timeout 1.25 --check-timeout 30 --reentry 0 --quiesce --sorry-server 203.0.113.99:80 "
                "--agent-port 9999 -r 203.0.113.11:80:3 -r 203.0.113.12:80:0 -u 198.51.100.10:53 -s rr -o "
                "--check udp --send ping -r 203.0.113.11:53:1 -t 198.51.100.10:443 -s wlc -r 203.0.113.11:443:1\n");
    CHECK_EQ_U(n, strlen(buf));

    /* Fed back to rawlb: the same configuration, so the same list and the same save. */
    CHECK(parse_line(buf, &back));
    ctlproto_render_save(&back, buf2, sizeof buf2);
    expect_text("save of the saved line", buf2, buf);
    CHECK(service_table_init(&t1, &cfg, err, sizeof err) && service_table_init(&t2, &back, err, sizeof err));
    ctlproto_render_list(&t1, cfg.max_conns, NULL, l1, sizeof l1);
    ctlproto_render_list(&t2, back.max_conns, NULL, l2, sizeof l2);
    expect_text("list of the saved line", l2, l1);
    CHECK(memcmp(&cfg.services[0].check, &back.services[0].check, sizeof cfg.services[0].check) == 0);
    CHECK(memcmp(&cfg.services[1].check, &back.services[1].check, sizeof cfg.services[1].check) == 0);
    service_table_free(&t1);
    service_table_free(&t2);

    /* Defaults only: nothing but what is needed. */
    CHECK(parse_line("rawlb -e a -i b -n 203.0.113.1 -t 198.51.100.10:80 -r 203.0.113.11:80", &cfg));
    ctlproto_render_save(&cfg, buf, sizeof buf);
    expect_text("save of defaults", buf, "rawlb -e a -i b -n 203.0.113.1 -t 198.51.100.10:80 -s wlc -r 203.0.113.11:80:1\n");

    /* A worker count other than this host's default is this daemon's own: printed. */
    cfg.workers = config_default_workers() + 1;
    ctlproto_render_save(&cfg, buf, sizeof buf);
    char want_workers[32];
    snprintf(want_workers, sizeof want_workers, " --workers %u ", cfg.workers);
    CHECK(strstr(buf, want_workers) != NULL);
    cfg.workers = config_default_workers();

    /* A service left without real servers by edits: its line without -r, which rawlb takes. */
    cfg.services[0].n_rs = 0;
    n = ctlproto_render_save(&cfg, buf, sizeof buf);
    expect_text("save of a service without servers", buf, "rawlb -e a -i b -n 203.0.113.1 -t 198.51.100.10:80 -s wlc\n");
    CHECK(n == strlen(buf) && parse_line(buf, &cfg));
    /* and no service at all */
    cfg.n_services = 0;
    ctlproto_render_save(&cfg, buf, sizeof buf);
    expect_text("save of no service", buf, "rawlb -e a -i b -n 203.0.113.1\n");
    CHECK(parse_line(buf, &cfg) && cfg.n_services == 0);
    CHECK(parse_line("rawlb -e a -i b -n 203.0.113.1 -t 198.51.100.10:80 -r 203.0.113.11:80", &cfg));
    /* Too small: an error, never half a command line. */
    cfg.services[0].n_rs = 1;
    n = ctlproto_render_save(&cfg, buf, 40);
    CHECK(n < 40 && strncmp(buf, "error: ", 7) == 0 && buf[n - 1] == '\n');
}

/* ---- save and its sections with the HA flags ---- */

/* A key file (mode 0600) in a directory of its own, for --ha-key. */
static char ha_dir[64], ha_key[128];

static bool ha_key_up(void)
{
    snprintf(ha_dir, sizeof ha_dir, "/tmp/rawlb-ctlproto.XXXXXX");
    if (!mkdtemp(ha_dir))
        return false;
    snprintf(ha_key, sizeof ha_key, "%s/key", ha_dir);
    FILE *f = fopen(ha_key, "w");
    if (!f)
        return false;
    fputs("0123456789abcdef0123456789\n", f);
    fclose(f);
    return chmod(ha_key, 0600) == 0;
}

static void ha_key_down(void)
{
    unlink(ha_key);
    rmdir(ha_dir);
}

/* The line with KEY replaced by the key file's path, through config_parse_line. */
static bool parse_ha_line(const char *line, struct rawlb_config *cfg)
{
    static char full[4096];
    char err[RAWLB_ERRLEN * 2];
    const char *at = strstr(line, "KEY");
    if (at)
        snprintf(full, sizeof full, "%.*s%s%s", (int)(at - line), line, ha_key, at + 3);
    else
        snprintf(full, sizeof full, "%s", line);
    if (config_parse_line(cfg, full, err, sizeof err) != CONFIG_OK) {
        fprintf(stderr, "config_parse_line of '%s': %s\n", full, err);
        return false;
    }
    return true;
}

/* The flags that may differ between the two directors of a pair, and the ones they share. */
static const char *const per_host_flags[] = { "--ctl",     "--pidfile", "--user",   "--ctl-group",
                                              "--metrics", "--ha-role", "--ha-peer", "--ha-if",
                                              "--ha-key",  "--ha-notify", "--state-dir" };
static const char *const shared_ha_flags[] = { "--ha-port", "--ha-interval", "--ha-deadtime", "--ha-track" };
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static unsigned flags_in(const char *text, const char *const *flags, size_t n)
{
    unsigned found = 0;
    for (size_t i = 0; i < n; i++)
        found += strstr(text, flags[i]) != NULL;
    return found;
}

/* The two directors' lines: the same services and shared flags, every per-host flag different. */
#define HA_SERVICES                                                                                          \
    " -t 198.51.100.10:80 -s wrr -p 300 -M 24 --check http:/health --expect 'it'\\''s ok' "                  \
    "--sorry-server 203.0.113.99:80 -r 203.0.113.11:80:3 -r 203.0.113.12:80 "                               \
    "-u 198.51.100.10:53 -o --check udp --send 'a b' -r 203.0.113.11:53 -t 198.51.100.11:443 -r 203.0.113.11:443"
#define HA_PRIMARY                                                                                           \
    "rawlb -e ext -i int -n 203.0.113.1 --timeouts 600,30,120 --ctl /tmp/a.sock --pidfile /tmp/a.pid "      \
    "--user rawlb --ctl-group adm "                                                                          \
    "--metrics 127.0.0.1:9100 --ha-role primary --ha-if hb0 --ha-peer 192.0.2.3 --ha-if ext --ha-peer "      \
    "198.51.100.3 --ha-key KEY --ha-port 1539 --ha-interval 0.5 --ha-deadtime 2.25 --ha-track ext "          \
    "--ha-track hb0 --ha-notify '/usr/local/bin/notify a' --state-dir /var/lib/a" HA_SERVICES
#define HA_BACKUP                                                                                            \
    "rawlb -e ext -i int -n 203.0.113.1 --timeouts 600,30,120 --ha-track ext --ha-track hb0 --ha-port 1539 " \
    "--ha-deadtime 2.25 --ha-interval 0.5 --ha-role backup --ha-peer 192.0.2.2 --ha-key KEY" HA_SERVICES

static void test_save_ha(void)
{
    static struct rawlb_config cfg, peer, back;
    static char save[8192], text[8192], peer_text[8192], all[8192];
    if (!ha_key_up()) {
        CHECK(!"a key file in a temporary directory");
        return;
    }

    /* No --ha-role: no HA flag anywhere; --state-dir is kept (the table a restart keeps lives there). */
    CHECK(parse_ha_line("rawlb -e ext -i int -n 203.0.113.1 --state-dir /tmp/st -t 198.51.100.10:80 "
                        "-r 203.0.113.11:80", &cfg));
    ctlproto_render_save(&cfg, save, sizeof save);
    expect_text("save without HA", save, "rawlb -e ext -i int -n 203.0.113.1 --state-dir /tmp/st -t 198.51.100.10:80 "
                                         "-s wlc -r 203.0.113.11:80:1\n");
    for (int with_ha = 0; with_ha < 2; with_ha++) {
        CHECK(ctlproto_render_section(&cfg, -1, with_ha, text, sizeof text) > 0);
        expect_text("globals without HA", text, "rawlb -e ext -i int -n 203.0.113.1");
    }

    /* --ha-role with every other HA flag at its default: role, peer and key only. */
    CHECK(parse_ha_line("rawlb -e ext -i int -n 203.0.113.1 -t 198.51.100.10:80 -r 203.0.113.11:80 "
                        "--ha-role backup --ha-peer 192.0.2.3 --ha-key KEY", &cfg));
    ctlproto_render_save(&cfg, save, sizeof save);
    snprintf(text, sizeof text,
             "rawlb -e ext -i int -n 203.0.113.1 --ha-role backup --ha-peer 192.0.2.3 --ha-key %s "
             "-t 198.51.100.10:80 -s wlc -r 203.0.113.11:80:1\n", ha_key);
    expect_text("save with HA defaults", save, text);
    CHECK(ctlproto_render_section(&cfg, -1, true, text, sizeof text) > 0);
    expect_text("globals with HA defaults", text, "rawlb -e ext -i int -n 203.0.113.1");

    /* Every HA flag. save: all of them, per-host and shared. */
    if (!parse_ha_line(HA_PRIMARY, &cfg) || !parse_ha_line(HA_BACKUP, &peer))
        goto out;
    size_t n = ctlproto_render_save(&cfg, save, sizeof save);
    CHECK(n == strlen(save) && save[n - 1] == '\n');
    CHECK_EQ_U(flags_in(save, per_host_flags, N_OF(per_host_flags)), N_OF(per_host_flags));
    CHECK_EQ_U(flags_in(save, shared_ha_flags, N_OF(shared_ha_flags)), N_OF(shared_ha_flags));
    snprintf(text, sizeof text,
             " --ha-role primary --ha-if hb0 --ha-peer 192.0.2.3 --ha-if ext --ha-peer 198.51.100.3 --ha-key %s "
             "--ha-notify '/usr/local/bin/notify a' --state-dir /var/lib/a -t ", ha_key);
    CHECK(strstr(save, text) != NULL);
    CHECK(strstr(save, " --ha-port 1539 --ha-interval 0.5 --ha-deadtime 2.25 --ha-track ext --ha-track hb0 ") != NULL);

    /* The globals section: the shared HA flags with with_ha only, never a per-host flag. */
    size_t g = ctlproto_render_section(&cfg, -1, true, text, sizeof text);
    CHECK(g == strlen(text));
    expect_text("globals with HA", text,
                "rawlb -e ext -i int -n 203.0.113.1 --timeouts 600,30,120 --ha-port 1539 --ha-interval 0.5 "
                "--ha-deadtime 2.25 --ha-track ext --ha-track hb0");
    CHECK_EQ_U(flags_in(text, per_host_flags, N_OF(per_host_flags)), 0);
    CHECK(strncmp(save, text, g) == 0 && save[g] == ' '); /* the start of the save line */
    /* The peer's, with every per-host flag different and the shared ones in another order: the
     * same text (HA compares digests of it). */
    ctlproto_render_section(&peer, -1, true, peer_text, sizeof peer_text);
    expect_text("the peer's globals with HA", peer_text, text);
    size_t g0 = ctlproto_render_section(&cfg, -1, false, text, sizeof text);
    CHECK(g0 == strlen(text));
    expect_text("globals without HA", text, "rawlb -e ext -i int -n 203.0.113.1 --timeouts 600,30,120");
    CHECK_EQ_U(flags_in(text, per_host_flags, N_OF(per_host_flags)), 0);
    CHECK_EQ_U(flags_in(text, shared_ha_flags, N_OF(shared_ha_flags)), 0);
    CHECK(strstr(text, "--ha") == NULL);

    /* Service sections: each the service's part of the save line, in order, all of them the
     * save line's end; the peer renders the same. */
    size_t at = 0, len = g0;
    memcpy(all, text, g0 + 1);
    for (unsigned i = 0; i < cfg.n_services; i++) {
        size_t s = ctlproto_render_section(&cfg, (int)i, true, text, sizeof text);
        CHECK(s > 0 && s == strlen(text));
        CHECK(strncmp(text, cfg.services[i].proto == IPPROTO_TCP ? " -t " : " -u ", 4) == 0);
        CHECK_EQ_U(flags_in(text, per_host_flags, N_OF(per_host_flags)), 0);
        CHECK(strstr(text, "--ha") == NULL);
        const char *found = strstr(save + at, text);
        CHECK(found != NULL);
        if (found)
            at = (size_t)(found - save) + s;
        ctlproto_render_section(&cfg, (int)i, false, peer_text, sizeof peer_text);
        expect_text("a service section without HA", peer_text, text);
        ctlproto_render_section(&peer, (int)i, true, peer_text, sizeof peer_text);
        expect_text("the peer's service section", peer_text, text);
        CHECK(len + s < sizeof all);
        memcpy(all + len, text, s + 1);
        len += s;
    }
    CHECK_EQ_U(at, n - 1); /* the last section ends where the line does */
    CHECK(n > len - g0 && memcmp(save + n - 1 - (len - g0), all + g0, len - g0) == 0);
    /* No such service, no room: 0. */
    CHECK_EQ_U(ctlproto_render_section(&cfg, (int)cfg.n_services, true, text, sizeof text), 0);
    CHECK_EQ_U(ctlproto_render_section(&cfg, 0, true, text, 20), 0);
    CHECK_EQ_U(ctlproto_render_section(&cfg, -1, true, text, 20), 0);

    /* What HA pushes to the peer (globals without HA, then every service) parses back into the
     * same services and timeouts. */
    char err[RAWLB_ERRLEN * 2];
    if (config_parse_line(&back, all, err, sizeof err) != CONFIG_OK) {
        fprintf(stderr, "the pushed text '%s' is refused: %s\n", all, err);
        check_failures++;
        goto out;
    }
    CHECK_EQ_U(back.n_services, cfg.n_services);
    CHECK(memcmp(back.services, cfg.services, sizeof back.services) == 0);
    CHECK(memcmp(&back.timeouts, &cfg.timeouts, sizeof back.timeouts) == 0);
    CHECK(strcmp(back.ext_if, cfg.ext_if) == 0 && strcmp(back.int_if, cfg.int_if) == 0 &&
          back.nat_ip == cfg.nat_ip && back.max_conns == cfg.max_conns);
    CHECK(!back.ha.enabled);
out:
    ha_key_down();
}

static void request_ok(const char *line, struct ctl_request *req)
{
    char err[RAWLB_ERRLEN * 2] = "";
    if (!ctlproto_parse_request(line, req, err, sizeof err)) {
        fprintf(stderr, "request '%s' refused: %s\n", line, err);
        check_failures++;
    }
}

static void request_bad(const char *line, const char *want)
{
    struct ctl_request req;
    char err[RAWLB_ERRLEN * 2] = "";
    if (ctlproto_parse_request(line, &req, err, sizeof err) || !strstr(err, want)) {
        fprintf(stderr, "request '%s': want a refusal naming '%s', got '%s'\n", line, want, err);
        check_failures++;
    }
}

static void test_requests(void)
{
    struct ctl_request r;
    request_ok("list", &r);
    CHECK(r.verb == CTL_LIST && !r.health && !r.list.stats && !r.list.rate && !r.list.json);
    request_ok(CTL_REQ_LIST_HEALTH, &r);
    CHECK(r.verb == CTL_LIST && r.health);
    request_ok("list --stats --json\t --health", &r);
    CHECK(r.list.stats && r.list.json && r.health && !r.list.rate);
    request_ok("  list --rate  ", &r);
    CHECK(r.list.rate);
    request_ok("list --thresholds --health", &r);
    CHECK(r.list.thresholds && r.health && !r.list.stats && !r.list.rate);
    request_ok("conns", &r);
    CHECK(r.verb == CTL_CONNS && !r.json && !r.filter.by_service && !r.filter.by_client);
    request_ok("conns --json --service TCP:198.51.100.10:80 --client=198.51.100.100", &r);
    CHECK(r.json && r.filter.by_service && r.filter.proto == IPPROTO_TCP && r.filter.vip.addr == ip("198.51.100.10") &&
          r.filter.vip.port == htons(80) && r.filter.by_client && r.filter.client == ip("198.51.100.100"));
    request_ok("conns --service=udp:198.51.100.10:53", &r);
    CHECK(r.filter.proto == IPPROTO_UDP);
    request_ok("zero", &r);
    CHECK(r.verb == CTL_ZERO);
    request_ok("save", &r);
    CHECK(r.verb == CTL_SAVE);
    request_ok("watch", &r);
    CHECK(r.verb == CTL_WATCH);
    request_ok("edit -e -t 198.51.100.10:80 -r 203.0.113.11:80 -w 0", &r);
    CHECK(r.verb == CTL_EDIT && r.edit.op == EDIT_EDIT_SERVER && r.edit.has_weight && r.edit.weight == 0);
    request_ok("edit -e -t 198.51.100.10:80 -r 203.0.113.11:80 -x 9 -y 3", &r);
    CHECK(r.edit.has_u_threshold && r.edit.u_threshold == 9 && r.edit.has_l_threshold && r.edit.l_threshold == 3);

    request_bad("", "empty request");
    request_ok("status", &r);
    CHECK(r.verb == CTL_STATUS && !r.json);
    request_ok("status --json", &r);
    CHECK(r.verb == CTL_STATUS && r.json);
    request_ok("ha takeover", &r);
    CHECK(r.verb == CTL_HA_TAKEOVER);
    request_ok("ha release", &r);
    CHECK(r.verb == CTL_HA_RELEASE);
    request_bad("status --yaml", "status: unexpected argument '--yaml'");
    request_bad("ha", "ha: say 'ha takeover' or 'ha release'");
    request_bad("ha takeover now", "ha: say");
    request_bad("bogus", "unknown request 'bogus'");
    request_bad("list --bogus", "list: unknown option '--bogus'");
    request_bad("list --stats --rate", "--stats, --rate and --thresholds do not go together");
    request_bad("list --thresholds --stats", "--stats, --rate and --thresholds do not go together");
    request_bad("conns --service", "needs a value");
    request_bad("conns --service sctp:198.51.100.10:80", "'sctp:198.51.100.10:80' is not tcp:VIP:PORT");
    request_bad("conns --service tcp:198.51.100.10:0", "--service: port '0'");
    request_bad("conns --client 300.1.1.1", "--client: '300.1.1.1'");
    request_bad("conns --client 1.1.1.1 --client 1.1.1.2", "--client: given twice");
    request_bad("conns --bogus", "conns: unknown option '--bogus'");
    request_bad("zero now", "zero: unexpected argument 'now'");
    request_bad("save x", "save: unexpected argument 'x'");
    request_bad("watch --json", "watch: unexpected argument '--json'");
    request_bad("edit -A -t 198.51.100.10:80 -s nosuch", "--scheduler: unknown scheduler 'nosuch'");
    request_bad("edit", "no edit given");
    char long_line[CTL_REQUEST_MAX + 8];
    memset(long_line, 'a', sizeof long_line - 1);
    long_line[sizeof long_line - 1] = '\0';
    request_bad(long_line, "request too long");
    char many[CTL_REQUEST_MAX] = "list";
    for (int i = 0; i < CTL_MAX_WORDS; i++)
        strcat(many, " x");
    request_bad(many, "too many words");

    char buf[64];
    CHECK_EQ_U(ctlproto_render_error("no such thing", buf, sizeof buf), strlen("error: no such thing\n"));
    CHECK(strcmp(buf, "error: no such thing\n") == 0);
    CHECK_EQ_U(ctlproto_render_error("a long message that does not fit at all", buf, 16), 15);
    CHECK(buf[14] == '\n' && buf[15] == '\0');
}

int main(void)
{
    test_full();
    test_empty();
    test_truncated();
    test_stats_rate();
    test_thresholds();
    test_json();
    test_conns();
    test_save();
    test_save_ha();
    test_requests();
    CHECK_DONE();
}
