#!/bin/sh
# herald preview (one line per segment) and herald render --segment,
# --sample, --out, --strict, and the usage errors.
. "${TOP:-.}/tests/lib.sh"
HERALD_TEMPLATES=$TOP/templates
export HERALD_TEMPLATES
plan 14

hinit
cat > "$T/subs.csv" <<'CSV'
email,name,role,region
u1@example.com,User One,user,us-east
u2@example.com,User Two,user,europe
d1@example.com,Dev One,developer,us-east
CSV
herald sub import xen-users "$T/subs.csv" >/dev/null || { echo "Bail out! import"; exit 1; }

t "preview runs" 0 herald preview summit --list xen-users --out "$T/pv"
nseg=$(grep -c '^segment ' "$T/lists/xen-users.conf")
[ "$(printf '%s\n' "$out" | sed 1d | wc -l)" -eq $((nseg + 1)) ]
ok $? "one line per segment of the list, and one for the whole list"
like "$out" '^users +2  Xen Project User Summit: .*  '"$T"'/pv/users.eml$'; ok $? "users: 2 members, their subject, the sample path"
like "$out" '^developers +1  Xen Project Developer Summit: '; ok $? "developers: 1, the Developer Summit first"
like "$out" '^asia +0  Two Xen Project summits'; ok $? "an empty segment still gets a line and a sample"
like "$out" '^\(whole list\) +3 '; ok $? "the whole list"
$PY "$TOP/tests/t0301/check.py" "$T"/pv/*.eml >/dev/null; ok $? "every sample parses without defects"

t "render --segment --sample --out" 0 herald render talks --list xen-users --segment users --sample 1 --out "$T/r"
[ "$(ls "$T/r" | wc -l)" -eq 1 ] && like "$out" "^$T/r/001-users.eml	xen-users-bounces\+b"
ok $? "one file, its path and the VERP envelope printed"

t "render a whole segment to stdout" 0 herald render sponsorship --list xen-users --segment users
[ "$(printf '%s\n' "$out" | grep -c '^From xen-users-bounces+')" -eq 2 ]; ok $? "two messages, mbox-separated"

# --strict: a template naming data that is not there
mkdir -p "$T/tm/summit"
printf '{{title}} {{nosuch}}\n' > "$T/tm/summit/subject.mustache"
printf '{{subscriber.attributes.company}}{{other.thing}}\n' > "$T/tm/summit/text.mustache"
printf '<p>{{title}}</p>\n' > "$T/tm/summit/html.mustache"
printf 'kind = "summit"\ntitle = "T"\ntemplates = "tm"\n' > "$T/s.conf"
t "without --strict a missing name renders empty" 0 herald render "$T/s.conf" --list xen-users --to u1@example.com
expect 65 herald render "$T/s.conf" --list xen-users --to u1@example.com --strict &&
    like "$err" 'missing variables \(--strict\): nosuch, subscriber.attributes.company, other.thing'
ok $? "--strict fails and lists every missing name"
t "--to and --segment together is a usage error" 64 herald render summit --list xen-users --to u1@example.com --segment users
finish
