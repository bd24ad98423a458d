/* test_announcer: rawlb-announce's logic (tools/announcer.h): from whole snapshots the ExaBGP
 * commands that bring its routes in line (announce what turned up, withdraw what turned down or
 * vanished, nothing for what did not change, nothing before "end"), everything withdrawn when
 * the connection breaks, and refusals and foreign lines told apart. */
#include <arpa/inet.h>
#include <stdlib.h>

#include "announcer.h"
#include "testing.h"

#define VIP1 "198.51.100.10"
#define VIP2 "198.51.100.11"
#define OUT_MAX 1024

/* The commands emitted, as ExaBGP would read them. */
static char out[OUT_MAX];

static void record(void *arg, bool announce, uint32_t addr)
{
    (void)arg;
    size_t n = strlen(out);
    announcer_command(announce, addr, ANNOUNCER_NEXT_HOP_SELF, out + n, sizeof out - n);
}

/* Feeds the lines of text (each ending in a newline) and returns what was emitted. */
static const char *feed(struct announcer *a, const char *text)
{
    out[0] = '\0';
    char copy[OUT_MAX];
    snprintf(copy, sizeof copy, "%s", text);
    for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        CHECK(announcer_line(a, l, record, NULL) == ANNOUNCER_OK);
    return out;
}

static void test_diff(void)
{
    struct announcer a;
    announcer_init(&a);
    CHECK(strcmp(feed(&a, "vip " VIP1 " up\nvip " VIP2 " down\n"), "") == 0); /* not whole yet */
    CHECK(strcmp(feed(&a, "end\n"), "announce route " VIP1 "/32 next-hop self\n") == 0);
    CHECK(strcmp(feed(&a, "vip " VIP1 " up\nvip " VIP2 " down\nend\n"), "") == 0); /* the same again */
    CHECK(strcmp(feed(&a, "vip " VIP1 " down\nvip " VIP2 " up\nend\n"),
                 "withdraw route " VIP1 "/32 next-hop self\nannounce route " VIP2 "/32 next-hop self\n") == 0);
    CHECK(strcmp(feed(&a, "vip " VIP1 " up\nend\n"), /* VIP2 vanished */
                 "withdraw route " VIP2 "/32 next-hop self\nannounce route " VIP1 "/32 next-hop self\n") == 0);
    CHECK(strcmp(feed(&a, "end\n"), "withdraw route " VIP1 "/32 next-hop self\n") == 0); /* no VIP left */
    CHECK_EQ_U(a.n_announced, 0);
}

static void test_withdraw_all(void)
{
    struct announcer a;
    announcer_init(&a);
    feed(&a, "vip " VIP1 " up\nvip " VIP2 " up\nend\nvip " VIP1 " down\n"); /* a snapshot half read */
    out[0] = '\0';
    announcer_withdraw_all(&a, record, NULL);
    CHECK(strcmp(out, "withdraw route " VIP1 "/32 next-hop self\nwithdraw route " VIP2 "/32 next-hop self\n") == 0);
    CHECK_EQ_U(a.n_announced, 0);
    /* the half-read snapshot is forgotten: the next whole one starts afresh */
    CHECK(strcmp(feed(&a, "vip " VIP2 " up\nend\n"), "announce route " VIP2 "/32 next-hop self\n") == 0);
}

static void test_lines(void)
{
    struct announcer a;
    announcer_init(&a);
    CHECK(announcer_line(&a, "error: 2 watchers already, the most there may be", record, NULL) == ANNOUNCER_REFUSED);
    CHECK(announcer_line(&a, "vip " VIP1 " maybe", record, NULL) == ANNOUNCER_BAD_LINE);
    CHECK(announcer_line(&a, "ok", record, NULL) == ANNOUNCER_BAD_LINE);
    char many[32];
    for (unsigned i = 0; i < ANNOUNCER_MAX; i++) {
        snprintf(many, sizeof many, "vip 10.0.%u.%u up", i / 200, 1 + i % 200);
        CHECK(announcer_line(&a, many, record, NULL) == ANNOUNCER_OK);
    }
    CHECK(announcer_line(&a, "vip 10.1.0.1 up", record, NULL) == ANNOUNCER_BAD_LINE); /* more than rawlb has */

    char cmd[ANNOUNCER_COMMAND_MAX];
    struct in_addr in;
    inet_pton(AF_INET, VIP1, &in);
    announcer_command(true, in.s_addr, "192.0.2.1", cmd, sizeof cmd);
    CHECK(strcmp(cmd, "announce route " VIP1 "/32 next-hop 192.0.2.1\n") == 0);
}

int main(void)
{
    test_diff();
    test_withdraw_all();
    test_lines();
    CHECK_DONE();
}
