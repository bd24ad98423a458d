/* probe_agent: --agent-port. HAProxy's agent-check: connect, read one line (up to '\n', the
 * server's close or PROBE_BUF bytes), parse it with agent_parse. The probe succeeds when the
 * line says something usable; the parsed reply goes to the probe's callback. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "probe.h"

#define AGENT_SEPARATORS " \t,\r"

static bool agent_word_is(const char *w, size_t n, const char *s)
{
    return strlen(s) == n && strncasecmp(w, s, n) == 0;
}

/* How cautious a state word is: the most cautious of several wins. */
static int agent_rank(enum agent_verdict v)
{
    switch (v) {
    case AGENT_UP: return 1;
    case AGENT_DRAIN: return 2;
    case AGENT_DOWN: return 3;
    default: return 0;
    }
}

/* "N%" with N decimal; values above 100 are capped (and never overflow). */
static bool agent_percent(const char *w, size_t n, unsigned *pct)
{
    if (n < 2 || w[n - 1] != '%')
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < n - 1; i++) {
        if (w[i] < '0' || w[i] > '9')
            return false;
        if (v <= 100)
            v = v * 10 + (unsigned)(w[i] - '0');
    }
    *pct = v > 100 ? 100 : v;
    return true;
}

bool agent_parse(const char *line, struct agent_reply *r)
{
    static const struct {
        const char *word;
        enum agent_verdict verdict;
    } words[] = {
        {"drain", AGENT_DRAIN}, {"down", AGENT_DOWN}, {"fail", AGENT_DOWN}, {"stopped", AGENT_DOWN},
        {"maint", AGENT_DOWN},  {"up", AGENT_UP},     {"ready", AGENT_UP},
    };
    enum agent_verdict state = AGENT_NONE;

    memset(r, 0, sizeof *r);
    const char *s = line, *end = line + strcspn(line, "\n");
    while (s < end) {
        s += strspn(s, AGENT_SEPARATORS);
        size_t n = strcspn(s, AGENT_SEPARATORS "\n");
        if (n == 0)
            break;
        unsigned pct;
        if (agent_percent(s, n, &pct)) {
            r->has_percent = true;
            r->percent = pct;
        }
        for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
            if (agent_word_is(s, n, words[i].word) && agent_rank(words[i].verdict) > agent_rank(state))
                state = words[i].verdict;
        s += n;
    }
    r->verdict = state != AGENT_NONE ? state : r->has_percent ? AGENT_WEIGHT : AGENT_NONE;
    return r->verdict != AGENT_NONE;
}

static int agent_readable(struct probe *p, char *why, size_t len)
{
    int r = probe_read_answer(p, true, why, len);
    if (r <= 0)
        return r;
    if (!agent_parse(p->buf, &p->agent)) {
        char q[41];
        snprintf(why, len, "no usable agent answer '%s'", probe_quote(p->buf, strcspn(p->buf, "\r\n"), 40, q));
        return -1;
    }
    return 1;
}

const struct probe_ops probe_agent_ops = {
    .name = "agent",
    .socktype = SOCK_STREAM,
    .readable = agent_readable,
};
