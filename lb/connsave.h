/* connsave: the connection tables kept across a planned restart. On SIGTERM the daemon writes
 * every live entry, by address and port (connrec.h), to a file in its state directory; the next
 * start with the same services reads it back before the workers take their first frame, each
 * entry's remaining lifetime cut by the downtime, so established flows go on where they were
 * (their clients saw a pause of the restart's length; TCP retransmits through it). The file is
 * removed once read: a later start never restores an old table.
 * File: "RAWLBCT1", the wall-clock millisecond of the save (8 bytes, big-endian), then chunks of
 * a 4-byte big-endian length and an HA sync message body of records (hamsg.h: the same codec
 * as the HA connection sync), templates before the entries they control. */
#ifndef RAWLB_CONNSAVE_H
#define RAWLB_CONNSAVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "connrec.h"
#include "service.h"

#define CONNSAVE_FILE "conntable"

struct connsave_result {
    uint64_t saved_ms;   /* when the table was written (wall clock) */
    uint32_t restored;   /* entries imported */
    uint32_t expired;    /* lifetime gone during the downtime */
    uint32_t unknown;    /* service or real server no longer configured */
    uint32_t refused;    /* already there, or the table full */
};

/* The file is CONNSAVE_FILE in the state directory open as dir_fd (statedir.h); dir is its
 * path, for messages. */

/* Writes the live entries of tables[0..n) (through a temporary file, synced and renamed over
 * the old one); *written is how many. Entries rawlb dropped (CONN_F_RESET) are left out: the
 * caller finishes the reap walks first (fastpath_reap_some), so that dropped flows are never
 * restored. False with a message. */
bool connsave_write(int dir_fd, const char *dir, struct conn_table *const *tables, unsigned n, uint64_t wall_ms,
                    uint32_t *written, char *err, size_t errlen);

/* Reads the file if it exists, imports its entries and removes it; *found says whether there
 * was one. False with a message for a file that cannot be read or is damaged (what came before
 * the damage is imported). */
bool connsave_restore(int dir_fd, const char *dir, const struct service_table *services, connrec_table_fn table_of,
                      void *arg, uint64_t wall_ms, bool *found, struct connsave_result *res, char *err, size_t errlen);

#endif
