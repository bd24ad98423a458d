/* test_edit: ipvsadm-style edits, every form and every refusal (edit_parse), and their effect on
 * a configuration made by config_parse (edit_apply), with the rules config.c applies at start. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "testing.h"
#include "config.h"
#include "edit.h"

static uint32_t ip(const char *s)
{
    struct in_addr in;
    inet_pton(AF_INET, s, &in);
    return in.s_addr;
}

/* Splits a copy of line into words (no quoting needed here). */
static int words(const char *line, char *store, size_t len, char **argv, int max)
{
    int n = 0;
    snprintf(store, len, "%s", line);
    for (char *tok = strtok(store, " "); tok && n < max; tok = strtok(NULL, " "))
        argv[n++] = tok;
    return n;
}

static bool parse(const char *line, struct edit_cmd *cmd, char *err, size_t errlen)
{
    static char store[512];
    char *argv[EDIT_MAX_ARGS];
    int argc = words(line, store, sizeof store, argv, EDIT_MAX_ARGS);
    return edit_parse(argc, argv, cmd, err, errlen);
}

static void parse_ok(const char *line, struct edit_cmd *cmd)
{
    char err[RAWLB_ERRLEN * 2] = "";
    if (!parse(line, cmd, err, sizeof err)) {
        fprintf(stderr, "edit_parse '%s' refused: %s\n", line, err);
        check_failures++;
    }
}

/* Refused, with a message containing every one of the given pieces. */
static void parse_bad(const char *line, const char *want1, const char *want2)
{
    struct edit_cmd cmd;
    char err[RAWLB_ERRLEN * 2] = "";
    if (parse(line, &cmd, err, sizeof err)) {
        fprintf(stderr, "edit_parse '%s' accepted, want a refusal naming '%s'\n", line, want1);
        check_failures++;
        return;
    }
    if (!strstr(err, want1) || (want2 && !strstr(err, want2))) {
        fprintf(stderr, "edit_parse '%s': message '%s' does not name '%s'%s%s\n", line, err, want1,
                want2 ? " and " : "", want2 ? want2 : "");
        check_failures++;
    }
}

static void test_parse_forms(void)
{
    struct edit_cmd c;

    parse_ok("-A -t 198.51.100.10:80 -s rr", &c);
    CHECK(c.op == EDIT_ADD_SERVICE && c.proto == IPPROTO_TCP && c.vip.addr == ip("198.51.100.10") &&
          c.vip.port == htons(80) && c.has_sched && strcmp(c.sched, "rr") == 0 && !c.has_persist && !c.has_ops);
    parse_ok("-A -u 198.51.100.10:53 -s wrr -o -p -M 24", &c);
    CHECK(c.proto == IPPROTO_UDP && c.has_ops && c.has_persist && c.persist_timeout == EDIT_DEFAULT_PERSIST &&
          c.has_mask && c.persist_mask == ip("255.255.255.0"));
    parse_ok("-A -t 198.51.100.10:443 -p 600 -M 255.255.0.0", &c);
    CHECK(c.persist_timeout == 600 && c.persist_mask == ip("255.255.0.0"));
    parse_ok("--add-service --tcp-service=198.51.100.10:80 --scheduler=sh --persistent=30", &c);
    CHECK(c.op == EDIT_ADD_SERVICE && strcmp(c.sched, "sh") == 0 && c.persist_timeout == 30);
    parse_ok("-A -t198.51.100.10:80 -p45", &c); /* values attached, as getopt would take them */
    CHECK(c.vip.port == htons(80) && c.persist_timeout == 45);
    parse_ok("-E -t 198.51.100.10:80 -s lc", &c);
    CHECK(c.op == EDIT_EDIT_SERVICE && c.has_sched && !c.has_persist);
    parse_ok("-E -t 198.51.100.10:80 -p 0", &c);
    CHECK(c.has_persist && c.persist_timeout == 0);
    parse_ok("-D -u 198.51.100.10:53", &c);
    CHECK(c.op == EDIT_DEL_SERVICE && c.proto == IPPROTO_UDP);
    parse_ok("--delete-service --udp-service 198.51.100.10:53", &c);
    CHECK(c.op == EDIT_DEL_SERVICE);

    parse_ok("-a -t 198.51.100.10:80 -r 203.0.113.13:8080 -w 5 -m", &c);
    CHECK(c.op == EDIT_ADD_SERVER && c.rs.addr == ip("203.0.113.13") && c.rs.port == htons(8080) &&
          c.rs_port_given && c.has_weight && c.weight == 5);
    parse_ok("-a -t 198.51.100.10:80 -r 203.0.113.13", &c); /* port: the service's */
    CHECK(c.rs.port == htons(80) && !c.rs_port_given && !c.has_weight);
    parse_ok("-r 203.0.113.13:80 -t 198.51.100.10:80 -a", &c); /* any order */
    CHECK(c.op == EDIT_ADD_SERVER && c.rs.port == htons(80));
    parse_ok("-e -t 198.51.100.10:80 -r 203.0.113.11:80 -w 0", &c);
    CHECK(c.op == EDIT_EDIT_SERVER && c.has_weight && c.weight == 0);
    parse_ok("--edit-server --tcp-service 198.51.100.10:80 --real-server 203.0.113.11:80 --weight 65535 "
             "--masquerading", &c);
    CHECK(c.weight == 65535);
    parse_ok("-d -t 198.51.100.10:80 -r 203.0.113.11:80", &c);
    CHECK(c.op == EDIT_DEL_SERVER);
    parse_ok("--delete-server -t 198.51.100.10:80 --real-server=203.0.113.11:80", &c);
    CHECK(c.op == EDIT_DEL_SERVER);
    CHECK(strcmp(edit_op_name(EDIT_EDIT_SERVER), "--edit-server") == 0);
}

static void test_parse_errors(void)
{
    parse_bad("", "no edit given", NULL);
    parse_bad("-t 198.51.100.10:80", "no edit given", NULL);
    parse_bad("-A", "--add-service needs a service", NULL);
    parse_bad("-A -E -t 198.51.100.10:80", "only one of", "'-A'");
    parse_bad("-A -t 198.51.100.10:80 -t 198.51.100.10:81", "one service per edit", "198.51.100.10:81");
    parse_bad("-A -t 198.51.100.10:80 -u 198.51.100.10:81", "one service per edit", NULL);
    parse_bad("-A -t 198.51.100.10:99999", "--tcp-service", "99999");
    parse_bad("-A -u 198.51.100.300:53", "--udp-service", "198.51.100.300");
    parse_bad("-A -t 198.51.100.10", "--tcp-service", "ADDR:PORT");
    parse_bad("-A -t", "needs a value", "-t");
    parse_bad("-A -t 198.51.100.10:80 -s nosuch", "--scheduler", "nosuch");
    parse_bad("-A -t 198.51.100.10:80 -s rr -s lc", "--scheduler: given twice", "lc");
    parse_bad("-A -t 198.51.100.10:80 -p 0", "--persistent", "'0'");
    parse_bad("-A -t 198.51.100.10:80 -p 2147483648", "--persistent", "2147483648");
    parse_bad("-A -t 198.51.100.10:80 -p 1 -p 2", "--persistent: given twice", NULL);
    parse_bad("-A -t 198.51.100.10:80 -M 24", "--netmask", "only meaningful with --persistent");
    parse_bad("-A -t 198.51.100.10:80 -p 10 -M 255.0.255.0", "--netmask", "255.0.255.0");
    parse_bad("-A -t 198.51.100.10:80 -p 10 -M 33", "--netmask", "33");
    parse_bad("-E -t 198.51.100.10:80 -p 0 -M 24", "--netmask", "-p 0");
    parse_bad("-A -t 198.51.100.10:80 -o", "--ops", "UDP services only");
    parse_bad("-A -t 198.51.100.10:80 -r 203.0.113.11:80", "--real-server: only with -a, -e or -d", "--add-service");
    parse_bad("-A -t 198.51.100.10:80 -w 1", "--weight: only with -a or -e", NULL);
    parse_bad("-D -t 198.51.100.10:80 -s rr", "--scheduler: only with -A or -E", "--delete-service");
    parse_bad("-a -t 198.51.100.10:80 -s rr -r 203.0.113.11:80", "--scheduler: only with -A or -E", "--add-server");
    parse_bad("-a -t 198.51.100.10:80 -p 10 -r 203.0.113.11:80", "--persistent: only with", NULL);
    parse_bad("-a -u 198.51.100.10:53 -o -r 203.0.113.11:53", "--ops: only with", NULL);
    parse_bad("-a -t 198.51.100.10:80", "--add-server needs a real server", NULL);
    parse_bad("-d -t 198.51.100.10:80 -r 203.0.113.11:80 -w 2", "--weight: only with -a or -e", "--delete-server");
    parse_bad("-d -t 198.51.100.10:80 -r 203.0.113.11:80 -m", "--masquerading: only with -a or -e", NULL);
    parse_bad("-a -t 198.51.100.10:80 -r 203.0.113.11:80 -w 65536", "--weight", "65536");
    parse_bad("-a -t 198.51.100.10:80 -r 203.0.113.11:80 -w x1", "--weight", "not a number");
    parse_bad("-a -t 198.51.100.10:80 -r 203.0.113.11:80 -w 1 -w 2", "--weight: given twice", NULL);
    parse_bad("-a -t 198.51.100.10:80 -r 203.0.113.11:80:3", "--real-server", "-w");
    parse_bad("-a -t 198.51.100.10:80 -r 224.0.0.1:80", "--real-server", "224.0.0.1");
    parse_bad("-a -t 198.51.100.10:80 -r 203.0.113.11:0", "--real-server", "'0'");
    parse_bad("-a -t 198.51.100.10:80 -r nohost", "--real-server", "nohost");
    parse_bad("-a -t 198.51.100.10:80 -r 203.0.113.11:80 -g", "--gatewaying", "NAT only");
    parse_bad("-a -t 198.51.100.10:80 -r 203.0.113.11:80 -i", "--ipip", "NAT only");
    parse_bad("-a -t 198.51.100.10:80 -r 203.0.113.11:80 -q 5", "unknown option '-q'", NULL);
    parse_bad("-a -t 198.51.100.10:80 -r 203.0.113.11:80 --bogus", "unknown option '--bogus'", NULL);
    parse_bad("-a -t 198.51.100.10:80 -r 203.0.113.11:80 --masquerading=1", "does not take a value", NULL);
    parse_bad("-Ax -t 198.51.100.10:80", "unknown option '-A'", "-Ax");
    parse_bad("-a -t 198.51.100.10:80 -r 203.0.113.11:80 extra", "unexpected argument 'extra'", NULL);
}

static struct rawlb_config base;

static void make_base(void)
{
    char *argv[] = {"rawlb", "-e", "ext", "-i", "int", "-n", "203.0.113.1",
                    "-t", "198.51.100.10:80", "-s", "wlc", "--sorry-server", "203.0.113.99:80",
                    "-r", "203.0.113.11:80:3", "-r", "203.0.113.12:80",
                    "-u", "198.51.100.10:53", "-s", "rr", "-r", "203.0.113.11:53"};
    char err[RAWLB_ERRLEN * 2];
    if (config_parse(&base, (int)(sizeof argv / sizeof argv[0]), argv, err, sizeof err) != CONFIG_OK) {
        fprintf(stderr, "config_parse: %s\n", err);
        check_failures++;
    }
}

static bool apply(struct rawlb_config *cfg, const char *line, char *err, size_t errlen)
{
    struct edit_cmd cmd;
    if (!parse(line, &cmd, err, errlen)) {
        fprintf(stderr, "edit_parse '%s' refused: %s\n", line, err);
        check_failures++;
        return false;
    }
    return edit_apply(cfg, &cmd, err, errlen);
}

static void apply_ok(struct rawlb_config *cfg, const char *line)
{
    char err[RAWLB_ERRLEN * 2] = "";
    if (!apply(cfg, line, err, sizeof err)) {
        fprintf(stderr, "edit_apply '%s' refused: %s\n", line, err);
        check_failures++;
    }
}

static void apply_bad(const char *line, const char *want1, const char *want2)
{
    static struct rawlb_config cfg;
    char err[RAWLB_ERRLEN * 2] = "";
    cfg = base;
    if (apply(&cfg, line, err, sizeof err)) {
        fprintf(stderr, "edit_apply '%s' accepted, want a refusal naming '%s'\n", line, want1);
        check_failures++;
        return;
    }
    if (!strstr(err, want1) || (want2 && !strstr(err, want2))) {
        fprintf(stderr, "edit_apply '%s': message '%s' does not name '%s'\n", line, err, want1);
        check_failures++;
    }
}

static void test_apply(void)
{
    static struct rawlb_config cfg;
    make_base();

    /* -A: defaults as config.c gives a service, health included; -E keeps what is not given. */
    cfg = base;
    apply_ok(&cfg, "-A -t 198.51.100.20:8080");
    CHECK_EQ_U(cfg.n_services, 3);
    const struct service_config *sc = &cfg.services[2];
    CHECK(sc->proto == IPPROTO_TCP && sc->vip.addr == ip("198.51.100.20") && sc->vip.port == htons(8080));
    CHECK(strcmp(sc->scheduler, "wlc") == 0 && sc->persist_timeout == 0 && sc->persist_mask == 0xffffffffu);
    CHECK(sc->n_rs == 0 && !sc->one_packet);
    CHECK(memcmp(&sc->check, &base.services[0].check, offsetof(struct check_config, has_sorry)) == 0);
    CHECK(sc->check.kind == CHECK_TCP && !sc->check.has_sorry);
    apply_ok(&cfg, "-A -u 198.51.100.20:53 -o -s sh -p 20 -M 16");
    sc = &cfg.services[3];
    CHECK(sc->check.kind == CHECK_NONE && sc->one_packet && strcmp(sc->scheduler, "sh") == 0 &&
          sc->persist_timeout == 20 && sc->persist_mask == ip("255.255.0.0"));
    CHECK(memcmp(&sc->check, &base.services[1].check, sizeof sc->check) == 0);
    apply_ok(&cfg, "-E -u 198.51.100.20:53 -s rr");
    CHECK(strcmp(sc->scheduler, "rr") == 0 && sc->persist_timeout == 20 && sc->persist_mask == ip("255.255.0.0") &&
          sc->one_packet);
    apply_ok(&cfg, "-E -u 198.51.100.20:53 -M 24");
    CHECK(sc->persist_mask == ip("255.255.255.0") && sc->persist_timeout == 20);
    apply_ok(&cfg, "-E -u 198.51.100.20:53 -p 0");
    CHECK(sc->persist_timeout == 0 && sc->persist_mask == 0xffffffffu);
    apply_ok(&cfg, "-E -t 198.51.100.10:80 -p");
    CHECK(cfg.services[0].persist_timeout == EDIT_DEFAULT_PERSIST && cfg.services[0].n_rs == 2);

    /* -a -e -d */
    apply_ok(&cfg, "-a -t 198.51.100.10:80 -r 203.0.113.13:80 -w 7 -m");
    CHECK_EQ_U(cfg.services[0].n_rs, 3);
    CHECK(cfg.services[0].rs[2].ep.addr == ip("203.0.113.13") && cfg.services[0].rs[2].weight == 7);
    apply_ok(&cfg, "-a -t 198.51.100.20:8080 -r 203.0.113.14");
    CHECK(cfg.services[2].n_rs == 1 && cfg.services[2].rs[0].ep.port == htons(8080) &&
          cfg.services[2].rs[0].weight == 1);
    apply_ok(&cfg, "-e -t 198.51.100.10:80 -r 203.0.113.11:80 -w 0");
    CHECK(cfg.services[0].rs[0].weight == 0 && cfg.services[0].rs[1].weight == 1);
    apply_ok(&cfg, "-e -t 198.51.100.10:80 -r 203.0.113.11:80"); /* no -w: nothing changes */
    CHECK(cfg.services[0].rs[0].weight == 0);
    apply_ok(&cfg, "-d -t 198.51.100.10:80 -r 203.0.113.11:80");
    CHECK_EQ_U(cfg.services[0].n_rs, 2);
    CHECK(cfg.services[0].rs[0].ep.addr == ip("203.0.113.12") && cfg.services[0].rs[1].ep.addr == ip("203.0.113.13") &&
          cfg.services[0].rs[1].weight == 7);
    /* A service may be left with no real server, as in ipvsadm. */
    apply_ok(&cfg, "-d -u 198.51.100.10:53 -r 203.0.113.11");
    CHECK_EQ_U(cfg.services[1].n_rs, 0);
    /* -D keeps the order of the others. */
    apply_ok(&cfg, "-D -u 198.51.100.10:53");
    CHECK_EQ_U(cfg.n_services, 3);
    CHECK(cfg.services[0].vip.port == htons(80) && cfg.services[1].vip.port == htons(8080) &&
          cfg.services[2].vip.port == htons(53) && cfg.services[2].proto == IPPROTO_UDP);

    /* Refusals, each leaving the rules of config.c intact. */
    apply_bad("-A -t 198.51.100.10:80", "--add-service: service TCP 198.51.100.10:80 exists already", NULL);
    apply_bad("-E -t 198.51.100.10:81 -s rr", "--edit-service: no service TCP 198.51.100.10:81", NULL);
    apply_bad("-D -u 198.51.100.10:80", "--delete-service: no service UDP 198.51.100.10:80", NULL);
    apply_bad("-a -t 198.51.100.10:81 -r 203.0.113.11:80", "--add-server: no service TCP 198.51.100.10:81", NULL);
    apply_bad("-a -t 198.51.100.10:80 -r 203.0.113.11:80", "203.0.113.11:80 is already a real server of TCP",
              "-e");
    apply_bad("-a -t 198.51.100.10:80 -r 203.0.113.11", "203.0.113.11:80 is already", NULL);
    apply_bad("-a -t 198.51.100.10:80 -r 203.0.113.99:80", "is the sorry server of TCP 198.51.100.10:80", NULL);
    apply_bad("-e -t 198.51.100.10:80 -r 203.0.113.13:80 -w 1", "--edit-server: 203.0.113.13:80 is not a real server",
              NULL);
    apply_bad("-d -t 198.51.100.10:80 -r 203.0.113.11:81", "--delete-server: 203.0.113.11:81 is not a real server",
              NULL);
    apply_bad("-E -t 198.51.100.10:80 -M 24", "--netmask", "does not have");

    /* Limits. */
    cfg = base;
    char line[128], err[RAWLB_ERRLEN * 2];
    for (unsigned i = cfg.n_services; i < RAWLB_MAX_SERVICES; i++) {
        snprintf(line, sizeof line, "-A -t 198.51.101.%u:80", i);
        apply_ok(&cfg, line);
    }
    CHECK_EQ_U(cfg.n_services, RAWLB_MAX_SERVICES);
    CHECK(!apply(&cfg, "-A -t 198.51.102.1:80", err, sizeof err) && strstr(err, "one service too many") &&
          strstr(err, "64"));
    cfg = base;
    for (unsigned i = cfg.services[0].n_rs; i < RAWLB_MAX_RS_PER_SERVICE; i++) {
        snprintf(line, sizeof line, "-a -t 198.51.100.10:80 -r 203.0.114.%u:80", i);
        apply_ok(&cfg, line);
    }
    CHECK_EQ_U(cfg.services[0].n_rs, RAWLB_MAX_RS_PER_SERVICE);
    CHECK(!apply(&cfg, "-a -t 198.51.100.10:80 -r 203.0.115.1:80", err, sizeof err) &&
          strstr(err, "one real server too many") && strstr(err, "203.0.115.1:80"));
}

/* -x/-y: a real server's, with -a and -e only; -a gives 0 for what is not given, -e changes only
 * what it is given; the lower limit never above a set upper one, checked locally when both are
 * given and on the server's resulting pair otherwise. */
static void test_thresholds(void)
{
    static struct rawlb_config cfg;
    struct edit_cmd c;

    parse_ok("-a -t 198.51.100.10:80 -r 203.0.113.13:80 -w 2 -x 100 -y 50", &c);
    CHECK(c.has_u_threshold && c.u_threshold == 100 && c.has_l_threshold && c.l_threshold == 50 && c.weight == 2);
    parse_ok("--edit-server -t 198.51.100.10:80 -r 203.0.113.11:80 --u-threshold=67108864", &c);
    CHECK(c.has_u_threshold && c.u_threshold == RAWLB_THRESHOLD_MAX && !c.has_l_threshold && !c.has_weight);
    parse_ok("-e -t 198.51.100.10:80 -r 203.0.113.11:80 -y0", &c);
    CHECK(c.has_l_threshold && c.l_threshold == 0 && !c.has_u_threshold);
    parse_bad("-a -t 198.51.100.10:80 -r 203.0.113.11:80 -x 67108865", "--u-threshold", "'67108865'");
    parse_bad("-a -t 198.51.100.10:80 -r 203.0.113.11:80 -y -1", "--l-threshold", "'-1'");
    parse_bad("-a -t 198.51.100.10:80 -r 203.0.113.11:80 -x ten", "--u-threshold", "0..67108864");
    parse_bad("-a -t 198.51.100.10:80 -r 203.0.113.11:80 -x 1 -x 2", "--u-threshold: given twice", NULL);
    parse_bad("-a -t 198.51.100.10:80 -r 203.0.113.11:80 -x 10 -y 11", "--l-threshold: 11 is above the --u-threshold 10",
              "203.0.113.11:80 of TCP 198.51.100.10:80");
    parse_bad("-E -t 198.51.100.10:80 -x 10", "--u-threshold: only with -a or -e", "--edit-service");
    parse_bad("-A -t 198.51.100.10:80 -y 10", "--l-threshold: only with -a or -e", "--add-service");
    parse_bad("-d -t 198.51.100.10:80 -r 203.0.113.11:80 -x 10", "--u-threshold: only with -a or -e", NULL);

    make_base();
    cfg = base;
    CHECK(cfg.services[0].rs[0].u_threshold == 0 && cfg.services[0].rs[0].l_threshold == 0);
    apply_ok(&cfg, "-a -t 198.51.100.10:80 -r 203.0.113.13:80 -x 100 -y 50");
    CHECK(cfg.services[0].rs[2].u_threshold == 100 && cfg.services[0].rs[2].l_threshold == 50);
    apply_ok(&cfg, "-a -t 198.51.100.10:80 -r 203.0.113.14:80 -w 3");
    CHECK(cfg.services[0].rs[3].u_threshold == 0 && cfg.services[0].rs[3].l_threshold == 0);
    apply_ok(&cfg, "-e -t 198.51.100.10:80 -r 203.0.113.13:80 -x 80"); /* -y stays */
    CHECK(cfg.services[0].rs[2].u_threshold == 80 && cfg.services[0].rs[2].l_threshold == 50);
    apply_ok(&cfg, "-e -t 198.51.100.10:80 -r 203.0.113.13:80 -w 4"); /* the limits stay */
    CHECK(cfg.services[0].rs[2].u_threshold == 80 && cfg.services[0].rs[2].l_threshold == 50 &&
          cfg.services[0].rs[2].weight == 4);
    apply_ok(&cfg, "-e -t 198.51.100.10:80 -r 203.0.113.13:80 -x 0"); /* no limit: -y alone does nothing */
    CHECK(cfg.services[0].rs[2].u_threshold == 0 && cfg.services[0].rs[2].l_threshold == 50);
    CHECK(cfg.services[0].rs[0].u_threshold == 0 && cfg.services[1].rs[0].u_threshold == 0);

    /* The resulting pair, with what the server already has. */
    cfg = base;
    apply_ok(&cfg, "-e -t 198.51.100.10:80 -r 203.0.113.11:80 -x 10");
    char err[RAWLB_ERRLEN * 2] = "";
    CHECK(!apply(&cfg, "-e -t 198.51.100.10:80 -r 203.0.113.11:80 -y 11", err, sizeof err) &&
          strstr(err, "--l-threshold: 11 is above the --u-threshold 10 of real server 203.0.113.11:80"));
    apply_ok(&cfg, "-e -t 198.51.100.10:80 -r 203.0.113.11:80 -y 10"); /* equal: leaves at once below 10 */
    CHECK(!apply(&cfg, "-e -t 198.51.100.10:80 -r 203.0.113.11:80 -x 9", err, sizeof err) &&
          strstr(err, "--l-threshold: 10 is above the --u-threshold 9"));
}

int main(void)
{
    test_parse_forms();
    test_parse_errors();
    test_apply();
    test_thresholds();
    CHECK_DONE();
}
