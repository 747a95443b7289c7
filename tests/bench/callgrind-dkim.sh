#!/bin/sh
# callgrind-dkim.sh - where dkim.c's signer spends its instructions, per
# message: tests/tools/dkim-sign run under callgrind 10 and 30 times, the
# difference divided by 20 (start-up and key loading cancel out). Instruction
# counts repeat on a loaded machine where wall times do not.
#
#   sh tests/bench/callgrind-dkim.sh KEY MESSAGE
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$TOP/build}
T=$(mktemp -d "${TMPDIR:-/tmp}/herald-cg.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
for n in 10 30; do
	valgrind --tool=callgrind --callgrind-out-file="$T/cg.$n" \
	    "$BUILD/tools/dkim-sign" "$1" "$2" $n >/dev/null 2>&1
	callgrind_annotate --inclusive=yes --auto=no --threshold=100 \
	    "$T/cg.$n" 2>/dev/null > "$T/in.$n"
done
# ir N FUNCTION - FUNCTION's inclusive count in the run of N
ir() {
	awk -v f="$2" '{ n = $1; gsub(",", "", n) } $0 ~ ":" f "( |$)" { print n; exit }' "$T/in.$1"
}
for f in dkim_signer_sign dkim_chunk dkim_body dkim_eom RSA_sign; do
	a=$(ir 10 $f); b=$(ir 30 $f)
	echo "$f $(( (${b:-0} - ${a:-0}) / 20 ))"
done | awk '{ v[$1] = $2; print "  " $1 ": " $2 " instructions per message" }
    END { printf "  signer / RSA_sign: %.3f\n", v["dkim_signer_sign"] / v["RSA_sign"] }'
