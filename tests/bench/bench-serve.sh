#!/bin/sh
# bench-serve.sh - herald serve under load (wrk, from Debian), on a
# database of SUBS (1,000,000) subscribers: C (200) concurrent
# connections of RFC 8058 one-click POSTs, each for a different
# subscriber, for DUR (10) seconds: requests per second, p50/p99 latency,
# errors (non-2xx and socket errors: target 0), and every 200 committed
# (the unsubscribed count in the SQLite file equals the 200s wrk saw).
# Then the GET unsubscribe page rate beside nginx serving a static file of
# the same size on the same machine in the same run (when nginx is
# installed), ROUNDS (3) times alternated. Targets on a 2-core machine:
# p99 under 50 ms, 0 errors, 0 lost; GET pages at least 0.5 of nginx's
# rate (the median of the rounds). Goodbye notices are off
# (no SMTP is timed); the rate limits are raised out of the way.
# Last, tracked-link redirects (GET /l/TOKEN, issue 25): LINKS (100)
# links of one campaign, each request a link in turn with a browser's
# user agent, for DUR seconds at C connections: requests per second,
# p50/p99, errors, and every 302 counted (the sum of track_counts equals
# the 302s wrk saw: each is committed before it is answered). Targets:
# at least 20,000 a second, p99 under 50 ms. REDIRECTS_ONLY=1 runs only
# this part.
# Beside the rates (which a shared machine's load moves), the server's
# own CPU time per request (user + system, from /proc), which moves less,
# and how many one-click POSTs each durable commit carried. herald and
# nginx are loaded by the same wrk command line; the load average is
# printed before and after the POST run and each GET round.
set -eu
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$TOP/tests/bench/lib.sh"
SUBS=${SUBS:-1000000}
C=${C:-200}
DUR=${DUR:-10}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
LINKS=${LINKS:-100}
REDIRECTS_ONLY=${REDIRECTS_ONLY:-0}
echo "bench-serve.sh: STORE=$STORE SUBS=$SUBS C=$C DUR=$DUR THREADS=$THREADS ROUNDS=$ROUNDS LINKS=$LINKS HERALD=$HERALD"
command -v wrk >/dev/null || { echo "bench-serve: wrk is not installed (apt-get install wrk)"; exit 0; }
D=$(mktemp -d "${TMPDIR:-/tmp}/bench-serve.XXXXXX")
SERVEPID= NGINXPID=
cleanup() {
	[ -z "$SERVEPID" ] || { kill -TERM "$SERVEPID"; wait "$SERVEPID" || true; }
	[ -z "$NGINXPID" ] || { kill -QUIT "$NGINXPID" 2>/dev/null || true; }
	bench_stop
	rm -rf "$D"
}
trap cleanup EXIT
# cpu - the server's user + system CPU time so far, in clock ticks
cpu() { awk '{ print $14 + $15 }' "/proc/$SERVEPID/stat"; }
TICK=$(getconf CLK_TCK)
bench_instance "$D"
cat >> "$D/etc/herald.conf" <<EOC
web {
	base_url = "https://lists.example.org"
	threads = $THREADS
	max_connections = 1024
	per_ip_connections = 1024
	ip_rate = 100000000
	token_rate = 1000
}
EOC
bench_members "$D" "$SUBS"
# a token for every subscriber: more than the run can use
N=$SUBS
"$BUILD/tools/herald-token" "$D/data/secret" u xen-users "1..$N" > "$D/tokens"
PORT=$(bench_port)
"$HERALD" serve --listen "127.0.0.1:$PORT" 2>"$D/serve.log" &
SERVEPID=$!
i=0; while [ $i -lt 100 ] && ! curl -sf -o /dev/null "http://127.0.0.1:$PORT/health"; do sleep 0.1; i=$((i + 1)); done
if [ "$REDIRECTS_ONLY" != 1 ]; then
C0=$(cpu)
echo "one-click POSTs: wrk -t$THREADS -c$C -d${DUR}s --latency -s tests/bench/one-click.lua (herald serve, $THREADS threads)"
bench_load "before"
TOKENS=$D/tokens WRK_THREADS=$THREADS wrk -t"$THREADS" -c"$C" -d"${DUR}s" --latency \
    -s "$TOP/tests/bench/one-click.lua" "http://127.0.0.1:$PORT" > "$D/wrk.out"
bench_load "after"
grep -E 'Requests/sec|Latency  |99%' "$D/wrk.out" | sed 's/^/  /'
R=$(sed -n 's/^RESULT //p' "$D/wrk.out")
echo "  $R"
eval "$(printf '%s' "$R" | tr ' ' '\n' | sed 's/^/W_/')"
OKS=$((W_requests - W_non2xx))
sleep 1	# the requests still in flight when wrk stopped finish first
C1=$(cpu)
echo "  server CPU: $(echo "scale=1; ($C1 - $C0) * 1000000 / $TICK / $W_requests" | bc) us per POST (user + system, $(((C1 - C0) * 1000 / TICK)) ms in all)"
awk '/POST \/unsubscribe\/- 200 / { n++; if (match($0, /one commit for [0-9]+/)) { g += 1 / substr($0, RSTART + 15, RLENGTH - 15) } else g += 1 }
    END { if (g > 0) printf "  durable commits: %d for %d one-click 200s (%.1f a commit)\n", g + 0.5, n, n / g }' "$D/serve.log"
U=$(bench_sql "$D" "SELECT count(*) FROM memberships WHERE status = 'unsubscribed'")
E=$(bench_sql "$D" "SELECT count(*) FROM events WHERE action = 'unsubscribe' AND channel = 'web'")
echo "  committed: $U unsubscribed, $E events, for $OKS answered 200 (lost: $((OKS > U ? OKS - U : 0)))"
echo "  503 busy answers: $(grep -c 'POST /unsubscribe/- 503 ' "$D/serve.log" || true)"

# the GET page against nginx serving a static file of the same size,
# ROUNDS times alternated, both loaded by the same wrk command line
T1=$(head -1 "$D/tokens")
curl -s -o "$D/page.html" "http://127.0.0.1:$PORT/unsubscribe/$T1"
hurl="http://127.0.0.1:$PORT/unsubscribe/$T1"
echo "GET /unsubscribe/TOKEN page ($(wc -c < "$D/page.html") bytes), $ROUNDS rounds"
echo "  herald serve: wrk -t$THREADS -c$C -d${DUR}s --latency $hurl"
if command -v nginx >/dev/null; then
	NP=$(bench_port)
	mkdir -p "$D/nginx/html" "$D/nginx/logs"
	cp "$D/page.html" "$D/nginx/html/page.html"
	cat > "$D/nginx/nginx.conf" <<EON
worker_processes $THREADS;
pid $D/nginx/nginx.pid;
error_log $D/nginx/logs/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	server {
		listen 127.0.0.1:$NP;
		root $D/nginx/html;
	}
}
EON
	nginx -p "$D/nginx" -c "$D/nginx/nginx.conf"
	i=0; while [ $i -lt 50 ] && ! [ -s "$D/nginx/nginx.pid" ]; do sleep 0.1; i=$((i + 1)); done
	NGINXPID=$(cat "$D/nginx/nginx.pid")
	nurl="http://127.0.0.1:$NP/page.html"
	echo "  nginx ($THREADS workers, the same bytes as a static file): wrk -t$THREADS -c$C -d${DUR}s --latency $nurl"
else
	echo "  nginx is not installed: no comparison (apt-get install nginx-light)"
fi
ratios=
r=1
while [ "$r" -le "$ROUNDS" ]; do
	echo "  round $r:"
	bench_load "before round $r"
	C0=$(cpu)
	wrk -t"$THREADS" -c"$C" -d"${DUR}s" --latency "$hurl" > "$D/get.out"
	C1=$(cpu)
	HR=$(sed -n 's/^Requests\/sec: *//p' "$D/get.out")
	grep -E 'Requests/sec|Latency  | 99%|Non-2xx|Socket' "$D/get.out" | sed 's/^/    herald serve: /'
	GN=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$D/get.out")
	echo "    herald serve: server CPU $(echo "scale=1; ($C1 - $C0) * 1000000 / $TICK / $GN" | bc) us per GET"
	if [ -n "$NGINXPID" ]; then
		wrk -t"$THREADS" -c"$C" -d"${DUR}s" --latency "$nurl" > "$D/nginx.out"
		NR=$(sed -n 's/^Requests\/sec: *//p' "$D/nginx.out")
		grep -E 'Requests/sec|Latency  | 99%' "$D/nginx.out" | sed 's/^/    nginx:        /'
		ratio=$(echo "scale=3; $HR / $NR" | bc)
		ratios="$ratios $ratio"
		printf '    herald serve / nginx = %.2f\n' "$ratio"
	fi
	bench_load "after round $r"
	r=$((r + 1))
done
# shellcheck disable=SC2086
[ -z "$ratios" ] || printf '== GET page, herald serve / nginx: median %.2f of%s (target at least 0.5)\n' "$(bench_median $ratios)" "$ratios"
fi

# tracked-link redirects: LINKS links of campaign 1, a click token each
bench_sql "$D" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $LINKS)
    INSERT INTO links(id, campaign_id, segment, url) SELECT i, 1, 'users', 'https://events.example.org/page/' || i FROM n"
"$BUILD/tools/herald-token" "$D/data/secret" l xen-users "1..$LINKS" > "$D/links"
cat > "$D/click.lua" <<'EOL'
-- each request the next link's token, with a browser's user agent
local tokens = {}
local i = 0
function init(args)
	for l in io.lines(os.getenv("LINKS_FILE")) do tokens[#tokens + 1] = l end
	wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0"
end
function request()
	i = i % #tokens + 1
	return wrk.format("GET", "/l/" .. tokens[i])
end
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("RESULT requests=%d non2xx3xx=%d sockerr=%d p50=%.2f p99=%.2f\n",
	    summary.requests, e.status, e.connect + e.read + e.write + e.timeout,
	    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
EOL
K0=$(bench_sql "$D" "SELECT coalesce(sum(n), 0) FROM track_counts")
C0=$(cpu)
echo "redirects: wrk -t$THREADS -c$C -d${DUR}s --latency -s click.lua (GET /l/TOKEN, $LINKS links)"
bench_load "before"
LINKS_FILE=$D/links wrk -t"$THREADS" -c"$C" -d"${DUR}s" --latency \
    -s "$D/click.lua" "http://127.0.0.1:$PORT" > "$D/click.out"
bench_load "after"
grep -E 'Requests/sec|Latency  |99%' "$D/click.out" | sed 's/^/  /'
R=$(sed -n 's/^RESULT //p' "$D/click.out")
echo "  $R"
eval "$(printf '%s' "$R" | tr ' ' '\n' | sed 's/^/W_/')"
sleep 1	# the requests still in flight when wrk stopped finish first
C1=$(cpu)
echo "  server CPU: $(echo "scale=1; ($C1 - $C0) * 1000000 / $TICK / $W_requests" | bc) us per redirect"
K=$(( $(bench_sql "$D" "SELECT coalesce(sum(n), 0) FROM track_counts") - K0 ))
OKS=$((W_requests - W_non2xx3xx))
echo "  counted: $K clicks for $OKS answered 302 (lost: $((OKS > K ? OKS - K : 0)); more than answered: the group in flight when wrk stopped)"
