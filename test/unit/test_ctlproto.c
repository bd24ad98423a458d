/* test_ctlproto: the list answer, byte for byte in ipvsadm -L -n layout, and cut output. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "testing.h"
#include "ctlproto.h"
#include "sched.h"

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

int main(void)
{
    test_full();
    test_empty();
    test_truncated();
    CHECK_DONE();
}
