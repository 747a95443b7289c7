#!/bin/sh
# herald serve behind the nginx block "herald web nginx" prints: a real
# nginx on loopback terminating TLS (a self-signed certificate) in front
# of a real herald serve; a one-click POST through it unsubscribes, and a
# client's own X-Forwarded-For is not believed (nginx replaces it, herald
# trusts it only from the proxy). Skips when nginx is not installed.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0700/serve-lib.sh"
plan 5
NGINX=$(command -v nginx || true)
[ -x /usr/sbin/nginx ] && NGINX=/usr/sbin/nginx
if [ -z "$NGINX" ]; then
	for i in 1 2 3 4 5; do skip "nginx is not installed"; done
	exit 0
fi
WEBPORT=$(free_port)
NPORT=$(free_port)
hinit 'web {' '  base_url = "https://lists.example.org"' "  listen = \"127.0.0.1:$WEBPORT\"" '}'
sed -i 's/^goodbye_notice = true/goodbye_notice = false/' "$T/lists/xen-devel.conf"
ALICE=$(add_sub alice@subs.test active xen-devel)
"$HERALD" serve 2>>"$T/serve.log" &
SERVEPID=$!
at_exit serve_kill
WEB=http://127.0.0.1:$WEBPORT
_i=0; while [ $_i -lt 100 ] && ! curl -sf -o /dev/null "$WEB/health"; do sleep 0.1; _i=$((_i + 1)); done

t "herald web nginx" 0 herald web nginx
N=$T/nginx
mkdir -p "$N/logs" "$N/tmp"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=lists.example.org \
    -keyout "$N/key.pem" -out "$N/cert.pem" 2>/dev/null
printf '%s\n' "$out" | sed -e "s|listen 443 ssl http2;|listen 127.0.0.1:$NPORT ssl;|" \
    -e '/listen \[::\]:443/d' \
    -e "s|/etc/letsencrypt/live/lists.example.org/fullchain.pem|$N/cert.pem|" \
    -e "s|/etc/letsencrypt/live/lists.example.org/privkey.pem|$N/key.pem|" > "$N/herald.conf"
cat > "$N/nginx.conf" <<EON
worker_processes 1;
pid $N/nginx.pid;
error_log $N/logs/error.log;
user root;
events { worker_connections 64; }
http {
	client_body_temp_path $N/tmp/body;
	proxy_temp_path $N/tmp/proxy;
	fastcgi_temp_path $N/tmp/fcgi;
	uwsgi_temp_path $N/tmp/uwsgi;
	scgi_temp_path $N/tmp/scgi;
	access_log off;
	include $N/herald.conf;
}
EON
t "nginx -t accepts the block" 0 "$NGINX" -p "$N" -c "$N/nginx.conf" -t
"$NGINX" -p "$N" -c "$N/nginx.conf"
at_exit "kill -QUIT \$(cat $N/nginx.pid)"
R="--resolve lists.example.org:$NPORT:127.0.0.1 --cacert $N/cert.pem"
# until nginx answers over TLS (any status)
wait_for 10 curl -s -o /dev/null $R "https://lists.example.org:$NPORT/health"
AT=$(tok u xen-devel $ALICE)
hc $R -H 'X-Forwarded-For: 203.0.113.9' -d List-Unsubscribe=One-Click "https://lists.example.org:$NPORT/unsubscribe/$AT"
[ "$code" = 200 ]; ok $? "one-click through nginx over TLS: 200 ($code)"
[ "$(status alice@subs.test xen-devel)" = unsubscribed ]; ok $? "alice is unsubscribed"
L=$(grep 'POST /unsubscribe/-' "$T/serve.log")
like "$L" 'serve: 127\.0\.0\.1 POST' && unlike "$L" '203\.0\.113\.9'; ok $? "the client's own X-Forwarded-For is not believed ($L)"
finish
