/* fuzz_ctlproto: the control socket's request parser (ctlproto_parse_request, lb/ctlproto.c),
 * what the daemon runs on every line a client of the socket sends, on arbitrary bytes.
 *
 * libFuzzer (clang, -DRAWLB_FUZZ=ON):  fuzz_ctlproto [-max_total_time=60] [CORPUS_DIR]
 *   (seeds: a copy of test/fuzz/corpus/ctlproto/, one request of every kind, written by
 *   build/test/test_ctlproto_fuzz --write-corpus DIR 24)
 * Standalone (any compiler, -DRAWLB_FUZZ_STANDALONE; test/unit/test_ctlproto_fuzz.c includes this
 * file that way):  with file arguments, replays them (crash reproduction without libFuzzer);
 * without, feeds a deterministic stream of the requests below, most of them edited word by word
 * or byte by byte (fuzz.h); --write-corpus DIR N writes the first N (the first FZ_N_REQUESTS
 * unedited).
 *
 * Each input, as the daemon has it (cut at its first CR or LF, at most CTL_REQUEST_MAX - 1
 * bytes), from an exact-size heap copy (a read past its end is a heap overflow under ASan):
 *   - a refusal has a message, not empty and without the "error: " the daemon puts before it;
 *   - the same line gives the same request or message again (the parser keeps no state);
 *   - what is taken is taken the same with its words joined by single spaces, as rawlb-ctl
 *     sends them (tabs and runs of blanks change nothing), but for a reload, whose command line
 *     (quoted words) is config_parse_line's: there the line it names is within the request;
 *   - the verb is one of enum ctl_verb. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "fuzz.h"

#define FZ_ERR_PREFIX "error: "

/* The words of line joined by single spaces, into out (as long as line, plus its NUL). */
static void fz_normalise(const char *line, char *out)
{
    size_t o = 0;
    for (const char *p = line + strspn(line, " \t"); *p; p += strspn(p, " \t")) {
        size_t n = strcspn(p, " \t");
        if (o)
            out[o++] = ' ';
        memcpy(out + o, p, n);
        o += n;
        p += n;
    }
    out[o] = '\0';
}

static bool fz_same_ep(struct endpoint a, struct endpoint b)
{
    return a.addr == b.addr && a.port == b.port;
}

/* Field by field: the parser copies structs whose padding holds whatever its stack held. */
static bool fz_same_request(const struct ctl_request *a, const struct ctl_request *b)
{
    const struct edit_cmd *x = &a->edit, *y = &b->edit;
    if (a->verb == CTL_RELOAD || b->verb == CTL_RELOAD)
        return a->verb == b->verb && strcmp(a->reload_line, b->reload_line) == 0;
    return a->verb == b->verb && a->health == b->health && a->list.stats == b->list.stats &&
           a->list.rate == b->list.rate && a->list.json == b->list.json && a->json == b->json &&
           a->filter.by_service == b->filter.by_service && a->filter.proto == b->filter.proto &&
           fz_same_ep(a->filter.vip, b->filter.vip) && a->filter.by_client == b->filter.by_client &&
           a->filter.client == b->filter.client && x->op == y->op && x->proto == y->proto &&
           fz_same_ep(x->vip, y->vip) && x->has_sched == y->has_sched && x->has_persist == y->has_persist &&
           x->has_mask == y->has_mask && x->has_ops == y->has_ops && strcmp(x->sched, y->sched) == 0 &&
           x->persist_timeout == y->persist_timeout && x->persist_mask == y->persist_mask &&
           fz_same_ep(x->rs, y->rs) && x->rs_port_given == y->rs_port_given && x->has_weight == y->has_weight &&
           x->weight == y->weight;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= CTL_REQUEST_MAX)
        return 0; /* refused whole by the daemon before parsing (control.c) */
    char *line = malloc(size + 1), *joined = malloc(size + 1);
    FUZZ_ASSERT(line && joined);
    memcpy(line, data, size);
    line[size] = '\0';
    line[strcspn(line, "\r\n")] = '\0';

    static struct ctl_request req, again;
    char err[RAWLB_ERRLEN], err_again[RAWLB_ERRLEN];
    err[0] = err_again[0] = '\0';
    bool ok = ctlproto_parse_request(line, &req, err, sizeof err);
    FUZZ_ASSERT(ok || (err[0] && strncmp(err, FZ_ERR_PREFIX, strlen(FZ_ERR_PREFIX)) != 0));
    FUZZ_ASSERT(ctlproto_parse_request(line, &again, err_again, sizeof err_again) == ok);
    FUZZ_ASSERT(ok ? fz_same_request(&req, &again) : strcmp(err, err_again) == 0);
    if (ok && req.verb == CTL_RELOAD) {
        /* its command line is config_parse_line's (fuzz_config), quotes and all: only where it is */
        FUZZ_ASSERT(req.reload_line > line && req.reload_line < line + strlen(line) && *req.reload_line);
    } else if (ok) {
        FUZZ_ASSERT(req.verb < CTL_VERB_COUNT);
        fz_normalise(line, joined);
        FUZZ_ASSERT(ctlproto_parse_request(joined, &again, err_again, sizeof err_again));
        FUZZ_ASSERT(fz_same_request(&req, &again));
    }
    free(line);
    free(joined);
    return 0;
}

#ifdef RAWLB_FUZZ_STANDALONE

/* One of every kind the daemon takes (ctlproto.h), and near misses. */
static const char *const fz_requests[] = {
    "list",
    "list --health --stats",
    "list --rate --json",
    "conns",
    "conns --json --service tcp:198.51.100.10:80 --client 198.51.100.100",
    "conns --service UDP:198.51.100.10:53",
    "zero",
    "save",
    "status",
    "status --json",
    "ha takeover",
    "ha release",
    "edit -A -t 198.51.100.10:443 -s rr -p 60 -M 255.255.255.0",
    "edit -E -u 198.51.100.10:53 -s wrr -o",
    "edit -D -t 198.51.100.10:80",
    "edit -a -t 198.51.100.10:80 -r 203.0.113.13:80 -w 2",
    "edit -e -t 198.51.100.10:80 -r 203.0.113.12 -w 0",
    "edit -a -t 198.51.100.10:80 -r 203.0.113.14:80 -x 100 -y 75",
    "edit -e -t 198.51.100.10:80 -r 203.0.113.12 --u-threshold 0 --l-threshold=3",
    "list --thresholds --health",
    "edit -d -u 198.51.100.10:53 -r 203.0.113.11:53",
    "edit -E -t 198.51.100.10:80 -p 0",
    "list\t--stats",
    "  conns   --client\t198.51.100.100 ",
    "ha",
    "edit -a -t 198.51.100.10:80 -r 203.0.113.300:80",
    "list --no-such-option",
    "reload rawlb -e ext -i int -n 203.0.113.1 -t 198.51.100.10:80 -r 203.0.113.11:80",
    "reload",
    "watch",
    "watch --json",
};
#define FZ_N_REQUESTS (sizeof fz_requests / sizeof fz_requests[0])

/* Words the edits put in: every option and verb the parser knows, and values of each kind. */
static const char *const fz_dict[] = {
    "list", "conns", "zero", "save", "edit", "status", "ha", "takeover", "release", "reload", "watch", "--health", "--stats",
    "--rate", "--json", "--service", "--client", "-A", "-E", "-D", "-a", "-e", "-d", "-t", "-u", "-r", "-w",
    "-s", "-p", "-M", "-o", "--tcp-service", "--udp-service", "--real-server", "--weight", "--scheduler",
    "-x", "-y", "--u-threshold", "--l-threshold", "--thresholds", "67108864",
    "--persistent", "--netmask", "--ops", "rr", "wlc", "sh", "mh", "-b", "--sched-flags", "mh-port",
    "mh-fallback,mh-port", "tcp:198.51.100.10:80", "udp:1.2.3.4:0",
    "198.51.100.10:80", "203.0.113.11", "255.255.255.255", "0", "65535", "65536", "-1", "4294967296", "",
};

#define FZ_LINE_MAX 512
#define FZ_EDITS_MAX 2 /* per request: more, and hardly any is taken */

static size_t fz_next(uint8_t *buf)
{
    static unsigned pos;
    return fz_next_line((char *)buf, FZ_LINE_MAX, fz_requests, FZ_N_REQUESTS, &pos, fz_dict,
                        sizeof fz_dict / sizeof fz_dict[0], 1, FZ_EDITS_MAX);
}

#ifndef FZ_ITERATIONS
#define FZ_ITERATIONS 200000u
#endif

int main(int argc, char **argv)
{
    static uint8_t buf[FZ_LINE_MAX];
    int status = fz_standalone_args(argc, argv, fz_next, buf);
    if (status >= 0)
        return status;
    unsigned taken[CTL_VERB_COUNT] = { 0 }, refused = 0;
    for (unsigned i = 0; i < FZ_ITERATIONS; i++) {
        size_t len = fz_next(buf);
        LLVMFuzzerTestOneInput(buf, len);
        static struct ctl_request req;
        char err[RAWLB_ERRLEN];
        buf[len] = '\0';
        if (ctlproto_parse_request((const char *)buf, &req, err, sizeof err))
            taken[req.verb]++;
        else
            refused++;
    }
    printf("%u requests: %u refused; taken:", FZ_ITERATIONS, refused);
    bool every_verb = true;
    for (unsigned v = 0; v < CTL_VERB_COUNT; v++) {
        printf(" %u", taken[v]);
        every_verb = every_verb && taken[v];
    }
    printf("\n");
    /* Every verb taken and many refusals, or the stream tests little. */
    bool broad = every_verb && refused > FZ_ITERATIONS / 10;
    if (!broad)
        fprintf(stderr, "the request stream reaches too little of the parser\n");
    return broad ? 0 : 1;
}
#endif
