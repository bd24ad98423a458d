/* rawlb-replay: replays a capture or generated traffic through a load balancer, and counts
 * what arrives on the other side. See replay.h for the modules and --help for the flags. */
#include "replay.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

volatile int replay_stop;

static void on_signal(int sig)
{
    (void)sig;
    replay_stop = 1;
}

int main(int argc, char **argv)
{
    struct opts o;
    bool done;
    int rc = opts_parse(&o, argc, argv, &done);
    if (done)
        return rc;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (o.sink_if) {
        struct sink_result r;
        rc = sink_run(&o, &r);
        if (rc == REPLAY_EXIT_OK)
            report_sink(stdout, &o, &r);
        flowtab_free(&r.flows);
        flowtab_free(&r.senders);
        return rc;
    }
    struct send_result r;
    rc = sender_run(&o, &r);
    if (rc == REPLAY_EXIT_OK)
        report_send(stdout, &o, &r);
    flowtab_free(&r.flows);
    free(r.lat.rtt_ns);
    trace_free(&r.trace);
    return rc;
}
