/* test_addr: the address, port, weight and netmask parsers shared by rawlb and rawlb-ctl. */
#include <arpa/inet.h>
#include <string.h>

#include "addr.h"
#include "testing.h"

static char err[RAWLB_ERRLEN];

static uint32_t ip(const char *s)
{
    struct in_addr in;
    inet_pton(AF_INET, s, &in);
    return in.s_addr;
}

/* The parser refuses s and its message names s (or the part given as named). */
#define CHECK_BAD_HOST(s, named)                                                       \
    do {                                                                               \
        uint32_t a_ = 1;                                                               \
        err[0] = '\0';                                                                 \
        CHECK(!addr_parse_host((s), &a_, err, sizeof(err)));                          \
        CHECK(strstr(err, (named)) != NULL);                                           \
        CHECK_EQ_U(a_, 1);                                                             \
    } while (0)

static void test_host(void)
{
    uint32_t a = 0;
    CHECK(addr_parse_host("198.51.100.10", &a, err, sizeof(err)));
    CHECK_EQ_U(a, ip("198.51.100.10"));
    CHECK(addr_parse_host("1.2.3.4", &a, err, sizeof(err)));
    CHECK_EQ_U(ntohl(a), 0x01020304);
    CHECK(addr_parse_host("223.255.255.254", &a, err, sizeof(err)));
    CHECK(addr_parse_host("240.0.0.1", &a, err, sizeof(err))); /* class E: odd but not refused */

    CHECK_BAD_HOST("0.0.0.0", "'0.0.0.0' is not a usable host address");
    CHECK_BAD_HOST("255.255.255.255", "'255.255.255.255'");
    CHECK_BAD_HOST("224.0.0.1", "'224.0.0.1'");
    CHECK_BAD_HOST("239.255.255.255", "'239.255.255.255'");
    CHECK_BAD_HOST("1.2.3", "'1.2.3'");           /* inet_aton would take it */
    CHECK_BAD_HOST("1.2.3.4.5", "'1.2.3.4.5'");
    CHECK_BAD_HOST("256.1.1.1", "'256.1.1.1'");
    CHECK_BAD_HOST("010.1.1.1", "'010.1.1.1'");   /* no octal surprises */
    CHECK_BAD_HOST("0x7f.0.0.1", "'0x7f.0.0.1'");
    CHECK_BAD_HOST(" 1.2.3.4", "' 1.2.3.4'");
    CHECK_BAD_HOST("1.2.3.4 ", "'1.2.3.4 '");
    CHECK_BAD_HOST("example.com", "'example.com'");
    CHECK_BAD_HOST("::1", "'::1'");
    CHECK_BAD_HOST("", "empty");
}

static void test_uint(void)
{
    unsigned long v = 7;
    CHECK(addr_parse_uint("0", 0, 10, &v) && v == 0);
    CHECK(addr_parse_uint("10", 0, 10, &v) && v == 10);
    CHECK(addr_parse_uint("2147483647", 1, 2147483647ul, &v) && v == 2147483647ul);
    v = 10;
    CHECK(!addr_parse_uint("11", 0, 10, &v));
    CHECK(!addr_parse_uint("0", 1, 10, &v));
    CHECK(!addr_parse_uint("", 0, 10, &v));
    CHECK(!addr_parse_uint("-1", 0, 10, &v));
    CHECK(!addr_parse_uint("+1", 0, 10, &v));
    CHECK(!addr_parse_uint(" 1", 0, 10, &v));
    CHECK(!addr_parse_uint("1 ", 0, 10, &v));
    CHECK(!addr_parse_uint("1x", 0, 10, &v));
    CHECK(!addr_parse_uint("99999999999999999999999", 0, ~0ul, &v));
    CHECK(!addr_parse_uint(NULL, 0, 10, &v));
    CHECK_EQ_U(v, 10);
}

static void test_endpoint(void)
{
    struct endpoint ep = {0};
    CHECK(addr_parse_endpoint("198.51.100.10:80", &ep, err, sizeof(err)));
    CHECK_EQ_U(ep.addr, ip("198.51.100.10"));
    CHECK_EQ_U(ep.port, htons(80));
    CHECK(addr_parse_endpoint("198.51.100.10:65535", &ep, err, sizeof(err)));
    CHECK_EQ_U(ntohs(ep.port), 65535);
    CHECK(addr_parse_endpoint("198.51.100.10:1", &ep, err, sizeof(err)));
    CHECK_EQ_U(ntohs(ep.port), 1);

    static const struct {
        const char *in, *named;
    } bad[] = {
        {"198.51.100.10:99999", "port '99999' is out of range 1..65535"},
        {"198.51.100.10:0", "port '0'"},
        {"198.51.100.10:65536", "port '65536'"},
        {"198.51.100.10:http", "port 'http'"},
        {"198.51.100.10:-1", "port '-1'"},
        {"198.51.100.10:", "port"},
        {"198.51.100.10", "'198.51.100.10' is not ADDR:PORT"},
        {"198.51.100.10:80:1", "'198.51.100.10:80:1'"},
        {"0.0.0.0:80", "'0.0.0.0' is not a usable host address"},
        {"224.1.1.1:80", "'224.1.1.1'"},
        {"1.2.3:80", "'1.2.3'"},
        {":80", "empty address"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct endpoint e = {1, 1};
        err[0] = '\0';
        if (addr_parse_endpoint(bad[i].in, &e, err, sizeof(err)) || !strstr(err, bad[i].named)) {
            fprintf(stderr, "endpoint '%s': error '%s' does not contain '%s'\n", bad[i].in, err,
                    bad[i].named);
            check_failures++;
        }
        CHECK(e.addr == 1 && e.port == 1);
    }
    /* Longer than any address: refused without overrunning anything. */
    char longs[300];
    memset(longs, '1', sizeof(longs) - 1);
    longs[sizeof(longs) - 1] = '\0';
    CHECK(!addr_parse_endpoint(longs, &ep, err, sizeof(err)));
    CHECK(strstr(err, "too long") != NULL);
}

static void test_real_server(void)
{
    struct endpoint ep = {0};
    int w = -1;
    CHECK(addr_parse_real_server("203.0.113.11:80", &ep, &w, err, sizeof(err)));
    CHECK_EQ_U(ep.addr, ip("203.0.113.11"));
    CHECK_EQ_U(ep.port, htons(80));
    CHECK_EQ_U(w, 1);
    CHECK(addr_parse_real_server("203.0.113.11:8080:3", &ep, &w, err, sizeof(err)));
    CHECK_EQ_U(ep.port, htons(8080));
    CHECK_EQ_U(w, 3);
    CHECK(addr_parse_real_server("203.0.113.11:80:0", &ep, &w, err, sizeof(err)));
    CHECK_EQ_U(w, 0);
    CHECK(addr_parse_real_server("203.0.113.11:80:65535", &ep, &w, err, sizeof(err)));
    CHECK_EQ_U(w, RAWLB_WEIGHT_MAX);

    static const struct {
        const char *in, *named;
    } bad[] = {
        {"203.0.113.11:80:65536", "weight '65536' is out of range 0..65535"},
        {"203.0.113.11:80:-1", "weight '-1'"},
        {"203.0.113.11:80:x", "weight 'x'"},
        {"203.0.113.11:80:", "weight ''"},
        {"203.0.113.11:80:1:2", "'203.0.113.11:80:1:2'"},
        {"203.0.113.11:99999:1", "port '99999'"},
        {"203.0.113.11", "'203.0.113.11' is not ADDR:PORT[:WEIGHT]"},
        {"255.255.255.255:80", "'255.255.255.255' is not a usable host address"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct endpoint e = {1, 1};
        int wt = 7;
        err[0] = '\0';
        if (addr_parse_real_server(bad[i].in, &e, &wt, err, sizeof(err)) || !strstr(err, bad[i].named)) {
            fprintf(stderr, "real server '%s': error '%s' does not contain '%s'\n", bad[i].in, err,
                    bad[i].named);
            check_failures++;
        }
        CHECK(e.addr == 1 && e.port == 1 && wt == 7);
    }
}

static void test_netmask(void)
{
    uint32_t m = 0;
    CHECK(addr_parse_netmask("255.255.255.0", &m, err, sizeof(err)));
    CHECK_EQ_U(m, ip("255.255.255.0"));
    CHECK(addr_parse_netmask("24", &m, err, sizeof(err)));
    CHECK_EQ_U(m, ip("255.255.255.0"));
    CHECK(addr_parse_netmask("/16", &m, err, sizeof(err)));
    CHECK_EQ_U(m, ip("255.255.0.0"));
    CHECK(addr_parse_netmask("32", &m, err, sizeof(err)));
    CHECK_EQ_U(m, 0xffffffffu);
    CHECK(addr_parse_netmask("255.255.255.255", &m, err, sizeof(err)));
    CHECK_EQ_U(m, 0xffffffffu);
    CHECK(addr_parse_netmask("0", &m, err, sizeof(err)));
    CHECK_EQ_U(m, 0);
    CHECK(addr_parse_netmask("0.0.0.0", &m, err, sizeof(err)));
    CHECK_EQ_U(m, 0);
    CHECK(addr_parse_netmask("1", &m, err, sizeof(err)));
    CHECK_EQ_U(m, ip("128.0.0.0"));
    CHECK(addr_parse_netmask("255.255.255.254", &m, err, sizeof(err)));
    CHECK_EQ_U(m, ip("255.255.255.254"));

    static const char *bad[] = {"33", "/33", "-1", "", "/", "24x", "255.0.255.0", "255.255.255.1",
                                "127.255.255.255", "255.255.255", "255.255.255.256", "mask"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint32_t mm = 12345;
        char named[64];
        snprintf(named, sizeof(named), "'%s'", bad[i]);
        err[0] = '\0';
        if (addr_parse_netmask(bad[i], &mm, err, sizeof(err)) || !strstr(err, named)) {
            fprintf(stderr, "netmask '%s': error '%s' does not contain %s\n", bad[i], err, named);
            check_failures++;
        }
        CHECK_EQ_U(mm, 12345);
    }
}

static void test_print(void)
{
    char a[ADDR_STRLEN], e[ENDPOINT_STRLEN];
    CHECK(strcmp(addr_str(ip("203.0.113.11"), a), "203.0.113.11") == 0);
    CHECK(strcmp(endpoint_str(ip("198.51.100.10"), htons(80), e), "198.51.100.10:80") == 0);
    CHECK(strcmp(endpoint_str(ip("255.255.255.255"), htons(65535), e), "255.255.255.255:65535") == 0);
}

static void test_small_err_buffer(void)
{
    char small[8];
    uint32_t a;
    CHECK(!addr_parse_host("0.0.0.0", &a, small, sizeof(small)));
    CHECK_EQ_U(strlen(small), sizeof(small) - 1);
}

int main(void)
{
    test_host();
    test_uint();
    test_endpoint();
    test_real_server();
    test_netmask();
    test_print();
    test_small_err_buffer();
    CHECK_DONE();
}
