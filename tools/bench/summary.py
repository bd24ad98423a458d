#!/usr/bin/env python3
"""summary.py: from bench.sh's results ("round mode metric value" lines) prints the Markdown for
BENCHMARKS.md: one row per round and path (the figures, then the CPU use), the per-column medians
with the ratios rawlb/nft and rawlb/haproxy, and the Performance targets with a verdict computed from
those medians. Also writes the chart's data (each metric normalised to nft = 1, for chart.gp), the
README's excerpt (medians and targets) and this run's History row (with the table's heading).
usage: summary.py --results F --chart F --meta TEXT [--counters F] [--readme F] [--history-row F]
                  [--date D] [--rev R] [--load L]"""
import argparse
import re
import statistics

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
for flag in ("results", "chart", "meta"):
    ap.add_argument("--" + flag, required=True)
for flag in ("counters", "readme", "history-row", "date", "rev", "load"):
    ap.add_argument("--" + flag, default="")
a = ap.parse_args()

# The targets of the Performance issue: (label, what, mode compared with, metric, at least/at most, value)
RATIO_TARGETS = [
    ("wrk keep-alive req/s (%s conns), rawlb / nft", "nft", "ka_rps", ">=", 0.95),
    ("wrk keep-alive req/s (%s conns), rawlb / HAProxy", "haproxy", "ka_rps", ">=", 1.4),
    ("wrk `Connection: close` req/s, rawlb / nft", "nft", "close_rps", ">=", 1.15),
    ("wrk `Connection: close` req/s, rawlb / HAProxy", "haproxy", "close_rps", ">=", 1.5),
    ("iperf3 one TCP stream, rawlb / nft", "nft", "tcp_gbit", ">=", 0.85),
    ("iperf3 one TCP stream, rawlb / HAProxy", "haproxy", "tcp_gbit", ">=", 1.3),
    ("64 B UDP delivered pps, iperf3, rawlb / nft", "nft", "udp_delivered_kpps", ">=", 1.3),
    ("64 B UDP delivered pps, rawlb-replay, rawlb / nft", "nft", "replay_delivered_kpps", ">=", 1.3),
]
P99_RATIO_MAX = 1.5        # keep-alive p99 at most this times nft's p99 in the same round
OVERLOAD_P99_MS = 5.0      # rawlb-replay at top speed through rawlb: one-way p99
COUNTED_SHARE = 0.99       # "drops counted": the counted drops explain this share of the frames lost
# Where a replay frame past the client's link can be dropped, in the path's order, each counted once:
# (metric, heading, summed for rawlb, summed for the kernel's paths). The director's int tx_dropped
# is what the kernel refused to send there: forwarding in the kernel, those frames are lost; rawlb
# gets each refusal back as ENOBUFS and retries, so for rawlb its send failures (the frames it gave
# up) count and int tx_dropped (every refused attempt) is shown only.
PLACES = [
    ("replay_ext_drops", "director ext rx_dropped + rx_missed", True, True),
    ("replay_lb_ring_drops", "rawlb receive buffer", True, False),
    ("replay_lb_overload_drops", "rawlb overload", True, False),
    ("replay_lb_fastpath_drops", "rawlb fastpath", True, False),
    ("replay_lb_send_failures", "rawlb send failures", True, False),
    ("replay_int_tx_dropped", "director int tx_dropped", False, True),
    ("replay_rs_drops", "real servers' eth0 rx_dropped + rx_missed", True, True),
    ("replay_sink_drops", "sinks' sockets", True, True),
]

NAMES = {"route": "kernel routing (no balancing, rs1 only)", "nft": "kernel nftables DNAT",
         "haproxy": "HAProxy (mode tcp, leastconn)", "lb": "**rawlb** (default `--workers`)"}
SHORT = {"route": "routing", "nft": "nft", "haproxy": "HAProxy", "lb": "rawlb"}
for n in range(1, 100):
    NAMES["lbw%d" % n] = "rawlb `--workers %d`" % n
    SHORT["lbw%d" % n] = "rawlb -w%d" % n
TESTS = [("ka", "keep-alive"), ("close", "close"), ("tcp", "TCP"), ("udp", "iperf3 UDP"), ("replay", "replay")]

vals = {}   # (mode, metric) -> {round: value}
texts = {}  # (mode, metric) -> {round: text}, e.g. the sinks' split "a/b"
modes, rounds = [], []
for line in open(a.results):
    f = line.split()
    if len(f) != 4:
        continue
    r, m, k, v = int(f[0]), f[1], f[2], f[3]
    if m not in modes:
        modes.append(m)
    if r not in rounds:
        rounds.append(r)
    if v == "NA":
        continue
    try:
        vals.setdefault((m, k), {})[r] = float(v)
    except ValueError:
        texts.setdefault((m, k), {})[r] = v
rawlbs = [m for m in modes if m == "lb" or m.startswith("lbw")]


def get(m, k, r):
    return vals.get((m, k), {}).get(r)


def med(m, k):
    v = list(vals.get((m, k), {}).values())
    return statistics.median(v) if v else None


def same_round_ratios(m, other, k):
    return [get(m, k, r) / get(other, k, r) for r in rounds
            if get(m, k, r) is not None and get(other, k, r)]


def med_same_round(m, other, k):
    v = same_round_ratios(m, other, k)
    return statistics.median(v) if v else None


def ratio(m, other, k):
    x, y = med(m, k), med(other, k)
    return x / y if x is not None and y else None


def fmt(x, nd=0):
    return "n/a" if x is None else "{:,.{}f}".format(x, nd)


def fr(x):
    return "" if x is None else "%.2f" % x


def sumv(m, k):
    v = list(vals.get((m, k), {}).values())
    return sum(v) if v else None


def summed(m, place):
    """Whether a place's count adds into the drops counted on path m."""
    return place[2] if m in rawlbs else place[3]


def counted(m, r):
    """The drops counted in the replay test of round r on path m, every place summed; None when the
    interfaces' counters (or, through rawlb, its metrics) were not read. rawlb's overload counter is
    missing from builds older than it: left out then, and its cell says so."""
    total = 0
    for p in PLACES:
        if not summed(m, p):
            continue
        x = get(m, p[0], r)
        if x is None and p[0] != "replay_lb_overload_drops":
            return None
        total += x or 0
    return total


def counted_all(m):
    v = [counted(m, r) for r in rounds if get(m, "replay_lost", r) is not None]
    return None if not v or None in v else sum(v)


def udp_cell(m, pre, r):
    d, o = get(m, pre + "_delivered_kpps", r), get(m, pre + "_offered_kpps", r)
    return "n/a" if d is None else "%s (%s)" % (fmt(d), fmt(o))


out = ["One run of `tools/bench/bench.sh`: %s." % a.meta, ""]

# ---- every round: the figures
out.append("**Every round** (one row per round and path; p99 from `wrk --latency`, \"/ nft\" is the ratio "
           "to nft's p99 in the same round; UDP columns delivered kpps (offered); replay p99 is the "
           "one-way latency of every frame the sinks got; lost = offered - refused by the client's link - "
           "counted by the sinks, counted = the drops counted past the client's link, every place summed "
           "(the drops table below):")
out.append("")
out.append("| round | path | keep-alive req/s | keep-alive p99 ms | p99 / nft | close req/s | close p99 ms "
           "| TCP Gbit/s | iperf3 UDP kpps | replay kpps | replay p99 ms | replay lost / counted | wrk errors |")
out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in rounds:
    for m in modes:
        if get(m, "setup_failed", r):
            out.append("| %d | %s | set-up failed |  |  |  |  |  |  |  |  |  |  |" % (r, SHORT.get(m, m)))
            continue
        kp, np_ = get(m, "ka_p99_ms", r), get("nft", "ka_p99_ms", r)
        lost, cnt = get(m, "replay_lost", r), counted(m, r)
        lc = "n/a" if lost is None else "%s / %s" % (fmt(lost), "n/a" if cnt is None else fmt(cnt))
        out.append("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s/%s |" % (
            r, SHORT.get(m, m), fmt(get(m, "ka_rps", r)), fmt(kp, 2),
            fr(kp / np_) if kp is not None and np_ else "", fmt(get(m, "close_rps", r)),
            fmt(get(m, "close_p99_ms", r), 2), fmt(get(m, "tcp_gbit", r), 2),
            "n/a (TCP only)" if m == "haproxy" else udp_cell(m, "udp", r),
            "n/a (TCP only)" if m == "haproxy" else udp_cell(m, "replay", r),
            fmt(get(m, "replay_p99_ms", r), 2), lc,
            fmt(get(m, "ka_errors", r)), fmt(get(m, "close_errors", r))))

# ---- every round: CPU
out.append("")
out.append("**CPU use, every round**, in % of one core over each test (the replay test's processes: over the time its frames flowed): the director's tasks (rawlb's "
           "threads or HAProxy; none for the kernel paths, whose work is softirq) with each task of 1% "
           "or more by name, then the real servers' namespaces (nginx, iperf3 -s; not the replay test's sinks, "
           "which end before its last reading), the load tool (wrk, iperf3 -c, rawlb-replay), the machine's softirq and, in "
           "brackets, the whole machine (2 cores: 200):")
out.append("")
out.append("| round | path | " + " | ".join(t for _, t in TESTS) + " |")
out.append("|---|---|" + "---|" * len(TESTS))
for r in rounds:
    for m in modes:
        cells = []
        for t, _ in TESTS:
            lb = get(m, t + "_cpu_lb", r)
            if lb is None:
                cells.append("")
                continue
            tasks = texts.get((m, t + "_cpu_lb_tasks"), {}).get(r, "-")
            cells.append("%s%s / %s / %s / %s (%s)" % (
                fmt(lb), "" if tasks == "-" else " [%s]" % tasks.replace(",", ", "), fmt(get(m, t + "_cpu_rs", r)),
                fmt(get(m, t + "_cpu_client", r)), fmt(get(m, t + "_cpu_softirq", r)), fmt(get(m, t + "_cpu_busy", r))))
        out.append("| %d | %s | %s |" % (r, SHORT.get(m, m), " | ".join(cells)))

# ---- medians
med_lines = []
med_lines.append("**Medians** of the %d rounds, per column; the ratio rows are what the targets refer to "
                 "(p99 ratios: the median of each round's own ratio to nft's p99 in that round):" % len(rounds))
med_lines.append("")
med_lines.append("| path | keep-alive req/s | keep-alive p99 ms | close req/s | close p99 ms | TCP Gbit/s "
                 "| iperf3 UDP delivered kpps | replay delivered kpps | replay offered kpps | replay p99 ms "
                 "| director CPU % (keep-alive / close / TCP / UDP / replay) |")
med_lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
for m in modes:
    cpu = " / ".join(fmt(med(m, t + "_cpu_lb")) for t, _ in TESTS) if m not in ("route", "nft") else "(softirq)"
    tcp_only = m == "haproxy"
    med_lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
        NAMES.get(m, m), fmt(med(m, "ka_rps")), fmt(med(m, "ka_p99_ms"), 2), fmt(med(m, "close_rps")),
        fmt(med(m, "close_p99_ms"), 2), fmt(med(m, "tcp_gbit"), 2),
        "n/a" if tcp_only else fmt(med(m, "udp_delivered_kpps")), "n/a" if tcp_only else fmt(med(m, "replay_delivered_kpps")),
        "n/a" if tcp_only else fmt(med(m, "replay_offered_kpps")), "n/a" if tcp_only else fmt(med(m, "replay_p99_ms"), 2), cpu))
for m in rawlbs:
    for other in ("nft", "haproxy"):
        if other not in modes:
            continue
        udp = other != "haproxy"
        med_lines.append("| %s / %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |  |" % (
            SHORT[m], SHORT[other], fr(ratio(m, other, "ka_rps")), fr(med_same_round(m, other, "ka_p99_ms")),
            fr(ratio(m, other, "close_rps")), fr(med_same_round(m, other, "close_p99_ms")),
            fr(ratio(m, other, "tcp_gbit")), fr(ratio(m, other, "udp_delivered_kpps")) if udp else "",
            fr(ratio(m, other, "replay_delivered_kpps")) if udp else "",
            fr(ratio(m, other, "replay_offered_kpps")) if udp else "",
            fr(med_same_round(m, other, "replay_p99_ms")) if udp else ""))
out.append("")
out.extend(med_lines)


# ---- targets
def verdict(x, op, want):
    if x is None:
        return "n/a"
    return "met" if (x >= want if op == ">=" else x <= want) else "not met"


tgt = []
tgt.append("**Targets** (Performance issue) for rawlb at its default `--workers`, from the medians above; "
           "the verdict is computed:")
tgt.append("")
tgt.append("| target | wanted | measured | verdict |")
tgt.append("|---|---|---|---|")
met = total = 0
conns = re.search(r"(\d+) connections", a.meta)
for label, other, k, op, want in RATIO_TARGETS:
    x = ratio("lb", other, k) if "lb" in modes and other in modes else None
    v = verdict(x, op, want)
    met, total = met + (v == "met"), total + 1
    tgt.append("| %s | %s %.2f | %s | %s |" % (label % (conns.group(1) if conns else "32") if "%s" in label else label,
                                              "≥" if op == ">=" else "≤", want, fr(x) or "n/a", v))
x = med_same_round("lb", "nft", "ka_p99_ms") if "lb" in modes else None
v = verdict(x, "<=", P99_RATIO_MAX)
met, total = met + (v == "met"), total + 1
tgt.append("| keep-alive p99, rawlb / nft's p99 in the same round | ≤ %.2f | %s | %s |" % (P99_RATIO_MAX, fr(x) or "n/a", v))
x = med("lb", "replay_p99_ms")
v = verdict(x, "<=", OVERLOAD_P99_MS)
met, total = met + (v == "met"), total + 1
tgt.append("| overload: rawlb-replay at top speed through rawlb, one-way p99 | ≤ %g ms | %s | %s |" % (
    OVERLOAD_P99_MS, "n/a" if x is None else "%.2f ms" % x, v))
lost, cnt = sumv("lb", "replay_lost"), counted_all("lb")
if lost is None or cnt is None:
    v, shown = "n/a", "n/a"
else:
    v = "met" if lost <= 0 or cnt >= COUNTED_SHARE * lost else "not met"
    where = ["%s %s" % (p[1], fmt(sumv("lb", p[0]))) for p in PLACES if summed("lb", p) and sumv("lb", p[0])]
    shown = "%s lost past the client's link, %s counted%s%s, all rounds" % (
        fmt(lost), fmt(cnt), " (%.1f%%)" % (100.0 * cnt / lost) if lost > 0 else "",
        ": " + ", ".join(where) if where else "")
met, total = met + (v == "met"), total + 1
tgt.append("| overload: drops counted (the kernel's and rawlb's counters explain the frames lost) | ≥ %d%% of them | %s | %s |" % (
    COUNTED_SHARE * 100, shown, v))
off, dlv = med("lb", "replay_offered_kpps"), med("lb", "replay_delivered_kpps")
tgt.append("| overload: offered / forwarded reached | reported | %s | reported |" % (
    "n/a" if not off or not dlv else "%.2f (%sk pps offered, %sk delivered)" % (off / dlv, fmt(off), fmt(dlv))))
tgt.append("")
tgt.append("%d of %d targets met. Memory per tracked connection and instructions per packet have their "
           "own sections (`tools/bench/memory.sh`, `tools/bench/instructions.sh`)." % (met, total))
out.append("")
out.extend(tgt)

# ---- the rest of what was measured
out.append("")
out.append("Also measured, every round (iperf3 UDP: the real server's UDP receive-buffer errors; rawlb-replay: "
           "frames each sink counted rs1/rs2, gaps in the stamps' sequences, how long the sinks received, "
           "first to last frame):")
out.append("")
out.append("| round | path | UDP rcvbuf errors | replay frames rs1/rs2 | replay gaps | sinks received s |")
out.append("|---|---|---|---|---|---|")
udp_modes = [m for m in modes if m != "haproxy"]
for r in rounds:
    for m in udp_modes:
        out.append("| %d | %s | %s | %s | %s | %s |" % (
            r, SHORT.get(m, m), fmt(get(m, "udp_rs_rcvbuf_errors", r)),
            texts.get((m, "replay_rs_share"), {}).get(r, "n/a"), fmt(get(m, "replay_seq_lost", r)),
            fmt(get(m, "replay_sink_s", r), 1)))


def place_cell(m, p, r):
    x = get(m, p[0], r)
    if not summed(m, p):   # rawlb's own places on a kernel path; int tx_dropped, shown only, through rawlb
        return "" if m not in rawlbs else "(%s)" % fmt(x)
    if x is None:
        return "not in this build" if p[0] == "replay_lb_overload_drops" and get(m, "replay_lb_ring_drops", r) is not None else "n/a"
    reasons = texts.get((m, "replay_lb_drop_reasons"), {}).get(r, "-") if p[0] == "replay_lb_fastpath_drops" else "-"
    return fmt(x) + ("" if reasons == "-" else " (%s)" % reasons.replace(",", ", "))


out.append("")
out.append("**Replay drops, per place**, every round: the frames offered, those the client's own link refused "
           "(not in \"lost\"), then each place past it where a frame can be dropped, in the path's order, from "
           "the counters read before and after the test: the kernel's per interface (`ip -s -s -j link` in each "
           "namespace; a full per-CPU backlog counts into the receiving device's rx_dropped), rawlb's metrics, "
           "the sinks'. Counted is their sum (in brackets: not summed; through rawlb the director's int tx_dropped "
           "counts every send the kernel refused, the retried ones too, and its send failures the frames it gave "
           "up), its share of lost after it. Host backlog drops: /proc/net/softnet_stat's dropped column, read "
           "in the director's namespace but per host, not per namespace (every namespace's and the host's own "
           "work); a check on the backlog drops counted per interface. Last, every interface drop counter that "
           "moved (namespace/interface; sw is the switch, its ports' counters mirror the hops'):")
out.append("")
out.append("| round | path | offered | client link | lost | " + " | ".join(p[1] for p in PLACES)
           + " | counted | host backlog drops | interface counters that moved |")
out.append("|---|---|---|---|---|" + "---|" * len(PLACES) + "---|---|---|")
for r in rounds:
    for m in udp_modes:
        lost, cnt = get(m, "replay_lost", r), counted(m, r)
        share = "" if cnt is None or not lost else " (%.1f%%)" % (100.0 * cnt / lost)
        out.append("| %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r, SHORT.get(m, m), fmt(get(m, "replay_offered", r)), fmt(get(m, "replay_link_drops", r)), fmt(lost),
            " | ".join(place_cell(m, p, r) for p in PLACES), fmt(cnt) + share,
            fmt(get(m, "replay_host_backlog_drops", r)),
            texts.get((m, "replay_if_drops"), {}).get(r, "n/a").replace(",", ", ")))
failed = [m for m in modes if vals.get((m, "setup_failed"))]
if failed:
    out.append("")
    out.append("Set-up failed in some rounds for: " + ", ".join(failed))
if a.counters:
    try:
        lines = [l.rstrip() for l in open(a.counters) if l.strip()]
    except OSError:
        lines = []
    if lines:
        out.append("")
        out.append("rawlb's own counters, logged when it stopped after each round (all five tests):")
        out.append("")
        out.append("```")
        out.extend(lines)
        out.append("```")
print("\n".join(out))

if a.readme:
    with open(a.readme, "w") as f:
        f.write("\n".join(["From one run of `tools/bench/bench.sh`: %s." % a.meta, ""] + med_lines + [""] + tgt) + "\n")

if a.history_row:
    def h(x):
        return fr(x) or "n/a"
    extra = [m[3:] for m in rawlbs if m != "lb"]
    row = [a.date, a.rev, a.load, "default" + ("; %s also" % ", ".join(extra) if extra else ""),
           h(ratio("lb", "nft", "ka_rps")), h(ratio("lb", "haproxy", "ka_rps")),
           h(ratio("lb", "nft", "close_rps")), h(ratio("lb", "haproxy", "close_rps")),
           h(ratio("lb", "nft", "tcp_gbit")), h(ratio("lb", "haproxy", "tcp_gbit")),
           h(ratio("lb", "nft", "udp_delivered_kpps")), h(ratio("lb", "nft", "replay_delivered_kpps")),
           h(med_same_round("lb", "nft", "ka_p99_ms")),
           "n/a" if med("lb", "replay_p99_ms") is None else "%.2f" % med("lb", "replay_p99_ms"),
           "n/a" if not off or not dlv else "%.2f" % (off / dlv), "%d of %d" % (met, total)]
    with open(a.history_row, "w") as f:
        f.write("| date | rawlb | load before | workers | keep-alive /nft | keep-alive /HAProxy | close /nft "
                "| close /HAProxy | TCP /nft | TCP /HAProxy | iperf3 UDP /nft | replay UDP /nft "
                "| keep-alive p99 /nft | overload p99 ms | offered/forwarded | targets met |\n")
        f.write("|" + "---|" * 16 + "\n")
        f.write("| " + " | ".join(row) + " |\n")

metrics = [("keep-alive req/s", "ka_rps"), ("close req/s", "close_rps"), ("TCP Gbit/s", "tcp_gbit"),
           ("iperf3 UDP pps", "udp_delivered_kpps"), ("replay UDP pps", "replay_delivered_kpps")]
with open(a.chart, "w") as f:
    f.write("metric " + " ".join('"%s"' % SHORT.get(m, m) for m in modes) + "\n")
    for label, k in metrics:
        base = med("nft", k)
        f.write('"%s" %s\n' % (label, " ".join("NA" if med(m, k) is None or not base else "%.3f" % (med(m, k) / base)
                                               for m in modes)))
