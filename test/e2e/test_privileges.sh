#!/bin/bash
# The daemon runs without privileges: started as root with workers, metrics and a health check,
# every thread of it (/proc/PID/task/*/status) is another uid than 0, has no capability, has
# no_new_privs and a seccomp filter; the privileged helper is its only root child. What it does
# at runtime still works under that: traffic balanced, a runtime edit (a server and a service
# added), a failing server taken out by the health check and back, metrics answered. After
# SIGTERM the pid file and the control socket (in a directory only root may enter) are gone and
# the table was saved in --state-dir, which belongs to the user. Then --ctl-group: the socket is
# root:GROUP mode 0660, where by default it is root's alone (0600); and --user root keeps root.
. "$(dirname "$0")/lib.sh"

RS1=203.0.113.11:80; RS2=203.0.113.12:80; RS3=203.0.113.13:80; VIP2=198.51.100.11
MX=$LB_INT:9100
USER_NAME=nobody; GROUP_NAME=nogroup; UID_WANT=$(id -u $USER_NAME)
topo_up 3
rs_nginx 1; rs_nginx 2; rs_nginx 3
start_rawlb -e ext -i int -n $NAT --workers 2 --metrics $MX -t $VIP:80 --check tcp --check-interval 0.2 \
            --check-timeout 1 --reentry 0 -r $RS1 -r $RS2
wait_http "http://$VIP/"
grep -q "running as $USER_NAME (uid [0-9]* gid [0-9]*), no_new_privs, seccomp filter" "$LOG" ||
  fail "no 'running as $USER_NAME' line in the log"

# every thread: main, metrics, each worker
workers=$(sed -nE 's/.*; ([0-9]+) worker\(s\);.*/\1/p' "$LOG" | head -n 1)
threads=0
for st in /proc/$RAWLB_PID/task/*/status; do
  tid=$(basename "$(dirname "$st")")
  uids=$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "$st")   # real, effective, saved, filesystem
  [ "$uids" = "$UID_WANT $UID_WANT $UID_WANT $UID_WANT" ] || fail "thread $tid: Uid $uids, want $UID_WANT in all four"
  for cap in CapEff CapPrm CapInh CapAmb; do
    v=$(awk -v k="$cap:" '$1 == k { print $2 }' "$st")
    [ "$v" = 0000000000000000 ] || fail "thread $tid: $cap $v, want none"
  done
  [ "$(awk '$1 == "NoNewPrivs:" { print $2 }' "$st")" = 1 ] || fail "thread $tid: NoNewPrivs not 1"
  [ "$(awk '$1 == "Seccomp:" { print $2 }' "$st")" = 2 ] || fail "thread $tid: Seccomp not 2 (filter)"
  threads=$((threads + 1))
done
[ -n "$workers" ] && [ "$threads" -ge $((workers + 2)) ] ||
  fail "$threads thread(s) checked, want the main one, metrics and $workers worker(s)"
say "$threads threads: uid $UID_WANT, no capabilities, no_new_privs, seccomp filter"
helper=$(ps -o pid=,user= --ppid "$RAWLB_PID" | awk '{ print $1 ":" $2 }')
[ "$(wc -w <<<"$helper")" = 1 ] && [ "${helper#*:}" = root ] || fail "want one child, the helper, as root: '$helper'"
say "the helper (pid ${helper%:*}) is the one root process"

count_http 10 "http://$VIP/"
[ $N1 -gt 0 ] && [ $N2 -gt 0 ] || fail "10 requests did not reach both real servers (rs1=$N1 rs2=$N2)"

# runtime edits: a server (health-checked, asked for by ARP) and a service on a new VIP
ctl -a -t $VIP:80 -r $RS3 >/dev/null || fail "rawlb-ctl -a failed"
wait_state 5 $RS3 up >/dev/null || fail "the added rs3 is not up: $(health_line $RS3)"
ctl -A -t $VIP2:80 -s rr >/dev/null && ctl -a -t $VIP2:80 -r $RS1 >/dev/null ||
  fail "rawlb-ctl -A/-a of $VIP2:80 failed"
on c ip route add $VIP2/32 via $VIP 2>/dev/null || on c ip route add $VIP2/32 dev eth0 || fail "route to $VIP2"
wait_http "http://$VIP2/"
count_http 15 "http://$VIP/"
[ $N3 -gt 0 ] || fail "15 requests after the edit, none to the added rs3 (rs1=$N1 rs2=$N2)"
say "edits: rs3 added (rs1=$N1 rs2=$N2 rs3=$N3), $VIP2:80 answers"

# health: rs1 out and back
t0=$(now_ms)
rs_stop 1
wait_state 5 $RS1 down >/dev/null || fail "rs1 not down after its nginx stopped: $(health_line $RS1)"
t=$(($(now_ms) - t0))
[ $SANITIZED = 1 ] || [ $t -le 3200 ] || fail "rs1 down $t ms after its nginx stopped (want <= 1.2 s + 2 s margin)"
# the snapshot is rendered once a second
[ "$(metric_after "rawlb_rs_up{proto=\"tcp\",vip=\"$VIP:80\",rs=\"$RS1\"}" 1)" = 0 ] ||
  fail "metrics: rawlb_rs_up of rs1 is not 0 while it is down"
count_http 10 "http://$VIP/"
[ $N1 = 0 ] || fail "rs1 is down but got $N1 of 10 requests"
rs_start 1
wait_state 5 $RS1 up >/dev/null || fail "rs1 not up again after its nginx started: $(health_line $RS1)"
say "health: rs1 down after $t ms, up again; metrics answer"

# SIGTERM: the table saved in the user's --state-dir, the helper removes the root-owned files
[ "$(stat -c %U "$W/state")" = $USER_NAME ] || fail "--state-dir belongs to $(stat -c %U "$W/state"), want $USER_NAME"
[ "$(stat -c '%a %U' "$SOCK")" = "600 root" ] || fail "control socket: $(stat -c '%a %U:%G' "$SOCK"), want 600 root"
[ "$(stat -c '%a %U' "$W")" = "700 root" ] || fail "the test dir is $(stat -c '%a %U' "$W"): it proves nothing"
stop_rawlb
grep -qE "[0-9]+ connection\(s\) saved to $W/state/conntable" "$LOG" || fail "no 'saved' line: $(tail -5 "$LOG")"
[ -s "$W/state/conntable" ] || fail "no saved table in $W/state"
[ ! -e "$SOCK" ] || fail "the control socket is left behind"
[ ! -e "$PIDFILE" ] || fail "the pid file is left behind"
! kill -0 "${helper%:*}" 2>/dev/null || fail "the helper (pid ${helper%:*}) outlived the daemon"
say "stopped: table saved, pid file and control socket removed"

# --ctl-group: the group may use the socket
start_rawlb -e ext -i int -n $NAT -t $VIP:80 -r $RS1 --ctl-group $GROUP_NAME
[ "$(stat -c '%a %U %G' "$SOCK")" = "660 root $GROUP_NAME" ] ||
  fail "--ctl-group $GROUP_NAME: the socket is $(stat -c '%a %U %G' "$SOCK"), want 660 root $GROUP_NAME"
say "--ctl-group: $(stat -c '%a %U:%G' "$SOCK")"
stop_rawlb

# --user root, the escape hatch: root's uid and capabilities stay, the filter still applies
start_rawlb -e ext -i int -n $NAT -t $VIP:80 -r $RS1 --user root
st=/proc/$RAWLB_PID/status
[ "$(awk '$1 == "Uid:" { print $2 }' "$st")" = 0 ] && [ "$(awk '$1 == "CapEff:" { print $2 }' "$st")" != 0000000000000000 ] &&
  [ "$(awk '$1 == "Seccomp:" { print $2 }' "$st")" = 2 ] || fail "--user root: want uid 0 with capabilities and the filter"
grep -q "warning: --user root: rawlb keeps root's privileges" "$LOG" || fail "--user root: no warning in the log"
say "--user root: uid 0, capabilities kept, seccomp filter"
pass
