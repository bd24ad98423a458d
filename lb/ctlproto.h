/* ctlproto: what travels over the control socket between rawlb-ctl and the daemon.
 * A request is one text line of words ("list --stats\n"); the daemon answers with text and
 * closes; a refusal is one line starting with "error: ". Parsing the request and rendering
 * every answer live here, apart from the socket code, so they are unit-tested and shared by
 * rawlb-ctl (which checks what it sends with the same parser) and the daemon: ctlproto.c parses
 * and refuses, ctlrender.c answers list and conns, ctlsave.c renders save (-S) and its sections.
 *   list [--health] [--stats|--rate|--thresholds] [--json]   services and real servers (ipvsadm -L -n)
 *   conns [--json] [--service tcp|udp:VIP:PORT] [--client ADDR]   connections (ipvsadm -L -n -c)
 *   zero                                          counters back to zero (ipvsadm -Z)     -> "ok"
 *   save                                          the running set-up as a rawlb command line (-S)
 *   edit -A|-E|-D|-a|-e|-d ...                     an ipvsadm-style edit (edit.h)          -> "ok"
 *   status [--json]                               high availability: role, peer, sync (ha.h)
 *   ha takeover|release                           switch the master role on purpose
 *   reload rawlb FLAGS...                         a whole rawlb command line (quoted as save prints
 *                                                 it): its services and timeouts applied (reload.h)
 *   watch                                         a BGP announcer's (rawlb-announce): the connection
 *                                                 stays open, fed the VIPs' eligibility (annproto.h) */
#ifndef RAWLB_CTLPROTO_H
#define RAWLB_CTLPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "conn.h"
#include "edit.h"
#include "service.h"

#define CTL_REQUEST_MAX 65536 /* a longer request is refused, never cut */
#define CTL_MAX_WORDS 40
#define CTL_REQ_LIST "list"
#define CTL_REQ_LIST_HEALTH "list --health"
#define CTL_REQ_CONNS "conns"
#define CTL_REQ_ZERO "zero"
#define CTL_REQ_SAVE "save"
#define CTL_REQ_EDIT "edit"
#define CTL_REQ_STATUS "status"
#define CTL_REQ_HA "ha"
#define CTL_REQ_RELOAD "reload"
#define CTL_REQ_WATCH "watch"
#define CTL_ANSWER_OK "ok\n"

/* What list --health adds to a real server's line, from the daemon's health checking. */
struct ctl_rs_health {
    const char *state; /* up, down, re-entering, quiesced, sorry */
    uint32_t since_s;  /* in that state */
    const char *last;  /* the last probe's result */
};
/* Fills h for a real server (rs may be the sorry server's index); false when it is not checked. */
typedef bool (*ctl_health_fn)(void *arg, unsigned svc, unsigned rs, struct ctl_rs_health *h);

struct ctl_list_opts {
    ctl_health_fn health; /* non-NULL: State, Since and Last columns (and "health" in JSON) */
    void *health_arg;
    bool stats; /* Conns InPkts OutPkts InBytes OutBytes in place of Weight ActiveConn InActConn */
    bool rate;  /* CPS InPPS OutPPS InBPS OutBPS, likewise */
    bool thresholds; /* Uthreshold Lthreshold ActiveConn InActConn Overloaded (ipvsadm --thresholds) */
    bool json;  /* one JSON object with everything; stats and rate are always in it */
};

struct ctl_conn_filter {
    bool by_service; /* entries of this service (templates of all-port persistence on its VIP too) */
    uint8_t proto;
    struct endpoint vip;
    bool by_client; /* entries of this client (templates covering it through their netmask too) */
    uint32_t client;
};

enum ctl_verb {
    CTL_LIST, CTL_CONNS, CTL_ZERO, CTL_SAVE, CTL_EDIT, CTL_STATUS, CTL_HA_TAKEOVER, CTL_HA_RELEASE, CTL_RELOAD,
    CTL_WATCH
};
#define CTL_VERB_COUNT (CTL_WATCH + 1) /* CTL_WATCH is the last verb */

struct ctl_request {
    enum ctl_verb verb;
    bool health; /* list --health: the daemon fills list.health */
    struct ctl_list_opts list;
    struct ctl_conn_filter filter; /* conns */
    bool json;                     /* conns --json, status --json */
    struct edit_cmd edit;
    const char *reload_line; /* reload: the command line, within the request line parsed */
};

/* Splits line (modified in place) at spaces and tabs into at most max words; -1 if more. */
int ctlproto_split(char *line, char **words, int max);
/* One request line into req; false with a message (without "error: ") when it is not valid. */
bool ctlproto_parse_request(const char *line, struct ctl_request *req, char *err, size_t errlen);
/* "tcp:VIP:PORT" or "udp:VIP:PORT" (the service of --service), case-insensitive protocol. */
bool ctlproto_parse_service(const char *s, uint8_t *proto, struct endpoint *vip, char *err, size_t errlen);

/* Each renderer returns the length written and never overruns buf; cut text ends after the
 * last whole line that fitted. */

/* "error: MSG\n". */
size_t ctlproto_render_error(const char *msg, char *buf, size_t len);
/* The table in ipvsadm -L -n layout (--stats, --rate and --thresholds as ipvsadm's, with exact
 * numbers, as -n --exact; --thresholds adds whether each server is overloaded now); with
 * opts->health the State, Since and Last columns are added. The sorry server is
 * listed while it is in use. JSON that does not fit becomes an error line. */
size_t ctlproto_render_list(const struct service_table *t, uint32_t max_conns, const struct ctl_list_opts *opts,
                            char *buf, size_t len);
struct textout;
/* list --json's object itself (no newline after it), written into o: the web page's
 * /status.json (statusjson.h) embeds it as it is. */
void ctlproto_render_list_json(struct textout *o, const struct service_table *t, uint32_t max_conns,
                               const struct ctl_list_opts *opts);
/* The connection tables (one per worker) as ipvsadm -L -n -c shows them (expire mm:ss left at
 * second now; persistence templates with state NONE), rendered in parts so that no call walks a
 * whole table: the daemon renders one part per turn of its loop as the client reads (control.h).
 * The tables change between parts (conn_walk_some): an entry made meanwhile behind the walk is
 * not shown, and a flow that ended and came again ahead of it may be shown twice. The whole
 * answer is at most limit bytes: when it is full a last line (JSON: "left_out") says how many
 * more entries there were. */
struct ctl_conns_listing {
    struct service_table *services;
    struct conn_table *const *tables;
    unsigned n_tables;
    uint32_t now;
    struct ctl_conn_filter filter;
    bool json;
    size_t limit;
    bool started;        /* the header is out */
    unsigned table;      /* the walk: the table and pool index it goes on from */
    uint32_t cursor;
    size_t sent;         /* bytes rendered so far */
    uint64_t shown, left_out;
};
/* Pool slots a part of the daemon's listing walks: about a millisecond with 1,048,576 entries
 * (tools/walk-bench.c, BENCHMARKS.md "Walks"). */
#define CTL_CONNS_PART_SLOTS 16384
/* f may be NULL (every entry). tables must outlive the listing. */
void ctlproto_conns_begin(struct ctl_conns_listing *l, struct service_table *t, struct conn_table *const *tables,
                          unsigned n_tables, uint32_t now, const struct ctl_conn_filter *f, bool json, size_t limit);
/* The next part into buf (len bytes, at least a few hundred): whole lines (JSON: whole
 * entries), from at most budget pool slots; *done once the closing line is in it. */
size_t ctlproto_conns_part(struct ctl_conns_listing *l, uint32_t budget, char *buf, size_t len, bool *done);
/* A filter naming a service that does not exist is a mistake (a typo in its address), not a
 * service without flows: its error line into buf, or 0 when f is fine (NULL too). */
size_t ctlproto_conns_refuse(const struct service_table *t, const struct ctl_conn_filter *f, char *buf, size_t len);
/* The whole listing at once into buf, limited to len (tests and offline drivers). */
size_t ctlproto_render_conns(struct service_table *t, struct conn_table *const *tables, unsigned n_tables,
                             uint32_t now, const struct ctl_conn_filter *f, bool json, char *buf, size_t len);
/* The configuration as one rawlb command line that gives the same list (options only where
 * they differ from the defaults), whatever edits left: no service, a service without real
 * servers (rawlb starts with those too). */
size_t ctlproto_render_save(const struct rawlb_config *cfg, char *buf, size_t len);
/* One section of that command line, without the per-host flags: the globals (svc -1) or
 * service svc. Both directors of a pair must render the same text for every section (HA
 * compares digests of it, with_ha: the --ha-* flags the two share included; the configuration
 * HA pushes to the peer leaves them out, since a running daemon cannot change them). 0 when it
 * does not fit. */
size_t ctlproto_render_section(const struct rawlb_config *cfg, int svc, bool with_ha, char *buf, size_t len);

#endif
