#!/bin/sh
# funclen.sh [MAX] [FILES…] - the length in lines of every function in
# herald's C files (style(9): the name at the start of a line, the body
# closed by a "}" alone at the start of a line), longest first; with MAX,
# only those longer, and exit 1 when there is one. A summary line gives
# how many functions there are and how many run over 60 lines.
max=${1:-0}; shift 2>/dev/null
[ $# -gt 0 ] || set -- src/*/*.c
awk -v max="$max" '
FNR == 1 { name = "" }
/^[a-z_][a-z0-9_]*\(/ { name = FILENAME ":" substr($0, 1, index($0, "(") - 1); start = FNR; next }
/^\}/ && name != "" { n = FNR - start + 1; total++; if (n > 60) over60++;
	if (n > max) { printf "%5d %s\n", n, name; bad++ } name = "" }
END { printf "# %d functions, %d over 60 lines (%.1f%%)\n", total, over60, total ? 100 * over60 / total : 0 > "/dev/stderr"; exit (max > 0 && bad > 0) }
' "$@" | sort -rn
