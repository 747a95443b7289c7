#!/bin/sh
# herald store copy (issue 23): an SQLite store with real rows in it
# (imported lists, a campaign sent to smtp-sink, an unsubscribe by mail
# and a reply to the list through herald pipe) copied into an empty PostgreSQL database and back
# into a new SQLite file: the checksums printed per table equal on both
# sides and across the round trip, the counts equal each side's own
# count, herald lists and campaigns --json say the same on the copy, the
# file copied back holds every row of the original, and a target that
# holds rows is refused (73) both ways, naming it.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
[ -x "${PG_BIN:-/nonexistent}/pg_ctl" ] || { echo "1..0 # SKIP no PostgreSQL server here (Debian's postgresql package)"; exit 0; }
sqlite_only "the copy starts from an SQLite store"
plan 24

# the SQLite store, with rows in most tables
PORT=$(free_port)
relay_conf "$PORT"
herald sub import xen-users "$TOP/lists/xen-users.sample.csv" >/dev/null &&
    herald sub import xen-devel "$TOP/lists/xen-devel.sample.csv" >/dev/null
ok $? "the sample lists imported into SQLite"
start_sink "$PORT" "$T/sink"
t "a campaign sent to smtp-sink" 0 herald send summit --list xen-users \
    --segment users --segment developers --yes
printf 'From: Alice Rossi <alice.rossi1@example.org>\nTo: xen-users-unsubscribe@lists.xenproject.org\nSubject: unsubscribe\nMessage-ID: <u1@example.org>\n\nunsubscribe\n' > "$T/m"
t "an unsubscribe by mail" 0 herald pipe -f alice.rossi1@example.org \
    xen-users-unsubscribe@lists.xenproject.org < "$T/m"
t "a reply to the list stored (its raw message a blob)" 0 herald pipe -f alice.rossi1@example.org \
    xen-users@lists.xenproject.org < "$TOP/tests/t0500/reply.eml"
DB=$T/data/herald.db
[ "$(sqlite3 "$DB" "SELECT count(*) FROM replies WHERE length(raw) > 500")" = 1 ]
ok $? "the reply's raw message is in the store"

# tables_of OUT - "TABLE ROWS SOURCE TARGET" per line of a copy's output
tables_of() { printf '%s\n' "$1" | awk '$3 == "rows" { print $1, $2, $5, $7 }'; }
# same_sums TABLES - every table's two checksums equal
same_sums() { [ -n "$1" ] && printf '%s\n' "$1" | awk '$3 != $4 { bad = 1 } END { exit bad }'; }

pg_start
CONNINFO=$(pg_conninfo)
cp "$HERALD_CONFIG" "$T/pg.conf"
pg_conf_block >> "$T/pg.conf"
t "herald init on the PostgreSQL database first (a schema, no rows)" 0 env HERALD_CONFIG="$T/pg.conf" "$HERALD" init
t "copy to an empty PostgreSQL database" 0 herald store copy --to postgresql "$CONNINFO"
TO_PG=$(tables_of "$out")
[ "$(printf '%s\n' "$TO_PG" | wc -l)" -ge 20 ] && same_sums "$TO_PG"
ok $? "a line per table, the checksums equal on both sides"
printf '%s\n' "$TO_PG" | awk '$2 > 0 { n++ } END { exit !(n >= 8) }'
ok $? "rows in at least 8 tables (lists, subscribers, deliveries, outbox, ...)"

# the counts printed are what each side holds
counts_ok() {
	printf '%s\n' "$TO_PG" | while read -r tab n _a _b; do
		s=$(sqlite3 "$DB" "SELECT count(*) FROM $tab") &&
		p=$(PG_DB=herald HERALD_TEST_STORE=postgresql sql "SELECT count(*) FROM $tab") &&
		[ "$s" = "$n" ] && [ "$p" = "$n" ] || { echo "# $tab: printed $n, sqlite $s, postgresql $p"; exit 1; }
	done
}
counts_ok; ok $? "the rows printed equal a count on SQLite and on PostgreSQL"

# herald itself on the copy
herald lists > "$T/lists.sqlite" && HERALD_CONFIG=$T/pg.conf herald lists > "$T/lists.pg" &&
    nonempty "$T/lists.sqlite" && cmp -s "$T/lists.sqlite" "$T/lists.pg"
ok $? "herald lists says the same on the copy"
herald campaigns --json > "$T/c.sqlite" && HERALD_CONFIG=$T/pg.conf herald campaigns --json > "$T/c.pg" &&
    like "$(cat "$T/c.sqlite")" 'summit' && cmp -s "$T/c.sqlite" "$T/c.pg"
ok $? "herald campaigns --json says the same on the copy"
# refused: a target that holds rows
t "copy again onto the filled database: 73" 73 herald store copy --to postgresql "$CONNINFO"
like "$err" "postgresql:$CONNINFO: not empty" &&
    [ "$(PG_DB=herald HERALD_TEST_STORE=postgresql sql "SELECT count(*) FROM subscribers")" = "$(sqlite3 "$DB" "SELECT count(*) FROM subscribers")" ]
ok $? "names the target, says it is not empty, and wrote nothing to it"

# back into a new SQLite file, from the PostgreSQL store
t "copy the PostgreSQL store to a new SQLite file" 0 env HERALD_CONFIG="$T/pg.conf" "$HERALD" store copy --to sqlite "$T/back.db"
BACK=$(tables_of "$out")
same_sums "$BACK" && [ "$BACK" = "$TO_PG" ]
ok $? "checksums equal on both sides and to the first copy's, table by table"
dump() { sqlite3 "$1" .dump | grep '^INSERT INTO' | grep -v '^INSERT INTO schema_version'; }
dump "$DB" > "$T/orig.dump"; dump "$T/back.db" > "$T/back.dump"
[ "$(wc -l < "$T/orig.dump")" -gt 100 ] && cmp -s "$T/orig.dump" "$T/back.dump"
ok $? "the file copied back holds every row of the original (sqlite3 .dump)"
[ "$(sqlite3 "$T/back.db" "PRAGMA user_version")" = "$(sqlite3 "$DB" "PRAGMA user_version")" ] && [ "$(sqlite3 "$DB" "PRAGMA user_version")" -gt 0 ]
ok $? "at the original's schema version"
t "copy onto that file again: 73" 73 herald store copy --to sqlite "$T/back.db"
like "$err" "$T/back.db: not empty \\(table lists"; ok $? "names the file and a table with rows"
echo "not a database" > "$T/other.txt"
t "a file that is not a database as the target: 73" 73 herald store copy --to sqlite "$T/other.txt"
like "$err" "other.txt: file is not a database" && [ "$(cat "$T/other.txt")" = "not a database" ]
ok $? "names it, and leaves it as it was"
t "no --to: 64" 64 herald store copy "$T/x.db"

# herald writing to the copy
MAXID=$(sqlite3 "$DB" "SELECT max(id) FROM events")
NEV=$(sqlite3 "$DB" "SELECT count(*) FROM events")
HERALD_CONFIG=$T/pg.conf herald sub add xen-users new.one@example.org >/dev/null &&
    [ "$(PG_DB=herald HERALD_TEST_STORE=postgresql sql "SELECT min(id) FROM events WHERE id > $MAXID")" -gt "$MAXID" ] &&
    [ "$(PG_DB=herald HERALD_TEST_STORE=postgresql sql "SELECT count(*) FROM events")" = $((NEV + 1)) ]
ok $? "herald writes to the copy: the new event's id is past the copied ones (the sequence was moved)"
