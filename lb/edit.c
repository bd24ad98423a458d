/* edit: see edit.h. The words are parsed by hand rather than with getopt: the daemon parses
 * them inside its event loop, and getopt's state is global (config.c's parser uses it too).
 * Messages follow config.c: the long flag name, then the value as typed. */
#include "edit.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "scheduler.h"
#include "setupcheck.h"
#include "textout.h"

#define PERSIST_MAX 2147483647ul /* as config.c and ipvsadm */

enum edit_opt_arg { ARG_NONE, ARG_REQUIRED };

struct edit_opt {
    char letter;
    const char *name;
    enum edit_opt_arg arg;
};

static const struct edit_opt edit_opts[] = {
    {'A', "add-service", ARG_NONE},    {'E', "edit-service", ARG_NONE}, {'D', "delete-service", ARG_NONE},
    {'a', "add-server", ARG_NONE},     {'e', "edit-server", ARG_NONE},  {'d', "delete-server", ARG_NONE},
    {'t', "tcp-service", ARG_REQUIRED}, {'u', "udp-service", ARG_REQUIRED},
    {'s', "scheduler", ARG_REQUIRED},  {'b', "sched-flags", ARG_REQUIRED},
    {'p', "persistent", ARG_REQUIRED}, {'M', "netmask", ARG_REQUIRED},
    {'o', "ops", ARG_NONE},            {'r', "real-server", ARG_REQUIRED}, {'w', "weight", ARG_REQUIRED},
    {'x', "u-threshold", ARG_REQUIRED}, {'y', "l-threshold", ARG_REQUIRED},
    {'m', "masquerading", ARG_NONE},   {'g', "gatewaying", ARG_NONE},   {'i', "ipip", ARG_NONE},
};

static const char op_letters[] = "AEDaed";

const char *edit_op_name(enum edit_op op)
{
    static const char *const names[] = {
        [EDIT_ADD_SERVICE] = "--add-service", [EDIT_EDIT_SERVICE] = "--edit-service",
        [EDIT_DEL_SERVICE] = "--delete-service", [EDIT_ADD_SERVER] = "--add-server",
        [EDIT_EDIT_SERVER] = "--edit-server", [EDIT_DEL_SERVER] = "--delete-server",
    };
    return (unsigned)op < sizeof names / sizeof names[0] ? names[op] : "?";
}

static bool op_is_service(enum edit_op op)
{
    return op == EDIT_ADD_SERVICE || op == EDIT_EDIT_SERVICE || op == EDIT_DEL_SERVICE;
}

/* "TCP 198.51.100.10:80", for messages. */
static const char *svc_str(uint8_t proto, const struct endpoint *vip, char *buf, size_t len)
{
    char ep[ENDPOINT_STRLEN];
    snprintf(buf, len, "%s %s", proto == IPPROTO_TCP ? "TCP" : "UDP", endpoint_str(vip->addr, vip->port, ep));
    return buf;
}

static const struct edit_opt *find_long(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof edit_opts / sizeof edit_opts[0]; i++)
        if (strlen(edit_opts[i].name) == len && strncmp(edit_opts[i].name, name, len) == 0)
            return &edit_opts[i];
    return NULL;
}

static const struct edit_opt *find_short(char c)
{
    for (size_t i = 0; i < sizeof edit_opts / sizeof edit_opts[0]; i++)
        if (edit_opts[i].letter == c)
            return &edit_opts[i];
    return NULL;
}

/* What edit_parse collects before it checks the combination (-t/-u are kept by collect_words). */
struct edit_words {
    int op; /* enum edit_op, or -1 */
    const char *op_word;
    const char *service, *rs, *sched, *sched_flags, *persist, *mask, *weight, *u_threshold, *l_threshold;
    bool ops, masq;
};

static bool take_value(const struct edit_opt *o, const char **slot, const char *val, char *err, size_t errlen)
{
    if (*slot)
        return textout_error(err, errlen, "--%s: given twice ('%s' and '%s')", o->name, *slot, val);
    *slot = val;
    return true;
}

static bool collect(const struct edit_opt *o, const char *word, const char *val, struct edit_words *w, char *err,
                    size_t errlen)
{
    const char *letter = strchr(op_letters, o->letter);
    if (letter) {
        if (w->op >= 0)
            return textout_error(err, errlen, "'%s': only one of -A -E -D -a -e -d per edit (already '%s')", word,
                        w->op_word);
        w->op = (int)(letter - op_letters);
        w->op_word = word;
        return true;
    }
    switch (o->letter) {
    case 's':
        return take_value(o, &w->sched, val, err, errlen);
    case 'b':
        return take_value(o, &w->sched_flags, val, err, errlen);
    case 'p':
        return take_value(o, &w->persist, val, err, errlen);
    case 'M':
        return take_value(o, &w->mask, val, err, errlen);
    case 'r':
        return take_value(o, &w->rs, val, err, errlen);
    case 'w':
        return take_value(o, &w->weight, val, err, errlen);
    case 'x':
        return take_value(o, &w->u_threshold, val, err, errlen);
    case 'y':
        return take_value(o, &w->l_threshold, val, err, errlen);
    case 'o':
        w->ops = true;
        return true;
    case 'm':
        w->masq = true;
        return true;
    case 'g':
        return textout_error(err, errlen, "--gatewaying (%s): rawlb forwards by NAT only (-m, masquerading); direct routing is "
                    "not supported", word);
    default: /* 'i' */
        return textout_error(err, errlen, "--ipip (%s): rawlb forwards by NAT only (-m, masquerading); tunnelling is not "
                    "supported", word);
    }
}

/* The option words into w. Values are pointers into argv. */
static bool collect_words(int argc, char **argv, struct edit_words *w, uint8_t *proto, char *err, size_t errlen)
{
    for (int i = 0; i < argc; i++) {
        const char *word = argv[i], *val = NULL;
        const struct edit_opt *o;
        bool attached = false;

        if (word[0] != '-' || word[1] == '\0')
            return textout_error(err, errlen, "unexpected argument '%s' (every value follows its flag)", word);
        if (word[1] == '-') {
            const char *eq = strchr(word + 2, '=');
            size_t len = eq ? (size_t)(eq - word - 2) : strlen(word + 2);
            o = find_long(word + 2, len);
            if (!o)
                return textout_error(err, errlen, "unknown option '%.*s'", (int)len + 2, word);
            if (eq) {
                if (o->arg == ARG_NONE)
                    return textout_error(err, errlen, "option '--%s' does not take a value ('%s')", o->name, word);
                val = eq + 1;
                attached = true;
            }
        } else {
            o = find_short(word[1]);
            if (!o)
                return textout_error(err, errlen, "unknown option '%s'", word);
            if (word[2]) {
                if (o->arg == ARG_NONE)
                    return textout_error(err, errlen, "unknown option '%s' (in '%s')", (char[]){'-', word[1], '\0'}, word);
                val = word + 2;
                attached = true;
            }
        }
        if (!attached && o->arg == ARG_REQUIRED) {
            if (i + 1 >= argc)
                return textout_error(err, errlen, "option '%s' needs a value", word);
            val = argv[++i];
        }
        if (o->letter == 't' || o->letter == 'u') {
            if (!w->service)
                *proto = o->letter == 't' ? IPPROTO_TCP : IPPROTO_UDP;
            else
                return textout_error(err, errlen, "--%s: one service per edit ('%s' after '%s')", o->name, val, w->service);
            w->service = val;
            continue;
        }
        if (!collect(o, word, val, w, err, errlen))
            return false;
    }
    return true;
}

static bool parse_weight(const char *s, int *weight, char *err, size_t errlen)
{
    unsigned long v;
    if (!addr_parse_uint(s, 0, RAWLB_WEIGHT_MAX, &v))
        return textout_error(err, errlen, "--weight: '%s' is %s 0..%d", s,
                    addr_uint_problem(s), RAWLB_WEIGHT_MAX);
    *weight = (int)v;
    return true;
}

/* -r ADDR:PORT, or ADDR alone for the service's port. */
static bool parse_rs(const char *s, struct edit_cmd *cmd, char *err, size_t errlen)
{
    char why[RAWLB_ERRLEN];
    if (strchr(s, ':')) {
        if (!addr_parse_endpoint(s, &cmd->rs, why, sizeof why))
            return textout_error(err, errlen, "--real-server: %s%s", why,
                        strchr(strchr(s, ':') + 1, ':') ? " (give the weight with -w)" : "");
        cmd->rs_port_given = true;
        return true;
    }
    if (!addr_parse_host(s, &cmd->rs.addr, why, sizeof why))
        return textout_error(err, errlen, "--real-server: %s", why);
    cmd->rs.port = cmd->vip.port;
    return true;
}

bool edit_parse(int argc, char **argv, struct edit_cmd *cmd, char *err, size_t errlen)
{
    struct edit_words w = {.op = -1};
    char why[RAWLB_ERRLEN], name[64];
    uint8_t proto = 0;

    memset(cmd, 0, sizeof *cmd);
    if (errlen)
        err[0] = '\0';
    if (!collect_words(argc, argv, &w, &proto, err, errlen))
        return false;
    if (w.op < 0)
        return textout_error(err, errlen, "no edit given: one of -A -E -D (services) or -a -e -d (real servers)");
    cmd->op = (enum edit_op)w.op;
    const char *op = edit_op_name(cmd->op);
    bool service_op = op_is_service(cmd->op);

    if (!w.service)
        return textout_error(err, errlen, "%s needs a service: -t|--tcp-service or -u|--udp-service VIP:PORT", op);
    cmd->proto = proto;
    if (!addr_parse_endpoint(w.service, &cmd->vip, why, sizeof why))
        return textout_error(err, errlen, "--%s: %s", proto == IPPROTO_TCP ? "tcp-service" : "udp-service", why);
    svc_str(cmd->proto, &cmd->vip, name, sizeof name);

    /* Options that do not go with this operation. */
    static const struct {
        char letter;
        const char *allowed;
    } scope[] = {{'s', "-A or -E"}, {'b', "-A or -E"}, {'p', "-A or -E"}, {'M', "-A or -E"}, {'o', "-A or -E"},
                 {'r', "-a, -e or -d"}, {'w', "-a or -e"}, {'m', "-a or -e"}, {'x', "-a or -e"}, {'y', "-a or -e"}};
    bool given[] = {w.sched, w.sched_flags, w.persist, w.mask,        w.ops,
                    w.rs,    w.weight,      w.masq,    w.u_threshold, w.l_threshold};
    for (size_t i = 0; i < sizeof scope / sizeof scope[0]; i++) {
        bool ok = scope[i].letter == 'r'   ? !service_op
                  : strchr("wmxy", scope[i].letter)
                      ? cmd->op == EDIT_ADD_SERVER || cmd->op == EDIT_EDIT_SERVER
                      : cmd->op == EDIT_ADD_SERVICE || cmd->op == EDIT_EDIT_SERVICE;
        if (given[i] && !ok)
            return textout_error(err, errlen, "--%s: only with %s, not %s", find_short(scope[i].letter)->name,
                        scope[i].allowed, op);
    }

    if (w.sched) {
        if (!sched_find(w.sched))
            return textout_error(err, errlen, "--scheduler: unknown scheduler '%s' (known: %s)", w.sched, sched_names());
        snprintf(cmd->sched, sizeof cmd->sched, "%s", w.sched);
        cmd->has_sched = true;
    }
    if (w.sched_flags) {
        if (!sched_flags_parse(w.sched_flags, &cmd->sched_flags, why, sizeof why))
            return textout_error(err, errlen, "--sched-flags: %s in '%s'", why, w.sched_flags);
        cmd->has_sched_flags = true;
        /* With its -s the pair is known here; alone it is checked against the service's. */
        if (cmd->has_sched && !sched_flags_fit(sched_find(cmd->sched), cmd->sched_flags, why, sizeof why))
            return textout_error(err, errlen, "--sched-flags: %s (%s)", why, name);
    }
    if (w.persist) {
        unsigned long v;
        unsigned long min = cmd->op == EDIT_EDIT_SERVICE ? 0 : 1;
        if (w.persist[0] == '-') /* the next option's word, taken for the value */
            return textout_error(err, errlen, "--persistent " RAWLB_PERSIST_NEEDS_VALUE " (not '%s')", w.persist);
        if (!addr_parse_uint(w.persist, min, PERSIST_MAX, &v))
            return textout_error(err, errlen, "--persistent: '%s' is not a number of seconds %lu..%lu%s", w.persist, min,
                        PERSIST_MAX, min ? "" : " (0 ends persistence)");
        cmd->persist_timeout = (uint32_t)v;
        cmd->has_persist = true;
    }
    if (w.mask) {
        if (!addr_parse_netmask(w.mask, &cmd->persist_mask, why, sizeof why))
            return textout_error(err, errlen, "--netmask: %s", why);
        cmd->has_mask = true;
        if (cmd->op == EDIT_ADD_SERVICE && !cmd->has_persist)
            return textout_error(err, errlen, "--netmask: only meaningful with --persistent, which %s does not have", name);
        if (cmd->has_persist && cmd->persist_timeout == 0)
            return textout_error(err, errlen, "--netmask: only meaningful with --persistent, which -p 0 ends for %s", name);
    }
    if (w.ops) {
        if (cmd->proto != IPPROTO_UDP)
            return textout_error(err, errlen, "--ops: one-packet scheduling is for UDP services only, not %s", name);
        cmd->has_ops = true;
    }
    if (!service_op) {
        if (!w.rs)
            return textout_error(err, errlen, "%s needs a real server: -r|--real-server ADDR:PORT", op);
        if (!parse_rs(w.rs, cmd, err, errlen))
            return false;
    }
    if (w.weight) {
        if (!parse_weight(w.weight, &cmd->weight, err, errlen))
            return false;
        cmd->has_weight = true;
    }
    if (w.u_threshold) {
        if (!config_parse_threshold('x', w.u_threshold, &cmd->u_threshold, err, errlen))
            return false;
        cmd->has_u_threshold = true;
    }
    if (w.l_threshold) {
        if (!config_parse_threshold('y', w.l_threshold, &cmd->l_threshold, err, errlen))
            return false;
        cmd->has_l_threshold = true;
    }
    /* Both given: the pair is known here, so rawlb-ctl refuses it without a round trip. */
    if (cmd->has_u_threshold && cmd->has_l_threshold) {
        char who[128], ep[ENDPOINT_STRLEN];
        struct rs_config pair = {.u_threshold = cmd->u_threshold, .l_threshold = cmd->l_threshold};
        snprintf(who, sizeof who, "real server %s of %s", endpoint_str(cmd->rs.addr, cmd->rs.port, ep), name);
        if (!config_check_thresholds(&pair, who, err, errlen))
            return false;
    }
    return true;
}

static int find_service(const struct rawlb_config *cfg, uint8_t proto, const struct endpoint *vip)
{
    for (unsigned i = 0; i < cfg->n_services; i++) {
        const struct service_config *sc = &cfg->services[i];
        if (sc->proto == proto && sc->vip.addr == vip->addr && sc->vip.port == vip->port)
            return (int)i;
    }
    return -1;
}

static int find_rs(const struct service_config *sc, const struct endpoint *ep)
{
    for (unsigned i = 0; i < sc->n_rs; i++)
        if (sc->rs[i].ep.addr == ep->addr && sc->rs[i].ep.port == ep->port)
            return (int)i;
    return -1;
}

/* A new service as config.c makes one when no default was given before the first service. */
static void new_service(struct service_config *sc, const struct edit_cmd *cmd)
{
    memset(sc, 0, sizeof *sc);
    sc->proto = cmd->proto;
    sc->vip = cmd->vip;
    snprintf(sc->scheduler, sizeof sc->scheduler, "%s", "wlc");
    sc->persist_mask = 0xffffffffu;
    sc->check = config_check_defaults();
    sc->check.kind = cmd->proto == IPPROTO_TCP ? CHECK_TCP : CHECK_NONE;
}

static bool apply_service_options(struct service_config *sc, const struct edit_cmd *cmd, const char *name,
                                  char *err, size_t errlen)
{
    char why[RAWLB_ERRLEN];
    if (cmd->has_sched) {
        snprintf(sc->scheduler, sizeof sc->scheduler, "%s", cmd->sched);
        sc->sched_flags = 0; /* -b goes with -s, as at start (config.c) */
    }
    if (cmd->has_sched_flags)
        sc->sched_flags = cmd->sched_flags;
    if (!sched_flags_fit(sched_find(sc->scheduler), sc->sched_flags, why, sizeof why))
        return textout_error(err, errlen, "--sched-flags: %s (%s)", why, name);
    if (cmd->has_persist) {
        sc->persist_timeout = cmd->persist_timeout;
        if (!sc->persist_timeout)
            sc->persist_mask = 0xffffffffu; /* what config.c gives a service without -p */
    }
    if (cmd->has_mask) {
        if (!sc->persist_timeout)
            return textout_error(err, errlen, "--netmask: only meaningful with --persistent, which %s does not have", name);
        sc->persist_mask = cmd->persist_mask;
    }
    if (cmd->has_ops)
        sc->one_packet = true;
    return true;
}

static bool apply(struct rawlb_config *cfg, const struct edit_cmd *cmd, char *err, size_t errlen)
{
    char name[64], ep[ENDPOINT_STRLEN];
    const char *op = edit_op_name(cmd->op);
    int si = find_service(cfg, cmd->proto, &cmd->vip);
    svc_str(cmd->proto, &cmd->vip, name, sizeof name);

    if (errlen)
        err[0] = '\0';
    if (cmd->op == EDIT_ADD_SERVICE) {
        if (si >= 0)
            return textout_error(err, errlen, "%s: service %s exists already (change it with -E)", op, name);
        if (cfg->n_services >= RAWLB_MAX_SERVICES)
            return textout_error(err, errlen, "%s: %s is one service too many (at most %d)", op, name, RAWLB_MAX_SERVICES);
        struct service_config *sc = &cfg->services[cfg->n_services];
        new_service(sc, cmd);
        if (!apply_service_options(sc, cmd, name, err, errlen))
            return false;
        cfg->n_services++;
        return true;
    }
    if (si < 0)
        return textout_error(err, errlen, "%s: no service %s", op, name);
    struct service_config *sc = &cfg->services[si];

    switch (cmd->op) {
    case EDIT_EDIT_SERVICE:
        return apply_service_options(sc, cmd, name, err, errlen);
    case EDIT_DEL_SERVICE:
        memmove(sc, sc + 1, (cfg->n_services - (unsigned)si - 1) * sizeof *sc);
        cfg->n_services--;
        return true;
    default:
        break;
    }

    /* Real servers. */
    struct endpoint rs_ep = cmd->rs;
    if (!cmd->rs_port_given)
        rs_ep.port = cmd->vip.port;
    endpoint_str(rs_ep.addr, rs_ep.port, ep);
    int ri = find_rs(sc, &rs_ep);
    char who[128];
    snprintf(who, sizeof who, "real server %s of %s", ep, name);
    if (cmd->op == EDIT_ADD_SERVER) {
        if (ri >= 0)
            return textout_error(err, errlen, "%s: %s is already a real server of %s (change it with -e)", op, ep, name);
        if (sc->check.has_sorry && sc->check.sorry.addr == rs_ep.addr && sc->check.sorry.port == rs_ep.port)
            return textout_error(err, errlen, "%s: %s is the sorry server of %s", op, ep, name);
        if (sc->n_rs >= RAWLB_MAX_RS_PER_SERVICE)
            return textout_error(err, errlen, "%s: %s is one real server too many for %s (at most %d)", op, ep, name,
                        RAWLB_MAX_RS_PER_SERVICE);
        struct rs_config *rs = &sc->rs[sc->n_rs];
        *rs = (struct rs_config){.ep = rs_ep, .weight = cmd->has_weight ? cmd->weight : 1,
                                 .u_threshold = cmd->u_threshold, .l_threshold = cmd->l_threshold};
        if (!config_check_thresholds(rs, who, err, errlen))
            return false;
        sc->n_rs++;
        return true;
    }
    if (ri < 0)
        return textout_error(err, errlen, "%s: %s is not a real server of %s", op, ep, name);
    if (cmd->op == EDIT_EDIT_SERVER) {
        struct rs_config *rs = &sc->rs[ri];
        if (cmd->has_weight)
            rs->weight = cmd->weight;
        if (cmd->has_u_threshold)
            rs->u_threshold = cmd->u_threshold;
        if (cmd->has_l_threshold)
            rs->l_threshold = cmd->l_threshold;
        return config_check_thresholds(rs, who, err, errlen);
    }
    /* EDIT_DEL_SERVER: the service may be left with none, as in ipvsadm. */
    memmove(&sc->rs[ri], &sc->rs[ri + 1], (sc->n_rs - (unsigned)ri - 1) * sizeof sc->rs[0]);
    sc->n_rs--;
    return true;
}

/* The result must pass the checks a start does (setupcheck.h): an edit cannot make a set-up
 * the daemon would have refused to start with. */
bool edit_apply(struct rawlb_config *cfg, const struct edit_cmd *cmd, char *err, size_t errlen)
{
    char why[RAWLB_ERRLEN * 2];
    if (!apply(cfg, cmd, err, errlen))
        return false;
    if (setupcheck_config(cfg, why, sizeof why))
        return true;
    return textout_error(err, errlen, "%s: %s", edit_op_name(cmd->op), why);
}
