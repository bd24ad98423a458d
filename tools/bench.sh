#!/bin/bash
# First benchmark: rawlb next to kernel nftables DNAT and HAProxy on the same lab topology, in
# one run of ../shared/bench/anchors.sh (wrk keep-alive and close, iperf3, 64-byte UDP).
# Compare the ratios within one run; absolute numbers move between runs and machines.
# usage: sudo tools/bench.sh [BUILD_DIR] [modes...]   (default: build, modes "nft haproxy lb")
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$here/build}" && pwd); shift || true
anchors=${ANCHORS:-$here/../shared/bench/anchors.sh}
[ -x "$build/rawlb" ] || { echo "no rawlb in $build: build first (cmake -S . -B build && cmake --build build)"; exit 2; }
[ -f "$anchors" ] || { echo "no $anchors (the planning folder's bench scripts)"; exit 2; }
export LB_CMD="$build/rawlb -e ext -i int -n 203.0.113.1 -t 198.51.100.10:80 -r 203.0.113.11:80 \
  -r 203.0.113.12:80 -t 198.51.100.10:5201 -r 203.0.113.11:5201 -u 198.51.100.10:5201 -r 203.0.113.11:5201 \
  --ctl /tmp/bench/rawlb.sock --pidfile /tmp/bench/rawlb.pid"
exec bash "$anchors" "${@:-nft haproxy lb}"
