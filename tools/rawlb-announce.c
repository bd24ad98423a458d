/* rawlb-announce: announces rawlb's VIPs over BGP as a process of ExaBGP (its process API, text
 * encoder). It holds a watch connection to rawlb's control socket (lb/annproto.h), and for each
 * snapshot rawlb sends writes to stdout "announce route VIP/32 next-hop NH" for the VIPs that
 * turned eligible and "withdraw route ..." for those that turned down or vanished
 * (tools/announcer.h), then tells rawlb what it told ExaBGP ("announced VIP" / "withdrawn VIP":
 * rawlb-ctl status and the metrics show it).
 *
 * Why a program of the BGP daemon's and not a command rawlb's privileged helper runs: the BGP
 * session outlives rawlb, and the helper does not (it dies with rawlb, PR_SET_PDEATHSIG), so a
 * rawlb killed outright would leave its routes drawing traffic into a hole. This program sees the
 * control connection break the moment rawlb dies, withdraws every VIP it announced at once, and
 * tries to reach rawlb again every second; once it is back, its first snapshot announces again.
 * It stops, withdrawing first, when ExaBGP closes its stdin or sends SIGTERM. What ExaBGP writes
 * on stdin ("done" acknowledgements with api ack on, a "shutdown" line) is read and ignored, so
 * ExaBGP never blocks writing to it. Messages go to stderr, which ExaBGP passes on.
 * Exit status: 0 stopped by ExaBGP, 1 stdout failed (ExaBGP went away), 2 a usage error. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "announcer.h"
#include "annproto.h"
#include "config.h"
#include "ctlproto.h"
#include "toolmsg.h"

enum { EXIT_STOPPED = 0, EXIT_STDOUT = 1, EXIT_USAGE = 2 };

#define RETRY_INTERVAL_MS 1000 /* between attempts to reach rawlb while it is away */
#define INPUT_MAX (16 * 1024)  /* rawlb's lines not yet taken; a whole snapshot is 8 KB at most */
#define STDIN_CHUNK 4096       /* what ExaBGP writes us is read and dropped in pieces this big */
#define MS_PER_S 1000
#define NS_PER_MS 1000000

struct announce_ctx {
    const char *prog;
    const char *ctl_path;
    const char *next_hop; /* an address, or "self" */
    int fd;               /* the watch connection, -1 while rawlb is away */
    uint64_t next_try_ms; /* while away: when to try again (monotonic) */
    char in[INPUT_MAX];
    size_t in_len;
    struct announcer ann;
    bool away_logged;   /* this outage was logged once already */
    bool stdout_failed; /* ExaBGP no longer reads us */
};

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
    stop_signal = sig;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * MS_PER_S + (uint64_t)ts.tv_nsec / NS_PER_MS;
}

/* announcer_emit: the command to ExaBGP, at once, then the report to rawlb (never waiting for
 * it: a report rawlb cannot take now is only status, and it is left out). */
static void emit(void *arg, bool announce, uint32_t addr)
{
    struct announce_ctx *ctx = arg;
    char cmd[ANNOUNCER_COMMAND_MAX], report[ANNPROTO_LINE_MAX], a[ADDR_STRLEN];
    announcer_command(announce, addr, ctx->next_hop, cmd, sizeof cmd);
    if (fputs(cmd, stdout) == EOF || fflush(stdout) == EOF)
        ctx->stdout_failed = true;
    toolmsg_say(ctx->prog, "%s %s", announce ? "announced" : "withdrew", addr_str(addr, a));
    if (ctx->fd < 0)
        return;
    int n = annproto_render_report(addr, announce, report, sizeof report);
    if (send(ctx->fd, report, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) != n)
        toolmsg_say(ctx->prog, "could not tell rawlb (%s); its status may lag", strerror(errno));
}

/* The connection broke (rawlb stopped or was killed), or is given up: every route withdrawn at
 * once, then rawlb is looked for again. */
static void lost(struct announce_ctx *ctx, const char *why)
{
    close(ctx->fd);
    ctx->fd = -1;
    ctx->in_len = 0;
    toolmsg_say(ctx->prog, "connection to rawlb at %s lost (%s): withdrawing every VIP", ctx->ctl_path, why);
    announcer_withdraw_all(&ctx->ann, emit, ctx);
    ctx->away_logged = false;
    ctx->next_try_ms = now_ms() + RETRY_INTERVAL_MS; /* a rawlb that is stopping may still take a connection */
}

/* One attempt to reach rawlb and ask to watch; false (logged once per outage) when it is away. */
static bool try_connect(struct announce_ctx *ctx)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", ctx->ctl_path); /* length checked */
    static const char request[] = CTL_REQ_WATCH "\n";
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0 &&
              send(fd, request, sizeof request - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof request - 1);
    if (!ok) {
        if (!ctx->away_logged)
            toolmsg_say(ctx->prog, "cannot reach rawlb at %s: %s (trying every %d ms)", ctx->ctl_path,
                        strerror(errno), RETRY_INTERVAL_MS);
        ctx->away_logged = true;
        if (fd >= 0)
            close(fd);
        return false;
    }
    ctx->fd = fd;
    ctx->in_len = 0;
    announcer_init(&ctx->ann);
    toolmsg_say(ctx->prog, "watching rawlb at %s", ctx->ctl_path);
    return true;
}

/* What rawlb sent: each whole line to the announcer. */
static void from_rawlb(struct announce_ctx *ctx)
{
    ssize_t n = read(ctx->fd, ctx->in + ctx->in_len, sizeof ctx->in - 1 - ctx->in_len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        lost(ctx, n == 0 ? "rawlb closed it" : strerror(errno));
        return;
    }
    ctx->in_len += (size_t)n;
    char *nl;
    while (ctx->fd >= 0 && (nl = memchr(ctx->in, '\n', ctx->in_len))) {
        *nl = '\0';
        enum announcer_result r = announcer_line(&ctx->ann, ctx->in, emit, ctx);
        if (r == ANNOUNCER_REFUSED) {
            toolmsg_say(ctx->prog, "rawlb refused: %s", ctx->in);
            lost(ctx, "refused");
            return;
        }
        if (r == ANNOUNCER_BAD_LINE) {
            toolmsg_say(ctx->prog, "rawlb sent a line this program does not know: '%.*s'", ANNPROTO_LINE_MAX, ctx->in);
            lost(ctx, "protocol error");
            return;
        }
        size_t used = (size_t)(nl - ctx->in) + 1;
        memmove(ctx->in, ctx->in + used, ctx->in_len - used);
        ctx->in_len -= used;
    }
    if (ctx->in_len == sizeof ctx->in - 1)
        lost(ctx, "a line longer than any of the protocol");
}

/* ExaBGP's acknowledgements and notices, dropped; false at end of file (ExaBGP is stopping). */
static bool from_exabgp(void)
{
    char sink[STDIN_CHUNK];
    ssize_t n = read(STDIN_FILENO, sink, sizeof sink);
    return n > 0 || (n < 0 && (errno == EINTR || errno == EAGAIN));
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rawlb-announce [--ctl PATH] [--next-hop ADDR|self]\n"
            "announces rawlb's VIPs over BGP: run by ExaBGP as a process (encoder text), e.g. in\n"
            "exabgp.conf: process announce-rawlb { run /usr/sbin/rawlb-announce; encoder text; }\n"
            "a VIP is announced while rawlb runs, forwards, and has a real server up for it, and\n"
            "withdrawn otherwise, at once when the connection to rawlb breaks.\n"
            "options:\n"
            "      --ctl PATH             rawlb's control socket (default %s)\n"
            "      --next-hop ADDR|self   the routes' next hop (default self: ExaBGP's local address)\n"
            "  -h, --help                 print this help and exit\n"
            "  -V, --version              print the version and exit\n",
            RAWLB_DEFAULT_CTL);
}

/* "--name VALUE" or "--name=VALUE" at argv[*i]: its value (*i moved past it), or NULL when the
 * word is another; *missing when the value is. */
static const char *option_value(int argc, char **argv, int *i, const char *name, bool *missing)
{
    size_t n = strlen(name);
    const char *w = argv[*i];
    if (strncmp(w, name, n) != 0 || (w[n] != '\0' && w[n] != '='))
        return NULL;
    if (w[n] == '=')
        return w + n + 1;
    if (*i + 1 == argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

/* Returns -1 to go on, or an exit status. */
static int parse_args(struct announce_ctx *ctx, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *w = argv[i], *v;
        bool missing = false;
        if (strcmp(w, "-h") == 0 || strcmp(w, "--help") == 0) {
            usage(stdout);
            return EXIT_STOPPED;
        }
        if (strcmp(w, "-V") == 0 || strcmp(w, "--version") == 0) {
            printf("rawlb-announce %s\n", RAWLB_VERSION);
            return EXIT_STOPPED;
        }
        if ((v = option_value(argc, argv, &i, "--ctl", &missing))) {
            if (*v == '\0' || strlen(v) >= sizeof(((struct sockaddr_un *)0)->sun_path))
                return toolmsg_usage_error(ctx->prog, EXIT_USAGE, "--ctl: '%s' is no unix socket path (1 to %zu bytes)",
                                           v, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
            ctx->ctl_path = v;
        } else if ((v = option_value(argc, argv, &i, "--next-hop", &missing))) {
            uint32_t addr;
            char why[RAWLB_ERRLEN];
            if (strcmp(v, ANNOUNCER_NEXT_HOP_SELF) != 0 && !addr_parse_host(v, &addr, why, sizeof why))
                return toolmsg_usage_error(ctx->prog, EXIT_USAGE, "--next-hop: %s, or 'self'", why);
            ctx->next_hop = v;
        } else if (missing) {
            return toolmsg_usage_error(ctx->prog, EXIT_USAGE, "option '%s' needs a value", w);
        } else {
            return toolmsg_usage_error(ctx->prog, EXIT_USAGE, "unknown argument '%s'", w);
        }
    }
    return -1;
}

/* SIGTERM and SIGINT are taken only inside ppoll, so one that comes is never missed between a
 * check and the wait; SIGPIPE is ignored so a write to a closed pipe or socket only fails. */
static void setup_signals(sigset_t *wait_mask)
{
    struct sigaction sa = { .sa_handler = on_stop };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, wait_mask);
    sigdelset(wait_mask, SIGTERM);
    sigdelset(wait_mask, SIGINT);
}

static int run(struct announce_ctx *ctx)
{
    sigset_t wait_mask;
    setup_signals(&wait_mask);
    while (!stop_signal && !ctx->stdout_failed) {
        uint64_t now = now_ms();
        if (ctx->fd < 0 && now >= ctx->next_try_ms && !try_connect(ctx))
            ctx->next_try_ms = now + RETRY_INTERVAL_MS;
        struct pollfd p[2] = { { .fd = STDIN_FILENO, .events = POLLIN }, { .fd = ctx->fd, .events = POLLIN } };
        uint64_t wait_ms = ctx->fd >= 0 || ctx->next_try_ms <= now ? 0 : ctx->next_try_ms - now;
        struct timespec ts = { .tv_sec = (time_t)(wait_ms / MS_PER_S), .tv_nsec = (long)(wait_ms % MS_PER_S) * NS_PER_MS };
        int n = ppoll(p, 2, ctx->fd >= 0 ? NULL : &ts, &wait_mask);
        if (n < 0)
            continue; /* a signal: the loop's test sees it */
        if (p[0].revents && !from_exabgp()) {
            toolmsg_say(ctx->prog, "ExaBGP closed our stdin: stopping");
            break;
        }
        if (ctx->fd >= 0 && p[1].revents)
            from_rawlb(ctx);
    }
    if (stop_signal)
        toolmsg_say(ctx->prog, "signal %d: stopping", (int)stop_signal);
    announcer_withdraw_all(&ctx->ann, emit, ctx);
    if (ctx->fd >= 0)
        close(ctx->fd);
    return ctx->stdout_failed ? EXIT_STDOUT : EXIT_STOPPED;
}

int main(int argc, char **argv)
{
    static struct announce_ctx ctx = {
        .ctl_path = RAWLB_DEFAULT_CTL, .next_hop = ANNOUNCER_NEXT_HOP_SELF, .fd = -1,
    };
    ctx.prog = "rawlb-announce";
    int rc = parse_args(&ctx, argc, argv);
    if (rc >= 0)
        return rc;
    announcer_init(&ctx.ann);
    return run(&ctx);
}
