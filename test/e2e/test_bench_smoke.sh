#!/bin/bash
# Smoke of the benchmark, so that it cannot rot: tools/bench/bench.sh once over kernel routing,
# nftables DNAT, HAProxy and rawlb (and rawlb --workers 1 when it has the flag), one second per
# test, one round, a one-second rawlb-replay, then tools/bench/floor.sh for one round of one
# second; BENCHMARKS.md, README.md and the chart are not written. Checks that the summary has
# every table, every path's row and a number in every column that path measures, a computed
# verdict for every target, and floor.sh's ratios for both forwarders. No timing is asserted: a CI
# machine's figures mean nothing.
# usage: bash test/e2e/test_bench_smoke.sh BUILD_DIR (the directory holding rawlb)
set -uo pipefail
TAG=bench_smoke
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BIN=$(cd "$1" 2>/dev/null && pwd) || { echo "FAIL [$TAG]: no build directory $1" >&2; exit 1; }
here=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "FAIL [$TAG]: needs root (network namespaces)" >&2; exit 1; }
# A prefix of its own, so a benchmark running with the default one is left alone; 7 characters at
# most (bench.sh's veth names carry it and must stay within 15).
P=bs$(($$ % 100000))
W=$(mktemp -d /tmp/rawlb-bench-smoke.XXXXXX)
bench_pid=""
cleanup() {
  local rc=$? n pid
  trap - EXIT INT TERM
  # bench.sh removes its namespaces itself; this is for a bench.sh that was killed
  [ -n "$bench_pid" ] && kill -TERM "$bench_pid" 2>/dev/null && wait "$bench_pid" 2>/dev/null
  for n in c lb1 rs1 rs2 sw; do
    [ -e "/run/netns/$P$n" ] || continue
    for pid in $(ip netns pids "$P$n" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$P$n" 2>/dev/null
  done
  if [ "${KEEP:-0}" = 1 ]; then echo "[$TAG] output kept in $W"; else rm -rf "$W"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

modes="route nft haproxy lb"
# not `--help | grep -q`: under pipefail, grep leaving at the first match can kill rawlb with SIGPIPE
# and the pipe then fails, dropping lbw1 without a word
case $("$BIN/rawlb" --help 2>&1) in *--workers*) modes="$modes lbw1" ;; esac
echo "[$TAG] bench.sh, modes: $modes"
DUR=1 RUNS=1 RDUR=1 MODES="$modes" MD= README= PNG= TOPO_PREFIX=$P WORK=$W/work \
  "$here/tools/bench/bench.sh" "$BIN" > "$W/summary.md" 2> "$W/bench.err" &
bench_pid=$!
wait $bench_pid; rc=$?; bench_pid=""
if [ $rc != 0 ]; then
  echo "FAIL [$TAG]: bench.sh exited $rc" >&2; tail -n 30 "$W/bench.err" "$W/summary.md" >&2; exit 1
fi

python3 - "$W/summary.md" "$W/work/history.md" $modes <<'PY' || { cat "$W/summary.md" >&2; exit 1; }
import re, sys
summary, history, modes = sys.argv[1], sys.argv[2], sys.argv[3:]
text = open(summary).read()
SHORT = {"route": "routing", "nft": "nft", "haproxy": "HAProxy", "lb": "rawlb"}
SHORT.update({"lbw%d" % n: "rawlb -w%d" % n for n in range(1, 10)})
NUM = re.compile(r"^-?[\d,]+(\.\d+)?( ms)?$")
bad = []

def table(heading):
    """The rows (lists of cells) of the first table after a line starting with heading."""
    lines = text.split("\n")
    start = next((i for i, l in enumerate(lines) if l.startswith(heading)), None)
    if start is None:
        bad.append("no table '%s'" % heading)
        return []
    rows = []
    for l in lines[start + 1:]:
        if l.startswith("|"):
            rows.append([c.strip() for c in l.strip().strip("|").split("|")])
        elif rows:
            break
    return rows[2:]   # past the heading and the rule

def number(cell):
    return bool(NUM.match(cell.split(" (")[0]))

rounds = table("**Every round**")
for m in modes:
    row = next((r for r in rounds if r[0] == "1" and r[1] == SHORT[m]), None)
    if not row:
        bad.append("every round: no row for %s" % m)
        continue
    # keep-alive, its p99, close, its p99, TCP for every path; both UDP columns and the replay p99
    # where the path carries UDP
    cols = [2, 3, 5, 6, 7] + ([] if m == "haproxy" else [8, 9, 10])
    bad += ["every round, %s: column %d is '%s'" % (m, c + 1, row[c]) for c in cols if not number(row[c])]
    if m != "haproxy" and not re.match(r"^-?[\d,]+ / [\d,]+$", row[11]):
        bad.append("every round, %s: lost / counted is '%s'" % (m, row[11]))
cpu = table("**CPU use, every round**")
for m in modes:
    row = next((r for r in cpu if r[1] == SHORT[m]), None)
    if not row:
        bad.append("CPU: no row for %s" % m)
        continue
    tests = 3 if m == "haproxy" else 5
    bad += ["CPU, %s: test %d is '%s'" % (m, i + 1, row[2 + i]) for i in range(tests)
            if not re.match(r"^\d+( \[.*\])? / \d+ / \d+ / \d+ \(\d+\)$", row[2 + i])]
    if m.startswith("lb") and "rawlb" not in row[2]:
        bad.append("CPU, %s: no rawlb task in '%s'" % (m, row[2]))
# the replay drops per place: offered, the client's link, lost, the director's ext, the real servers',
# the sinks', the sum counted and the host's backlog drops for every path that carries UDP; through
# rawlb its own places too (its overload counter may not be in this build)
drops = table("**Replay drops, per place**")
for m in modes:
    if m == "haproxy":
        continue
    row = next((r for r in drops if r[0] == "1" and r[1] == SHORT[m]), None)
    if not row:
        bad.append("drops: no row for %s" % m)
        continue
    cols = [2, 3, 4, 5, 11, 12, 13, 14] + ([6, 8, 9] if m.startswith("lb") else [10])
    bad += ["drops, %s: column %d is '%s'" % (m, c + 1, row[c]) for c in cols if not number(row[c])]
    if m.startswith("lb") and not (number(row[7]) or row[7] == "not in this build"):
        bad.append("drops, %s: rawlb overload is '%s'" % (m, row[7]))
medians = table("**Medians**")
for label in ("rawlb / nft", "rawlb / HAProxy"):
    row = next((r for r in medians if r[0] == label), None)
    if not row:
        bad.append("medians: no row '%s'" % label)
        continue
    cols = [1, 2, 3, 4, 5] + ([6, 7, 8, 9] if label.endswith("nft") else [])
    bad += ["medians, %s: column %d is '%s'" % (label, c + 1, row[c]) for c in cols if not number(row[c])]
if len(medians) < len(modes) + 2:
    bad.append("medians: %d rows for %d paths" % (len(medians), len(modes)))
targets = table("**Targets**")
verdicts = [r[3] for r in targets]
if len(targets) != 12 or verdicts.count("reported") != 1 or any(v not in ("met", "not met", "reported") for v in verdicts):
    bad.append("targets: verdicts %s" % verdicts)
if not re.search(r"^\d+ of 11 targets met\.", text, re.M):
    bad.append("no 'N of 11 targets met' line")
row = open(history).read().strip().split("\n")[-1].strip("|").split("|")
if len(row) != 16 or not all(number(c.strip()) for c in row[4:15]):
    bad.append("history row: %s" % row)
if bad:
    print("FAIL [bench_smoke]: " + "\n  ".join(bad), file=sys.stderr)
    sys.exit(1)
print("[bench_smoke] every table, row and column there: %s" % " ".join(modes))
PY

# tools/bench/floor.sh once: rawlb and bench-floor each next to nft, every ratio a number
echo "[$TAG] floor.sh"
ROUNDS=1 DUR=1 RDUR=1 MD= TOPO_PREFIX=$P "$here/tools/bench/floor.sh" "$BIN" > "$W/floor.md" 2> "$W/floor.err" &
bench_pid=$!
wait $bench_pid; rc=$?; bench_pid=""
[ $rc = 0 ] || { echo "FAIL [$TAG]: floor.sh exited $rc" >&2; tail -n 30 "$W/floor.err" "$W/floor.md" >&2; exit 1; }
python3 - "$W/floor.md" <<'PY' || { cat "$W/floor.md" >&2; exit 1; }
import re, sys
rows = [[c.strip() for c in l.strip().strip("|").split("|")] for l in open(sys.argv[1]) if l.startswith("| 1 |") or l.startswith("| median |")]
got = sorted(r[1].split(" ")[0] for r in rows)
bad = [] if got == ["bench-floor", "floor", "rawlb", "rawlb"] else ["rows: %s" % got]
bad += ["%s %s: column %d is '%s'" % (r[0], r[1], i + 1, c) for r in rows for i, c in enumerate(r[2:], 2)
        if not re.match(r"^\d+\.\d+$", c)]
if bad:
    print("FAIL [bench_smoke]: floor.sh: " + "; ".join(bad), file=sys.stderr)
    sys.exit(1)
print("[bench_smoke] floor.sh: rawlb and bench-floor, every ratio there")
PY
