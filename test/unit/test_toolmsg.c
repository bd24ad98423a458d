/* test_toolmsg: the tools' stderr lines byte for byte, as their tests and users see them:
 * "PROG: MESSAGE\n" from toolmsg_say, "PROG: MESSAGE (see PROG --help)\n" and the status given
 * from toolmsg_usage_error, with the message's printf arguments formatted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testing.h"
#include "toolmsg.h"

#define CAUGHT_MAX 256 /* far more than any line below */
#define USAGE_STATUS 2 /* the tools' usage exit status; any value must come back as it is */

static FILE *caught;
static int saved_stderr = -1;

/* stderr into a temporary file until release(), which returns what was written there; false (and
 * nothing to release) when it cannot be caught. */
static bool catch_stderr(void)
{
    fflush(stderr);
    caught = tmpfile();
    saved_stderr = dup(STDERR_FILENO);
    return caught && saved_stderr >= 0 && dup2(fileno(caught), STDERR_FILENO) >= 0;
}

static const char *release(void)
{
    static char text[CAUGHT_MAX];
    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    rewind(caught);
    size_t n = fread(text, 1, sizeof text - 1, caught);
    text[n] = '\0';
    fclose(caught);
    return text;
}

static void test_say(void)
{
    if (!catch_stderr()) {
        CHECK(!"stderr caught");
        return;
    }
    toolmsg_say("rawlb-announce", "watching rawlb at %s", "/run/rawlb/rawlb.sock");
    toolmsg_say("rawlb-announce", "signal %d: stopping", 15);
    const char *t = release();
    CHECK(strcmp(t, "rawlb-announce: watching rawlb at /run/rawlb/rawlb.sock\n"
                    "rawlb-announce: signal 15: stopping\n") == 0);
}

static void test_usage_error(void)
{
    if (!catch_stderr()) {
        CHECK(!"stderr caught");
        return;
    }
    int status = toolmsg_usage_error("rawlb-ctl", USAGE_STATUS, "option '%s' needs a value", "-p");
    const char *t = release();
    CHECK_EQ_U(status, USAGE_STATUS);
    CHECK(strcmp(t, "rawlb-ctl: option '-p' needs a value (see rawlb-ctl --help)\n") == 0);
}

int main(void)
{
    test_say();
    test_usage_error();
    CHECK_DONE();
}
