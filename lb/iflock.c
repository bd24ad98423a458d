/* iflock: see iflock.h. */
#include "iflock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "host.h"

/* Refused starts waiting to be accepted; one more gets no pid in its message, nothing worse. */
#define IFLOCK_BACKLOG 8

/* The abstract address of ifindex's lock; returns its length. */
static socklen_t lock_addr(int ifindex, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    /* sun_path[0] stays '\0': an abstract name, not a file. */
    int len = snprintf(sa->sun_path + 1, sizeof sa->sun_path - 1, IFLOCK_PREFIX "%d", ifindex);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)len);
}

/* The pid of the process listening on the lock, or 0 when it cannot be learnt. */
static pid_t holder(const struct sockaddr_un *sa, socklen_t len)
{
    struct ucred cred = {0};
    socklen_t clen = sizeof cred;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return 0;
    if (connect(fd, (const struct sockaddr *)sa, len) != 0 ||
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0)
        cred.pid = 0;
    close(fd);
    return cred.pid;
}

static bool take_one(struct iflock *l, const char *flag, const char *name, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    int ifindex = host_ifindex(flag, name, err, errlen);
    if (!ifindex)
        return false;
    socklen_t len = lock_addr(ifindex, &sa);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return false;
    }
    if (bind(fd, (const struct sockaddr *)&sa, len) != 0) {
        int e = errno;
        close(fd);
        if (e != EADDRINUSE) {
            snprintf(err, errlen, "%s: cannot lock interface '%s': %s", flag, name, strerror(e));
            return false;
        }
        char pid[32] = "";
        pid_t p = holder(&sa, len);
        if (p > 0)
            snprintf(pid, sizeof pid, " (pid %ld)", (long)p);
        snprintf(err, errlen,
                 "%s: interface '%s' is in use by another rawlb%s in this network namespace: one daemon per "
                 "interface (stop it first, or give this one other interfaces)",
                 flag, name, pid);
        return false;
    }
    if (listen(fd, IFLOCK_BACKLOG) != 0) {
        snprintf(err, errlen, "%s: cannot lock interface '%s': listen: %s", flag, name, strerror(errno));
        close(fd);
        return false;
    }
    l->fd[l->n++] = fd;
    return true;
}

bool iflock_take(struct iflock *l, const char *const flags[], const char *const names[], unsigned n, char *err,
                 size_t errlen)
{
    for (unsigned i = 0; i < n && i < IFLOCK_MAX; i++)
        if (!take_one(l, flags[i], names[i], err, errlen))
            return false;
    return true;
}

/* A refused start asked who holds the lock: it has its answer (SO_PEERCRED), so close. */
static void refused_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    int fd;
    while ((fd = accept4(w->fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
        close(fd);
}

void iflock_watch(struct iflock *l, struct ev_loop *loop)
{
    l->loop = loop;
    for (unsigned i = 0; i < l->n; i++) {
        ev_io_init(&l->io[i], refused_cb, l->fd[i], EV_READ);
        ev_io_start(loop, &l->io[i]);
    }
}

void iflock_release(struct iflock *l)
{
    for (unsigned i = 0; i < l->n; i++) {
        if (l->loop)
            ev_io_stop(l->loop, &l->io[i]);
        close(l->fd[i]);
    }
    l->n = 0;
    l->loop = NULL;
}
