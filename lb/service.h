/* service: the virtual services and their real servers as the fast path sees them, with the
 * counters rawlb-ctl shows. Built from struct rawlb_config at start; later edits (ctl, health)
 * go through the functions here so schedulers are told about every change.
 * Connection entries refer to services and real servers by slot (slots.h): the indexes here move
 * at every edit, a slot does not. Anything that leaves the process names them by address and port. */
#ifndef RAWLB_SERVICE_H
#define RAWLB_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "slots.h"

struct sched_ops;

struct rs_stats {
    uint64_t conns;
    uint64_t in_pkts, out_pkts;
    uint64_t in_bytes, out_bytes;
};

struct real_server {
    struct endpoint ep;
    uint16_t slot;       /* the server slot its connection entries name (in its service's slot) */
    int weight;          /* in effect (an agent may scale it); 0 = quiesced: keeps its flows, gets no new ones */
    int config_weight;   /* as configured; what agent percentages apply to */
    bool available;      /* false while health checks hold it out of the schedule */
    bool pending;        /* held out only because its first probe has not passed yet (health.h;
                          * its agent did not say down): mh counts it as up (sched_mh.c) */
    bool resolved;       /* its MAC is known: frames for it can be sent (service_table_resolve) */
    uint32_t active;     /* ActiveConn: entries in ESTABLISHED */
    uint32_t inactive;   /* InActConn: every other state (UDP entries included, as in IPVS) */
    uint32_t persistent; /* persistence templates pointing here */
    uint32_t u_threshold; /* -x: overloaded at this many active + inactive; 0 = no limit */
    uint32_t l_threshold; /* -y: out of overload below this many; 0 = below 3/4 of u_threshold */
    bool overloaded;      /* u_threshold reached: no new connections (service_schedule keeps it) */
    struct rs_stats stats;
    struct rs_stats rate;      /* per second over the last rate interval: CPS InPPS OutPPS InBPS OutBPS */
    struct rs_stats rate_base; /* stats when that interval began */
};

struct service {
    uint8_t proto;
    uint16_t slot; /* the service slot its connection entries name */
    struct endpoint vip;
    const struct sched_ops *sched;
    unsigned sched_flags; /* -b: SCHED_FLAG_ bits of sched (scheduler.h) */
    void *sched_data; /* owned by sched; NULL for schedulers without state */
    uint32_t persist_timeout;
    uint32_t persist_mask;
    bool one_packet;
    unsigned n_rs;
    /* rs[n_rs] is the sorry server when has_sorry: outside what schedulers see, picked by the
     * fast path only while sorry_active (every real server held out by health). */
    struct real_server rs[RAWLB_MAX_RS_PER_SERVICE + 1];
    bool has_sorry;
    bool sorry_active;
    bool has_threshold; /* some real server has a u_threshold: service_schedule looks at the counts */
    struct rs_stats stats;
    bool sched_busy; /* service_schedule's lock: scheduler state (rr position) is per service */
};

/* Every real server (and sorry server) of the table by proto, address and port, sorted by key:
 * each stateless reply looks its server up here, and a linear walk over up to 64 services of 65
 * servers each would cost thousands of compares per packet. One entry per endpoint; shared when
 * several services have it (whose reply it is cannot be told then). Built with the table
 * (service_table_init), whose endpoints never change afterwards: edits build a new table. */
#define SERVICE_MAX_SERVERS (RAWLB_MAX_SERVICES * (RAWLB_MAX_RS_PER_SERVICE + 1))
struct server_ref {
    uint64_t key; /* server_key(proto, addr, port) */
    uint8_t svc, rs;
    bool shared;
};

struct service_table {
    unsigned n;
    struct service svc[RAWLB_MAX_SERVICES];
    struct slot_table slots; /* outlives the table's rebuilds: reconfig carries it over */
    unsigned n_servers;
    struct server_ref servers[SERVICE_MAX_SERVERS];
};

/* Builds the table from a validated config; false with a message when a scheduler fails to
 * initialise (out of memory). */
bool service_table_init(struct service_table *t, const struct rawlb_config *cfg, char *err, size_t errlen);
void service_table_free(struct service_table *t);

/* Fast path: service for a destination, or -1. Linear over a handful of services. */
int service_find(const struct service_table *t, uint8_t proto, uint32_t vip, uint16_t vport);
/* A real server of svc by address and port (as in struct endpoint): its index, the sorry server's (n_rs) when that matches, or -1. For what
 * names servers by address and port: edits, HA's sync. */
int service_find_rs(const struct service *svc, const struct endpoint *ep);
/* Fast path (stateless replies): the one service of proto with a real server (or sorry server)
 * at addr:port, and that server's index in *rs; -1 when none has it or several do (whose reply
 * it is cannot be told then). A binary search of the table's servers. */
int service_find_by_server(const struct service_table *t, uint8_t proto, uint32_t addr, uint16_t port, unsigned *rs);
/* Fast path: the address is a VIP of some service (ARP, ICMP echo). */
bool service_is_vip(const struct service_table *t, uint32_t addr);

/* A real server is in the schedule: weight > 0, not held out by health, and its MAC known (a
 * flow scheduled to a server rawlb cannot send to yet loses its first packet, and the client
 * waits a second for its retransmission). What schedulers build their state from. */
static inline bool rs_in_schedule(const struct real_server *rs)
{
    return rs->weight > 0 && rs->available && rs->resolved;
}
/* ... and may take a new connection now: not overloaded (-x; service_schedule decides that and
 * tells the scheduler when it changes, as weight and health changes are told). */
static inline bool rs_schedulable(const struct real_server *rs)
{
    return rs_in_schedule(rs) && !rs->overloaded;
}

/* Timer: per-second rates of every real server from its counters' growth over elapsed_ms
 * (ipvsadm --rate). */
void service_update_rates(struct service_table *t, uint64_t elapsed_ms);
/* Control (rawlb-ctl -Z): counters and rates of every service and real server back to zero. */
void service_zero_stats(struct service_table *t);

/* Control (rawlb-ctl): change a weight and tell the scheduler. Out-of-range indexes are
 * ignored; the scheduler hears only of real changes. */
void service_set_weight(struct service *svc, unsigned rs_index, int weight);
/* Health (checker timer callbacks): put a real server in or out of the schedule and tell the
 * scheduler. Same rules as service_set_weight. The sorry server comes into use when the last
 * real server goes out, and out of use when one comes back. */
void service_set_available(struct service *svc, unsigned rs_index, bool available);
/* Health: whether a server held out is so only because its first probe has not passed yet
 * (real_server.pending). Same rules as service_set_weight. */
void service_set_pending(struct service *svc, unsigned rs_index, bool pending);
/* The neighbour table's word (the daemon: at start and after every edit for every real server,
 * addr 0; for the real servers at addr whenever its entry is learnt or forgotten): their
 * resolved flag becomes known(arg, their address), and the scheduler of each service where one
 * changed is told. A table is built with every server resolved, so what has no neighbour table
 * (tests, rawlb-pcap) schedules on weights and health alone. */
void service_table_resolve(struct service_table *t, uint32_t addr, bool (*known)(void *arg, uint32_t addr),
                           void *arg);
/* Health (a server declared dead, without --quiesce): its connection entries are dropped. The
 * server goes on under a fresh slot and the one its entries name is retired (slots.h): the fast
 * path answers them as dropped from now on, each worker's reap walk marks them over the next
 * ticks, and ActiveConn/InActConn/persistent start again from zero. *flows: the connections it
 * had. False, nothing dropped, when its service has no free slot (every spare one still names
 * entries of servers dropped or removed moments ago). */
bool service_drop_flows(struct service_table *t, unsigned svc, unsigned rs, uint32_t *flows);
/* The slot a connection entry names. */
static inline struct rs_slot *service_slot_of(struct service_table *t, uint16_t svc_slot, uint16_t rs_slot)
{
    return slots_server(&t->slots, svc_slot, rs_slot);
}
/* After availability was set directly (a new table inheriting an old one's): recompute
 * whether the sorry server is in use and tell the scheduler. */
void service_refresh(struct service *svc);
/* Whether rs is overloaded by its counts now (-x reached, or reached earlier and not yet back
 * below -y or 3/4 of -x): what service_schedule decides at the next pick, which is when the
 * overloaded flag changes. For listings, which should not wait for a pick to show a server full. */
bool service_rs_overloaded(const struct real_server *rs);
/* service_schedule's answer when no server was picked only because every one in the schedule
 * is overloaded (-x): the fast path counts that refusal apart from "no server". */
#define SERVICE_SCHED_LIMIT (-2)
/* Fast path: the scheduler's pick for a new flow from caddr:cport, -1 when no server is in the
 * schedule, or SERVICE_SCHED_LIMIT. Workers schedule one at a time per service (a spin lock held
 * for one pick: IPVS's sched_lock), so round-robin positions and weighted state advance as with
 * one worker. In a service with thresholds every server's overload is decided under that lock
 * from its counts before the pick (the scheduler's update hook runs there when one changed), so
 * all workers see one flag: overloaded at u_threshold
 * connections, back below l_threshold (or 3/4 of u_threshold), as IPVS's ip_vs_bind_dest and
 * ip_vs_unbind_dest decide it when a connection comes and goes. A worker's new entry is counted
 * just after its pick, outside the lock, so each other worker picking in that instant may pass
 * the limit by one (IPVS binds after its sched_lock too). A table starts with no server
 * overloaded; an edit carries each kept server's flag over while it still has a limit. */
int service_schedule(struct service *svc, uint32_t caddr, uint16_t cport);

/* The index of the sorry server (n_rs), valid only when has_sorry. */
static inline unsigned service_sorry_index(const struct service *svc)
{
    return svc->n_rs;
}

#endif
