#!/bin/sh
# herald send refuses what would surprise: a second send of an
# announcement its list already got (done, or cancelled after some were
# sent) without --again; --test with something that is no address;
# --dry-run ""; --test with --dry-run; and send.* numbers (and
# smtp.timeout) past their bounds in herald.conf, named by file:line.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
plan 35

PORT=$(free_port)
relay_conf "$PORT"
subs_csv "$T/subs.csv" 10
herald sub import xen-users "$T/subs.csv" >/dev/null
start_sink "$PORT" "$T/sink"
mails() { ls "$T/sink" | wc -l; }
camps() { sql 'SELECT count(*) FROM campaigns'; }

# --- item 6: a done campaign is not sent again by accident
t "the first send" 0 herald send summit --list xen-users --segment users --yes
N=$(mails)
[ "$N" -gt 0 ]; ok $? "mailed $N"
t "a second send of it is refused" 64 herald send summit --list xen-users \
    --segment users --yes
like "$err" '^herald send: campaign 1 of this announcement on xen-users is done \([0-9]+ sent\); --again sends it once more' &&
    [ "$(printf '%s\n' "$err" | wc -l)" = 1 ]
ok $? "in one line naming the campaign and --again"
[ "$(mails)" = "$N" ] && [ "$(camps)" = 1 ]; ok $? "nothing sent, no campaign made"
t "also with other segments" 64 herald send summit --list xen-users \
    --segment developers --yes
t "--again sends it once more" 0 herald send summit --list xen-users \
    --segment users --yes --again
[ "$(mails)" = $((N * 2)) ] && [ "$(camps)" = 2 ]; ok $? "everyone mailed again, campaign 2"
t "and after that the newest is named" 64 herald send summit \
    --list xen-users --segment users --yes
like "$err" 'campaign 2 of this announcement'; ok $? "campaign 2"
sql "UPDATE campaigns SET state = 'cancelled', reason = 'test' WHERE id = 2"
t "cancelled after some were sent: refused too" 64 herald send summit \
    --list xen-users --segment users --yes
like "$err" 'campaign 2 .* was cancelled after [0-9]+ were sent; --again'
ok $? "says how many got it"
sql "UPDATE campaigns SET state = 'cancelled' WHERE id = 1;
    UPDATE deliveries SET state = 'queued'"
t "cancelled before anyone got it: sent without --again" 0 herald send \
    summit --list xen-users --segment users --yes
[ "$(mails)" = $((N * 3)) ]; ok $? "mailed"
t "another announcement is not held up" 0 herald send talks \
    --list xen-users --segment users --yes
t "--test and --dry-run are never held up" 0 herald send summit \
    --list xen-users --segment users --test tester@example.org

# --- item 7: the command line
N=$(mails); C=$(camps)
t "--test not-an-address" 64 herald send summit --list xen-users \
    --segment users --test not-an-address
like "$err" '^herald send: --test: .*not-an-address' &&
    [ "$(printf '%s\n' "$err" | wc -l)" = 1 ]; ok $? "one line naming it"
t "--test with a second address bad" 64 herald send summit --list xen-users \
    --segment users --test ok@example.org --test 'a b@example.org'
[ "$(mails)" = "$N" ] && [ "$(camps)" = "$C" ]; ok $? "nothing sent, nothing recorded"
mkdir "$T/cwd"
expect 64 sh -c "cd '$T/cwd' && '$HERALD' send summit --list xen-users --segment users --dry-run ''"
ok $? "--dry-run \"\" is refused"
like "$err" '^herald send: --dry-run needs a folder' &&
    [ -z "$(ls -A "$T/cwd")" ]; ok $? "says so, writes nothing in the current folder"
t "--test with --dry-run" 64 herald send summit --list xen-users \
    --segment users --test me@example.org --dry-run "$T/md"
like "$err" '^herald send: --test and --dry-run do not go together' &&
    [ ! -e "$T/md" ] && [ "$(mails)" = "$N" ]; ok $? "says so, does neither"

# --- item 7: bounds in the configuration check
cp "$HERALD_CONFIG" "$T/base.conf"
bound() {
	cp "$T/base.conf" "$HERALD_CONFIG"
	printf '%s {\n  %s\n}\n' "$1" "$2" >> "$HERALD_CONFIG"
	_line=$(($(wc -l < "$HERALD_CONFIG") - 1))
	rm -rf "$T/md"
	expect 78 herald send summit --list xen-users --segment users --dry-run "$T/md"
	_rc=$?
	like "$err" "^herald send: $HERALD_CONFIG:$_line: $1\.$3 must be between" &&
	    [ ! -e "$T/md" ]
	ok $((_rc + $?)) "$1 { $2 }: exit 78 at herald.conf:$_line"
}
bound send "connections = 100000" connections
bound send "connections = 0" connections
bound send "batch = 1000000" batch
bound send "rate = nan" rate
bound send "domain_rate = 1e300" domain_rate
bound send "max_age = 4294967297" max_age
bound send "retry_base = 100000000" retry_base
bound send "error_min = 0" error_min
bound send "error_min = 2000000000" error_min
bound smtp "timeout = 86400000" timeout
cp "$T/base.conf" "$HERALD_CONFIG"
printf 'send {\n  connections = 100\n  batch = 10000\n}\n' >> "$HERALD_CONFIG"
t "the bounds themselves are fine" 0 herald send summit --list xen-users \
    --segment users --dry-run "$T/md2"
finish
