/* neigh: the real servers' MAC table: learning only registered addresses, refresh and
 * forgetting by age, solicitation at most once a second, and retiring removed servers. */
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

int main(void)
{
    uint32_t rs1 = htonl(0xcb00710b), rs2 = htonl(0xcb00710c), stranger = htonl(0xcb007163);
    const uint8_t mac1[6] = { 2, 0xaa, 0, 0, 0, 11 }, mac2[6] = { 2, 0xaa, 0, 0, 0, 12 };

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
    CHECK_DONE();
}
