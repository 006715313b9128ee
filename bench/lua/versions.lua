-- wrk script for bench/rollout.js: counts answers per X-Faass-Version, non-2xx answers, and
-- answers whose body is not their version's code ("code-vN" from version N: a mixed answer);
-- done() prints one line, ROLLOUT {json}, with those counts summed over the threads and the
-- latency percentiles. Each thread has its own Lua state: setup() keeps them, done() reads them.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  versions = {}
  non2xx = 0
  mixed = 0
end

function response(status, headers, body)
  local v = headers["X-Faass-Version"] or headers["x-faass-version"] or "none"
  versions[v] = (versions[v] or 0) + 1
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  elseif body ~= "code-v" .. v then
    mixed = mixed + 1
  end
end

function done(summary, latency, requests)
  local seen, bad, wrong = {}, 0, 0
  for _, t in ipairs(threads) do
    for v, n in pairs(t:get("versions")) do
      seen[v] = (seen[v] or 0) + n
    end
    bad = bad + t:get("non2xx")
    wrong = wrong + t:get("mixed")
  end
  local parts = {}
  for v, n in pairs(seen) do
    table.insert(parts, string.format('"%s": %d', v, n))
  end
  local e = summary.errors
  io.write(string.format(
    'ROLLOUT {"requests": %d, "non2xx": %d, "mixed": %d, "socket_errors": %d, "versions": {%s}, "p50_us": %d, "p99_us": %d, "duration_us": %d}\n',
    summary.requests, bad, wrong, e.connect + e.read + e.write + e.timeout, table.concat(parts, ", "),
    latency:percentile(50), latency:percentile(99), summary.duration))
end
