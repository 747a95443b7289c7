# pipe-lib.sh - what the herald pipe tests (t05xx) share: a recording SMTP
# relay (Postfix's smtp-sink, one file per message with its envelope),
# subscribers put straight into the database, tokens, and fixtures filled
# in with sed.

D=lists.xenproject.org
HTOKEN=$BUILD/tools/herald-token

# tok PURPOSE LIST SUBSCRIBER [EXTRA] - the token herald would make
tok() { "$HTOKEN" "$T/data/secret" "$@"; }

# sink_start - smtp-sink on a free port, recording into $T/sink
sink_start() {
	SINKPORT=$(free_port)
	mkdir -p "$T/sink"; chmod 711 "$T"; chmod 777 "$T/sink"
	smtp-sink -u nobody -d "$T/sink/m." "127.0.0.1:$SINKPORT" 256 &
	SINKPID=$!
	at_exit sink_stop
	_i=0
	while [ $_i -lt 50 ] && ! $PY -c "import socket; socket.create_connection(('127.0.0.1', $SINKPORT), 1)" 2>/dev/null; do
		sleep 0.1; _i=$((_i + 1))
	done
}
sink_stop() { [ -z "${SINKPID:-}" ] || { kill "$SINKPID" 2>/dev/null; wait "$SINKPID" 2>/dev/null; }; SINKPID=; }
# sink_conf - point the instance's relay at the sink (after hinit)
sink_conf() {
	printf 'smtp {\n  host = "127.0.0.1"\n  port = %s\n  starttls = "off"\n  timeout = 5\n}\n' "$SINKPORT" >> "$HERALD_CONFIG"
}
# sink_move - the sink was restarted: follow its new port
sink_move() { sed -i "s/^  port = [0-9]*/  port = $SINKPORT/" "$HERALD_CONFIG"; }
# sink_count ADDRESS - messages the sink got for ADDRESS
sink_count() { grep -l -i "^X-Rcpt-Args: <$1>" "$T"/sink/m.* 2>/dev/null | wc -l; }
# sink_last ADDRESS - the newest message for ADDRESS (its file name)
sink_last() {
	_files=$(grep -l -i "^X-Rcpt-Args: <$1>" "$T"/sink/m.* 2>/dev/null)
	if [ -n "$_files" ]; then ls -t $_files | head -1; else echo /nonexistent; fi
}
# sink_total - every message the sink got
sink_total() { ls "$T"/sink/m.* 2>/dev/null | wc -l; }

# add_sub EMAIL STATUS LIST… - a subscriber with that status on each list;
# prints its id
add_sub() {
	_e=$1; _s=$2; shift 2
	sql "INSERT OR IGNORE INTO subscribers(email, email_key) VALUES ('$_e', '$_e')"
	for _l in "$@"; do
		sql "INSERT OR IGNORE INTO lists(name) VALUES ('$_l');
		     INSERT OR REPLACE INTO memberships(list_id, subscriber_id, status)
		     SELECT l.id, s.id, '$_s' FROM lists l, subscribers s
		     WHERE l.name = '$_l' AND s.email = '$_e'"
	done
	sql "SELECT id FROM subscribers WHERE email = '$_e'"
}
# status EMAIL LIST - the membership status
status() {
	sql "SELECT m.status FROM memberships m JOIN lists l ON l.id = m.list_id
	     JOIN subscribers s ON s.id = m.subscriber_id
	     WHERE s.email = '$1' AND l.name = '$2'"
}

# fill FILE OUT KEY=VALUE… - FILE with @KEY@ replaced
fill() {
	_f=$1; _o=$2; shift 2
	cp "$_f" "$_o"
	for _kv in "$@"; do
		_k=${_kv%%=*}; _v=${_kv#*=}
		_v=$(printf '%s' "$_v" | sed 's/[&|\\]/\\&/g')
		sed -i "s|@$_k@|$_v|g" "$_o"
	done
}

# hpipe SENDER RECIPIENT FILE - herald pipe as Postfix's pipe(8) runs it
hpipe() { "$HERALD" pipe -f "$1" "$2" < "$3"; }
