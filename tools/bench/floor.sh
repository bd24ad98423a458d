#!/bin/bash
# How far this box lets a packet-socket forwarder go, and how much of the distance to kernel
# forwarding is rawlb's own: bench.sh's tests (wrk keep-alive and close, iperf3 one TCP stream and
# 64-byte UDP, rawlb-replay at top speed) through rawlb at its default --workers and through
# bench-floor (tools/bench/floor.c: one thread, no table, one real server, nothing but the
# rewrite) in its place, each next to kernel nftables DNAT in the same bench.sh run, ROUNDS rounds
# alternating the two. Prints each one's ratio to nft per round and the medians, and writes them
# into BENCHMARKS.md between markers. The same caveats as bench.sh: ratios within a run, and on a
# box where the load tools share the cores the floor moves with them.
# usage: sudo tools/bench/floor.sh [BUILD_DIR]   env: ROUNDS=3 DUR=3 RDUR=4 (as bench.sh's)
#        MD=BENCHMARKS.md (MD= not written), TOPO_PREFIX (bench.sh's)
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$here/build}" && pwd)
ROUNDS=${ROUNDS:-3}; DUR=${DUR:-3}; RDUR=${RDUR:-4}
MD=${MD-$here/BENCHMARKS.md}
[ -x "$build/bench-floor" ] || { echo "no bench-floor in $build: build first"; exit 2; }
w=$(mktemp -d /tmp/rawlb-floor.XXXXXX); trap 'rm -rf "$w"' EXIT
for r in $(seq 1 "$ROUNDS"); do
  for f in rawlb floor; do
    echo "[$(date +%T)] round $r: $f" >&2
    FORWARDER=$f MODES="nft lb" LB_WORKERS= RUNS=1 DUR=$DUR RDUR=$RDUR MD= README= PNG= HISTORY=0 \
      WORK=$w/$f.$r "$here/tools/bench/bench.sh" "$build" > "$w/$f.$r.out" 2> "$w/$f.$r.err" ||
      { tail -n 20 "$w/$f.$r.err" >&2; exit 1; }
    cp "$w/$f.$r/results.tsv" "$w/$f.$r.tsv"
  done
done
text=$(python3 - "$w" "$ROUNDS" "$DUR" "$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?')" <<'PY'
import statistics, sys
w, rounds, dur, rev = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
TESTS = [("ka_rps", "keep-alive"), ("close_rps", "close"), ("tcp_gbit", "TCP"),
         ("udp_delivered_kpps", "iperf3 UDP"), ("replay_delivered_kpps", "replay UDP")]
def load(f, r):
    v = {}
    for line in open("%s/%s.%d.tsv" % (w, f, r)):
        run, mode, key, val = line.split()[:4]
        try:
            v[(mode, key)] = float(val)
        except ValueError:
            pass  # a count the run could not take ("-", "n/a")
    return v
def ratio(v, key):
    lb, nft = v.get(("lb", key)), v.get(("nft", key))
    return lb / nft if lb is not None and nft else None
def cell(x, fmt="%.2f"):
    return "n/a" if x is None else fmt % x
rows, per = [], {"rawlb": {k: [] for k, _ in TESTS}, "floor": {k: [] for k, _ in TESTS}}
p99 = {"rawlb": [], "floor": []}
for r in range(1, rounds + 1):
    for f in ("rawlb", "floor"):
        v = load(f, r)
        rs = [ratio(v, k) for k, _ in TESTS]
        for (k, _), x in zip(TESTS, rs):
            if x is not None:
                per[f][k].append(x)
        q = v.get(("lb", "replay_p99_ms"))
        if q is not None:
            p99[f].append(q)
        rows.append("| %d | %s | %s | %s |" % (r, f, " | ".join(cell(x) for x in rs), cell(q)))
med = lambda xs: statistics.median(xs) if xs else None
name = {"rawlb": "rawlb (default `--workers`)", "floor": "bench-floor"}
head = " | ".join("%s / nft" % t for _, t in TESTS)
print("`tools/bench/floor.sh` (ROUNDS=%s, DUR=%s s per test), build %s: each forwarder's figures over kernel" % (rounds, dur, rev))
print("nftables DNAT's in the same bench.sh run (replay p99: the one-way latency through the forwarder, ms).")
print()
print("| round | forwarder | %s | replay p99 ms |" % head)
print("|---|---|%s---|" % ("---|" * len(TESTS)))
print("\n".join(rows))
for f in ("rawlb", "floor"):
    print("| median | %s | %s | %s |" % (name[f], " | ".join(cell(med(per[f][k])) for k, _ in TESTS), cell(med(p99[f]))))
PY
)
echo "$text"
[ -z "$MD" ] || { printf '%s\n' "$text" | "$here/tools/bench/md_section.sh" "$MD" floor; echo "written to $MD"; }
