/* probe_udp: --check udp --send STRING --expect STRING. A connected UDP socket sends the bytes;
 * the first datagram back is the answer, good when --expect is not given or the datagram contains
 * its bytes. An ICMP port unreachable fails the probe at once (probe.c's datagram helpers).
 * Silence runs into the probe's timeout. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "probe.h"

static bool udp_connected(struct probe *p, char *why, size_t len)
{
    return probe_send_datagram(p, p->cfg->send.data, p->cfg->send.len, why, len);
}

static int udp_readable(struct probe *p, char *why, size_t len)
{
    int r = probe_recv_datagram(p, why, len);
    if (r <= 0)
        return r;
    const struct check_bytes *expect = &p->cfg->expect;
    if (expect->len && !memmem(p->buf, p->got, expect->data, expect->len)) {
        char text[RAWLB_CHECK_ESCAPED_LEN];
        snprintf(why, len, "no '%s' in reply", config_escape_bytes(expect, text));
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
