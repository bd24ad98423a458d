#!/bin/bash
# Kept for old habits: the benchmark is tools/bench/bench.sh (kernel routing, nftables DNAT, HAProxy
# and rawlb in one run, 3 rounds, medians and ratios into BENCHMARKS.md, chart in docs/bench.png).
# usage: sudo tools/bench.sh [BUILD_DIR] [modes...]   (modes: route nft haproxy lb; default all four)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}; shift || true
[ $# -gt 0 ] && export MODES="$*"
exec "$here/tools/bench/bench.sh" "$build"
