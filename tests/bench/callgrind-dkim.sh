#!/bin/sh
# callgrind-dkim.sh - where dkim.c's signer spends its instructions, per
# message: tests/tools/dkim-sign run under callgrind 10 and 30 times, the
# difference divided by 20 (start-up and key loading cancel out). Instruction
# counts repeat on a loaded machine where wall times do not; the load
# average is printed before and after each run all the same.
#
#   sh tests/bench/callgrind-dkim.sh KEY MESSAGE
#   sh tests/bench/callgrind-dkim.sh     (as make bench runs it: a new key
#                                         and the summit announcement)
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/bench/lib.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/herald-cg.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
if [ $# -lt 2 ]; then
	# no KEY MESSAGE: a key made by herald dkim keygen on an instance of
	# our own and one of herald's messages, its signature taken off
	mkdir -p "$T/etc" "$T/lists"
	printf 'data_dir = "%s/data"\nlist_dir = "%s/lists"\n' "$T" "$T" > "$T/etc/herald.conf"
	HERALD_CONFIG=$T/etc/herald.conf HERALD_TEMPLATES=$TOP/templates
	export HERALD_CONFIG HERALD_TEMPLATES
	cp "$TOP/lists/xen-users.conf" "$T/lists/"
	"$HERALD" init >/dev/null
	"$HERALD" dkim keygen xen-users | sed -n '/^dkim {/,/^}/p' >> "$T/lists/xen-users.conf"
	printf 'email,name,role,region\np1@example1.org,Person 1,user,us-east\n' > "$T/subs.csv"
	"$HERALD" sub import xen-users "$T/subs.csv" >/dev/null
	"$HERALD" render summit --list xen-users --to p1@example1.org > "$T/one.eml"
	$PY -c 'import sys; m = open(sys.argv[1], "rb").read(); open(sys.argv[2], "wb").write(m[m.index(b"\r\nFrom: ") + 2:])' \
	    "$T/one.eml" "$T/bare.eml"
	set -- "$(sed -n 's/.*key_file = "\(.*\)"/\1/p' "$T/lists/xen-users.conf")" "$T/bare.eml"
fi
echo "command: valgrind --tool=callgrind $BUILD/tools/dkim-sign $1 $2 N, N=10 and N=30"
for n in 10 30; do
	bench_load "before $n signatures"
	valgrind --tool=callgrind --callgrind-out-file="$T/cg.$n" \
	    "$BUILD/tools/dkim-sign" "$1" "$2" $n >/dev/null 2>&1
	callgrind_annotate --inclusive=yes --auto=no --threshold=100 \
	    "$T/cg.$n" 2>/dev/null > "$T/in.$n"
	bench_load "after $n signatures"
done
# ir N FUNCTION - FUNCTION's inclusive count in the run of N
ir() {
	awk -v f="$2" '{ n = $1; gsub(",", "", n) } $0 ~ ":" f "( |$)" { print n; exit }' "$T/in.$1"
}
# libopendkim's steps (before issue 24: dkim_chunk, dkim_body, dkim_eom)
# and herald's own (dkim_body_hash: canonicalization and SHA-256;
# dkim_canon_body_update: canonicalization alone); a function the signer
# under test does not have counts 0
for f in dkim_signer_sign dkim_chunk dkim_body dkim_eom dkim_body_hash \
    dkim_canon_body_update RSA_sign; do
	a=$(ir 10 $f); b=$(ir 30 $f)
	echo "$f $(( (${b:-0} - ${a:-0}) / 20 ))"
done | awk '{ v[$1] = $2; print "  " $1 ": " $2 " instructions per message" }
    END { printf "  signer / RSA_sign: %.3f\n", v["dkim_signer_sign"] / v["RSA_sign"] }'
