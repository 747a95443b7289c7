#!/bin/sh
# Every command's help: for each command "herald help" lists, "herald CMD
# --help" and "herald help CMD" exit 0 with the same text, in one layout
# (GOption's: "Usage:", "  herald CMD [OPTION…] ARGS", a summary, the
# options), with "…" printed as written whatever the locale says; verbs
# (sub, bounce) the same way; "herald help --help" is the command list.
. "${TOP:-.}/tests/lib.sh"
plan 11

# a C locale in the environment: GLib alone would print "[OPTION?]"
LC_ALL=C; LANG=C; export LC_ALL LANG
t "herald help" 0 herald help
cmds=$(printf '%s\n' "$out" | sed -n '/^Commands:/,/^$/p' | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p' | grep -vx help)
[ "$(printf '%s\n' "$cmds" | wc -l)" -ge 16 ]; ok $? "it lists the commands ($(printf '%s\n' "$cmds" | wc -l))"
list=$out

bad=0 n=0
for c in $cmds; do
	n=$((n + 1))
	a=$("$HERALD" "$c" --help 2>"$T/a.err"); ra=$?
	b=$("$HERALD" help "$c" 2>"$T/b.err"); rb=$?
	l1=$(printf '%s\n' "$a" | sed -n 1p); l2=$(printf '%s\n' "$a" | sed -n 2p)
	if [ $ra != 0 ] || [ $rb != 0 ] || [ "$a" != "$b" ] || [ -s "$T/a.err" ] ||
	    [ "$l1" != "Usage:" ] || ! like "$l2" "^  herald $c \[OPTION…\]( |\$)" ||
	    ! like "$a" '^  -h, --help +Show help options$' ||
	    [ -n "$(printf '%s\n' "$a" | sed -n 3p)" ] || [ -z "$(printf '%s\n' "$a" | sed -n 4p)" ]; then
		bad=$((bad + 1))
		echo "# $c: --help $ra, help $rb, [$l1] [$l2] $(head -c 200 "$T/a.err")"
	fi
done
[ $bad = 0 ]; ok $? "$n commands: --help and help CMD exit 0, the same text, one layout ($bad not)"

# verbs have their own --help in the same layout
bad=0
for v in "sub add" "sub rm" "sub show" "sub import" "sub export" "bounce scan" \
    "campaign" "reply"; do
	a=$("$HERALD" $v --help 2>/dev/null) || { bad=$((bad + 1)); echo "# $v: exit $?"; continue; }
	like "$a" "^  herald $v \[OPTION…\]" || { bad=$((bad + 1)); echo "# $v: $(printf '%s\n' "$a" | sed -n 2p)"; }
done
[ $bad = 0 ]; ok $? "each verb's --help: exit 0, same layout"
t "herald sub --help" 0 herald sub --help
like "$out" '^Verbs:$' && like "$out" '^  import LIST FILE.csv\|- \[--strict\]$' &&
    like "$out" '^"herald sub VERB --help" describes one\.$'; ok $? "lists the verbs"
t "herald bounce --help" 0 herald bounce --help
like "$out" '^  scan \[-v\] FILE…'; ok $? "lists scan"

t "herald help --help" 0 herald help --help
[ "$out" = "$list" ]; ok $? "is the command list"
t "herald help nosuch: 64" 64 herald help nosuch
finish
