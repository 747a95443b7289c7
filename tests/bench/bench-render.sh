#!/bin/sh
# bench-render.sh - render and compose the summit announcement for 100,000
# subscribers in one process, one thread, no SMTP (build/tools/bench-render).
# Prints the command, messages per second (wall and per CPU second), the
# average size and the peak RSS (which must not grow with N).
set -eu
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$TOP/build}
N=${N:-100000}
D=$(mktemp -d "${TMPDIR:-/tmp}/bench-render.XXXXXX")
trap 'rm -rf "$D"' EXIT
mkdir -p "$D/etc"
printf 'data_dir = "%s/data"\nlist_dir = "%s/lists"\n' "$D" "$TOP" > "$D/etc/herald.conf"
HERALD_TEMPLATES=$TOP/templates
export HERALD_TEMPLATES
cmd="$BUILD/tools/bench-render $D/etc/herald.conf summit xen-users $N"
echo "command: HERALD_TEMPLATES=$HERALD_TEMPLATES $cmd"
$cmd
