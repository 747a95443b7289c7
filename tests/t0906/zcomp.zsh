# tests/t0906/zcomp.zsh - drive zsh completion for real, for t0906:
#
#     zsh -f zcomp.zsh FPATH-DIR TMP-DIR LINE...
#
# starts an interactive "zsh -f -i" on a pseudo-terminal (zsh/zpty), with
# FPATH-DIR first in fpath and compinit run (so _herald is found through
# its #compdef line, as an installed one would be), then for each LINE
# types it followed by TAB, and prints one line: the matches completion
# offered, sorted, separated by spaces. The matches are caught by a
# compadd function in front of the builtin that records the words that
# match what is typed (compadd -O) and then adds them as usual; calls
# that are themselves filtering (-O, -A, -D: _path_files' own) pass
# through unrecorded. Exit 2 when zsh cannot be driven (no zpty, no
# answer within 20 s).
zmodload zsh/zpty || exit 2
zmodload zsh/zselect || exit 2
dir=$1 tmp=$2
shift 2
TERM=dumb zpty z zsh -f -i || exit 2
zpty -w z "PS1='' PS2='' RPS1=''; bindkey -e; unsetopt beep;" \
    "fpath=(${(q)dir} \$fpath); autoload -Uz compinit;" \
    "compinit -u -d ${(q)tmp}/zcompdump"
# zle-line-init: zle is reading the line (the terminal is raw), so what
# is typed now is zle's, not the terminal driver's line editing
zpty -w z "zle-line-init() { : >| \$_zc_ready; }; zle -N zle-line-init;" \
    "_zc_ready=${(q)tmp}/zc.ready"
zpty -w z 'compadd() { if (( ${@[(I)-[OAD]]} )); then builtin compadd "$@"; return; fi;' \
    'local -a _m; builtin compadd -O _m "$@"; print -rl -- $_m >>| $_zc_out;' \
    'builtin compadd "$@"; }'
# await FILE - until FILE exists (20 s at most), reading what zsh prints
# meanwhile so that it never blocks on a full terminal
await() {
	local t junk
	for (( t = 0; t < 400; t++ )); do
		[[ -e $1 ]] && return 0
		while zpty -r -t z junk 2>/dev/null; do :; done
		zselect -t 5
	done
	print -u2 "zcomp: no answer (waiting for ${1:t}) at: $line"
	return 1
}
i=0
line=
for line; do
	(( i++ ))
	out=$tmp/zc.$i done=$tmp/zc.$i.done
	rm -f $out $done $tmp/zc.ready
	zpty -w z "_zc_out=${(q)out}; : >| \$_zc_out"
	await $tmp/zc.ready || exit 2
	zpty -w -n z "$line"$'\t'
	zpty -w -n z $'\C-a\C-k'
	zpty -w z ": >| ${(q)done}"
	await $done || exit 2
	print -r -- ${(j: :)${(ou)${(f)"$(<$out)"}}}
done
zpty -d z
