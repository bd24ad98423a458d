#!/bin/bash
# rawlb scale-out demo on a Debian 12 box (run as root from the source tree): installs what is
# missing, builds, and makes in network namespaces (test/e2e/scaleout.sh, the topology of
# test_scaleout.sh) a client behind a router running BIRD, three directors each running rawlb
# (-s mh -b mh-port) and ExaBGP announcing the VIP (through rawlb-announce), and four nginx real
# servers. It shows BIRD's sessions, what rawlb-announce reported to d1's rawlb, the router's ECMP
# route, sends connections from many client ports through the VIP and prints each
# director's `rawlb-ctl list --stats`: the three directors share the load. Everything is removed
# on exit (KEEP=1 keeps the logs).
#
#   client ── router (BIRD, ECMP, L4 hash) ──┬── d1 rawlb + ExaBGP ──┬── rs1..rs4 (nginx)
#                                            ├── d2 rawlb + ExaBGP ──┤   default route: ECMP over
#                                            └── d3 rawlb + ExaBGP ──┘   the directors' -n addresses
set -uo pipefail
CONNS=300; CONNS_PARALLEL=20   # connections the client makes, and how many at a time
BGP_WAIT=30                    # seconds for the router to have a next hop per director
cd "$(dirname "$0")/.." || exit 1
[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces)"; exit 1; }

tools/deps.sh || exit 1
echo "== building"
{ cmake -S . -B build >/dev/null && cmake --build build -j2 >/dev/null; } || { echo "build failed"; exit 1; }

# lib.sh (the e2e tests' helpers) takes the build directory as its argument and removes every
# namespace and process of this run on exit
set -- build
. test/e2e/lib.sh
. test/e2e/scaleout.sh

echo "== topology (namespaces ${P}*): client, router, 3 directors, 4 real servers"
so_topo_up 4
so_nginx
so_rs_route 1 2 3
so_bird_up 3
for n in 1 2 3; do
  echo "   d$n: rawlb $(so_rawlb_args "$n")"
  so_director_start "$n"
done
echo "== waiting for the router's BGP sessions"
so_wait_nexthops $BGP_WAIT 3 >/dev/null || fail "the router has $(so_nexthops) next hops for $VIP after ${BGP_WAIT} s"
so_birdc show protocols | sed 's/^/   /'
echo "== rawlb-ctl status on d1: rawlb-announce watches rawlb and tells ExaBGP what to announce"
so_ctl 1 status | sed -n "/^announcers/,\$p" | sed "s/^/   /"
echo "== the router's route to the VIP: one next hop per director (ECMP, hashing addresses and ports)"
on r ip route show "$VIP/32" | sed 's/^/   /'

echo "== $CONNS connections from the client (a new source port each) to http://$VIP/: answers per real server"
for n in 1 2 3; do so_ctl "$n" zero >/dev/null; done
on c "$PY" "$E2E/nethelper.py" manyget "$VIP" 80 $CONNS $CONNS_PARALLEL | sed 's/^/   /'

for n in 1 2 3; do
  echo "== rawlb-ctl list --stats on d$n"
  so_ctl "$n" list --stats | sed 's/^/   /'
done
echo "== stopping and cleaning up"
