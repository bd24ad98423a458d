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
# The same is measured on TCP flows alone and UDP flows alone (a table after the figure).
# usage: tools/bench/instructions.sh [BUILD_DIR]   env: TCP=1000 UDP=1000 (flows), MD=BENCHMARKS.md
#        (MD= to not write BENCHMARKS.md)
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$here/build}" && pwd)
TCP=${TCP:-1000}; UDP=${UDP:-1000}
MD=${MD-$here/BENCHMARKS.md}
pcap=$build/rawlb-pcap
[ -x "$pcap" ] || { echo "no rawlb-pcap in $build: cmake --build $build --target rawlb-pcap"; exit 2; }
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
cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt"); cc=$($cc --version | head -1)
bt=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
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
| both (the figure above) | $frames | $perfp |"
echo "$text"
[ -z "$MD" ] || { printf '%s\n' "$text" | "$here/tools/bench/md_section.sh" "$MD" instructions; echo "written to $MD"; }
