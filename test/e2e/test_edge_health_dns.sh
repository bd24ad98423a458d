#!/bin/bash
# DNS health check: dnsmasq on rs1 and rs2 (example.test and a TXT record naming the server), a UDP
# service $VIP:53 with --check dns:example.test. Both up; queries through the VIP reach both. dnsmasq
# on rs1 killed -> its probes fail at once (ICMP port unreachable), rs1 is down after --check-timeout
# and every query goes to rs2; dnsmasq started again -> rs1 back at its first passing probe
# (--reentry 0) and queries reach it again. A second service checks the root name, which these
# servers refuse (no upstream): any answer is alive, so both are up, the code in the last result.
# -S prints the check as given. Each failed probe makes the director ask for the server's MAC.
. "$(dirname "$0")/lib.sh"

for tool in dnsmasq dig; do command -v $tool >/dev/null || fail "missing tool: $tool (packages dnsmasq-base, dnsutils)"; done
RS1=203.0.113.11:53; RS2=203.0.113.12:53
topo_up 2

# dns_start I: dnsmasq on rsI, bound to its address only: example.test A 203.0.113.99, who.example.test TXT rsI
dns_start() {
  bg_start dns$1 rs$1 dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts --user=root \
    --pid-file= --port 53 --listen-address=203.0.113.1$1 --bind-interfaces --address=/example.test/203.0.113.99 \
    --txt-record=who.example.test,rs$1
  wait_for 5 listening rs$1 udp 53 || fail "dnsmasq on rs$1 did not start: $(cat "$W/dns$1.log")"
}
# ask N: N queries for who.example.test TXT through the VIP (each from its own source port); sets
# A1 A2 (answers from rs1, rs2) and fails on an unanswered query or another answer
ask() {
  local i out
  A1=0; A2=0
  for ((i = 0; i < $1; i++)); do
    out=$(timeout 10 ip netns exec "${P}c" dig @$VIP -p 53 +short +tries=1 +time=2 TXT who.example.test) \
      || fail "query $((i + 1)) of $1 through $VIP:53 got no answer: $out"
    case $out in '"rs1"') A1=$((A1 + 1)) ;; '"rs2"') A2=$((A2 + 1)) ;; *) fail "query $((i + 1)) of $1: answer '$out'" ;; esac
  done
}

# A real server limits its ICMP errors to each peer (a burst, then one a second): probes every 0.2 s
# would mostly run into their timeout. Unlimited here, so that every probe of a stopped server gets
# its port unreachable and fails at once.
for i in 1 2; do on rs$i sysctl -qw net.ipv4.icmp_ratelimit=0 || fail "icmp_ratelimit on rs$i"; done
dns_start 1; dns_start 2
[ "$(on lb dig @203.0.113.11 +short +tries=1 +time=2 A example.test)" = 203.0.113.99 ] || fail "dnsmasq on rs1 does not answer example.test"
start_rawlb -e ext -i int -n $NAT --check-interval 0.2 --probe-timeout 0.5 --reentry 0 \
            -u $VIP:53 --check dns:example.test --check-timeout 1 -r $RS1 -r $RS2 \
            -u $VIP:5353 --check dns -r $RS1 -r $RS2
up_ok() { health_line "$1" | grep -qE ' up +[0-9]+s +ok *$'; }
wait_for 3 up_ok $RS1 && wait_for 3 up_ok $RS2 || fail "want both real servers 'up Ns ok' at start: $(ctl list --health)"
ctl -S | grep -q -- "-u $VIP:53 -s wlc --check dns:example.test --check-interval" || fail "-S: $(ctl -S)"
ctl -S | grep -q -- "-u $VIP:5353 -s wlc --check dns --check-interval" || fail "-S: $(ctl -S)"

# the root name: refused by these servers, which is an answer all the same
root=$(ctl list --health | awk -v v="$VIP:5353" '$2 == v { on = 1; next } /^[TU]/ { on = 0 } on && $1 == "->"')
say "--check dns (the root): $(echo "$root" | xargs)"
[ "$(grep -cE ' up +[0-9]+s +ok, [A-Z]+ *$' <<<"$root")" = 2 ] || fail "$VIP:5353: want both up with 'ok, CODE': $root"

ask 20
say "both up, 20 queries: rs1=$A1 rs2=$A2"
[ $A1 -gt 0 ] && [ $A2 -gt 0 ] || fail "20 queries with both up did not reach both (rs1=$A1 rs2=$A2)"

# dnsmasq on rs1 killed (ARP watched on rs1 a second before and after)
start_capture arp rs1 eth0 arp
sleep 1
t0=$(now_ms)
bg_stop dns1
wait_for 5 closed rs1 udp 53 || fail "dnsmasq on rs1 did not stop"
t=$(wait_state 3 $RS1 down) || fail "dnsmasq on rs1 stopped but rs1 is not down after $t ms: $(health_line $RS1)"
after=$(($(now_ms) - t0))
say "rs1 down $after ms after dnsmasq stopped: $(health_line $RS1)"
[ $SANITIZED = 1 ] || [ $after -ge 700 ] || fail "rs1 down $after ms after dnsmasq stopped, before --check-timeout 1 s could pass"
[ "$(health_last $RS1)" = "port unreachable" ] || fail "rs1's last result: want 'port unreachable', got: $(health_line $RS1)"
grep -qE "rs $RS1 of UDP $VIP:53 down: port unreachable \([0-9]+ failed probes" "$LOG" || fail "no log line 'rs $RS1 ... down: port unreachable (N failed probes ...'"
[ "$(health_state $RS2)" = up ] || fail "rs2 should stay up: $(health_line $RS2)"
# each failed probe asks for rs1's MAC at once (it may have moved): broadcast requests from the
# director's own address, none while rs1 answered
sleep 0.5
stop_captures
solicits() { pcap arp -tt 'ether broadcast' | awk -v from=$1 -v to=$2 \
  '/Request who-has 203\.0\.113\.11 tell 203\.0\.113\.2,/ { ms = $1 * 1000; if (ms >= from && ms < to) n++ } END { print n + 0 }'; }
before=$(solicits $((t0 - 1000)) $t0); during=$(solicits $t0 $((t0 + 1000)))
say "ARP requests for rs1 from the director: $before in the second before dnsmasq stopped, $during in the second after"
[ "$during" -ge $((before + 4)) ] || fail "failed probes of rs1 did not make the director ask for its MAC: $before requests before, $during after"
ask 20
say "rs1 down, 20 queries: rs1=$A1 rs2=$A2"
[ $A2 = 20 ] || fail "rs1 is down but only $A2 of 20 queries went to rs2"

# dnsmasq on rs1 again: back at its first passing probe
dns_start 1
t=$(wait_state 2 $RS1 up) || fail "dnsmasq runs on rs1 again but rs1 is not up after $t ms: $(health_line $RS1)"
say "rs1 up $t ms after dnsmasq started again: $(health_line $RS1)"
ask 20
say "rs1 back, 20 queries: rs1=$A1 rs2=$A2"
[ $A1 -gt 0 ] || fail "rs1 is up again but got none of 20 queries"
pass
