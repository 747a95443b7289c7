#!/bin/sh
# bench-dkim.sh - what DKIM signing costs herald send: the same campaign
# (N subscribers, the summit announcement) sent to Postfix's smtp-sink
# unsigned and signed (rsa-sha256, 2048 bits), ROUNDS times each,
# alternated in one run (which goes first alternates too); herald's user
# CPU (all threads) per message, signed minus unsigned, beside `openssl
# speed rsa2048`'s time per RSA signature on the same machine (the bare
# RSA sign), which openssl speed takes as user CPU too: both sides timed
# the same way. Target: the difference at most 1.10 times the bare sign
# (herald's own signer; the libopendkim one of before stood at 1.38). The
# user + system difference is printed beside it (the system part: the
# longer message on the wire, more context switches). The signed rate is printed
# beside the unsigned rate of the same run and beside `openssl speed
# -multi NCPU rsa2048` (every core signing, nothing else). Each round also runs smtp-source sending one
# of herald's signed messages N times over as many sessions (-d), for
# the rate beside herald's signed rate, and openssl speed, for the sign
# beside herald's difference. herald send and smtp-source are timed the
# same way, as whole commands from exec to exit (bench_timed), herald's
# internal run.rate printed beside; each round prints the load average
# before and after, and SHA-256's time for 16 KB at that moment (the body
# hash every signature needs; on a shared host it swings). At the end,
# the signer alone (tests/tools/dkim-sign) on the message and on a tiny
# one, and its body canonicalization alone.
#
#   sh tests/bench/bench-dkim.sh            N=20000 ROUNDS=3 CONN=4
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/bench/lib.sh"
N=${N:-20000}
NCPU=$(nproc)
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

# run MODE - one campaign to everyone, MODE plain or signed, timed as a
# whole command; sets ucpu (microseconds of CPU per message, user +
# system), uuser (of user CPU), rate
# (messages per second of the whole command) and irate (herald's
# internal run.rate)
run() {
	cp "$T/$1.conf" "$T/lists/xen-users.conf"
	bench_timed "$T/run" "$HERALD" send summit --list xen-users \
	    --segment users --yes --again --json
	ucpu=$(awk -v c="$cpu" -v n="$N" 'BEGIN { printf "%.1f", c * 1e6 / n }')
	uuser=$(awk -v c="$user_cpu" -v n="$N" 'BEGIN { printf "%.1f", c * 1e6 / n }')
	rate=$(bench_per_s "$N" "$wall")
	irate=$(bench_rate "$T/run.out")
}

# smtp-source's message: one of herald's signed ones. herald render
# prints it as sent, CRLF; -F appends a CRLF of its own to each line it
# reads, so it gets the lines with LF alone (CRLF lines would go out
# ending CR CR LF)
cp "$T/signed.conf" "$T/lists/xen-users.conf"
"$HERALD" render summit --list xen-users --to p1@example1.org > "$T/one.eml"
tr -d '\r' < "$T/one.eml" > "$T/one-lf.eml"
scmd="smtp-source -d -s $CONN -m $N -F $T/one-lf.eml -f bench@example.org -t sink@example.org 127.0.0.1:$PORT"
# sign - openssl speed's time per RSA 2048 signature (CPU), in sign_us,
# and every core's signatures per second (-multi NCPU), in multi_rate
sign() {
	sign_us=$(openssl speed -seconds "${SIGN_SECONDS:-3}" rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ { printf "%.1f", $4 * 1e6 }')
	multi_rate=$(openssl speed -multi "$NCPU" -seconds "${SIGN_SECONDS:-3}" rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ { printf "%.0f", $(NF - 1) }')
	# the body hash every signature needs, at this moment's speed: on a
	# shared host SHA-256 swings from 0.4 to 1.7 GB/s
	sha_us=$(openssl speed -seconds 1 -bytes 16384 -evp sha256 2>/dev/null | awk '$1 == "sha256" { v = $NF; sub("k$", "", v); printf "%.1f", 16384 / (v * 1000) * 1e6 }')
}

echo "each round: herald send unsigned and signed (unsigned first in odd rounds, signed first in even ones), smtp-source, openssl speed"
echo "  herald send: herald send summit --list xen-users --segment users --yes --again --json"
echo "          ($N messages, $CONN connections; the list file without, then with its dkim { } block)"
echo "  smtp-source: $scmd"
echo "          ($N messages of $(wc -c < "$T/one-lf.eml") bytes with LF lines, one of herald's signed ones)"
echo "  openssl speed -seconds ${SIGN_SECONDS:-3} rsa2048; openssl speed -multi $NCPU -seconds ${SIGN_SECONDS:-3} rsa2048; openssl speed -seconds 1 -bytes 16384 -evp sha256"
diffs=""
ratios=""
signs=""
shas=""
tdiffs=""
srates=""
prates=""
mrates=""
sratios=""
i=1
while [ $i -le "$ROUNDS" ]; do
	echo "  round $i:"
	bench_load "before round $i"
	# the order alternates (unsigned first in odd rounds, signed first in
	# even ones): each send adds its deliveries to the store, and the
	# second of a round always ran on the bigger one
	if [ $((i % 2)) = 1 ]; then
		run plain; p=$ucpu; pu=$uuser; pr=$rate; pir=$irate
		run signed; s=$ucpu; su=$uuser; sr=$rate; sir=$irate
	else
		run signed; s=$ucpu; su=$uuser; sr=$rate; sir=$irate
		run plain; p=$ucpu; pu=$uuser; pr=$rate; pir=$irate
	fi
	# shellcheck disable=SC2086
	bench_timed "$T/source" $scmd
	src=$(bench_per_s "$N" "$wall")
	sign
	d=$(echo "$su - $pu" | bc)
	diffs="$diffs $d"
	r=$(echo "scale=3; $d / $sign_us" | bc | sed 's/^\./0./')
	ratios="$ratios $r"
	dt=$(echo "$s - $p" | bc)
	tdiffs="$tdiffs $dt"
	rt=$(echo "scale=3; $dt / $sign_us" | bc | sed 's/^\./0./')
	signs="$signs $sign_us"
	shas="$shas $sha_us"
	srates="$srates $sr"
	prates="$prates $pr"
	mrates="$mrates $multi_rate"
	sratio=$(echo "scale=3; $sr / $src" | bc)
	sratios="$sratios $sratio"
	echo "    herald send unsigned: $pu us user CPU per message ($p us with system); whole command $pr msg/s (internal run.rate $pir msg/s)"
	echo "    herald send signed:   $su us user CPU per message ($s us with system); whole command $sr msg/s (internal run.rate $sir msg/s)"
	echo "    signed minus unsigned, user CPU: +$d us = ${r}x this round's bare sign; with system CPU: +$dt us = ${rt}x"
	echo "    openssl speed rsa2048: $sign_us us (user CPU) per sign; openssl speed -multi $NCPU rsa2048: $multi_rate signs/s"
	echo "    SHA-256 of 16 KB (openssl speed -evp sha256 -bytes 16384, after the sign): $sha_us us"
	printf '    smtp-source, the same signed message: whole command %s msg/s; herald send signed / smtp-source, whole commands %.2f\n' \
	    "$src" "$sratio"
	bench_load "after round $i"
	i=$((i + 1))
done
# dkim.c's signer alone, one thread, on one of herald's messages (its
# signature taken off) and on a 200-byte one: what the signer itself costs
$PY - "$T/one.eml" "$T/bare.eml" "$T/tiny.eml" <<'PYEOF'
import sys
m = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(m[m.index(b"\r\nFrom: ") + 2:])
open(sys.argv[3], "wb").write(b"From: a@example.org\r\nTo: b@example.net\r\n"
    b"Subject: hello\r\n\r\n" + b"a short body line\r\n" * 8)
PYEOF
KEY=$(sed -n 's/.*key_file = "\(.*\)"/\1/p' "$T/dkim.block")
# the tool built beside the herald under test (bench-vs.sh runs two)
SIGNTOOL=$(dirname "$HERALD")/build/tools/dkim-sign
[ -x "$SIGNTOOL" ] || SIGNTOOL=$BUILD/tools/dkim-sign
if [ -x "$SIGNTOOL" ]; then
	echo "dkim.c's signer alone, one thread ($SIGNTOOL): $("$SIGNTOOL" "$KEY" "$T/bare.eml" 2000);" \
	    "$("$SIGNTOOL" "$KEY" "$T/tiny.eml" 2000)"
	echo "its relaxed body canonicalization alone ($SIGNTOOL --canon): $("$SIGNTOOL" --canon "$T/bare.eml" 20000)"
fi
# shellcheck disable=SC2086
printf 'herald send signed / smtp-source, whole commands: median %.2f of%s\n' "$(bench_median $sratios)" "$sratios"
# shellcheck disable=SC2086
echo "signed send rate: median $(bench_median $srates) msg/s whole command; unsigned, the same run: median $(bench_median $prates) msg/s; openssl speed -multi $NCPU rsa2048: median $(bench_median $mrates) signs/s"
# shellcheck disable=SC2086
med=$(bench_median $diffs)
# shellcheck disable=SC2086
sign_med=$(bench_median $signs)
echo "(signing cost: herald send signed minus unsigned, user CPU per message, median of$diffs; the bare RSA sign: openssl speed rsa2048, user CPU, median of$signs us; target <= 1.10)"
# shellcheck disable=SC2086
echo "with system CPU too: signed minus unsigned, median $(bench_median $tdiffs) us of$tdiffs, $(echo "scale=2; $(bench_median $tdiffs) / $(bench_median $signs)" | bc | sed 's/^\./0./')x the bare sign"
# shellcheck disable=SC2086
echo "each round's signing cost over its own bare sign: median $(bench_median $ratios) of$ratios"
# shellcheck disable=SC2086
echo "the body's SHA-256 alone (16 KB, openssl speed): median $(bench_median $shas) us of$shas, $(echo "scale=3; $(bench_median $shas) / $sign_med" | bc | sed 's/^\./0./')x the bare sign"
# the same sign with every core signing at once, as herald's signed send
# keeps them: NCPU seconds of CPU over openssl speed -multi's signs/s
# shellcheck disable=SC2086
multi_us=$(echo "scale=1; $NCPU * 1000000 / $(bench_median $mrates)" | bc)
echo "beside the RSA sign with every core signing (openssl speed -multi $NCPU: $multi_us us of CPU per sign): $(echo "scale=2; $med / $multi_us" | bc | sed 's/^\./0./')x"
echo "median signing cost $med us per message = $(echo "scale=2; $med / $sign_med" | bc | sed 's/^\./0./')x the bare RSA sign"
