-- GET /v1/me/usage (self-service: 50 newest records and the totals) with BENCH_KEY.
local key = os.getenv("BENCH_KEY")
local path = os.getenv("BENCH_PATH") or "/v1/me/usage"
statuses = {}
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) req = wrk.format("GET", path, {["x-api-key"] = key}) end
function request() return req end
function response(status, h, b) statuses[status] = (statuses[status] or 0) + 1 end
function done(summary, latency, requests)
  local st = {}
  local total = {}
  for _, t in ipairs(threads) do for s, n in pairs(t:get("statuses")) do total[s] = (total[s] or 0) + n end end
  for s, n in pairs(total) do table.insert(st, string.format('"%d":%d', s, n)) end
  io.write(string.format('RESULT {"requests":%d,"duration_s":%.3f,"rps":%.1f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,"statuses":{%s}}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean, table.concat(st, ",")))
end
