/* test_vipstate: the daemon's side of BGP announcement (vipstate.h, annproto.h): which VIPs are
 * eligible (a service with a real server available and weighted, and only while forwarding;
 * not the sorry server), when a new snapshot is due (a VIP came, went or changed, not when
 * nothing did), the snapshot's lines, the announcers' reports kept across updates and voided
 * when their watcher goes, and rawlb-ctl status's text and JSON. */
#include <netinet/in.h>
#include <stdlib.h>

#include "annproto.h"
#include "svctable.h"
#include "testing.h"
#include "textout.h"
#include "vipstate.h"

#define VIP1 "198.51.100.10"
#define VIP2 "198.51.100.11"

static struct service_table t;

static void table(void)
{
    memset(&t, 0, sizeof t);
    struct service *a = svctable_add_svc(&t, IPPROTO_TCP, VIP1, 80);
    svctable_add_rs(a, "203.0.113.11", 80, 1);
    struct service *b = svctable_add_svc(&t, IPPROTO_UDP, VIP1, 53);
    svctable_add_rs(b, "203.0.113.12", 53, 1);
    struct service *c = svctable_add_svc(&t, IPPROTO_TCP, VIP2, 80);
    svctable_add_rs(c, "203.0.113.13", 80, 1);
}

static void test_eligible(void)
{
    table();
    uint32_t v1 = svctable_ip(VIP1), v2 = svctable_ip(VIP2);
    CHECK(vipstate_eligible(&t, v1, true) && vipstate_eligible(&t, v2, true));
    CHECK(!vipstate_eligible(&t, v1, false)); /* a backup announces nothing */
    CHECK(!vipstate_eligible(&t, svctable_ip("198.51.100.99"), true));
    t.svc[0].rs[0].available = false; /* the UDP service of VIP1 still has its server */
    CHECK(vipstate_eligible(&t, v1, true));
    t.svc[1].rs[0].weight = 0; /* quiesced does not count */
    CHECK(!vipstate_eligible(&t, v1, true));
    /* a sorry server standing in is no server up */
    t.svc[2].rs[0].available = false;
    t.svc[2].has_sorry = t.svc[2].sorry_active = true;
    t.svc[2].rs[1] = (struct real_server){ .weight = 1, .available = true };
    CHECK(!vipstate_eligible(&t, v2, true));
}

static void test_update_and_snapshot(void)
{
    table();
    struct vipstate s = { 0 };
    char buf[VIPSTATE_SNAPSHOT_MAX];
    CHECK(vipstate_update(&s, &t, true));
    CHECK_EQ_U(s.n, 2);
    CHECK(!vipstate_update(&s, &t, true)); /* nothing changed: no snapshot */
    vipstate_snapshot(&s, buf, sizeof buf);
    CHECK(strcmp(buf, "vip " VIP1 " up\nvip " VIP2 " up\nend\n") == 0);
    CHECK(vipstate_update(&s, &t, false)); /* HA backup now */
    vipstate_snapshot(&s, buf, sizeof buf);
    CHECK(strcmp(buf, "vip " VIP1 " down\nvip " VIP2 " down\nend\n") == 0);
    CHECK(vipstate_update(&s, &t, true));
    t.svc[2].rs[0].available = false;
    CHECK(vipstate_update(&s, &t, true));
    CHECK(s.vips[0].eligible && !s.vips[1].eligible);
    t.n = 2; /* VIP2's service deleted */
    CHECK(vipstate_update(&s, &t, true));
    CHECK_EQ_U(s.n, 1);
    vipstate_snapshot(&s, buf, sizeof buf);
    CHECK(strcmp(buf, "vip " VIP1 " up\nend\n") == 0);
    CHECK_EQ_U(vipstate_snapshot(&s, buf, 8), 0); /* never half a snapshot */
    t.n = 0;
    CHECK(vipstate_update(&s, &t, true));
    vipstate_snapshot(&s, buf, sizeof buf);
    CHECK(strcmp(buf, "end\n") == 0);
}

static void test_reports(void)
{
    table();
    struct vipstate s = { 0 };
    vipstate_update(&s, &t, true);
    CHECK(vipstate_report(&s, 3, "announced " VIP1));
    CHECK(vipstate_report(&s, 4, "withdrawn " VIP2));
    CHECK(vipstate_report(&s, 3, "announced 198.51.100.99")); /* a VIP rawlb no longer has: ignored */
    CHECK(!vipstate_report(&s, 3, "announced"));
    CHECK(!vipstate_report(&s, 3, "announce " VIP1));
    CHECK(!vipstate_report(&s, 3, "announced " VIP1 " now"));
    CHECK(!vipstate_report(&s, 3, "announced 300.1.1.1"));
    CHECK(s.vips[0].report == VIPSTATE_ANNOUNCED && s.vips[0].reporter == 3);
    CHECK(s.vips[1].report == VIPSTATE_WITHDRAWN && s.vips[1].reporter == 4);
    t.svc[2].rs[0].available = false;
    vipstate_update(&s, &t, true); /* kept across an update */
    CHECK(s.vips[0].report == VIPSTATE_ANNOUNCED && s.vips[1].report == VIPSTATE_WITHDRAWN);
    vipstate_forget(&s, 3);
    CHECK(s.vips[0].report == VIPSTATE_NONE && s.vips[0].reporter == VIPSTATE_NOBODY);
    CHECK(s.vips[1].report == VIPSTATE_WITHDRAWN);

    char buf[1024];
    struct textout o;
    textout_init(&o, buf, sizeof buf);
    vipstate_render_status(&s, 1, false, &o);
    textout_finish(&o);
    CHECK(strcmp(buf, "announcers: 1 connected\n"
                      "vip " VIP1 ": eligible up, announcer connected yes, reported none\n"
                      "vip " VIP2 ": eligible down, announcer connected yes, reported withdrawn\n") == 0);
    textout_init(&o, buf, sizeof buf);
    vipstate_render_status(&s, 0, true, &o);
    textout_finish(&o);
    CHECK(strcmp(buf, "\"announcers\":0,\"vips\":[{\"vip\":\"" VIP1 "\",\"eligible\":\"up\",\"announcer\":false,"
                      "\"reported\":\"none\"},{\"vip\":\"" VIP2 "\",\"eligible\":\"down\",\"announcer\":false,"
                      "\"reported\":\"withdrawn\"}]") == 0);
}

static void test_annproto(void)
{
    enum annproto_kind k;
    uint32_t addr = 0;
    bool up = false;
    CHECK(annproto_parse_snapshot_line("vip " VIP1 " up", &k, &addr, &up) && k == ANNPROTO_VIP && up &&
          addr == svctable_ip(VIP1));
    CHECK(annproto_parse_snapshot_line("vip " VIP2 " down", &k, &addr, &up) && k == ANNPROTO_VIP && !up);
    CHECK(annproto_parse_snapshot_line("end", &k, &addr, &up) && k == ANNPROTO_END);
    CHECK(annproto_parse_snapshot_line("error: 2 watchers already", &k, &addr, &up) && k == ANNPROTO_ERROR);
    CHECK(!annproto_parse_snapshot_line("vip " VIP1 " sideways", &k, &addr, &up));
    CHECK(!annproto_parse_snapshot_line("vip " VIP1, &k, &addr, &up));
    CHECK(!annproto_parse_snapshot_line("vip 0.0.0.0 up", &k, &addr, &up));
    CHECK(!annproto_parse_snapshot_line("end of it", &k, &addr, &up));
    CHECK(!annproto_parse_snapshot_line("", &k, &addr, &up));
    char line[ANNPROTO_LINE_MAX + 8];
    memset(line, 'x', sizeof line - 1);
    line[sizeof line - 1] = '\0';
    CHECK(!annproto_parse_snapshot_line(line, &k, &addr, &up));
    char r[ANNPROTO_LINE_MAX];
    annproto_render_report(svctable_ip(VIP1), true, r, sizeof r);
    CHECK(strcmp(r, "announced " VIP1 "\n") == 0);
    annproto_render_report(svctable_ip(VIP1), false, r, sizeof r);
    CHECK(strcmp(r, "withdrawn " VIP1 "\n") == 0);
}

int main(void)
{
    test_eligible();
    test_update_and_snapshot();
    test_reports();
    test_annproto();
    CHECK_DONE();
}
