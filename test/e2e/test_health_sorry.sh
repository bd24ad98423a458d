#!/bin/bash
# --sorry-server: used only while every real server is down. rs3 (nginx answering "rs3") is the sorry
# server of a service with rs1 and rs2: both up -> rs3 gets nothing; both stopped -> requests get rs3's
# answer and list --health shows it as 'sorry'; rs1 started again -> after its re-entry its answer
# comes back and rs3 gets no new connection.
. "$(dirname "$0")/lib.sh"

RS1=203.0.113.11:80; RS2=203.0.113.12:80; SORRY=203.0.113.13:80
topo_up 3
rs_nginx 1; rs_nginx 2; rs_nginx 3
start_rawlb -e ext -i int -n $NAT -t $VIP:80 --check tcp --check-interval 0.2 --check-timeout 1 --reentry 2 \
            --sorry-server $SORRY -r $RS1 -r $RS2
wait_http http://$VIP/
count_http 10 http://$VIP/
say "both up, 10 requests: rs1=$N1 rs2=$N2 rs3=$N3"
[ $N3 = 0 ] && [ "$(rs_hits 3)" = 0 ] || fail "the sorry server got $N3 of 10 requests while both real servers are up"
[ -z "$(health_line $SORRY)" ] || fail "list --health shows the sorry server while it is not in use: $(health_line $SORRY)"

# both down -> sorry
rs_stop 1
t=$(wait_state 3.2 $RS1 down) || fail "rs1 not down $t ms after its nginx stopped: $(health_line $RS1)"
count_http 5 http://$VIP/
say "rs1 down, 5 requests: rs1=$N1 rs2=$N2 rs3=$N3"
[ $N2 = 5 ] || fail "only rs1 is down: want all 5 requests on rs2, got rs1=$N1 rs2=$N2 rs3=$N3"
rs_stop 2
t=$(wait_state 3.2 $RS2 down) || fail "rs2 not down $t ms after its nginx stopped: $(health_line $RS2)"
say "rs2 down after $t ms"
shown() { [ -n "$(health_line "$1")" ]; }
wait_for 2 shown $SORRY || fail "every real server is down, but list --health shows no sorry server line: $(ctl list --health)"
say "sorry in use: $(health_line $SORRY)"
[ "$(health_state $SORRY)" = sorry ] || fail "sorry server line: want state 'sorry', got: $(health_line $SORRY)"
count_http 10 http://$VIP/
say "all down, 10 requests: rs1=$N1 rs2=$N2 rs3=$N3"
[ $N3 = 10 ] || fail "every real server is down: want all 10 answers from the sorry server, got rs3=$N3"
[ "$(rs_hits 3)" -ge 10 ] || fail "the sorry server's access log shows $(rs_hits 3) requests, want >= 10"
sleep 1.2
[ "$(health_line $SORRY | awk '{ sub("s$", "", $8); printf "%d", $8 }')" -ge 1 ] \
  || fail_later "the sorry server has been in use for over 1.2 s, but its Since column says otherwise: $(health_line $SORRY)"

# rs1 back: sorry server while rs1 re-enters, then rs1 only
rs_start 1
t0=$(now_ms)
t=$(wait_state 2 $RS1 re-entering) || fail "rs1 not re-entering within 2 s of nginx starting again: $(health_line $RS1)"
body=$(http -m 5 -H 'Connection: close' http://$VIP/) || fail "request while rs1 re-enters failed"
st=$(health_state $RS1)
say "rs1 re-entering after $t ms, a request got '$body' (state after: $st)"
if [ "$st" = re-entering ]; then [ "$body" = rs3 ] || fail "rs1 is still re-entering and rs2 down: want the sorry server's answer, got '$body'"; fi
t=$(wait_state 4.5 $RS1 up) || fail "rs1 not up within reentry 2 s + 2.5 s margin after re-entering: $(health_line $RS1)"
say "rs1 up $(($(now_ms) - t0)) ms after nginx restarted: $(health_line $RS1)"
s3=$(rs_hits 3)
count_http 10 http://$VIP/
say "rs1 back, 10 requests: rs1=$N1 rs2=$N2 rs3=$N3"
[ $N1 = 10 ] || fail "rs1 is up again: want all 10 answers from rs1, got rs1=$N1 rs2=$N2 rs3=$N3"
[ "$(rs_hits 3)" = "$s3" ] || fail "the sorry server got $(($(rs_hits 3) - s3)) new connections after rs1 came back"
[ -z "$(health_line $SORRY)" ] || fail "list --health still shows the sorry server after rs1 came back: $(health_line $SORRY)"
pass_unless_failed
