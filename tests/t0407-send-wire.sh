#!/bin/sh
# How send.c writes a message body, checked on the wire: a capture server
# keeps the bytes of every message. Over DATA (the relay offers no
# CHUNKING) the body goes out in one write, dot-stuffed and CRLF-ended by
# herald (send.c); over BDAT (CHUNKING offered, as Postfix does) libesmtp
# writes it. Either way the relay must get the very message herald
# composed: the same bytes for the same recipient, lines that start with a
# dot stuffed on DATA, nothing lost at the end.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
plan 6

# a template whose text part has lines a careless writer gets wrong: a
# lone dot (the end of DATA, unstuffed), dot lines, a line "..", and the
# body ends without a blank line before the boundary
mkdir -p "$T/tpl"
cp -R "$TOP/templates/." "$T/tpl/"
awk '/^\{\{\/body\}\}/ { print "."; print ".leading dot"; print ".."; print "...three"; print "x."; print "." } { print }' \
    "$TOP/templates/summit/text.mustache" > "$T/tpl/summit/text.mustache"
HERALD_TEMPLATES=$T/tpl; export HERALD_TEMPLATES

PORT=$(free_port)
relay_conf "$PORT"
subs_csv "$T/subs.csv" 10
herald sub import xen-users "$T/subs.csv" >/dev/null

# start_capture DIR [--chunking] - the capture server on $PORT
start_capture() {
	start_ready "$T/capture.out" "$TOP/tests/smtp-capture.py" "$PORT" "$@"
	_st=$?; _cap=$_ready; return $_st
}
stop_capture() { kill "$_cap" 2>/dev/null; wait "$_cap" 2>/dev/null; }

start_capture "$T/data-mode"
t "send over DATA (no CHUNKING offered)" 0 herald send summit \
    --list xen-users --segment users --yes
stop_capture
n=$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 1 AND state = 'sent'")
[ "$n" -gt 1 ] && [ "$(wc -l < "$T/data-mode/log")" = "$n" ] &&
    ! grep -q BAD "$T/data-mode/log" && grep -q ' DATA ' "$T/data-mode/log"
ok $? "every message ($n) arrived over DATA, dot-stuffed, CRLF lines"
head -c 4 "$T/data-mode/1.wire" | grep -q . && grep -q "^\.\.leading dot$(printf '\r')\$" "$T/data-mode/1.wire" &&
    grep -q "^\.\.$(printf '\r')\$" "$T/data-mode/1.wire" &&
    [ "$(grep -c "^\.$(printf '\r')\$" "$T/data-mode/1.wire")" = 1 ] &&
    [ "$(tail -c 3 "$T/data-mode/1.wire" | od -An -c | tr -d ' ')" = '.\r\n' ]
ok $? "on the wire: dot lines stuffed, one lone dot (the end), last"

start_capture "$T/bdat-mode" --chunking
t "the same campaign again over BDAT (CHUNKING offered)" 0 herald send summit \
    --list xen-users --segment users --yes --again
stop_capture
[ "$(wc -l < "$T/bdat-mode/log")" = "$n" ] && grep -q ' BDAT ' "$T/bdat-mode/log"
ok $? "every message ($n) arrived over BDAT"

# the same recipient's message in both campaigns, once what a campaign
# changes (its number in the VERP sender, tokens, Message-ID, Date, the
# calendar's DTSTAMP, the MIME boundaries) is masked: identical bytes.
# The boundaries go first: their random hex may hold "c12-", which the
# campaign-token pattern would otherwise eat in one file and not the other.
mask() {
	sed -e 's/=_herald_[a-z]*_[0-9a-f]*/B/g' \
	    -e 's/^Date: .*/Date: -/' -e 's/^Message-ID: .*/Message-ID: -/' \
	    -e 's/^DTSTAMP:.*/DTSTAMP:-/' \
	    -e 's/c[0-9][0-9]*[.-][A-Za-z0-9_-]*/C/g' "$1"
}
same=0 diff=0
for f in "$T/data-mode"/*.eml; do
	r=$(sed -n "s/^$(basename "$f" .eml) DATA //p" "$T/data-mode/log")
	b=$(sed -n "s/^\([0-9]*\) BDAT $r\$/\1/p" "$T/bdat-mode/log")
	if [ -n "$b" ] && mask "$f" > "$T/a" && mask "$T/bdat-mode/$b.eml" > "$T/b" &&
	    cmp -s "$T/a" "$T/b"; then same=$((same + 1)); else
		diff=$((diff + 1)); [ $diff = 1 ] && diff "$T/a" "$T/b" | head -20 | sed 's/^/#   /'
	fi
done
[ "$same" = "$n" ]; ok $? "DATA and BDAT carry the same message ($same of $n the same)"
finish
