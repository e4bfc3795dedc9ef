-- Shared by messages.lua and stream.lua. Environment:
--   BENCH_KEY         one API key (x-api-key), or
--   BENCH_KEYS_FILE   a file of keys, one per line: requests take them round robin (many accounts)
--   BENCH_PORTKEY     when set, the Portkey routing headers pointing at this custom host
--   BENCH_IDS         when set, the request-id of every 200 response is written to this file
--   BENCH_PACE_MS     when set, each connection waits this many ms after a response before sending
--                     its next request: a steady moderate rate instead of a closed loop at full
--                     speed (wrk times each request from its send, so the wait is not latency)
-- done() prints one JSON line (prefix "RESULT ") with req/s, latency percentiles and statuses.
local body = BENCH_BODY
local key = os.getenv("BENCH_KEY") or "sk-ant-bench"
local keys_file = os.getenv("BENCH_KEYS_FILE")
local portkey = os.getenv("BENCH_PORTKEY")
local ids_file = os.getenv("BENCH_IDS")
local pace_ms = tonumber(os.getenv("BENCH_PACE_MS") or "")
if pace_ms then
  function delay() return pace_ms end
end

local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local function headers(k)
  local h = {
    ["x-api-key"] = k,
    ["anthropic-version"] = "2023-06-01",
    ["content-type"] = "application/json",
  }
  if portkey then
    h["x-portkey-provider"] = "anthropic"
    h["x-portkey-custom-host"] = portkey
  end
  return h
end

local keys, nkeys, i, fixed = nil, 0, 0, nil
statuses = {}
ids = {}
nids = 0

function init(args)
  if keys_file then
    keys = {}
    for line in io.lines(keys_file) do
      if #line > 0 then table.insert(keys, line) end
    end
    nkeys = #keys
    i = (id * 7919) % nkeys  -- threads start at different keys
  else
    fixed = wrk.format("POST", "/v1/messages", headers(key), body)
  end
end

function request()
  if fixed then return fixed end
  i = i % nkeys + 1
  return wrk.format("POST", "/v1/messages", headers(keys[i]), body)
end

function response(status, hdrs, resp_body)
  statuses[status] = (statuses[status] or 0) + 1
  if ids_file and status == 200 then
    nids = nids + 1
    ids[nids] = hdrs["request-id"] or hdrs["Request-Id"] or ""
  end
end

function done(summary, latency, requests)
  local total = {}
  local out = ids_file and io.open(ids_file, "w") or nil
  for _, t in ipairs(threads) do
    for s, n in pairs(t:get("statuses")) do total[s] = (total[s] or 0) + n end
    if out then
      local tids = t:get("ids")
      for _, v in ipairs(tids) do out:write(v, "\n") end
    end
  end
  if out then out:close() end
  local st = {}
  for s, n in pairs(total) do table.insert(st, string.format('"%d":%d', s, n)) end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"duration_s":%.3f,"rps":%.1f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"mean_us":%.1f,"statuses":{%s},"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    table.concat(st, ","), e.connect, e.read, e.write, e.status, e.timeout))
end
