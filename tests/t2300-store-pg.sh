#!/bin/sh
# The PostgreSQL store (issue 23) against a real server of the test's
# own (tests/lib.sh pg_start: initdb'd once per build, a unix socket in a
# private folder): the store { } section and its errors (a bad conninfo,
# a server that is not there, a schema newer than the binary, a password
# file others may read: 78, and 75 from herald pipe, so mail waits),
# herald init creating and upgrading the schema, and the server restarted
# in the middle of a send: nothing lost, the run reconnects or pauses
# with the reason, a resume finishes, each recipient reached (at most a
# connection's messages in flight twice).
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
[ -x "${PG_BIN:-/nonexistent}/pg_ctl" ] || { echo "1..0 # SKIP no PostgreSQL server here"; exit 0; }
plan 23

pg_private	# it stops and restarts the server
pg_start
HERALD_TEST_STORE=postgresql	# for sql; write_conf below writes store { } itself
# write_conf LINE… - herald.conf with these lines alone as its store { }
write_conf() {
	mkdir -p "$T/etc" "$T/data"
	[ -d "$T/lists" ] || { mkdir -p "$T/lists"; cp "$TOP"/lists/*.conf "$T/lists/"; }
	{
		echo "data_dir = \"$T/data\""
		echo "list_dir = \"$T/lists\""
		for l in "$@"; do echo "$l"; done
	} > "$HERALD_CONFIG"
}
conf() { write_conf "store {" "backend = \"postgresql\"" "conninfo = \"$1\"" "}"; }

# configuration errors
write_conf "store {" "backend = \"oracle\"" "}"
t "an unknown backend: 78" 78 herald init
like "$err" 'herald.conf:[0-9]+: store backend "oracle": it is "sqlite" or "postgresql"'; ok $? "names the file, line and choices"
write_conf "store {" "backend = \"postgresql\"" "}"
t "postgresql without conninfo: 78" 78 herald init
conf "host=$PG_DIR dbname=herald user=postgres port=notanumber x"
t "a conninfo libpq cannot parse: 78" 78 herald campaigns
like "$err" 'store conninfo'; ok $? "says it is the conninfo"

# init creates the schema, a second init finds it current
conf "$(pg_conninfo)"
t "herald init on an empty database" 0 herald init
# the latest version this herald knows (the SQLite list's length: the two
# lists are the same length, a static assert in store.c)
latest=$("$BUILD/tools/store-at" "$T/probe.db" 1)
like "$out" "schema $latest, created or upgraded" && [ "$(sql "SELECT version FROM schema_version")" = "$latest" ]
ok $? "the schema at version $latest, the latest, counted in schema_version"
t "herald init again" 0 herald init
like "$out" 'already current'; ok $? "says it is current"

# a transaction a failed statement aborted: PostgreSQL answers its COMMIT
# with ROLLBACK, and that is no commit (the store said committed before)
t "a COMMIT after a failed statement is a failure (75)" 75 "$BUILD/tools/store-commit" "postgresql:$(pg_conninfo)"
like "$out" 'not committed: .*rolled the transaction back'; ok $? "says the transaction was rolled back"

# a schema newer than this herald: 78, pipe 75
sql "UPDATE schema_version SET version = 99"
t "a newer schema: 78" 78 herald campaigns
like "$err" 'schema version 99, newer than this herald knows'; ok $? "says so"
printf 'From: a@example.org\nTo: xen-users@lists.xenproject.org\nSubject: hi\n\nhello\n' > "$T/m"
t "herald pipe on a newer schema: 75 (the MTA keeps the mail)" 75 herald pipe a@example.org xen-users@lists.xenproject.org < "$T/m"
sql "UPDATE schema_version SET version = $latest"

# a password file others may read
printf 'secret\n' > "$T/pw"; chmod 0644 "$T/pw"
write_conf "store {" "backend = \"postgresql\"" "conninfo = \"$(pg_conninfo)\"" "password_file = \"$T/pw\"" "}"
t "a password file others may read: 78" 78 herald campaigns
like "$err" 'password_file .*others may read it'; ok $? "says so"
chmod 0600 "$T/pw"
t "mode 0600: accepted (trust authentication ignores it)" 0 herald campaigns

# the server away at start
conf "$(pg_conninfo)"
pg_stop
t "the server down at start: 78" 78 herald campaigns
like "$err" 'PostgreSQL: cannot connect'; ok $? "says it cannot connect"
t "herald pipe with the server down: 75" 75 herald pipe a@example.org xen-users@lists.xenproject.org < "$T/m"
pg_restart start

# the server restarted in the middle of a send
PORT=$(free_port)
write_conf "store {" "backend = \"postgresql\"" "conninfo = \"$(pg_conninfo)\"" "}" \
    "smtp {" "host = \"127.0.0.1\"" "port = $PORT" "starttls = \"off\"" "timeout = 3" "}" \
    "send {" "connections = 2" "batch = 50" "rate = 200" "}"
subs_csv "$T/subs.csv" 1500
herald sub import xen-users "$T/subs.csv" >/dev/null
start_sink "$PORT" "$T/sink"
"$HERALD" send summit --list xen-users --segment users --segment developers --yes \
    >"$T/send.out" 2>"$T/send.err" &
sender=$!
wait_for 60 sink_messages "$T/sink" 150
pg_restart restart
wait "$sender"; rc=$?
echo "# the send ended with $rc: $(tail -1 "$T/send.err")"
total=$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 1")
[ "$rc" = 0 ] || { [ "$rc" = 75 ] && [ "$(sql "SELECT state FROM campaigns WHERE id = 1")" = paused ]; }
ok $? "the run carried on over the restart, or paused and said why ($rc)"
[ "$rc" = 0 ] || herald campaign resume 1 >/dev/null 2>&1
[ "$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 1 AND state = 'sent'")" = "$total" ]
ok $? "after a resume every delivery is sent ($total)"
wait_for 20 sink_holds "$T/sink" "$total"
cat "$T/sink"/* | sed -n 's/^X-Rcpt-Args: <\(.*\)>.*/\1/p' | sort > "$T/got"
dups=$(( $(wc -l < "$T/got") - $(sort -u "$T/got" | wc -l) ))
echo "# $total deliveries, $(wc -l < "$T/got") messages at the sink, $dups twice"
[ "$(sort -u "$T/got" | wc -l)" = "$total" ] && [ "$dups" -le 100 ]
ok $? "each recipient reached, at most one batch per connection twice ($dups)"
finish
