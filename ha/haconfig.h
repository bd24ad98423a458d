/* haconfig: the high-availability flags (--ha-*, --state-dir), their own option table and
 * checks, plugged into the daemon's parser (config.c) the way keepalived installs a module's
 * keywords: config.c knows only that these options exist, not what they mean.
 * The key file is read here, at parse time, because it is a value like any other: a missing,
 * short, long or group/other-readable key is a usage error (exit 2) naming --ha-key. */
#ifndef RAWLB_HACONFIG_H
#define RAWLB_HACONFIG_H

#include <getopt.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hamsg.h"

#define HA_MAX_LINKS 4      /* --ha-if/--ha-peer pairs */
#define HA_MAX_TRACK 4      /* --ha-track interfaces */
#define HA_DEFAULT_PORT 539 /* piranha's pulse */
#define HA_DEFAULT_INTERVAL_MS 2000
#define HA_DEFAULT_DEADTIME_MS 5000
#define HA_DEFAULT_STATE_DIR "/var/lib/rawlb"
#define HA_PATH_MAX 256
#define HA_NOTIFY_MAX 512

struct ha_config {
    bool enabled; /* --ha-role given */
    enum ha_role role;
    unsigned n_ifs, n_peers;
    char ifs[HA_MAX_LINKS][IF_NAMESIZE]; /* "" for every link when no --ha-if: the peer is on -e */
    uint32_t peers[HA_MAX_LINKS];        /* network order */
    uint16_t port;
    uint32_t interval_ms, deadtime_ms;
    char key_file[HA_PATH_MAX];
    struct ha_key key;
    unsigned n_track; /* 0: the two balancing interfaces */
    char track[HA_MAX_TRACK][IF_NAMESIZE];
    char notify[HA_NOTIFY_MAX];
    char state_dir[HA_PATH_MAX];
};

/* The options, for getopt_long (terminated by a zero entry); their values do not collide with
 * config.c's. */
#define HACONFIG_N_OPTIONS 10
extern const struct option haconfig_options[HACONFIG_N_OPTIONS + 1];

void haconfig_defaults(struct ha_config *h);
/* One option of haconfig_options with its value; false with a message naming the flag. */
bool haconfig_set(struct ha_config *h, int opt, const char *val, char *err, size_t errlen);
/* Once every flag is read: pairs, ranges, what needs --ha-role. */
bool haconfig_check(struct ha_config *h, char *err, size_t errlen);
/* True when a and b say the same in every --ha-* flag (--state-dir aside): a running daemon
 * cannot take a change to any of them (rawlb-ctl reload refuses it). */
bool haconfig_same(const struct ha_config *a, const struct ha_config *b);
/* The interfaces --ha-track watches (the given ones, or ext and int). */
unsigned haconfig_tracked(const struct ha_config *h, const char *ext_if, const char *int_if,
                          const char *names[HA_MAX_TRACK + 2]);
void haconfig_usage(FILE *out);

#endif
