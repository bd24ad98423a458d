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
python3 "$here/tools/bench/gen_flows.py" "$w/f" --tcp "$TCP" --udp "$UDP" >/dev/null
FLAGS="-e ext -i int -n 203.0.113.1 -t 198.51.100.10:80 -s rr -r 203.0.113.11:80 -r 203.0.113.12:80
       -u 198.51.100.10:53 -s rr -r 203.0.113.11:53 -r 203.0.113.12:53"
run() { # repeat -> prints "total_Ir fastpath_Ir"; counters in $w/counts.$1
  valgrind --tool=callgrind --callgrind-out-file="$w/cg.$1" "$pcap" $FLAGS --in-ext "$w/f-ext.pcap" \
    --in-int "$w/f-int.pcap" --repeat "$1" --quiet > "$w/counts.$1" 2> "$w/vg.$1" || { cat "$w/vg.$1" >&2; exit 1; }
  local total fp
  total=$(awk '/^(summary|totals):/{print $2; exit}' "$w/cg.$1")
  fp=$(callgrind_annotate --inclusive=yes --threshold=100 "$w/cg.$1" 2>/dev/null |
       awk '/fastpath_handle/{gsub(",","",$1); print $1; exit}')
  echo "$total ${fp:-0}"
}
read -r t1 f1 < <(run 1)
read -r t11 f11 < <(run 11)
get() { awk -v k="$1" '$1==k{print $2}' "$w/counts.$2"; }
frames=$(get frames_per_pass 1); sent=$(( $(get sent_ext 11) + $(get sent_int 11) )); dropped=$(get dropped 11)
[ "$dropped" = 0 ] || { echo "warning: $dropped frames dropped:"; grep '^drop_' "$w/counts.11"; }
per=$(awk -v a="$t11" -v b="$t1" -v n="$frames" 'BEGIN{printf "%.0f", (a-b)/(10*n)}')
perfp=$(awk -v a="$f11" -v b="$f1" -v n="$frames" 'BEGIN{printf "%.0f", (a-b)/(10*n)}')
cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt"); cc=$($cc --version | head -1)
bt=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
text="Instructions per forwarded packet, counted by callgrind on \`rawlb-pcap\` (the fast path fed
from pcap files): $TCP TCP flows (SYN, SYN-ACK, ACK, request, 1 KB response, ACK, FIN, FIN, ACK) and
$UDP UDP flows (query, reply) through one VIP, both directions, every frame a new or tracked flow of
ours, $frames frames per pass, $sent of $((frames * 11)) sent and $dropped dropped over 11 passes.
(Ir(11 passes) - Ir(1 pass)) / (10 x $frames) = **$per instructions per packet** for the whole
program (the driver's share: copying each frame into the buffer and moving client addresses; no
output files in this run), of which **$perfp in fastpath_handle** (inclusive). Build: $bt, $cc, commit
$(git -C "$here" rev-parse --short HEAD). Reproduce: \`tools/bench/instructions.sh BUILD_DIR\`."
echo "$text"
echo "raw: Ir(1)=$t1 Ir(11)=$t11 fastpath_handle Ir(1)=$f1 Ir(11)=$f11"
[ -z "$MD" ] || { printf '%s\n' "$text" | "$here/tools/bench/md_section.sh" "$MD" instructions; echo "written to $MD"; }
