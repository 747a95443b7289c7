#!/bin/sh
# A real full disk: the data folder is a small tmpfs of its own, filled to
# the last page by a file while herald works. A send stops with 75, its
# campaign paused or interrupted, every delivery not recorded still queued;
# a burst of herald pipes exits 75 each (the MTA keeps the mail); an LMTP
# burst is answered 451 (or 452) for each message; a burst of one-click
# POSTs is answered 503 with Retry-After each. Nothing is half done: no
# membership changed behind a deferral. Once the file is gone, herald
# campaign resume finishes the campaign with at most send.connections x 20
# duplicates (doc/guide/sending.md), and the same pipes, LMTP messages and
# POSTs, tried again, all succeed. t0422 and t0503 stand a full disk in
# with SQLite triggers; this is the disk itself. Needs root (mount).
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
. "$TOP/tests/t0700/serve-lib.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
F=$TOP/tests/t0500

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # skip a real full disk needs root (mount -t tmpfs)"; exit 0
fi
mkdir -p "$T/data"
if ! mount -t tmpfs -o size=24m,mode=0755 herald-t0800 "$T/data" 2>"$T/mount.err"; then
	echo "1..0 # skip mount -t tmpfs is not permitted here: $(head -1 "$T/mount.err")"; exit 0
fi
# lazy: a server still holding a file there does not keep it mounted
at_exit "umount -l '$T/data'"

CONN=2
WINDOW=$((CONN * 20))
N=12		# messages in each burst
PORT=$(free_port)
relay_conf "$PORT" "send {" "connections = $CONN" "rate = 150" "}"
subs_csv "$T/subs.csv" 1000
{
	echo 'email,name'
	for k in p l w; do
		i=1; while [ $i -le $N ]; do echo "$k$i@subs.test,$k$i"; i=$((i + 1)); done
	done
} > "$T/burst.csv"
herald sub import xen-users "$T/subs.csv" >/dev/null &&
herald sub import xen-users "$T/burst.csv" >/dev/null ||
    { echo "Bail out! import failed"; exit 1; }
start_sink "$PORT" "$T/sink"
lmtp_start
at_exit lmtp_stop	# (only VIA=lmtp registers it in pipe-lib.sh)
serve_start
plan 22

# disk_fill - take every free page of the data folder: the WAL is first copied
# into the database and truncated, so no commit finds pages it had before
disk_fill() {
	sqlite3 "$T/data/herald.db" ".timeout 5000" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null 2>&1
	cat /dev/zero > "$T/data/fill" 2>/dev/null
	[ "$(df --output=avail -k "$T/data" | tail -1)" -le 4 ]
}
disk_free() { rm -f "$T/data/fill"; }
status() { herald sub show xen-users "$1" | sed -n 's/^xen-users: \([a-z]*\) .*/\1/p'; }
# statuses PREFIX - the statuses of PREFIX1..PREFIX$N, sorted, counted
statuses() {
	i=1; while [ $i -le $N ]; do status "$1$i@subs.test"; i=$((i + 1)); done |
	    sort | uniq -c | awk '{ printf "%s%s %s", s, $1, $2; s = ", " }'
}
# the tokens, made once before anything runs (a query of the sqlite3 tool
# while herald writes may meet a lock: an empty id is subscriber 0's
# token, which acts on nobody)
for k in p l w; do
	i=1; while [ $i -le $N ]; do
		id=$(sql "SELECT id FROM subscribers WHERE email = '$k$i@subs.test'")
		[ -n "$id" ] || { echo "Bail out! no id for $k$i"; exit 1; }
		tok u xen-users "$id" > "$T/$k$i.tok"
		i=$((i + 1))
	done
done
tokof() { cat "$T/$1.tok"; }

# --- a send: the disk fills while it runs
herald send summit --list xen-users --segment users --segment developers --yes \
    > "$T/send.out" 2> "$T/send.err" &
SENDPID=$!
_i=0
while [ $_i -lt 600 ] && [ "$(sql "SELECT count(*) FROM deliveries WHERE state = 'sent'" 2>/dev/null)" -lt 100 ] 2>/dev/null; do
	sleep 0.1; _i=$((_i + 1))
done
disk_fill; ok $? "the data folder is full ($(df --output=avail -k "$T/data" | tail -1) KB free)"
wait $SENDPID; rc=$?
err=$(cat "$T/send.err")
[ "$rc" = 75 ]; ok $? "the send stops with 75 ($rc)"
like "$err" 'disk is full'; ok $? "naming the full disk"
like "$(herald campaigns)" '(paused|interrupted)'; ok $? "herald campaigns shows it paused or interrupted"
total=$(sql "SELECT count(*) FROM deliveries")
sent=$(sql "SELECT count(*) FROM deliveries WHERE state = 'sent'")
queued=$(sql "SELECT count(*) FROM deliveries WHERE state = 'queued'")
n1=$(ls "$T/sink" | wc -l)
echo "# $total deliveries: $sent recorded sent, $queued queued, $n1 at the sink"
[ "$total" -gt 0 ] && [ $((sent + queued)) = "$total" ]; ok $? "every delivery is sent or still queued: none failed, none lost"
[ "$sent" -lt "$total" ] && [ $((n1 - sent)) -le $WINDOW ]; ok $? "the run stopped at once: $((n1 - sent)) accepted but not recorded (at most $WINDOW)"

# --- a burst of herald pipes: LIST-unsubscribe+TOKEN@ for p1..pN, at once
i=1; while [ $i -le $N ]; do
	fill "$F/gmail-unsubscribe.eml" "$T/p$i.eml" "RCPT=xen-users-unsubscribe+$(tokof p$i)@$D"
	i=$((i + 1))
done
# pipes - herald pipe for p1..pN at once; "rc rc …" in $T/pipes.rc
pipes() {
	i=1; while [ $i -le $N ]; do
		( "$HERALD" pipe -f "p$i@subs.test" "xen-users-unsubscribe+$(tokof p$i)@$D" \
		    < "$T/p$i.eml" 2>>"$T/pipes.err"; echo $? > "$T/p$i.rc" ) &
		i=$((i + 1))
	done
	wait
	i=1; while [ $i -le $N ]; do cat "$T/p$i.rc"; i=$((i + 1)); done | sort | uniq -c |
	    awk '{ printf "%s%s x %s", s, $1, $2; s = ", " }'
}
got=$(pipes)
[ "$got" = "$N x 75" ]; ok $? "$N herald pipes on the full disk: each exits 75 ($got)"
like "$(cat "$T/pipes.err")" 'status=75'; ok $? "their log lines say deferred"
[ "$(statuses p)" = "$N active" ]; ok $? "and nobody is unsubscribed behind a deferral ($(statuses p))"

# --- an LMTP burst: the same kind of messages for l1..lN, 4 connections
i=1; while [ $i -le $N ]; do
	fill "$F/gmail-unsubscribe.eml" "$T/l$i.eml" "RCPT=xen-users-unsubscribe+$(tokof l$i)@$D"
	printf '%s\t%s\t%s\n' "$T/l$i.eml" "l$i@subs.test" "xen-users-unsubscribe+$(tokof l$i)@$D"
	i=$((i + 1))
done > "$T/lmtp.list"
# lmtp_burst - every message of $T/lmtp.list over 4 LMTP connections at
# once; the final reply codes, counted ("12 x 451")
lmtp_burst() {
	$PY - "$LMTPSOCK" "$T/lmtp.list" <<'EOP' | sort | uniq -c | awk '{ printf "%s%s x %s", s, $1, $2; s = ", " }'
import smtplib, sys, threading
sock, jobs = sys.argv[1], [l.rstrip("\n").split("\t") for l in open(sys.argv[2])]
lock, codes = threading.Lock(), []
def worker():
    c = smtplib.LMTP(sock, timeout=60)
    while True:
        with lock:
            if not jobs:
                break
            path, frm, to = jobs.pop()
        try:
            c.sendmail(frm, [to], open(path, "rb").read())
            code = 250
        except smtplib.SMTPDataError as e:
            code = e.smtp_code
        except smtplib.SMTPRecipientsRefused as e:
            code = list(e.recipients.values())[0][0]
        except smtplib.SMTPResponseException as e:
            code = e.smtp_code
        with lock:
            codes.append(code)
        c.rset()
    c.quit()
ths = [threading.Thread(target=worker) for _ in range(4)]
[t.start() for t in ths]
[t.join() for t in ths]
print("\n".join(str(c) for c in codes))
EOP
}
got=$(lmtp_burst)
like "$got" "^$N x 45[12]\$"; ok $? "$N messages over LMTP on the full disk: each answered 451 or 452 ($got)"
[ "$(statuses l)" = "$N active" ]; ok $? "and nobody is unsubscribed behind a deferral ($(statuses l))"

# --- a burst of one-click POSTs for w1..wN, at once
# clicks - POST List-Unsubscribe=One-Click for w1..wN at once; the
# statuses counted, and how many answers carried Retry-After
clicks() {
	i=1; while [ $i -le $N ]; do
		curl -s -o /dev/null -D "$T/w$i.hdrs" -w '%{http_code}\n' -d List-Unsubscribe=One-Click \
		    "$WEB/unsubscribe/$(tokof w$i)" > "$T/w$i.code" &
		i=$((i + 1))
	done
	wait
	i=1; while [ $i -le $N ]; do cat "$T/w$i.code"; i=$((i + 1)); done | sort | uniq -c |
	    awk '{ printf "%s%s x %s", s, $1, $2; s = ", " }'
}
got=$(clicks)
[ "$got" = "$N x 503" ]; ok $? "$N one-click POSTs on the full disk: each answered 503 ($got)"
[ "$(cat "$T"/w*.hdrs | tr -d '\r' | grep -c '^Retry-After: [0-9][0-9]*$')" = "$N" ]; ok $? "each with Retry-After"
[ "$(statuses w)" = "$N active" ]; ok $? "and nobody is unsubscribed behind a 503 ($(statuses w))"

# --- space again: resume, then what the MTA and the mail providers retry
disk_free
t "with space again, herald campaign resume finishes the campaign" 0 herald campaign resume 1
[ "$(sql "SELECT count(*) FROM deliveries WHERE state = 'sent'")" = "$total" ]; ok $? "every delivery is sent"
cat "$T/sink"/* | sed -n 's/^X-Rcpt-Args: <\(.*\)>.*/\1/p' | sort > "$T/got"
dups=$(( $(wc -l < "$T/got") - $(sort -u "$T/got" | wc -l) ))
echo "# duplicates after the full disk: $dups (window $WINDOW)"
[ "$(sort -u "$T/got" | wc -l)" = "$total" ] && [ "$dups" -le $WINDOW ]
ok $? "every recipient got it, at most $WINDOW twice ($dups)"
: > "$T/pipes.err"
got=$(pipes)
[ "$got" = "$N x 0" ] && [ "$(statuses p)" = "$N unsubscribed" ]; ok $? "the pipes again: each 0, each unsubscribed ($got; $(statuses p))"
got=$(lmtp_burst)
[ "$got" = "$N x 250" ] && [ "$(statuses l)" = "$N unsubscribed" ]; ok $? "the LMTP burst again: each 250, each unsubscribed ($got; $(statuses l))"
got=$(clicks)
[ "$got" = "$N x 200" ] && [ "$(statuses w)" = "$N unsubscribed" ]; ok $? "the POSTs again: each 200, each unsubscribed ($got; $(statuses w))"
[ "$(sql "SELECT count(*) FROM events WHERE action = 'unsubscribe'")" = $((3 * N)) ]; ok $? "one unsubscribe event each, none twice"
t "herald serve is still up" 0 curl -sf "$WEB/health"
finish
