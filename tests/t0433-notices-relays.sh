#!/bin/sh
# herald's own mail through the relay pool (issue 13, follow-up): with
# relay NAME { } sections and no smtp { } section, the notices of the
# outbox (a goodbye from herald pipe, after an unsubscribe by mail) and
# herald send --test go through the relays: the first that is up by
# weight; the next when it is down (marked down in the store, rested,
# probed again after its back-off); counted against the relay's quota,
# tried after a relay under its quota, never held for one; every relay
# down leaves the notice in the outbox for herald maintain. With smtp { }
# given, notices and test copies go there, as before. Three smtp-sinks:
# relays a and b, and the smtp { } relay c.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
. "$TOP/tests/t0500/pipe-lib.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
F=$TOP/tests/t0500
plan 42

PA=$(free_port); PB=$(free_port); PC=$(free_port)
# conf [A-LINE [B-LINE]] - relay b (weight 1) before relay a (weight 2),
# so weight, not file order, makes a the first; no smtp { } section
conf() {
	write_conf "send {" "relay_backoff = 3600" "}"
	cat >>"$HERALD_CONFIG" <<EOF
relay b {
  host = "127.0.0.1"
  port = $PB
  starttls = "off"
  timeout = 3
  ${2:-}
}
relay a {
  host = "127.0.0.1"
  port = $PA
  starttls = "off"
  timeout = 3
  weight = 2
  ${1:-}
}
EOF
}
# sink NAME PORT - (re)start smtp-sink NAME, recording into $T/sink-NAME
sink() {
	sink_stop "$1"
	start_sink "$2" "$T/sink-$1"
	eval "sink_$1=\$_sink"
}
# sink_stop NAME - stop it (its port then refuses connections)
sink_stop() {
	eval "_p=\${sink_$1:-}"
	[ -z "$_p" ] || { kill "$_p" 2>/dev/null; wait "$_p" 2>/dev/null; }
	eval "sink_$1="
}
# got NAME ADDRESS - messages sink NAME recorded for ADDRESS
got() { grep -l -i "^X-Rcpt-Args: <$2>" "$T"/sink-$1/* 2>/dev/null | wc -l; }
# unsub WHO - WHO@subs.test unsubscribes from xen-users by mail (a
# List-Unsubscribe mailto with their token): herald pipe's exit status
unsub() {
	_id=$(sql "SELECT id FROM subscribers WHERE email = '$1@subs.test'")
	_r=xen-users-unsubscribe+$(tok u xen-users "$_id")@$D
	fill $F/gmail-unsubscribe.eml $T/m RCPT=$_r
	expect 0 hpipe "$1@subs.test" "$_r" $T/m
}
usage() { sql "SELECT coalesce(sum(sent), 0) FROM relay_usage WHERE relay = '$1'"; }
state() { sql "SELECT state FROM relay_state WHERE relay = '$1'"; }

sink a "$PA"; sink b "$PB"
conf
herald init >/dev/null
for w in alice bob carol dave eve frank grace henry ivy kate rcpt550; do
	add_sub $w@subs.test active xen-users >/dev/null
done
subs_csv "$T/subs.csv" 5
herald sub import xen-users "$T/subs.csv" >/dev/null

# 1. the first relay by weight carries the goodbye, and counts it
unsub alice; ok $? "an unsubscribe by mail with relays and no smtp { }: exit 0"
like "$err" 'goodbye sent'; ok $? "the goodbye was sent at once"
[ "$(got a alice@subs.test)" = 1 ] && [ "$(got b alice@subs.test)" = 0 ]
ok $? "it reached relay a, the heaviest, not b"
[ "$(usage a)" = 1 ] && [ "$(usage b)" = 0 ]
ok $? "it counts against relay a's quota (relay_usage)"

# 2. relay a down: the goodbye fails over to b; a is marked down
sink_stop a
unsub bob; ok $? "relay a down: exit 0"
like "$err" 'goodbye sent'; ok $? "the goodbye was still sent at once"
[ "$(got b bob@subs.test)" = 1 ]; ok $? "it reached relay b"
[ "$(state a)" = down ] &&
    like "$(sql "SELECT reason FROM relay_state WHERE relay = 'a'")" '\(at connect\)'
ok $? "relay a is marked down in the store, with the reason"
[ "$(usage b)" = 1 ]; ok $? "b counted it"

# 3. a down relay rests send.relay_backoff, then is probed and back
since() { sql "SELECT since FROM relay_state WHERE relay = '$1'"; }
sql "UPDATE relay_state SET since = since - 7200 WHERE relay = 'a'"
S0=$(since a)
unsub ivy
[ "$(got b ivy@subs.test)" = 1 ] && [ "$(state a)" = down ] &&
    [ "$(since a)" -gt "$S0" ]
ok $? "its rest over, relay a is probed, fails again, and rests anew"
sink a "$PA"
unsub carol
[ "$(got b carol@subs.test)" = 1 ] && [ "$(got a carol@subs.test)" = 0 ]
ok $? "within its back-off relay a is not tried, though it is back"
sql "UPDATE relay_state SET since = since - 7200 WHERE relay = 'a'"
unsub dave
[ "$(got a dave@subs.test)" = 1 ] && [ "$(got b dave@subs.test)" = 0 ]
ok $? "after its back-off relay a is tried first again and takes it"
[ "$(state a)" = up ]; ok $? "and is marked up"

# 4. the aiosmtpd fault server as relay a: AUTH refused is the relay's
# failure (the next relay takes it), a recipient's 550 is not (no other
# relay is tried)
sink_stop a
start_fault "$PA" "$T/fault.log" --auth herald 'right pass'
printf 'wrong\n' > "$T/password"
conf "user = \"herald\" password_file = \"$T/password\""
unsub kate
[ "$(got b kate@subs.test)" = 1 ]; ok $? "relay a refusing AUTH: the goodbye goes to b"
[ "$(state a)" = down ] &&
    like "$(sql "SELECT reason FROM relay_state WHERE relay = 'a'")" '^535 .*\(at auth\)'
ok $? "relay a is marked down, with its 535"
printf 'right pass\n' > "$T/password"
sql "UPDATE relay_state SET since = since - 7200 WHERE relay = 'a'"
unsub rcpt550
like "$err" 'goodbye refused: relay a: rcpt550@subs.test: 550 ' &&
    [ "$(got b rcpt550@subs.test)" = 0 ]
ok $? "a recipient refused with 550 by relay a is not tried on b"
[ "$(state a)" = up ]; ok $? "relay a answered: marked up"
stop_fault
sink a "$PA"

# 5. herald send --test goes through the relays too
t "send --test with relays and no smtp { }" 0 herald send summit \
    --list xen-users --segment users --test tester@example.org \
    --as u4@example4.test
like "$out" 'sent to 1 address through relay a'; ok $? "says which relay took it"
[ "$(got a tester@example.org)" = 1 ]; ok $? "the copy reached relay a"

# 6. quotas: an at-quota relay goes after one under its quota; a notice
# is never held when every relay is at its quota
UA=$(usage a); UB=$(usage b)
conf "quota { per_hour = $UA }"
unsub eve
[ "$(got b eve@subs.test)" = 1 ] && [ "$(got a eve@subs.test)" = 0 ]
ok $? "relay a at its quota: the goodbye goes to b, under its own"
conf "quota { per_hour = $UA }" "quota { per_day = $((UB + 1)) }"
unsub frank; ok $? "every relay at its quota: exit 0"
like "$err" 'goodbye sent' && [ "$(got a frank@subs.test)" = 1 ]
ok $? "the goodbye is sent anyway, by the first relay"
[ "$(usage a)" = $((UA + 1)) ]; ok $? "and counted past the quota ($UA + 1)"

# 7. every relay down: the notice waits in the outbox; maintain sends it
conf
sink_stop a; sink_stop b
unsub grace; ok $? "every relay down: the unsubscribe still commits (exit 0)"
like "$err" 'goodbye queued, not sent now \(no relay took it: relay a: .*; relay b: .*\)'
ok $? "the goodbye is queued, naming each relay's failure"
[ "$(sql "SELECT count(*) FROM outbox WHERE state = 'queued'")" = 1 ]
ok $? "one notice waits in the outbox"
sink a "$PA"
t "herald maintain with relay a back" 0 herald maintain --now "$(date -d '+1 hour' +%s)"
like "$out" 'outbox: 1 sent'; ok $? "sends it"
[ "$(got a grace@subs.test)" = 1 ]; ok $? "through relay a, both marked down and a the first by weight"

# 8. smtp { } given: notices and test copies go there, as before
sink b "$PB"; sink c "$PC"
conf
cat >>"$HERALD_CONFIG" <<EOF
smtp {
  host = "127.0.0.1"
  port = $PC
  starttls = "off"
  timeout = 3
}
EOF
unsub henry
[ "$(got c henry@subs.test)" = 1 ] && [ "$(got a henry@subs.test)" = 0 ] &&
    [ "$(got b henry@subs.test)" = 0 ]
ok $? "with smtp { } given the goodbye goes through it, not the relays"
t "send --test with smtp { } given" 0 herald send summit \
    --list xen-users --segment users --test tester2@example.org \
    --as u4@example4.test
[ "$(got c tester2@example.org)" = 1 ] && unlike "$out" 'through relay'
ok $? "and so does the test copy"
[ "$(usage a)" = $((UA + 2)) ]; ok $? "neither counts against a relay"

# 9. a campaign run reads the down marks notices leave: a relay a notice
# found failing rests out its back-off in the run too (before, every run
# started with every relay up), unless every relay is resting
conf
subs_csv "$T/more.csv" 40 w
herald sub import xen-users "$T/more.csv" >/dev/null
add_sub jack@subs.test active xen-users >/dev/null
sink_stop a
unsub jack
[ "$(state a)" = down ] && [ "$(got b jack@subs.test)" = 1 ]
ok $? "a notice finds relay a down and marks it"
S1=$(since a)
sink a "$PA"
# by_relay CAMPAIGN - "RELAY:SENT ..." of its sent deliveries
by_relay() {
	sql "SELECT relay || ':' || count(*) FROM deliveries WHERE campaign_id = $1
	    AND state = 'sent' GROUP BY relay ORDER BY relay" | tr '\n' ' ' | sed 's/ $//'
}
t "a campaign while relay a rests" 0 herald send summit --list xen-users \
    --segment users --yes
C1=$(sql "SELECT max(id) FROM campaigns")
NU=$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = $C1")
[ "$NU" -gt 5 ] && [ "$(by_relay "$C1")" = "b:$NU" ]
ok $? "relay a, marked down by the notice, gets nothing ($(by_relay "$C1") of $NU)"
[ "$(state a)" = down ] && [ "$(since a)" = "$S1" ]
ok $? "and its mark is left as the notice made it (not refreshed)"
sql "UPDATE relay_state SET state = 'down', reason = '421 test (at connect)',
    since = unixepoch() WHERE relay IN ('a', 'b')"
t "a campaign while every relay rests" 0 herald send summit --list xen-users \
    --segment users --yes --again
C2=$(sql "SELECT max(id) FROM campaigns")
[ "$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = $C2 AND state = 'sent'")" = "$NU" ]
ok $? "every relay marked down: the run tries them all, and sends every one"
sql "UPDATE relay_state SET since = since - 7200 WHERE relay IN ('a', 'b')"
t "a campaign after relay a's back-off" 0 herald send summit --list xen-users \
    --segment users --yes --again
C3=$(sql "SELECT max(id) FROM campaigns")
like "$(by_relay "$C3")" '^a:[1-9]' && [ "$(state a)" = up ]
ok $? "its back-off over, relay a is tried again, takes mail ($(by_relay "$C3")) and is up"
finish
