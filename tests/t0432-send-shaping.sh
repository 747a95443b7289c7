#!/bin/sh
# Shaping by destination (shape NAME { domains rate connections }) against
# the fault server: a destination that answers "451 4.7.1" (rate limited)
# slows its own group (its rate halved at each such reply) and no other;
# its deliveries are deferred, not failed, and a retry delivers them;
# campaign show lists each group's state and the last reply.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
plan 12

PORT=$(free_port)
LOG=$T/delivered
relay_conf "$PORT" \
    "shape slow { domains = {\"slow.test\", \"Slow2.test\"} rate = 1000 connections = 1 }" \
    "shape fast { domains = {\"fast.test\"} rate = 1000 }"
{
	echo "email,name,role,region"
	for i in $(seq 1 20); do echo "s$i@slow.test,S $i,user,us-east"; done
	for i in $(seq 1 20); do echo "f$i@fast.test,F $i,user,us-east"; done
} > "$T/subs.csv"
herald sub import xen-users "$T/subs.csv" >/dev/null
start_fault "$PORT" "$LOG" --domain-reply slow.test \
    "451 4.7.1 Rate limited, try again later"

t "a send where one destination rate-limits" 0 herald send summit \
    --list xen-users --segment us-east --yes
like "$out" '20 sent, 0 failed, 20 queued'; ok $? "the other destination's 20 sent"
[ "$(sql "SELECT count(*) FROM deliveries d JOIN subscribers s ON s.id =
    d.subscriber_id WHERE s.email LIKE '%@slow.test' AND d.state = 'queued'
    AND d.code = 451")" = 20 ]
ok $? "the rate-limited destination's 20 deferred with the 451, none failed"
t "campaign show" 0 herald campaign show 1
like "$out" '^slow +slowed by 20 replies to 15\.6 msg/s \(of 1000\): 451 4\.7\.1 Rate limited'
ok $? "the slow group was slowed (halved at each reply, to 1/64 of its rate)"
like "$out" '^fast +1000 msg/s$'
ok $? "the other group kept its rate"
t "retry: the destination takes them now" 0 herald campaign retry 1
like "$out" '40 sent, 0 failed, 0 queued'; ok $? "all 40 sent"
t "campaign show" 0 herald campaign show 1
like "$out" '^slow +1000 msg/s$'; ok $? "the slow group is back at its rate"

write_conf "shape a { domains = {\"x.test\"} }" \
    "shape b { domains = {\"y.test\", \"X.test\"} }"
t "a domain in two groups: a configuration error" 78 herald campaigns
like "$err" 'shape "b": x\.test is in shape "a" already'; ok $? "naming both"
finish
