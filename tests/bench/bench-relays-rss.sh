#!/bin/sh
# bench-relays-rss.sh - herald's peak RSS sending one campaign to N
# subscribers (1,000,000) over four relays (four smtp-sinks, relay NAME { }
# sections of weight 1, as bench-relays.sh), from /usr/bin/time -v (Debian
# package "time"). Also prints the import's peak RSS, the send's rate, its
# CPU time and how the messages spread over the relays.
# Target (issue 13): peak RSS < 64 MB at 1,000,000 recipients.
#
#   sh tests/bench/bench-relays-rss.sh            N=1000000 CONN=1
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
HERALD=${HERALD:-$TOP/herald}
N=${N:-1000000}
CONN=${CONN:-1}
PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/herald-bench.XXXXXX")
sinks=
trap '[ -z "$sinks" ] || kill $sinks 2>/dev/null; rm -rf "$T"' EXIT INT TERM

port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ports=
for i in 1 2 3 4; do
	p=$(port)
	/usr/sbin/smtp-sink -u "$(id -un)" "127.0.0.1:$p" 1024 &
	sinks="$sinks $!"
	ports="$ports $p"
done
HERALD_TEMPLATES=$TOP/templates
export HERALD_TEMPLATES
mkdir -p "$T/etc"
{
	echo "data_dir = \"$T/data\""
	echo "list_dir = \"$TOP/lists\""
	echo "send { batch = 200 }"
	i=1
	for p in $ports; do
		echo "relay r$i { host = \"127.0.0.1\" port = $p starttls = \"off\" connections = $CONN }"
		i=$((i + 1))
	done
} > "$T/etc/herald.conf"
HERALD_CONFIG=$T/etc/herald.conf
export HERALD_CONFIG
"$HERALD" init >/dev/null
$PY - "$T/subs.csv" "$N" <<'PYEOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("email,name,role,region\n")
    for i in range(1, int(sys.argv[2]) + 1):
        f.write("person%d@example%d.org,Person %d,%s,us-east\n"
                % (i, i % 97, i, "user" if i % 2 else "developer"))
PYEOF
# peak LABEL CMD... - run CMD under /usr/bin/time -v, print its figures
peak() {
	label=$1; shift
	echo "\$ $*"
	/usr/bin/time -v -o "$T/time" "$@" > "$T/out" 2>"$T/err" ||
	    { echo "  failed:"; tail -3 "$T/err"; exit 1; }
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$T/time")
	cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { print s }' "$T/time")
	wall=$(sed -n 's/.*Elapsed (wall clock) time.*: //p' "$T/time" |
	    awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
	printf '  %s: peak RSS %.1f MB, %.1f s cpu, %.1f s wall\n' "$label" \
	    "$(echo "$rss / 1024" | bc -l)" "$cpu" "$wall"
}
echo "== $N subscribers, 4 relays of weight 1, $CONN connection(s) each, batch 200"
peak import "$HERALD" sub import xen-users "$T/subs.csv"
peak send "$HERALD" send summit --list xen-users --segment us-east --yes --json
$PY -c 'import json,sys; r = json.load(open(sys.argv[1])); print("  sent %d of %d, %.0f msg/s over %.1f s of sending" % (r["sent"], r["total"], r["run"]["rate"], r["run"]["seconds"]))' "$T/out"
spread=$(sqlite3 "$T/data/herald.db" "SELECT group_concat(relay || ' ' || n, ', ') FROM (SELECT relay, count(*) n FROM deliveries WHERE state = 'sent' GROUP BY relay)")
echo "  sent per relay: $spread (target: send peak RSS < 64 MB)"
