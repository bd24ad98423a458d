#!/usr/bin/env python3
"""summary.py RESULTS CHART_DAT META [RAWLB_COUNTERS]: from bench.sh's results ("run mode metric
value" lines) prints the Markdown for BENCHMARKS.md (medians, ratios rawlb/nft and rawlb/haproxy,
every run's values) and writes CHART_DAT for chart.gp (each metric normalised to nft = 1)."""
import statistics
import sys

res, chart, meta = sys.argv[1:4]
counters = sys.argv[4] if len(sys.argv) > 4 else None
NAMES = {"route": "kernel routing (no balancing, rs1 only)", "nft": "kernel nftables DNAT",
         "haproxy": "HAProxy (mode tcp, leastconn)", "lb": "**rawlb**"}
SHORT = {"route": "routing", "nft": "nft", "haproxy": "HAProxy", "lb": "rawlb"}
vals = {}  # (mode, metric) -> [values]
texts = {}  # (mode, metric) -> [values that are not numbers, e.g. the sinks' split "a/b"]
modes = []
for line in open(res):
    f = line.split()
    if len(f) != 4:
        continue
    r, m, k, v = f
    if m not in modes:
        modes.append(m)
    if v == "NA":
        continue
    try:
        vals.setdefault((m, k), []).append(float(v))
    except ValueError:
        texts.setdefault((m, k), []).append(v)


def med(m, k):
    v = vals.get((m, k))
    return statistics.median(v) if v else None


def fmt(x, nd=0):
    if x is None:
        return "n/a"
    return "{:,.{}f}".format(x, nd)


def ratio(a, b, k):
    x, y = med(a, k), med(b, k)
    return "%.2f" % (x / y) if x is not None and y else ""


out = []
out.append("One run of `tools/bench/bench.sh`: %s." % meta)
out.append("")


def udp_cell(m, pre):
    if m == "haproxy":
        return "n/a (TCP only)"
    if med(m, pre + "_delivered_kpps") is None:
        return "n/a"
    return "%sk pps (%sk, %s%%)" % (fmt(med(m, pre + "_delivered_kpps")), fmt(med(m, pre + "_offered_kpps")),
                                   fmt(med(m, pre + "_loss_pct"), 1 if pre == "replay" else 0))


out.append("| path | keep-alive req/s | close req/s | iperf3 TCP Gbit/s | iperf3 64 B UDP delivered (offered, loss) "
           "| rawlb-replay 64 B UDP delivered (offered, loss) |")
out.append("|---|---|---|---|---|---|")
for m in modes:
    out.append("| %s | %s (p99 %s ms) | %s (p99 %s ms) | %s | %s | %s |" % (
        NAMES.get(m, m), fmt(med(m, "ka_rps")), fmt(med(m, "ka_p99_ms"), 2), fmt(med(m, "close_rps")),
        fmt(med(m, "close_p99_ms"), 2), fmt(med(m, "tcp_gbit"), 2), udp_cell(m, "udp"), udp_cell(m, "replay")))
for other in ("nft", "haproxy"):
    if "lb" in modes and other in modes:
        out.append("| rawlb / %s | %s | %s | %s | %s | %s |" % (
            SHORT[other], ratio("lb", other, "ka_rps"), ratio("lb", other, "close_rps"),
            ratio("lb", other, "tcp_gbit"), ratio("lb", other, "udp_delivered_kpps"),
            ratio("lb", other, "replay_delivered_kpps")))
out.append("")
out.append("Every run (keep-alive req/s, close req/s, Gbit/s, iperf3 UDP delivered/offered kpps and loss %, the")
out.append("real server's UDP receive-buffer errors during the iperf3 UDP test, rawlb-replay delivered/offered")
out.append("kpps, loss % and how long the sinks received, first to last frame (the sender's time is in the heading),")
out.append("the replay frames each sink counted (rs1/rs2), the replay frames lost before the")
out.append("balancer (the client's veth refused them: `link_drops`), on the sinks' own sockets and as gaps in the")
out.append("stamps' sequences, wrk socket errors keep-alive/close):")
out.append("")
out.append("| path | keep-alive | close | Gbit/s | UDP kpps | UDP rcvbuf errors | replay kpps | replay frames rs1/rs2 "
           "| replay drops: client link / sink socket / sequence gaps | wrk errors |")
out.append("|---|---|---|---|---|---|---|---|---|---|")
for m in modes:
    def runs(k, nd=0):
        return " / ".join(fmt(x, nd) for x in vals.get((m, k), [])) or "n/a"
    udp = "n/a"
    if vals.get((m, "udp_delivered_kpps")):
        udp = " / ".join("%s of %s (%s%%)" % (fmt(d), fmt(o), fmt(l)) for d, o, l in zip(
            vals[(m, "udp_delivered_kpps")], vals.get((m, "udp_offered_kpps"), []), vals.get((m, "udp_loss_pct"), [])))
    rep = "n/a"
    if vals.get((m, "replay_delivered_kpps")):
        rep = " / ".join("%s of %s (%s%%, %s s)" % (fmt(d), fmt(o), fmt(l, 1), fmt(t, 1)) for d, o, l, t in zip(
            vals[(m, "replay_delivered_kpps")], vals.get((m, "replay_offered_kpps"), []),
            vals.get((m, "replay_loss_pct"), []), vals.get((m, "replay_sink_s"), [])))
    share = " / ".join(texts.get((m, "replay_rs_share"), [])) or "n/a"
    rdrops = " / ".join("%s, %s, %s" % (fmt(a), fmt(b), fmt(c)) for a, b, c in zip(
        vals.get((m, "replay_link_drops"), []), vals.get((m, "replay_sink_drops"), []),
        vals.get((m, "replay_seq_lost"), []))) or "n/a"
    errs = " / ".join("%d/%d" % (a, b) for a, b in zip(vals.get((m, "ka_errors"), []), vals.get((m, "close_errors"), [])))
    out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
        SHORT.get(m, m), runs("ka_rps"), runs("close_rps"), runs("tcp_gbit", 2), udp, runs("udp_rs_rcvbuf_errors"),
        rep, share, rdrops, errs))
failed = [m for m in modes if vals.get((m, "setup_failed"))]
if failed:
    out.append("")
    out.append("Set-up failed in some runs for: " + ", ".join(failed))
if counters:
    try:
        lines = [l.rstrip() for l in open(counters) if l.strip()]
    except OSError:
        lines = []
    if lines:
        out.append("")
        out.append("rawlb's own counters, logged when it stopped after each run (all five tests):")
        out.append("")
        out.append("```")
        out.extend(lines)
        out.append("```")
print("\n".join(out))

metrics = [("keep-alive req/s", "ka_rps"), ("close req/s", "close_rps"), ("TCP Gbit/s", "tcp_gbit"),
           ("iperf3 UDP pps", "udp_delivered_kpps"), ("replay UDP pps", "replay_delivered_kpps")]
cols = [m for m in ("route", "nft", "haproxy", "lb") if m in modes]
with open(chart, "w") as f:
    f.write("metric " + " ".join('"%s"' % SHORT[m] for m in cols) + "\n")
    for label, k in metrics:
        base = med("nft", k)
        row = []
        for m in cols:
            v = med(m, k)
            row.append("NA" if v is None or not base else "%.3f" % (v / base))
        f.write('"%s" %s\n' % (label, " ".join(row)))
