#!/bin/sh
# herald sub import: RFC 4180 CSV (quotes, commas, line breaks in fields,
# CRLF, a BOM), rejected rows with FILE:LINE and why, --strict, updates,
# stdin, and one transaction: a failure or a kill halfway leaves nothing.
. "${TOP:-.}/tests/lib.sh"
plan 55
F=$TOP/tests/t0110
fresh() { rm -rf "$T/data"; hinit; }

hinit
schema_fresh=$(schema_dump)
t "import with bad rows: exit 65, the rest imported" 65 herald sub import xen-users "$F/bad.csv"
like "$err" "^$F/bad.csv:4: \"not-an-address\" is not a valid address: it has no @$"; ok $? "line 4: bad address"
like "$err" "^$F/bad.csv:5: the name contains a line break$"; ok $? "line 5: a quoted line break in a name"
like "$err" "^$F/bad.csv:7: 3 fields, the header has 5$"; ok $? "line 7: too few fields (line numbers count the quoted line break)"
like "$err" "^$F/bad.csv:8: text after a closing quote$"; ok $? "line 8: malformed quoting"
like "$err" "^$F/bad.csv:11: a quoted field is never closed$"; ok $? "line 11: unclosed quote"
[ "$(printf '%s\n' "$err" | wc -l)" = 5 ]; ok $? "exactly five rejected"
like "$out" '^xen-users: 8 rows: 3 added, 0 joined, 0 updated, 0 left as they were \(.*\), 5 rejected$'
ok $? "summary counts (8 rows: the blank line is none, the quoted line break joins two)"
[ "$(sql "SELECT name FROM subscribers WHERE email = 'ben@example.org'")" = 'Ben "the builder" Bo' ] &&
    [ "$(sql "SELECT value FROM attributes a JOIN subscribers s ON s.id = a.subscriber_id WHERE s.email = 'ben@example.org' AND key = 'company'")" = 'Acme, Inc.' ]
ok $? "quotes and commas inside fields"
[ "$(sql "SELECT name FROM subscribers WHERE email = 'fay@example.org'")" = 'Zoë Faÿ' ]; ok $? "UTF-8 kept"
[ "$(sql "SELECT count(*) FROM attributes a JOIN subscribers s ON s.id = a.subscriber_id WHERE s.email = 'ann@example.com' AND key = 'company'")" = 0 ]
ok $? "an empty cell stores no attribute"
[ "$(sql "SELECT count(*) FROM events")" = 1 ] &&
    [ "$(sql "SELECT action || ' ' || channel || ' ' || detail FROM events")" = "import import $F/bad.csv: 8 rows, 3 added, 0 joined, 0 updated, 0 kept, 5 rejected" ]
ok $? "one event for the import, naming the file and the counts"
[ "$(sql "SELECT group_concat(DISTINCT channel) FROM memberships")" = import ] &&
    like "$(herald sub show xen-users ben@example.org)" '^xen-users: active \(subscribed [0-9-]+ [0-9:]+, changed [0-9-]+ [0-9:]+, via import\)$'
ok $? "each membership says it came by import; sub show says so"
[ "$(schema_dump)" = "$schema_fresh" ]
ok $? "an import into an empty list leaves the schema as init made it (the indexes it drops for speed are back)"

# --strict: one bad row and nothing goes in
fresh
before=$(sql "SELECT count(*) FROM subscribers")
t "--strict with bad rows: 65" 65 herald sub import --strict xen-users "$F/bad.csv"
like "$out" 'nothing imported'; ok $? "summary says nothing imported"
[ "$(sql "SELECT count(*) FROM subscribers")" = "$before" ] &&
    [ "$(sql "SELECT count(*) FROM memberships")" = 0 ] &&
    [ "$(sql "SELECT count(*) FROM events")" = 0 ]; ok $? "--strict left nothing"

# CRLF, a byte order mark, stdin; updates of existing subscribers
printf '\357\273\277email,name,role\r\nann@example.com,Ann,user\r\nben@example.org,,developer\r\n' > "$T/crlf.csv"
t "CRLF and a BOM from stdin" 0 sh -c "\"$HERALD\" sub import xen-users - < \"$T/crlf.csv\""
like "$out" '2 added'; ok $? "two added"
[ "$(sql "SELECT name FROM subscribers WHERE email = 'ann@example.com'")" = Ann ]; ok $? "no stray CR in values"
printf 'email,name,role,region\nann@example.com,Ann Ng,developer,\ncat@example.net,Cat,user,asia\n' > "$T/upd.csv"
herald sub rm xen-users ben@example.org >/dev/null
printf 'email,role\nben@example.org,manager\n' > "$T/ben.csv"
t "update existing" 0 herald sub import xen-users "$T/upd.csv"
like "$out" '1 added, 0 joined, 1 updated'; ok $? "one added, one updated"
[ "$(sql "SELECT name || ' ' || (SELECT value FROM attributes WHERE subscriber_id = s.id AND key = 'role') FROM subscribers s WHERE email = 'ann@example.com'")" = "Ann Ng developer" ]
ok $? "name and attribute updated; empty cells left the rest"
[ "$(sql "SELECT count(*) FROM (SELECT key, value, subscriber_id FROM attributes EXCEPT SELECT key, value, subscriber_id FROM subscriber_attributes) q")" = 0 ] &&
    [ "$(sql "SELECT count(*) FROM (SELECT key, value, subscriber_id FROM subscriber_attributes EXCEPT SELECT key, value, subscriber_id FROM attributes) q")" = 0 ] &&
    [ "$(sql "SELECT count(*) FROM attributes a JOIN subscribers s ON s.id = a.subscriber_id WHERE s.email = 'ann@example.com' AND key = 'role'")" = 1 ]
ok $? "the segment index and the subscribers' attributes agree after updates"
t "an unsubscribed member is not subscribed again" 0 herald sub import xen-users "$T/ben.csv"
like "$out" '1 left as they were' &&
    [ "$(sql "SELECT status FROM memberships m JOIN subscribers s ON s.id = m.subscriber_id WHERE s.email = 'ben@example.org'")" = unsubscribed ]
ok $? "still unsubscribed"

# duplicates inside one file, inside one batch and across batches (the
# writer flushes every 256 rows): the later row updates the earlier
fresh
printf 'email,role,region\nx@example.org,user,asia\nx@EXAMPLE.ORG,developer,\n' > "$T/dupe.csv"
t "a duplicate in the same file" 0 herald sub import xen-users "$T/dupe.csv"
like "$out" '2 rows: 1 added, 0 joined, 1 updated'; ok $? "counts: added, then updated"
[ "$(sql "SELECT attrs FROM subscribers")" = '{"role":"developer","region":"asia"}' ] ||
    [ "$(sql "SELECT attrs FROM subscribers")" = '{"region":"asia","role":"developer"}' ]
ok $? "the later row's value wins, the empty cell keeps the earlier"
"$BUILD/tools/gen-subscribers" 600 > "$T/600.csv"
{ cat "$T/600.csv"; sed -n '2,300p' "$T/600.csv" | sed 's/,developer,/,manager,/'; } > "$T/900.csv"
t "900 rows, 300 of them again" 0 herald sub import xen-users "$T/900.csv"
like "$out" '899 rows: 600 added, 0 joined, 299 updated'; ok $? "counts across batches"
[ "$(sql "SELECT count(*) FROM (SELECT key, value, subscriber_id FROM attributes EXCEPT SELECT key, value, subscriber_id FROM subscriber_attributes) q")" = 0 ] &&
    [ "$(sql "SELECT count(*) FROM (SELECT key, value, subscriber_id FROM subscriber_attributes EXCEPT SELECT key, value, subscriber_id FROM attributes) q")" = 0 ] &&
    [ "$(sql "SELECT count(*) FROM attributes")" = "$(sql "SELECT count(*) FROM subscriber_attributes")" ]
ok $? "the segment index and the subscribers' attributes agree"
t "the same file again: every row updated" 0 herald sub import xen-users "$T/600.csv"
like "$out" '600 rows: 0 added, 0 joined, 600 updated'; ok $? "counts"
# into an empty table the email index is built after the rows (bulk mode),
# or at the first repeated address, here in the third batch
fresh
t "900 rows with repeats into an empty table" 0 herald sub import xen-users "$T/900.csv"
like "$out" '899 rows: 600 added, 0 joined, 299 updated' &&
    [ "$(index_exists subscribers_email_key)" = 1 ] &&
    [ "$(sql "SELECT count(*) FROM (SELECT key, value, subscriber_id FROM attributes EXCEPT SELECT key, value, subscriber_id FROM subscriber_attributes) q")" = 0 ] &&
    [ "$(sql "SELECT count(*) FROM attributes")" = "$(sql "SELECT count(*) FROM subscriber_attributes")" ]
ok $? "same counts as row by row, the unique email index is back, the attribute tables agree"
fresh
t "600 rows into an empty table" 0 herald sub import xen-users "$T/600.csv"
[ "$(index_exists subscribers_email_key)" = 1 ] &&
    ! sql "INSERT INTO subscribers(email, email_key) SELECT email, email_key FROM subscribers LIMIT 1" 2>/dev/null
ok $? "the email index is built at the end and enforces uniqueness"

# header and file errors
t "a missing file: 66" 66 herald sub import xen-users "$T/nope.csv"
t "an unknown list: 67" 67 herald sub import xen-nothing "$F/bad.csv"
printf 'name,role\nAnn,user\n' > "$T/noemail.csv"
t "no email column: 65" 65 herald sub import xen-users "$T/noemail.csv"
like "$err" "noemail.csv:1: the header row has no \"email\" column"; ok $? "says so with the line"
printf 'email,role,Role\n' > "$T/dup.csv"
t "a column twice: 65" 65 herald sub import xen-users "$T/dup.csv"
: > "$T/empty.csv"
t "an empty file: 65" 65 herald sub import xen-users "$T/empty.csv"
t "missing FILE: 64" 64 herald sub import xen-users

# a failure halfway (the 51st insert fails) leaves nothing
fresh
"$BUILD/tools/gen-subscribers" 200 > "$T/200.csv"
fail_inserts subscribers 50 'disk on fire'
t "a store failure halfway ends the import" 70 herald sub import xen-users "$T/200.csv"
[ "$(sql "SELECT count(*) FROM subscribers")" = 0 ] && [ "$(sql "SELECT count(*) FROM events")" = 0 ] &&
    [ "$(index_exists subscribers_email_key)" = 1 ]
ok $? "and leaves nothing behind (the email index it dropped is back)"
fail_inserts_off subscribers

# the same across batches: the import writes batches of 1024 rows in a
# second thread while it reads the next; the third batch fails there
fresh
"$BUILD/tools/gen-subscribers" 5000 > "$T/5000.csv"
fail_inserts subscribers 2100 'disk on fire'
t "a store failure in the writing thread ends the import" 70 herald sub import xen-users "$T/5000.csv"
like "$err" 'disk on fire' && [ "$(sql "SELECT count(*) FROM subscribers")" = 0 ] &&
    [ "$(sql "SELECT count(*) FROM attribute_members")" = 0 ] &&
    [ "$(index_exists subscribers_email_key)" = 1 ]
ok $? "says why, and the batches already written are rolled back"
fail_inserts_off subscribers

# repeats across batches: rows 4001-5000 repeat the addresses of rows
# 1-1000 with another role; the later row wins, as row by row
fresh
{ cat "$T/5000.csv"; sed 1d "$T/5000.csv" | grep -v '"' | head -n 1000 |
    awk -F, 'BEGIN { OFS = "," } { $3 = "manager"; print }'; } > "$T/rep.csv"
t "5000 rows, then 1000 of them again" 0 herald sub import xen-users "$T/rep.csv"
like "$out" '6000 rows: 5000 added, 0 joined, 1000 updated'; ok $? "5000 added, 1000 updated"
first=$(sed 1d "$T/5000.csv" | grep -v '"' | head -n 1 | cut -d, -f1)
[ "$(sql "SELECT count(*) FROM subscribers")" = 5000 ] &&
    [ "$(sql "SELECT value FROM attributes a JOIN subscribers s ON s.id = a.subscriber_id WHERE s.email = '$first' AND key = 'role'")" = manager ] &&
    [ "$(sql "SELECT count(*) FROM (SELECT key, value, subscriber_id FROM attributes EXCEPT SELECT key, value, subscriber_id FROM subscriber_attributes) q")" = 0 ] &&
    [ "$(sql "SELECT count(*) FROM (SELECT key, value, subscriber_id FROM subscriber_attributes EXCEPT SELECT key, value, subscriber_id FROM attributes) q")" = 0 ]
ok $? "the later role stands, and the segment index agrees with the attributes"
fresh

# killed halfway: rows written, transaction open, SIGKILL
mkfifo "$T/fifo"
"$HERALD" sub import xen-users - < "$T/fifo" >/dev/null 2>&1 &
pid=$!
exec 3>"$T/fifo"
cat "$T/200.csv" >&3
# the import holds the write lock once it has begun; wait for that
i=0
while [ $i -lt 100 ] && store_unlocked; do
	sleep 0.1; i=$((i + 1))
done
kill -9 $pid; wait $pid 2>/dev/null
exec 3>&-
[ $i -lt 100 ] && [ "$(sql "SELECT count(*) FROM subscribers")" = 0 ] && [ "$(sql "SELECT count(*) FROM memberships")" = 0 ] &&
    [ "$(index_exists subscribers_email_key)" = 1 ]
ok $? "killed mid-import: nothing behind, the email index there"
t "the same file imports cleanly afterwards" 0 herald sub import xen-users "$T/200.csv"
[ "$(sql "SELECT count(*) FROM memberships WHERE status = 'active'")" = 200 ]; ok $? "all 200 in"
finish
