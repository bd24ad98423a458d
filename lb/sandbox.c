/* sandbox: see sandbox.h. The list is what the daemon calls after start-up, found by running the
 * whole e2e suite (workers, health checks of every kind, edits, metrics, HA, a restart) against a
 * build whose filter only logs (-DRAWLB_SECCOMP_LOG: the kernel logs each call outside the list)
 * and by strace -f of a running daemon; each group says who needs it. */
#include "sandbox.h"

#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#ifdef RAWLB_SECCOMP_LOG
#define SANDBOX_DEFAULT SCMP_ACT_LOG
#define SANDBOX_MODE "log"
#else
#define SANDBOX_DEFAULT SCMP_ACT_KILL_PROCESS
#define SANDBOX_MODE "kill"
#endif

static const char *const allowed[] = {
    /* descriptors: the packet, control, HA, metrics and probe sockets, eventfds, --state-dir */
    "read", "write", "readv", "writev", "close", "fcntl", "fstat", "newfstatat", "lseek", "ioctl",
    "openat", "unlinkat", "renameat", "rename", "unlink", "fsync",
    /* the loops: libev (epoll), libmicrohttpd's thread (poll), the workers */
    "epoll_wait", "epoll_pwait", "epoll_ctl", "poll", "ppoll",
    /* sockets: accept (control, metrics), health probes, HA, the fast path's batches */
    "accept", "accept4", "connect", "bind", "shutdown", "getsockopt", "setsockopt", "getsockname", "getpeername",
    "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
    /* memory and threads (glibc, libev, libmicrohttpd) */
    "mmap", "munmap", "mremap", "mprotect", "madvise", "brk", "futex", "clone", "clone3", "set_robust_list",
    "rseq", "sched_yield", "gettid", "getpid",
    "sched_getaffinity", /* glibc's malloc sizing its arenas as a thread first allocates */
    /* time, randomness (health's DNS ids, HA), signals (libev's SIGTERM/SIGINT, thread masks) */
    "clock_gettime", "clock_nanosleep", "nanosleep", "gettimeofday", "getrandom", "rt_sigaction",
    "rt_sigprocmask", "rt_sigreturn", "tgkill",
    /* the end: the helper reaped, threads and the process exit */
    "wait4", "kill", "exit", "exit_group",
};

/* socket(): only what is made at runtime: the health probes' (TCP, UDP over IPv4), and the
 * route netlink socket of getifaddrs (a service added by an edit: its VIP must not be a kernel
 * address, host.h). */
#define ANY_PROTOCOL (-1)
static const struct {
    int family, protocol;
} sockets[] = { { AF_INET, ANY_PROTOCOL }, { AF_NETLINK, NETLINK_ROUTE } };

const char *sandbox_mode(void)
{
    return SANDBOX_MODE;
}

static bool add(scmp_filter_ctx ctx, const char *name, char *err, size_t errlen)
{
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR)
        return true; /* not on this architecture */
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
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
        ok = add(ctx, allowed[i], err, errlen);
    for (size_t i = 0; ok && i < sizeof sockets / sizeof sockets[0]; i++) {
        struct scmp_arg_cmp family = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)sockets[i].family);
        struct scmp_arg_cmp protocol = SCMP_A2(SCMP_CMP_EQ, (scmp_datum_t)sockets[i].protocol);
        int rc = sockets[i].protocol == ANY_PROTOCOL
                     ? seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, family)
                     : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2, family, protocol);
        if (rc != 0) {
            snprintf(err, errlen, "seccomp: cannot allow socket(%d): %s", sockets[i].family, strerror(-rc));
            ok = false;
        }
    }
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
