/* ctlproto: the requests rawlb-ctl sends, parsed (see ctlproto.h), and the error answer with
 * the rule every control answer ends by (ctlproto_answer_finish). The other answers live
 * apart: list and conns in ctlrender.c, save (-S) and the sections HA compares in ctlsave.c. */
#include "ctlproto.h"

#include <netinet/in.h>
#include <strings.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ctlproto_int.h"
#include "textout.h"

size_t ctlproto_answer_finish(struct textout *o)
{
    if (o->truncated && !(o->pos && memrchr(o->buf, '\n', o->pos))) {
        o->pos = strnlen(o->buf, o->len - 1); /* the prefix textout_printf managed to put there */
        if (o->pos == o->len - 1) o->pos--;
        o->buf[o->pos++] = '\n';
        o->buf[o->pos] = '\0';
        return o->pos;
    }
    return textout_finish(o);
}

size_t ctlproto_render_error(const char *msg, char *buf, size_t len)
{
    if (len < 2) {
        if (len) buf[0] = '\0';
        return 0;
    }
    struct textout o;
    textout_init(&o, buf, len);
    textout_printf(&o, "error: %s\n", msg);
    return ctlproto_answer_finish(&o);
}

/* ---- requests ---- */

int ctlproto_split(char *line, char **words, int max)
{
    int n = 0;
    for (char *p = line;;) {
        p += strspn(p, " \t");
        if (*p == '\0')
            return n;
        if (n == max)
            return -1;
        words[n++] = p;
        p += strcspn(p, " \t");
        if (*p)
            *p++ = '\0';
    }
}

bool ctlproto_parse_service(const char *s, uint8_t *proto, struct endpoint *vip, char *err, size_t errlen)
{
    char why[RAWLB_ERRLEN];
    if (strncasecmp(s, "tcp:", 4) == 0)
        *proto = IPPROTO_TCP;
    else if (strncasecmp(s, "udp:", 4) == 0)
        *proto = IPPROTO_UDP;
    else {
        snprintf(err, errlen, "--service: '%s' is not tcp:VIP:PORT or udp:VIP:PORT", s);
        return false;
    }
    if (!addr_parse_endpoint(s + 4, vip, why, sizeof why)) {
        snprintf(err, errlen, "--service: %s", why);
        return false;
    }
    return true;
}

/* "--name" or "--name=value" against name; *val is the attached value or NULL. */
static bool opt_is(const char *word, const char *name, const char **val)
{
    size_t n = strlen(name);
    if (strncmp(word, name, n) != 0)
        return false;
    if (word[n] == '\0') {
        *val = NULL;
        return true;
    }
    if (word[n] == '=') {
        *val = word + n + 1;
        return true;
    }
    return false;
}

static bool parse_list(int argc, char **argv, struct ctl_request *req, char *err, size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *w = argv[i];
        if (strcmp(w, "--health") == 0)
            req->health = true;
        else if (strcmp(w, "--stats") == 0)
            req->list.stats = true;
        else if (strcmp(w, "--rate") == 0)
            req->list.rate = true;
        else if (strcmp(w, "--thresholds") == 0)
            req->list.thresholds = true;
        else if (strcmp(w, "--json") == 0)
            req->list.json = true;
        else {
            snprintf(err, errlen, "list: unknown option '%s' (known: --health --stats --rate --thresholds --json)", w);
            return false;
        }
    }
    if (req->list.stats + req->list.rate + req->list.thresholds > 1) {
        snprintf(err, errlen, "list: --stats, --rate and --thresholds do not go together (as in ipvsadm); --json has "
                 "them all");
        return false;
    }
    return true;
}

static bool parse_conns(int argc, char **argv, struct ctl_request *req, char *err, size_t errlen)
{
    struct ctl_conn_filter *f = &req->filter;
    for (int i = 1; i < argc; i++) {
        const char *w = argv[i], *val;
        bool service = opt_is(w, "--service", &val), client = !service && opt_is(w, "--client", &val);
        if (strcmp(w, "--json") == 0) {
            req->json = true;
            continue;
        }
        if (!service && !client) {
            snprintf(err, errlen, "conns: unknown option '%s' (known: --json --service --client)", w);
            return false;
        }
        if (!val) {
            if (i + 1 == argc) {
                snprintf(err, errlen, "conns: option '%s' needs a value", w);
                return false;
            }
            val = argv[++i];
        }
        if (service) {
            if (f->by_service) {
                snprintf(err, errlen, "--service: given twice");
                return false;
            }
            if (!ctlproto_parse_service(val, &f->proto, &f->vip, err, errlen))
                return false;
            f->by_service = true;
        } else {
            char why[RAWLB_ERRLEN];
            if (f->by_client) {
                snprintf(err, errlen, "--client: given twice");
                return false;
            }
            if (!addr_parse_host(val, &f->client, why, sizeof why)) {
                snprintf(err, errlen, "--client: %s", why);
                return false;
            }
            f->by_client = true;
        }
    }
    return true;
}

bool ctlproto_parse_request(const char *line, struct ctl_request *req, char *err, size_t errlen)
{
    char copy[CTL_REQUEST_MAX];
    char *words[CTL_MAX_WORDS];

    memset(req, 0, sizeof *req);
    if (strlen(line) >= sizeof copy) {
        snprintf(err, errlen, "request too long (at most %d bytes)", CTL_REQUEST_MAX - 1);
        return false;
    }
    /* A reload carries a whole command line: more words than any other request, checked by
     * config_parse_line where it is applied. */
    size_t verb_len = strlen(CTL_REQ_RELOAD);
    if (strncmp(line, CTL_REQ_RELOAD, verb_len) == 0 && (line[verb_len] == ' ' || line[verb_len] == '\0')) {
        req->verb = CTL_RELOAD;
        req->reload_line = line + verb_len + strspn(line + verb_len, " \t");
        if (*req->reload_line == '\0') {
            snprintf(err, errlen, "reload: the rawlb command line is missing (reload rawlb -e IF ...)");
            return false;
        }
        return true;
    }
    strcpy(copy, line);
    int n = ctlproto_split(copy, words, CTL_MAX_WORDS);
    if (n < 0) {
        snprintf(err, errlen, "too many words in the request (at most %d)", CTL_MAX_WORDS);
        return false;
    }
    if (n == 0) {
        snprintf(err, errlen, "empty request");
        return false;
    }
    const char *verb = words[0];
    if (strcmp(verb, CTL_REQ_LIST) == 0) {
        req->verb = CTL_LIST;
        return parse_list(n, words, req, err, errlen);
    }
    if (strcmp(verb, CTL_REQ_CONNS) == 0) {
        req->verb = CTL_CONNS;
        return parse_conns(n, words, req, err, errlen);
    }
    if (strcmp(verb, CTL_REQ_EDIT) == 0) {
        req->verb = CTL_EDIT;
        return edit_parse(n - 1, words + 1, &req->edit, err, errlen);
    }
    if (strcmp(verb, CTL_REQ_ZERO) == 0 || strcmp(verb, CTL_REQ_SAVE) == 0 || strcmp(verb, CTL_REQ_WATCH) == 0) {
        req->verb = verb[0] == 'z' ? CTL_ZERO : verb[0] == 's' ? CTL_SAVE : CTL_WATCH;
        if (n > 1) {
            snprintf(err, errlen, "%s: unexpected argument '%s'", verb, words[1]);
            return false;
        }
        return true;
    }
    if (strcmp(verb, CTL_REQ_STATUS) == 0) {
        req->verb = CTL_STATUS;
        req->json = n == 2 && strcmp(words[1], "--json") == 0;
        if (n > 2 || (n == 2 && !req->json)) {
            snprintf(err, errlen, "status: unexpected argument '%s' (status [--json])", words[n - 1]);
            return false;
        }
        return true;
    }
    if (strcmp(verb, CTL_REQ_HA) == 0) {
        bool takeover = n == 2 && strcmp(words[1], "takeover") == 0;
        if (n != 2 || (!takeover && strcmp(words[1], "release") != 0)) {
            snprintf(err, errlen, "ha: say 'ha takeover' or 'ha release'");
            return false;
        }
        req->verb = takeover ? CTL_HA_TAKEOVER : CTL_HA_RELEASE;
        return true;
    }
    snprintf(err, errlen, "unknown request '%.64s' (known: list conns zero save edit status ha reload watch)", verb);
    return false;
}
