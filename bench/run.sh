#!/usr/bin/env bash
# Tollgate benchmark: overhead, throughput and scale against direct-to-fake and the Portkey gateway.
# One command, loopback only, bounded in time (BENCH_MAX_SECONDS, default 40 min), stops by itself.
#
#   bench/run.sh                      # everything; results in bench/results/<UTC time>/
#   BENCH_SCALE_ROWS=1000000 bench/run.sh   # smaller data-scale phase
#
# Needs: JDK 21+ (JAVA_HOME), PostgreSQL on 127.0.0.1:5432 (user postgres, trust), wrk, node/npm,
# python3, taskset. Uses its own database (BENCH_DB, default tollgate_bench), dropped and recreated.
# CPU layout on 2 cores: the gateway under test (Tollgate or Portkey) on CPU 0; wrk, the fake upstream
# and the first-byte client on CPU 1; PostgreSQL (a shared system service) is not pinned (BENCH_PG_CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. bench/lib.sh

DB=${BENCH_DB:-tollgate_bench}
refuse_db "$DB"
PG="psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qAt"
FAKE_PORT=${BENCH_FAKE_PORT:-9101}
PORTKEY_PORT=${BENCH_PORTKEY_PORT:-9102}
TG_PORT=${BENCH_TOLLGATE_PORT:-9103}
ADMIN_PORT=$TG_PORT   # the Tollgate that admin (bench/lib.sh) talks to
GW_CPU=${BENCH_GW_CPU:-0}
LOAD_CPU=${BENCH_LOAD_CPU:-1}
# PostgreSQL's CPUs during the run, e.g. the load CPU, so that the gateway has its core to itself as
# with a database on another host (restored when the run ends). Default: not pinned (it floats over
# both cores); pinning it to CPU 1 measured no better at 1 and 4 connections (docs/benchmarks.md).
PG_CPU=${BENCH_PG_CPU:-}
DUR=${BENCH_DURATION:-12}          # seconds per measured run
SHORT=${BENCH_SHORT_DURATION:-8}   # seconds per latency / streaming run
# The 1- and 4-connection latency cases run this many times, direct, Portkey and Tollgate in turn
# each time; the report takes the median of each trial's paired difference to direct, so that one
# stall of the VM (this host has shown 100-800 ms ones, on the fake alone too) cannot decide a p99.
TRIALS=${BENCH_TRIALS:-5}
# The paced case (in the same trials): 4 connections, each waiting this long after every response,
# a steady moderate rate rather than a closed loop (wrk's delay(), see bench/common.lua).
PACED_MS=${BENCH_PACED_MS:-4}
WARMUP=${BENCH_WARMUP:-30}        # seconds per warm-up run (a JIT on one core needs about a minute)
SAT_CONNS=${BENCH_SAT_CONNECTIONS:-64}
MANY_ACCOUNTS=${BENCH_MANY_ACCOUNTS:-200}
KEYS_PER_ACCOUNT=${BENCH_KEYS_PER_ACCOUNT:-5}
SCALE_ROWS=${BENCH_SCALE_ROWS:-10000000}
SCALE_KEYS=${BENCH_SCALE_KEYS:-100000}
SCALE_BUDGET=${BENCH_SCALE_BUDGET_SECONDS:-900}
MAX_SECONDS=${BENCH_MAX_SECONDS:-2400}
# BENCH_UPSTREAMS=N: route every Tollgate call through a pool of N stored upstreams (all on the fake)
# instead of the configured default alone.
UPSTREAMS=${BENCH_UPSTREAMS:-0}
# Variants: default, poolN, cpu01, sync-off, no-counters, no-reserves, settle-first, per-call (both),
# no-linger (settlements written at once), two-loops (Vert.x's default of two event loops per core).
VARIANTS=${BENCH_VARIANTS-default no-reserves settle-first per-call no-linger two-loops}   # empty: skip the variants phase
# BENCH_CORE_ONLY=1: only latency, the hot account (with its ledger check) and the profile; no streaming,
# many-accounts, data-scale or variants phases (a few minutes, for iterating on a change).
OUT=${BENCH_OUT:-bench/results/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: > "$RESULTS"
PIDS=()

cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  [ -n "$PG_CPU" ] && pin_postgres "0-$(($(nproc --all) - 1))"
  stop_watchdog
}
trap cleanup EXIT
start_watchdog "$MAX_SECONDS"
STEAL0=$(cpu_steal)

# ---- machine ---------------------------------------------------------------------------------
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(uname -srm)"
  grep -m1 'model name' /proc/cpuinfo; echo "cpus: $(nproc)"
  grep MemTotal /proc/meminfo
  echo "java: $($JAVA -version 2>&1 | head -1)"
  echo "node: $(node --version)"; echo "wrk: $(wrk -v 2>&1 | head -1)"
  echo "postgres: $($PG -d postgres -c 'show server_version')"
  echo "git: $(git rev-parse HEAD)"
  echo "loadavg at start: $(cat /proc/loadavg)"
  echo "host speed at start: $(host_speed "$GW_CPU")"
  echo "cpus: gateway $GW_CPU, load $LOAD_CPU, postgres ${PG_CPU:-not pinned}"
  echo "latency trials: $TRIALS; the paced case: 4 connections, each waiting $PACED_MS ms after every response"
} > "$OUT/machine.txt"
cat "$OUT/machine.txt" >&2

# ---- helpers ---------------------------------------------------------------------------------
total_ticks() { awk '/^cpu /{print $2+$3+$4+$6+$7+$8}' /proc/stat; }   # whole machine, busy only
reset_hwm() { echo 5 > "/proc/$1/clear_refs" 2>/dev/null || true; }
hwm_kb() { awk '/VmHWM/{print $2}' "/proc/$1/status"; }

# run CASE TARGET GWPID TOOL...: runs one load on CPU $LOAD_CPU, records throughput, latency,
# CPU per request (gateway, fake, PostgreSQL backends of $DB) and peak RSS of the gateway.
run() {
  local case=$1 target=$2 gw=$3; shift 3
  local g0 f0 p0 m0 g1 f1 p1 m1 out
  [ "$gw" != 0 ] && reset_hwm "$gw"
  g0=$([ "$gw" != 0 ] && cpu_ticks "$gw" || echo 0); f0=$(cpu_ticks "$FAKE_PID"); p0=$(pg_ticks "$DB"); m0=$(total_ticks)
  out=$(taskset -c "$LOAD_CPU" "$@" 2>&1) || { log "load failed: $out"; return 1; }
  g1=$([ "$gw" != 0 ] && cpu_ticks "$gw" || echo 0); f1=$(cpu_ticks "$FAKE_PID"); p1=$(pg_ticks "$DB"); m1=$(total_ticks)
  local line; line=$(grep '^RESULT ' <<<"$out" | sed 's/^RESULT //')
  [ -z "$line" ] && { log "no result: $out"; return 1; }
  python3 - "$case" "$target" "$line" $((g1 - g0)) $((f1 - f0)) $((p1 - p0)) $((m1 - m0)) \
      "$([ "$gw" != 0 ] && hwm_kb "$gw" || echo 0)" "$(cut -d' ' -f1 /proc/loadavg)" >> "$RESULTS" <<'EOF'
import json, os, sys
case, target, line, gw, fake, pg, machine, hwm, load = sys.argv[1:]
r = json.loads(line)
if os.environ.get("BENCH_TRIAL"):
    r["trial"] = int(os.environ["BENCH_TRIAL"])
n = r.get("requests", r.get("calls", 0)) or 1
r.update(case=case, target=target,
         gw_cpu_us_per_req=round(int(gw) * 10000 / n, 1), fake_cpu_us_per_req=round(int(fake) * 10000 / n, 1),
         pg_cpu_us_per_req=round(int(pg) * 10000 / n, 1), machine_cpu_us_per_req=round(int(machine) * 10000 / n, 1),
         gw_peak_rss_mb=round(int(hwm) / 1024, 1), loadavg1=float(load))
print(json.dumps(r))
EOF
  log "$case $target: $(tail -1 "$RESULTS" | python3 -c 'import sys,json; r=json.load(sys.stdin); print({k: r[k] for k in r if k in ("rps","p50_us","p99_us","ttfb_p50_us","from_fake_p50_us","statuses","gw_cpu_us_per_req")})')"
}
wrk_cmd() { echo wrk -t1 -c"$1" -d"$2"s --timeout 10s -s "$3" "$4"; }

# ---- build, database, processes -----------------------------------------------------------------
ensure_wrk
build_jar
[ -d bench/node_modules/@portkey-ai/gateway ] || { log "installing Portkey"; (cd bench && npm install --no-audit --no-fund > "$ROOT/$OUT/npm.log" 2>&1) || log "Portkey install failed (see npm.log)"; }

ports_free "$FAKE_PORT" "$PORTKEY_PORT" "$TG_PORT"
log "database $DB"
if [ -n "$PG_CPU" ]; then log "PostgreSQL pinned to CPU $PG_CPU for the run"; pin_postgres "$PG_CPU"; fi
fresh_db "$DB"

start_fake "$FAKE_PORT"; PIDS+=("$FAKE_PID")

# start_tollgate CPUS LOG [VAR=value ...]: the packaged jar in production mode; sets TG_PID, TG_READY_MS.
start_tollgate() {
  local cpus=$1 logf=$2; shift 2
  log "starting Tollgate (production mode, CPUs $cpus${*:+, $*})"
  local t0; t0=$(date +%s%N)
  local envs; mapfile -t envs < <(tollgate_env "$TG_PORT" "$DB")
  env "${envs[@]}" "$@" taskset -c "$cpus" "$JAVA" ${BENCH_JVM_OPTS:-} -jar target/quarkus-app/quarkus-run.jar > "$OUT/$logf" 2>&1 &
  TG_PID=$!; PIDS+=("$TG_PID")
  wait_tollgate "$TG_PORT" 120
  TG_READY_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
  log "Tollgate ready after ${TG_READY_MS} ms ($(grep -o 'started in [0-9.]*s' "$OUT/$logf" || true))"
}
start_tollgate "$GW_CPU" tollgate.log

PK_PID=0
if [ -f bench/node_modules/@portkey-ai/gateway/build/start-server.js ]; then
  T0=$(date +%s%N)
  (cd bench && exec taskset -c "$GW_CPU" node --import ./loopback.mjs node_modules/@portkey-ai/gateway/build/start-server.js \
      --port="$PORTKEY_PORT" --headless > "$ROOT/$OUT/portkey.log" 2>&1) &
  PK_PID=$!; PIDS+=("$PK_PID")
  until curl -s -o /dev/null "http://127.0.0.1:$PORTKEY_PORT/"; do sleep 0.05; done
  PK_READY_MS=$(( ($(date +%s%N) - T0) / 1000000 ))
  log "Portkey ready after ${PK_READY_MS} ms (pid $PK_PID)"
else
  PK_READY_MS=-1; log "Portkey not available: skipping the peer"
fi
echo "{\"tollgate_ready_ms\":$TG_READY_MS,\"portkey_ready_ms\":$PK_READY_MS,\"tollgate_log\":\"$(grep -o 'started in [0-9.]*s' "$OUT/tollgate.log" || true)\"}" > "$OUT/startup.json"

# ---- accounts and keys (admin API) -----------------------------------------------------------
[ "$UPSTREAMS" -gt 0 ] && register_pool "$UPSTREAMS"
log "creating the hot account and $MANY_ACCOUNTS x $KEYS_PER_ACCOUNT accounts/keys"
read -r HOT HOT_KEY <<< "$(funded_key hot 1000000)"
read -r _ WARM_KEY <<< "$(funded_key warm-up 1000000)"
: > "$OUT/many-keys.txt"
for a in $(seq 1 "$MANY_ACCOUNTS"); do
  A=$(funded_account "many-$a" 10000)
  for k in $(seq 1 "$KEYS_PER_ACCOUNT"); do
    admin POST "/admin/v1/accounts/$A/keys" "{\"name\":\"k$k\"}" | jget key >> "$OUT/many-keys.txt"
  done
done

PK_HOST="http://127.0.0.1:$FAKE_PORT/v1"
D="http://127.0.0.1:$FAKE_PORT"; T="http://127.0.0.1:$TG_PORT"; P="http://127.0.0.1:$PORTKEY_PORT"
three() {  # case conns seconds script: direct, Portkey, Tollgate (hot key) under the same load
  local case=$1 c=$2 s=$3 script=$4
  run "$case" direct 0 $(wrk_cmd "$c" "$s" "$script" "$D")
  if [ "$PK_PID" != 0 ]; then BENCH_PORTKEY=$PK_HOST run "$case" portkey "$PK_PID" $(wrk_cmd "$c" "$s" "$script" "$P"); fi
  BENCH_KEY=$HOT_KEY run "$case" tollgate "$TG_PID" $(wrk_cmd "$c" "$s" "$script" "$T")
}
export BENCH_KEY

# ---- warm-up (JIT) ---------------------------------------------------------------------------
log "warm-up"
for s in messages stream; do
  taskset -c "$LOAD_CPU" wrk -t1 -c16 -d"$WARMUP"s -s bench/$s.lua "$D" > /dev/null
  BENCH_KEY=$WARM_KEY taskset -c "$LOAD_CPU" wrk -t1 -c16 -d"$WARMUP"s -s bench/$s.lua "$T" > /dev/null
  if [ "$PK_PID" != 0 ]; then BENCH_PORTKEY=$PK_HOST taskset -c "$LOAD_CPU" wrk -t1 -c16 -d"$WARMUP"s -s bench/$s.lua "$P" > /dev/null; fi
done
BENCH_KEYS_FILE=$OUT/many-keys.txt taskset -c "$LOAD_CPU" wrk -t1 -c16 -d3s -s bench/messages.lua "$T" > /dev/null

# ---- cases -----------------------------------------------------------------------------------
log "case: non-streaming latency at 1 and 4 connections and paced, $TRIALS interleaved trials"
for trial in $(seq 1 "$TRIALS"); do
  BENCH_TRIAL=$trial three json-c1 1 "$SHORT" bench/messages.lua
  BENCH_TRIAL=$trial three json-c4 4 "$SHORT" bench/messages.lua
  BENCH_TRIAL=$trial BENCH_PACE_MS=$PACED_MS three json-paced 4 "$SHORT" bench/messages.lua
done

log "case: saturated, non-streaming, one hot account ($SAT_CONNS connections)"
HOT_BEFORE=$($PG -d "$DB" -c "select count(*) from usage_records where account_id='$HOT'")
run json-sat direct 0 $(wrk_cmd "$SAT_CONNS" "$DUR" bench/messages.lua "$D")
if [ "$PK_PID" != 0 ]; then BENCH_PORTKEY=$PK_HOST run json-sat portkey "$PK_PID" $(wrk_cmd "$SAT_CONNS" "$DUR" bench/messages.lua "$P"); fi
FAKE_BEFORE=$(curl -s "$D/stats" | tr -dc 0-9)
BENCH_KEY=$HOT_KEY BENCH_IDS=$ROOT/$OUT/hot-ids.txt run json-sat tollgate "$TG_PID" $(wrk_cmd "$SAT_CONNS" "$DUR" bench/messages.lua "$T")
sleep 2   # calls cut off when wrk stopped still settle
FAKE_AFTER=$(curl -s "$D/stats" | tr -dc 0-9)

log "verifying the hot account's ledger"
admin GET "/admin/v1/accounts/$HOT/reconciliation" > "$OUT/hot-reconciliation.json"
$PG -d "$DB" > "$OUT/hot-verify.txt" <<EOF
CREATE TEMP TABLE got (request_id text);
\copy got FROM '$ROOT/$OUT/hot-ids.txt'
SELECT 'responses_200', count(*) FROM got;
SELECT 'distinct_request_ids_200', count(DISTINCT request_id) FROM got;
SELECT 'records_in_run', count(*) - $HOT_BEFORE FROM usage_records WHERE account_id = '$HOT';
SELECT 'records_ok_in_run', count(*) FILTER (WHERE status = 'ok') - $HOT_BEFORE FROM usage_records WHERE account_id = '$HOT';
SELECT 'responses_without_record', count(*) FROM got g LEFT JOIN usage_records u USING (request_id) WHERE u.id IS NULL;
SELECT 'records_with_two_settlements', count(*) FROM (SELECT request_id FROM ledger_entries WHERE account_id = '$HOT' AND kind = 'settlement' GROUP BY request_id HAVING count(*) > 1) x;
SELECT 'settlement_entries_minus_records', (SELECT count(*) FROM ledger_entries WHERE account_id = '$HOT' AND kind = 'settlement') - (SELECT count(*) FROM usage_records WHERE account_id = '$HOT' AND cost > 0);
SELECT 'pending_holds', count(*) FROM holds WHERE account_id = '$HOT' AND state = 'pending';
SELECT 'upstream_calls_in_run', $FAKE_AFTER - $FAKE_BEFORE;
SELECT 'distinct_costs', string_agg(DISTINCT cost::text, ',') FROM usage_records WHERE account_id = '$HOT';
EOF
cat "$OUT/hot-reconciliation.json" "$OUT/hot-verify.txt" >&2

if [ -z "${BENCH_CORE_ONLY:-}" ]; then
log "case: streaming, saturated ($SAT_CONNS connections)"
three stream-sat "$SAT_CONNS" "$SHORT" bench/stream.lua

log "case: streaming first byte (2 connections)"
run ttfb direct 0 "$JAVA" bench/Ttfb.java "$FAKE_PORT" 2 "$SHORT" sk-ant-bench
if [ "$PK_PID" != 0 ]; then run ttfb portkey "$PK_PID" "$JAVA" bench/Ttfb.java "$PORTKEY_PORT" 2 "$SHORT" sk-ant-bench "$PK_HOST"; fi
run ttfb tollgate "$TG_PID" "$JAVA" bench/Ttfb.java "$TG_PORT" 2 "$SHORT" "$HOT_KEY"

log "case: many accounts and keys ($(wc -l < "$OUT/many-keys.txt") keys, round robin)"
run json-many direct 0 $(wrk_cmd "$SAT_CONNS" "$DUR" bench/messages.lua "$D")
BENCH_KEYS_FILE=$ROOT/$OUT/many-keys.txt run json-many tollgate "$TG_PID" $(wrk_cmd "$SAT_CONNS" "$DUR" bench/messages.lua "$T")
BENCH_KEYS_FILE=$ROOT/$OUT/many-keys.txt run json-many-c4 tollgate "$TG_PID" $(wrk_cmd 4 "$SHORT" bench/messages.lua "$T")
fi

# ---- profile (not measured): JFR during a saturated hot-account run ------------------------------
if [ -z "${BENCH_NO_PROFILE:-}" ]; then
  log "profiling Tollgate with JFR (separate, unmeasured run)"
  "$JAVA_HOME/bin/jcmd" "$TG_PID" JFR.start name=bench settings=profile filename="$ROOT/$OUT/tollgate-sat.jfr" > /dev/null
  BENCH_KEY=$HOT_KEY taskset -c "$LOAD_CPU" wrk -t1 -c"$SAT_CONNS" -d10s -s bench/messages.lua "$T" > /dev/null
  "$JAVA_HOME/bin/jcmd" "$TG_PID" JFR.stop name=bench > /dev/null
  "$JAVA_HOME/bin/jfr" print --events jdk.ExecutionSample "$OUT/tollgate-sat.jfr" 2>/dev/null \
    | awk '/stackTrace = \[/{getline; sub(/^[ \t]+/, ""); sub(/line:.*/, ""); top[$0]++} END {for (f in top) print top[f], f}' \
    | sort -rn | head -25 > "$OUT/jfr-top-frames.txt" || true
  for v in hot-methods gc-pauses contention-by-site; do
    "$JAVA_HOME/bin/jfr" view --width 200 "$v" "$OUT/tollgate-sat.jfr" > "$OUT/jfr-$v.txt" 2>&1 || true
  done
  "$JAVA_HOME/bin/jfr" summary "$OUT/tollgate-sat.jfr" > "$OUT/jfr-summary.txt" 2>/dev/null || true
fi

if [ -n "${BENCH_CORE_ONLY:-}" ]; then   # quick iteration: latency, hot account, ledger check, profile
  echo "{\"tollgate_peak_rss_mb_total\":$(awk '/VmHWM/{print $2/1024}' /proc/$TG_PID/status)}" > "$OUT/end.json"
  python3 bench/report.py "$OUT" | tee "$OUT/summary.md"
  log "done (core cases only): $OUT"
  exit 0
fi

# ---- data scale ------------------------------------------------------------------------------
log "case: data scale (usage queries before)"
BENCH_KEY=$HOT_KEY run usage-small tollgate "$TG_PID" $(wrk_cmd 4 "$SHORT" bench/usage.lua "$T")

log "generating $SCALE_KEYS keys and up to $SCALE_ROWS usage records (budget ${SCALE_BUDGET}s)"
ACCTS=$((SCALE_KEYS / 10))
S0=$SECONDS
$PG -d "$DB" <<EOF
CREATE EXTENSION IF NOT EXISTS pgcrypto;
INSERT INTO accounts (id, name, balance) SELECT md5('acct' || g)::uuid, 'gen ' || g, 100000000000 FROM generate_series(1, $ACCTS) g;
INSERT INTO ledger_entries (account_id, kind, balance_delta, held_delta, note)
SELECT md5('acct' || g)::uuid, 'topup', 100000000000, 0, 'generated' FROM generate_series(1, $ACCTS) g;
INSERT INTO api_keys (id, account_id, name, key_hash, prefix)
SELECT md5('key' || g)::uuid, md5('acct' || (1 + (g - 1) / 10))::uuid, 'gen',
       hmac('sk-tg-gen' || lpad(g::text, 37, '0'), '$PEPPER', 'sha256'), 'sk-tg-gen000'
FROM generate_series(1, $SCALE_KEYS) g;
EOF
KEYGEN_S=$((SECONDS - S0))
# The generated secrets, so that the key-lookup run below misses the in-memory cache on every call.
seq 1 "$SCALE_KEYS" | awk '{printf "sk-tg-gen%037d\n", $1}' > "$OUT/gen-keys.txt"
# Usage records, in 1M-row batches: the first 10% on one "whale" account (gen 1), the rest spread over
# the other accounts and their keys; created_at spread over the last 30 days in id order.
BATCH=1000000; DONE_ROWS=0
while [ $DONE_ROWS -lt "$SCALE_ROWS" ] && [ $((SECONDS - S0)) -lt "$SCALE_BUDGET" ]; do
  N=$(( SCALE_ROWS - DONE_ROWS < BATCH ? SCALE_ROWS - DONE_ROWS : BATCH ))
  $PG -d "$DB" <<EOF
SET synchronous_commit = off;
INSERT INTO usage_records (request_id, account_id, key_id, model, input_tokens, output_tokens, cost, status,
                           http_status, stream, endpoint, latency_ms, created_at)
SELECT 'req_gen' || g, md5('acct' || a)::uuid, md5('key' || ((a - 1) * 10 + 1 + (g / 7) % 10))::uuid,
       'claude-sonnet-4-5-20250929', 42, 87, 1431000, 'ok', 200, g % 3 = 0, '/v1/messages', 900,
       now() - interval '30 days' + (g::float8 / $SCALE_ROWS) * interval '30 days'
FROM (SELECT g, CASE WHEN g <= $SCALE_ROWS / 10 THEN 1 ELSE 2 + g % ($ACCTS - 1) END AS a
      FROM generate_series($DONE_ROWS + 1, $DONE_ROWS + $N) g) s;
EOF
  DONE_ROWS=$((DONE_ROWS + N))
  log "  $DONE_ROWS usage records after $((SECONDS - S0)) s"
done
$PG -d "$DB" -c "VACUUM ANALYZE usage_records" -c "ANALYZE api_keys"
SCALE_S=$((SECONDS - S0))
$PG -d "$DB" -c "select pg_size_pretty(pg_total_relation_size('usage_records')), (select count(*) from usage_records), (select count(*) from api_keys)" > "$OUT/scale-size.txt"
echo "{\"usage_records\":$DONE_ROWS,\"keys\":$SCALE_KEYS,\"key_gen_s\":$KEYGEN_S,\"total_gen_s\":$SCALE_S}" > "$OUT/scale.json"

# totals_explain LABEL ACCOUNT FROM TO: EXPLAIN of MeResource.totals over [FROM, TO): the hourly
# roll-ups for the whole hours, the records for the partial hour at either edge, bounded as it
# bounds them (literal bounds, as the first executions of its prepared statement see them).
totals_explain() {
  local b whole_from whole_to head_end tail_start
  b=$($PG -d "$DB" -F ' ' -c "SELECT wf, wt, least(wf, t), greatest(wt, wf, f) FROM (SELECT f, t,
        CASE WHEN date_trunc('hour', f, 'UTC') = f THEN f ELSE date_trunc('hour', f, 'UTC') + interval '1 hour' END AS wf,
        date_trunc('hour', t, 'UTC') AS wt FROM (SELECT timestamptz '$3' AS f, timestamptz '$4' AS t) x) y" \
      | sed 's/ \([0-9][0-9]:\)/T\1/g')
  read -r whole_from whole_to head_end tail_start <<< "$b"
  echo "\\echo == /v1/me/usage totals, $1"
  echo "EXPLAIN (ANALYZE, BUFFERS) SELECT sum(requests), sum(input_tokens), sum(cost) FROM (
    SELECT requests, input_tokens, cost FROM usage_hourly WHERE account_id = $2 AND hour >= '$whole_from' AND hour < '$whole_to'
    UNION ALL SELECT 1, input_tokens, cost FROM usage_records WHERE account_id = $2 AND created_at >= '$3' AND created_at < '$head_end'
    UNION ALL SELECT 1, input_tokens, cost FROM usage_records WHERE account_id = $2 AND created_at >= '$tail_start' AND created_at < '$4') parts;"
}

# A typical generated account (about 900 records) and the whale (10% of all rows); their keys.
TYP_KEY=$(sed -n 21p "$OUT/gen-keys.txt")       # gen key 21 -> account 3
WHALE_KEY=sk-tg-gen$(printf '%037d' 1)          # account 1
FROM_ALL=$(date -u -d '31 days ago' +%Y-%m-%dT%H:%M:%SZ); DAY_AGO=$(date -u -d '1 day ago' +%Y-%m-%dT%H:%M:%SZ)
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ); FAR=9999-12-31T00:00:00Z
$PG -d "$DB" > "$OUT/explain.txt" <<EOF
\echo == key lookup (ApiKeyService.load)
EXPLAIN (ANALYZE, BUFFERS) SELECT k.id, k.account_id, k.name, k.prefix, k.expires_at, k.allowed_models, k.allowed_cidrs, k.requests_per_minute, k.tokens_per_minute,
       tg_has_limits(k.requests_per_minute, k.tokens_per_minute, k.max_concurrent, k.daily_spend_limit, k.monthly_spend_limit, k.lifetime_spend_limit)
       OR tg_has_limits(a.requests_per_minute, a.tokens_per_minute, a.max_concurrent, a.daily_spend_limit, a.monthly_spend_limit, a.lifetime_spend_limit)
FROM api_keys k JOIN accounts a ON a.id = k.account_id
WHERE k.revoked_at IS NULL AND (k.key_hash = hmac('$TYP_KEY', '$PEPPER', 'sha256') OR (k.previous_key_hash = hmac('$TYP_KEY', '$PEPPER', 'sha256') AND k.previous_expires_at > now()));
\echo == /v1/me/usage page, typical account (MeResource: account, the last 31 days, newest first, limit 50)
EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM usage_records WHERE account_id = md5('acct3')::uuid AND created_at >= '$FROM_ALL' AND created_at < '$FAR' ORDER BY created_at DESC, id DESC LIMIT 50;
$(totals_explain "typical account (the last 31 days)" "md5('acct3')::uuid" "$FROM_ALL" "$FAR")
\echo == /v1/me/usage page, whale account (the last 31 days, newest first)
EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM usage_records WHERE account_id = md5('acct1')::uuid AND created_at >= '$FROM_ALL' AND created_at < '$FAR' ORDER BY created_at DESC, id DESC LIMIT 50;
$(totals_explain "whale account (all time: from= far in the past)" "md5('acct1')::uuid" 1970-01-01T00:00:00Z "$FAR")
$(totals_explain "whale account, the last day (from=, not on an hour)" "md5('acct1')::uuid" "$DAY_AGO" "$FAR")
$(totals_explain "whale account, the last 31 days up to now (to=)" "md5('acct1')::uuid" "$FROM_ALL" "$NOW")
EOF

log "case: data scale (after)"
BENCH_KEY=$HOT_KEY run usage-scaled-hot tollgate "$TG_PID" $(wrk_cmd 4 "$SHORT" bench/usage.lua "$T")
# The generated records span the 30 days before now, so the default range (this month) holds anything
# from none of them (on the 1st) to all; from= 31 days ago (FROM_ALL) reads them all, whatever the date.
BENCH_KEY=$TYP_KEY BENCH_PATH="/v1/me/usage?from=$FROM_ALL" run usage-scaled-typical tollgate "$TG_PID" $(wrk_cmd 4 "$SHORT" bench/usage.lua "$T")
BENCH_KEY=$WHALE_KEY BENCH_PATH="/v1/me/usage?from=$FROM_ALL" run usage-scaled-whale tollgate "$TG_PID" $(wrk_cmd 4 "$SHORT" bench/usage.lua "$T")
BENCH_KEY=$WHALE_KEY BENCH_PATH="/v1/me/usage?from=$DAY_AGO" run usage-scaled-whale-1d tollgate "$TG_PID" $(wrk_cmd 4 "$SHORT" bench/usage.lua "$T")
# Key lookups that miss the in-memory cache: the generated keys in turn (each used about once).
run json-scaled-keys direct 0 $(wrk_cmd 16 "$SHORT" bench/messages.lua "$D")
BENCH_KEYS_FILE=$ROOT/$OUT/gen-keys.txt run json-scaled-keys tollgate "$TG_PID" $(wrk_cmd 16 "$SHORT" bench/messages.lua "$T")
# ---- variants: what limits the hot account (each a fresh Tollgate on the same, scaled database) ---
wal() { $PG -d postgres -c "select wal_sync from pg_stat_wal"; }
if [ -n "$VARIANTS" ]; then
  log "variants: $VARIANTS"
  FSYNC_BIN=$(command -v pg_test_fsync || ls /usr/lib/postgresql/*/bin/pg_test_fsync 2>/dev/null | head -1 || true)
  [ -n "$FSYNC_BIN" ] && "$FSYNC_BIN" -s 2 -f /tmp/bench_pg_test_fsync.out > "$OUT/pg_test_fsync.txt" 2>&1 || true
  rm -f /tmp/bench_pg_test_fsync.out
  run var-json-c1 direct 0 $(wrk_cmd 1 "$SHORT" bench/messages.lua "$D")
  run var-json-sat direct 0 $(wrk_cmd "$SAT_CONNS" "$DUR" bench/messages.lua "$D")
  echo "{\"tollgate_peak_rss_mb_total\":$(awk '/VmHWM/{print $2/1024}' /proc/$TG_PID/status)}" > "$OUT/end.json"
  for v in $VARIANTS; do
    kill "$TG_PID"; wait "$TG_PID" 2>/dev/null || true
    case $v in
      default)  start_tollgate "$GW_CPU" "tollgate-$v.log" ;;
      pool*)    start_tollgate "$GW_CPU" "tollgate-$v.log" QUARKUS_DATASOURCE_JDBC_MAX_SIZE="${v#pool}" ;;
      cpu01)    start_tollgate 0,1 "tollgate-$v.log" ;;
      no-reserves)   start_tollgate "$GW_CPU" "tollgate-$v.log" TOLLGATE_HOLDS_RESERVE_CALLS=0 ;;
      settle-first)  start_tollgate "$GW_CPU" "tollgate-$v.log" TOLLGATE_SETTLEMENT_BEFORE_RESPONSE=true ;;
      per-call)      start_tollgate "$GW_CPU" "tollgate-$v.log" TOLLGATE_HOLDS_RESERVE_CALLS=0 TOLLGATE_SETTLEMENT_BEFORE_RESPONSE=true ;;
      no-linger)     start_tollgate "$GW_CPU" "tollgate-$v.log" TOLLGATE_SETTLEMENT_LINGER=0 ;;
      two-loops)     start_tollgate "$GW_CPU" "tollgate-$v.log" QUARKUS_VERTX_EVENT_LOOPS_POOL_SIZE=2 ;;
      sync-off) $PG -d postgres -c "ALTER DATABASE $DB SET synchronous_commit = off"
                start_tollgate "$GW_CPU" "tollgate-$v.log" ;;
      no-counters)  # experiment only: the limit counters' functions made no-ops in this database
                $PG -d "$DB" -c "select pg_get_functiondef('tg_admit'::regproc) || ';'" -c "select pg_get_functiondef('tg_release'::regproc) || ';'" > "$OUT/limit-functions.sql"
                $PG -d "$DB" <<'SQL'
CREATE OR REPLACE FUNCTION tg_admit(p_subject uuid, p_kind text, p_rpm int, p_tpm bigint, p_concurrent int,
    p_day bigint, p_month bigint, p_lifetime bigint, p_tokens bigint, p_amount bigint)
    RETURNS limit_counters LANGUAGE plpgsql AS $f$ DECLARE c limit_counters; BEGIN RETURN c; END $f$;
CREATE OR REPLACE FUNCTION tg_release(p_subject uuid, p_held bigint, p_estimated bigint, p_used bigint, p_cost bigint,
    p_started timestamptz) RETURNS void LANGUAGE plpgsql AS $f$ BEGIN RETURN; END $f$;
SQL
                start_tollgate "$GW_CPU" "tollgate-$v.log" ;;
    esac
    BENCH_KEY=$WARM_KEY taskset -c "$LOAD_CPU" wrk -t1 -c16 -d"$WARMUP"s -s bench/messages.lua "$T" > /dev/null
    BENCH_KEY=$HOT_KEY run var-json-c1 "tollgate-$v" "$TG_PID" $(wrk_cmd 1 "$SHORT" bench/messages.lua "$T")
    w0=$(wal)
    BENCH_KEY=$HOT_KEY run var-json-sat "tollgate-$v" "$TG_PID" $(wrk_cmd "$SAT_CONNS" "$DUR" bench/messages.lua "$T")
    w1=$(wal)
    echo "{\"variant\":\"$v\",\"wal_syncs\":$((w1 - w0)),\"ready_ms\":$TG_READY_MS}" >> "$OUT/variants.jsonl"
    if [ "$v" = sync-off ]; then $PG -d postgres -c "ALTER DATABASE $DB RESET synchronous_commit"; fi
    if [ "$v" = no-counters ]; then $PG -d "$DB" -f "$OUT/limit-functions.sql"; fi
  done
else
  echo "{\"tollgate_peak_rss_mb_total\":$(awk '/VmHWM/{print $2/1024}' /proc/$TG_PID/status)}" > "$OUT/end.json"
fi

{ echo "loadavg at end: $(cat /proc/loadavg)"; echo "host speed at end: $(host_speed "$GW_CPU")"
  echo "CPU time stolen by the hypervisor during the run: $(steal_percent "$STEAL0" "$(cpu_steal)")"; } >> "$OUT/machine.txt"
python3 bench/report.py "$OUT" | tee "$OUT/summary.md"
log "done: $OUT"
