#!/bin/sh
# The relay pool against real servers: several smtp-sinks and the aiosmtpd
# fault server as relay NAME { } sections. Weights are honoured (3:1 over
# 4000 messages); a relay killed mid-campaign is marked down and the
# others carry its part, every recipient delivered, duplicates within one
# message per connection of the dead relay; a relay refusing AUTH is
# marked down and the other carries the campaign; every relay down
# pauses with each one's reason; a down relay is probed after its
# back-off and comes back; campaign show lists each relay.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
plan 27

# relay NAME PORT WEIGHT [EXTRA…] - the lines of one relay section
relay() {
	_n=$1; _p=$2; _w=$3; shift 3
	echo "relay $_n {"
	echo "host = \"127.0.0.1\""
	echo "port = $_p"
	echo "starttls = \"off\""
	echo "timeout = 3"
	echo "weight = $_w"
	echo "connections = 2"
	for l in "$@"; do echo "$l"; done
	echo "}"
}
# pool_conf SEND-EXTRA RELAY-LINES… - an instance with these relays
pool_conf() {
	_s=$1; shift
	write_conf "send {" "batch = 20" $_s "}" "$@"
}
# sink_start NAME PORT - smtp-sink NAME (its pid in $sink_NAME)
sink_start() {
	eval "_old=\${sink_$1:-}"
	[ -n "$_old" ] && { kill "$_old" 2>/dev/null; wait "$_old" 2>/dev/null; }
	rm -rf "$T/sink-$1"
	start_sink "$2" "$T/sink-$1"
	eval "sink_$1=\$_sink"
}
# delivered DIR… - messages in the sinks' folders
delivered() { cat "$@" 2>/dev/null | grep -c '^X-Rcpt-Args:'; }
# unique DIR… - distinct recipients in them
unique() { cat "$@" 2>/dev/null | grep '^X-Rcpt-Args:' | sort -u | wc -l; }

PA=$(free_port); PB=$(free_port)
sink_start a "$PA"; sink_start b "$PB"
IFS='
'
pool_conf "" $(relay a "$PA" 3) $(relay b "$PB" 1)
unset IFS
herald init >/dev/null
subs_csv "$T/subs.csv" 4000
herald sub import xen-users "$T/subs.csv" >/dev/null

# 1. weights 3:1 over 4000 messages
t "4000 messages over two relays weighted 3:1" 0 herald send summit \
    --list xen-users --segment us-east --yes
like "$out" '4000 sent, 0 failed, 0 queued'; ok $? "all sent"
na=$(delivered "$T"/sink-a/*); nb=$(delivered "$T"/sink-b/*)
echo "# relay a: $na, relay b: $nb"
[ $((na + nb)) = 4000 ] && [ "$(unique "$T"/sink-a/* "$T"/sink-b/*)" = 4000 ]
ok $? "the sinks got 4000 messages, each recipient once"
[ "$na" -ge 2880 ] && [ "$na" -le 3120 ]
ok $? "relay a carried 3/4 of them, within 3% of the total ($na)"
[ "$(sql "SELECT relay || ' ' || count(*) FROM deliveries WHERE
    campaign_id = 1 AND state = 'sent' GROUP BY relay ORDER BY relay" |
    tr '\n' ' ')" = "a $na b $nb " ]
ok $? "each delivery records the relay that sent it"
t "campaign show" 0 herald campaign show 1
like "$out" "^a +$na +0 +0  up$" && like "$out" "^b +$nb +0 +0  up$"
ok $? "lists each relay with sent, deferred, failed and its state"
[ "$(herald campaign show 1 --json | $PY -c 'import json, sys
print(" ".join("%s:%d:%d:%d:%s" % (r["relay"], r["sent"], r["deferred"],
    r["failed"], r["state"]) for r in json.load(sys.stdin)["relays"]))')" = \
    "a:$na:0:0:up b:$nb:0:0:up" ]
ok $? "and so does campaign show --json"

# 2. a relay killed mid-campaign: the other carries the rest
subs_csv "$T/subs2.csv" 1000 k
herald sub import xen-users "$T/subs2.csv" >/dev/null
sql "UPDATE memberships SET status = 'unsubscribed' WHERE subscriber_id IN
    (SELECT id FROM subscribers WHERE email LIKE 'u%')"
sink_start a "$PA"; sink_start b "$PB"
IFS='
'
pool_conf "rate = 200" $(relay a "$PA" 1) $(relay b "$PB" 1)
unset IFS
herald send summit --list xen-users --segment us-east --yes --again \
    >"$T/out2" 2>"$T/err2" &
send=$!
for i in $(seq 1 100); do
	[ "$(ls "$T/sink-b" | wc -l)" -ge 50 ] && break
	sleep 0.05
done
kill -9 "$sink_b"
wait "$send"; rc=$?
[ "$rc" = 0 ]; ok $? "the campaign ends its run though relay b died (exit $rc)"
like "$(cat "$T/out2")" '1000 sent, 0 failed, 0 queued'; ok $? "1000 sent"
[ "$(unique "$T"/sink-a/* "$T"/sink-b/*)" = 1000 ]
ok $? "every recipient reached a sink"
dups=$(( $(delivered "$T"/sink-a/* "$T"/sink-b/*) - 1000 ))
echo "# duplicates: $dups"
[ "$dups" -le 2 ]; ok $? "duplicates within one per connection of the dead relay ($dups)"
nb=$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 2 AND relay = 'b'")
[ "$nb" -ge 1 ] && [ "$nb" -lt 500 ]; ok $? "relay b sent some ($nb) before it died"
t "campaign show after the failover" 0 herald campaign show 2
like "$out" '^b +[0-9]+ +0 +0  down: .*\(at (connect|data|rcpt|mail)\)'
ok $? "relay b is down, with the reason"

# 3. a relay refusing AUTH is marked down; the other carries the campaign
sql "UPDATE memberships SET status = 'unsubscribed' WHERE subscriber_id IN
    (SELECT id FROM subscribers WHERE email LIKE 'k%' AND
    CAST(substr(email, 2, instr(email, '@') - 2) AS INTEGER) > 100)"
printf 'wrong\n' > "$T/password"
sink_start b "$PB"
kill "$sink_a"; wait "$sink_a" 2>/dev/null; sink_a=
start_fault "$PA" "$T/fault.log" --auth herald 'right pass'
IFS='
'
pool_conf "" $(relay a "$PA" 1 "user = \"herald\"" \
    "password_file = \"$T/password\"") $(relay b "$PB" 1)
unset IFS
t "relay a refuses AUTH: the campaign goes on through b" 0 herald send \
    summit --list xen-users --segment us-east --yes --again
like "$out" '100 sent, 0 failed, 0 queued' &&
    [ "$(unique "$T"/sink-b/*)" = 100 ]
ok $? "all 100 through relay b"
grep -q '^AUTH herald bad$' "$T/fault.log" && [ ! -s "$T/fault.log.commands" ]
ok $? "relay a was asked, refused AUTH, and got no MAIL FROM"
t "campaign show" 0 herald campaign show 3
like "$out" '^a +0 +0 +0  down: 535 5\.7\.8 .*\(at auth\)' &&
    like "$out" '^b +100 +0 +0  up$'
ok $? "relay a down with the 535, relay b up"
[ "$(sql "SELECT count(*) FROM bounces")" = 0 ]; ok $? "no bounce counted"
stop_fault

# 4. every relay down: the run pauses with each one's reason
kill "$sink_b"; wait "$sink_b" 2>/dev/null; sink_b=
t "every relay refuses connections: paused (75)" 75 herald send summit \
    --list xen-users --segment us-east --yes --again
like "$err" 'paused: every relay is down: a: .*\(at connect\); b: .*\(at connect\)'
ok $? "and says why for each relay"
[ "$(sql "SELECT group_concat(DISTINCT state) || ' ' || sum(attempts) FROM
    deliveries WHERE campaign_id = 4")" = "queued 0" ]
ok $? "every delivery queued, no attempt counted against anyone"

# 5. a down relay is probed after its back-off and comes back
sink_start a "$PA"
rm -rf "$T/sink-b"
IFS='
'
pool_conf "rate = 40 relay_backoff = 1" $(relay a "$PA" 1) $(relay b "$PB" 1)
unset IFS
( sleep 0.5; /usr/sbin/smtp-sink -u "$(id -un)" -d "$T/sink-b/%M." \
    127.0.0.1:"$PB" 256 >/dev/null 2>&1 & echo $! > "$T/late.pid"; wait ) &
late=$!
at_exit "kill \$(cat $T/late.pid) 2>/dev/null; kill $late 2>/dev/null"
mkdir -p "$T/sink-b"
t "relay b down at first, then back: the campaign ends" 0 herald campaign \
    resume 4
like "$out" '100 sent, 0 failed, 0 queued'; ok $? "all 100 sent"
nb=$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 4 AND relay = 'b'")
[ "$nb" -ge 1 ] && [ "$(unique "$T"/sink-a/* "$T"/sink-b/*)" = 100 ]
ok $? "relay b was probed and carried some ($nb); every recipient reached a sink"
finish
