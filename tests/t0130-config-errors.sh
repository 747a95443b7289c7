#!/bin/sh
# Bad configuration lines stop every command with exit 78 and FILE:LINE.
. "${TOP:-.}/tests/lib.sh"
plan 10

hinit
L=$T/lists/xen-users.conf
cp "$L" "$T/good.conf"
printf '\nfrobnicate = 1\n' >> "$L"
n=$(wc -l < "$L")
t "an unknown option: 78" 78 herald segment xen-users
like "$err" "xen-users.conf:$n: no such option 'frobnicate'"; ok $? "names file:line"
cp "$T/good.conf" "$L"
sed -i 's/^reply_to = "list"/reply_to = "everyone"/' "$L"
n=$(grep -n '^reply_to' "$L" | cut -d: -f1)
t "a bad enumerated value: 78" 78 herald sub add xen-users a@example.org
like "$err" "xen-users.conf:$n: reply_to must be list, from or owner"; ok $? "names file:line"
cp "$T/good.conf" "$L"
printf 'segment broken {\n\twhere = "a = \\"b\\""\n' >> "$L"
n=$(grep -n '^segment broken' "$L" | cut -d: -f1)
t "an unclosed section: 78" 78 herald lists
like "$err" "xen-users.conf:$n: section opened here is never closed"; ok $? "names the line of the {"
cp "$T/good.conf" "$L"
printf 'bounce {\n\tcolour = "red"\n}\n' > "$T/b.conf"
sed -i '/^bounce {/,/^}/d' "$L"; cat "$T/b.conf" >> "$L"
n=$(grep -n 'colour' "$L" | cut -d: -f1)
t "an unknown option inside a section: 78" 78 herald lists
like "$err" "xen-users.conf:$n: no such option 'colour'"; ok $? "names file:line"
cp "$T/good.conf" "$L"
printf 'smtp {\n  port = 70000\n}\n' >> "$HERALD_CONFIG"
t "a bad value in herald.conf: 78" 78 herald lists
like "$err" "herald.conf:[0-9]+: port must be between 1 and 65535"; ok $? "names file:line"
finish
