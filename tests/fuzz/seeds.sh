#!/bin/sh
# seeds.sh NAME DIR - write the seeds of fuzz target NAME that need a
# wrapping of the tests' fixtures into DIR (made afresh): segment
# expressions out of the list files and t0120, Mustache sources out of
# tests/mustache and ../shared/spec/mustache (when present), messages of
# t0500 and t0600 with an envelope for the pipe, as LMTP sessions, and
# HTTP requests for herald serve. Tokens are written {U}, {B}, {S}, {C},
# {T}: the targets put valid ones in their place (tests/fuzz/fuzz.h).
set -eu
name=$1 dir=$2
SHARED=${SHARED:-../shared}
D=lists.xenproject.org
rm -rf "$dir"; mkdir -p "$dir"
# seed - stdin into the next file of DIR
seed() { cat > "$(mktemp "$dir/seed-XXXXXX")"; }
# fill FILE - a t0500 fixture with its @KEY@ marks filled in
fill() {
	sed -e 's/@FROM@/Alice <alice@subs.test>/' -e "s/@RCPT@/xen-users@$D/" \
	    -e 's/@SUBJECT@/subscribe/' -e 's/@BODY@/subscribe/' \
	    -e 's/@MSGID@/m1/' "$1"
}
# the addresses of xen-users, one per route, with tokens
rcpts="xen-users@$D xen-users-bounces+{B}@$D xen-users-unsubscribe+{U}@$D
xen-users-unsubscribe@$D xen-users-subscribe@$D xen-users-confirm+{C}@$D
xen-users-confirm+{S}@$D xen-users-owner@$D xen-users-request@$D
xen-users-unsubscribe+{T}@$D xen-devel-bounces+{B}@$D nobody@$D"
mail="$(ls tests/t0500/*.eml tests/t0600/*.eml 2>/dev/null)"

case $name in
segment)
	for f in lists/*.conf; do
		sed -n 's/^[[:space:]]*where = "\(.*\)"[[:space:]]*$/\1/p' "$f" |
		    sed 's/\\"/"/g'
	done | while IFS= read -r e; do printf '%s' "$e" | seed; done
	grep -o "\-\-where '[^']*'" tests/t0120-segment.sh |
	    sed "s/^--where '//; s/'\$//" |
	    while IFS= read -r e; do printf '%s' "$e" | seed; done
	;;
template)
	for j in tests/mustache/*.json "$SHARED"/spec/mustache/*.json; do
		[ -f "$j" ] || continue
		python3 - "$j" "$dir" <<'PY'
import json, sys, os
d = json.load(open(sys.argv[1]))
base = os.path.basename(sys.argv[1]).replace('.json', '')
for i, t in enumerate(d.get('tests', [])):
    parts = [t['template']]
    for k, v in (t.get('partials') or {}).items():
        parts.append(k + '\n' + v)
    with open(os.path.join(sys.argv[2], '%s-%d' % (base, i)), 'w') as f:
        f.write('\0'.join(parts))
PY
	done
	;;
pipe)
	# RECIPIENT LF SENDER LF MESSAGE
	for m in $mail; do
		for r in $rcpts; do
			s=alice@subs.test
			case $r in *bounces*) s= ;; esac
			{ printf '%s\n%s\n' "$r" "$s"; fill "$m"; } | seed
		done
	done
	;;
lmtp)
	# whole sessions, CRLF, dots stuffed; some pipelined, some broken
	for m in $mail; do
		for r in $rcpts; do
			s="<alice@subs.test>"
			case $r in *bounces*) s="<>" ;; esac
			{ printf 'LHLO fuzz\r\nMAIL FROM:%s SIZE=100 BODY=8BITMIME\r\n' "$s"
			  printf 'RCPT TO:<%s>\r\nRCPT TO:<xen-users-owner@%s>\r\nDATA\r\n' "$r" "$D"
			  fill "$m" | sed -e 's/^\./../' -e 's/$/\r/'
			  printf '.\r\nRSET\r\nNOOP\r\nVRFY x\r\nQUIT\r\n'; } | seed
		done
	done
	printf 'LHLO a\r\nMAIL FROM:<> SIZE=99999999999\r\nRCPT TO:<nobody@x>\r\nDATA\r\n.\r\n' | seed
	printf 'EHLO a\r\nHELO a\r\nMAIL FROM:<a@b>\r\nDATA x\r\nLHLO\r\n\0\r\n' | seed
	;;
web)
	for p in "GET /unsubscribe/{U}" "POST /unsubscribe/{U}" \
	    "POST /unsubscribe/{T}" "POST /resubscribe/{U}" \
	    "GET /preferences/{U}" "GET /confirm/{S}" "POST /confirm/{C}" \
	    "GET /subscribe/xen-users" "GET /archive/xen-users/" \
	    "GET /archive/xen-users/1" "GET /archive/xen-users/feed.atom" \
	    "GET /health" "HEAD /health" "GET /unsubscribe/%41%zz" \
	    "DELETE /health"; do
		printf '%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$p" | seed
	done
	body='List-Unsubscribe=One-Click'
	printf 'POST /unsubscribe/{U} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s' ${#body} "$body" | seed
	body='email=dave%40subs.test&name=Dave+D&role=developer'
	printf 'POST /subscribe/xen-users HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s' ${#body} "$body" | seed
	body='name=Alice+B&role=maintainer&region=asia&lists=xen-users&lists=xen-devel'
	printf 'POST /preferences/{U} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s' ${#body} "$body" | seed
	body=$(printf -- '--XyZ\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--XyZ\r\nContent-Disposition: form-data; name="name"\r\n\r\nA\r\n--XyZ--\r\n')
	printf 'POST /unsubscribe/{U} HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: %d\r\n\r\n%s' ${#body} "$body" | seed
	printf 'POST /preferences/{U} HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: %d\r\n\r\n%s' ${#body} "$body" | seed
	printf 'POST /confirm/{S} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n5\r\na=b&c\r\n0\r\n\r\n' | seed
	;;
esac
