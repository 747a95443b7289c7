#!/bin/sh
# The house: src/ is one folder a layer and the arrows run one way (no
# #include reaches a higher layer: tests/tools/layers.sh); only src/store/
# speaks SQL (tests/tools/no-sql.sh); no function runs over 100 lines and
# at most 5% over 60 (tests/tools/funclen.sh). Each check is also run on
# a copy of src/ with the fault it guards put in, and must fail there.
. "${TOP:-.}/tests/lib.sh"
plan 8
TOOLS=$TOP/tests/tools

expect 0 sh "$TOOLS/layers.sh" "$TOP/src"; ok $? "no include reaches up a layer${out:+: $out}"
expect 0 sh "$TOOLS/no-sql.sh" "$TOP/src"; ok $? "no SQL and no sqlite3 outside src/store${out:+: $(printf '%s\n' "$out" | head -3)}"
expect 0 sh "$TOOLS/funclen.sh" 100 "$TOP"/src/*/*.c; ok $? "no function over 100 lines${out:+: $out}"
pct=$(sh "$TOOLS/funclen.sh" 0 "$TOP"/src/*/*.c 2>&1 >/dev/null | sed -n 's/.*(\([0-9.]*\)%).*/\1/p')
[ -n "$pct" ] && awk -v p="$pct" 'BEGIN { exit !(p <= 5) }'; ok $? "at most 5% of functions over 60 lines ($pct%)"

# the same checks on a copy with the fault put in
cp -R "$TOP/src" "$T/src"
printf '#include "web.h"\n' >> "$T/src/core/token.c"
expect 1 sh "$TOOLS/layers.sh" "$T/src" && like "$out" 'core/token.c: includes web.h \(inbound\)'
ok $? "layers.sh finds a core file that includes an inbound header"
cp "$TOP/src/core/token.c" "$T/src/core/token.c"
printf 'static const char *q = "SELECT 1";\n' >> "$T/src/cmd/cmd_lists.c"
expect 1 sh "$TOOLS/no-sql.sh" "$T/src" && like "$out" 'cmd/cmd_lists.c:[0-9]+:'
ok $? "no-sql.sh finds SQL text in a command"
printf '#include <sqlite3.h>\n' >> "$T/src/inbound/web.c"
expect 1 sh "$TOOLS/no-sql.sh" "$T/src" && like "$out" 'inbound/web.c:[0-9]+:#include <sqlite3.h>'
ok $? "no-sql.sh finds sqlite3.h included outside the store"
{ printf 'int\nlong_one(void)\n{\n'; seq 1 101 | sed 's/.*/\t;/'; printf '\treturn 0;\n}\n'; } > "$T/long.c"
expect 1 sh "$TOOLS/funclen.sh" 100 "$T/long.c" && like "$out" 'long\.c:long_one'
ok $? "funclen.sh finds a function of 106 lines"
finish
