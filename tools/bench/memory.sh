#!/bin/bash
# Memory per tracked connection (Performance target: at most 96 bytes). CONNS complete TCP handshakes
# (SYN, SYN-ACK, ACK; every client address and port its own, gen_flows.py --handshakes) are fed
# offline through the real fast path (rawlb-pcap, at rawlb's default --max-conns), so that every
# connection stays established and tracked, and reports two figures per tracked connection:
#   - the table's own: sizeof(struct conn) + both hash tables' buckets (uint32_t each, a power of
#     two at least the capacity) per entry of capacity;
#   - resident memory: what the process grew by while the fast path was made plus while the frames
#     were fed (the pool is calloc'd and backed lazily, the buckets are written at once), divided by
#     the connections tracked. Loading the pcap files into memory happens between the two readings
#     and is left out.
# The verdict takes the larger of the two. Writes its section of BENCHMARKS.md (md_section.sh).
# usage: tools/bench/memory.sh [BUILD_DIR]   env: CONNS=1000000 MD=BENCHMARKS.md (MD= to not write it)
#        RAWLB_REV=commit of the build, when it is not the checkout's HEAD
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
B=$here/tools/bench
build=$(cd "${1:-$here/build}" && pwd)
CONNS=${CONNS:-1000000}
MD=${MD-$here/BENCHMARKS.md}
TARGET_BYTES=96
pcap=$build/rawlb-pcap
[ -x "$pcap" ] || { echo "no rawlb-pcap in $build: cmake --build $build --target rawlb-pcap"; exit 2; }
w=$(mktemp -d /tmp/rawlb-memory.XXXXXX); trap 'rm -rf "$w"' EXIT
python3 "$B/gen_flows.py" "$w/hs" --tcp "$CONNS" --udp 0 --handshakes >&2
"$pcap" -e ext -i int -n 203.0.113.1 -t 198.51.100.10:80 -s rr -r 203.0.113.11:80 -r 203.0.113.12:80 \
  --in-ext "$w/hs-ext.pcap" --in-int "$w/hs-int.pcap" --quiet --memory > "$w/counts"
python3 - "$w/counts" "$CONNS" "$TARGET_BYTES" "${RAWLB_REV:-$(git -C "$here" rev-parse --short HEAD)}" \
  "$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null)" > "$w/section.md" <<'PY'
import sys, time
c = {}
for line in open(sys.argv[1]):
    k, v = line.split()
    c[k] = int(v)
conns, target, rev, btype = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
n = c["conn_tracked"]
table = c["conn_entry_bytes"] + c["conn_bucket_bytes"] * c["conn_buckets"] / c["conn_capacity"]
grown = (c["rss_table_made_kb"] - c["rss_start_kb"]) + (c["rss_fed_kb"] - c["rss_loaded_kb"])
rss = grown * 1024.0 / n if n else float("inf")
worst = max(table, rss)
print("%s, commit %s (%s): %s complete TCP handshakes fed offline through `rawlb-pcap` (rawlb's default "
      "`--max-conns`, %s entries); **%s connections tracked** at the end, %s frames sent, %s dropped."
      % (time.strftime("%Y-%m-%d", time.gmtime()), rev, btype or "build type unknown", format(conns, ","),
         format(c["conn_capacity"], ","), format(n, ","), format(c["sent_ext"] + c["sent_int"], ","),
         format(c["dropped"], ",")))
print()
print("| per tracked connection | bytes |")
print("|---|---|")
print("| the table's own: entry (`struct conn`) %d + buckets %d x %s / %s | %.1f |" % (
    c["conn_entry_bytes"], c["conn_bucket_bytes"], format(c["conn_buckets"], ","), format(c["conn_capacity"], ","), table))
print("| resident memory grown while the fast path was made (%s kB) and while the frames were fed (%s kB), "
      "over the connections tracked | %.1f |" % (format(c["rss_table_made_kb"] - c["rss_start_kb"], ","),
                                                  format(c["rss_fed_kb"] - c["rss_loaded_kb"], ","), rss))
print()
print("Target: at most %d bytes per tracked connection: **%s** (the larger figure, %.1f). Peak resident "
      "memory of the whole run %s kB, most of it the pcap frames held in memory. Reproduce: "
      "`tools/bench/memory.sh BUILD_DIR`." % (target, "met" if worst <= target else "not met", worst,
                                              format(c["rss_peak_kb"], ",")))
PY
cat "$w/section.md"
[ -z "$MD" ] || "$B/md_section.sh" "$MD" memory < "$w/section.md"
