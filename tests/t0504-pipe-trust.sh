#!/bin/sh
# herald pipe under its own faults and hostile input (issue 10, items 8 to
# 13): a configuration not found or a list folder missing defers (75), never
# bounces (67); every recipient of a multi-recipient delivery is handled;
# the pipe's commits are synced before it exits 0; a notice goes out once
# per committed change (a failing commit sends none, a relay that is down
# leaves it in the outbox for the next run); a reply names a delivery only
# through a Message-ID herald made; an empty message and an oversized
# bounce are handled without noise. Against smtp-sink and a real SQLite
# file; a trigger that RAISEs stands for a commit that fails.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0500/pipe-lib.sh"
sqlite_only "it traces the fsync of the SQLite file before exit 0 (PostgreSQL: synchronous_commit on, see t2300)"
F=$TOP/tests/t0500
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES

sink_start
hinit
sink_conf
ALICE=$(add_sub alice@subs.test active xen-users xen-devel)
BOB=$(add_sub bob@subs.test active xen-users)
CAROL=$(add_sub carol@subs.test active xen-users)

# --- 8. our own faults defer; 67 only for an address the configuration lacks
mkdir -p "$T/elsewhere"
fill $F/reply.eml $T/m
SYSCONF=$(strings "$HERALD" | grep -m1 '/herald/herald.conf$' || true)
if [ -n "$SYSCONF" ] && [ -e "$SYSCONF" ]; then
	skip "a system configuration exists here ($SYSCONF)"; skip "-"; skip "-"; skip "-"
else
	# a database and secret where built-in defaults would look (as on a
	# machine where herald ran before): no configuration must still defer
	mkdir -p "$T/xdg/herald" && cp "$T/data/herald.db" "$T/data/secret" "$T/xdg/herald/"
	expect 75 env -u HERALD_CONFIG XDG_DATA_HOME="$T/xdg" sh -c "cd $T/elsewhere && exec \"$HERALD\" pipe -f dave@subs.test xen-users@$D" < $T/m
	ok $? "pipe where no configuration is found defers (75), not 67"
	like "$err" 'no configuration file found: tried .*/elsewhere/etc/herald.conf and .*/herald/herald.conf'; ok $? "and names the files it tried"
	expect 78 env -u HERALD_CONFIG sh -c "cd $T/elsewhere && exec \"$HERALD\" lists"
	ok $? "herald lists there is a configuration error (78), not \"No lists configured\""
	like "$err" 'tried .*etc/herald.conf and .*herald/herald.conf; name one with -c FILE or \$HERALD_CONFIG'; ok $? "naming the files tried"
fi
expect 75 "$HERALD" -c $T/nosuch.conf pipe -f dave@subs.test xen-users@$D < $T/m; ok $? "-c naming a missing file: pipe defers"
like "$err" 'nosuch.conf: no such configuration file \(named by -c\)'; ok $? "and says so"
t "-c naming a missing file: lists exits 78" 78 herald -c $T/nosuch.conf lists
sed "s|list_dir = .*|list_dir = \"$T/gone\"|" "$HERALD_CONFIG" > $T/nolists.conf
expect 75 "$HERALD" -c $T/nolists.conf pipe -f dave@subs.test xen-users@$D < $T/m; ok $? "a list folder that is not there defers mail to a real list (75)"
like "$err" "the list folder $T/gone is not there"; ok $? "and names the folder"
t "herald lists with that configuration: 78" 78 herald -c $T/nolists.conf lists
t "an address no list has, with the configuration loaded: 67" 67 hpipe dave@subs.test nobody@$D $T/m
[ "$(ls $T/data/spool/new 2>/dev/null | wc -l)" = 0 ]; ok $? "nothing left behind in the spool"

# --- 9. two recipients in one delivery: both handled
TA=$(tok u xen-users $ALICE); TB=$(tok u xen-devel $ALICE)
fill $F/gmail-unsubscribe.eml $T/m RCPT=x
expect 0 "$HERALD" pipe -f alice@subs.test xen-users-unsubscribe+$TA@$D xen-devel-announce-unsubscribe+$TB@$D < $T/m
ok $? "two recipients: exit 0"
[ "$(status alice@subs.test xen-users)" = unsubscribed ] && [ "$(status alice@subs.test xen-devel)" = unsubscribed ]
ok $? "alice is off both lists (the second copy is not lost)"
[ "$(printf '%s\n' "$err" | grep -c 'status=0: unsubscribed')" = 2 ]; ok $? "one log line per recipient"
fill $F/plain.eml $T/m FROM=bob@subs.test RCPT=x SUBJECT=hi BODY=hello MSGID=two1
expect 67 "$HERALD" pipe -f bob@subs.test xen-users@$D nobody@$D < $T/m
ok $? "one of two recipients unknown: the permanent status, for the MTA to report"
like "$err" 'set the transport.s recipient limit to 1' && [ "$(sql "SELECT count(*) FROM replies WHERE message_id = 'two1@subs.test'")" = 1 ]
ok $? "the other was stored all the same, and the log says to set the recipient limit to 1"

# --- 10. exit 0 means synced: the WAL is fsynced after the last write to it
if command -v strace >/dev/null; then
	VT=$(tok b xen-users $BOB 7)
	fill $F/bounce-dsn.eml $T/m VERP=$VT RCPTADDR=bob@subs.test
	sql "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null	# no WAL trim (and its syncs) in this run
	# (LeakSanitizer cannot run under ptrace: off for this run of an ASan build)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -y -o $T/strace \
	    -e trace=write,pwrite64,fsync,fdatasync "$HERALD" pipe -f "" xen-users-bounces+$VT@$D < $T/m 2>/dev/null
	[ $? = 0 ] && [ "$(sql "SELECT count(*) FROM inbound_bounces WHERE delivery_id = 7")" = 1 ]; ok $? "a bounce, committed, exit 0"
	awk '/herald\.db-wal>/ && /pwrite64|write\(/ { last = NR; synced = 0 }
	     /herald\.db-wal>/ && /(fsync|fdatasync)\(/ && last { synced = 1 }
	     END { exit !(last && synced) }' $T/strace
	ok $? "the WAL is synced after the commit's last write, before exit"
else
	skip "no strace"; skip "no strace"
fi

# --- 11. a notice once per committed change
N0=$(sink_count bob@subs.test)
sql "CREATE TRIGGER t0504_a BEFORE UPDATE ON memberships BEGIN SELECT RAISE(ABORT, 'the disk is full (t0504)'); END;
     CREATE TRIGGER t0504_b BEFORE INSERT ON memberships BEGIN SELECT RAISE(ABORT, 'the disk is full (t0504)'); END;"
TB=$(tok u xen-users $BOB)
fill $F/gmail-unsubscribe.eml $T/m RCPT=x
t "the unsubscribe's commit fails: 75" 75 hpipe bob@subs.test xen-users-unsubscribe+$TB@$D $T/m
unlike "$err" 'goodbye|unsubscribed subscriber'; ok $? "the log claims neither the unsubscribe nor a goodbye"
t "the MTA retries: 75 again" 75 hpipe bob@subs.test xen-users-unsubscribe+$TB@$D $T/m
[ "$(sink_count bob@subs.test)" = "$N0" ] && [ "$(status bob@subs.test xen-users)" = active ]
ok $? "no goodbye went out for an unsubscribe that did not happen"
[ "$(sql "SELECT count(*) FROM outbox WHERE subscriber_id = $BOB AND kind = 'goodbye'")" = 0 ]; ok $? "and none waits in the outbox"
sql "DROP TRIGGER t0504_a; DROP TRIGGER t0504_b"
t "the retry once the disk is freed" 0 hpipe bob@subs.test xen-users-unsubscribe+$TB@$D $T/m
[ "$(status bob@subs.test xen-users)" = unsubscribed ] && [ "$(sink_count bob@subs.test)" = $((N0 + 1)) ]
ok $? "unsubscribes bob with exactly one goodbye"
like "$err" 'unsubscribed subscriber [0-9]+ \(token\); goodbye sent$'; ok $? "and the log says so"
t "a late duplicate of the request" 0 hpipe bob@subs.test xen-users-unsubscribe+$TB@$D $T/m
[ "$(sink_count bob@subs.test)" = $((N0 + 1)) ]; ok $? "sends no second goodbye"

# a confirmation request whose record fails is not sent either
sql "CREATE TRIGGER t0504_c BEFORE INSERT ON confirmations BEGIN SELECT RAISE(ABORT, 'the disk is full (t0504)'); END;"
fill $F/plain.eml $T/m "FROM=Carol <carol@subs.test>" RCPT=xen-users-unsubscribe@$D SUBJECT=bye BODY=bye MSGID=conf1
t "an unsubscribe request whose record fails: 75" 75 hpipe carol@subs.test xen-users-unsubscribe@$D $T/m
t "and its retry: 75" 75 hpipe carol@subs.test xen-users-unsubscribe@$D $T/m
[ "$(sink_count carol@subs.test)" = 0 ]; ok $? "carol got no confirmation for a request that was not recorded"
sql "DROP TRIGGER t0504_c"
t "with the disk freed" 0 hpipe carol@subs.test xen-users-unsubscribe@$D $T/m
[ "$(sink_count carol@subs.test)" = 1 ]; ok $? "one confirmation"

# the relay is down: the change commits (0) and the notice waits; the next
# herald pipe, whatever it delivers, sends it once it is due
DORA=$(add_sub dora@subs.test active xen-users)
TD=$(tok u xen-users $DORA)
sink_stop
fill $F/gmail-unsubscribe.eml $T/m RCPT=x
t "relay down: the unsubscribe still commits (0)" 0 hpipe dora@subs.test xen-users-unsubscribe+$TD@$D $T/m
[ "$(status dora@subs.test xen-users)" = unsubscribed ] && like "$err" 'goodbye queued, not sent now'; ok $? "and the goodbye waits, the log says why"
sink_start
sink_move
sql "UPDATE outbox SET next_attempt = 0 WHERE subscriber_id = $DORA"
VT=$(tok b xen-users $CAROL 8)
fill $F/bounce-dsn.eml $T/m VERP=$VT RCPTADDR=carol@subs.test
t "the next pipe (a bounce)" 0 hpipe "" xen-users-bounces+$VT@$D $T/m
[ "$(sink_count dora@subs.test)" = 1 ] && [ "$(sql "SELECT state FROM outbox WHERE subscriber_id = $DORA")" = sent ]; ok $? "sends dora's goodbye, once"
t "herald maintain later" 0 herald maintain
[ "$(sink_count dora@subs.test)" = 1 ]; ok $? "sends it no second time"

# --- 12. reply linking trusts only Message-IDs herald made
printf 'email,name,role\nvic@subs.test,Vic,user\numa@subs.test,Uma,user\n' > $T/subs.csv
herald sub import xen-users $T/subs.csv >/dev/null
VIC=$(sql "SELECT id FROM subscribers WHERE email = 'vic@subs.test'")
expect 0 herald send summit --list xen-users --segment users --yes; ok $? "a campaign to the users segment"
DV=$(sql "SELECT id FROM deliveries WHERE subscriber_id = $VIC")
MID=$(sed -n 's/^Message-ID: <\(.*\)>\r\{0,1\}$/\1/p' "$(sink_last vic@subs.test)")
like "$MID" "^herald\.$DV\.[0-9a-f]{8}\.[a-z2-7]{16}@lists.xenproject.org$"; ok $? "its Message-ID carries the delivery and a MAC ($MID)"
NV=$(sink_count vic@subs.test)
fill $F/plain.eml $T/m FROM=mallory@evil.test RCPT=xen-users@$D SUBJECT=unsubscribe BODY=unsubscribe MSGID=guess1
sed -i "1a In-Reply-To: <herald.$DV.0000000000000000@$D>" $T/m
t "a stranger's unsubscribe reply naming a guessed Message-ID" 0 hpipe mallory@evil.test xen-users@$D $T/m
[ "$(sql "SELECT coalesce(campaign_id, 0) || ' ' || coalesce(subscriber_id, 0) FROM replies WHERE message_id = 'guess1@subs.test'")" = "0 0" ]
ok $? "is linked to no campaign and no subscriber"
[ "$(sink_count vic@subs.test)" = "$NV" ]; ok $? "and vic gets no confirmation request"
fill $F/plain.eml $T/m FROM=mallory@evil.test RCPT=xen-users@$D SUBJECT=unsubscribe BODY=unsubscribe MSGID=guess2
sed -i "1a In-Reply-To: <herald.$DV.$(printf '%s' "$MID" | cut -d. -f3).aaaaaaaaaaaaaaaa@$D>" $T/m
t "the same with the new form and a made-up MAC" 0 hpipe mallory@evil.test xen-users@$D $T/m
[ "$(sql "SELECT coalesce(campaign_id, 0) FROM replies WHERE message_id = 'guess2@subs.test'")" = 0 ] && [ "$(sink_count vic@subs.test)" = "$NV" ]
ok $? "links nothing either"
fill $F/plain.eml $T/m "FROM=Vic <vic@subs.test>" RCPT=xen-users@$D SUBJECT="Re: the summit" BODY="a question" MSGID=real1
sed -i "1a In-Reply-To: <$MID>" $T/m
t "vic's real reply" 0 hpipe vic@subs.test xen-users@$D $T/m
[ "$(sql "SELECT campaign_id || ' ' || subscriber_id FROM replies WHERE message_id = 'real1@subs.test'")" = "$(sql "SELECT campaign_id || ' ' || subscriber_id FROM deliveries WHERE id = $DV")" ]
ok $? "is linked to its campaign and to vic"

# --- 13. an empty message, an oversized bounce
t "a 0-byte message from a person: 65" 65 hpipe dave@subs.test xen-users@$D /dev/null
unlike "$err" 'CRITICAL' && like "$err" 'empty'; ok $? "no GLib CRITICAL, the log says it was empty"
t "a 0-byte message from the null sender: 0" 0 hpipe "" xen-users-bounces@$D /dev/null
unlike "$err" 'CRITICAL'; ok $? "no GLib CRITICAL"
cp "$HERALD_CONFIG" $T/small.conf; echo 'pipe { max_size = 3000 }' >> $T/small.conf
UMA=$(sql "SELECT id FROM subscribers WHERE email = 'uma@subs.test'")
VU=$(tok b xen-users $UMA 12345)
fill $F/bounce-dsn.eml $T/m VERP=$VU RCPTADDR=uma@subs.test
head -n -1 $T/m > $T/big; head -c 8000 /dev/zero | tr '\0' x | fold -w 70 | sed 's/^/X-Pad: /' >> $T/big; tail -n 1 $T/m >> $T/big
expect 0 "$HERALD" -c $T/small.conf pipe -f "" xen-users-bounces+$VU@$D < $T/big; ok $? "a VERP bounce over pipe.max_size: 0"
[ "$(sql "SELECT subscriber_id || ' ' || delivery_id FROM inbound_bounces WHERE delivery_id = 12345")" = "$UMA 12345" ]
ok $? "is recorded for the delivery its address names"
like "$err" 'larger than 3000 bytes, its first 3000 handled: bounce for subscriber'; ok $? "and the log says it was cut"

plan $_n
finish
