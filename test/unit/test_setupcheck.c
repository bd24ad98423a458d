/* test_setupcheck: set-ups that cannot work (setupcheck.h) refused by config_parse, by
 * edit_apply and against a given list of kernel addresses; the one-daemon-per-interface lock
 * (iflock.h) in private network namespaces. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testing.h"
#include "config.h"
#include "edit.h"
#include "iflock.h"
#include "setupcheck.h"

#define MAX_WORDS 64

static uint32_t ip(const char *s)
{
    struct in_addr in;
    inet_pton(AF_INET, s, &in);
    return in.s_addr;
}

static enum config_result parse(const char *line, struct rawlb_config *cfg, char *err, size_t errlen)
{
    static char store[1024];
    char *argv[MAX_WORDS];
    int argc = 0;
    snprintf(store, sizeof store, "rawlb %s", line);
    for (char *tok = strtok(store, " "); tok && argc < MAX_WORDS; tok = strtok(NULL, " "))
        argv[argc++] = tok;
    return config_parse(cfg, argc, argv, err, errlen);
}

#define BASE "-e ext -i int -n 203.0.113.1 "

static void ok(const char *line)
{
    static struct rawlb_config cfg;
    char err[RAWLB_ERRLEN * 2] = "";
    if (parse(line, &cfg, err, sizeof err) != CONFIG_OK) {
        fprintf(stderr, "'%s' refused: %s\n", line, err);
        check_failures++;
    }
}

/* line must be refused with a message containing each of want (NULL-terminated). */
static void refused(const char *line, const char *want1, const char *want2)
{
    static struct rawlb_config cfg;
    char err[RAWLB_ERRLEN * 2] = "";
    if (parse(line, &cfg, err, sizeof err) != CONFIG_ERROR) {
        fprintf(stderr, "'%s' taken, want a refusal naming '%s'\n", line, want1);
        check_failures++;
        return;
    }
    if (!strstr(err, want1) || (want2 && !strstr(err, want2))) {
        fprintf(stderr, "'%s': message '%s' lacks '%s'%s%s\n", line, err, want1, want2 ? " or " : "",
                want2 ? want2 : "");
        check_failures++;
    }
}

static void test_config(void)
{
    ok(BASE "-t 198.51.100.10:80 -r 203.0.113.11:80 -r 203.0.113.12:80");
    refused(BASE "-t 203.0.113.1:80 -r 203.0.113.11:80", "VIP of TCP 203.0.113.1:80 is the NAT router address",
            "-n/--nat-ip 203.0.113.1");
    /* A VIP that is a real server's, from either side. */
    refused(BASE "-t 198.51.100.10:80 -r 203.0.113.11:80 -u 203.0.113.11:53 -r 203.0.113.12:53",
            "203.0.113.11 is both a VIP (of UDP 203.0.113.11:53)", "real server 203.0.113.11:80 of TCP 198.51.100.10:80");
    refused(BASE "-t 198.51.100.10:80 -r 198.51.100.10:8080", "198.51.100.10 is both a VIP", NULL);
    /* -p needs its seconds at start as in rawlb-ctl (test_edit). */
    refused(BASE "-t 198.51.100.10:80 -p -r 203.0.113.11:80", "--persistent needs a number of seconds", "(not '-r')");
    refused(BASE "-t 198.51.100.10:80 -r 127.0.0.1:80", "real server 127.0.0.1:80", "loopback");
    refused(BASE "-t 198.51.100.10:80 -r 127.1.2.3:80", "loopback", NULL);
    refused(BASE "-t 198.51.100.10:80 -r 203.0.113.1:80", "real server 203.0.113.1:80", "NAT router address");
    refused(BASE "-t 198.51.100.10:80 --sorry-server 127.0.0.1:80 -r 203.0.113.11:80", "sorry server 127.0.0.1:80",
            "loopback");
}

static void test_edit(void)
{
    static struct rawlb_config cfg, next;
    char err[RAWLB_ERRLEN * 2] = "";
    CHECK(parse(BASE "-t 198.51.100.10:80 -r 203.0.113.11:80", &cfg, err, sizeof err) == CONFIG_OK);
    static const struct {
        const char *words, *want;
    } cases[] = {
        {"-a -t 198.51.100.10:80 -r 127.0.0.1:80", "--add-server: real server 127.0.0.1:80"},
        {"-a -t 198.51.100.10:80 -r 198.51.100.10:81", "--add-server: 198.51.100.10 is both a VIP"},
        {"-a -t 198.51.100.10:80 -r 203.0.113.1:80", "NAT router address"},
        {"-A -t 203.0.113.11:80", "--add-service: 203.0.113.11 is both a VIP (of TCP 203.0.113.11:80)"},
        {"-A -u 203.0.113.1:53", "--add-service: the VIP of UDP 203.0.113.1:53 is the NAT router address"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        static char store[256];
        char *argv[EDIT_MAX_ARGS];
        int argc = 0;
        struct edit_cmd cmd;
        snprintf(store, sizeof store, "%s", cases[i].words);
        for (char *tok = strtok(store, " "); tok && argc < EDIT_MAX_ARGS; tok = strtok(NULL, " "))
            argv[argc++] = tok;
        CHECK(edit_parse(argc, argv, &cmd, err, sizeof err));
        next = cfg;
        err[0] = '\0';
        CHECK(!edit_apply(&next, &cmd, err, sizeof err));
        if (!strstr(err, cases[i].want)) {
            fprintf(stderr, "edit '%s': message '%s' lacks '%s'\n", cases[i].words, err, cases[i].want);
            check_failures++;
        }
    }
    next = cfg; /* a good one still goes */
    struct edit_cmd cmd;
    char w1[] = "-a", w2[] = "-t", w3[] = "198.51.100.10:80", w4[] = "-r", w5[] = "203.0.113.12:80";
    char *argv[] = {w1, w2, w3, w4, w5};
    CHECK(edit_parse(5, argv, &cmd, err, sizeof err) && edit_apply(&next, &cmd, err, sizeof err));
}

static void kernel_refused(const struct rawlb_config *cfg, const struct rawlb_config *running,
                           const struct kernel_addr *ka, size_t n, const char *want)
{
    char err[RAWLB_ERRLEN * 2] = "";
    CHECK(!setupcheck_kernel(cfg, running, ka, n, err, sizeof err));
    if (!strstr(err, want)) {
        fprintf(stderr, "setupcheck_kernel: message '%s' lacks '%s'\n", err, want);
        check_failures++;
    }
}

static void test_kernel(void)
{
    static struct rawlb_config cfg, running;
    char err[RAWLB_ERRLEN * 2];
    uint32_t m24 = ip("255.255.255.0"), m32 = ip("255.255.255.255");
    struct kernel_addr ka[] = {
        {ip("127.0.0.1"), ip("255.0.0.0"), "lo"},
        {ip("198.51.100.2"), m24, "ext"},
        {ip("203.0.113.2"), m24, "int"},
        {ip("192.0.2.7"), m32, "other"},
    };
    size_t n = sizeof ka / sizeof ka[0];
    CHECK(parse(BASE "-t 198.51.100.10:80 -r 203.0.113.11:80", &cfg, err, sizeof err) == CONFIG_OK);
    CHECK(setupcheck_kernel(&cfg, NULL, ka, n, err, sizeof err));
    /* The classic LVS set-up: the NAT router address is the internal interface's own. */
    CHECK(parse("-e ext -i int -n 203.0.113.2 -t 198.51.100.10:80 -r 203.0.113.11:80", &cfg, err, sizeof err) ==
          CONFIG_OK);
    CHECK(setupcheck_kernel(&cfg, NULL, ka, n, err, sizeof err));
    /* Outside every internal subnet: the message lists them. */
    CHECK(parse("-e ext -i int -n 10.0.0.1 -t 198.51.100.10:80 -r 203.0.113.11:80", &cfg, err, sizeof err) ==
          CONFIG_OK);
    kernel_refused(&cfg, NULL, ka, n, "-n/--nat-ip 10.0.0.1 is outside every subnet of the internal interface int "
                                      "(203.0.113.0/24)");
    kernel_refused(&cfg, NULL, ka, 2, "(it has no IPv4 address)");
    /* In the external subnet and even the external interface's own address. */
    CHECK(parse("-e ext -i int -n 198.51.100.2 -t 198.51.100.10:80 -r 203.0.113.11:80", &cfg, err, sizeof err) ==
          CONFIG_OK);
    kernel_refused(&cfg, NULL, ka, n, "-n/--nat-ip 198.51.100.2 is a kernel address on the external interface ext");
    /* VIPs and real servers that are the director's own addresses. */
    CHECK(parse(BASE "-t 198.51.100.2:80 -r 203.0.113.11:80", &cfg, err, sizeof err) == CONFIG_OK);
    kernel_refused(&cfg, NULL, ka, n, "VIP 198.51.100.2 is a kernel address on ext");
    CHECK(parse(BASE "-t 198.51.100.10:80 -r 203.0.113.2:80", &cfg, err, sizeof err) == CONFIG_OK);
    kernel_refused(&cfg, NULL, ka, n, "real server 203.0.113.2:80 of TCP 198.51.100.10:80 is a kernel address on int");
    CHECK(parse(BASE "-t 198.51.100.10:80 -r 192.0.2.7:80", &cfg, err, sizeof err) == CONFIG_OK);
    kernel_refused(&cfg, NULL, ka, n, "is a kernel address on other");
    /* At an edit, only what is new: a server the kernel took since start does not block it, nor
     * does the NAT router address (checked at start only); a new one is refused. */
    running = cfg;
    CHECK(setupcheck_kernel(&cfg, &running, ka, n, err, sizeof err));
    CHECK(parse("-e ext -i int -n 10.0.0.1 -t 198.51.100.10:80 -r 192.0.2.7:80 -r 203.0.113.2:80", &cfg, err,
                sizeof err) == CONFIG_OK);
    kernel_refused(&cfg, &running, ka, n, "real server 203.0.113.2:80");
}

static void test_iflock(void)
{
    if (!enter_private_netns())
        return;
    static const char *const flags[] = {"-e/--ext-if", "-i/--int-if"};
    static const char *const lo[] = {"lo", "lo"};
    static const char *const none[] = {"nosuch0"};
    char err[RAWLB_ERRLEN * 2] = "", want[64];
    struct iflock a = {0}, b = {0}, c = {0};
    CHECK(iflock_take(&a, flags, lo, 1, err, sizeof err));
    CHECK_EQ_U(a.n, 1);
    /* A second holder of the same interface in the same namespace: refused, naming the flag, the
     * interface and the holder (this process). */
    CHECK(!iflock_take(&b, flags + 1, lo, 1, err, sizeof err));
    snprintf(want, sizeof want, "(pid %ld)", (long)getpid());
    CHECK(strstr(err, "-i/--int-if: interface 'lo' is in use by another rawlb") && strstr(err, want));
    CHECK_EQ_U(b.n, 0);
    CHECK(!iflock_take(&b, flags, none, 1, err, sizeof err) && strstr(err, "-e/--ext-if: interface 'nosuch0'"));
    /* Another namespace has its own lo and its own abstract names. */
    if (!enter_private_netns())
        return;
    CHECK(iflock_take(&c, flags, lo, 1, err, sizeof err));
    iflock_release(&c);
    /* Released: the name is free again (no stale lock). */
    CHECK(iflock_take(&c, flags, lo, 1, err, sizeof err));
    iflock_release(&c);
    iflock_release(&a);
}

int main(void)
{
    test_config();
    test_edit();
    test_kernel();
    test_iflock();
    CHECK_DONE();
}
