# tests/t2302/hosts.sh - what the several-hosts tests (t2302, t2304,
# t2305, t2306, t2309, t2310) share: more hosts on the test's one PostgreSQL database (each its
# own configuration and data folder, the same token secret), who sent
# what (deliveries.claim_owner, host:pid:number, stays on a sent row),
# and what the sink got. Sourcing it (after tests/lib.sh) also sources
# t0400/common.sh, points HERALD_TEMPLATES at the tree's templates and
# sets the test's store to PostgreSQL, or ends the test with a SKIP when
# there is no PostgreSQL server here.
. "$TOP/tests/t0400/common.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
[ -x "${PG_BIN:-/nonexistent}/pg_ctl" ] || { echo "1..0 # SKIP no PostgreSQL server here"; exit 0; }
HERALD_TEST_STORE=postgresql; export HERALD_TEST_STORE

# hosts_start N SETTING... - the first host ($HERALD_CONFIG) relaying to
# smtp-sink on a free port ($PORT; a file a message in $T/sink) with
# send { SETTING... }, and N subscribers of xen-users (subs_csv) imported
hosts_start() {
	_hn=$1; shift
	PORT=$(free_port)
	relay_conf "$PORT" "send {" "$@" "}"
	subs_csv "$T/subs.csv" "$_hn"
	herald sub import xen-users "$T/subs.csv" >/dev/null
	start_sink "$PORT" "$T/sink"
}

# is GOT WANT DESC - one point: GOT equals WANT
is() { [ "$1" = "$2" ]; ok $? "$3 ($1)"; [ "$1" = "$2" ] || echo "#   wanted: $2"; }

# host_add NAME - host NAME: $T/NAME/etc/herald.conf and $T/NAME/data,
# the first host's configuration with the data folder moved
host_add() {
	mkdir -p "$T/$1/etc" "$T/$1/data"
	sed "s|$T/data|$T/$1/data|" "$HERALD_CONFIG" > "$T/$1/etc/herald.conf"
	cp -p "$T/data/secret" "$T/$1/data/secret"
}

# host_bg NAME ARGS... - herald ARGS on host NAME (or "a", the first
# host), in the background: its pid appended to $T/NAME.pids, in $!
host_bg() {
	_h=$1; shift
	if [ "$_h" = a ]; then _c=$HERALD_CONFIG; else _c=$T/$_h/etc/herald.conf; fi
	HERALD_CONFIG=$_c "$HERALD" "$@" >>"$T/$_h.out" 2>>"$T/$_h.err" &
	echo $! >> "$T/$_h.pids"
	at_exit "kill -9 $! 2>/dev/null"
}

# host_sent NAME CAMPAIGN - deliveries of CAMPAIGN sent by the runs of
# host NAME (its pids in $T/NAME.pids)
host_sent() {
	_pids=$(paste -sd, "$T/$1.pids" | sed "s/\([0-9][0-9]*\)/'\1'/g")
	sql "SELECT count(*) FROM deliveries WHERE campaign_id = $2
	    AND state = 'sent' AND split_part(claim_owner, ':', 2) IN ($_pids)"
}

# sink_got DIR - the recipients smtp-sink got in DIR, one a line, sorted
# (a recipient twice: two lines)
sink_got() {
	cat "$1"/* | sed -n 's/^X-Rcpt-Args: <\(.*\)>.*/\1/p' | sort
}

# sink_reached RECIPIENTS MESSAGES TWICE WHAT - once smtp-sink holds every
# one of RECIPIENTS recipients and MESSAGES messages in $T/sink (their
# list in $T/got): two points, each recipient reached, and at most TWICE
# messages beyond MESSAGES (WHAT: whose messages in flight those are)
sink_reached() {
	wait_for 30 sink_holds "$T/sink" "$1"
	wait_for 30 sink_messages "$T/sink" "$2"
	sink_got "$T/sink" > "$T/got"
	is "$(sort -u "$T/got" | wc -l)" "$1" "each recipient reached"
	_dups=$(( $(wc -l < "$T/got") - $2 ))
	echo "# $_dups twice"
	[ "$_dups" -le "$3" ]
	ok $? "twice at most $4 ($_dups)"
}
