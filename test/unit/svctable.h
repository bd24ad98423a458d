/* svctable: service tables built by hand for the renderers' tests (test_metrics,
 * test_statusjson): services under wlc, real servers in the schedule with their weight. */
#ifndef RAWLB_TEST_SVCTABLE_H
#define RAWLB_TEST_SVCTABLE_H

#include <arpa/inet.h>
#include <string.h>

#include "scheduler.h"
#include "service.h"

static inline uint32_t svctable_ip(const char *s)
{
    struct in_addr in;
    inet_pton(AF_INET, s, &in);
    return in.s_addr;
}

static inline struct service *svctable_add_svc(struct service_table *t, uint8_t proto, const char *vip,
                                               uint16_t port)
{
    struct service *svc = &t->svc[t->n++];
    memset(svc, 0, sizeof(*svc));
    svc->proto = proto;
    svc->vip.addr = svctable_ip(vip);
    svc->vip.port = htons(port);
    svc->sched = &sched_wlc_ops;
    svc->persist_mask = 0xffffffffu;
    return svc;
}

static inline struct real_server *svctable_add_rs(struct service *svc, const char *addr, uint16_t port, int weight)
{
    struct real_server *rs = &svc->rs[svc->n_rs++];
    rs->ep.addr = svctable_ip(addr);
    rs->ep.port = htons(port);
    rs->weight = rs->config_weight = weight;
    rs->available = true;
    return rs;
}

#endif
