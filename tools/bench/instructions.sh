#!/bin/bash
# Instructions per forwarded packet: a figure that does not move with machine noise.
# Generates complete TCP and UDP exchanges through a VIP (gen_flows.py: both directions, as the two
# interfaces see them), runs rawlb-pcap (the real fast path fed from pcap files) under
# valgrind --tool=callgrind with --repeat 1 and --repeat 11, and reports
#   (Ir(11) - Ir(1)) / (10 x frames per pass)
# so that start-up (config, tables, reading the files) cancels out. Each pass moves the client
# addresses, so every pass makes new connections as the first did. Also reported: the same
# difference counted inside fastpath_handle alone (callgrind_annotate --inclusive), which leaves out
# the driver's own per-frame work (copying the frame into the buffer, moving addresses, pcap_dump).
# The same is measured on TCP flows alone and UDP flows alone (a table after the figure), and where
# fastpath_handle's instructions go: callgrind collecting inside fastpath_handle only, per source
# file and the function its code was compiled into (inline code counts in the file it comes from).
# The build must be optimised as shipped (RelWithDebInfo, the default, or Release); rawlb-pcap is
# brought up to date first, so the figure is the source's.
# usage: tools/bench/instructions.sh [BUILD_DIR]   env: TCP=1000 UDP=1000 (flows), MD=BENCHMARKS.md
#        (MD= to not write BENCHMARKS.md), RAWLB_REV (the commit to name, for a build of another tree)
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$here/build}" && pwd)
TCP=${TCP:-1000}; UDP=${UDP:-1000}
MD=${MD-$here/BENCHMARKS.md}
pcap=$build/rawlb-pcap
cache() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
[ -f "$build/CMakeCache.txt" ] || { echo "$build is not a CMake build directory: cmake -S $here -B $build"; exit 2; }
bt=$(cache CMAKE_BUILD_TYPE)
case "$bt" in
  RelWithDebInfo|Release) ;;
  *) echo "$build is a '$bt' build: instructions per packet mean something only optimised as shipped" \
          "(cmake -S $here -B $build -DCMAKE_BUILD_TYPE=RelWithDebInfo)"; exit 2 ;;
esac
[ "$(cache CMAKE_HOME_DIRECTORY)" = "$here" ] || [ -n "${RAWLB_REV:-}" ] ||
  { echo "$build is a build of $(cache CMAKE_HOME_DIRECTORY), not of $here: set RAWLB_REV to its commit"; exit 2; }
cmake --build "$build" --target rawlb-pcap >/dev/null
command -v valgrind >/dev/null || { echo "needs valgrind (tools/deps.sh)"; exit 2; }
w=$(mktemp -d /tmp/rawlb-instr.XXXXXX); trap 'rm -rf "$w"' EXIT
FLAGS="-e ext -i int -n 203.0.113.1 -t 198.51.100.10:80 -s rr -r 203.0.113.11:80 -r 203.0.113.12:80
       -u 198.51.100.10:53 -s rr -r 203.0.113.11:53 -r 203.0.113.12:53"
run() { # name repeat -> prints "total_Ir fastpath_Ir"; counters in $w/$1.counts.$2
  valgrind --tool=callgrind --callgrind-out-file="$w/$1.cg.$2" "$pcap" $FLAGS --in-ext "$w/$1-ext.pcap" \
    --in-int "$w/$1-int.pcap" --repeat "$2" --quiet > "$w/$1.counts.$2" 2> "$w/$1.vg.$2" || { cat "$w/$1.vg.$2" >&2; exit 1; }
  local total fp
  total=$(awk '/^(summary|totals):/{print $2; exit}' "$w/$1.cg.$2")
  fp=$(callgrind_annotate --inclusive=yes --threshold=100 "$w/$1.cg.$2" 2>/dev/null |
       awk '/:fastpath_handle( |$)/{gsub(",","",$1); print $1; exit}')
  echo "$total ${fp:-0}"
}
profile() { # name -> "file:function per-packet" rows inside fastpath_handle, (repeat 11 - repeat 1) / (10 x frames)
  local r
  for r in 1 11; do
    valgrind --tool=callgrind --toggle-collect=fastpath_handle --callgrind-out-file="$w/$1.prof.$r" "$pcap" $FLAGS \
      --in-ext "$w/$1-ext.pcap" --in-int "$w/$1-int.pcap" --repeat "$r" --quiet >/dev/null 2>&1
    callgrind_annotate --inclusive=no --threshold=100 --auto=no "$w/$1.prof.$r" > "$w/$1.prof.$r.txt" 2>/dev/null
  done
  python3 - "$w/$1.prof.1.txt" "$w/$1.prof.11.txt" "$(get frames_per_pass $1 1)" <<'PY'
import re, sys
def rows(path):
    out = {}
    for line in open(path):
        m = re.match(r"\s*([\d,]+) \([^)]*\)\s+(\S+):(\S+)", line)
        if m and m.group(2) != "PROGRAM":
            key = m.group(2).rsplit("/", 1)[-1] + ": " + m.group(3)
            out[key] = out.get(key, 0) + int(m.group(1).replace(",", ""))
    return out
one, eleven, frames = rows(sys.argv[1]), rows(sys.argv[2]), int(sys.argv[3])
per = sorted(((eleven.get(k, 0) - one.get(k, 0)) / (10 * frames), k) for k in set(one) | set(eleven))
for v, k in reversed(per):
    if v >= 1:
        print(f"| `{k}` | {v:.0f} |")
rest = sum(v for v, _ in per if v < 1)
print(f"| everything below 1 per packet | {rest:.0f} |")
PY
}
get() { awk -v k="$1" '$1==k{print $2}' "$w/$2.counts.$3"; }
measure() { # name tcp_flows udp_flows -> sets frames sent dropped per perfp
  python3 "$here/tools/bench/gen_flows.py" "$w/$1" --tcp "$2" --udp "$3" >/dev/null
  local t1 f1 t11 f11
  read -r t1 f1 < <(run $1 1)
  read -r t11 f11 < <(run $1 11)
  frames=$(get frames_per_pass $1 1); sent=$(( $(get sent_ext $1 11) + $(get sent_int $1 11) )); dropped=$(get dropped $1 11)
  [ "$dropped" = 0 ] || { echo "warning: $1: $dropped frames dropped:"; grep '^drop_' "$w/$1.counts.11"; }
  per=$(awk -v a="$t11" -v b="$t1" -v n="$frames" 'BEGIN{printf "%.0f", (a-b)/(10*n)}')
  perfp=$(awk -v a="$f11" -v b="$f1" -v n="$frames" 'BEGIN{printf "%.0f", (a-b)/(10*n)}')
  echo "$1: Ir(1)=$t1 Ir(11)=$t11 fastpath_handle Ir(1)=$f1 Ir(11)=$f11 frames/pass=$frames" >&2
}
measure tcp "$TCP" 0; tcp_fp=$perfp; tcp_frames=$frames
measure udp 0 "$UDP"; udp_fp=$perfp; udp_frames=$frames
measure mix "$TCP" "$UDP"
where=$(profile mix)
cc=$($(cache CMAKE_C_COMPILER) --version | head -1)
text="Instructions per forwarded packet, counted by callgrind on \`rawlb-pcap\` (the fast path fed
from pcap files): $TCP TCP flows (SYN, SYN-ACK, ACK, request, 1 KB response, ACK, FIN, FIN, ACK) and
$UDP UDP flows (query, reply) through one VIP, both directions, every frame a new or tracked flow of
ours, $frames frames per pass, $sent of $((frames * 11)) sent and $dropped dropped over 11 passes.
(Ir(11 passes) - Ir(1 pass)) / (10 x $frames) = **$per instructions per packet** for the whole
program (the driver's share: copying each frame into the buffer and moving client addresses; no
output files in this run), of which **$perfp in fastpath_handle** (inclusive). Build: $bt, $cc, commit
${RAWLB_REV:-$(git -C "$here" rev-parse --short HEAD)}. Reproduce: \`tools/bench/instructions.sh BUILD_DIR\`.

| traffic (both directions) | frames per pass | instructions per packet in fastpath_handle |
|---|---|---|
| TCP flows alone (a new connection every 9 frames) | $tcp_frames | $tcp_fp |
| UDP flows alone (a new connection every 2 frames) | $udp_frames | $udp_fp |
| both (the figure above) | $frames | $perfp |

Where they go (both kinds of flow; callgrind collecting inside \`fastpath_handle\` only; code inlined
into a function counts in the file it comes from):

| source file: function it runs in | instructions per packet |
|---|---|
$where"
echo "$text"
[ -z "$MD" ] || { printf '%s\n' "$text" | "$here/tools/bench/md_section.sh" "$MD" instructions; echo "written to $MD"; }
