/* privdrop: who the daemon runs as once everything it needs is open (--user, --ctl-group).
 * Started as root, it becomes --user (default "nobody"): supplementary groups of that user,
 * its group, its uid; then, whoever it runs as, no capability at all (effective, permitted,
 * inheritable, ambient) and PR_SET_NO_NEW_PRIVS, which every thread started later inherits.
 * The result is read back (ids, capget, the no-new-privs flag) and anything short of it
 * refused: the daemon does not run half-dropped. `--user root` is the operator's escape hatch:
 * uid 0 and its capabilities stay (the seccomp filter still applies). Started as another user,
 * no change of user is attempted (that user's capabilities, e.g. file capabilities, are still
 * cleared). Names are resolved before anything is opened, so a wrong one is a usage error. */
#ifndef RAWLB_PRIVDROP_H
#define RAWLB_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"

#define PRIVDROP_DEFAULT_USER "nobody"

struct privdrop {
    bool change_user; /* started as root and --user is not root */
    bool keep_root;   /* --user root */
    uid_t uid;        /* who the daemon runs as after the drop */
    gid_t gid;
    char user[RAWLB_ACCOUNT_MAX];
    bool has_ctl_group; /* --ctl-group: the control socket's group */
    gid_t ctl_gid;
};

/* Resolves --user (empty: the default) and --ctl-group (empty: none) for this process.
 * False with a message naming the flag for a user or group that does not exist. */
bool privdrop_resolve(struct privdrop *p, const char *user, const char *ctl_group, char *err, size_t errlen);
/* Drops to p and verifies it (see above). Call after every descriptor is open and before any
 * thread starts. False with a message; the caller must not go on. */
bool privdrop_apply(const struct privdrop *p, char *err, size_t errlen);

#endif
