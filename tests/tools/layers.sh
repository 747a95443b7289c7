#!/bin/sh
# layers.sh [SRC] - print every #include "x.h" in SRC (default src) that
# reaches up: from a file in one layer to a header of a higher layer.
# The layers, lowest first, are the folders the Makefile names (LAYERS).
# Exit 1 when any does; each line is FILE: includes HEADER (LAYER).
src=${1:-src}
layers="util core store outbound inbound admin cmd"
rank() { i=0; for l in $layers; do [ "$l" = "$1" ] && { echo $i; return; }; i=$((i + 1)); done; echo 99; }
bad=0
for f in "$src"/*/*.[ch]; do
	fl=$(basename "$(dirname "$f")"); fr=$(rank "$fl")
	for h in $(sed -n 's/^#include "\([a-z_]*\.h\)".*/\1/p' "$f"); do
		hp=$(ls "$src"/*/"$h" 2>/dev/null | head -1)
		[ -n "$hp" ] || { echo "$f: includes $h, which is in no layer"; bad=1; continue; }
		hl=$(basename "$(dirname "$hp")"); hr=$(rank "$hl")
		if [ "$hr" -gt "$fr" ]; then
			echo "$f: includes $h ($hl)"; bad=1
		fi
	done
done
exit $bad
