#!/bin/sh
# t0900-version.sh - herald version and herald --version: the same lines,
# herald's version first, then the versions of GMime, SQLite, libconfuse
# and libesmtp in use, which must be those pkg-config reports for the
# installed libraries (herald links the first three, maybe statically,
# and opens libesmtp with dlopen). Needs no configuration.
. "${TOP:-.}/tests/lib.sh"
plan 9

t "herald version exits 0" 0 herald version
v=$out
t "herald --version exits 0" 0 herald --version
[ "$out" = "$v" ]; ok $? "version and --version print the same"
[ "$(printf '%s\n' "$v" | head -n 1)" = "herald $(sed -n 's/^#define HERALD_VERSION "\(.*\)"/\1/p' "$TOP/src/util/herald.h")" ]
ok $? "first line: herald VERSION"
# lib NAME PKG - the line for NAME gives pkg-config's version of PKG
lib() {
	want=$(pkg-config --modversion "$2" 2>/dev/null)
	[ -n "$want" ] || { skip "pkg-config knows no $2"; return; }
	printf '%s\n' "$v" | grep -Eq "^$1 $want( |\$)"
	ok $? "$1 $want (pkg-config $2)"
}
lib GMime gmime-3.0
lib SQLite sqlite3
lib libconfuse libconfuse
lib libesmtp libesmtp-1.0
t "herald version takes no arguments" 64 herald version extra
finish
