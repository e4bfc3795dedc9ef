-- A small non-streaming Messages call (about 120 bytes in, 640 bytes out). See common.lua.
BENCH_BODY = '{"model":"claude-sonnet-4-6","max_tokens":256,"messages":[{"role":"user","content":"Say hello in one sentence."}]}'
package.path = "bench/?.lua;" .. package.path
require("common")
