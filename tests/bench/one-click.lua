-- tests/bench/one-click.lua - wrk script of the one-click POST benchmarks
-- (bench-serve.sh, bench-pg.sh): TOKENS names a file of unsubscribe tokens,
-- one a line, WRK_THREADS the number of wrk threads. What must stay true:
-- no two requests share a token (a token POSTed twice is no new commit).
-- each request a different subscriber's one-click POST; each wrk thread
-- takes every THREADS-th token, so no two requests share one
local tokens = {}
local n, step, i = 0, 1, 0
function setup(thread)
	thread:set("tid", n); n = n + 1
end
function init(args)
	for l in io.lines(os.getenv("TOKENS")) do tokens[#tokens + 1] = l end
	step = tonumber(os.getenv("WRK_THREADS"))
	i = tid + 1
	wrk.method = "POST"
	wrk.body = "List-Unsubscribe=One-Click"
	wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
function request()
	local t = tokens[i]; i = i + step
	return wrk.format(nil, "/unsubscribe/" .. t)
end
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("RESULT requests=%d non2xx=%d sockerr=%d p50=%.2f p99=%.2f\n",
	    summary.requests, e.status, e.connect + e.read + e.write + e.timeout,
	    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
