-- A streaming Messages call (SSE: 19 events, about 3 KB). See common.lua.
BENCH_BODY = '{"model":"claude-sonnet-4-6","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"Say hello in one sentence."}]}'
package.path = "bench/?.lua;" .. package.path
require("common")
