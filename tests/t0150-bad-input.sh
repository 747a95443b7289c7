#!/bin/sh
# Bad bytes in every file herald reads: a CSV with a NUL byte, with
# invalid UTF-8, with a quote inside an unquoted field; invalid UTF-8 in an
# announcement's data, in herald.conf and in a list file. Each is an error
# naming FILE:LINE, with the manual's exit status: 65 for the command's
# input (the CSV, the announcement), 78 for herald's configuration (75 from
# herald pipe, which never bounces mail for a mistake of ours). A bad row
# is rejected alone: the rows around it go in (nothing with --strict).
. "${TOP:-.}/tests/lib.sh"
HERALD_TEMPLATES=$TOP/templates
export HERALD_TEMPLATES
plan 31

hinit
# member EMAIL - whether EMAIL is an active member of xen-users
member() { herald sub show xen-users "$1" 2>/dev/null | grep -q '^xen-users: active '; }
# active - the number of active members of xen-users
active() { herald lists | awk '$1 == "xen-users" { print $3 }'; }

# a CSV: good rows around a bad one, each fault on its own line
csv=$T/bad.csv
printf 'email,name,role\n' > "$csv"
printf 'ann@example.org,Ann,user\n' >> "$csv"
printf 'nul@example.org,Nu\0l,user\n' >> "$csv"
printf 'bob@example.org,"Bob\nBo",user\n' >> "$csv"
printf 'utf@example.org,Caf\351,user\n' >> "$csv"
printf 'quo@example.org,Jo "Jo" Jo,user\n' >> "$csv"
printf 'cat@example.org,Cat,user\n' >> "$csv"
t "a CSV with a NUL byte, invalid UTF-8 and a stray quote: exit 65" 65 herald sub import xen-users "$csv"
like "$err" "^$csv:3: a NUL byte$"; ok $? "the NUL byte: FILE:LINE"
like "$err" "^$csv:6: invalid UTF-8$"; ok $? "invalid UTF-8: FILE:LINE (after a quoted line break)"
like "$err" "^$csv:7: a quote inside an unquoted field$"; ok $? "a quote inside an unquoted field: FILE:LINE"
[ "$(printf '%s\n' "$err" | grep -c "^$csv:")" = 4 ]; ok $? "four rows rejected, each once (the fourth: a line break in a name)"
like "$out" '^xen-users: 6 rows: 2 added, .* 4 rejected$'; ok $? "the summary counts them"
member ann@example.org && member cat@example.org; ok $? "the good rows before and after went in"
! member nul@example.org && ! member utf@example.org && ! member quo@example.org
ok $? "none of the bad rows did"
[ "$(active)" = 2 ]; ok $? "two active members"

# the same bytes in the header row: nothing can be read, nothing is
for h in 'em\0ail,name' 'email,n\377me' 'email,na"me'; do
	printf "$h\\nzed@example.org,Zed\\n" > "$T/head.csv"
	expect 65 herald sub import xen-users "$T/head.csv" &&
	    like "$err" "^herald sub import: $T/head.csv:1: header row: (a NUL byte|invalid UTF-8|a quote inside an unquoted field)$"
	ok $? "in the header row ($h): 65, FILE:1 and why"
done
! member zed@example.org; ok $? "and nothing imported"

# from stdin, --strict: one bad row imports nothing, named by "stdin"
printf 'email\ndan@example.org\nd\377n@example.org\n' > "$T/strict.csv"
expect 65 herald sub import --strict xen-users - < "$T/strict.csv"; ok $? "--strict from stdin: 65"
like "$err" '^stdin:3: invalid UTF-8$'; ok $? "stdin:LINE"
! member dan@example.org; ok $? "nothing imported"

# an announcement's data: invalid UTF-8 in a value and in a comment
herald sub add xen-users ada@example.com --name Ada >/dev/null
render() { expect "$1" herald render "$T/$2.conf" --list xen-users --to ada@example.com; }
printf 'kind = "summit"\ntitle = "T"\nevent e {\n\tname = "Caf\351"\n\tstart = "2014-09-15"\n\ttimezone = "UTC"\n\tcity = "X"\n}\n' > "$T/ann.conf"
render 65 ann; ok $? "invalid UTF-8 in an announcement value: 65"
like "$err" "$T/ann.conf:4: invalid UTF-8"; ok $? "names FILE:LINE"
unlike "$out" 'Subject:'; ok $? "and renders nothing"
printf 'kind = "summit"\ntitle = "T" # na\357ve\nevent e {\n\tname = "E"\n\tstart = "2014-09-15"\n\ttimezone = "UTC"\n\tcity = "X"\n}\n' > "$T/annc.conf"
render 65 annc; ok $? "in a comment too: 65"
like "$err" "$T/annc.conf:2: invalid UTF-8"; ok $? "names FILE:LINE"
LC_ALL=C sed 's/# na.*//' "$T/annc.conf" > "$T/good.conf"
render 0 good; ok $? "the same file without it renders"

# herald.conf: a byte that is not UTF-8 in a string
cp "$HERALD_CONFIG" "$T/good-herald.conf"
n=$(($(wc -l < "$HERALD_CONFIG") + 2))
printf 'smtp {\n  host = "caf\351.example.org"\n}\n' >> "$HERALD_CONFIG"
t "invalid UTF-8 in herald.conf: 78" 78 herald lists
like "$err" "$HERALD_CONFIG:$n: invalid UTF-8"; ok $? "names FILE:LINE"
printf 'From: a@example.org\nTo: xen-users@lists.xenproject.org\n\nhi\n' > "$T/msg"
expect 75 herald pipe -f a@example.org xen-users@lists.xenproject.org < "$T/msg"
ok $? "herald pipe: 75 (the MTA keeps the mail)"
like "$err" "invalid UTF-8"; ok $? "and says why"
cp "$T/good-herald.conf" "$HERALD_CONFIG"

# a list file: invalid UTF-8 in a value, then in a comment
L=$T/lists/xen-users.conf
cp "$L" "$T/good-list.conf"
n=$(grep -n '^display_name' "$L" | cut -d: -f1)
LC_ALL=C sed -i 's/^display_name = .*/display_name = "Xen Caf\xe9 Users"/' "$L"
t "invalid UTF-8 in a list file: 78" 78 herald lists
like "$err" "$L:$n: invalid UTF-8"; ok $? "names FILE:LINE"
cp "$T/good-list.conf" "$L"
printf '# r\351sum\351\n' >> "$L"
n=$(wc -l < "$L")
t "in a list file's comment: 78" 78 herald lists
like "$err" "$L:$n: invalid UTF-8"; ok $? "names FILE:LINE"
cp "$T/good-list.conf" "$L"
t "the files put back: herald lists works" 0 herald lists
finish
