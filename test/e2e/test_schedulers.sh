#!/bin/bash
# Schedulers end to end, on three services of one VIP at once:
#   :80  wlc -p 60 (persistence): 20 new connections from one client all go to one real server;
#   :81  rr: 20 connections alternate, 10 each;
#   :82  sh: 20 connections from one client all go to the server its address hashes to;
#   :83  mh -b mh-port: 20 connections from one client spread over both servers (its ports are
#        hashed too), and a connection from the same client port goes to the same server again.
. "$(dirname "$0")/lib.sh"

topo_up 2
for i in 1 2; do for port in 80 81 82 83; do rs_httpd $i $port; done; done
start_rawlb -e ext -i int -n $NAT -t $VIP:80 -p 60 -r 203.0.113.11:80 -r 203.0.113.12:80 \
            -t $VIP:81 -s rr -r 203.0.113.11:81 -r 203.0.113.12:81 \
            -t $VIP:82 -s sh -r 203.0.113.11:82 -r 203.0.113.12:82 \
            -t $VIP:83 -s mh -b mh-port -r 203.0.113.11:83 -r 203.0.113.12:83
ctl list | grep -qE "^TCP +$VIP:80 +wlc +persistent 60" || fail "list does not show the persistent service: $(ctl list)"
ctl list | grep -qE "^TCP +$VIP:83 +mh \(mh-port\)$" || fail "list does not show mh's flags: $(ctl list)"
wait_http http://$VIP:80/

split() { # PORT: "rs1=N rs2=M" over 20 new connections
  local port=$1 i body n1=0 n2=0
  for ((i = 0; i < 20; i++)); do
    body=$(http -m 5 -H 'Connection: close' http://$VIP:$port/) || fail "request $i to :$port failed"
    case $body in rs1\ *) n1=$((n1 + 1)) ;; rs2\ *) n2=$((n2 + 1)) ;; *) fail "unexpected answer '$body'" ;; esac
  done
  echo "rs1=$n1 rs2=$n2"
}
p=$(split 80); say "persistent :80 $p"
case $p in "rs1=20 rs2=0" | "rs1=0 rs2=20") ;; *) fail "persistence: one client's connections were spread: $p" ;; esac
r=$(split 81); say "rr :81 $r"
[ "$r" = "rs1=10 rs2=10" ] || fail "rr over 20 connections: want 10 each, got $r"
s=$(split 82); say "sh :82 $s"
case $s in "rs1=20 rs2=0" | "rs1=0 rs2=20") ;; *) fail "sh: one client's connections were spread: $s" ;; esac
m=$(split 83); say "mh mh-port :83 $m"
case $m in "rs1=20 rs2=0" | "rs1=0 rs2=20") fail "mh-port: one client's 20 connections all went to one server" ;; esac
for lport in 41001 41002 41003 41004; do # the same client port twice: the same server
  a=$(on c "$PY" "$E2E/nethelper.py" getfrom $VIP 83 $lport) || fail "request from port $lport failed: $a"
  b=$(on c "$PY" "$E2E/nethelper.py" getfrom $VIP 83 $lport) || fail "second request from port $lport failed: $b"
  [ "${a%% *}" = "${b%% *}" ] || fail "mh-port: client port $lport went to ${a%% *}, then to ${b%% *}"
  say "mh mh-port: client port $lport -> ${a%% *} twice"
done
pass
