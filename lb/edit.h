/* edit: runtime changes to the set-up in ipvsadm's own syntax (rawlb-ctl -A -E -D -a -e -d).
 *   -A|-E -t|-u VIP:PORT [-s SCHED] [-b FLAGS] [-p [SEC]] [-M MASK] [-o]
 *   -D    -t|-u VIP:PORT
 *   -a|-e -t|-u VIP:PORT -r ADDR[:PORT] [-w WEIGHT] [-x UPPER] [-y LOWER] [-m]
 *   -d    -t|-u VIP:PORT -r ADDR[:PORT]
 * edit_parse turns the words into a struct edit_cmd (rawlb-ctl runs it before sending, the
 * daemon again on what it receives, so both refuse the same input with the same words);
 * edit_apply makes the change on a copy of the running struct rawlb_config, with the rules
 * config.c applies at start. Both are pure: nothing is printed, nothing touches the daemon.
 * -p needs its value, as at start: a difference from ipvsadm, whose -p alone means 360 s and
 * whose next word may or may not be that value (RAWLB_PERSIST_NEEDS_VALUE). Differences from the
 * start-up flags, as in ipvsadm: -E changes only what it is given (-E -p 0 ends persistence;
 * -b goes with -s as at start: -E -s without -b leaves no flags, -E -b alone keeps the
 * scheduler and must fit it), a service may be left
 * with no real servers, and -A gives a new service the built-in health-check defaults (the
 * defaults given before the first service at start are not remembered in the config). The
 * connection limits -x/-y are a real server's, as in ipvsadm: -a gives 0 (no limit) for what is
 * not given, -e changes only what it is given; -A/-E take none (a service keeps no limits of
 * its own once its servers have theirs). */
#ifndef RAWLB_EDIT_H
#define RAWLB_EDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define EDIT_MAX_ARGS 32

enum edit_op {
    EDIT_ADD_SERVICE,  /* -A */
    EDIT_EDIT_SERVICE, /* -E */
    EDIT_DEL_SERVICE,  /* -D */
    EDIT_ADD_SERVER,   /* -a */
    EDIT_EDIT_SERVER,  /* -e */
    EDIT_DEL_SERVER,   /* -d */
};

struct edit_cmd {
    enum edit_op op;
    uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
    struct endpoint vip;
    /* Service options (-A -E); the has_ flags say what was given. */
    bool has_sched, has_sched_flags, has_persist, has_mask, has_ops;
    char sched[RAWLB_SCHED_NAMELEN];
    unsigned sched_flags; /* SCHED_FLAG_ bits (scheduler.h) */
    uint32_t persist_timeout; /* 0 only with -E: persistence off */
    uint32_t persist_mask;    /* network order */
    /* Real server options (-a -e -d). */
    struct endpoint rs;
    bool rs_port_given; /* -r ADDR without a port: the service's port (ipvsadm) */
    bool has_weight;
    int weight;
    bool has_u_threshold, has_l_threshold;
    uint32_t u_threshold, l_threshold; /* -x -y */
};

/* argv[0] is the first option (no program name). False with a message naming the flag and
 * the value when the words are not a valid edit. */
bool edit_parse(int argc, char **argv, struct edit_cmd *cmd, char *err, size_t errlen);
/* Applies cmd to cfg (a copy of the running configuration). On error cfg may be partly
 * changed: apply to a copy and throw it away. */
bool edit_apply(struct rawlb_config *cfg, const struct edit_cmd *cmd, char *err, size_t errlen);
/* The option word of an operation, for messages: "--add-service" ... */
const char *edit_op_name(enum edit_op op);

#endif
