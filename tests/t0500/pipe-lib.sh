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
	sql "INSERT INTO subscribers(email, email_key) VALUES ('$_e', '$_e')
	     ON CONFLICT DO NOTHING"
	for _l in "$@"; do
		sql "INSERT INTO lists(name) VALUES ('$_l') ON CONFLICT DO NOTHING;
		     INSERT INTO memberships(list_id, subscriber_id, status)
		     SELECT l.id, s.id, '$_s' FROM lists l, subscribers s
		     WHERE l.name = '$_l' AND s.email = '$_e'
		     ON CONFLICT(list_id, subscriber_id) DO UPDATE SET status = excluded.status"
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

# VIA=lmtp (t0510): hpipe delivers over LMTP to a herald lmtp server
# instead, which starts afresh whenever the configuration or a list file
# changed (it reads them once, at start); the exit status is the one the
# reply stands for (lmtp-client.py), and the line on stderr is the reply,
# whose text is herald pipe's log line. LOGP is how that line begins.
VIA=${VIA:-pipe}
if [ "$VIA" = lmtp ]; then LOGP='250 2\.0\.0 '; else LOGP='herald: pipe: '; fi
LMTPC=$TOP/tests/tools/lmtp-client.py

# lmtp_start [OPTIONS…] - herald lmtp on $T/lmtp.sock, its log in
# $T/lmtp.log, its pid in $T/lmtp.pid (hpipe runs in subshells: the
# server is detached from their output, and found again by the file)
LMTPSOCK=$T/lmtp.sock
lmtp_start() {
	touch "$T/.lmtp-stamp"
	"$HERALD" lmtp --listen "unix:$LMTPSOCK" "$@" </dev/null >/dev/null 2>>"$T/lmtp.log" &
	echo $! > "$T/lmtp.pid"
	# until the new server answers there: a stale socket file a killed
	# server left exists before the new one has bound it
	$PY - "$LMTPSOCK" <<'EOP'
import socket, sys, time
for _ in range(200):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(sys.argv[1])
        s.recv(512)
        s.sendall(b"QUIT\r\n")
        break
    except OSError:
        time.sleep(0.05)
    finally:
        s.close()
EOP
}
lmtp_stop() {
	[ -s "$T/lmtp.pid" ] || return 0
	_p=$(cat "$T/lmtp.pid"); : > "$T/lmtp.pid"
	kill "$_p" 2>/dev/null
	_i=0
	while [ $_i -lt 100 ] && kill -0 "$_p" 2>/dev/null; do sleep 0.05; _i=$((_i + 1)); done
}
[ "$VIA" != lmtp ] || at_exit lmtp_stop
# lmtp_fresh - (re)start the server unless it runs with the configuration
# as it is now
lmtp_fresh() {
	if ! [ -s "$T/lmtp.pid" ] || [ -n "$(find "$HERALD_CONFIG" "$T/lists" -newer "$T/.lmtp-stamp" 2>/dev/null)" ]; then
		lmtp_stop; lmtp_start
	fi
}

# hpipe SENDER RECIPIENT FILE - herald pipe as Postfix's pipe(8) runs it
# (or the same message over LMTP, with VIA=lmtp)
hpipe() {
	if [ "$VIA" = lmtp ]; then
		lmtp_fresh
		$PY "$LMTPC" "$LMTPSOCK" "$1" "$3" "$2"
	else
		"$HERALD" pipe -f "$1" "$2" < "$3"
	fi
}

# bounce_burst N - N subscribers of xen-users (ids 1..N, userI@example.test)
# and a bounce naming each: the messages in $T/m, $T/list for
# tests/tools/lmtp-burst.py ("PATH<TAB><TAB>RECIPIENT" a line) and each
# message's SHA-256 in $T/digests (inbound_bounces.digest), in order
bounce_burst() {
	sql "INSERT INTO lists(name) VALUES ('xen-users');
	    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
	    INSERT INTO subscribers(id, email, email_key)
	    SELECT i, 'user' || i || '@example.test', 'user' || i || '@example.test' FROM n;
	    INSERT INTO memberships(list_id, subscriber_id, status) SELECT 1, id, 'active' FROM subscribers;"
	mkdir -p "$T/m"
	$PY - "$T" "$1" <<'EOP'
import hashlib, sys
t, n = sys.argv[1], int(sys.argv[2])
rcpt = "xen-users-bounces@lists.xenproject.org"
with open(t + "/list", "w") as lst, open(t + "/digests", "w") as dig:
    for i in range(n):
        p = "%s/m/%d" % (t, i)
        body = ("From: MAILER-DAEMON@mx.example.test\nTo: %s\nSubject: Undelivered Mail Returned to Sender %d\n"
                "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
                "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
                "--B\nContent-Type: text/plain\n\nuser unknown\n\n--B\nContent-Type: message/delivery-status\n\n"
                "Reporting-MTA: dns; mx.example.test\n\nFinal-Recipient: rfc822; user%d@example.test\n"
                "Action: failed\nStatus: 5.1.1\n\n--B--\n" % (rcpt, i, i + 1)).encode()
        open(p, "wb").write(body)
        lst.write("%s\t\t%s\n" % (p, rcpt))
        dig.write(hashlib.sha256(body).hexdigest() + "\n")
EOP
}
