#!/bin/sh
# herald segment and herald sub export: the README's newcomer path (import
# the shipped samples, see every segment's count), --where, --list, errors
# with their columns, a broken segment in a list file (78 with file:line),
# injection attempts that match nothing extra and change nothing, and the
# export/import round trip.
. "${TOP:-.}/tests/lib.sh"
plan 36

hinit
t "import the xen-users sample" 0 herald sub import xen-users "$TOP/lists/xen-users.sample.csv"
like "$out" '^xen-users: 300 rows: 300 added'; ok $? "300 added"
t "import the xen-devel sample" 0 herald sub import xen-devel "$TOP/lists/xen-devel.sample.csv"

t "every segment's count" 0 herald segment xen-users --count
[ "$(printf '%s\n' "$out" | wc -l)" = 12 ] &&
    [ "$(printf '%s\n' "$out" | head -1 | cut -d' ' -f1)" = users ] &&
    ! printf '%s\n' "$out" | grep -Evq '^[a-z-]+ [0-9]+$'; ok $? "one line per segment: name, a space, a count"
# the counts agree with SQL written by hand
want=$(sql "SELECT count(*) FROM memberships m JOIN lists l ON l.id = m.list_id AND l.name = 'xen-users'
    WHERE m.subscriber_id IN (SELECT subscriber_id FROM attributes WHERE key = 'role' AND value IN ('developer', 'maintainer'))
    AND m.subscriber_id IN (SELECT subscriber_id FROM attributes WHERE key = 'region' AND value = 'us-east')")
like "$out" "^east-coast-developers $want\$" && [ "$want" -gt 0 ]; ok $? "east-coast-developers = $want, as SQL says"
total=0
for r in us-east us-central us-south us-west europe asia; do
	n=$(printf '%s\n' "$out" | sed -n "s/^$r //p"); total=$((total + n))
done
[ "$total" = 300 ]; ok $? "the regions partition the 300"
t "every xen-devel segment" 0 herald segment xen-devel
like "$out" '^contributors [0-9]+$' && like "$out" '^arm [1-9][0-9]*$'; ok $? "xen-devel counts"

t "one segment" 0 herald segment xen-users developers
[ "$out" -gt 0 ]; ok $? "a number"
dev=$out
t "--list" 0 herald segment xen-users developers --list
[ "$(printf '%s\n' "$out" | wc -l)" = "$dev" ] && like "$out" '^[^@]+@example\.(com|org|net)$'; ok $? "one address a line, as many as the count"
t "--where" 0 herald segment xen-users --where 'role in ("developer", "maintainer") and not exists(company)'
[ "$out" -lt "$dev" ]; ok $? "fewer than all developers"
t "--where with a glob on email" 0 herald segment xen-users --where 'email ~ "*@EXAMPLE.ORG"'
[ "$out" = "$(sql "SELECT count(*) FROM subscribers s JOIN memberships m ON m.subscriber_id = s.id AND m.list_id = (SELECT id FROM lists WHERE name = 'xen-users') WHERE email LIKE '%@example.org'")" ]
ok $? "case-insensitive glob"

t "a syntax error points at the column: 65" 65 herald segment xen-users --where 'role in ("a", b)'
like "$err" 'column 15: expected a quoted value'; ok $? "column 15"
t "an unknown segment: 67" 67 herald segment xen-users nobody
t "an unknown list: 67" 67 herald segment xen-nothing --count
t "--list without a segment: 64" 64 herald segment xen-users --list
t "NAME and --where: 64" 64 herald segment xen-users users --where 'a = "b"'

# injection: nothing extra matches, nothing changes
before=$(sql "SELECT (SELECT count(*) FROM subscribers) || ' ' || (SELECT count(*) FROM attributes) || ' ' || (SELECT count(*) FROM memberships)")
bad=0
for e in "role = \"x' OR '1'='1\"" 'role = "x\" OR 1=1 --"' "role = \"'); DELETE FROM memberships; --\"" \
    "role in (\"a\", \"b') OR 1=1; DROP TABLE attributes; --\")" "email ~ \"*' OR 'a'='a\""; do
	n=$("$HERALD" segment xen-users --where "$e" --count) || bad=1
	[ "$n" = 0 ] || bad=1
done
"$HERALD" segment xen-users --where 'role = "x"; DROP TABLE subscribers' --count 2>/dev/null && bad=1
[ $bad = 0 ] && [ "$(sql "SELECT (SELECT count(*) FROM subscribers) || ' ' || (SELECT count(*) FROM attributes) || ' ' || (SELECT count(*) FROM memberships)")" = "$before" ]
ok $? "injection attempts match nothing and change nothing"

# a broken segment in the list file: 78 with file:line and the column
sed -i 's/where = "role = \\"manager\\""/where = "role = manager"/' "$T/lists/xen-users.conf"
line=$(grep -n 'segment managers' "$T/lists/xen-users.conf" | cut -d: -f1)
end=$((line + 1))
t "a bad segment in the list file: 78" 78 herald segment xen-users --count
like "$err" "lists/xen-users.conf:$end: segment managers: column 8: expected a quoted value"; ok $? "file:line: segment NAME: column"
t "that segment alone: 78" 78 herald segment xen-users managers
cp "$TOP/lists/xen-users.conf" "$T/lists/xen-users.conf"

# export: CSV that import reads back unchanged
t "export" 0 herald sub export xen-users
printf '%s\n' "$out" > "$T/export1.csv"
[ "$(head -1 "$T/export1.csv")" = "email,name,company,region,role" ] && [ "$(wc -l < "$T/export1.csv")" = 301 ]
ok $? "a header and 300 rows"
like "$out" '^[^,]+,"[^"]*, [^"]*",' && like "$out" '""'; ok $? "commas and quotes quoted"
mkdir -p "$T/two"; cp -r "$T/lists" "$T/two/lists"
HERALD_CONFIG=$T/two/herald.conf
printf 'data_dir = "%s/two/data"\nlist_dir = "%s/two/lists"\n' "$T" "$T" > "$HERALD_CONFIG"
herald init >/dev/null
t "import the export elsewhere" 0 herald sub import xen-users "$T/export1.csv"
"$HERALD" sub export xen-users > "$T/export2.csv"
cmp -s "$T/export1.csv" "$T/export2.csv"; ok $? "and export it again: byte for byte the same"
like "$(cat "$T/export2.csv")" 'Zoë|Jürgen|Søren|Müller'; ok $? "UTF-8 survived"
t "export a segment" 0 herald sub export xen-users --segment developers
[ "$(printf '%s\n' "$out" | wc -l)" = $((dev + 1)) ]; ok $? "the segment's members only"
t "export an unknown segment: 67" 67 herald sub export xen-users --segment nobody
finish
