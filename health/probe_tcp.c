/* probe_tcp: --check tcp. The probe succeeds when the connection is established; probe.c then
 * closes it without sending anything. */
#include <sys/socket.h>

#include "probe.h"

const struct probe_ops probe_tcp_ops = {
    .name = "tcp",
    .socktype = SOCK_STREAM,
};
