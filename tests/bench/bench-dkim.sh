#!/bin/sh
# bench-dkim.sh - what DKIM signing costs herald send: the same campaign
# (N subscribers, the summit announcement) sent to Postfix's smtp-sink
# unsigned and signed (rsa-sha256, 2048 bits), ROUNDS times each,
# alternated in one run; herald's CPU (user + system, all threads) per
# message, signed minus unsigned, beside `openssl speed rsa2048`'s time
# per RSA signature on the same machine. Target: the difference at most
# 1.2 times the bare sign. Then smtp-source sending one signed message of
# herald's N times over as many sessions (-d), for the rate beside
# herald's signed rate.
#
#   sh tests/bench/bench-dkim.sh            N=20000 ROUNDS=3 CONN=4
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/bench/lib.sh"
N=${N:-20000}
ROUNDS=${ROUNDS:-3}
CONN=${CONN:-4}
T=$(mktemp -d "${TMPDIR:-/tmp}/herald-bench.XXXXXX")
sink=
trap '[ -z "$sink" ] || kill $sink 2>/dev/null; rm -rf "$T"' EXIT INT TERM

bench_sink
HERALD_TEMPLATES=$TOP/templates
HERALD_CONFIG=$T/etc/herald.conf
export HERALD_TEMPLATES HERALD_CONFIG
mkdir -p "$T/etc" "$T/lists"
cat > "$HERALD_CONFIG" <<CONF
data_dir = "$T/data"
list_dir = "$T/lists"
smtp {
	host = "127.0.0.1"
	port = $PORT
	starttls = "off"
}
send {
	connections = $CONN
	batch = 200
}
CONF
cp "$TOP/lists/xen-users.conf" "$T/plain.conf"
cp "$T/plain.conf" "$T/lists/xen-users.conf"
"$HERALD" init >/dev/null
"$HERALD" dkim keygen xen-users | sed -n '/^dkim {/,/^}/p' > "$T/dkim.block"
cat "$T/plain.conf" "$T/dkim.block" > "$T/signed.conf"
$PY - "$T/subs.csv" "$N" <<'PYEOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("email,name,role,region\n")
    for i in range(1, int(sys.argv[2]) + 1):
        f.write("p%d@example%d.org,Person %d,user,us-east\n" % (i, i % 97, i))
PYEOF
"$HERALD" sub import xen-users "$T/subs.csv" >/dev/null

# run MODE - one campaign to everyone, MODE plain or signed; sets cpu
# (microseconds per message) and rate (messages per second)
run() {
	cp "$T/$1.conf" "$T/lists/xen-users.conf"
	/usr/bin/time -f '%U %S' -o "$T/time" "$HERALD" send summit --list xen-users \
	    --segment users --yes --again --json >"$T/run.json" 2>/dev/null
	cpu=$($PY -c 'import sys; u, s = open(sys.argv[1]).read().split()[-2:]; print("%.1f" % ((float(u) + float(s)) * 1e6 / int(sys.argv[2])))' "$T/time" "$N")
	rate=$(bench_rate "$T/run.json")
}

sign_us=$(openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ { printf "%.1f", $4 * 1e6 }')
echo "openssl speed rsa2048: $sign_us us per sign"
echo "herald send, $N messages, $CONN connections (us CPU per message, msg/s):"
diffs=""
signed_rates=""
i=1
while [ $i -le "$ROUNDS" ]; do
	run plain; p=$cpu; pr=$rate
	run signed; s=$cpu; sr=$rate
	d=$(echo "$s - $p" | bc)
	diffs="$diffs $d"
	signed_rates="$signed_rates $sr"
	echo "  round $i: unsigned $p us ($pr msg/s), signed $s us ($sr msg/s): +$d us"
	i=$((i + 1))
done
med=$(printf '%s\n' $diffs | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
echo "median signing cost $med us per message = $(echo "scale=2; $med / $sign_us" | bc)x the bare RSA sign (target <= 1.2)"

# dkim.c's signer alone, one thread, on one of herald's messages (its
# signature taken off) and on a 200-byte one: what libopendkim itself adds
cp "$T/signed.conf" "$T/lists/xen-users.conf"
"$HERALD" render summit --list xen-users --to p1@example1.org > "$T/one.eml"
$PY - "$T/one.eml" "$T/bare.eml" "$T/tiny.eml" <<'PYEOF'
import sys
m = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(m[m.index(b"\r\nFrom: ") + 2:])
open(sys.argv[3], "wb").write(b"From: a@example.org\r\nTo: b@example.net\r\n"
    b"Subject: hello\r\n\r\n" + b"a short body line\r\n" * 8)
PYEOF
KEY=$(sed -n 's/.*key_file = "\(.*\)"/\1/p' "$T/dkim.block")
if [ -x "$BUILD/tools/dkim-sign" ]; then
	echo "dkim.c's signer alone, one thread: $("$BUILD/tools/dkim-sign" "$KEY" "$T/bare.eml" 2000);" \
	    "$("$BUILD/tools/dkim-sign" "$KEY" "$T/tiny.eml" 2000)"
fi

# smtp-source with one of herald's signed messages, same count and sessions
s0=$(date +%s.%N)
/usr/sbin/smtp-source -c -d -s "$CONN" -m "$N" -F "$T/one.eml" \
    -f bench@example.org -t sink@example.org "127.0.0.1:$PORT" >/dev/null
src=$(echo "scale=0; $N / ($(date +%s.%N) - $s0)" | bc)
echo "smtp-source, the same signed message: $src msg/s; herald signed:$signed_rates msg/s"
