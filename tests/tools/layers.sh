#!/bin/sh
# layers.sh [SRC] - print every #include "x.h" in SRC (default src) that
# reaches up: from a file in one layer to a header of a higher layer.
# The layers, lowest first, are the folders the Makefile names (LAYERS).
# Exit 1 when any does; each line is FILE: includes HEADER (LAYER).
# One awk over all the files (a header's layer is the first folder, in
# the order ls sorts them, that holds it): it used to fork a few
# processes per #include and took minutes on a busy machine.
src=${1:-src}
layers="util core store outbound inbound admin cmd"
printf '%s\n' "$src"/*/*.h | awk -v layers="$layers" '
function folder(path,   a, k) { k = split(path, a, "/"); return a[k - 1] }
function base(path,   a, k) { k = split(path, a, "/"); return a[k] }
function rank(l) { return (l in rk) ? rk[l] : 99 }
BEGIN { n = split(layers, L, " "); for (i = 1; i <= n; i++) rk[L[i]] = i - 1 }
FILENAME == "-" { if (!(base($0) in hl)) hl[base($0)] = folder($0); next }
/^#include "[a-z_]*\.h"/ {
	h = substr($0, 11); h = substr(h, 1, index(h, "\"") - 1)
	if (!(h in hl)) { print FILENAME ": includes " h ", which is in no layer"; bad = 1; next }
	if (rank(hl[h]) > rank(folder(FILENAME))) { print FILENAME ": includes " h " (" hl[h] ")"; bad = 1 }
}
END { exit bad }
' - "$src"/*/*.[ch]
