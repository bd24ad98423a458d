/* sandbox: see sandbox.h. The list is what the daemon calls after start-up, found by running the
 * whole e2e suite (workers, health checks of every kind, edits, metrics, HA, a restart) against a
 * build whose filter only logs (-DRAWLB_SECCOMP_LOG: the kernel logs each call outside the list)
 * and by strace -f of a running daemon; each group says who needs it. */
#include "sandbox.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/sched.h> /* CLONE_THREAD (<sched.h> is shadowed by lb/sched.h) */
#include <linux/sockios.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#ifdef RAWLB_SECCOMP_LOG
#define SANDBOX_DEFAULT SCMP_ACT_LOG
#define SANDBOX_MODE "log"
#else
#define SANDBOX_DEFAULT SCMP_ACT_KILL_PROCESS
#define SANDBOX_MODE "kill"
#endif

/* Allowed whatever their arguments. Where an architecture calls it differently (aarch64 has no
 * epoll_wait or poll), both spellings are listed; names the architecture lacks are skipped. */
static const char *const allowed[] = {
    /* descriptors: the packet, control, HA, metrics and probe sockets, stderr, --state-dir
     * (openat, fsync, renameat, unlinkat); unlink: the pid file and control socket, which fails
     * after the drop (the helper removes them) */
    "read", "write", "close", "fcntl", "newfstatat", "lseek", "openat", "fsync", "renameat",
    "renameat2", "unlinkat", "unlink",
    /* the loops: libev (epoll), libmicrohttpd's thread (poll) */
    "epoll_wait", "epoll_pwait", "epoll_ctl", "poll", "ppoll",
    /* sockets: accept (control, metrics), health probes, HA, the fast path's batches, libnet */
    "accept4", "connect", "bind", "shutdown", "getsockopt", "setsockopt", "getsockname", "sendto", "recvfrom",
    "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
    /* memory and threads (glibc, libev, libmicrohttpd); sched_getaffinity: glibc's malloc sizing
     * its arenas as a thread first allocates */
    "mmap", "munmap", "mremap", "mprotect", "madvise", "brk", "futex", "clone3", "set_robust_list", "rseq",
    "sched_getaffinity",
    /* time, randomness (DNS probes' ids), signals (libev's SIGTERM/SIGINT, thread masks) */
    "clock_gettime", "clock_nanosleep", "getrandom", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
    /* the end: the helper reaped (killed if wedged), threads and the process exit; abort() */
    "wait4", "kill", "exit", "exit_group", "getpid", "gettid", "tgkill",
    /* sd_notify looks at its own credentials before each message to the service manager */
    "getuid", "geteuid", "getgid", "getegid",
};

/* Allowed only with these arguments (each rule: all of its comparisons hold). */
#define RULE_CMPS_MAX 2
static const struct {
    const char *name;
    unsigned n;
    struct scmp_arg_cmp cmp[RULE_CMPS_MAX];
} conditional[] = {
    /* the health probes' sockets (TCP, UDP over IPv4), libnet's lookup socket */
    { "socket", 1, { { .arg = 0, .op = SCMP_CMP_EQ, .datum_a = AF_INET } } },
    /* sd_notify's datagram to the service manager (svcnotify.h) */
    { "socket", 1, { { .arg = 0, .op = SCMP_CMP_EQ, .datum_a = AF_UNIX } } },
    /* getifaddrs: a service added by an edit, whose VIP must not be a kernel address (host.h) */
    { "socket", 2,
      { { .arg = 0, .op = SCMP_CMP_EQ, .datum_a = AF_NETLINK },
        { .arg = 2, .op = SCMP_CMP_EQ, .datum_a = NETLINK_ROUTE } } },
    /* libnet looks the interface up for every ARP frame it sends */
    { "ioctl", 1, { { .arg = 1, .op = SCMP_CMP_EQ, .datum_a = SIOCGIFHWADDR } } },
    { "ioctl", 1, { { .arg = 1, .op = SCMP_CMP_EQ, .datum_a = SIOCGIFINDEX } } },
    /* glibc's threads when clone3 is missing (kernels before 5.3); never a new process */
    { "clone", 1, { { .arg = 0, .op = SCMP_CMP_MASKED_EQ, .datum_a = CLONE_THREAD, .datum_b = CLONE_THREAD } } },
};

const char *sandbox_mode(void)
{
    return SANDBOX_MODE;
}

/* One rule for the call NAME (n comparisons of its arguments, 0: any). */
static bool add(scmp_filter_ctx ctx, const char *name, unsigned n, const struct scmp_arg_cmp *cmp, char *err,
                size_t errlen)
{
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR)
        return true; /* not on this architecture */
    int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, n, cmp);
    if (rc == 0)
        return true;
    snprintf(err, errlen, "seccomp: cannot allow %s: %s", name, strerror(-rc));
    return false;
}

bool sandbox_load(char *err, size_t errlen)
{
    scmp_filter_ctx ctx = seccomp_init(SANDBOX_DEFAULT);
    if (!ctx) {
        snprintf(err, errlen, "seccomp: cannot make a filter");
        return false;
    }
    bool ok = true;
    for (size_t i = 0; ok && i < sizeof allowed / sizeof allowed[0]; i++)
        ok = add(ctx, allowed[i], 0, NULL, err, errlen);
    for (size_t i = 0; ok && i < sizeof conditional / sizeof conditional[0]; i++)
        ok = add(ctx, conditional[i].name, conditional[i].n, conditional[i].cmp, err, errlen);
    if (ok) {
        int rc = seccomp_load(ctx);
        if (rc != 0) {
            snprintf(err, errlen, "seccomp: cannot load the filter: %s", strerror(-rc));
            ok = false;
        }
    }
    seccomp_release(ctx);
    return ok;
}
