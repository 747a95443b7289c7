# tests/t0400/common.sh - what the send tests (t0401-t0404) share:
# subscribers made up on the spot, an instance pointed at a relay, and the
# relays themselves (Postfix's smtp-sink, the aiosmtpd fault server).

# subs_csv FILE N [LOCALPREFIX] - N subscribers, roles cycling so that the
# users and developers segments of xen-users both match some
subs_csv() {
	$PY - "$1" "$2" "${3:-u}" <<'PYEOF'
import sys
path, n, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
roles = ["user", "developer", "maintainer", "integrator", "user"]
with open(path, "w") as f:
    f.write("email,name,role,region\n")
    for i in range(1, n + 1):
        f.write("%s%d@example%d.test,Person %d,%s,us-east\n"
                % (prefix, i, i % 5, i, roles[i % 5]))
PYEOF
}

# relay_conf PORT [EXTRA…] - hinit with smtp pointed at 127.0.0.1:PORT
relay_conf() {
	_p=$1; shift
	hinit "smtp {" "host = \"127.0.0.1\"" "port = $_p" \
	    "starttls = \"off\"" "timeout = 3" "}" "$@"
}

# start_sink PORT DIR - smtp-sink writing one file per message to DIR
start_sink() {
	mkdir -p "$2"
	/usr/sbin/smtp-sink -u "$(id -un)" -d "$2/%M." 127.0.0.1:"$1" 256 \
	    >/dev/null 2>&1 &
	_sink=$!
	at_exit "kill $_sink"
	wait_port "$1"
}

# start_ready OUT SCRIPT ARGS... - a Python server of tests/, its output
# in OUT, once it says it is ready (60 s at most); its pid in $_ready. If
# it died instead (the port taken by another test's server, say), its
# output as TAP comments and status 1. Not wait_port: a connection to the
# port does not tell this server from another one, nor from one that is
# about to give up.
start_ready() {
	_ro=$1; shift
	: >"$_ro"	# now, not in the child: no "ready" of a server before
	$PY "$@" >"$_ro" 2>&1 &
	_ready=$!
	at_exit "kill $_ready"
	_ri=0
	until grep -q '^ready on port' "$_ro"; do
		if ! kill -0 "$_ready" 2>/dev/null || [ "$_ri" -ge 600 ]; then
			echo "# $(basename "$1") did not start ($*):"
			sed 's/^/#   /' "$_ro"
			return 1
		fi
		sleep 0.1
		_ri=$((_ri + 1))
	done
}

# start_fault PORT LOG [ARGS...] - the fault server (tests/smtp-fault.py)
start_fault() {
	start_ready "$T/fault.out" "$TOP/tests/smtp-fault.py" "$@"
	_st=$?; _fault=$_ready; return $_st
}
stop_fault() { kill "$_fault" 2>/dev/null; wait "$_fault" 2>/dev/null; }

# sink_holds DIR N - smtp-sink has written messages to at least N distinct
# recipients into DIR (for wait_for: it may end a message's file after
# herald recorded the message sent, so count what it wrote, do not sleep)
sink_holds() {
	[ "$(cat "$1"/* 2>/dev/null | sed -n 's/^X-Rcpt-Args: <\(.*\)>.*/\1/p' |
	    sort -u | wc -l)" -ge "$2" ]
}
# sink_messages DIR N - smtp-sink's DIR holds at least N messages (for
# wait_for; sink_holds counts recipients, and a recipient of two
# campaigns is one)
sink_messages() {
	[ "$(ls "$1" | wc -l)" -ge "$2" ]
}
# sent_over N - more than N deliveries are recorded sent (for wait_for)
sent_over() {
	[ "$(sql "SELECT count(*) FROM deliveries WHERE state = 'sent'")" -gt "$1" ]
}

# wait_port PORT - until something listens there (5 s at most)
wait_port() {
	$PY - "$1" <<'PYEOF'
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PYEOF
}

# state EMAIL - the delivery state of EMAIL in campaign 1
state() {
	sql "SELECT d.state FROM deliveries d JOIN subscribers s ON s.id =
	    d.subscriber_id WHERE s.email = '$1' AND d.campaign_id = ${2:-1}"
}
