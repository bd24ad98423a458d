/* iflock: one rawlb per interface and network namespace. Two daemons on the same interfaces
 * would both answer ARP for the VIPs, both take the frames and both rewrite them, whatever
 * --ctl and --pidfile they were given. So each interface is locked by binding an abstract unix
 * socket named "rawlb-if-IFINDEX": the kernel keeps abstract names per network namespace (the
 * scope an ifindex has: directors in other namespaces of one host are not affected) and drops
 * the name when the process dies, so no stale lock is ever left. Taken at start, before anything
 * on the interfaces is touched and before privileges are dropped; held for the daemon's life.
 * The socket listens so that a refused start can connect and name the holder's pid
 * (SO_PEERCRED); the holder accepts and closes such connections at once. */
#ifndef RAWLB_IFLOCK_H
#define RAWLB_IFLOCK_H

#include <stdbool.h>
#include <stddef.h>

#include <ev.h>

#define IFLOCK_MAX 2 /* -e and -i */
#define IFLOCK_PREFIX "rawlb-if-"

struct iflock {
    unsigned n;          /* locks held */
    int fd[IFLOCK_MAX];
    ev_io io[IFLOCK_MAX]; /* accepts a refused start's connection, to close it */
    struct ev_loop *loop; /* NULL until iflock_watch */
};

/* Locks the interfaces names[i] (given by flags[i], e.g. "-e/--ext-if", for the message).
 * False with a message naming the flag, the interface and, when it can be learnt, the pid of
 * the daemon holding it; what was taken stays in l for iflock_release. */
bool iflock_take(struct iflock *l, const char *const flags[], const char *const names[], unsigned n, char *err,
                 size_t errlen);
/* Starts accepting on the locks (once the loop exists). */
void iflock_watch(struct iflock *l, struct ev_loop *loop);
void iflock_release(struct iflock *l);

#endif
