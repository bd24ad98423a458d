/* opts: rawlb-replay's flags. Every bad flag or value exits 2 with the flag and the value. */
#include "replay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"

enum {
    OPT_TO = 256, OPT_TO_MAC, OPT_SRC_RANGE, OPT_SPEED, OPT_PPS, OPT_MBPS, OPT_TOPSPEED, OPT_LOOP,
    OPT_DURATION, OPT_GEN, OPT_SIZE, OPT_FLOWS, OPT_BATCH, OPT_QDISC_BYPASS, OPT_SINK, OPT_ECHO,
    OPT_JSON, OPT_IDLE, OPT_FILTER, OPT_PROGRESS, OPT_NO_PROGRESS, OPT_NO_FLOWS, OPT_ONE_WAY,
};

static const struct option long_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { "interface", required_argument, NULL, 'i' },
    { "read", required_argument, NULL, 'r' },
    { "to", required_argument, NULL, OPT_TO },
    { "to-mac", required_argument, NULL, OPT_TO_MAC },
    { "src-range", required_argument, NULL, OPT_SRC_RANGE },
    { "speed", required_argument, NULL, OPT_SPEED },
    { "pps", required_argument, NULL, OPT_PPS },
    { "mbps", required_argument, NULL, OPT_MBPS },
    { "topspeed", no_argument, NULL, OPT_TOPSPEED },
    { "loop", required_argument, NULL, OPT_LOOP },
    { "duration", required_argument, NULL, OPT_DURATION },
    { "gen", required_argument, NULL, OPT_GEN },
    { "size", required_argument, NULL, OPT_SIZE },
    { "flows", required_argument, NULL, OPT_FLOWS },
    { "batch", required_argument, NULL, OPT_BATCH },
    { "qdisc-bypass", no_argument, NULL, OPT_QDISC_BYPASS },
    { "sink", required_argument, NULL, OPT_SINK },
    { "echo", no_argument, NULL, OPT_ECHO },
    { "json", no_argument, NULL, OPT_JSON },
    { "idle", required_argument, NULL, OPT_IDLE },
    { "filter", required_argument, NULL, OPT_FILTER },
    { "progress", no_argument, NULL, OPT_PROGRESS },
    { "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
    { "no-flows", no_argument, NULL, OPT_NO_FLOWS },
    { "one-way", no_argument, NULL, OPT_ONE_WAY },
    /* after every OPT_* entry: opts_parse finds a refused long flag's name at optopt - OPT_TO + 3 */
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
};

void opts_usage(FILE *out)
{
    fputs("usage: rawlb-replay -i IF (-r FILE | --gen udp|tcp) --to ADDR[:PORT] [OPTIONS]   send\n"
          "       rawlb-replay --sink IF [--echo] [OPTIONS]                                  receive\n"
          "\n"
          "Sending (an AF_PACKET socket, a batch per sendmmsg):\n"
          "  -i, --interface IF   send on IF; source MAC (and address of generated frames) are IF's\n"
          "  -r, --read FILE      replay an Ethernet pcap file: the client side of each conversation\n"
          "                       (the SYN's sender, or a flow's first sender); replies are skipped\n"
          "  --gen udp|tcp        generate instead: udp = one datagram per flow per pass, stamped\n"
          "                       (flow, sequence, time) when --size leaves 20 bytes of payload;\n"
          "                       tcp = per flow a SYN, a data segment and a FIN (no handshake)\n"
          "  --size B             generated UDP frame size in bytes without FCS, 42..1514 (default 64)\n"
          "  --flows N            generated flows, distinct source ports from 10000 (default 1)\n"
          "  --to ADDR[:PORT]     IP destination (and TCP/UDP port) of every frame; the MAC of ADDR (or of\n"
          "                       the gateway of IF's route to it) by ARP on IF\n"
          "                       (generated: default port 9 for udp, 80 for tcp)\n"
          "  --to-mac MAC         Ethernet destination, no ARP\n"
          "  --src-range CIDR     spread sources over CIDR: a flow keeps its source within a pass,\n"
          "                       each pass of --loop moves every flow to the next addresses\n"
          "  --speed X            capture timing X times faster (default 1: the capture's own)\n"
          "  --pps N | --mbps N | --topspeed   a fixed rate instead (generated frames: --topspeed\n"
          "                       unless a rate is given; --echo: 1000 pps)\n"
          "  --loop N             passes over the frames (default 1, or unbounded with --duration)\n"
          "  --duration SEC       stop after SEC seconds (whichever of --loop and --duration comes first)\n"
          "  --batch N            frames per sendmmsg, 1..1024 (default 64)\n"
          "  --qdisc-bypass       PACKET_QDISC_BYPASS on the send socket (invisible to tcpdump on IF)\n"
          "  --echo               latency probes: stamped UDP from a port of IF's address to --to, which\n"
          "                       a sink with --echo answers; prints round-trip p50/p99/p999\n"
          "\n"
          "Receiving:\n"
          "  --sink IF            count what arrives on IF per flow (5-tuple) and per sender; stamped\n"
          "                       frames give per-flow loss (gaps in the sequence)\n"
          "  --echo               send stamped UDP back to its source (swapped MACs, addresses, ports)\n"
          "  --one-way            one-way latency of stamped frames, p50/p99/p999: receive time minus\n"
          "                       the stamp's send time (sender and sink on one host's clock, e.g. in\n"
          "                       network namespaces; across hosts the figure means nothing)\n"
          "  --filter EXPR        BPF filter of what is counted (default \"ip\")\n"
          "  --idle SEC           stop SEC seconds after the last frame, once one came (default 2; 0: never)\n"
          "  --duration SEC       stop after SEC seconds in any case (default 60)\n"
          "\n"
          "Both:\n"
          "  --json               the report as JSON on stdout (per-flow counts included)\n"
          "  --no-flows           leave the per-flow list out of the JSON\n"
          "  --progress, --no-progress   a line a second (default: when stdout is a terminal)\n"
          "  -V, --version        print the version and exit\n"
          "  -h, --help           this text\n"
          "Exit status: 0 done, 1 failed (interface, ARP, file, socket), 2 bad flags.\n",
          out);
}

static int bad(const char *flag, const char *value, const char *want)
{
    fprintf(stderr, "rawlb-replay: %s: bad value '%s' (%s)\n", flag, value, want);
    return REPLAY_EXIT_USAGE;
}

/* -r FILE is opened now, as it is parsed: a missing or unreadable capture is named before the
 * interface, ARP or sockets are tried, not after. Not loaded here (trace_load does, once): "-"
 * (stdin, as pcap takes it) and pipes are fine, a directory is not. */
static bool capture_readable(const char *flag, const char *path)
{
    if (strcmp(path, "-") == 0)
        return true;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    int e = fd < 0 ? errno : fstat(fd, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
    if (fd >= 0)
        close(fd);
    if (e)
        fprintf(stderr, "rawlb-replay: %s: cannot read the capture file '%s': %s\n", flag, path, strerror(e));
    return e == 0;
}

static bool parse_num(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* Numbers and addresses go through the project's own validators (lb/addr.h), as rawlb's flags do. */
static bool parse_uint(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    unsigned long v;
    if (!addr_parse_uint(s, (unsigned long)lo, (unsigned long)hi, &v))
        return false;
    *out = v;
    return true;
}

/* s up to the first stop character (or all of it) as a host address; *rest points after it. */
static bool parse_host_prefix(const char *s, char stop, uint32_t *addr, const char **rest)
{
    char buf[ADDR_STRLEN], why[RAWLB_ERRLEN];
    const char *end = strchr(s, stop);
    size_t n = end ? (size_t)(end - s) : strlen(s);
    if (n >= sizeof buf)
        return false;
    memcpy(buf, s, n);
    buf[n] = 0;
    *rest = end ? end + 1 : NULL;
    return addr_parse_host(buf, addr, why, sizeof why);
}

/* ADDR[:PORT] (the port is optional here, unlike a service's). */
static bool parse_addr_port(const char *s, uint32_t *addr, uint16_t *port)
{
    const char *p;
    uint64_t v = 0;
    if (!parse_host_prefix(s, ':', addr, &p) || (p && !parse_uint(p, 1, 65535, &v)))
        return false;
    *port = htons((uint16_t)v);
    return true;
}

static bool parse_cidr(const char *s, uint32_t *base, uint32_t *size)
{
    const char *p;
    uint64_t len = 32;
    uint32_t addr;
    if (!parse_host_prefix(s, '/', &addr, &p) || (p && !parse_uint(p, 8, 32, &len)))
        return false;
    uint32_t mask = len ? ~0u << (32 - len) : 0;
    *base = ntohl(addr) & mask;
    *size = (uint32_t)(1ull << (32 - len));
    if (*size > 2) { /* leave out the network and broadcast addresses */
        *base += 1;
        *size -= 2;
    }
    return true;
}

/* A BPF filter is checked here, so a bad one is a usage error like any other value. */
static int check_filter(const char *filter)
{
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
    struct bpf_program prog;
    if (!dead)
        return REPLAY_EXIT_FAIL;
    int rc = REPLAY_EXIT_OK;
    if (pcap_compile(dead, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        fprintf(stderr, "rawlb-replay: --filter: bad value '%s' (%s)\n", filter, pcap_geterr(dead));
        rc = REPLAY_EXIT_USAGE;
    } else {
        pcap_freecode(&prog);
    }
    pcap_close(dead);
    return rc;
}

static bool parse_mac(const char *s, uint8_t mac[6])
{
    unsigned v[6];
    char end;
    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &end) != 6)
        return false;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)v[i];
    return true;
}

int opts_parse(struct opts *o, int argc, char **argv, bool *done)
{
    memset(o, 0, sizeof *o);
    o->speed = 1;
    o->size = 64;
    o->flows = 1;
    o->batch = 64;
    o->idle = 2;
    o->progress = isatty(STDOUT_FILENO);
    bool loop_set = false, duration_set = false, size_set = false, flows_set = false;
    *done = true;
    opterr = 0;
    int c, li, rc;
    while ((li = -1, c = getopt_long(argc, argv, ":hVi:r:", long_opts, &li)) != -1) {
        uint64_t u;
        char fl[64];
        /* the flag's name: from the table, or as typed when getopt refused it */
        if (li >= 0)
            snprintf(fl, sizeof fl, "--%s", long_opts[li].name);
        else if (c != '?' && c != ':')
            snprintf(fl, sizeof fl, "-%c", c);
        else if (optopt > 0 && optopt < 256 && strchr("hir", optopt))
            snprintf(fl, sizeof fl, "-%c", optopt);
        else if (optopt >= 256)
            snprintf(fl, sizeof fl, "--%s", long_opts[optopt - OPT_TO + 3].name);
        else {
            const char *a = argv[optind - 1];
            snprintf(fl, sizeof fl, "%.*s", (int)strcspn(a, "="), a);
        }
        switch (c) {
        case 'h':
            opts_usage(stdout);
            return REPLAY_EXIT_OK;
        case 'V':
            printf("rawlb-replay %s\n", RAWLB_VERSION);
            return REPLAY_EXIT_OK;
        case 'i': o->ifname = optarg; break;
        case 'r':
            if (!capture_readable(fl, optarg))
                return REPLAY_EXIT_USAGE;
            o->file = optarg;
            break;
        case OPT_SINK: o->sink_if = optarg; break;
        case OPT_TO:
            if (!parse_addr_port(optarg, &o->to_addr, &o->to_port))
                return bad(fl, optarg, "want ADDR or ADDR:PORT");
            o->to_set = true;
            break;
        case OPT_TO_MAC:
            if (!parse_mac(optarg, o->to_mac))
                return bad(fl, optarg, "want a MAC such as 02:00:00:00:00:01");
            o->to_mac_set = true;
            break;
        case OPT_SRC_RANGE:
            if (!parse_cidr(optarg, &o->src_base, &o->src_size))
                return bad(fl, optarg, "want ADDR/LEN with LEN 8..32");
            o->src_range = true;
            break;
        case OPT_SPEED:
            if (!parse_num(optarg, 1e-3, 1e6, &o->speed))
                return bad(fl, optarg, "want a multiplier from 0.001 to 1000000");
            break;
        case OPT_PPS:
            if (!parse_num(optarg, 1, 1e9, &o->pps))
                return bad(fl, optarg, "want packets per second, 1 or more");
            break;
        case OPT_MBPS:
            if (!parse_num(optarg, 0.001, 1e6, &o->mbps))
                return bad(fl, optarg, "want megabits per second above 0");
            break;
        case OPT_TOPSPEED: o->topspeed = true; break;
        case OPT_LOOP:
            if (!parse_uint(optarg, 1, UINT64_MAX, &o->loops))
                return bad(fl, optarg, "want a count of 1 or more");
            loop_set = true;
            break;
        case OPT_DURATION:
            if (!parse_num(optarg, 0.001, 86400 * 365, &o->duration))
                return bad(fl, optarg, "want seconds above 0");
            duration_set = true;
            break;
        case OPT_IDLE:
            if (!parse_num(optarg, 0, 86400, &o->idle))
                return bad(fl, optarg, "want seconds, 0 or more");
            break;
        case OPT_GEN:
            if (!strcmp(optarg, "udp"))
                o->gen = GEN_UDP;
            else if (!strcmp(optarg, "tcp"))
                o->gen = GEN_TCP;
            else
                return bad(fl, optarg, "want udp or tcp");
            break;
        case OPT_SIZE:
            if (!parse_uint(optarg, 42, REPLAY_FRAME_MAX, &u))
                return bad(fl, optarg, "want frame bytes from 42 to 1514");
            o->size = (unsigned)u;
            size_set = true;
            break;
        case OPT_FLOWS:
            if (!parse_uint(optarg, 1, REPLAY_FLOWS_MAX / 2, &u))
                return bad(fl, optarg, "want 1 to 524288 flows");
            o->flows = (unsigned)u;
            flows_set = true;
            break;
        case OPT_BATCH:
            if (!parse_uint(optarg, 1, REPLAY_BATCH_MAX, &u))
                return bad(fl, optarg, "want 1 to 1024 frames");
            o->batch = (unsigned)u;
            break;
        case OPT_QDISC_BYPASS: o->qdisc_bypass = true; break;
        case OPT_ECHO: o->echo = true; break;
        case OPT_JSON: o->json = true; break;
        case OPT_FILTER: o->filter = optarg; break;
        case OPT_PROGRESS: o->progress = true; break;
        case OPT_NO_PROGRESS: o->progress = false; break;
        case OPT_NO_FLOWS: o->quiet_flows = true; break;
        case OPT_ONE_WAY: o->one_way = true; break;
        case ':':
            fprintf(stderr, "rawlb-replay: %s: missing value\n", fl);
            return REPLAY_EXIT_USAGE;
        default:
            fprintf(stderr, "rawlb-replay: %s: unknown flag (see --help)\n", fl);
            return REPLAY_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "rawlb-replay: %s: unexpected argument (see --help)\n", argv[optind]);
        return REPLAY_EXIT_USAGE;
    }
    if (o->sink_if) {
        if (o->ifname || o->file || o->gen || o->to_set) {
            fprintf(stderr, "rawlb-replay: --sink: receives only; -i, -r, --gen and --to are for sending\n");
            return REPLAY_EXIT_USAGE;
        }
        if (!duration_set)
            o->duration = 60;
        if (o->filter && (rc = check_filter(o->filter)) != REPLAY_EXIT_OK)
            return rc;
    } else {
        if (o->filter || o->one_way) {
            fprintf(stderr, "rawlb-replay: %s: only with --sink\n", o->filter ? "--filter" : "--one-way");
            return REPLAY_EXIT_USAGE;
        }
        if (!o->ifname) {
            fprintf(stderr, "rawlb-replay: -i IF is required (or --sink IF; see --help)\n");
            return REPLAY_EXIT_USAGE;
        }
        if (!o->to_set) {
            fprintf(stderr, "rawlb-replay: --to ADDR[:PORT] is required when sending\n");
            return REPLAY_EXIT_USAGE;
        }
        if (o->echo && !o->gen)
            o->gen = GEN_UDP;
        if (!!o->file == !!o->gen) {
            fprintf(stderr, "rawlb-replay: give one of -r FILE and --gen udp|tcp\n");
            return REPLAY_EXIT_USAGE;
        }
        if (o->echo && (o->gen != GEN_UDP || (flows_set && o->flows != 1) || o->src_range)) {
            fprintf(stderr, "rawlb-replay: --echo: probes are one UDP flow from IF's own address (no --gen tcp, --flows or --src-range)\n");
            return REPLAY_EXIT_USAGE;
        }
        if (o->echo && o->size < 42 + STAMP_LEN) {
            if (size_set) {
                char v[16];
                snprintf(v, sizeof v, "%u", o->size);
                return bad("--size", v, "--echo needs 62 bytes or more");
            }
            o->size = 64;
        }
        if ((o->file || o->gen == GEN_TCP) && size_set) {
            fprintf(stderr, "rawlb-replay: --size: only for --gen udp\n");
            return REPLAY_EXIT_USAGE;
        }
        if ((o->pps > 0) + (o->mbps > 0) + o->topspeed > 1) {
            fprintf(stderr, "rawlb-replay: give at most one of --pps, --mbps and --topspeed\n");
            return REPLAY_EXIT_USAGE;
        }
        if (o->gen && !o->pps && !o->mbps) {
            if (o->echo)
                o->pps = 1000;
            else
                o->topspeed = true;
        }
        if (!loop_set)
            o->loops = duration_set ? UINT64_MAX : 1;
    }
    if (o->json)
        o->progress = false;
    *done = false;
    return REPLAY_EXIT_OK;
}
