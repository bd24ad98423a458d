/* privdrop: see privdrop.h. */
#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ROOT_UID 0
#define CAP_WORDS _LINUX_CAPABILITY_U32S_3 /* version 3: two 32-bit words per set */

bool privdrop_resolve(struct privdrop *p, const char *user, const char *ctl_group, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    bool root = geteuid() == ROOT_UID;
    snprintf(p->user, sizeof p->user, "%s", user[0] ? user : PRIVDROP_DEFAULT_USER);
    struct passwd *pw = getpwnam(p->user);
    if (!pw) {
        snprintf(err, errlen, "--user: no user '%s' on this host%s", p->user,
                 user[0] ? "" : " (the default when started as root; name one with --user)");
        return false;
    }
    if (root && pw->pw_uid == ROOT_UID) {
        p->keep_root = true;
    } else if (root) {
        p->change_user = true;
    } else {
        pw = getpwuid(geteuid()); /* not root: no change of user, whatever --user says */
        snprintf(p->user, sizeof p->user, "%s", pw ? pw->pw_name : "?");
    }
    p->uid = p->change_user ? pw->pw_uid : geteuid();
    p->gid = p->change_user ? pw->pw_gid : getegid();
    if (ctl_group[0]) {
        struct group *gr = getgrnam(ctl_group);
        if (!gr) {
            snprintf(err, errlen, "--ctl-group: no group '%s' on this host", ctl_group);
            return false;
        }
        p->has_ctl_group = true;
        p->ctl_gid = gr->gr_gid;
    }
    return true;
}

static bool caps_read(struct __user_cap_data_struct data[CAP_WORDS])
{
    struct __user_cap_header_struct head = { .version = _LINUX_CAPABILITY_VERSION_3 };
    return syscall(SYS_capget, &head, data) == 0;
}

static bool caps_clear(void)
{
    struct __user_cap_header_struct head = { .version = _LINUX_CAPABILITY_VERSION_3 };
    struct __user_cap_data_struct none[CAP_WORDS] = { 0 };
    return syscall(SYS_capset, &head, none) == 0 &&
           prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == 0;
}

static bool change_user(const struct privdrop *p)
{
    /* Groups first: once the uid is not root, setgroups and setgid are refused. */
    return initgroups(p->user, p->gid) == 0 && setresgid(p->gid, p->gid, p->gid) == 0 &&
           setresuid(p->uid, p->uid, p->uid) == 0;
}

/* What privdrop_apply promises, read back from the kernel. */
static bool verify(const struct privdrop *p, char *err, size_t errlen)
{
    uid_t r, e, s;
    gid_t rg, eg, sg;
    struct __user_cap_data_struct caps[CAP_WORDS];
    if (getresuid(&r, &e, &s) != 0 || getresgid(&rg, &eg, &sg) != 0 || !caps_read(caps)) {
        snprintf(err, errlen, "cannot read back the ids or capabilities: %s", strerror(errno));
        return false;
    }
    if (p->change_user && (r != p->uid || e != p->uid || s != p->uid || rg != p->gid || eg != p->gid ||
                           sg != p->gid || setuid(ROOT_UID) == 0)) {
        snprintf(err, errlen, "still uid %u/%u/%u gid %u/%u/%u after becoming %s", r, e, s, rg, eg, sg, p->user);
        return false;
    }
    for (unsigned i = 0; i < CAP_WORDS && !p->keep_root; i++)
        if (caps[i].effective || caps[i].permitted || caps[i].inheritable) {
            snprintf(err, errlen, "capabilities left after the drop (word %u: effective %#x permitted %#x)", i,
                     caps[i].effective, caps[i].permitted);
            return false;
        }
    if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
        snprintf(err, errlen, "no_new_privs is not set");
        return false;
    }
    return true;
}

bool privdrop_apply(const struct privdrop *p, char *err, size_t errlen)
{
    char why[128];
    const char *step = NULL;
    if (p->change_user && !change_user(p))
        step = "change user";
    else if (!p->keep_root && !caps_clear())
        step = "clear the capabilities";
    else if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        step = "set no_new_privs";
    if (step) {
        snprintf(err, errlen, "dropping privileges to %s: cannot %s: %s", p->user, step, strerror(errno));
        return false;
    }
    if (!verify(p, why, sizeof why)) {
        snprintf(err, errlen, "dropping privileges to %s: %s", p->user, why);
        return false;
    }
    return true;
}
