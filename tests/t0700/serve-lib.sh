# serve-lib.sh - what the herald serve tests (t07xx) share: a real server
# on a free loopback port, stopped by SIGTERM at the end, and curl.
. "$TOP/tests/t0500/pipe-lib.sh"

# serve_start [PORT] - herald serve on PORT (default: a free port); $WEB
# is its base URL, its stderr (one line per request) goes to $T/serve.log
serve_start() {
	WEBPORT=${1:-$(free_port)}
	WEB=http://127.0.0.1:$WEBPORT
	"$HERALD" serve --listen "127.0.0.1:$WEBPORT" 2>>"$T/serve.log" &
	SERVEPID=$!
	at_exit serve_kill
	_i=0
	while [ $_i -lt 100 ] && ! curl -sf -o /dev/null "$WEB/health"; do
		sleep 0.1; _i=$((_i + 1))
	done
}
serve_kill() { [ -z "${SERVEPID:-}" ] || { kill -TERM "$SERVEPID"; wait "$SERVEPID"; }; SERVEPID=; }
# serve_stop - SIGTERM; $serve_rc is its exit status
serve_stop() { kill -TERM "$SERVEPID"; wait "$SERVEPID"; serve_rc=$?; SERVEPID=; }

# hc ARGS… - curl: the body in $body, the status in $code
hc() {
	code=$(curl -s -o "$T/.body" -w '%{http_code}' "$@")
	body=$(cat "$T/.body")
}
# hch ARGS… - as hc, with the response headers in $hdrs
hch() {
	code=$(curl -s -D "$T/.hdrs" -o "$T/.body" -w '%{http_code}' "$@")
	body=$(cat "$T/.body"); hdrs=$(tr -d '\r' < "$T/.hdrs")
}
# state - everything a request could change, for "nothing changed"
state() {
	sql "SELECT * FROM subscribers; SELECT * FROM memberships;
	     SELECT count(*) FROM events; SELECT * FROM confirmations;
	     SELECT * FROM attributes" | md5sum
}
# header NAME - the header NAME of the message on stdin, unfolded
header() {
	$PY -c 'import sys, email; m = email.message_from_string(sys.stdin.read()); print(" ".join((m[sys.argv[1]] or "").split()))' "$1"
}
# sink_wait ADDRESS N - wait (up to 10 s) until the sink holds N messages
# for ADDRESS: herald serve sends a change's notices after its answer
sink_wait() {
	_i=0
	while [ $_i -lt 100 ] && [ "$(sink_count "$1")" -lt "$2" ]; do
		sleep 0.1; _i=$((_i + 1))
	done
}
