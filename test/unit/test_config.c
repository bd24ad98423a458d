/* test_config: the daemon's flags, the grouping rules and every refusal. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testing.h"
#include "config.h"
#include "ctlproto.h"

static struct rawlb_config cfg;
static char err[RAWLB_ERRLEN];

#define BASE "rawlb -e ext -i int -n 203.0.113.1 "

/* Splits cmd at spaces into argv and runs the parser on it. */
static enum config_result parse(const char *cmd)
{
    static char buf[8192];
    char *argv[1024];
    int argc = 0;
    snprintf(buf, sizeof(buf), "%s", cmd);
    for (char *tok = strtok(buf, " "); tok && argc < 1023; tok = strtok(NULL, " "))
        argv[argc++] = tok;
    argv[argc] = NULL;
    err[0] = '\0';
    return config_parse(&cfg, argc, argv, err, sizeof(err));
}

static uint32_t ip(const char *s)
{
    struct in_addr in;
    inet_pton(AF_INET, s, &in);
    return in.s_addr;
}

/* --send and --expect hold bytes: a literal's, NULs included. */
static bool bytes_are(const struct check_bytes *b, const char *s, size_t n)
{
    return b->len == n && memcmp(b->data, s, n) == 0;
}
#define BYTES_ARE(b, lit) bytes_are(&(b), lit, sizeof lit - 1)

#define CHECK_OK(cmd)                                                              \
    do {                                                                           \
        if (parse(cmd) != CONFIG_OK) {                                             \
            fprintf(stderr, "%s:%d: '%.200s' refused: %s\n", __FILE__, __LINE__, cmd, err); \
            check_failures++;                                                      \
        }                                                                          \
    } while (0)

/* Refused, and the message contains each of the given pieces (the flag, the value). */
#define CHECK_ERR(cmd, ...)                                                                  \
    do {                                                                                     \
        const char *want_[] = {__VA_ARGS__};                                                 \
        if (parse(cmd) != CONFIG_ERROR) {                                                    \
            fprintf(stderr, "%s:%d: '%.200s' accepted\n", __FILE__, __LINE__, cmd);              \
            check_failures++;                                                                \
        }                                                                                    \
        for (size_t i_ = 0; i_ < sizeof(want_) / sizeof(want_[0]); i_++)                     \
            if (!strstr(err, want_[i_])) {                                                   \
                fprintf(stderr, "%s:%d: message for '%.200s' is '%s', lacks '%s'\n", __FILE__, __LINE__, \
                        cmd, err, want_[i_]);                                                \
                check_failures++;                                                            \
            }                                                                                \
    } while (0)

static void test_minimal_and_defaults(void)
{
    CHECK_OK(BASE "-t 198.51.100.10:80 -r 203.0.113.11:80");
    CHECK(strcmp(cfg.ext_if, "ext") == 0);
    CHECK(strcmp(cfg.int_if, "int") == 0);
    CHECK_EQ_U(cfg.nat_ip, ip("203.0.113.1"));
    CHECK_EQ_U(cfg.timeouts.tcp, RAWLB_DEFAULT_TCP_TIMEOUT);
    CHECK_EQ_U(cfg.timeouts.tcpfin, RAWLB_DEFAULT_TCPFIN_TIMEOUT);
    CHECK_EQ_U(cfg.timeouts.udp, RAWLB_DEFAULT_UDP_TIMEOUT);
    CHECK_EQ_U(cfg.max_conns, RAWLB_DEFAULT_MAX_CONNS);
    CHECK(strcmp(cfg.ctl_path, RAWLB_DEFAULT_CTL) == 0);
    CHECK(cfg.pidfile[0] == '\0');
    CHECK(cfg.user[0] == '\0' && cfg.ctl_group[0] == '\0'); /* the daemon's defaults (privdrop.h) */
    CHECK_EQ_U(cfg.n_services, 1);
    const struct service_config *sc = &cfg.services[0];
    CHECK_EQ_U(sc->proto, IPPROTO_TCP);
    CHECK_EQ_U(sc->vip.addr, ip("198.51.100.10"));
    CHECK_EQ_U(sc->vip.port, htons(80));
    CHECK(strcmp(sc->scheduler, "wlc") == 0);
    CHECK_EQ_U(sc->persist_timeout, 0);
    CHECK_EQ_U(sc->persist_mask, 0xffffffffu);
    CHECK(!sc->one_packet);
    CHECK_EQ_U(sc->n_rs, 1);
    CHECK_EQ_U(sc->rs[0].ep.addr, ip("203.0.113.11"));
    CHECK_EQ_U(sc->rs[0].ep.port, htons(80));
    CHECK_EQ_U(sc->rs[0].weight, 1);

    /* Long spellings, --opt=value, and the global options. */
    CHECK_OK("rawlb --ext-if=eth0 --int-if eth1 --nat-ip 192.168.10.1 --tcp-service 202.39.145.146:80 "
             "--real-server 192.168.10.18:80:5 --real-server=192.168.10.28:8080:0 --max-conns 4096 "
             "--ctl /tmp/x.sock --pidfile /tmp/x.pid --timeouts 60,30,20 --user rawlb --ctl-group adm");
    CHECK(strcmp(cfg.ext_if, "eth0") == 0 && strcmp(cfg.int_if, "eth1") == 0);
    CHECK_EQ_U(cfg.services[0].n_rs, 2);
    CHECK_EQ_U(cfg.services[0].rs[0].weight, 5);
    CHECK_EQ_U(cfg.services[0].rs[1].weight, 0);
    CHECK_EQ_U(cfg.services[0].rs[1].ep.port, htons(8080));
    CHECK_EQ_U(cfg.max_conns, 4096);
    CHECK(strcmp(cfg.ctl_path, "/tmp/x.sock") == 0);
    CHECK(strcmp(cfg.pidfile, "/tmp/x.pid") == 0);
    CHECK(strcmp(cfg.user, "rawlb") == 0 && strcmp(cfg.ctl_group, "adm") == 0);
    CHECK_EQ_U(cfg.timeouts.tcp, 60);
    CHECK_EQ_U(cfg.timeouts.tcpfin, 30);
    CHECK_EQ_U(cfg.timeouts.udp, 20);

    /* Global options may come anywhere, even between services. */
    CHECK_OK("rawlb -t 198.51.100.10:80 -r 203.0.113.11:80 -e ext --max-conns 8 -i int "
             "-u 198.51.100.10:53 -r 203.0.113.11:53 -n 203.0.113.1");
    CHECK_EQ_U(cfg.n_services, 2);
    CHECK_EQ_U(cfg.max_conns, 8);
    CHECK_EQ_U(cfg.services[1].proto, IPPROTO_UDP);

    /* Parsing again starts from scratch (optind reset, no leftovers). */
    CHECK_OK(BASE "-u 198.51.100.10:53 -r 203.0.113.12:53");
    CHECK_EQ_U(cfg.n_services, 1);
    CHECK_EQ_U(cfg.max_conns, RAWLB_DEFAULT_MAX_CONNS);
    CHECK_EQ_U(cfg.services[0].proto, IPPROTO_UDP);
}

static void test_grouping(void)
{
    /* Before the first service: defaults for all. After: that service only. */
    CHECK_OK(BASE "-s rr -p 300 -M 24 "
                  "-t 198.51.100.10:80 -r 203.0.113.11:80 "
                  "-t 198.51.100.10:443 -s sh -p 60 -M 255.255.0.0 -r 203.0.113.11:443 "
                  "-t 198.51.100.10:8080 -r 203.0.113.11:8080 -s lc");
    CHECK_EQ_U(cfg.n_services, 3);
    CHECK(strcmp(cfg.services[0].scheduler, "rr") == 0);
    CHECK_EQ_U(cfg.services[0].persist_timeout, 300);
    CHECK_EQ_U(cfg.services[0].persist_mask, ip("255.255.255.0"));
    CHECK(strcmp(cfg.services[1].scheduler, "sh") == 0);
    CHECK_EQ_U(cfg.services[1].persist_timeout, 60);
    CHECK_EQ_U(cfg.services[1].persist_mask, ip("255.255.0.0"));
    CHECK(strcmp(cfg.services[2].scheduler, "lc") == 0); /* after its -r: still its own */
    CHECK_EQ_U(cfg.services[2].persist_timeout, 300);
    CHECK_EQ_U(cfg.services[2].persist_mask, ip("255.255.255.0"));

    /* A per-service option does not leak into the next service. */
    CHECK_OK(BASE "-t 198.51.100.10:80 -s wrr -p 10 -r 203.0.113.11:80 "
                  "-t 198.51.100.10:81 -r 203.0.113.11:81");
    CHECK(strcmp(cfg.services[0].scheduler, "wrr") == 0);
    CHECK_EQ_U(cfg.services[0].persist_timeout, 10);
    CHECK(strcmp(cfg.services[1].scheduler, "wlc") == 0);
    CHECK_EQ_U(cfg.services[1].persist_timeout, 0);
    CHECK_EQ_U(cfg.services[1].persist_mask, 0xffffffffu);

    /* -o: per UDP service; as a default it applies to the UDP services only. */
    CHECK_OK(BASE "-u 198.51.100.10:53 -o -r 203.0.113.11:53 -u 198.51.100.10:54 -r 203.0.113.11:54");
    CHECK(cfg.services[0].one_packet);
    CHECK(!cfg.services[1].one_packet);
    CHECK_OK(BASE "--ops -t 198.51.100.10:80 -r 203.0.113.11:80 -u 198.51.100.10:53 -r 203.0.113.11:53");
    CHECK(!cfg.services[0].one_packet);
    CHECK(cfg.services[1].one_packet);

    /* A later default... there is none: options after a service belong to it, so -s here is the
     * second service's, and a -r goes to the service just before it. */
    CHECK_OK(BASE "-t 198.51.100.10:80 -r 203.0.113.11:80 -u 198.51.100.10:80 -r 203.0.113.12:80 "
                  "-r 203.0.113.13:80:4");
    CHECK_EQ_U(cfg.services[0].n_rs, 1);
    CHECK_EQ_U(cfg.services[1].n_rs, 2);
    CHECK_EQ_U(cfg.services[1].rs[1].weight, 4);

    /* The same VIP:PORT over TCP and UDP are two services; the same RS in two services is fine. */
    CHECK_OK(BASE "-t 198.51.100.10:53 -r 203.0.113.11:53 -u 198.51.100.10:53 -r 203.0.113.11:53");
    CHECK_EQ_U(cfg.n_services, 2);

    /* Every scheduler name is accepted. */
    const char *names[] = {"rr", "wrr", "lc", "wlc", "sh"};
    for (size_t i = 0; i < 5; i++) {
        char cmd[256];
        snprintf(cmd, sizeof(cmd), BASE "-t 198.51.100.10:80 -s %s -r 203.0.113.11:80", names[i]);
        CHECK_OK(cmd);
        CHECK(strcmp(cfg.services[0].scheduler, names[i]) == 0);
    }
    /* -M with a per-service -p and a default -M with some persistent service. */
    CHECK_OK(BASE "-t 198.51.100.10:80 -M 16 -p 5 -r 203.0.113.11:80");
    CHECK_EQ_U(cfg.services[0].persist_mask, ip("255.255.0.0"));
    CHECK_OK(BASE "-M 16 -t 198.51.100.10:80 -r 203.0.113.11:80 -t 198.51.100.10:81 -p 5 -r 203.0.113.11:81");
    CHECK_EQ_U(cfg.services[1].persist_mask, ip("255.255.0.0"));
    CHECK_EQ_U(cfg.services[1].persist_timeout, 5);
    CHECK_OK(BASE "-t 198.51.100.10:80 -M 32 -r 203.0.113.11:80 -p 1");
}

static void test_timeouts(void)
{
    CHECK_OK(BASE "--timeouts 0,0,0 -t 198.51.100.10:80 -r 203.0.113.11:80");
    CHECK_EQ_U(cfg.timeouts.tcp, RAWLB_DEFAULT_TCP_TIMEOUT);
    CHECK_EQ_U(cfg.timeouts.tcpfin, RAWLB_DEFAULT_TCPFIN_TIMEOUT);
    CHECK_EQ_U(cfg.timeouts.udp, RAWLB_DEFAULT_UDP_TIMEOUT);
    CHECK_OK(BASE "--timeouts 0,5,0 -t 198.51.100.10:80 -r 203.0.113.11:80");
    CHECK_EQ_U(cfg.timeouts.tcp, RAWLB_DEFAULT_TCP_TIMEOUT);
    CHECK_EQ_U(cfg.timeouts.tcpfin, 5);
    CHECK_EQ_U(cfg.timeouts.udp, RAWLB_DEFAULT_UDP_TIMEOUT);
    CHECK_OK(BASE "--timeouts 2147483647,1,1 -t 198.51.100.10:80 -r 203.0.113.11:80");
    CHECK_EQ_U(cfg.timeouts.tcp, 2147483647u);

    CHECK_ERR(BASE "--timeouts 2147483648,1,1 -t 198.51.100.10:80 -r 203.0.113.11:80", "--timeouts",
              "'2147483648'");
    CHECK_ERR(BASE "--timeouts 1,2 -t 198.51.100.10:80 -r 203.0.113.11:80", "--timeouts", "'1,2'");
    CHECK_ERR(BASE "--user= -t 198.51.100.10:80 -r 203.0.113.11:80", "--user", "empty");
    CHECK_ERR(BASE "--ctl-group " "gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg"
                   " -t 198.51.100.10:80 -r 203.0.113.11:80", "--ctl-group", "too long");
    CHECK_ERR(BASE "--timeouts 1,2,3,4 -t 198.51.100.10:80 -r 203.0.113.11:80", "--timeouts", "'1,2,3,4'");
    CHECK_ERR(BASE "--timeouts 1,,3 -t 198.51.100.10:80 -r 203.0.113.11:80", "--timeouts", "'1,,3'");
    CHECK_ERR(BASE "--timeouts 1,2,3, -t 198.51.100.10:80 -r 203.0.113.11:80", "--timeouts", "'1,2,3,'");
    CHECK_ERR(BASE "--timeouts 1,-2,3 -t 198.51.100.10:80 -r 203.0.113.11:80", "--timeouts", "'1,-2,3'");
    CHECK_ERR(BASE "--timeouts 1,x,3 -t 198.51.100.10:80 -r 203.0.113.11:80", "--timeouts", "'1,x,3'");
}

static void test_errors(void)
{
    const char *svc = "-t 198.51.100.10:80 -r 203.0.113.11:80";
    char cmd[512];

    CHECK_ERR(BASE "-t 198.51.100.10:99999 -r 203.0.113.11:80", "--tcp-service",
              "port '99999' is out of range 1..65535");
    CHECK_ERR(BASE "-u 0.0.0.0:53 -r 203.0.113.11:53", "--udp-service",
              "'0.0.0.0' is not a usable host address");
    CHECK_ERR(BASE "-t 198.51.100.10 -r 203.0.113.11:80", "--tcp-service", "'198.51.100.10'");
    CHECK_ERR(BASE "-t 198.51.100.10:80 -s nosuch -r 203.0.113.11:80",
              "--scheduler: unknown scheduler 'nosuch' (known: rr wrr lc wlc sh mh)");
    CHECK_ERR(BASE "-s WLC -t 198.51.100.10:80 -r 203.0.113.11:80", "--scheduler", "'WLC'");
    CHECK_ERR(BASE "-p 0 -t 198.51.100.10:80 -r 203.0.113.11:80", "--persistent", "'0'");
    CHECK_ERR(BASE "-t 198.51.100.10:80 -p 2147483648 -r 203.0.113.11:80", "--persistent", "'2147483648'");
    CHECK_ERR(BASE "-t 198.51.100.10:80 -p 1m -r 203.0.113.11:80", "--persistent", "'1m'");
    CHECK_ERR(BASE "-t 198.51.100.10:80 -p 30 -M 255.0.255.0 -r 203.0.113.11:80", "--netmask",
              "'255.0.255.0'");
    CHECK_ERR(BASE "-t 198.51.100.10:80 -p 30 -M 33 -r 203.0.113.11:80", "--netmask", "'33'");
    CHECK_ERR(BASE "-t 198.51.100.10:80 -M 24 -r 203.0.113.11:80", "--netmask", "--persistent",
              "TCP 198.51.100.10:80");
    CHECK_ERR(BASE "-M 24 -t 198.51.100.10:80 -r 203.0.113.11:80", "--netmask", "--persistent");
    CHECK_ERR(BASE "-t 198.51.100.10:80 -o -r 203.0.113.11:80", "--ops", "TCP 198.51.100.10:80");
    CHECK_ERR(BASE "-r 203.0.113.11:80 -t 198.51.100.10:80", "-r needs a service (-t or -u) before it",
              "203.0.113.11:80");
    CHECK_ERR(BASE "-t 198.51.100.10:80 -r 203.0.113.11:80:70000", "--real-server", "'70000'");
    CHECK_ERR(BASE "-t 198.51.100.10:80 -r 203.0.113.11:0", "--real-server", "'0'");
    CHECK_ERR(BASE "-t 198.51.100.10:80 -r 224.0.0.5:80", "--real-server", "'224.0.0.5'");

    /* Missing required flags. */
    CHECK_ERR("rawlb -i int -n 203.0.113.1 -t 198.51.100.10:80 -r 203.0.113.11:80", "--ext-if");
    CHECK_ERR("rawlb -e ext -n 203.0.113.1 -t 198.51.100.10:80 -r 203.0.113.11:80", "--int-if");
    CHECK_ERR("rawlb -e ext -i int -t 198.51.100.10:80 -r 203.0.113.11:80", "--nat-ip");
    CHECK_ERR("rawlb", "--ext-if");
    /* No service and a service without real servers: what edits can leave, so taken at start. */
    CHECK_OK(BASE);
    CHECK_EQ_U(cfg.n_services, 0);
    CHECK_OK(BASE "-s rr");
    CHECK_OK(BASE "-t 198.51.100.10:80");
    CHECK_EQ_U(cfg.n_services, 1);
    CHECK_EQ_U(cfg.services[0].n_rs, 0);
    CHECK_OK(BASE "-t 198.51.100.10:80 -u 198.51.100.10:53 -r 203.0.113.11:53");
    CHECK_EQ_U(cfg.services[0].n_rs, 0);
    CHECK_EQ_U(cfg.services[1].n_rs, 1);

    /* Duplicates. */
    CHECK_ERR(BASE "-t 198.51.100.10:80 -r 203.0.113.11:80 -t 198.51.100.10:80 -r 203.0.113.12:80",
              "--tcp-service", "198.51.100.10:80", "twice");
    CHECK_ERR(BASE "-u 198.51.100.10:53 -r 203.0.113.11:53 -u 198.51.100.10:053 -r 203.0.113.12:53",
              "--udp-service", "198.51.100.10:053", "twice");
    CHECK_ERR(BASE "-t 198.51.100.10:80 -r 203.0.113.11:80 -r 203.0.113.11:80:5", "--real-server",
              "203.0.113.11:80:5", "twice", "TCP 198.51.100.10:80");

    /* Interfaces. */
    CHECK_ERR("rawlb -e eth0 -i eth0 -n 203.0.113.1 -t 198.51.100.10:80 -r 203.0.113.11:80", "'eth0'",
              "--ext-if", "--int-if");
    CHECK_ERR("rawlb -e abcdefghijklmnop -i int -n 203.0.113.1 -t 198.51.100.10:80 -r 203.0.113.11:80",
              "--ext-if", "'abcdefghijklmnop'", "too long");
    CHECK_OK("rawlb -e abcdefghijklmno -i int -n 203.0.113.1 -t 198.51.100.10:80 -r 203.0.113.11:80");
    CHECK_ERR("rawlb -e ext -i a/b -n 203.0.113.1 -t 198.51.100.10:80 -r 203.0.113.11:80", "--int-if",
              "'a/b'");
    CHECK_ERR("rawlb -e ext -i int -n 255.255.255.255 -t 198.51.100.10:80 -r 203.0.113.11:80", "--nat-ip",
              "'255.255.255.255'");
    CHECK_ERR("rawlb -e ext -i int -n 1.2.3 -t 198.51.100.10:80 -r 203.0.113.11:80", "--nat-ip", "'1.2.3'");

    /* Unknown flags, missing values, stray arguments. */
    CHECK_ERR(BASE "--no-such-flag", "unknown option '--no-such-flag'");
    CHECK_ERR(BASE "--no-such-flag=3 -t 198.51.100.10:80 -r 203.0.113.11:80", "'--no-such-flag'");
    CHECK_ERR(BASE "-Z", "unknown option '-Z'");
    CHECK_ERR(BASE "--t 198.51.100.10:80 -r 203.0.113.11:80", "ambiguous", "'--t'", "--tcp-service", "--timeouts");
    CHECK_OK(BASE "--tcp 198.51.100.10:80 --real 203.0.113.11:80"); /* unique prefixes, as getopt_long */
    CHECK_ERR(BASE "-oZ", "'-Z'", "'-oZ'");
    CHECK_ERR(BASE "--ops=1 -u 198.51.100.10:53 -r 203.0.113.11:53", "'--ops'");
    CHECK_ERR(BASE "-t", "'-t'", "value");
    CHECK_ERR(BASE "-t 198.51.100.10:80 --real-server", "'--real-server'", "value");
    CHECK_ERR(BASE "-t 198.51.100.10:80 -r 203.0.113.11:80 stray", "'stray'");
    CHECK_ERR(BASE "stray -t 198.51.100.10:80 -r 203.0.113.11:80", "'stray'");
    CHECK_ERR(BASE "-t 198.51.100.10:80 -r 203.0.113.11:80 -- -x", "'-x'");

    /* Globals. */
    snprintf(cmd, sizeof(cmd), BASE "%s --max-conns 0", svc);
    CHECK_ERR(cmd, "--max-conns", "'0'");
    snprintf(cmd, sizeof(cmd), BASE "%s --max-conns %u", svc, RAWLB_MAX_MAX_CONNS + 1);
    CHECK_ERR(cmd, "--max-conns", "67108865");
    snprintf(cmd, sizeof(cmd), BASE "%s --max-conns %u", svc, RAWLB_MAX_MAX_CONNS);
    CHECK_OK(cmd);
    CHECK_EQ_U(cfg.max_conns, RAWLB_MAX_MAX_CONNS);
    snprintf(cmd, sizeof(cmd), BASE "%s --workers 0", svc);
    CHECK_ERR(cmd, "--workers", "'0'", "1..64");
    snprintf(cmd, sizeof(cmd), BASE "%s --workers %u", svc, RAWLB_MAX_WORKERS + 1);
    CHECK_ERR(cmd, "--workers", "'65'");
    snprintf(cmd, sizeof(cmd), BASE "%s --workers 3", svc);
    CHECK_OK(cmd);
    CHECK_EQ_U(cfg.workers, 3);
    snprintf(cmd, sizeof(cmd), BASE "%s", svc);
    CHECK_OK(cmd);
    CHECK(cfg.workers >= 1 && cfg.workers <= RAWLB_MAX_WORKERS); /* one per core */
    char longpath[200];
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    snprintf(cmd, sizeof(cmd), BASE "%s --ctl %s", svc, longpath);
    CHECK_ERR(cmd, "--ctl", "too long");
    longpath[107] = '\0'; /* 107 characters fit sun_path */
    snprintf(cmd, sizeof(cmd), BASE "%s --ctl %s", svc, longpath);
    CHECK_OK(cmd);
    CHECK_EQ_U(strlen(cfg.ctl_path), 107);

    /* Limits. */
    char big[RAWLB_MAX_SERVICES * 48 + 256];
    size_t n = (size_t)snprintf(big, sizeof(big), BASE);
    for (int i = 0; i <= RAWLB_MAX_SERVICES; i++)
        n += (size_t)snprintf(big + n, sizeof(big) - n, "-t 198.51.100.10:%d -r 203.0.113.11:80 ", i + 1);
    CHECK_ERR(big, "--tcp-service", "198.51.100.10:65", "64");
    n = (size_t)snprintf(big, sizeof(big), BASE "-t 198.51.100.10:80 ");
    for (int i = 0; i <= RAWLB_MAX_RS_PER_SERVICE; i++)
        n += (size_t)snprintf(big + n, sizeof(big) - n, "-r 203.0.113.11:%d ", i + 1);
    CHECK_ERR(big, "--real-server", "203.0.113.11:65", "64");
}

/* Health checks: defaults per protocol, the grouping rules, seconds with decimals. */
static void test_health_defaults(void)
{
    CHECK_OK(BASE "-t 198.51.100.10:80 -r 203.0.113.11:80 -u 198.51.100.10:53 -r 203.0.113.11:53");
    for (unsigned i = 0; i < 2; i++) {
        const struct check_config *cc = &cfg.services[i].check;
        CHECK_EQ_U(cc->kind, i == 0 ? CHECK_TCP : CHECK_NONE);
        CHECK(strcmp(cc->http_path, "/") == 0);
        CHECK_EQ_U(cc->expect_status, 200);
        CHECK(cc->expect.len == 0 && cc->send.len == 0);
        CHECK_EQ_U(cc->port, 0);
        CHECK_EQ_U(cc->interval_ms, 2000);
        CHECK_EQ_U(cc->probe_timeout_ms, 3000);
        CHECK_EQ_U(cc->dead_after_ms, 10000);
        CHECK_EQ_U(cc->reentry_ms, 180000);
        CHECK(!cc->quiesce);
        CHECK(!cc->has_sorry);
        CHECK_EQ_U(cc->agent_port, 0);
    }

    /* Every flag on one service. */
    CHECK_OK(BASE "-t 198.51.100.10:80 --check http:/health --expect-status 204 --expect OK --check-port 8080 "
                  "--check-interval 0.5 --probe-timeout 1.25 --check-timeout 7 --reentry 0 --quiesce "
                  "--sorry-server 203.0.113.99:8080 --agent-port 10000 -r 203.0.113.11:80");
    const struct check_config *cc = &cfg.services[0].check;
    CHECK_EQ_U(cc->kind, CHECK_HTTP);
    CHECK(strcmp(cc->http_path, "/health") == 0);
    CHECK_EQ_U(cc->expect_status, 204);
    CHECK(BYTES_ARE(cc->expect, "OK"));
    CHECK_EQ_U(cc->port, 8080);
    CHECK_EQ_U(cc->interval_ms, 500);
    CHECK_EQ_U(cc->probe_timeout_ms, 1250);
    CHECK_EQ_U(cc->dead_after_ms, 7000);
    CHECK_EQ_U(cc->reentry_ms, 0);
    CHECK(cc->quiesce);
    CHECK(cc->has_sorry);
    CHECK_EQ_U(cc->sorry.addr, ip("203.0.113.99"));
    CHECK_EQ_U(cc->sorry.port, htons(8080));
    CHECK_EQ_U(cc->agent_port, 10000);

    /* --check http without a path; --check udp with its strings; --check none with an agent. */
    CHECK_OK(BASE "-t 198.51.100.10:80 --check http -r 203.0.113.11:80");
    CHECK_EQ_U(cfg.services[0].check.kind, CHECK_HTTP);
    CHECK(strcmp(cfg.services[0].check.http_path, "/") == 0);
    CHECK_EQ_U(cfg.services[0].check.expect_status, 200);
    CHECK_OK(BASE "-t 198.51.100.10:80 --check=http:/ -r 203.0.113.11:80");
    CHECK(strcmp(cfg.services[0].check.http_path, "/") == 0);
    CHECK_OK(BASE "-u 198.51.100.10:53 --check udp --send ping --expect pong -r 203.0.113.11:53");
    CHECK_EQ_U(cfg.services[0].check.kind, CHECK_UDP);
    CHECK(BYTES_ARE(cfg.services[0].check.send, "ping"));
    CHECK(BYTES_ARE(cfg.services[0].check.expect, "pong"));
    CHECK_OK(BASE "-u 198.51.100.10:53 --expect pong --send ping --check udp -r 203.0.113.11:53"); /* any order */
    CHECK_EQ_U(cfg.services[0].check.kind, CHECK_UDP);
    CHECK_OK(BASE "-t 198.51.100.10:80 --check none --agent-port 1 -r 203.0.113.11:80");
    CHECK_EQ_U(cfg.services[0].check.kind, CHECK_NONE);
    CHECK_EQ_U(cfg.services[0].check.agent_port, 1);
    CHECK_OK(BASE "-u 198.51.100.10:53 --agent-port 65535 -r 203.0.113.11:53");
    CHECK_EQ_U(cfg.services[0].check.kind, CHECK_NONE);
    CHECK_EQ_U(cfg.services[0].check.agent_port, 65535);
    CHECK_OK(BASE "-t 198.51.100.10:80 --check tcp --check-port 65535 -r 203.0.113.11:80");
    CHECK_EQ_U(cfg.services[0].check.kind, CHECK_TCP);
    CHECK_EQ_U(cfg.services[0].check.port, 65535);
    /* The last --check wins. */
    CHECK_OK(BASE "-t 198.51.100.10:80 --check http:/a --check tcp -r 203.0.113.11:80");
    CHECK_EQ_U(cfg.services[0].check.kind, CHECK_TCP);
}

static void test_health_seconds(void)
{
    static const struct {
        const char *flag, *val;
        uint32_t ms;
    } ok[] = {
        {"--check-interval", "2", 2000},     {"--check-interval", "0.5", 500},
        {"--check-interval", "0.1", 100},    {"--check-interval", "3600", 3600000},
        {"--check-interval", "1.005", 1005}, {"--probe-timeout", "1.25", 1250},
        {"--probe-timeout", "0.100", 100},   {"--probe-timeout", "3600.000", 3600000},
        {"--check-timeout", "0.1", 100},     {"--check-timeout", "86400", 86400000},
        {"--check-timeout", "007", 7000},    {"--reentry", "0", 0},
        {"--reentry", "0.001", 1},           {"--reentry", "86400", 86400000},
        {"--reentry", "10.5", 10500},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char cmd[256];
        snprintf(cmd, sizeof(cmd), BASE "-t 198.51.100.10:80 %s %s -r 203.0.113.11:80", ok[i].flag, ok[i].val);
        CHECK_OK(cmd);
        const struct check_config *cc = &cfg.services[0].check;
        uint32_t got = strcmp(ok[i].flag, "--check-interval") == 0  ? cc->interval_ms
                       : strcmp(ok[i].flag, "--probe-timeout") == 0 ? cc->probe_timeout_ms
                       : strcmp(ok[i].flag, "--check-timeout") == 0 ? cc->dead_after_ms
                                                                    : cc->reentry_ms;
        if (got != ok[i].ms) {
            fprintf(stderr, "%s %s: %u ms, want %u\n", ok[i].flag, ok[i].val, got, ok[i].ms);
            check_failures++;
        }
    }

    static const struct {
        const char *flag, *val, *why;
    } bad[] = {
        {"--check-interval", "0.09", "out of range 0.1..3600"},
        {"--check-interval", "0", "out of range 0.1..3600"},
        {"--check-interval", "3600.001", "out of range 0.1..3600"},
        {"--probe-timeout", "0.099", "out of range 0.1..3600"},
        {"--probe-timeout", "3601", "out of range 0.1..3600"},
        {"--check-timeout", "0.05", "out of range 0.1..86400"},
        {"--check-timeout", "86400.5", "out of range 0.1..86400"},
        {"--reentry", "86401", "out of range 0..86400"},
        {"--reentry", "99999999999999999999", "out of range 0..86400"},
        {"--check-interval", "1000000000.5", "out of range 0.1..3600"},
        {"--check-interval", "1.2345", "not a number of seconds"},
        {"--check-interval", ".5", "not a number of seconds"},
        {"--check-interval", "5.", "not a number of seconds"},
        {"--check-interval", "-1", "not a number of seconds"},
        {"--check-interval", "+1", "not a number of seconds"},
        {"--probe-timeout", "1s", "not a number of seconds"},
        {"--probe-timeout", "1e3", "not a number of seconds"},
        {"--check-timeout", "1,5", "not a number of seconds"},
        {"--reentry", "1.2.3", "not a number of seconds"},
        {"--reentry", "", "not a number of seconds"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char cmd[256], val[64];
        snprintf(cmd, sizeof(cmd), BASE "-t 198.51.100.10:80 %s=%s -r 203.0.113.11:80", bad[i].flag, bad[i].val);
        snprintf(val, sizeof(val), "'%s'", bad[i].val);
        CHECK_ERR(cmd, bad[i].flag, val, bad[i].why);
    }
}

static void test_health_grouping(void)
{
    /* Before the first service: defaults for all; after: that service only, not the next one. */
    CHECK_OK(BASE "--check-interval 1 --reentry 30 --quiesce --agent-port 9000 --check-port 81 "
                  "-t 198.51.100.10:80 -r 203.0.113.11:80 "
                  "-t 198.51.100.10:81 --check-interval 0.5 --check http:/ping --expect-status 301 "
                  "--sorry-server 203.0.113.99:80 -r 203.0.113.11:81 --reentry 5 "
                  "-t 198.51.100.10:82 -r 203.0.113.11:82");
    CHECK_EQ_U(cfg.n_services, 3);
    const struct check_config *a = &cfg.services[0].check, *b = &cfg.services[1].check,
                              *c = &cfg.services[2].check;
    CHECK_EQ_U(a->kind, CHECK_TCP);
    CHECK_EQ_U(a->interval_ms, 1000);
    CHECK_EQ_U(a->reentry_ms, 30000);
    CHECK(a->quiesce && !a->has_sorry);
    CHECK_EQ_U(a->agent_port, 9000);
    CHECK_EQ_U(a->port, 81);
    CHECK_EQ_U(b->kind, CHECK_HTTP);
    CHECK(strcmp(b->http_path, "/ping") == 0);
    CHECK_EQ_U(b->expect_status, 301);
    CHECK_EQ_U(b->interval_ms, 500);
    CHECK_EQ_U(b->reentry_ms, 5000); /* after its -r: still its own */
    CHECK(b->quiesce && b->has_sorry);
    CHECK_EQ_U(b->agent_port, 9000);
    CHECK_EQ_U(c->kind, CHECK_TCP);
    CHECK_EQ_U(c->expect_status, 200);
    CHECK_EQ_U(c->interval_ms, 1000);
    CHECK_EQ_U(c->reentry_ms, 30000);
    CHECK(c->quiesce && !c->has_sorry);
    CHECK_EQ_U(c->dead_after_ms, RAWLB_DEFAULT_CHECK_TIMEOUT_MS);

    /* A default --check is for the services of its protocol; the others keep their own default. */
    CHECK_OK(BASE "--check http:/h --expect-status 404 --expect up "
                  "-t 198.51.100.10:80 -r 203.0.113.11:80 -u 198.51.100.10:53 -r 203.0.113.11:53");
    CHECK_EQ_U(cfg.services[0].check.kind, CHECK_HTTP);
    CHECK(strcmp(cfg.services[0].check.http_path, "/h") == 0);
    CHECK_EQ_U(cfg.services[0].check.expect_status, 404);
    CHECK(BYTES_ARE(cfg.services[0].check.expect, "up"));
    CHECK_EQ_U(cfg.services[1].check.kind, CHECK_NONE);
    CHECK(cfg.services[1].check.expect.len == 0);
    CHECK_OK(BASE "--check udp --send ping -t 198.51.100.10:80 -r 203.0.113.11:80 "
                  "-u 198.51.100.10:53 -r 203.0.113.11:53");
    CHECK_EQ_U(cfg.services[0].check.kind, CHECK_TCP);
    CHECK(cfg.services[0].check.send.len == 0);
    CHECK_EQ_U(cfg.services[1].check.kind, CHECK_UDP);
    CHECK(BYTES_ARE(cfg.services[1].check.send, "ping"));
    CHECK_OK(BASE "--check none -t 198.51.100.10:80 -r 203.0.113.11:80 -t 198.51.100.10:81 --check tcp "
                  "-r 203.0.113.11:81");
    CHECK_EQ_U(cfg.services[0].check.kind, CHECK_NONE);
    CHECK_EQ_U(cfg.services[1].check.kind, CHECK_TCP);
    /* A default --send serves the UDP service; a service's own --check overrides the default one. */
    CHECK_OK(BASE "--send hello -u 198.51.100.10:53 --check udp -r 203.0.113.11:53");
    CHECK(BYTES_ARE(cfg.services[0].check.send, "hello"));
    CHECK_OK(BASE "--check http -t 198.51.100.10:80 --check tcp -r 203.0.113.11:80 "
                  "-t 198.51.100.10:81 -r 203.0.113.11:81");
    CHECK_EQ_U(cfg.services[0].check.kind, CHECK_TCP);
    CHECK_EQ_U(cfg.services[1].check.kind, CHECK_HTTP);
    /* A default --expect-status that some http service uses; one that uses another kind is fine. */
    CHECK_OK(BASE "--expect-status 302 -t 198.51.100.10:80 -r 203.0.113.11:80 "
                  "-t 198.51.100.10:81 --check http -r 203.0.113.11:81");
    CHECK_EQ_U(cfg.services[1].check.expect_status, 302);
    /* A default sorry server is every service's. */
    CHECK_OK(BASE "--sorry-server 203.0.113.99:80 -t 198.51.100.10:80 -r 203.0.113.11:80 "
                  "-t 198.51.100.10:81 -r 203.0.113.11:81");
    CHECK(cfg.services[0].check.has_sorry && cfg.services[1].check.has_sorry);
    CHECK_EQ_U(cfg.services[1].check.sorry.addr, ip("203.0.113.99"));
    /* The same address as a real server on another port is a different server. */
    CHECK_OK(BASE "-t 198.51.100.10:80 --sorry-server 203.0.113.11:8080 -r 203.0.113.11:80");
}

static void test_health_errors(void)
{
    const char *tcp = "-t 198.51.100.10:80 -r 203.0.113.11:80";
    const char *udp = "-u 198.51.100.10:53 -r 203.0.113.11:53";
    char cmd[1024];

    /* --check */
    CHECK_ERR(BASE "-t 198.51.100.10:80 --check ping -r 203.0.113.11:80",
              "--check: unknown check 'ping' (known: tcp http[:PATH] udp dns[:NAME] none)");
    CHECK_ERR(BASE "--check TCP -t 198.51.100.10:80 -r 203.0.113.11:80", "--check", "'TCP'");
    CHECK_ERR(BASE "-t 198.51.100.10:80 --check https -r 203.0.113.11:80", "--check", "'https'");
    CHECK_ERR(BASE "-t 198.51.100.10:80 --check= -r 203.0.113.11:80", "--check", "''");
    CHECK_ERR(BASE "-t 198.51.100.10:80 --check http:health -r 203.0.113.11:80", "--check", "'http:health'",
              "'/'");
    CHECK_ERR(BASE "-t 198.51.100.10:80 --check http: -r 203.0.113.11:80", "--check", "'http:'", "'/'");
    CHECK_ERR(BASE "-u 198.51.100.10:53 --check tcp -r 203.0.113.11:53", "--check", "'tcp'",
              "UDP 198.51.100.10:53");
    CHECK_ERR(BASE "-u 198.51.100.10:53 --check http:/x -r 203.0.113.11:53", "--check", "'http:/x'",
              "UDP 198.51.100.10:53");
    CHECK_ERR(BASE "-t 198.51.100.10:80 --check udp --send x -r 203.0.113.11:80", "--check", "'udp'",
              "TCP 198.51.100.10:80");
    char longpath[RAWLB_CHECK_STRLEN + 8];
    memset(longpath, 'p', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[RAWLB_CHECK_STRLEN] = '\0'; /* 128 characters: one too many */
    snprintf(cmd, sizeof(cmd), BASE "-t 198.51.100.10:80 --check http:%s -r 203.0.113.11:80", longpath);
    CHECK_ERR(cmd, "--check", "too long", "/ppp");
    longpath[RAWLB_CHECK_STRLEN - 1] = '\0';
    snprintf(cmd, sizeof(cmd), BASE "-t 198.51.100.10:80 --check http:%s -r 203.0.113.11:80", longpath);
    CHECK_OK(cmd);
    CHECK_EQ_U(strlen(cfg.services[0].check.http_path), RAWLB_CHECK_STRLEN - 1);
    CHECK_ERR(BASE "-t 198.51.100.10:80 --check http:/a\tb -r 203.0.113.11:80", "--check", "http:/a\tb");

    /* --check udp needs --send. */
    CHECK_ERR(BASE "-u 198.51.100.10:53 --check udp -r 203.0.113.11:53", "--check udp", "--send",
              "UDP 198.51.100.10:53");
    CHECK_ERR(BASE "--check udp -u 198.51.100.10:53 -r 203.0.113.11:53", "--check udp", "--send",
              "UDP 198.51.100.10:53");

    /* --expect-status */
    CHECK_ERR(BASE "-t 198.51.100.10:80 --check http --expect-status 99 -r 203.0.113.11:80",
              "--expect-status: '99' is out of range 100..599");
    CHECK_ERR(BASE "-t 198.51.100.10:80 --check http --expect-status 600 -r 203.0.113.11:80", "--expect-status",
              "'600'");
    CHECK_ERR(BASE "-t 198.51.100.10:80 --check http --expect-status 2OO -r 203.0.113.11:80", "--expect-status",
              "'2OO'");
    CHECK_OK(BASE "-t 198.51.100.10:80 --check http --expect-status 100 -r 203.0.113.11:80");
    CHECK_OK(BASE "-t 198.51.100.10:80 --check http --expect-status 599 -r 203.0.113.11:80");
    CHECK_EQ_U(cfg.services[0].check.expect_status, 599);
    CHECK_ERR(BASE "-t 198.51.100.10:80 --expect-status 200 -r 203.0.113.11:80", "--expect-status",
              "--check http", "TCP 198.51.100.10:80");
    CHECK_ERR(BASE "-u 198.51.100.10:53 --check udp --send x --expect-status 200 -r 203.0.113.11:53",
              "--expect-status", "--check http", "UDP 198.51.100.10:53");
    snprintf(cmd, sizeof(cmd), BASE "--expect-status 500 %s %s", tcp, udp);
    CHECK_ERR(cmd, "--expect-status", "--check http", "no service");

    /* --expect */
    CHECK_ERR(BASE "-t 198.51.100.10:80 --expect OK -r 203.0.113.11:80", "--expect", "--check http or udp",
              "TCP 198.51.100.10:80");
    CHECK_ERR(BASE "-t 198.51.100.10:80 --check none --expect OK -r 203.0.113.11:80", "--expect",
              "TCP 198.51.100.10:80");
    CHECK_ERR(BASE "-u 198.51.100.10:53 --expect OK -r 203.0.113.11:53", "--expect", "UDP 198.51.100.10:53");
    snprintf(cmd, sizeof(cmd), BASE "--expect OK %s %s", tcp, udp);
    CHECK_ERR(cmd, "--expect", "--check http or udp", "no service");
    CHECK_ERR(BASE "-t 198.51.100.10:80 --check http --expect= -r 203.0.113.11:80", "--expect", "empty");
    char longstr[RAWLB_CHECK_STRLEN + 1];
    memset(longstr, 'x', sizeof(longstr) - 1);
    longstr[RAWLB_CHECK_STRLEN] = '\0';
    snprintf(cmd, sizeof(cmd), BASE "-t 198.51.100.10:80 --check http --expect %s -r 203.0.113.11:80", longstr);
    CHECK_ERR(cmd, "--expect", "too long", "'xxxxxxxx");
    longstr[RAWLB_CHECK_STRLEN - 1] = '\0';
    snprintf(cmd, sizeof(cmd), BASE "-t 198.51.100.10:80 --check http --expect %s -r 203.0.113.11:80", longstr);
    CHECK_OK(cmd);
    CHECK_EQ_U(cfg.services[0].check.expect.len, RAWLB_CHECK_STRLEN - 1);

    /* --send */
    CHECK_ERR(BASE "-t 198.51.100.10:80 --send hello -r 203.0.113.11:80",
              "--send: only meaningful with --check udp, which TCP 198.51.100.10:80 does not have");
    CHECK_ERR(BASE "-t 198.51.100.10:80 --check http --send hello -r 203.0.113.11:80", "--send",
              "TCP 198.51.100.10:80");
    CHECK_ERR(BASE "-u 198.51.100.10:53 --send hello -r 203.0.113.11:53", "--send", "UDP 198.51.100.10:53");
    snprintf(cmd, sizeof(cmd), BASE "--send hello %s", tcp);
    CHECK_ERR(cmd, "--send", "--check udp", "no service");
    CHECK_ERR(BASE "-u 198.51.100.10:53 --check udp --send= -r 203.0.113.11:53", "--send", "empty");
    longstr[RAWLB_CHECK_STRLEN - 1] = 'x';
    snprintf(cmd, sizeof(cmd), BASE "-u 198.51.100.10:53 --check udp --send %s -r 203.0.113.11:53", longstr);
    CHECK_ERR(cmd, "--send", "too long", "'xxxxxxxx");

    /* --check-port, --agent-port */
    CHECK_ERR(BASE "-t 198.51.100.10:80 --check-port 0 -r 203.0.113.11:80",
              "--check-port: '0' is out of range 1..65535");
    CHECK_ERR(BASE "--check-port 65536 -t 198.51.100.10:80 -r 203.0.113.11:80", "--check-port", "'65536'");
    CHECK_ERR(BASE "-t 198.51.100.10:80 --check-port http -r 203.0.113.11:80", "--check-port", "'http'");
    CHECK_ERR(BASE "-t 198.51.100.10:80 --agent-port 0 -r 203.0.113.11:80",
              "--agent-port: '0' is out of range 1..65535");
    CHECK_ERR(BASE "-t 198.51.100.10:80 --agent-port 70000 -r 203.0.113.11:80", "--agent-port", "'70000'");
    CHECK_ERR(BASE "-t 198.51.100.10:80 --agent-port -1 -r 203.0.113.11:80", "--agent-port", "'-1'");

    /* --quiesce takes no value. */
    CHECK_ERR(BASE "-t 198.51.100.10:80 --quiesce=yes -r 203.0.113.11:80", "'--quiesce'");

    /* --sorry-server */
    CHECK_ERR(BASE "-t 198.51.100.10:80 --sorry-server 203.0.113.99 -r 203.0.113.11:80", "--sorry-server",
              "'203.0.113.99'");
    CHECK_ERR(BASE "-t 198.51.100.10:80 --sorry-server 203.0.113.99:0 -r 203.0.113.11:80", "--sorry-server",
              "'0'");
    CHECK_ERR(BASE "-t 198.51.100.10:80 --sorry-server 0.0.0.0:80 -r 203.0.113.11:80", "--sorry-server",
              "'0.0.0.0'");
    CHECK_ERR(BASE "-t 198.51.100.10:80 --sorry-server 203.0.113.12:80 -r 203.0.113.11:80 -r 203.0.113.12:80",
              "--sorry-server", "'203.0.113.12:80'", "real server", "TCP 198.51.100.10:80");
    CHECK_ERR(BASE "--sorry-server 203.0.113.12:53 -t 198.51.100.10:80 -r 203.0.113.11:80 "
                   "-u 198.51.100.10:53 -r 203.0.113.12:53",
              "--sorry-server", "'203.0.113.12:53'", "real server", "UDP 198.51.100.10:53");

    /* Ambiguous and exact prefixes among the new names. */
    CHECK_OK(BASE "--check-ti 1 -t 198.51.100.10:80 -r 203.0.113.11:80");
    CHECK_EQ_U(cfg.services[0].check.dead_after_ms, 1000);
    CHECK_ERR(BASE "--che tcp -t 198.51.100.10:80 -r 203.0.113.11:80", "ambiguous", "'--che'");
    CHECK_ERR(BASE "-t 198.51.100.10:80 -r 203.0.113.11:80 --check", "'--check'", "value");
}

/* --check dns[:NAME]: UDP only, a name checked label by label, "." (the root) by default. */
static void test_health_dns(void)
{
    CHECK_OK(BASE "-u 198.51.100.10:53 --check dns -r 203.0.113.11:53");
    CHECK_EQ_U(cfg.services[0].check.kind, CHECK_DNS);
    CHECK(strcmp(cfg.services[0].check.dns_name, ".") == 0);
    CHECK_OK(BASE "-u 198.51.100.10:53 --check dns:example.test -r 203.0.113.11:53");
    CHECK(strcmp(cfg.services[0].check.dns_name, "example.test") == 0);
    CHECK_OK(BASE "-u 198.51.100.10:53 --check dns:Example.TEST. --check-port 5353 -r 203.0.113.11:53");
    CHECK(strcmp(cfg.services[0].check.dns_name, "Example.TEST") == 0); /* the final dot is implied */
    CHECK_EQ_U(cfg.services[0].check.port, 5353);
    CHECK_OK(BASE "-u 198.51.100.10:53 --check dns:. -r 203.0.113.11:53");
    CHECK(strcmp(cfg.services[0].check.dns_name, ".") == 0);
    CHECK_OK(BASE "-u 198.51.100.10:53 --check dns:_sip._udp.x-1.test -r 203.0.113.11:53");
    CHECK(strcmp(cfg.services[0].check.dns_name, "_sip._udp.x-1.test") == 0);
    /* a default --check dns serves the UDP services; the TCP ones keep their tcp check */
    CHECK_OK(BASE "--check dns:a.test -t 198.51.100.10:80 -r 203.0.113.11:80 -u 198.51.100.10:53 -r 203.0.113.11:53");
    CHECK_EQ_U(cfg.services[0].check.kind, CHECK_TCP);
    CHECK(strcmp(cfg.services[0].check.dns_name, ".") == 0); /* unused: left at its default */
    CHECK_EQ_U(cfg.services[1].check.kind, CHECK_DNS);
    CHECK(strcmp(cfg.services[1].check.dns_name, "a.test") == 0);
    /* the last --check wins, and the name of an earlier dns one does not linger */
    CHECK_OK(BASE "-u 198.51.100.10:53 --check dns:a.test --check udp --send x -r 203.0.113.11:53");
    CHECK_EQ_U(cfg.services[0].check.kind, CHECK_UDP);
    CHECK(strcmp(cfg.services[0].check.dns_name, ".") == 0);

    CHECK_ERR(BASE "-t 198.51.100.10:53 --check dns -r 203.0.113.11:53", "--check", "'dns'", "UDP services",
              "TCP 198.51.100.10:53");
    CHECK_ERR(BASE "-u 198.51.100.10:53 --check dns: -r 203.0.113.11:53", "--check", "'dns:'", "1..253", "root");
    CHECK_ERR(BASE "-u 198.51.100.10:53 --check dns:a..b -r 203.0.113.11:53", "--check", "'dns:a..b'",
              "empty label");
    CHECK_ERR(BASE "-u 198.51.100.10:53 --check dns:.a -r 203.0.113.11:53", "'dns:.a'", "empty label");
    CHECK_ERR(BASE "-u 198.51.100.10:53 --check dns:a.b.. -r 203.0.113.11:53", "'dns:a.b..'", "empty label");
    CHECK_ERR(BASE "-u 198.51.100.10:53 --check dns:a/b -r 203.0.113.11:53", "'dns:a/b'", "character");
    CHECK_ERR(BASE "-u 198.51.100.10:53 --check dns:ex\\x41mple -r 203.0.113.11:53", "character");
    CHECK_ERR(BASE "-u 198.51.100.10:53 --check DNS -r 203.0.113.11:53", "unknown check 'DNS'");
    CHECK_ERR(BASE "-u 198.51.100.10:53 --check dns --send x -r 203.0.113.11:53", "--send", "--check udp");
    CHECK_ERR(BASE "-u 198.51.100.10:53 --check dns --expect x -r 203.0.113.11:53", "--expect",
              "--check http or udp");
    char cmd[1024], name[RAWLB_DNS_NAME_MAX + 8];
    memset(name, 'a', RAWLB_DNS_LABEL_MAX + 1); /* one label too long */
    name[RAWLB_DNS_LABEL_MAX + 1] = '\0';
    snprintf(cmd, sizeof cmd, BASE "-u 198.51.100.10:53 --check dns:%s -r 203.0.113.11:53", name);
    CHECK_ERR(cmd, "a label longer than 63");
    name[RAWLB_DNS_LABEL_MAX] = '\0';
    snprintf(cmd, sizeof cmd, BASE "-u 198.51.100.10:53 --check dns:%s -r 203.0.113.11:53", name);
    CHECK_OK(cmd);
    /* 253 characters in labels of 63: accepted; one more: refused */
    for (size_t i = 0; i < RAWLB_DNS_NAME_MAX; i++)
        name[i] = i % (RAWLB_DNS_LABEL_MAX + 1) == RAWLB_DNS_LABEL_MAX ? '.' : 'b';
    name[RAWLB_DNS_NAME_MAX] = '\0';
    snprintf(cmd, sizeof cmd, BASE "-u 198.51.100.10:53 --check dns:%s. -r 203.0.113.11:53", name);
    CHECK_OK(cmd);
    CHECK_EQ_U(strlen(cfg.services[0].check.dns_name), RAWLB_DNS_NAME_MAX);
    snprintf(cmd, sizeof cmd, BASE "-u 198.51.100.10:53 --check dns:%sb -r 203.0.113.11:53", name);
    CHECK_ERR(cmd, "--check: the name has a length other than 1..253 characters");
}

/* --send and --expect: \xNN and \\ escapes, NULs kept with the length; config_escape_bytes
 * gives the text back. */
static void test_check_escapes(void)
{
    const struct check_config *cc = &cfg.services[0].check;
    CHECK_OK(BASE "-u 198.51.100.10:53 --check udp --send \\x00\\x01ping\\\\\\xff --expect a\\x00B -r 203.0.113.11:53");
    CHECK(BYTES_ARE(cc->send, "\x00\x01ping\\\xff"));
    CHECK_EQ_U(cc->send.len, 8);
    CHECK(BYTES_ARE(cc->expect, "a\0B"));
    CHECK_OK(BASE "-u 198.51.100.10:53 --check udp --send \\x4A\\x4b\\x7E -r 203.0.113.11:53");
    CHECK(BYTES_ARE(cc->send, "JK~"));
    CHECK_OK(BASE "-u 198.51.100.10:53 --check udp --send \\x00 -r 203.0.113.11:53"); /* only a NUL */
    CHECK(BYTES_ARE(cc->send, "\0"));
    CHECK_OK(BASE "-t 198.51.100.10:80 --check http --expect \\\\n -r 203.0.113.11:80"); /* backslash, n */
    CHECK(BYTES_ARE(cc->expect, "\\n"));

    CHECK_ERR(BASE "-u 198.51.100.10:53 --check udp --send a\\nb -r 203.0.113.11:53", "--send", "'a\\nb'",
              "'\\nb'", "no escape", "\\xNN");
    CHECK_ERR(BASE "-u 198.51.100.10:53 --check udp --send a\\x4 -r 203.0.113.11:53", "--send", "no escape");
    CHECK_ERR(BASE "-u 198.51.100.10:53 --check udp --send \\xZZ -r 203.0.113.11:53", "'\\xZZ'", "no escape");
    CHECK_ERR(BASE "-u 198.51.100.10:53 --check udp --send x --expect ab\\ -r 203.0.113.11:53", "--expect",
              "no escape");
    /* the length counts bytes, not what was typed: 127 escaped bytes fit, 128 do not */
    char cmd[1024], arg[4 * RAWLB_CHECK_STRLEN + 1] = "";
    for (int i = 0; i < RAWLB_CHECK_STRLEN - 1; i++)
        strcat(arg, "\\x00");
    snprintf(cmd, sizeof cmd, BASE "-u 198.51.100.10:53 --check udp --send %s -r 203.0.113.11:53", arg);
    CHECK_OK(cmd);
    CHECK_EQ_U(cc->send.len, RAWLB_CHECK_STRLEN - 1);
    CHECK(cc->send.data[0] == 0 && cc->send.data[RAWLB_CHECK_STRLEN - 2] == 0);
    strcat(arg, "\\x00");
    snprintf(cmd, sizeof cmd, BASE "-u 198.51.100.10:53 --check udp --send %s -r 203.0.113.11:53", arg);
    CHECK_ERR(cmd, "--send", "too long (at most 127 bytes)");

    /* back to text: printable as it is, a backslash doubled, the rest as \xNN */
    char text[RAWLB_CHECK_ESCAPED_LEN];
    struct check_bytes b = {.len = 9, .data = "a\\ b\0\x7f\n'\xff"};
    CHECK(strcmp(config_escape_bytes(&b, text), "a\\\\ b\\x00\\x7f\\x0a'\\xff") == 0);
    struct check_bytes back;
    CHECK(config_unescape_bytes(text, &back, err, sizeof err));
    CHECK(back.len == b.len && memcmp(back.data, b.data, b.len) == 0);
    /* every byte value, 127 at a time, through the longest text */
    for (unsigned start = 0; start < 256; start += RAWLB_CHECK_STRLEN - 1) {
        struct check_bytes all = {0};
        for (unsigned v = start; v < 256 && all.len < RAWLB_CHECK_STRLEN - 1; v++)
            all.data[all.len++] = (char)v;
        CHECK(strlen(config_escape_bytes(&all, text)) < RAWLB_CHECK_ESCAPED_LEN);
        CHECK(config_unescape_bytes(text, &back, err, sizeof err));
        CHECK(back.len == all.len && memcmp(back.data, all.data, all.len) == 0);
    }

    /* -S prints them escaped (quoted as a word with a backslash), the DNS name as given, and
     * that line read back holds the same bytes */
    CHECK_OK(BASE "-u 198.51.100.10:53 --check udp --send \\x00it's\\\\ --expect \\xff -r 203.0.113.11:53 "
                  "-u 198.51.100.11:53 --check dns:example.test -r 203.0.113.11:53");
    static char saved[4096];
    CHECK(ctlproto_render_save(&cfg, saved, sizeof saved) > 0);
    CHECK(strstr(saved, " --check udp --expect '\\xff' --send '\\x00it'\\''s\\\\' -r 203.0.113.11:53:1 ") != NULL);
    CHECK(strstr(saved, " -u 198.51.100.11:53 -s wlc --check dns:example.test -r 203.0.113.11:53:1\n") != NULL);
    static struct rawlb_config again;
    CHECK(config_parse_line(&again, saved, err, sizeof err) == CONFIG_OK);
    CHECK(BYTES_ARE(again.services[0].check.send, "\0it's\\"));
    CHECK(BYTES_ARE(again.services[0].check.expect, "\xff"));
    CHECK(strcmp(again.services[1].check.dns_name, "example.test") == 0);
}

static void test_small_err_buffer(void)
{
    char *argv[] = {"rawlb", "--no-such-flag-with-a-very-long-name", NULL};
    char small[8];
    CHECK_EQ_U(config_parse(&cfg, 2, argv, small, sizeof(small)), CONFIG_ERROR);
    CHECK_EQ_U(strlen(small), sizeof(small) - 1);
}

static void test_usage(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    config_usage(f);
    fclose(f);
    const char *flags[] = {"--ext-if", "--int-if", "--nat-ip", "--tcp-service", "--udp-service", "--scheduler",
                           "--sched-flags", "mh-port", "mh-fallback",
                           "--persistent", "--netmask", "--ops", "--real-server", "--timeouts", "--max-conns",
                           "--ctl", "--pidfile", "--user", "--ctl-group", "--help", "--version", "--check ",
                           "--expect-status", "--expect ", "--send", "--check-port", "--check-interval",
                           "--probe-timeout", "--check-timeout", "--reentry", "--quiesce", "--sorry-server",
                           "--agent-port",
                           "health checks (per service, or defaults before the first service):"};
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (!strstr(text, flags[i])) {
            fprintf(stderr, "usage lacks %s\n", flags[i]);
            check_failures++;
        }
    free(text);
}

/* A key file with these bytes and mode, in a fresh temporary directory; returns its path. */
static char key_dir[] = "/tmp/rawlb-test-key.XXXXXX";

static const char *key_file(const char *bytes, size_t len, mode_t mode)
{
    static char path[64];
    static bool made;
    if (!made && !mkdtemp(key_dir))
        return "/nonexistent";
    made = true;
    const char *dir = key_dir;
    snprintf(path, sizeof path, "%s/key", dir);
    unlink(path);
    FILE *f = fopen(path, "w");
    if (!f)
        return "/nonexistent";
    fwrite(bytes, 1, len, f);
    fclose(f);
    chmod(path, mode);
    return path;
}

static void test_ha(void)
{
    const char *svc = "-t 198.51.100.10:80 -r 203.0.113.11:80";
    char cmd[1024];
    const char *key = key_file("0123456789abcdef0123\n", 21, 0600);
    char keypath[64];
    snprintf(keypath, sizeof keypath, "%s", key);

    snprintf(cmd, sizeof cmd, BASE "%s --ha-role backup --ha-peer 198.51.100.3 --ha-key %s", svc, keypath);
    CHECK_OK(cmd);
    CHECK(cfg.ha.enabled);
    CHECK_EQ_U(cfg.ha.role, HA_ROLE_BACKUP);
    CHECK_EQ_U(cfg.ha.port, 539);
    CHECK_EQ_U(cfg.ha.interval_ms, 2000);
    CHECK_EQ_U(cfg.ha.deadtime_ms, 5000);
    CHECK_EQ_U(cfg.ha.key.len, 20); /* less the trailing newline */
    CHECK(memcmp(cfg.ha.key.bytes, "0123456789abcdef0123", 20) == 0);
    CHECK(strcmp(cfg.ha.state_dir, "/var/lib/rawlb") == 0);
    CHECK_EQ_U(cfg.ha.n_ifs, 0);

    /* Pairs in any order, counts must match. */
    snprintf(cmd, sizeof cmd,
             BASE "%s --ha-role primary --ha-if ext --ha-peer 198.51.100.3 --ha-peer 192.0.2.3 --ha-if hb0 "
                  "--ha-key %s --ha-port 1539 --ha-interval 0.5 --ha-deadtime 1.5 --ha-track ext --state-dir /tmp/s",
             svc, keypath);
    CHECK_OK(cmd);
    CHECK_EQ_U(cfg.ha.n_ifs, 2);
    CHECK(strcmp(cfg.ha.ifs[1], "hb0") == 0 && cfg.ha.peers[1] == ip("192.0.2.3"));
    CHECK_EQ_U(cfg.ha.interval_ms, 500);
    CHECK_EQ_U(cfg.ha.deadtime_ms, 1500);
    CHECK_EQ_U(cfg.ha.port, 1539);
    snprintf(cmd, sizeof cmd, BASE "%s --ha-role primary --ha-if ext --ha-if hb0 --ha-peer 198.51.100.3 --ha-key %s",
             svc, keypath);
    CHECK_ERR(cmd, "--ha-if", "2 given for 1 --ha-peer");

    CHECK_ERR(BASE "-t 198.51.100.10:80 -r 203.0.113.11:80 --ha-peer 198.51.100.3", "--ha-peer",
              "only meaningful with --ha-role");
    CHECK_ERR(BASE "-t 198.51.100.10:80 -r 203.0.113.11:80 --ha-role master", "--ha-role", "'master'");
    snprintf(cmd, sizeof cmd, BASE "%s --ha-role primary --ha-key %s", svc, keypath);
    CHECK_ERR(cmd, "--ha-role", "--ha-peer");
    CHECK_ERR(BASE "-t 198.51.100.10:80 -r 203.0.113.11:80 --ha-role primary --ha-peer 198.51.100.3", "--ha-key");
    snprintf(cmd, sizeof cmd, BASE "%s --ha-role primary --ha-peer 198.51.100.3 --ha-key %s --ha-interval 5", svc,
             keypath);
    CHECK_ERR(cmd, "--ha-deadtime", "not longer than --ha-interval");
    snprintf(cmd, sizeof cmd, BASE "%s --ha-role primary --ha-peer 198.51.100.3 --ha-key %s --ha-port 0", svc, keypath);
    CHECK_ERR(cmd, "--ha-port", "'0' is out of range");
    snprintf(cmd, sizeof cmd, BASE "%s --ha-role primary --ha-peer 198.51.100.3 --ha-key %s --ha-port abc", svc,
             keypath);
    CHECK_ERR(cmd, "--ha-port", "'abc' is not a number");
    snprintf(cmd, sizeof cmd, BASE "%s --ha-role primary --ha-peer 198.51.100.3 --ha-key %s --ha-interval 0.01", svc,
             keypath);
    CHECK_ERR(cmd, "--ha-interval", "'0.01'");

    key = key_file("0123456789abcdef0123", 20, 0640);
    snprintf(cmd, sizeof cmd, BASE "%s --ha-role primary --ha-peer 198.51.100.3 --ha-key %s", svc, key);
    CHECK_ERR(cmd, "--ha-key", "mode 0640", "chmod 600");
    key = key_file("short\n", 6, 0600);
    snprintf(cmd, sizeof cmd, BASE "%s --ha-role primary --ha-peer 198.51.100.3 --ha-key %s", svc, key);
    CHECK_ERR(cmd, "--ha-key", "fewer than 16");
    char longkey[70];
    memset(longkey, 'k', sizeof longkey);
    key = key_file(longkey, 65, 0600);
    snprintf(cmd, sizeof cmd, BASE "%s --ha-role primary --ha-peer 198.51.100.3 --ha-key %s", svc, key);
    CHECK_ERR(cmd, "--ha-key", "more than 64");
    key = key_file(longkey, 64, 0600);
    snprintf(cmd, sizeof cmd, BASE "%s --ha-role primary --ha-peer 198.51.100.3 --ha-key %s", svc, key);
    CHECK_OK(cmd);
    CHECK_ERR(BASE "-t 198.51.100.10:80 -r 203.0.113.11:80 --ha-role primary --ha-peer 198.51.100.3 --ha-key /nonexistent/k",
              "--ha-key", "/nonexistent/k");
    unlink(key);
    rmdir(key_dir);
}

/* ---- config_parse_line: the command line as rawlb-ctl -S prints it ---- */

/* A directory of its own for the key file these tests need (a space in its name: -S quotes it). */
static char line_dir[64];
static char line_key[128];

static bool line_key_up(void)
{
    snprintf(line_dir, sizeof line_dir, "/tmp/rawlb test line.XXXXXX");
    if (!mkdtemp(line_dir))
        return false;
    snprintf(line_key, sizeof line_key, "%s/ha key", line_dir);
    FILE *f = fopen(line_key, "w");
    if (!f)
        return false;
    fputs("0123456789abcdef0123456789\n", f);
    fclose(f);
    return chmod(line_key, 0600) == 0;
}

static void line_key_down(void)
{
    unlink(line_key);
    rmdir(line_dir);
}

/* config_parse_line on line with stdout caught: how many bytes it printed in *printed (-1 when
 * stdout could not be caught). */
static enum config_result parse_line_quiet(struct rawlb_config *out, const char *line, long *printed)
{
    fflush(stdout);
    FILE *catch = tmpfile();
    int saved = dup(STDOUT_FILENO);
    err[0] = '\0';
    if (!catch || saved < 0) {
        if (catch)
            fclose(catch);
        if (saved >= 0)
            close(saved);
        *printed = -1;
        return config_parse_line(out, line, err, sizeof err);
    }
    dup2(fileno(catch), STDOUT_FILENO);
    enum config_result r = config_parse_line(out, line, err, sizeof err);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    *printed = (long)lseek(fileno(catch), 0, SEEK_END);
    fclose(catch);
    return r;
}

static struct rawlb_config line_cfg, argv_cfg;

/* line is refused, nothing printed, and the message contains want. */
#define LINE_REFUSED(line, want)                                                                             \
    do {                                                                                                     \
        long printed_;                                                                                       \
        enum config_result r_ = parse_line_quiet(&line_cfg, line, &printed_);                                \
        if (r_ != CONFIG_ERROR || printed_ != 0 || !strstr(err, want)) {                                     \
            fprintf(stderr, "%s:%d: line '%.200s': result %d, %ld bytes printed, message '%s' (want one "   \
                            "naming '%s')\n", __FILE__, __LINE__, line, (int)r_, printed_, err, want);      \
            check_failures++;                                                                                \
        }                                                                                                    \
    } while (0)

/* line gives the same configuration as argv (argv[0] included, NULL-terminated), byte for byte. */
#define LINE_SAME_AS_ARGV(line, argv) line_same_as_argv(__LINE__, line, argv)
static void line_same_as_argv(int at, const char *line, char **argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    long printed;
    char argv_err[RAWLB_ERRLEN];
    memset(&argv_cfg, 0x5a, sizeof argv_cfg);
    memset(&line_cfg, 0xa5, sizeof line_cfg); /* the parser sets every byte, whatever was there */
    enum config_result ra = config_parse(&argv_cfg, argc, argv, argv_err, sizeof argv_err);
    enum config_result rl = parse_line_quiet(&line_cfg, line, &printed);
    if (ra != CONFIG_OK || rl != CONFIG_OK) {
        fprintf(stderr, "%s:%d: '%.200s': argv form %s (%s), line %s (%s)\n", __FILE__, at, line,
                ra == CONFIG_OK ? "taken" : "refused", argv_err, rl == CONFIG_OK ? "taken" : "refused", err);
        check_failures++;
        return;
    }
    if (printed != 0 || memcmp(&argv_cfg, &line_cfg, sizeof line_cfg) != 0) {
        fprintf(stderr, "%s:%d: '%.200s' and its argv form give different configurations (%ld bytes printed)\n",
                __FILE__, at, line, printed);
        check_failures++;
    }
}

static void test_parse_line(void)
{
    if (!line_key_up()) {
        CHECK(!"a key file in a temporary directory");
        return;
    }
    char line[2048], keyword[256];
    snprintf(keyword, sizeof keyword, "'%s'", line_key); /* the path has spaces */

    /* -S's own output, argv word for word. */
    {
        char *argv[] = { "rawlb", "-e", "ext", "-i", "int", "-n", "203.0.113.1", "--timeouts", "900,60,300",
                         "-t", "198.51.100.10:80", "-s", "wrr", "-p", "300", "-M", "255.255.255.0",
                         "-r", "203.0.113.11:80:3", "-u", "198.51.100.10:53", "-s", "rr", "-o",
                         "-r", "203.0.113.11:53:1", NULL };
        LINE_SAME_AS_ARGV("rawlb -e ext -i int -n 203.0.113.1 --timeouts 900,60,300 -t 198.51.100.10:80 -s wrr "
                          "-p 300 -M 255.255.255.0 -r 203.0.113.11:80:3 -u 198.51.100.10:53 -s rr -o "
                          "-r 203.0.113.11:53:1\n",
                          argv);
        CHECK_EQ_U(line_cfg.n_services, 2);
        CHECK_EQ_U(line_cfg.services[0].persist_mask, ip("255.255.255.0"));
        CHECK(line_cfg.services[1].one_packet);
    }
    /* Quoting: '\'' for a quote, a quoted word with spaces, tabs and runs of spaces between words,
     * a backslash outside quotes, quotes glued to other text. */
    {
        char *argv[] = { "rawlb", "-e", "ext", "-i", "int", "-n", "203.0.113.1", "--ctl", "/tmp/my lb.sock",
                         "-t", "198.51.100.10:80", "--check", "http:/health", "--expect", "it's ok",
                         "-r", "203.0.113.11:80", "-u", "198.51.100.10:53", "--check", "udp", "--send",
                         "'quoted'  twice", "--expect", "a\tb", "-r", "203.0.113.11:53", NULL };
        LINE_SAME_AS_ARGV("rawlb  -e ext\t-i 'int' -n 203.0.113.1 --ctl '/tmp/my lb.sock' -t 198.51.100.10:80 "
                          "--check 'http:/health' --expect 'it'\\''s ok' -r 203.0.113.11:80 "
                          "-u 198.51.100.10:53 --check udp --send \\''quoted'\\''  twice' --expect 'a\tb' "
                          "-r 203.0.113.11:53",
                          argv);
        CHECK(BYTES_ARE(line_cfg.services[0].check.expect, "it's ok"));
        CHECK(strcmp(line_cfg.services[0].check.http_path, "/health") == 0);
        CHECK(strcmp(line_cfg.ctl_path, "/tmp/my lb.sock") == 0);
        CHECK(BYTES_ARE(line_cfg.services[1].check.send, "'quoted'  twice"));
        CHECK(BYTES_ARE(line_cfg.services[1].check.expect, "a\tb"));
    }
    /* HA flags, the key file's path quoted. */
    {
        char *argv[] = { "rawlb", "-e", "ext", "-i", "int", "-n", "203.0.113.1", "-t", "198.51.100.10:80",
                         "-r", "203.0.113.11:80", "--ha-role", "backup", "--ha-if", "hb0", "--ha-peer",
                         "192.0.2.3", "--ha-key", line_key, "--ha-notify", "/usr/local/bin/ha notify --tag 'x'",
                         "--state-dir", "/var/lib/raw lb", NULL };
        snprintf(line, sizeof line,
                 "rawlb -e ext -i int -n 203.0.113.1 -t 198.51.100.10:80 -r 203.0.113.11:80 --ha-role backup "
                 "--ha-if hb0 --ha-peer 192.0.2.3 --ha-key %s --ha-notify '/usr/local/bin/ha notify --tag '\\''x'\\'"
                 " --state-dir '/var/lib/raw lb'",
                 keyword);
        LINE_SAME_AS_ARGV(line, argv);
        CHECK(line_cfg.ha.enabled && line_cfg.ha.key.len == 26);
        CHECK(strcmp(line_cfg.ha.notify, "/usr/local/bin/ha notify --tag 'x'") == 0);
        CHECK(strcmp(line_cfg.ha.state_dir, "/var/lib/raw lb") == 0);
    }

    /* Refused: an open quote, not rawlb, empty. */
    LINE_REFUSED("rawlb -e ext -i int -n 203.0.113.1 -t 198.51.100.10:80 --expect 'open -r 203.0.113.11:80",
                 "open quote");
    LINE_REFUSED("rawlb -e ext -i int -n 203.0.113.1 -t 198.51.100.10:80 -r 203.0.113.11:80 '", "open quote");
    LINE_REFUSED("/usr/sbin/rawlb -e ext -i int -n 203.0.113.1 -t 198.51.100.10:80 -r 203.0.113.11:80",
                 "starts with '/usr/sbin/rawlb'");
    LINE_REFUSED("rawlbx -e ext -i int -n 203.0.113.1 -t 198.51.100.10:80 -r 203.0.113.11:80", "'rawlbx'");
    LINE_REFUSED("ipvsadm -A -t 198.51.100.10:80", "not a rawlb command line");
    LINE_REFUSED("", "empty");
    LINE_REFUSED(" \t \n", "empty");
    /* config_parse's own refusals come back as such. */
    LINE_REFUSED("rawlb -e ext -i int -n 203.0.113.1 -t 198.51.100.10:80 -r 203.0.113.11:80 --max-conns 0",
                 "--max-conns");
    /* Help or version wherever an option may be, spelt any way getopt reads them: refused, and
     * nothing printed (a backup running the master's configuration must not print its usage). */
    const char *asks[] = { "-h", "--help", "-V", "--version", "--hel", "--vers", "-oh", "-oV" };
    for (size_t i = 0; i < sizeof asks / sizeof asks[0]; i++) {
        snprintf(line, sizeof line, "rawlb %s -e ext -i int -n 203.0.113.1 -u 198.51.100.10:53 -r 203.0.113.11:53",
                 asks[i]);
        LINE_REFUSED(line, "help or the version");
        snprintf(line, sizeof line, "rawlb -e ext -i int -n 203.0.113.1 -u 198.51.100.10:53 -r 203.0.113.11:53 %s",
                 asks[i]);
        LINE_REFUSED(line, "help or the version");
        snprintf(line, sizeof line, "rawlb -e ext -i int -n 203.0.113.1 -u 198.51.100.10:53 %s -r 203.0.113.11:53",
                 asks[i]);
        LINE_REFUSED(line, "help or the version");
    }
    /* ... but the value of a flag that reads like one is a value, as in the argv form (and -S
     * prints it unquoted). */
    {
        char *argv[] = { "rawlb", "-e", "ext", "-i", "int", "-n", "203.0.113.1", "-u", "198.51.100.10:53",
                         "--check", "udp", "--send", "-h", "--expect", "--version", "-r", "203.0.113.11:53",
                         "--ha-role", "primary", "--ha-peer", "192.0.2.3", "--ha-key", line_key, "--ha-notify",
                         "-V", NULL };
        snprintf(line, sizeof line,
                 "rawlb -e ext -i int -n 203.0.113.1 -u 198.51.100.10:53 --check udp --send -h --expect --version "
                 "-r 203.0.113.11:53 --ha-role primary --ha-peer 192.0.2.3 --ha-key %s --ha-notify -V",
                 keyword);
        LINE_SAME_AS_ARGV(line, argv);
        CHECK(BYTES_ARE(line_cfg.services[0].check.send, "-h"));
        CHECK(strcmp(line_cfg.ha.notify, "-V") == 0);
    }
    line_key_down();
}

/* Round trip: ctlproto_render_save -> config_parse_line -> ctlproto_render_save, byte for byte,
 * for rich set-ups. */
static void test_save_round_trip(void)
{
    if (!line_key_up()) {
        CHECK(!"a key file in a temporary directory");
        return;
    }
    static char save1[16384], save2[16384];
    static struct rawlb_config first, back;
    char keyword[256];
    snprintf(keyword, sizeof keyword, "'%s'", line_key);
    const char *lines[] = {
        /* Several services, persistence, every check flag, sorry servers, HA with --ha-if pairs and
         * every --ha-* flag, strings with spaces and both kinds of quotes. */
        "rawlb -e ext0 -i int0 -n 203.0.113.1 --timeouts 600,30,120 --max-conns 65536 --ctl '/run/raw lb.sock' "
        "--pidfile /run/rawlb.pid --metrics 127.0.0.1:9100 "
        "--ha-role primary --ha-if hb0 --ha-peer 192.0.2.3 --ha-if ext0 --ha-peer 198.51.100.3 --ha-key KEY "
        "--ha-port 1539 --ha-interval 0.25 --ha-deadtime 1.75 --ha-track ext0 --ha-track int0 "
        "--ha-notify '/usr/local/bin/ha notify --tag '\\''lb 1'\\''' --state-dir '/var/lib/raw lb' "
        "-s rr -t 198.51.100.10:80 -s wrr -p 300 -M 255.255.255.0 --check http:/health --expect-status 204 "
        "--expect 'it'\\''s \"ok\"  here' --check-port 8080 --check-interval 0.5 --probe-timeout 1.25 "
        "--check-timeout 30 --reentry 0 --quiesce --sorry-server 203.0.113.99:80 --agent-port 9999 "
        "-r 203.0.113.11:80:3 -r 203.0.113.12:80:0 -r 203.0.113.13:80 "
        "-u 198.51.100.10:53 -o --check udp --send 'ping me' --expect 'a '\\''pong'\\''' -r 203.0.113.11:53 "
        "-r 203.0.113.12:53:7 "
        "-t 198.51.100.11:443 -p 60 --check none -r 203.0.113.11:443 "
        "-u 198.51.100.11:5353 -s sh -p 10 -M 16 --sorry-server 203.0.113.98:5353 -r 203.0.113.14:5353",
        /* --send and --expect with escapes (NULs, a backslash, a quote, bytes above 127), DNS
         * checks with and without a name. */
        "rawlb -e ext -i int -n 203.0.113.1 "
        "-u 198.51.100.10:7 --check udp --send '\\x00\\x01ping\\\\ it'\\''s\\xff' --expect 'po\\x00ng' "
        "-r 203.0.113.11:7 -t 198.51.100.10:80 --check http --expect '\\\\x41' -r 203.0.113.11:80 "
        "-u 198.51.100.10:53 --check dns -r 203.0.113.11:53 "
        "-u 198.51.100.11:53 --check dns:example.test --check-port 5353 -r 203.0.113.11:53",
        /* HA without --ha-if, defaults elsewhere; --check tcp where it is the default anyway. */
        "rawlb -e ext -i int -n 203.0.113.1 --ha-role backup --ha-peer 192.0.2.3 --ha-key KEY "
        "-t 198.51.100.10:80 --check tcp -r 203.0.113.11:80 -t 198.51.100.10:8080 --check http -r 203.0.113.11:8080",
        /* No HA; defaults before the first service. */
        "rawlb -e ext -i int -n 203.0.113.1 --check-interval 3 --reentry 1.5 --metrics 0.0.0.0:9100 "
        "-t 198.51.100.10:80 -r 203.0.113.11:80:2 -t 198.51.100.10:81 --check http:/a\\'b -r 203.0.113.11:81",
        /* Connection limits in every place: defaults, a service's, a server's, lifted again. */
        "rawlb -e ext -i int -n 203.0.113.1 -x 1000 -y 10 -t 198.51.100.10:80 -x 50 -r 203.0.113.11:80 "
        "-r 203.0.113.12:80 -y 0 -x 0 -r 203.0.113.13:80:2 -x 67108864 -y 67108864 "
        "-t 198.51.100.10:81 -r 203.0.113.11:81 -u 198.51.100.10:53 -y 7 -r 203.0.113.11:53",
        /* Scheduler flags: a default, one per service, one left behind by a service's own -s. */
        "rawlb -e ext -i int -n 203.0.113.1 -s mh -b mh-fallback -t 198.51.100.10:80 -r 203.0.113.11:80 "
        "-t 198.51.100.10:81 -b mh-port,mh-fallback -r 203.0.113.11:81 -t 198.51.100.10:82 -s sh -r 203.0.113.11:82",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        char line[4096];
        const char *at = strstr(lines[i], "KEY"); /* the key's path in its place */
        if (at)
            snprintf(line, sizeof line, "%.*s%s%s", (int)(at - lines[i]), lines[i], keyword, at + 3);
        else
            snprintf(line, sizeof line, "%s", lines[i]);
        long printed;
        if (parse_line_quiet(&first, line, &printed) != CONFIG_OK) {
            fprintf(stderr, "%s:%d: round trip %zu: the line is refused: %s\n", __FILE__, __LINE__, i, err);
            check_failures++;
            continue;
        }
        size_t n1 = ctlproto_render_save(&first, save1, sizeof save1);
        CHECK(n1 > 0 && strncmp(save1, "rawlb ", 6) == 0 && save1[n1 - 1] == '\n');
        memset(&back, 0xa5, sizeof back);
        if (parse_line_quiet(&back, save1, &printed) != CONFIG_OK) {
            fprintf(stderr, "%s:%d: round trip %zu: the save line is refused: %s\n  %s", __FILE__, __LINE__, i, err,
                    save1);
            check_failures++;
            continue;
        }
        size_t n2 = ctlproto_render_save(&back, save2, sizeof save2);
        if (n1 != n2 || strcmp(save1, save2) != 0) {
            fprintf(stderr, "%s:%d: round trip %zu differs:\n  %s  %s", __FILE__, __LINE__, i, save1, save2);
            check_failures++;
        }
        /* The same values, not only the same text: the whole configuration, -S leaving out
         * nothing that was given. */
        if (memcmp(&first, &back, sizeof first) != 0) {
            fprintf(stderr, "%s:%d: round trip %zu: the configurations differ\n", __FILE__, __LINE__, i);
            check_failures++;
        }
    }
    line_key_down();
}

/* -x/-y: after a -r that server's; before a service's first -r its servers'; before the first
 * service every server's (what a service inherits); the lower never above a set upper. */
static void test_thresholds(void)
{
    CHECK_OK(BASE "-t 198.51.100.10:80 -r 203.0.113.11:80");
    CHECK(cfg.services[0].rs[0].u_threshold == 0 && cfg.services[0].rs[0].l_threshold == 0);

    CHECK_OK(BASE "-x 1000 -y 10 -t 198.51.100.10:80 -r 203.0.113.11:80 -t 198.51.100.10:81 -x 50 -r 203.0.113.11:81 "
                  "-y 5 -r 203.0.113.12:81 -x 0 -t 198.51.100.10:82 --u-threshold=20 --l-threshold 15 -r 203.0.113.11:82 "
                  "-r 203.0.113.12:82 --u-threshold 30");
    const struct service_config *a = &cfg.services[0], *b = &cfg.services[1], *c = &cfg.services[2];
    CHECK(a->rs[0].u_threshold == 1000 && a->rs[0].l_threshold == 10);    /* the defaults */
    CHECK(b->rs[0].u_threshold == 50 && b->rs[0].l_threshold == 5);       /* service's -x, its own -y */
    CHECK(b->rs[1].u_threshold == 0 && b->rs[1].l_threshold == 10);       /* service's -x, -y default; own -x 0 */
    CHECK(c->rs[0].u_threshold == 20 && c->rs[0].l_threshold == 15);      /* long forms, service scope */
    CHECK(c->rs[1].u_threshold == 30 && c->rs[1].l_threshold == 15);
    CHECK_OK(BASE "-t 198.51.100.10:80 -r 203.0.113.11:80 -x 3 -t 198.51.100.10:81 -r 203.0.113.11:81");
    CHECK(cfg.services[0].rs[0].u_threshold == 3 && cfg.services[1].rs[0].u_threshold == 0); /* no leak */
    CHECK_OK(BASE "-x 10 -y 10 -t 198.51.100.10:80 -r 203.0.113.11:80");             /* equal is taken */
    CHECK_OK(BASE "-y 10 -t 198.51.100.10:80 -r 203.0.113.11:80");                   /* -y alone, as ipvsadm */
    CHECK_OK(BASE "-t 198.51.100.10:80 -r 203.0.113.11:80 -x 67108864");
    CHECK_EQ_U(cfg.services[0].rs[0].u_threshold, RAWLB_THRESHOLD_MAX);

    CHECK_ERR(BASE "-t 198.51.100.10:80 -r 203.0.113.11:80 -x 67108865", "--u-threshold", "'67108865'",
              "0..67108864");
    CHECK_ERR(BASE "-t 198.51.100.10:80 -r 203.0.113.11:80 -y -3", "--l-threshold", "'-3'");
    CHECK_ERR(BASE "-t 198.51.100.10:80 -r 203.0.113.11:80 -x 1e3", "--u-threshold", "'1e3'");
    CHECK_ERR(BASE "-t 198.51.100.10:80 -r 203.0.113.11:80 -x", "option '-x' needs a value");
    CHECK_ERR(BASE "-t 198.51.100.10:80 -r 203.0.113.11:80 -x 10 -y 11", "--l-threshold: 11 is above the "
              "--u-threshold 10 of real server 203.0.113.11:80 of TCP 198.51.100.10:80");
    /* Decided on each server's pair, wherever its two values came from. */
    CHECK_ERR(BASE "-y 20 -t 198.51.100.10:80 -x 10 -r 203.0.113.11:80", "--l-threshold: 20", "--u-threshold 10",
              "203.0.113.11:80");
    CHECK_ERR(BASE "-u 198.51.100.10:53 -r 203.0.113.11:53 -r 203.0.113.12:53 -y 4 -x 3", "--l-threshold: 4",
              "203.0.113.12:53 of UDP 198.51.100.10:53");

    /* -S: after each -r, only what is set, so the line gives the same servers back. */
    static char save[4096];
    CHECK_OK(BASE "-x 100 -t 198.51.100.10:80 -r 203.0.113.11:80 -y 50 -r 203.0.113.12:80 -x 0 "
                  "-r 203.0.113.13:80:2 -y 80");
    CHECK(ctlproto_render_save(&cfg, save, sizeof save) > 0);
    CHECK(strstr(save, " -r 203.0.113.11:80:1 -x 100 -y 50 -r 203.0.113.12:80:1 -r 203.0.113.13:80:2 -x 100 -y 80\n"));
}

int main(void)
{
    test_minimal_and_defaults();
    test_grouping();
    test_timeouts();
    test_errors();
    test_health_defaults();
    test_health_seconds();
    test_health_grouping();
    test_health_errors();
    test_health_dns();
    test_check_escapes();
    test_small_err_buffer();
    test_usage();
    test_ha();
    test_parse_line();
    test_save_round_trip();
    test_thresholds();
    CHECK_DONE();
}
