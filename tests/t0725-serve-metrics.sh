#!/bin/sh
# herald serve's GET /metrics: Prometheus text that Debian's promtool
# accepts (promtool check metrics), before and after real work: a
# campaign sent to smtp-sink, a one-click unsubscribe, an unsubscribe
# by mail and a bounce through herald pipe; the values move by exactly
# that work. Only web.metrics_allow's clients get it (the default:
# loopback; a client named by a trusted proxy's X-Forwarded-For is that
# client); a bad entry stops serve with exit 78.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0700/serve-lib.sh"
. "$TOP/tests/t0400/common.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
F=$TOP/tests/t0500
command -v promtool >/dev/null 2>&1 || { echo "1..0 # SKIP no promtool (Debian package prometheus; make deps installs it)"; exit 0; }
plan 29

sink_start
hinit
sink_conf
subs_csv "$T/subs.csv" 40
herald sub import xen-users "$T/subs.csv" >/dev/null
serve_start

# m NAME{LABELS} - the value of one sample of the last scrape
m() { grep -F "$1 " "$T/scrape" | awk '{ print $NF }'; }
scrape() { curl -s -o "$T/scrape" -w '%{http_code}' "$WEB/metrics"; }

t "GET /metrics from loopback" 0 scrape
[ "$out" = 200 ]; ok $? "answers 200 ($out)"
expect 0 promtool check metrics < "$T/scrape"; ok $? "promtool check metrics finds nothing to say${err:+: $err}"
[ -z "$(grep -v '^#' "$T/scrape" | grep -v '^herald_')" ]; ok $? "every metric name starts with herald_"
[ "$(m 'herald_campaigns{state="done"}')" = 0 ] && [ "$(m 'herald_unsubscribes_total{channel="one-click"}')" = 0 ]
ok $? "before any work: no campaign done, no one-click"
[ "$(m 'herald_relay_state{relay="smtp",state="unknown"}')" = 1 ]; ok $? "the relay never used is unknown"
hch "$WEB/metrics"
like "$hdrs" 'Content-Type: text/plain; version=0.0.4'; ok $? "Content-Type says the text format's version"

# the work
t "a campaign to the sink" 0 herald send summit --list xen-users --segment users --yes
sent=$(sql "SELECT count(*) FROM deliveries WHERE state = 'sent'")
U1=$(sql "SELECT subscriber_id FROM deliveries ORDER BY id LIMIT 1")
U2=$(sql "SELECT subscriber_id FROM deliveries ORDER BY id LIMIT 1 OFFSET 1")
U3=$(sql "SELECT subscriber_id FROM deliveries ORDER BY id LIMIT 1 OFFSET 2")
D3=$(sql "SELECT id FROM deliveries WHERE subscriber_id = $U3")
hc -d List-Unsubscribe=One-Click "$WEB/unsubscribe/$(tok u xen-users $U1)"
[ "$code" = 200 ]; ok $? "a one-click unsubscribe (200)"
E2=$(sql "SELECT email FROM subscribers WHERE id = $U2")
fill $F/gmail-unsubscribe.eml "$T/unsub.eml" RCPT=x
sed -i "s/alice@subs.test/$E2/" "$T/unsub.eml"
t "an unsubscribe by mail" 0 "$HERALD" pipe -f "$E2" "xen-users-unsubscribe+$(tok u xen-users $U2)@$D" < "$T/unsub.eml"
VT=$(tok b xen-users $U3 $D3)
fill $F/bounce-dsn.eml "$T/bounce.eml" VERP=$VT RCPTADDR=$(sql "SELECT email FROM subscribers WHERE id = $U3")
t "a hard bounce" 0 "$HERALD" pipe -f '' "xen-users-bounces+$VT@$D" < "$T/bounce.eml"

t "GET /metrics again" 0 scrape
expect 0 promtool check metrics < "$T/scrape"; ok $? "promtool still finds nothing to say${err:+: $err}"
[ "$sent" -gt 0 ] && [ "$(m 'herald_messages_sent_total{list="xen-users",relay="smtp"}')" = "$sent" ]
ok $? "messages sent on xen-users through smtp: $sent, as the deliveries say"
[ "$(m 'herald_messages_failed_total{list="xen-users",relay="smtp"}')" = 0 ] &&
    [ "$(m 'herald_deliveries_queued{list="xen-users"}')" = 0 ]; ok $? "none failed, none queued"
[ "$(m 'herald_campaigns{state="done"}')" = 1 ]; ok $? "one campaign done"
[ "$(m 'herald_unsubscribes_total{channel="one-click"}')" = 1 ] &&
    [ "$(m 'herald_unsubscribes_total{channel="mail"}')" = 1 ]; ok $? "one unsubscribe by one-click, one by mail"
[ "$(m 'herald_bounces_total{kind="hard"}')" = 1 ]; ok $? "one hard bounce"
[ "$(m 'herald_http_requests_total{route="unsubscribe",status="200"}')" = 1 ]; ok $? "one request to unsubscribe answered 200"
[ "$(m 'herald_http_requests_total{route="metrics",status="200"}')" -ge 2 ]; ok $? "the scrapes count too"
[ "$(m 'herald_oneclick_duration_seconds_count')" = 1 ] &&
    [ "$(m 'herald_oneclick_duration_seconds_bucket{le="+Inf"}')" = 1 ]; ok $? "the one-click latency histogram holds one observation"
[ "$(m 'herald_relay_state{relay="smtp",state="up"}')" = 1 ] &&
    [ "$(m 'herald_relay_state{relay="smtp",state="unknown"}')" = 0 ]; ok $? "the relay is up now"

# who may read it
hc -H 'X-Forwarded-For: 203.0.113.5' "$WEB/metrics"
[ "$code" = 404 ]; ok $? "a client outside metrics_allow (named by the trusted proxy) gets 404 ($code)"
unlike "$body" 'herald_'; ok $? "and no metric"
hc -d x=1 "$WEB/metrics"
[ "$code" = 405 ]; ok $? "POST /metrics: 405 ($code)"
serve_stop
printf 'web {\n  metrics_allow = { "192.0.2.0/24", "2001:db8::/32" }\n}\n' >> "$HERALD_CONFIG"
serve_start
hc "$WEB/metrics"
[ "$code" = 404 ]; ok $? "loopback left out of metrics_allow: 404 ($code)"
serve_stop
sed -i 's|"192.0.2.0/24"|"127.0.0.0/8"|' "$HERALD_CONFIG"
serve_start
hc "$WEB/metrics"
[ "$code" = 200 ]; ok $? "a network that holds the client: 200 ($code)"
serve_stop
sed -i 's|"127.0.0.0/8"|"127.0.0.1/33"|' "$HERALD_CONFIG"
t "a bad metrics_allow entry stops serve (78)" 78 herald serve --listen 127.0.0.1:$(free_port)
like "$err" 'metrics_allow.*127.0.0.1/33'; ok $? "naming the entry"
finish
