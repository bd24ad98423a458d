/* haconfig: see haconfig.h. */
#include "haconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "textout.h"

#define HA_INTERVAL_MIN_MS 100
#define HA_INTERVAL_MAX_MS 60000
#define HA_DEADTIME_MAX_MS 600000
#define HA_KEY_PERM_OTHERS 077 /* any group or other permission bit */

enum {
    OPT_HA_ROLE = 512, /* above config.c's values */
    OPT_HA_IF,
    OPT_HA_PEER,
    OPT_HA_PORT,
    OPT_HA_INTERVAL,
    OPT_HA_DEADTIME,
    OPT_HA_KEY,
    OPT_HA_TRACK,
    OPT_HA_NOTIFY,
    OPT_STATE_DIR,
};

const struct option haconfig_options[HACONFIG_N_OPTIONS + 1] = {
    {"ha-role", required_argument, NULL, OPT_HA_ROLE},
    {"ha-if", required_argument, NULL, OPT_HA_IF},
    {"ha-peer", required_argument, NULL, OPT_HA_PEER},
    {"ha-port", required_argument, NULL, OPT_HA_PORT},
    {"ha-interval", required_argument, NULL, OPT_HA_INTERVAL},
    {"ha-deadtime", required_argument, NULL, OPT_HA_DEADTIME},
    {"ha-key", required_argument, NULL, OPT_HA_KEY},
    {"ha-track", required_argument, NULL, OPT_HA_TRACK},
    {"ha-notify", required_argument, NULL, OPT_HA_NOTIFY},
    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
    {NULL, 0, NULL, 0},
};

void haconfig_defaults(struct ha_config *h)
{
    memset(h, 0, sizeof *h);
    h->port = HA_DEFAULT_PORT;
    h->interval_ms = HA_DEFAULT_INTERVAL_MS;
    h->deadtime_ms = HA_DEFAULT_DEADTIME_MS;
    snprintf(h->state_dir, sizeof h->state_dir, "%s", HA_DEFAULT_STATE_DIR);
}

/* The secret is the file's bytes less one trailing newline; only its owner may read it. */
static bool read_key(struct ha_config *h, const char *path, char *err, size_t errlen)
{
    /* O_NONBLOCK: a FIFO given as the key must be refused below, not wait for a writer. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return textout_error(err, errlen, "--ha-key: cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    uint8_t buf[HA_KEY_MAX + 2];
    ssize_t n = -1;
    bool ok = false;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        textout_error(err, errlen, "--ha-key: '%s' is not a regular file", path);
    else if (st.st_mode & HA_KEY_PERM_OTHERS)
        textout_error(err, errlen, "--ha-key: '%s' has mode %04o: the key must be readable by its owner only (chmod 600 %s)",
             path, (unsigned)(st.st_mode & 07777), path);
    else if ((n = read(fd, buf, sizeof buf)) < 0)
        textout_error(err, errlen, "--ha-key: cannot read '%s': %s", path, strerror(errno));
    else
        ok = true;
    close(fd);
    if (!ok)
        return false;
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    if (n < HA_KEY_MIN || n > HA_KEY_MAX)
        return textout_error(err, errlen, "--ha-key: the key in '%s' is %s bytes long (want %d..%d, less one trailing newline)",
                    path, n > HA_KEY_MAX ? "more than 64" : "fewer than 16", HA_KEY_MIN, HA_KEY_MAX);
    memcpy(h->key.bytes, buf, (size_t)n);
    h->key.len = (size_t)n;
    snprintf(h->key_file, sizeof h->key_file, "%s", path);
    return true;
}

static bool set_seconds(uint32_t *dst, const char *name, const char *val, uint32_t max_ms, char *err,
                        size_t errlen)
{
    uint64_t ms;
    if (!addr_parse_seconds_ms(val, &ms))
        return textout_error(err, errlen, "--%s: '%s' is not a number of seconds (up to 3 decimals, e.g. 2 or 0.5)", name, val);
    if (ms < HA_INTERVAL_MIN_MS || ms > max_ms)
        return textout_error(err, errlen, "--%s: '%s' is out of range %g..%g seconds", name, val, HA_INTERVAL_MIN_MS / 1000.0,
                    max_ms / 1000.0);
    *dst = (uint32_t)ms;
    return true;
}

static bool set_path(char *dst, size_t size, const char *name, const char *val, char *err, size_t errlen)
{
    if (*val == '\0')
        return textout_error(err, errlen, "--%s: empty value", name);
    if (strlen(val) >= size)
        return textout_error(err, errlen, "--%s: '%s' is too long (at most %zu bytes)", name, val, size - 1);
    strcpy(dst, val);
    return true;
}

static bool add_ifname(char (*list)[IF_NAMESIZE], unsigned *n, unsigned max, const char *name, const char *val,
                       char *err, size_t errlen)
{
    char why[RAWLB_ERRLEN];
    if (*n == max)
        return textout_error(err, errlen, "--%s: '%s' is one too many (at most %u)", name, val, max);
    if (!addr_parse_ifname(val, list[*n], why, sizeof why))
        return textout_error(err, errlen, "--%s: %s", name, why);
    (*n)++;
    return true;
}

bool haconfig_set(struct ha_config *h, int opt, const char *val, char *err, size_t errlen)
{
    char why[RAWLB_ERRLEN];
    unsigned long v;
    switch (opt) {
    case OPT_HA_ROLE:
        if (strcmp(val, "primary") != 0 && strcmp(val, "backup") != 0)
            return textout_error(err, errlen, "--ha-role: '%s' is neither primary nor backup", val);
        h->enabled = true;
        h->role = val[0] == 'p' ? HA_ROLE_PRIMARY : HA_ROLE_BACKUP;
        return true;
    case OPT_HA_IF:
        return add_ifname(h->ifs, &h->n_ifs, HA_MAX_LINKS, "ha-if", val, err, errlen);
    case OPT_HA_PEER:
        if (h->n_peers == HA_MAX_LINKS)
            return textout_error(err, errlen, "--ha-peer: '%s' is one too many (at most %d)", val, HA_MAX_LINKS);
        if (!addr_parse_host(val, &h->peers[h->n_peers], why, sizeof why))
            return textout_error(err, errlen, "--ha-peer: %s", why);
        h->n_peers++;
        return true;
    case OPT_HA_PORT:
        if (!addr_parse_uint(val, 1, 65535, &v))
            return textout_error(err, errlen, "--ha-port: '%s' is %s 1..65535", val, addr_uint_problem(val));
        h->port = (uint16_t)v;
        return true;
    case OPT_HA_INTERVAL:
        return set_seconds(&h->interval_ms, "ha-interval", val, HA_INTERVAL_MAX_MS, err, errlen);
    case OPT_HA_DEADTIME:
        return set_seconds(&h->deadtime_ms, "ha-deadtime", val, HA_DEADTIME_MAX_MS, err, errlen);
    case OPT_HA_KEY:
        return read_key(h, val, err, errlen);
    case OPT_HA_TRACK:
        return add_ifname(h->track, &h->n_track, HA_MAX_TRACK, "ha-track", val, err, errlen);
    case OPT_HA_NOTIFY:
        return set_path(h->notify, sizeof h->notify, "ha-notify", val, err, errlen);
    case OPT_STATE_DIR:
        return set_path(h->state_dir, sizeof h->state_dir, "state-dir", val, err, errlen);
    default:
        return textout_error(err, errlen, "unknown high-availability option %d", opt);
    }
}

/* The first --ha-* flag given, for "needs --ha-role" messages; NULL when none. */
static const char *first_ha_flag(const struct ha_config *h)
{
    if (h->n_peers) return "--ha-peer";
    if (h->n_ifs) return "--ha-if";
    if (h->port != HA_DEFAULT_PORT) return "--ha-port";
    if (h->interval_ms != HA_DEFAULT_INTERVAL_MS) return "--ha-interval";
    if (h->deadtime_ms != HA_DEFAULT_DEADTIME_MS) return "--ha-deadtime";
    if (h->key.len) return "--ha-key";
    if (h->n_track) return "--ha-track";
    if (h->notify[0]) return "--ha-notify";
    return NULL;
}

bool haconfig_check(struct ha_config *h, char *err, size_t errlen)
{
    if (!h->enabled) {
        const char *flag = first_ha_flag(h);
        return flag ? textout_error(err, errlen, "%s: only meaningful with --ha-role primary|backup", flag) : true;
    }
    if (h->n_peers == 0)
        return textout_error(err, errlen, "--ha-role: needs --ha-peer ADDR (the other director)");
    if (h->n_ifs && h->n_ifs != h->n_peers)
        return textout_error(err, errlen, "--ha-if: %u given for %u --ha-peer (each --ha-if pairs with one --ha-peer)",
                    h->n_ifs, h->n_peers);
    if (!h->key.len)
        return textout_error(err, errlen, "--ha-role: needs --ha-key FILE (heartbeats are authenticated)");
    if (h->deadtime_ms <= h->interval_ms)
        return textout_error(err, errlen, "--ha-deadtime: %g s is not longer than --ha-interval %g s", h->deadtime_ms / 1000.0,
                    h->interval_ms / 1000.0);
    return true;
}

unsigned haconfig_tracked(const struct ha_config *h, const char *ext_if, const char *int_if,
                          const char *names[HA_MAX_TRACK + 2])
{
    if (!h->n_track) {
        names[0] = ext_if;
        names[1] = int_if;
        return 2;
    }
    for (unsigned i = 0; i < h->n_track; i++)
        names[i] = h->track[i];
    return h->n_track;
}

void haconfig_usage(FILE *out)
{
    fprintf(out,
            "\n"
            "high availability (a primary and a backup director, same flags but role and peer):\n"
            "      --ha-role primary|backup  run as one of two directors; the master owns the VIPs\n"
            "      --ha-peer ADDR            the other director (repeatable, one per link)\n"
            "      --ha-if IF                the link to the n-th --ha-peer (default: --ext-if)\n"
            "      --ha-port N               heartbeat and sync UDP port (default %d)\n"
            "      --ha-interval SEC         between heartbeats (default %g)\n"
            "      --ha-deadtime SEC         peer silent this long on every link: dead (default %g)\n"
            "      --ha-key FILE             shared secret, %d-%d bytes, mode 0600 (required)\n"
            "      --ha-track IF             give up the master role when IF loses carrier\n"
            "                                (repeatable; default both balancing interfaces)\n"
            "      --ha-notify CMD           run CMD STATE at every transition (master, backup, fault)\n"
            "      --state-dir DIR           where HA's epochs are kept, and the connection table\n"
            "                                across a restart (default %s)\n",
            HA_DEFAULT_PORT, HA_DEFAULT_INTERVAL_MS / 1000.0, HA_DEFAULT_DEADTIME_MS / 1000.0, HA_KEY_MIN, HA_KEY_MAX,
            HA_DEFAULT_STATE_DIR);
}

bool haconfig_same(const struct ha_config *a, const struct ha_config *b)
{
    if (a->enabled != b->enabled || a->role != b->role || a->n_ifs != b->n_ifs || a->n_peers != b->n_peers ||
        a->port != b->port || a->interval_ms != b->interval_ms || a->deadtime_ms != b->deadtime_ms ||
        a->n_track != b->n_track || strcmp(a->key_file, b->key_file) != 0 || a->key.len != b->key.len ||
        memcmp(a->key.bytes, b->key.bytes, a->key.len) != 0 || strcmp(a->notify, b->notify) != 0)
        return false;
    for (unsigned i = 0; i < a->n_ifs; i++)
        if (strcmp(a->ifs[i], b->ifs[i]) != 0)
            return false;
    for (unsigned i = 0; i < a->n_peers; i++)
        if (a->peers[i] != b->peers[i])
            return false;
    for (unsigned i = 0; i < a->n_track; i++)
        if (strcmp(a->track[i], b->track[i]) != 0)
            return false;
    return true;
}
