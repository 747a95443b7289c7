#!/bin/sh
# herald segment and herald sub export: the manual's newcomer path (doc/guide/lists-and-segments.md) (import
# the shipped samples, see every segment's count), --where, --list, errors
# with their columns, a broken segment in a list file (78 with file:line),
# injection attempts that match nothing extra and change nothing, the
# export/import round trip, and expressions past SQLite's parser limits
# (1,000 terms, 100 nested nots, 255 levels of and/or) with their counts.
. "${TOP:-.}/tests/lib.sh"
plan 47

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

# long and deep expressions: every one the grammar takes compiles, and
# counts what a simple one of known count does
t "role = developer" 0 herald segment xen-users --where 'role = "developer"'
devs=$out
e='role = "r0"'
for i in $(seq 1 999); do e="$e or role = \"r$i\""; done
t "1,000 or terms" 0 herald segment xen-users --where "$e or role = \"developer\""
[ "$out" = "$devs" ]; ok $? "1,000 or terms: $out, as role = developer"
e='role = "developer"'; p=$e
for i in $(seq 1 100); do e="not $e"; p="not ($p)"; done
expect 0 herald segment xen-users --where "$e" && [ "$out" = "$devs" ] &&
    expect 0 herald segment xen-users --where "$p" && [ "$out" = "$devs" ] &&
    expect 0 herald segment xen-users --where "not $e" && [ "$out" = $((300 - devs)) ]
ok $? "100 nested nots, with and without parentheses: $devs; 101: $((300 - devs))"
# random expressions (a fixed seed), small to 1,000 terms and 255 levels
# deep, against counts an evaluator of the manual's rules gives
$PY "$TOP/tests/t0120/segref.py" "$TOP/lists/xen-users.sample.csv" 1 > "$T/exprs"
bad=0 n=0
while IFS='	' read -r want e; do
	n=$((n + 1))
	got=$("$HERALD" segment xen-users --where "$e" 2>&1)
	[ "$got" = "$want" ] || { bad=$((bad + 1)); echo "# wanted $want, got $(printf '%s' "$got" | cut -c1-160)"; }
done < "$T/exprs"
[ "$n" -gt 60 ] && [ $bad = 0 ]; ok $? "$n random expressions, the counts right ($bad not)"
e='region = "asia"'
for i in $(seq 1 256); do e="($e)"; done
t "parentheses 256 deep" 0 herald segment xen-users --where "$e"
t "257 deep: 65" 65 herald segment xen-users --where "($e)"
like "$err" 'column 257: parentheses nested more than 256 deep'; ok $? "with the column"
# the same in a list file, through a campaign's snapshot (every list
# segment is evaluated there once more) and the dry run's messages
want=$(sed -n 64p "$T/exprs" | cut -f1)
{ printf 'segment deep {\n\twhere = "'; sed -n 64p "$T/exprs" | cut -f2 | sed 's/[\\"]/\\&/g' | tr -d '\n'
  printf '"\n}\nsegment wide {\n\twhere = "'; sed -n 61p "$T/exprs" | cut -f2 | sed 's/[\\"]/\\&/g' | tr -d '\n'
  printf '"\n}\n'; } >> "$T/lists/xen-users.conf"
t "a deep and a wide segment in the list file" 0 herald segment xen-users deep
[ "$out" = "$want" ] && [ "$want" -gt 0 ]; ok $? "the count as the evaluator's ($want)"
HERALD_TEMPLATES=$TOP/templates herald send summit --list xen-users --segment deep \
    --dry-run "$T/md" >/dev/null 2>&1
[ "$(ls "$T/md/new" | wc -l)" = "$want" ]; ok $? "a dry run of it writes $want messages"
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
"$HERALD" sub export xen-users > "$T/export2.csv" &&
    cmp -s "$T/export1.csv" "$T/export2.csv"; ok $? "and export it again: byte for byte the same"
# each of these names on as many rows as in the sample (7, 11, 9, 8)
for n in Zoë Jürgen Søren Müller; do
	[ "$(grep -c "$n" "$T/export2.csv")" = "$(grep -c "$n" "$TOP/lists/xen-users.sample.csv")" ] || echo "$n"
done >"$T/utf8.bad"
[ ! -s "$T/utf8.bad" ]; ok $? "UTF-8 survived (names lost or mangled:$(printf " %s" $(cat "$T/utf8.bad")))"
t "export a segment" 0 herald sub export xen-users --segment developers
[ "$(printf '%s\n' "$out" | wc -l)" = $((dev + 1)) ]; ok $? "the segment's members only"
t "export an unknown segment: 67" 67 herald sub export xen-users --segment nobody
finish
