/* neigh: the real servers' MAC table: learning only registered addresses, refresh and
 * forgetting by age, solicitation at most once a second, retiring removed servers, the change
 * callback (learnt, moved, forgotten), and asking again for a server that stopped answering the
 * frames sent to it. */
#include <arpa/inet.h>
#include <string.h>

#include "neigh.h"
#include "testing.h"

static struct neigh_table n;
static unsigned asked;
static uint32_t last_asked;

static void count_ask(void *arg, uint32_t addr)
{
    (void)arg;
    asked++;
    last_asked = addr;
}

static bool only_rs1(void *arg, uint32_t addr)
{
    return addr == *(const uint32_t *)arg;
}

static uint32_t rs1, rs2, stranger; /* set by main: 203.0.113.11, .12, .99 */
static const uint8_t mac1[6] = { 2, 0xaa, 0, 0, 0, 11 }, mac2[6] = { 2, 0xaa, 0, 0, 0, 12 };

/* What the change callback was told last, and how often. */
static unsigned changes;
static uint32_t changed_addr;
static bool had_old, had_new;
static uint8_t old_seen[6], new_seen[6];

static void record_change(void *arg, uint32_t addr, const uint8_t *old_mac, const uint8_t *new_mac)
{
    CHECK(arg == &n);
    changes++;
    changed_addr = addr;
    had_old = old_mac != NULL;
    had_new = new_mac != NULL;
    if (old_mac)
        memcpy(old_seen, old_mac, sizeof old_seen);
    if (new_mac)
        memcpy(new_seen, new_mac, sizeof new_seen);
    CHECK(neigh_known(&n, addr) == had_new); /* the table already says so */
}

static void test_callback(void)
{
    const uint8_t mac3[6] = { 2, 0xaa, 0, 0, 0, 13 };
    neigh_init(&n);
    neigh_watch(&n, record_change, &n);
    CHECK(neigh_add(&n, rs1) && neigh_add(&n, rs2));
    changes = 0;
    CHECK(!neigh_known(&n, rs1));
    /* Learnt: no old MAC. The same MAC again, or a stranger: nothing to say. */
    neigh_learn(&n, rs1, mac1, 10);
    CHECK_EQ_U(changes, 1);
    CHECK(changed_addr == rs1 && !had_old && had_new && memcmp(new_seen, mac1, 6) == 0);
    CHECK(neigh_known(&n, rs1) && !neigh_known(&n, rs2) && !neigh_known(&n, stranger));
    neigh_learn(&n, rs1, mac1, 11);
    neigh_learn(&n, stranger, mac2, 11);
    CHECK_EQ_U(changes, 1);
    /* Moved: both. */
    neigh_learn(&n, rs1, mac3, 12);
    CHECK_EQ_U(changes, 2);
    CHECK(had_old && had_new && memcmp(old_seen, mac1, 6) == 0 && memcmp(new_seen, mac3, 6) == 0);
    /* Forgotten by age: no new MAC; rs2 was never known, so nothing about it. */
    neigh_age(&n, 12 + NEIGH_STALE);
    CHECK_EQ_U(changes, 3);
    CHECK(changed_addr == rs1 && had_old && !had_new && memcmp(old_seen, mac3, 6) == 0);
    /* Retired while known: no server uses it, nobody is told. */
    neigh_learn(&n, rs2, mac2, 200);
    CHECK_EQ_U(changes, 4);
    neigh_retire_unused(&n, only_rs1, &rs1);
    neigh_age(&n, 200 + NEIGH_STALE);
    CHECK_EQ_U(changes, 4);
    CHECK(!neigh_known(&n, rs2));
}

/* One tick: the traffic noted, then the timer; returns how many were asked for. */
static unsigned tick(uint32_t now, bool sent, bool heard)
{
    neigh_note_traffic(&n, rs1, sent, heard);
    neigh_age(&n, now);
    asked = 0;
    neigh_for_each_wanted(&n, now, count_ask, NULL);
    return asked;
}

static void test_silence(void)
{
    uint32_t t = 1000;
    neigh_init(&n);
    CHECK(neigh_add(&n, rs1));
    neigh_for_each_wanted(&n, t, count_ask, NULL);
    /* Unknown: asked anyway once a tick, silence or not. */
    CHECK_EQ_U(tick(++t, true, false), 1);
    neigh_learn(&n, rs1, mac1, t);
    /* Sent and answered: never asked. Sent and not answered: asked after NEIGH_UNANSWERED ticks. */
    for (unsigned i = 0; i < 5; i++)
        CHECK_EQ_U(tick(++t, true, true), 0);
    for (unsigned i = 1; i < NEIGH_UNANSWERED; i++)
        CHECK_EQ_U(tick(++t, true, false), 0);
    CHECK_EQ_U(tick(++t, true, false), 1);
    CHECK_EQ_U(last_asked, rs1);
    /* It answers with another MAC (it had changed it): used at once, and the count starts again. */
    neigh_learn(&n, rs1, mac2, t);
    CHECK(memcmp(neigh_lookup(&n, rs1), mac2, 6) == 0);
    for (unsigned i = 1; i < NEIGH_UNANSWERED; i++)
        CHECK_EQ_U(tick(++t, true, false), 0);
    CHECK_EQ_U(tick(++t, true, false), 1);
    /* This time it answers with the same MAC: its silence is its own (one-way traffic), so it
     * is not asked again for it ... */
    neigh_learn(&n, rs1, mac2, t);
    for (unsigned i = 0; i < 3 * NEIGH_UNANSWERED; i++)
        CHECK_EQ_U(tick(++t, true, false), 0);
    /* ... until it is heard from again and then falls silent. */
    CHECK_EQ_U(tick(++t, true, true), 0);
    for (unsigned i = 1; i < NEIGH_UNANSWERED; i++)
        CHECK_EQ_U(tick(++t, true, false), 0);
    CHECK_EQ_U(tick(++t, true, false), 1);
    neigh_learn(&n, rs1, mac2, t);
    CHECK_EQ_U(tick(++t, true, true), 0);
    /* A tick with nothing sent neither counts nor resets the count. */
    for (unsigned i = 1; i < NEIGH_UNANSWERED; i++) {
        CHECK_EQ_U(tick(++t, true, false), 0);
        CHECK_EQ_U(tick(++t, false, false), 0);
    }
    CHECK_EQ_U(tick(++t, true, false), 1);
    neigh_learn(&n, rs1, mac2, t);
    /* Noted twice in a tick (two services): heard by either counts. */
    neigh_note_traffic(&n, rs1, true, false);
    for (unsigned i = 0; i < NEIGH_UNANSWERED; i++)
        CHECK_EQ_U(tick(++t, true, true), 0);
    /* ARP from it (its own request, say) is an answer too. */
    CHECK_EQ_U(tick(++t, true, true), 0);
    for (unsigned i = 0; i < 3 * NEIGH_UNANSWERED; i++) {
        neigh_learn(&n, rs1, mac2, t);
        CHECK_EQ_U(tick(++t, true, false), 0);
    }
    /* Strangers are not noted. */
    neigh_note_traffic(&n, stranger, true, false);
    CHECK(!neigh_known(&n, stranger));
}

int main(void)
{
    rs1 = htonl(0xcb00710b);
    rs2 = htonl(0xcb00710c);
    stranger = htonl(0xcb007163);

    neigh_init(&n);
    CHECK(neigh_add(&n, rs1));
    CHECK(neigh_add(&n, rs2));
    CHECK(!neigh_add(&n, 0));
    /* New entries are asked for once; a second call within NEIGH_RETRY asks nothing. */
    neigh_for_each_wanted(&n, 100, count_ask, NULL);
    CHECK_EQ_U(asked, 2);
    CHECK(neigh_lookup(&n, rs1) == NULL);
    neigh_for_each_wanted(&n, 100, count_ask, NULL);
    CHECK_EQ_U(asked, 2);
    neigh_for_each_wanted(&n, 101, count_ask, NULL);
    CHECK_EQ_U(asked, 3);
    CHECK_EQ_U(last_asked, rs1);

    /* Learning: registered addresses only. */
    neigh_learn(&n, rs1, mac1, 101);
    neigh_learn(&n, rs2, mac2, 101);
    neigh_learn(&n, stranger, mac2, 101);
    CHECK(neigh_lookup(&n, rs1) && memcmp(neigh_lookup(&n, rs1), mac1, 6) == 0);
    CHECK(neigh_lookup(&n, stranger) == NULL);

    /* Refresh after NEIGH_REFRESH (still usable), forgotten after NEIGH_STALE. */
    asked = 0;
    neigh_age(&n, 101 + NEIGH_REFRESH);
    neigh_for_each_wanted(&n, 101 + NEIGH_REFRESH, count_ask, NULL);
    CHECK_EQ_U(asked, 2);
    CHECK(neigh_lookup(&n, rs1) != NULL);
    neigh_age(&n, 101 + NEIGH_STALE);
    CHECK(neigh_lookup(&n, rs1) == NULL);

    /* A removed server is retired: never asked for, never learnt, until it is added again. */
    neigh_learn(&n, rs1, mac1, 300);
    neigh_learn(&n, rs2, mac2, 300);
    neigh_retire_unused(&n, only_rs1, &rs1);
    CHECK(neigh_lookup(&n, rs1) != NULL);
    CHECK(neigh_lookup(&n, rs2) == NULL);
    neigh_learn(&n, rs2, mac2, 301);
    CHECK(neigh_lookup(&n, rs2) == NULL);
    asked = 0;
    neigh_age(&n, 1000);
    neigh_for_each_wanted(&n, 1000, count_ask, NULL);
    CHECK_EQ_U(asked, 1);
    CHECK_EQ_U(last_asked, rs1);
    CHECK(neigh_add(&n, rs2));
    asked = 0;
    neigh_for_each_wanted(&n, 1002, count_ask, NULL);
    CHECK_EQ_U(asked, 1);
    CHECK_EQ_U(last_asked, rs2);
    neigh_learn(&n, rs2, mac2, 1002);
    CHECK(neigh_lookup(&n, rs2) && memcmp(neigh_lookup(&n, rs2), mac2, 6) == 0);

    /* Churn: far more distinct servers over the daemon's life than slots, a few at a time. */
    static uint32_t keep;
    neigh_init(&n);
    bool all_added = true;
    for (uint32_t round = 0; round < 4; round++) {
        for (uint32_t i = 1; i <= 6000; i++)
            all_added = neigh_add(&n, htonl(0x0a000000u + round * 10000u + i)) && all_added;
        keep = htonl(0x0a000000u + round * 10000u + 1);
        neigh_retire_unused(&n, only_rs1, &keep);
    }
    CHECK(all_added);
    neigh_learn(&n, keep, mac1, 5);
    CHECK(neigh_lookup(&n, keep) != NULL);

    test_callback();
    test_silence();
    CHECK_DONE();
}
