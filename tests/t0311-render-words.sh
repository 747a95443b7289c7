#!/bin/sh
# The words of the shipped announcements: "(picked for you)" marks a topic
# only where it sets the reader's segment apart (at most half of the
# topics of an event are theirs: not 5 of 6 for a developer); the footer
# says "Unsubscribe" (the one click is the mail client's button, the link
# opens a page); herald render and herald preview warn on stderr, exit 0,
# when a subject runs over 60 characters, and the shipped subjects do not.
. "${TOP:-.}/tests/lib.sh"
HERALD_TEMPLATES=$TOP/templates
export HERALD_TEMPLATES
plan 13

hinit
cat > "$T/subs.csv" <<'CSV'
email,name,role,region
ada@example.com,Ada Lovelace,user,us-east
dev@example.com,Dev Eloper,developer,us-central
arch@example.com,Archie Tect,architect,europe
CSV
herald sub import xen-users "$T/subs.csv" >/dev/null || { echo "Bail out! import"; exit 1; }

# picked WHO - the topics marked "(picked for you)" in WHO's text part
picked() {
	herald render summit --list xen-users --to "$1" | tr -d '\r' |
	    sed -n '/^Content-Type: text\/plain/,/^Content-Type: text\/html/p' |
	    sed -n 's/^\* \(.*\) (picked for you)$/\1/p'
}
[ -z "$(picked dev@example.com)" ]
ok $? "a developer (5 of the Developer Summit's 6 topics are theirs): no topic marked"
[ "$(picked arch@example.com)" = "Inside the Verizon Cloud" ]
ok $? "an architect: the one Developer Summit topic for them, none of the User Summit's 4 of 6"
[ "$(picked ada@example.com | wc -l)" -eq 3 ]
ok $? "a user: the 3 of 6 User Summit topics for users"
html=$(herald render summit --list xen-users --to dev@example.com | tr -d '\r')
unlike "$html" 'picked for you'
ok $? "and none in the HTML part either"

t "render the shipped summit" 0 herald render summit --list xen-users --to ada@example.com
unlike "$out" 'one click' && like "$out" '^Unsubscribe: https://'
ok $? "the text footer says Unsubscribe, not 'in one click'"

# a subject over 60 characters: a warning on stderr, the message still
# printed, exit 0; the shipped kinds stay under it for every segment
cat > "$T/long.conf" <<'EOF2'
kind = "summit"
title = "The Xen Project community meets twice in person this year: Chicago and New York"
EOF2
t "render with a 79-character subject exits 0" 0 herald render "$T/long.conf" --list xen-users --to ada@example.com
like "$err" '^herald render: warning: the subject( for segment [a-z-]+)? is 79 characters, over 60 \(phones show about 40' &&
like "$out" '^Subject: The Xen Project community meets'
ok $? "it warns on stderr and still prints the message"
t "preview with it exits 0" 0 herald preview "$T/long.conf" --list xen-users --out "$T/pv"
[ "$(printf '%s\n' "$err" | grep -c '^herald preview: warning: the subject for segment [a-z-]* is 79 characters')" -eq \
    "$(grep -c '^segment ' "$T/lists/xen-users.conf")" ]
ok $? "preview warns once per segment line"
for kind in summit talks sponsorship; do
	expect 0 herald preview $kind --list xen-users --out "$T/pv-$kind" &&
	    [ -z "$err" ] || { echo "# $kind: $err"; false; }
	ok $? "$kind: no subject of the shipped kind is over 60 characters"
done
finish
