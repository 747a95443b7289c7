#!/bin/sh
# t0950-fuzz-replay.sh - every input a fuzz target (tests/fuzz, make fuzz)
# crashed on, kept under tests/fuzz/crashes/NAME/, goes through that
# target's code again in the build under test (build/tools/fuzz-replay,
# which needs no clang), and returns within a minute: a fault that comes
# back, a crash or a hang, fails here.
# The bounce target's crashes (tests/t0600/crashes, which t0600 scans
# with herald bounce scan) are replayed through its code too. A fault
# that only a sanitizer sees (undefined behaviour, a small overflow)
# fails under make SANITIZE=1 (build-asan's fuzz-replay).
. "${TOP:-.}/tests/lib.sh"
cd "$TOP" || exit 1
REPLAY=$BUILD/tools/fuzz-replay

inputs=$(ls tests/fuzz/crashes/*/* tests/t0600/crashes/* 2>/dev/null)
plan $(($(printf '%s\n' "$inputs" | grep -c .) + 2))

# the driver knows every target, and refuses a name it does not
"$REPLAY" nosuch /dev/null >/dev/null 2>&1
[ $? -eq 64 ]; ok $? "an unknown target is a usage error (64)"
for n in bounce csv segment template pipe lmtp web; do
	[ -f tests/fuzz/fuzz-$n.c ] || { echo "# tests/fuzz/fuzz-$n.c missing"; false; } || break
	out=$("$REPLAY" $n 2>&1) || break
done
ok $? "every target of tests/fuzz runs with no input"

for f in $inputs; do
	case $f in
	tests/t0600/*) n=bounce ;;
	*) n=$(basename "$(dirname "$f")") ;;
	esac
	# bounded: a fault that comes back as a hang (a timeout the fuzzer
	# kept) fails here instead of holding the suite
	expect 0 timeout 60 "$REPLAY" "$n" "$f" && like "$out" "^$n $f\$"
	ok $? "$n: $(basename "$f") returns (within 60 s)"
done
finish
