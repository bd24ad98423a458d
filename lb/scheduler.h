/* scheduler: the scheduler interface and registry. Each scheduler lives in its own file
 * (sched_rr.c, sched_wrr.c, sched_lc.c, sched_wlc.c, sched_sh.c, sched_mh.c) and exports one
 * const ops table; sched_find() looks them up by the name given to -s. (IPVS ip_vs_sched.c)
 * The scheduler flags (-b|--sched-flags, ipvsadm's) are named here too: each belongs to one
 * scheduler, which reads it from svc->sched_flags.
 * Not named sched.h: lb/ is on the include path, and that name would shadow the system's
 * <sched.h>, which <pthread.h> includes. */
#ifndef RAWLB_SCHEDULER_H
#define RAWLB_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "service.h"

/* -b flags, one bit per name (struct service_config.sched_flags, struct service.sched_flags). */
enum {
    SCHED_FLAG_MH_FALLBACK = 1u << 0, /* mh: a flow whose server is not up goes to the next choice */
    SCHED_FLAG_MH_PORT = 1u << 1,     /* mh: hash the client's port with its address */
};
/* The longest sched_flags_str: every name and a comma after each. */
#define SCHED_FLAGS_STRLEN 32

struct sched_ops {
    const char *name;
    unsigned flags; /* the SCHED_FLAG_ bits it takes */
    /* Control path, when a service is created. Allocates svc->sched_data if it needs state.
     * Returns false on allocation failure. May be NULL. */
    bool (*init)(struct service *svc);
    /* Control path, when a service goes away. May be NULL. */
    void (*done)(struct service *svc);
    /* Control path, after weights or availability changed; fast path, through service_schedule
     * under its lock, after a server's overload (-x) changed. May be NULL. */
    void (*update)(struct service *svc);
    /* Fast path, through service_schedule (one worker at a time per service, as IPVS's
     * sched_lock): picks a real server for a new flow from client caddr:cport (network order;
     * cport 0 without ports). Only the hashing schedulers look at the client; only mh with
     * mh-port at its port. Returns its index in svc->rs, or -1 when no server is schedulable.
     * Never NULL. */
    int (*schedule)(struct service *svc, uint32_t caddr, uint16_t cport);
};

/* The done of a scheduler whose state is one malloc'd block in svc->sched_data. */
void sched_free_data(struct service *svc);

extern const struct sched_ops sched_rr_ops, sched_wrr_ops, sched_lc_ops, sched_wlc_ops, sched_sh_ops, sched_mh_ops;

/* NULL for an unknown name. */
const struct sched_ops *sched_find(const char *name);
/* Space-separated list of names, for messages and --help. */
const char *sched_names(void);

/* -b FLAGS as typed (a comma list) into *flags; false with why (a clause naming the word) for an
 * unknown or empty flag, and for ipvsadm's sh-port and sh-fallback, which rawlb's sh does not
 * take. */
bool sched_flags_parse(const char *list, unsigned *flags, char *why, size_t whylen);
/* Whether ops takes every flag in flags; false with why naming the first it does not take. */
bool sched_flags_fit(const struct sched_ops *ops, unsigned flags, char *why, size_t whylen);
/* flags as -b spells them ("mh-fallback,mh-port", ipvsadm's order), "" for none; buf holds
 * SCHED_FLAGS_STRLEN. */
const char *sched_flags_str(unsigned flags, char *buf);

/* mh's lookup table (sched_mh.c): its size, and the index in svc->rs of the server owning slot,
 * -1 when no server has slots. For tests, which compare tables slot by slot. */
#define SCHED_MH_TAB_SIZE 65537u
int sched_mh_owner(const struct service *svc, uint32_t slot);

/* Greatest common divisor of two weights (wrr's step, mh's turns per round); gcd(a, 0) = a. */
static inline uint64_t sched_gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* IPVS's cost of a server for the least-connection family: active*256 + inactive
 * (ip_vs_dest_conn_overhead). */
static inline uint64_t sched_conn_overhead(const struct real_server *rs)
{
    /* Other workers move these counters while we read them (fastpath.h). */
    uint64_t active = __atomic_load_n(&rs->active, __ATOMIC_RELAXED);
    return (active << 8) + __atomic_load_n(&rs->inactive, __ATOMIC_RELAXED);
}

#endif
