/* rawlb-ctl: talks to a running rawlb over its unix control socket.
 *   rawlb-ctl [--ctl PATH] list [--health]
 * One request line, one text answer read until the daemon closes (ctlproto.h). Exit status:
 * 0 done, 1 the daemon could not be reached or said "error: ...", 2 a usage error.
 * Commands are a table: a word ("list") names one, and ipvsadm's letters (-L -n, -A, -a, ...)
 * are meant to map onto the same table through the option loop in parse_args(). */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "ctlproto.h"

enum {
    CTL_EXIT_OK = 0,
    CTL_EXIT_FAIL = 1,
    CTL_EXIT_USAGE = 2,
};

#define CTL_TIMEOUT_S 5
#define CTL_ANSWER_MAX (64u << 20) /* far above any table we render */
#define CTL_MAX_WORDS 32

struct ctl_ctx;

struct ctl_command {
    const char *name;
    const char *synopsis;
    /* Runs with the words after the command name; returns the exit status. */
    int (*run)(struct ctl_ctx *ctx, int argc, char **argv);
};

struct ctl_ctx {
    const char *prog;
    const char *ctl_path;
    const struct ctl_command *cmd;
    int nwords;
    char *words[CTL_MAX_WORDS]; /* the command name and its arguments */
    bool health; /* list --health */
    int fd;
    char *answer;
    size_t answer_len;
};

static int cmd_list(struct ctl_ctx *ctx, int argc, char **argv);

static const struct ctl_command commands[] = {
    {"list", "list [--health]      virtual services and real servers (ipvsadm -L -n layout);\n"
             "                         --health adds each real server's state, time in it, last check",
     cmd_list},
};

enum {
    OPT_CTL = 256,
    OPT_HEALTH,
};

static const char short_opts[] = "+:hV";

static const struct option long_opts[] = {
    {"ctl", required_argument, NULL, OPT_CTL},
    {"health", no_argument, NULL, OPT_HEALTH},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rawlb-ctl [--ctl PATH] COMMAND\n"
            "commands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %s\n", commands[i].synopsis);
    fprintf(out,
            "options:\n"
            "      --ctl PATH       the daemon's control socket (default %s)\n"
            "  -h, --help           print this help and exit\n"
            "  -V, --version        print the version and exit\n",
            RAWLB_DEFAULT_CTL);
}

static int usage_error(struct ctl_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(struct ctl_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", ctx->prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see %s --help)\n", ctx->prog);
    return CTL_EXIT_USAGE;
}

static const struct ctl_command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    return NULL;
}

/* Options may stand before or after the command word; "--" ends them. Returns -1 to go on,
 * or an exit status. */
static int parse_args(struct ctl_ctx *ctx, int argc, char **argv)
{
    bool options_done = false;

    optind = 0; /* GNU: full reinitialisation */
    opterr = 0;
    for (;;) {
        /* With "+" getopt never permutes: the argument it looks at is argv[optind]. */
        int at = optind ? optind : 1;
        int c = options_done ? -1 : getopt_long(argc, argv, short_opts, long_opts, NULL);
        if (c == -1) {
            if (optind < at) optind = at;
            if (optind > at) options_done = true; /* getopt stepped over "--" */
            if (optind >= argc) break;
            if (ctx->nwords == CTL_MAX_WORDS)
                return usage_error(ctx, "too many arguments");
            ctx->words[ctx->nwords++] = argv[optind++];
            continue;
        }
        switch (c) {
        case 'h':
            usage(stdout);
            return CTL_EXIT_OK;
        case 'V':
            printf("rawlb-ctl %s\n", RAWLB_VERSION);
            return CTL_EXIT_OK;
        case OPT_CTL:
            if (*optarg == '\0')
                return usage_error(ctx, "--ctl: empty path");
            if (strlen(optarg) >= sizeof(((struct sockaddr_un *)0)->sun_path))
                return usage_error(ctx, "--ctl: path '%s' is too long (at most %zu bytes)", optarg,
                                   sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
            ctx->ctl_path = optarg;
            break;
        case OPT_HEALTH:
            ctx->health = true;
            break;
        case ':':
            if (argv[at][1] == '-')
                return usage_error(ctx, "option '%.*s' needs a value", (int)strcspn(argv[at], "="), argv[at]);
            return usage_error(ctx, "option '-%c' needs a value", optopt);
        default: /* '?' */
            if (argv[at][1] == '-') {
                if (optopt)
                    return usage_error(ctx, "option '%.*s' does not take a value ('%s')",
                                       (int)strcspn(argv[at], "="), argv[at], argv[at]);
                return usage_error(ctx, "unknown option '%.*s'", (int)strcspn(argv[at], "="), argv[at]);
            }
            return usage_error(ctx, "unknown option '-%c'", optopt);
        }
    }
    if (ctx->nwords == 0) {
        fprintf(stderr, "%s: no command given\n", ctx->prog);
        usage(stderr);
        return CTL_EXIT_USAGE;
    }
    ctx->cmd = find_command(ctx->words[0]);
    if (!ctx->cmd) {
        fprintf(stderr, "%s: unknown command '%s' (known:", ctx->prog, ctx->words[0]);
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
            fprintf(stderr, " %s", commands[i].name);
        fprintf(stderr, "; see %s --help)\n", ctx->prog);
        return CTL_EXIT_USAGE;
    }
    return -1;
}

static int fail(struct ctl_ctx *ctx, const char *what, int err)
{
    fprintf(stderr, "%s: %s %s: %s\n", ctx->prog, what, ctx->ctl_path, strerror(err));
    return CTL_EXIT_FAIL;
}

static int ctl_connect(struct ctl_ctx *ctx)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct timeval tv = {.tv_sec = CTL_TIMEOUT_S};

    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", ctx->ctl_path); /* length checked */
    ctx->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ctx->fd < 0)
        return fail(ctx, "cannot create a socket for", errno);
    /* SO_SNDTIMEO also bounds connect() on a unix socket whose backlog is full. */
    if (setsockopt(ctx->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
        setsockopt(ctx->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
        return fail(ctx, "cannot set timeouts on the socket for", errno);
    if (connect(ctx->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        fprintf(stderr, "%s: cannot connect to %s: %s (is rawlb running? see --ctl)\n", ctx->prog,
                ctx->ctl_path, strerror(errno));
        return CTL_EXIT_FAIL;
    }
    return CTL_EXIT_OK;
}

/* Sends one request line and reads the answer until the daemon closes. */
static int ctl_request(struct ctl_ctx *ctx, const char *request)
{
    char line[CTL_REQUEST_MAX];
    int n = snprintf(line, sizeof(line), "%s\n", request);
    if (n < 0 || (size_t)n >= sizeof(line)) {
        fprintf(stderr, "%s: request too long (at most %d bytes)\n", ctx->prog, CTL_REQUEST_MAX - 1);
        return CTL_EXIT_USAGE;
    }
    int rc = ctl_connect(ctx);
    if (rc != CTL_EXIT_OK) return rc;

    for (size_t off = 0; off < (size_t)n;) {
        ssize_t w = send(ctx->fd, line + off, (size_t)n - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return fail(ctx, "cannot send the request to", errno);
        off += (size_t)w;
    }

    size_t cap = 0;
    for (;;) {
        if (cap - ctx->answer_len < 4096) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *p = realloc(ctx->answer, ncap + 1);
            if (!p) return fail(ctx, "out of memory reading the answer from", ENOMEM);
            ctx->answer = p;
            cap = ncap;
        }
        ssize_t r = recv(ctx->fd, ctx->answer + ctx->answer_len, cap - ctx->answer_len, 0);
        if (r == 0) break;
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            fprintf(stderr, "%s: no answer from %s within %d s\n", ctx->prog, ctx->ctl_path, CTL_TIMEOUT_S);
            return CTL_EXIT_FAIL;
        }
        if (r < 0) return fail(ctx, "cannot read the answer from", errno);
        ctx->answer_len += (size_t)r;
        if (ctx->answer_len > CTL_ANSWER_MAX) {
            fprintf(stderr, "%s: the answer from %s is larger than %u bytes\n", ctx->prog, ctx->ctl_path,
                    CTL_ANSWER_MAX);
            return CTL_EXIT_FAIL;
        }
    }
    if (ctx->answer) ctx->answer[ctx->answer_len] = '\0';
    if (ctx->answer_len == 0) {
        fprintf(stderr, "%s: %s closed the connection without an answer\n", ctx->prog, ctx->ctl_path);
        return CTL_EXIT_FAIL;
    }
    return CTL_EXIT_OK;
}

/* The answer to stdout, or to stderr when the daemon refused the request. */
static int print_answer(struct ctl_ctx *ctx)
{
    static const char err_prefix[] = "error: ";
    if (ctx->answer_len >= sizeof(err_prefix) - 1 && memcmp(ctx->answer, err_prefix, sizeof(err_prefix) - 1) == 0) {
        fwrite(ctx->answer, 1, ctx->answer_len, stderr);
        if (ctx->answer[ctx->answer_len - 1] != '\n') fputc('\n', stderr);
        return CTL_EXIT_FAIL;
    }
    if (fwrite(ctx->answer, 1, ctx->answer_len, stdout) != ctx->answer_len || fflush(stdout) != 0) {
        fprintf(stderr, "%s: cannot write to stdout: %s\n", ctx->prog, strerror(errno));
        return CTL_EXIT_FAIL;
    }
    return CTL_EXIT_OK;
}

static int cmd_list(struct ctl_ctx *ctx, int argc, char **argv)
{
    if (argc > 1)
        return usage_error(ctx, "list: unexpected argument '%s'", argv[1]);
    int rc = ctl_request(ctx, ctx->health ? CTL_REQ_LIST_HEALTH : CTL_REQ_LIST);
    return rc == CTL_EXIT_OK ? print_answer(ctx) : rc;
}

int main(int argc, char **argv)
{
    struct ctl_ctx ctx = {
        .prog = "rawlb-ctl",
        .ctl_path = RAWLB_DEFAULT_CTL,
        .fd = -1,
    };
    int rc = parse_args(&ctx, argc, argv);
    if (rc < 0)
        rc = ctx.cmd->run(&ctx, ctx.nwords, ctx.words);
    if (ctx.fd >= 0) close(ctx.fd);
    free(ctx.answer);
    return rc;
}
