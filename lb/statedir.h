/* statedir: --state-dir (default /var/lib/rawlb), the one directory rawlb writes while it
 * runs: the connection table saved at a planned stop (connsave.h), HA's node id and epochs
 * (ha.c). Made if missing (mode 0700), owned by the user the daemon runs as (privdrop.h), and
 * opened once before the privilege drop: every file in it is reached through that descriptor
 * (openat, renameat, unlinkat), so that user needs no access to the directories above it. */
#ifndef RAWLB_STATEDIR_H
#define RAWLB_STATEDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The directory's descriptor (O_DIRECTORY, close-on-exec), or -1 with a message. A symbolic
 * link in its place is refused (root must not be led to chown something else). */
int statedir_open(const char *path, uid_t owner, gid_t group, char *err, size_t errlen);

#endif
