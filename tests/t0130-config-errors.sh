#!/bin/sh
# Bad configuration lines stop every command with exit 78 and FILE:LINE,
# including what libconfuse alone lets through: a NUL byte, an option set
# twice, error_threshold outside 0..1, owners = {}, a from that is not an
# address, two lists with one address; and ${…} is never expanded from the
# environment (herald.conf and list files).
. "${TOP:-.}/tests/lib.sh"
plan 43

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
cp "$HERALD_CONFIG" "$T/good-herald.conf"
printf 'smtp {\n  port = 70000\n}\n' >> "$HERALD_CONFIG"
t "a bad value in herald.conf: 78" 78 herald lists
like "$err" "herald.conf:[0-9]+: port must be between 1 and 65535"; ok $? "names file:line"

# a NUL byte: libconfuse stops there and would take the rest as unset
cp "$T/good-herald.conf" "$HERALD_CONFIG"
n=$(($(wc -l < "$HERALD_CONFIG") + 1))
printf 'send {\0\n  connections = 0\n}\n' >> "$HERALD_CONFIG"
t "a NUL byte in herald.conf: 78" 78 herald lists
like "$err" "herald.conf:$n: a NUL byte"; ok $? "names file:line"
cp "$T/good-herald.conf" "$HERALD_CONFIG"
n=$(($(wc -l < "$L") + 2))
printf 'segment nul {\n\twhere = "role = \\"x\\""\0\n}\n' >> "$L"
t "a NUL byte in a list file: 78" 78 herald lists
like "$err" "xen-users.conf:$n: a NUL byte"; ok $? "names file:line"
cp "$T/good.conf" "$L"

for v in 1.5 -0.1; do
	cp "$T/good-herald.conf" "$HERALD_CONFIG"
	printf 'send {\n  error_threshold = %s\n}\n' "$v" >> "$HERALD_CONFIG"
	n=$(grep -n error_threshold "$HERALD_CONFIG" | cut -d: -f1)
	expect 78 herald lists && like "$err" "herald.conf:$n: send\.error_threshold must be between 0 and 1"
	ok $? "error_threshold = $v: 78 at its line"
done
for v in 0 601; do
	cp "$T/good-herald.conf" "$HERALD_CONFIG"
	printf 'store {\n  busy_timeout = %s\n}\n' "$v" >> "$HERALD_CONFIG"
	n=$(grep -n busy_timeout "$HERALD_CONFIG" | cut -d: -f1)
	expect 78 herald lists && like "$err" "herald.conf:$n: store\.busy_timeout must be between 1 and 600"
	ok $? "busy_timeout = $v: 78 at its line"
done
cp "$T/good-herald.conf" "$HERALD_CONFIG"
printf 'domain = "b.example"\n' >> "$HERALD_CONFIG"
n=$(grep -c '' "$HERALD_CONFIG")
t "an option set twice in herald.conf: 78" 78 herald lists
like "$err" "herald.conf:$n: domain is set twice in one section \(first at line 3\)"; ok $? "names both lines"
cp "$T/good-herald.conf" "$HERALD_CONFIG"

sed -i 's/^owners = .*/owners = {}/' "$L"
n=$(grep -n '^owners' "$L" | cut -d: -f1)
t "owners = {}: 78" 78 herald lists
like "$err" "xen-users.conf:$n: owners = \{\} names nobody"; ok $? "names file:line"
cp "$T/good.conf" "$L"
sed -i 's/^owners = .*/owners = { "community@xenproject.org", "events at xenproject.org" }/' "$L"
t "an owner that is not an address: 78" 78 herald lists
like "$err" "xen-users.conf:$n: owner \"events at xenproject.org\" is not an address"; ok $? "names file:line"
cp "$T/good.conf" "$L"
n=$(grep -n '^from' "$L" | cut -d: -f1)
for f in 'Xen Project Community' 'Xen <community@xenproject.org' 'a@b@c.org' 'Xen <community@xen project.org>'; do
	cp "$T/good.conf" "$L"
	sed -i "s/^from = .*/from = \"$f\"/" "$L"
	expect 78 herald lists && like "$err" "xen-users.conf:$n: from = \"$f\" is not an address"
	ok $? "from = \"$f\": 78 at its line"
done
cp "$T/good.conf" "$L"

# the same where twice in one segment: libconfuse keeps the last
awk '/^segment users/ { print; getline; print; print "\twhere = \"role = \\\"nobody\\\"\""; next } { print }' \
    "$T/good.conf" > "$L"
n=$(grep -n 'nobody' "$L" | cut -d: -f1)
t "where twice in one segment: 78" 78 herald segment xen-users users
like "$err" "xen-users.conf:$n: where is set twice in one section \(first at line $((n - 1))\)"; ok $? "names both lines"
cp "$T/good.conf" "$L"
printf '\ndisplay_name = "Again"\n' >> "$L"
t "an option set twice in a list file: 78" 78 herald lists
like "$err" "xen-users.conf:$(grep -c '' "$L"): display_name is set twice"; ok $? "names file:line"
cp "$T/good.conf" "$L"

# two lists, one address: mail for it would all go to the first
sed 's/^display_name = .*/display_name = "Copy"/' "$T/good.conf" > "$T/lists/xen-users2.conf"
n=$(grep -n '^address' "$L" | cut -d: -f1)
t "two lists with one address: 78" 78 herald lists
like "$err" "xen-users2.conf:$n: address xen-users@lists.xenproject.org is also the address of list xen-users"
ok $? "names the second file's line and the first list"
# by name: lists/xen-devel.conf with no address is xen-devel@DOMAIN
sed 's/^address = .*/address = "XEN-DEVEL@lists.example.org"/' "$T/good.conf" > "$T/lists/xen-users2.conf"
sed -i '/^address = /d' "$T/lists/xen-devel.conf"
t "an address that is another list's by its name: 78" 78 herald lists
like "$err" "xen-users2.conf:$n: address XEN-DEVEL@lists.example.org is also the address of list xen-devel"
ok $? "named at the line that sets it, case-insensitively"
rm "$T/lists/xen-users2.conf"; cp "$TOP/lists/xen-devel.conf" "$T/lists/"
# a list's address that is another's -owner address: the pipe routes
# LIST-owner@ first, so no mail would reach the second list
for s in owner bounces request; do
	sed "s/^address = .*/address = \"Xen-Users-$s@lists.xenproject.org\"/" "$T/good.conf" > "$T/lists/xen-users2.conf"
	expect 78 herald lists &&
	    like "$err" "xen-users2.conf:$n: address Xen-Users-$s@lists.xenproject.org is also the -$s address of list xen-users \\(.*xen-users.conf\\)"
	ok $? "a list at xen-users-$s@: 78 at its address line, naming the list it collides with"
done
rm "$T/lists/xen-users2.conf"

# ${…}: never expanded from the environment, a bare one is an error
HERALD_T_SUB=leaked; export HERALD_T_SUB
cp "$T/good-herald.conf" "$HERALD_CONFIG"
sed -i 's|^data_dir = .*|data_dir = "'"$T"'/d${HERALD_T_SUB}"|' "$HERALD_CONFIG"
t "\${VAR} in herald.conf" 0 herald init
like "$out" "$T/d\\\$\{HERALD_T_SUB\}/herald.db" && [ ! -e "$T/dleaked" ]; ok $? "is the literal text, not the environment"
cp "$T/good-herald.conf" "$HERALD_CONFIG"
printf 'spool_dir = ${HERALD_T_SUB}\n' >> "$HERALD_CONFIG"
t "a bare \${VAR}: 78" 78 herald lists
like "$err" "herald.conf:$(grep -c '' "$HERALD_CONFIG"): \\\$\{…\} outside quotes"; ok $? "names file:line"
cp "$T/good-herald.conf" "$HERALD_CONFIG"
finish
