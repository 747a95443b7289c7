#!/bin/sh
# herald pipe: a token acts only for the purpose it was made for. Every
# route that reads a token (a complaint's returned VERP address and its
# List-Unsubscribe, a bounce's address and the address inside it, the
# unsubscribe and the confirm address) is given a token of every other
# purpose, a test copy's tokens and a tampered one: the subscriber stays
# as they were, and the log line says why the token was refused. Before
# issue 21's fix, an ARF report carrying a confirmation, unsubscribe or
# test token in its Original-Mail-From blocklisted the subscriber on
# every list. With VIA=lmtp (t0515) the same over LMTP.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0500/pipe-lib.sh"
F=$TOP/tests/t0500

sink_start
hinit
sink_conf
BOB=$(add_sub bob@subs.test active xen-users xen-devel)
NOW=$(date +%s)
GOOD=$(tok b xen-users $BOB 7)
# a real bounce token with one MAC character changed
TAMPERED=$(tamper "$GOOD")

# every token of bob's that is not a real bounce token
NOT_BOUNCE="u:$(tok u xen-users $BOB)
s:$(tok s xen-users $BOB $NOW)
c:$(tok c xen-users $BOB $NOW)
tb:$(tok tb xen-users $BOB 7)
tu:$(tok tu xen-users $BOB)
tampered:$TAMPERED
other-list:$(tok b xen-devel $BOB 7)"

# both_active - bob is still active on both lists
both_active() {
	[ "$(status bob@subs.test xen-users)" = active ] &&
	[ "$(status bob@subs.test xen-devel)" = active ]
}
# refused - the log line says a token was refused, and why (never the
# token itself)
refused() {
	like "$err" "$LOGP" && like "$err" "refused \((malformed token|token does not verify|a token of list [a-z-]+ for .[a-z' ]+. is not taken here)" &&
	unlike "$err" "$1"
}

# --- complaints: the returned message's VERP address
for kv in $NOT_BOUNCE; do
	k=${kv%%:*}; v=${kv#*:}
	fill $F/arf-yahoo.eml $T/m VERP=$v UTOKEN=none
	sed -i "s/1407240065.58213/c-$k/" $T/m
	t "a complaint whose VERP address holds a $k token" 0 hpipe "" xen-users-bounces@$D $T/m
	case $k in
	tb) like "$err" 'test copy' && both_active; ok $? "$k: a test copy's, bob is not blocklisted" ;;
	*) both_active && refused "$v"; ok $? "$k: bob is not blocklisted, and the log says why" ;;
	esac
	unlike "$err" "found by VERP token"; ok $? "$k: nobody found by a VERP token"
done
[ "$(sql "SELECT count(*) FROM complaints WHERE subscriber_id IS NOT NULL")" = 0 ]; ok $? "no complaint names bob"
[ "$(sql "SELECT count(*) FROM events WHERE action = 'complaint'")" = 0 ]; ok $? "no complaint event"

# --- complaints: the returned message's List-Unsubscribe mailto
for kv in "b:$GOOD" "s:$(tok s xen-users $BOB $NOW)" "c:$(tok c xen-users $BOB $NOW)" "tampered-u:$(tamper "$(tok u xen-users $BOB)")"; do
	k=${kv%%:*}; v=${kv#*:}
	fill $F/arf-yahoo.eml $T/m VERP=none UTOKEN=$v
	sed -i "s/1407240065.58213/u-$k/" $T/m
	t "a complaint whose List-Unsubscribe holds a $k token" 0 hpipe "" xen-users-bounces@$D $T/m
	both_active; ok $? "$k: bob is not blocklisted"
	unlike "$err" "found by unsubscribe token"; ok $? "$k: nobody found by an unsubscribe token"
done

# --- a real VERP token still finds him (the check above is not vacuous)
fill $F/arf-yahoo.eml $T/m VERP=$GOOD UTOKEN=none
t "a complaint with bob's real bounce token" 0 hpipe "" xen-users-bounces@$D $T/m
like "$err" "found by VERP token" && [ "$(status bob@subs.test xen-users)" = blocklisted ]; ok $? "blocklists bob"
sql "UPDATE memberships SET status = 'active' WHERE subscriber_id = $BOB"
sql "DELETE FROM complaints"

# --- bounces: the address's token and the token inside
for kv in $NOT_BOUNCE; do
	k=${kv%%:*}; v=${kv#*:}
	fill $F/bounce-dsn.eml $T/m VERP=$v RCPTADDR=nobody@subs.test
	sed -i "s/^Diagnostic-Code: smtp; 550/Diagnostic-Code: smtp; 550 $k/" $T/m
	t "a bounce at LIST-bounces+($k token)" 0 hpipe "" xen-users-bounces+$v@$D $T/m
	case $k in
	tb) like "$err" 'test copy'; ok $? "$k: said to be a test copy's" ;;
	*) [ "$(sql "SELECT coalesce(subscriber_id, 0) FROM inbound_bounces ORDER BY id DESC LIMIT 1")" = 0 ] && refused "$v"
	   ok $? "$k: stored without a subscriber, and the log says why" ;;
	esac
	sed -i "s/550 $k/551 $k/" $T/m
	t "a bounce at LIST-bounces@ with a $k token inside" 0 hpipe "" xen-users-bounces@$D $T/m
	case $k in
	tb) like "$err" 'test copy'; ok $? "$k inside: said to be a test copy's" ;;
	*) [ "$(sql "SELECT coalesce(subscriber_id, 0) FROM inbound_bounces ORDER BY id DESC LIMIT 1")" = 0 ]
	   ok $? "$k inside: stored without a subscriber" ;;
	esac
done
[ "$(sql "SELECT count(*) FROM bounces WHERE subscriber_id = $BOB")" = 0 ] && both_active; ok $? "no bounce is held against bob"

# --- the unsubscribe address
fill $F/plain.eml $T/m FROM=mallory@evil.test RCPT=x SUBJECT=unsubscribe BODY=unsubscribe MSGID=u1
for kv in "b:$GOOD" "s:$(tok s xen-users $BOB $NOW)" "c:$(tok c xen-users $BOB $NOW)" "tb:$(tok tb xen-users $BOB 7)" "tampered-u:$(tamper "$(tok u xen-users $BOB)")"; do
	k=${kv%%:*}; v=${kv#*:}
	t "LIST-unsubscribe+($k token)" 0 hpipe mallory@evil.test xen-users-unsubscribe+$v@$D $T/m
	both_active && like "$err" "token not valid for this list \(" && unlike "$err" "$v"; ok $? "$k: bob stays, and the log says why"
done

# --- the confirm address
for kv in "b:$GOOD" "u:$(tok u xen-users $BOB)" "tampered-c:$(tamper "$(tok c xen-users $BOB $NOW)")"; do
	k=${kv%%:*}; v=${kv#*:}
	t "LIST-confirm+($k token) is 65" 65 hpipe bob@subs.test xen-users-confirm+$v@$D $T/m
	both_active && like "$err" "no valid confirmation token for [^ ]+: (malformed token|token does not verify|a token of list xen-users for .[a-z' ]+. is not taken here)" && unlike "$err" "$v"
	ok $? "$k: bob stays, and the error says why"
done

plan $_n
finish
