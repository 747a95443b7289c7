#!/bin/sh
# make demo - herald end to end on the embedded defaults: a fresh instance
# under build/demo, the sample subscribers of xen-users, Postfix's smtp-sink
# on a free loopback port writing what it receives to a folder, the Xen
# Project User Summit announcement sent to the users and developers
# segments, the campaign summary, one received message; then herald serve
# on a free loopback port, with the URL of that message's unsubscribe page
# (it runs until Enter when the demo has a terminal, else stops at once).
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
HERALD=${HERALD:-$TOP/herald}
D=$TOP/build/demo
PY=/usr/bin/python3
SINK=/usr/sbin/smtp-sink

[ -x "$SINK" ] || { echo "demo: $SINK is missing (make deps installs postfix)"; exit 1; }
rm -rf "$D"
mkdir -p "$D/etc" "$D/mail"
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
WPORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$D/etc/herald.conf" <<CONF
data_dir = "$D/data"
list_dir = "$TOP/lists"
web {
	listen = "127.0.0.1:$WPORT"
	base_url = "http://127.0.0.1:$WPORT"
}
smtp {
	host = "127.0.0.1"
	port = $PORT
	starttls = "off"
	timeout = 10
}
CONF
HERALD_CONFIG=$D/etc/herald.conf
HERALD_TEMPLATES=$TOP/templates
export HERALD_CONFIG HERALD_TEMPLATES

echo "== a fresh instance in $D"
"$HERALD" init
echo
echo "== the sample subscribers"
"$HERALD" sub import xen-users "$TOP/lists/xen-users.sample.csv"
echo
echo "== smtp-sink on 127.0.0.1:$PORT, writing to $D/mail"
"$SINK" -u "$(id -un)" -d "$D/mail/%M." "127.0.0.1:$PORT" 256 &
sink=$!
trap 'kill $sink 2>/dev/null || true' EXIT INT TERM
for _ in 1 2 3 4 5 6 7 8 9 10; do
	$PY -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2)" \
	    2>/dev/null && break
	sleep 0.1
done
echo
echo "== herald send summit --list xen-users --segment users --segment developers --yes"
"$HERALD" send summit --list xen-users --segment users --segment developers --yes
echo
echo "== herald campaign show 1"
"$HERALD" campaign show 1
sleep 0.2
one=$(grep -l "^Subject: .*User Summit" "$D/mail"/* | head -1); one=$(basename "${one:-$(ls "$D/mail" | head -1)}")
echo
echo "== $(ls "$D/mail" | wc -l) messages received; one of them: $D/mail/$one"
sed -n '1,40p' "$D/mail/$one"
echo "[…]"
echo
token=$(tr -d '\r' < "$D/mail/$one" | sed -n 's|.*/unsubscribe/\([a-z0-9-]*\)>.*|\1|p' | head -1)
echo "== herald serve on http://127.0.0.1:$WPORT/"
"$HERALD" serve 2>"$D/serve.log" &
serve=$!
trap 'kill $sink 2>/dev/null || true; kill -TERM $serve 2>/dev/null || true' EXIT INT TERM
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	curl -sf -o /dev/null "http://127.0.0.1:$WPORT/health" 2>/dev/null && break
	sleep 0.1
done
echo "   this message's unsubscribe page (a GET changes nothing):"
echo "     http://127.0.0.1:$WPORT/unsubscribe/$token"
echo "   its preferences:  http://127.0.0.1:$WPORT/preferences/$token"
echo "   subscribe form:   http://127.0.0.1:$WPORT/subscribe/xen-users"
echo "   archive:          http://127.0.0.1:$WPORT/archive/xen-users/"
echo "   (the message's own List-Unsubscribe names lists.xenproject.org, the"
echo "   shipped list's unsubscribe_base_url; the path is the same)"
curl -s "http://127.0.0.1:$WPORT/unsubscribe/$token" | grep -o 'Unsubscribe <strong>[^<]*</strong>' | sed 's/<[^>]*>//g; s/^/   the page says: /'
if [ -t 0 ]; then
	printf '   press Enter to stop herald serve '
	read -r _
fi
kill -TERM $serve; wait $serve
echo "== herald serve stopped; its log: $D/serve.log"
