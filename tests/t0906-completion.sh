#!/bin/sh
# t0906-completion.sh - shell completion, bash's (etc/bash-completion/herald)
# and zsh's (etc/zsh-completion/_herald), each driven as its shell drives
# it. bash: COMP_WORDS and COMP_CWORD set, the completion function called,
# COMPREPLY read. zsh: an interactive zsh -f on a pseudo-terminal with
# compinit, the line typed and TAB pressed, the matches caught on their way
# to compadd (tests/t0906/zcomp.zsh); every line asked of bash is asked of
# zsh with the same answer expected. Commands and options come from the
# herald under test (a new command completes by itself), list and segment
# names from the instance's lists, campaign ids from its campaigns (one
# campaign of tests/t0903/campaign.sh); -c FILE on the line is honoured.
# make install puts them under share/bash-completion/completions and
# share/zsh/site-functions.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
command -v bash >/dev/null 2>&1 || { echo "1..0 # SKIP no bash"; exit 0; }
. "$TOP/tests/t0903/campaign.sh"
plan 63
C=$TOP/etc/bash-completion/herald
mkdir -p "$T/bin"
ln -s "$HERALD" "$T/bin/herald"
PATH=$T/bin:$PATH; export PATH

# comp WORD… - what completing the last WORD offers, sorted, one line
comp() {
	bash -c '. "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
	    _herald "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	    printf "%s\n" "${COMPREPLY[@]}"' "$C" herald "$@" | grep . | sort | tr '\n' ' ' | sed 's/ $//'
}
# is WANT WORD… - comp WORD… gives exactly WANT; the line and WANT are
# kept in $T/cases for zsh
is() {
	_w=$1; shift
	nbash=$((nbash + 1))
	printf '%s|%s\n' "$_w" "herald $*" >>"$T/cases"
	got=$(comp "$@")
	[ "$got" = "$_w" ] || echo "#   got '$got', want '$_w'"
	[ "$got" = "$_w" ]
}
: >"$T/cases"
nbash=0

# what herald help and send --help list, read here as the completion
# reads them: an empty list would match an empty completion, so each must
# hold what it surely holds
help=$(herald help); hrc=$?
cmds=$(printf '%s\n' "$help" | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }' | sort | tr '\n' ' ' | sed 's/ $//')
[ "$hrc" = 0 ] && like "$cmds" '(^| )send .*(^| )sub( |$)' && is "$cmds" ""
ok $? "the commands, as herald help lists them"
is "segment send serve" se; ok $? "a prefix: se → segment send serve"
is "--config= --help --version" --; ok $? "global options"
is "--campaign --json --kind" replies --; ok $? "a command's options from its --help"
sopts=$(herald send --help | sed -nE 's/^ +(-[a-zA-Z], )?(--[a-z][a-z0-9-]*).*/\2/p' | grep -v '^--help$' | sort | tr '\n' ' ' | sed 's/ $//')
like "$sopts" '(^| )--segment( |$)' && is "$sopts" send --; ok $? "every option of send"
is "--allow-erased --attr --name" sub add --; ok $? "a verb's options: sub add"
is "add erase export import rm show" sub ""; ok $? "sub's verbs"
is "xen-devel xen-users" sub show ""; ok $? "list names after sub show"
is "xen-devel xen-users" send summit --list ""; ok $? "list names after --list"
is "developers" segment xen-users dev; ok $? "segment names of the list given"
is "users" send summit --list xen-users --segment use; ok $? "--segment completes from the --list's segments"
is "users" sub export xen-users --segment use; ok $? "sub export LIST --segment"
is "toolstack" render summit -l xen-devel -s t; ok $? "-s after -l xen-devel: that list's segments"
is "cancel pause resume retry show" campaign ""; ok $? "campaign's actions"
is "$CAMPAIGN" campaign show ""; ok $? "campaign ids ($CAMPAIGN)"
is "$CAMPAIGN" report ""; ok $? "report ID: campaign ids"
is "copy" store ""; ok $? "store copy"
is "postgresql sqlite" store copy --to ""; ok $? "store copy --to postgresql|sqlite"
is "exim postfix" mta ""; ok $? "mta postfix|exim"
is "nginx" web ""; ok $? "web nginx"
is "keygen" dkim ""; ok $? "dkim keygen"
is "xen-devel xen-users" dkim keygen ""; ok $? "dkim keygen LIST"
is "--bits --ed25519 --force --out" dkim keygen --; ok $? "dkim keygen's options"
is "xen-devel xen-users" doctor ""; ok $? "doctor LIST"
is "sponsorship summit talks" doctor xen-users -a ""; ok $? "doctor -a: the announcements"
# an option that takes a value (its --help says --mx=HOST) takes the next
# word, read from herald's help, not from a list in the completion
is "xen-devel xen-users" dns --mx mx.example.org ""; ok $? "dns --mx HOST: then LIST"
is "xen-devel xen-users" doctor --txt v=DKIM1 ""; ok $? "doctor --txt RECORD: then LIST"
is "" lmtp -l ""; ok $? "lmtp -l is --listen, not --list: no list names"
is "" serve ""; ok $? "serve takes no words: nothing, not files"
# -c FILE on the line: another instance with no lists
mkdir -p "$T/other/lists"
printf 'data_dir = "%s"\nlist_dir = "%s"\n' "$T/other" "$T/other/lists" >"$T/other.conf"
is "" -c "$T/other.conf" sub show ""; ok $? "-c FILE: the lists of that configuration (none)"

# zsh: the same lines, typed in a real zsh with TAB ($T/cases: WANT|LINE,
# as is() wrote them)
Z=$TOP/etc/zsh-completion
nz=$(wc -l <"$T/cases")
# zsh/zpty needs a pseudo-terminal (/dev/pts): a chroot without one skips
nopty=
zran=0
command -v zsh >/dev/null 2>&1 &&
    ! zsh -f -c 'zmodload zsh/zpty && zpty p true && zpty -d p' >/dev/null 2>&1 &&
    nopty=1
if command -v zsh >/dev/null 2>&1 && [ -z "$nopty" ]; then
	cut -d '|' -f 2 "$T/cases" | {
		set --
		while IFS= read -r l; do set -- "$@" "$l"; done
		zsh -f "$TOP/tests/t0906/zcomp.zsh" "$Z" "$T" "$@" >"$T/zsh.out" 2>"$T/zsh.err"
	}
	zrc=$?
	[ "$zrc" = 0 ] || sed 's/^/#   zsh: /' "$T/zsh.err"
	zran=1 zans=$(wc -l <"$T/zsh.out")
	i=0
	while IFS='|' read -r want line; do
		i=$((i + 1))
		got=$(sed -n "${i}p" "$T/zsh.out")
		[ "$zrc" = 0 ] && [ "$got" = "$want" ] && [ -f "$Z/_herald" ]
		r=$?
		[ "$r" = 0 ] || echo "#   zsh got '$got', want '$want'"
		ok $r "zsh: '$line<TAB>' offers what bash does"
	done <"$T/cases"
else
	why="no zsh (Debian package zsh)"
	[ -n "$nopty" ] && why="zsh/zpty cannot open a pseudo-terminal (no /dev/pts)"
	for i in $(seq 1 "$nz"); do skip "zsh: $why"; done
fi
# zsh answered (zcomp.zsh prints a line for each) every line bash was asked
if [ "$zran" = 1 ]; then
	[ "$zans" = "$nbash" ] && [ "$nz" = "$nbash" ]
	ok $? "zsh was asked every line bash was ($zans of $nbash)"
else
	skip "zsh was asked nothing: $why"
fi

make_install "$T/root" &&
    cmp -s "$C" "$T/root/opt/herald/share/bash-completion/completions/herald"
ok $? "make install puts it in share/bash-completion/completions/herald"
cmp -s "$Z/_herald" "$T/root/opt/herald/share/zsh/site-functions/_herald"
ok $? "make install puts _herald in share/zsh/site-functions"
finish
