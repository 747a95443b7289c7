# tests/bench/lib.sh - what the benchmark scripts share, sourced once
# they have set TOP: the programs (HERALD, BUILD, PY), a free port,
# Postfix's smtp-sink, an instance with a large database made in one SQL
# statement, and the rate herald send reports. It is no benchmark itself
# (make bench leaves it out).
#
# What must stay true: it only sets up, nothing here is timed; everything
# it makes is under the folder the script made (and removes in its trap),
# and a process it starts is left for the script's trap to stop.

HERALD=${HERALD:-$TOP/herald}
BUILD=${BUILD:-$TOP/build}
PY=/usr/bin/python3

# bench_port - an unused TCP port on 127.0.0.1
bench_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# bench_sink - Postfix's smtp-sink on a free port: PORT, its pid in sink
bench_sink() {
	PORT=$(bench_port)
	/usr/sbin/smtp-sink -u "$(id -un)" "127.0.0.1:$PORT" 1024 &
	sink=$!
}

# bench_instance DIR - an instance in DIR: DIR/etc/herald.conf (exported
# as HERALD_CONFIG; the script may add to it before bench_members), the
# data in DIR/data, and xen-users in DIR/lists with its goodbye notices
# off (no SMTP is timed)
bench_instance() {
	mkdir -p "$1/etc" "$1/lists"
	sed 's/^goodbye_notice = true/goodbye_notice = false/' "$TOP/lists/xen-users.conf" > "$1/lists/xen-users.conf"
	printf 'data_dir = "%s/data"\nlist_dir = "%s/lists"\n' "$1" "$1" > "$1/etc/herald.conf"
	HERALD_CONFIG=$1/etc/herald.conf; export HERALD_CONFIG
}

# bench_members DIR N - herald init for the instance in DIR, then N
# active subscribers on xen-users, ids 1 to N, userID@example.test
bench_members() {
	"$HERALD" init >/dev/null
	echo "database: $2 subscribers on xen-users (sqlite3 recursive insert)"
	sqlite3 "$1/data/herald.db" "INSERT INTO lists(name) VALUES ('xen-users');
	    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)
	    INSERT INTO subscribers(id, email, email_key)
	    SELECT i, 'user' || i || '@example.test', 'user' || i || '@example.test' FROM n;
	    INSERT INTO memberships(list_id, subscriber_id, status) SELECT 1, id, 'active' FROM subscribers;"
}

# bench_rate FILE - the sending rate (messages/s) of herald send --json's
# summary in FILE
bench_rate() {
	$PY -c 'import json,sys; print("%.0f" % json.load(open(sys.argv[1]))["run"]["rate"])' "$1"
}

# bench_relay_sinks - four smtp-sinks on free ports, the relays of the
# relay benchmarks: their ports in ports, their pids added to sinks
bench_relay_sinks() {
	ports=
	for i in 1 2 3 4; do
		bench_sink
		sinks="$sinks $sink"
		ports="$ports $PORT"
	done
}

# bench_relay_config FILE DATA CONN - a herald.conf in FILE with its data
# in DATA, the shipped lists, batch 200 and one relay NAME { } section of
# weight 1 and CONN connections per port in ports; exported as
# HERALD_CONFIG, with HERALD_TEMPLATES the shipped templates
bench_relay_config() {
	mkdir -p "$(dirname "$1")"
	{
		echo "data_dir = \"$2\""
		echo "list_dir = \"$TOP/lists\""
		echo "send { batch = 200 }"
		i=1
		for p in $ports; do
			echo "relay r$i { host = \"127.0.0.1\" port = $p starttls = \"off\" connections = $3 }"
			i=$((i + 1))
		done
	} > "$1"
	HERALD_CONFIG=$1; HERALD_TEMPLATES=$TOP/templates
	export HERALD_CONFIG HERALD_TEMPLATES
}

# bench_relay_subs FILE N - a CSV of N subscribers of the us-east region
# over 97 domains, half users and half developers
bench_relay_subs() {
	$PY - "$1" "$2" <<'PYEOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("email,name,role,region\n")
    for i in range(1, int(sys.argv[2]) + 1):
        f.write("person%d@example%d.org,Person %d,%s,us-east\n"
                % (i, i % 97, i, "user" if i % 2 else "developer"))
PYEOF
}
