/* rawlb-ctl: talks to a running rawlb over its unix control socket.
 *   rawlb-ctl [--ctl PATH] list|conns|watch|zero|save|status|ha ...  (the words of ctlproto.h)
 *   rawlb-ctl reload RAWLB-FLAGS...                            (the unit's ExecReload)
 *   rawlb-ctl [--ctl PATH] -L|-Z|-S|-A|-E|-D|-a|-e|-d ...     (ipvsadm's own syntax)
 * Every request is checked here with the daemon's own parser (ctlproto_parse_request, which runs
 * edit_parse for edits) before it is sent, so bad input gets the daemon's words and exit 2
 * without a round trip. One request line, one text answer read until the daemon closes.
 * Exit status: 0 done, 1 the daemon could not be reached or said "error: ...", 2 a usage error. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ctlproto.h"
#include "edit.h"
#include "scheduler.h"
#include "textout.h"
#include "toolmsg.h"

enum {
    CTL_EXIT_OK = 0,
    CTL_EXIT_FAIL = 1,
    CTL_EXIT_USAGE = 2,
};

#define CTL_TIMEOUT_S 5
#define CTL_ANSWER_MAX (64u << 20) /* far above any table we render */
#define WATCH_MAX_FRAMES 1000000000ul

struct ctl_ctx;

struct ctl_command {
    const char *name;
    const char *synopsis;
    /* Runs with the words from the command name on; returns the exit status. */
    int (*run)(struct ctl_ctx *ctx, int argc, char **argv);
};

struct ctl_ctx {
    const char *prog;
    const char *ctl_path;
    bool ctl_given; /* --ctl before the command */
    const struct ctl_command *cmd;
    int nwords;
    char *words[CTL_MAX_WORDS * 2]; /* the command and its arguments (ipvsadm clusters split) */
    char split[CTL_MAX_WORDS * 2][3]; /* storage for "-L" "-n" split out of "-Ln" */
    char **rawlb_flags; /* reload: the words after it, rawlb's flags as they are */
    int n_rawlb_flags;
    int fd;
    char *answer;
    size_t answer_len;
};

static int cmd_request(struct ctl_ctx *ctx, int argc, char **argv);
static int cmd_watch(struct ctl_ctx *ctx, int argc, char **argv);
static int cmd_reload(struct ctl_ctx *ctx, int argc, char **argv);

static const struct ctl_command commands[] = {
    {"list", "list [--health] [--stats|--rate|--thresholds] [--json]\n"
             "        virtual services and real servers (ipvsadm -L -n layout); --health adds each real\n"
             "        server's state, time in it and last check; --stats Conns InPkts OutPkts InBytes\n"
             "        OutBytes, --rate CPS InPPS OutPPS InBPS OutBPS, --thresholds Uthreshold Lthreshold\n"
             "        (-x -y) and whether the server is overloaded now; --json everything as one object",
     cmd_request},
    {"conns", "conns [--json] [--service tcp|udp:VIP:PORT] [--client ADDR]\n"
              "        the connection table (ipvsadm -L -n -c layout), of one service or client;\n"
              "        listed in parts as it is read, so a flow that starts or ends meanwhile may be\n"
              "        missing or shown twice; at most 4 MB, then a line saying how many more",
     cmd_request},
    {"watch", "watch [--stats|--rate|--thresholds|--health] [--count N]\n"
              "        list again every second (the screen is redrawn on a terminal); N frames only",
     cmd_watch},
    {"zero", "zero    counters and rates back to zero (ipvsadm -Z)", cmd_request},
    {"save", "save    the running set-up as one rawlb command line (ipvsadm -S)", cmd_request},
    {"edit", "edit -A|-E|-D|-a|-e|-d ...   the same as the ipvsadm letters below", cmd_request},
    {"status", "status [--json]\n"
               "        high availability: role and state, the peer per link, epochs, configuration\n"
               "        match per section, sync counters, transitions with their reasons",
     cmd_request},
    {"ha", "ha takeover|release\n"
           "        become master now (the peer yields), or hand the master role to the peer",
     cmd_request},
    {"reload", "reload RAWLB-FLAGS...\n"
               "        give the running daemon a whole rawlb command line (without 'rawlb'): its\n"
               "        services, real servers and timeouts replace the running ones as edits would\n"
               "        (the systemd unit's ExecReload); refused, naming the flags, when one that only\n"
               "        a restart applies differs (interfaces, -n, sizes, accounts, sockets, files,\n"
               "        HA), and on an HA backup; a --ctl among the flags is the socket used",
     cmd_reload},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: rawlb-ctl [--ctl PATH] COMMAND [OPTIONS]\n"
                 "commands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %s\n", commands[i].synopsis);
    fprintf(out,
            "ipvsadm's syntax (-n, numeric, is accepted and always in effect; -m, masquerading,\n"
            "is the only forwarding method):\n"
            "  -L|-l [-n] [--stats|--rate|--thresholds] [--json] [--health]   list\n"
            "  -L|-l [-n] -c [-t|-u VIP:PORT] [--client ADDR] [--json]  conns\n"
            "  -Z                                                       zero\n"
            "  -S [-n]                                                  save\n"
            "  -A -t|-u VIP:PORT [-s SCHED] [-b FLAGS] [-p SEC] [-M MASK] [-o]\n"
            "                                                           add a service\n"
            "  -E -t|-u VIP:PORT [-s SCHED] [-b FLAGS] [-p SEC] [-M MASK] [-o]\n"
            "                                                           change a service (what is\n"
            "                                                           not given stays; -p 0 ends\n"
            "                                                           persistence; -s without -b:\n"
            "                                                           no flags)\n"
            "  -D -t|-u VIP:PORT                                        delete a service\n"
            "  -a -t|-u VIP:PORT -r ADDR[:PORT] [-w WEIGHT] [-x UPPER] [-y LOWER] [-m]\n"
            "                                                           add a real server\n"
            "  -e -t|-u VIP:PORT -r ADDR[:PORT] [-w WEIGHT] [-x UPPER] [-y LOWER] [-m]\n"
            "                                                           change its weight (0 drains)\n"
            "                                                           or connection limits: at UPPER\n"
            "                                                           connections no new ones until\n"
            "                                                           below LOWER (0: 3/4 of UPPER);\n"
            "                                                           -x 0 lifts the limit\n"
            "  -d -t|-u VIP:PORT -r ADDR[:PORT]                         delete a real server\n"
            "  long forms: --list --numeric --connection --zero --save --add-service --edit-service\n"
            "  --delete-service --add-server --edit-server --delete-server --tcp-service --udp-service\n"
            "  --scheduler --sched-flags --persistent --netmask --ops --real-server --weight\n"
            "  --u-threshold --l-threshold --masquerading --thresholds\n"
            "  schedulers: %s; -p needs SEC (ipvsadm's -p alone means 360 s)\n"
            "  scheduler flags (-b, a comma list): mh-port (mh hashes the client port too),\n"
            "  mh-fallback (mh sends a flow whose server is down to the next one)\n"
            "options:\n"
            "      --ctl PATH       the daemon's control socket (default %s)\n"
            "  -h, --help           print this help and exit\n"
            "  -V, --version        print the version and exit\n"
            "edits are applied at once, without a restart; flows of servers that stay go on.\n",
            sched_names(), RAWLB_DEFAULT_CTL);
}

static const struct ctl_command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    return NULL;
}

static bool is_word(const char *w, const char *short_opt, const char *long_opt)
{
    return (short_opt && strcmp(w, short_opt) == 0) || (long_opt && strcmp(w, long_opt) == 0);
}

static int add_word(struct ctl_ctx *ctx, char *w)
{
    if (ctx->nwords == (int)(sizeof ctx->words / sizeof ctx->words[0]))
        return toolmsg_usage_error(ctx->prog, CTL_EXIT_USAGE, "too many arguments");
    ctx->words[ctx->nwords++] = w;
    return -1;
}

/* rawlb-ctl's own options (--ctl, --help, --version) may stand anywhere; the other words are
 * the command's. ipvsadm's letter clusters ("-Ln", "-lnc") are split into single letters.
 * Returns -1 to go on, or an exit status. */
static int parse_args(struct ctl_ctx *ctx, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        char *w = argv[i];
        const char *path = NULL;
        if (ctx->nwords == 1 && strcmp(ctx->words[0], CTL_REQ_RELOAD) == 0) {
            ctx->rawlb_flags = argv + i; /* rawlb's, not ours: cmd_reload reads them */
            ctx->n_rawlb_flags = argc - i;
            break;
        }
        if (is_word(w, "-h", "--help")) {
            usage(stdout);
            return CTL_EXIT_OK;
        }
        if (is_word(w, "-V", "--version")) {
            printf("rawlb-ctl %s\n", RAWLB_VERSION);
            return CTL_EXIT_OK;
        }
        if (strcmp(w, "--ctl") == 0) {
            if (i + 1 == argc)
                return toolmsg_usage_error(ctx->prog, CTL_EXIT_USAGE, "option '--ctl' needs a value");
            path = argv[++i];
        } else if (strncmp(w, "--ctl=", 6) == 0) {
            path = w + 6;
        }
        if (path) {
            if (*path == '\0')
                return toolmsg_usage_error(ctx->prog, CTL_EXIT_USAGE, "--ctl: empty path");
            if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
                return toolmsg_usage_error(ctx->prog, CTL_EXIT_USAGE,
                                           "--ctl: path '%s' is too long (at most %zu bytes)", path,
                                           sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
            ctx->ctl_path = path;
            ctx->ctl_given = true;
            continue;
        }
        /* -Ln, -lnc, -Zn ...: letters that take no value, as ipvsadm users type them. */
        if (w[0] == '-' && w[1] && w[1] != '-' && w[2] && strspn(w + 1, "LlncZS") == strlen(w + 1)) {
            for (const char *c = w + 1; *c; c++) {
                char *s = ctx->split[ctx->nwords];
                s[0] = '-', s[1] = *c, s[2] = '\0';
                int rc = add_word(ctx, s);
                if (rc >= 0)
                    return rc;
            }
            continue;
        }
        int rc = add_word(ctx, w);
        if (rc >= 0)
            return rc;
    }
    if (ctx->nwords == 0) {
        toolmsg_say(ctx->prog, "no command given");
        usage(stderr);
        return CTL_EXIT_USAGE;
    }
    if (ctx->words[0][0] == '-')
        return -1; /* ipvsadm's syntax: main() sorts it out */
    ctx->cmd = find_command(ctx->words[0]);
    if (!ctx->cmd) {
        fprintf(stderr, "%s: unknown command '%s' (known:", ctx->prog, ctx->words[0]);
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
            fprintf(stderr, " %s", commands[i].name);
        fprintf(stderr, ", or ipvsadm's -L -Z -S -A -E -D -a -e -d; see %s --help)\n", ctx->prog);
        return CTL_EXIT_USAGE;
    }
    return -1;
}

static int fail(struct ctl_ctx *ctx, const char *what, int err)
{
    toolmsg_say(ctx->prog, "%s %s: %s", what, ctx->ctl_path, strerror(err));
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
        toolmsg_say(ctx->prog, "cannot connect to %s: %s (is rawlb running? see --ctl)", ctx->ctl_path,
                    strerror(errno));
        return CTL_EXIT_FAIL;
    }
    return CTL_EXIT_OK;
}

static int ctl_exchange(struct ctl_ctx *ctx, const char *line, size_t n)
{
    int rc = ctl_connect(ctx);
    if (rc != CTL_EXIT_OK) return rc;

    for (size_t off = 0; off < n;) {
        ssize_t w = send(ctx->fd, line + off, n - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return fail(ctx, "cannot send the request to", errno);
        off += (size_t)w;
    }

    size_t cap = 0;
    ctx->answer_len = 0;
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
            toolmsg_say(ctx->prog, "no answer from %s within %d s", ctx->ctl_path, CTL_TIMEOUT_S);
            return CTL_EXIT_FAIL;
        }
        if (r < 0) return fail(ctx, "cannot read the answer from", errno);
        ctx->answer_len += (size_t)r;
        if (ctx->answer_len > CTL_ANSWER_MAX) {
            toolmsg_say(ctx->prog, "the answer from %s is larger than %u bytes", ctx->ctl_path, CTL_ANSWER_MAX);
            return CTL_EXIT_FAIL;
        }
    }
    ctx->answer[ctx->answer_len] = '\0';
    if (ctx->answer_len == 0) {
        toolmsg_say(ctx->prog, "%s closed the connection without an answer", ctx->ctl_path);
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
        toolmsg_say(ctx->prog, "request too long (at most %d bytes)", CTL_REQUEST_MAX - 1);
        return CTL_EXIT_USAGE;
    }
    int rc = ctl_exchange(ctx, line, (size_t)n);
    if (ctx->fd >= 0) close(ctx->fd);
    ctx->fd = -1;
    return rc;
}

/* The answer to stdout, or to stderr when the daemon refused the request. "ok" is not shown:
 * like ipvsadm, a change that worked says nothing. */
static int print_answer(struct ctl_ctx *ctx)
{
    static const char err_prefix[] = "error: ";
    if (ctx->answer_len >= sizeof(err_prefix) - 1 && memcmp(ctx->answer, err_prefix, sizeof(err_prefix) - 1) == 0) {
        fprintf(stderr, "%s: ", ctx->prog);
        fwrite(ctx->answer, 1, ctx->answer_len, stderr);
        if (ctx->answer[ctx->answer_len - 1] != '\n') fputc('\n', stderr);
        return CTL_EXIT_FAIL;
    }
    if (strcmp(ctx->answer, CTL_ANSWER_OK) == 0)
        return CTL_EXIT_OK;
    if (fwrite(ctx->answer, 1, ctx->answer_len, stdout) != ctx->answer_len || fflush(stdout) != 0) {
        toolmsg_say(ctx->prog, "cannot write to stdout: %s", strerror(errno));
        return CTL_EXIT_FAIL;
    }
    return CTL_EXIT_OK;
}

/* The words as one request line, checked with the daemon's parser. */
static int build_request(struct ctl_ctx *ctx, int argc, char **argv, char *line, size_t len)
{
    struct ctl_request req;
    char err[RAWLB_ERRLEN * 2];
    size_t off = 0;
    line[0] = '\0';
    for (int i = 0; i < argc; i++) {
        if (argv[i][0] == '\0' || strpbrk(argv[i], " \t\r\n"))
            return toolmsg_usage_error(ctx->prog, CTL_EXIT_USAGE,
                                       "argument '%s' is empty or has a space: no value of rawlb-ctl has one", argv[i]);
        int n = snprintf(line + off, len - off, "%s%s", i ? " " : "", argv[i]);
        if (n < 0 || (size_t)n >= len - off)
            return toolmsg_usage_error(ctx->prog, CTL_EXIT_USAGE, "request too long (at most %zu bytes)", len - 1);
        off += (size_t)n;
    }
    if (!ctlproto_parse_request(line, &req, err, sizeof err))
        return toolmsg_usage_error(ctx->prog, CTL_EXIT_USAGE, "%s", err);
    return -1;
}

static int cmd_request(struct ctl_ctx *ctx, int argc, char **argv)
{
    char line[CTL_REQUEST_MAX];
    int rc = build_request(ctx, argc, argv, line, sizeof line);
    if (rc >= 0)
        return rc;
    rc = ctl_request(ctx, line);
    return rc == CTL_EXIT_OK ? print_answer(ctx) : rc;
}

/* reload FLAGS...: the flags quoted into one command line as save prints it, checked with
 * rawlb's own parser first; a --ctl among them names the socket, as it names rawlb's (unless
 * rawlb-ctl's own --ctl came before the command). */
static int cmd_reload(struct ctl_ctx *ctx, int argc, char **argv)
{
    (void)argc, (void)argv;
    static char line[CTL_REQUEST_MAX];
    static struct rawlb_config given; /* large: not on the stack */
    char err[RAWLB_ERRLEN * 2];
    struct textout o;
    if (ctx->n_rawlb_flags == 0)
        return toolmsg_usage_error(ctx->prog, CTL_EXIT_USAGE,
                                   "reload: give rawlb's flags (reload -e IF -i IF -n ADDR ...)");
    textout_init(&o, line, sizeof line);
    textout_printf(&o, "%s rawlb", CTL_REQ_RELOAD);
    for (int i = 0; i < ctx->n_rawlb_flags; i++)
        textout_word(&o, ctx->rawlb_flags[i]);
    if (o.truncated)
        return toolmsg_usage_error(ctx->prog, CTL_EXIT_USAGE, "reload: request too long (at most %d bytes)",
                                   CTL_REQUEST_MAX - 1);
    if (config_parse_line(&given, line + strlen(CTL_REQ_RELOAD) + 1, err, sizeof err) != CONFIG_OK)
        return toolmsg_usage_error(ctx->prog, CTL_EXIT_USAGE, "reload: %s", err);
    if (!ctx->ctl_given)
        ctx->ctl_path = given.ctl_path;
    int rc = ctl_request(ctx, line);
    return rc == CTL_EXIT_OK ? print_answer(ctx) : rc;
}

static int cmd_watch(struct ctl_ctx *ctx, int argc, char **argv)
{
    char line[CTL_REQUEST_MAX] = CTL_REQ_LIST;
    unsigned long count = WATCH_MAX_FRAMES;
    bool tty = isatty(STDOUT_FILENO);

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--stats") == 0 || strcmp(argv[i], "--rate") == 0 || strcmp(argv[i], "--thresholds") == 0 ||
            strcmp(argv[i], "--health") == 0) {
            if (strlen(line) + strlen(argv[i]) + 2 > sizeof line)
                return toolmsg_usage_error(ctx->prog, CTL_EXIT_USAGE, "watch: too many options");
            strcat(line, " ");
            strcat(line, argv[i]);
        } else if (strcmp(argv[i], "--count") == 0) {
            if (i + 1 == argc)
                return toolmsg_usage_error(ctx->prog, CTL_EXIT_USAGE, "watch: option '--count' needs a value");
            if (!addr_parse_uint(argv[++i], 1, WATCH_MAX_FRAMES, &count))
                return toolmsg_usage_error(ctx->prog, CTL_EXIT_USAGE, "--count: '%s' is not a number of frames 1..%lu",
                                           argv[i], WATCH_MAX_FRAMES);
        } else {
            return toolmsg_usage_error(
                ctx->prog, CTL_EXIT_USAGE,
                "watch: unknown option '%s' (known: --stats --rate --thresholds --health --count N)", argv[i]);
        }
    }
    struct ctl_request req;
    char err[RAWLB_ERRLEN * 2];
    if (!ctlproto_parse_request(line, &req, err, sizeof err))
        return toolmsg_usage_error(ctx->prog, CTL_EXIT_USAGE, "watch: %s", err);
    for (unsigned long frame = 0; frame < count; frame++) {
        if (frame)
            sleep(1);
        int rc = ctl_request(ctx, line);
        if (rc != CTL_EXIT_OK)
            return rc;
        char when[32];
        time_t now = time(NULL);
        strftime(when, sizeof when, "%H:%M:%S", localtime(&now));
        if (tty)
            fputs("\033[H\033[2J", stdout); /* home, clear */
        printf("%s%s: %s, every 1 s, %s\n", frame && !tty ? "\n" : "", ctx->prog, line, when);
        rc = print_answer(ctx);
        if (rc != CTL_EXIT_OK)
            return rc;
    }
    return CTL_EXIT_OK;
}

/* ipvsadm's syntax into the word commands. */
static int run_ipvsadm(struct ctl_ctx *ctx)
{
    enum { NONE, LIST, ZERO, SAVE, EDIT } mode = NONE;
    const char *mode_word = NULL;

    for (int i = 0; i < ctx->nwords; i++) {
        const char *w = ctx->words[i];
        int m = is_word(w, "-L", "--list") || is_word(w, "-l", NULL) ? LIST
                : is_word(w, "-Z", "--zero")                         ? ZERO
                : is_word(w, "-S", "--save")                         ? SAVE
                : (w[0] == '-' && w[1] && strchr("AEDaed", w[1]) && w[2] == '\0') ||
                        is_word(w, "--add-service", "--edit-service") ||
                        is_word(w, "--delete-service", "--add-server") || is_word(w, "--edit-server", "--delete-server")
                    ? EDIT
                    : NONE;
        if (m == NONE)
            continue;
        if (mode != NONE && !(mode == EDIT && m == EDIT))
            return toolmsg_usage_error(ctx->prog, CTL_EXIT_USAGE,
                                       "'%s' and '%s' do not go together: one command at a time", mode_word, w);
        if (mode == NONE) {
            mode = m;
            mode_word = w;
        }
    }
    if (mode == NONE)
        return toolmsg_usage_error(ctx->prog, CTL_EXIT_USAGE, "no command: '%s' is none of -L -Z -S -A -E -D -a -e -d",
                                   ctx->words[0]);

    char *out[CTL_MAX_WORDS * 2 + 1];
    int n = 0;
    if (mode == EDIT) {
        out[n++] = CTL_REQ_EDIT;
        for (int i = 0; i < ctx->nwords && n < (int)(sizeof out / sizeof out[0]); i++)
            out[n++] = ctx->words[i];
        /* edit_parse's own message, as the daemon would give it */
        struct edit_cmd cmd;
        char err[RAWLB_ERRLEN * 2];
        if (!edit_parse(ctx->nwords, ctx->words, &cmd, err, sizeof err))
            return toolmsg_usage_error(ctx->prog, CTL_EXIT_USAGE, "%s", err);
        return cmd_request(ctx, n, out);
    }

    bool conns = false;
    char *filter_service = NULL, service_arg[64];
    out[n++] = mode == LIST ? CTL_REQ_LIST : mode == ZERO ? CTL_REQ_ZERO : CTL_REQ_SAVE;
    for (int i = 0; i < ctx->nwords; i++) {
        char *w = ctx->words[i];
        if (w == mode_word || is_word(w, "-n", "--numeric") || (mode == LIST && is_word(w, "--exact", NULL)))
            continue;
        if (mode == LIST && is_word(w, "-c", "--connection")) {
            conns = true;
            continue;
        }
        if (mode == LIST && (is_word(w, "-t", "--tcp-service") || is_word(w, "-u", "--udp-service"))) {
            if (i + 1 == ctx->nwords)
                return toolmsg_usage_error(ctx->prog, CTL_EXIT_USAGE, "option '%s' needs a value", w);
            snprintf(service_arg, sizeof service_arg, "%s:%s", w[1] == 't' || w[2] == 't' ? "tcp" : "udp",
                     ctx->words[++i]);
            filter_service = service_arg;
            continue;
        }
        if (mode == LIST && (is_word(w, "--stats", "--rate") || is_word(w, "--json", "--health") ||
                             is_word(w, "--thresholds", "--client"))) {
            out[n++] = w;
            if (is_word(w, "--client", NULL) && i + 1 < ctx->nwords)
                out[n++] = ctx->words[++i];
            continue;
        }
        return toolmsg_usage_error(ctx->prog, CTL_EXIT_USAGE, "'%s' does not go with '%s'", w, mode_word);
    }
    if (mode == LIST && conns) {
        out[0] = CTL_REQ_CONNS;
        if (filter_service) {
            out[n++] = "--service";
            out[n++] = filter_service;
        }
    } else if (filter_service) {
        return toolmsg_usage_error(ctx->prog, CTL_EXIT_USAGE,
                                   "-L -t|-u: listing one service is not supported; -c -t|-u VIP:PORT shows its "
                                   "connections");
    }
    return cmd_request(ctx, n, out);
}

int main(int argc, char **argv)
{
    static struct ctl_ctx ctx;
    ctx.prog = "rawlb-ctl";
    ctx.ctl_path = RAWLB_DEFAULT_CTL;
    ctx.fd = -1;
    int rc = parse_args(&ctx, argc, argv);
    if (rc < 0)
        rc = ctx.cmd ? ctx.cmd->run(&ctx, ctx.nwords, ctx.words) : run_ipvsadm(&ctx);
    if (ctx.fd >= 0) close(ctx.fd);
    free(ctx.answer);
    return rc;
}
