/* test_reload: what a reload may change. The same command line passes; services, servers and
 * timeouts pass and are what reload_take_services takes; each flag only a restart applies is
 * refused and named (all of them at once when several differ); an HA flag differs as "--ha-*". */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "reload.h"
#include "testing.h"

#define BASE "rawlb -e ext -i int -n 203.0.113.1 --workers 2 -t 198.51.100.10:80 -r 203.0.113.11:80"

#define HA_TEST_KEY "a shared secret of the test pair" /* --ha-key's file holds it */

static struct rawlb_config running, given, next;

static bool parse(struct rawlb_config *c, const char *line)
{
    char err[RAWLB_ERRLEN * 2];
    bool ok = config_parse_line(c, line, err, sizeof err) == CONFIG_OK;
    if (!ok)
        fprintf(stderr, "parse '%s': %s\n", line, err);
    return ok;
}

/* reload_check of BASE against line: its verdict, the message in err. */
static bool check(const char *line, char *err, size_t errlen)
{
    err[0] = '\0';
    CHECK(parse(&running, BASE));
    CHECK(parse(&given, line));
    return reload_check(&running, &given, err, errlen);
}

static void test_runtime_changes_pass(void)
{
    char err[RAWLB_ERRLEN * 2];
    CHECK(check(BASE, err, sizeof err));
    CHECK(check(BASE " -r 203.0.113.12:80 -u 198.51.100.10:53 -r 203.0.113.11:53 --timeouts 600,60,30", err, sizeof err));
    reload_take_services(&next, &running, &given);
    CHECK_EQ_U(next.n_services, 2);
    CHECK_EQ_U(next.services[0].n_rs, 2);
    CHECK_EQ_U(next.timeouts.tcp, 600);
    CHECK_EQ_U(next.timeouts.udp, 30);
    CHECK(strcmp(next.ext_if, "ext") == 0);
    CHECK_EQ_U(next.workers, running.workers);
}

static void test_restart_flags_named(void)
{
    static const struct {
        const char *extra, *named;
    } cases[] = {
        { " --max-conns 1000", "--max-conns differs" },
        { " --user daemon", "--user differs" },
        { " --ctl /tmp/other.sock", "--ctl differs" },
        { " --ctl-group daemon", "--ctl-group differs" },
        { " --pidfile /tmp/other.pid", "--pidfile differs" },
        { " --metrics 127.0.0.1:9100", "--metrics differs" },
        { " --state-dir /tmp/other", "--state-dir differs" },
        { " --ha-role primary --ha-peer 198.51.100.3 --ha-key ", "--ha-* differs" },
    };
    char key_path[] = "/tmp/test_reload.key.XXXXXX", line[512], err[RAWLB_ERRLEN * 2];
    int fd = mkstemp(key_path);
    CHECK(fd >= 0 && write(fd, HA_TEST_KEY "\n", sizeof HA_TEST_KEY) == sizeof HA_TEST_KEY);
    close(fd);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool ha = strstr(cases[i].extra, "--ha-key") != NULL;
        snprintf(line, sizeof line, "%s%s%s", BASE, cases[i].extra, ha ? key_path : "");
        CHECK(!check(line, err, sizeof err));
        if (!strstr(err, cases[i].named) || !strstr(err, "only a restart applies it"))
            fprintf(stderr, "case %zu: %s\n", i, err);
        CHECK(strstr(err, cases[i].named) != NULL);
    }
    unlink(key_path);
    CHECK(!check("rawlb -e ext2 -i int -n 203.0.113.9 --workers 3 -t 198.51.100.10:80 -r 203.0.113.11:80", err,
                 sizeof err));
    CHECK(strstr(err, "-e, -n, --workers differ from the running daemon's, and only a restart applies them") != NULL);
}

int main(void)
{
    test_runtime_changes_pass();
    test_restart_flags_named();
    CHECK_DONE();
}
