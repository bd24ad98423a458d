/* probe_udp: --check udp --send STRING --expect STRING. A connected UDP socket sends the string;
 * the first datagram back is the answer, good when --expect is empty or the datagram contains it.
 * An ICMP port unreachable comes back as ECONNREFUSED on the connected socket: "port
 * unreachable". Silence runs into the probe's timeout. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "probe.h"

static bool udp_connected(struct probe *p, char *why, size_t len)
{
    const char *s = p->cfg->send;
    if (send(p->fd, s, strlen(s), 0) < 0) {
        if (errno == ECONNREFUSED)
            snprintf(why, len, "port unreachable");
        else
            probe_strerror(errno, why, len);
        return false;
    }
    return true;
}

static int udp_readable(struct probe *p, char *why, size_t len)
{
    ssize_t n = recv(p->fd, p->buf, PROBE_BUF, 0);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return 0;
        if (errno == ECONNREFUSED)
            snprintf(why, len, "port unreachable");
        else
            probe_strerror(errno, why, len);
        return -1;
    }
    p->got = (size_t)n;
    p->buf[p->got] = '\0';
    const char *expect = p->cfg->expect;
    if (expect[0] && !memmem(p->buf, p->got, expect, strlen(expect))) {
        snprintf(why, len, "no '%s' in reply", expect);
        return -1;
    }
    return 1;
}

const struct probe_ops probe_udp_ops = {
    .name = "udp",
    .socktype = SOCK_DGRAM,
    .connected = udp_connected,
    .readable = udp_readable,
};
