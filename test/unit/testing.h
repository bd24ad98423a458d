/* testing: the few assertion macros the unit tests share. A failed CHECK prints where and goes
 * on, so one run shows every failure; CHECK_DONE() turns the count into the exit status. */
#ifndef RAWLB_TEST_TESTING_H
#define RAWLB_TEST_TESTING_H

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            check_failures++;                                                    \
        }                                                                        \
    } while (0)

#define CHECK_EQ_U(a, b)                                                                       \
    do {                                                                                       \
        unsigned long long check_a_ = (unsigned long long)(a), check_b_ = (unsigned long long)(b); \
        if (check_a_ != check_b_) {                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%llu != %llu)\n", __FILE__, __LINE__, \
                    #a, #b, check_a_, check_b_);                                               \
            check_failures++;                                                                  \
        }                                                                                      \
    } while (0)

/* Live tests (veth pairs, netlink) run in a network namespace of their own. False when they
 * cannot: without root they are skipped (said on stdout), any other failure is a failed check. */
static inline bool enter_private_netns(void)
{
    if (unshare(CLONE_NEWNET) == 0)
        return true;
    if (errno == EPERM)
        printf("SKIP: live tests need root (unshare: %s)\n", strerror(errno));
    else
        CHECK(!"unshare(CLONE_NEWNET)");
    return false;
}

/* A shell command of a live test's set-up; false (said on stderr) when it failed. */
static inline bool setup_cmd(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "'%s' failed (%d)\n", cmd, rc);
    return rc == 0;
}

/* A veth pair a <-> b, both up, in the test's own network namespace (enter_private_netns). */
static inline bool veth_pair_up(const char *a, const char *b)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "ip link add %s type veth peer name %s && ip link set %s up && ip link set %s up", a, b,
             a, b);
    return setup_cmd(cmd);
}

#define CHECK_DONE()                                                          \
    do {                                                                      \
        if (check_failures) fprintf(stderr, "%d check(s) failed\n", check_failures); \
        return check_failures ? 1 : 0;                                        \
    } while (0)

#endif
