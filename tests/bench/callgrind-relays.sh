#!/bin/sh
# callgrind-relays.sh - where herald send spends its instructions per
# message over four relays (four smtp-sinks, as bench-relays.sh): the
# same campaign sent under callgrind to N1 and to N2 subscribers, the
# difference divided by N2 - N1 (start-up, the announcement's loading and
# the sessions' set-up cancel out). Instruction counts repeat on a loaded
# machine where rates and times do not. Prints the whole process's count
# per message, the worker threads' (render, compose, send, commit), and
# the main parts of it, each inclusive of what it calls. The load average
# is printed before and after each run (counts do not move with it).
#
#   sh tests/bench/callgrind-relays.sh            N1=1000 N2=3000
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/bench/lib.sh"
N1=${N1:-1000}
N2=${N2:-3000}
T=$(mktemp -d "${TMPDIR:-/tmp}/herald-cg.XXXXXX")
sinks=
trap '[ -z "$sinks" ] || kill $sinks 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT INT TERM

bench_relay_sinks
for n in $N1 $N2; do
	bench_relay_config "$T/$n/etc/herald.conf" "$T/$n/data" 1
	"$HERALD" init >/dev/null
	bench_relay_subs "$T/$n/subs.csv" "$n"
	"$HERALD" sub import xen-users "$T/$n/subs.csv" >/dev/null
	bench_load "before $n subscribers"
	valgrind --tool=callgrind --callgrind-out-file="$T/cg.$n" \
	    "$HERALD" send summit --list xen-users --segment us-east --yes \
	    >"$T/out.$n" 2>&1
	bench_load "after $n subscribers"
	grep -q "sent $n, failed 0" "$T/out.$n" ||
	    { echo "herald send to $n did not send them all:"; tail -3 "$T/out.$n"; exit 1; }
	callgrind_annotate --inclusive=yes --auto=no --threshold=100 \
	    "$T/cg.$n" 2>/dev/null > "$T/in.$n"
done
echo "== callgrind: herald send summit --list xen-users --segment us-east --yes"
echo "   over 4 smtp-sinks (1 connection each, batch 200), $N1 and $N2 subscribers;"
echo "   instructions per message, (count at $N2 - count at $N1) / $((N2 - N1)):"
# ir N PATTERN - the inclusive count of the first line matching PATTERN
ir() {
	awk -v f="$2" '{ n = $1; gsub(",", "", n) } $0 ~ f "( |$)" { print n; exit }' "$T/in.$1"
}
per() {
	a=$(ir "$N1" "$2"); b=$(ir "$N2" "$2")
	printf '  %-44s %8d\n' "$1" $(( (${b:-0} - ${a:-0}) / (N2 - N1) ))
}
per "whole process" "PROGRAM TOTALS"
per "worker threads (dispatch_worker_main)" ":dispatch_worker_main"
per "  composer_render (render, MIME, tokens)" ":composer_render"
per "    token_mac (HMAC-SHA256: 3 a message)" ":token_mac"
per "  smtp_start_session (libesmtp, callbacks in)" ":smtp_start_session"
per "    write (send.c: gather, body splice)" "send.c:write"
per "    dispatch_report (results, commits)" ":dispatch_report"
per "      campaign_record (commits)" ":campaign_record"
per "    dispatch_admit (membership re-read)" ":dispatch_admit"
per "  sqlite3_step, all callers" ":sqlite3_step"
per "main thread (producer, campaign_create)" ":cmd_send"
per "  campaign_create (queueing the rows)" ":campaign_create"
