#!/usr/bin/env bash
# Console and portal render times over a large database: generates BENCH_SCALE_ROWS usage records
# (default 10 million, as the data-scale phase of bench/run.sh: 10% on one "whale" account, the rest
# over 10,000 accounts, spread over 30 days), builds the roll-ups (POST /admin/v1/maintenance/rollups,
# timed), restarts Tollgate, then times each page BENCH_PAGE_RUNS times (default 20)
# with curl and reports the median and the slowest, the whale's account page and portal included.
#
#   bench/console-scale.sh                          # results in bench/results/console-<UTC time>/
#   BENCH_SCALE_ROWS=1000000 bench/console-scale.sh
#
# Needs: JDK 21+, PostgreSQL on 127.0.0.1:5432 (user postgres, trust), curl, python3. Uses its own
# database (BENCH_DB, default tollgate_console_bench), dropped and recreated.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

DB=${BENCH_DB:-tollgate_console_bench}
refuse_db "$DB"
PG="psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qAt"
FAKE_PORT=${BENCH_FAKE_PORT:-9101}
TG_PORT=${BENCH_TOLLGATE_PORT:-9103}
ADMIN_PORT=$TG_PORT
LOAD_CPU=${BENCH_LOAD_CPU:-1}
ROWS=${BENCH_SCALE_ROWS:-10000000}
ACCTS=${BENCH_SCALE_ACCOUNTS:-10000}
RUNS=${BENCH_PAGE_RUNS:-20}
OUT=${BENCH_OUT:-bench/results/console-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; stop_watchdog; }
trap cleanup EXIT
start_watchdog "${BENCH_MAX_SECONDS:-2400}"

build_jar
fresh_db "$DB"
start_fake "$FAKE_PORT"; PIDS+=("$FAKE_PID")
mapfile -t envs < <(tollgate_env "$TG_PORT" "$DB")
env "${envs[@]}" "$JAVA" -jar target/quarkus-app/quarkus-run.jar > "$OUT/tollgate.log" 2>&1 &
TG_PID=$!; PIDS+=("$TG_PID")
wait_tollgate "$TG_PORT" 120

log "generating $ACCTS accounts and $ROWS usage records"
S0=$SECONDS
$PG -d "$DB" <<SQL
INSERT INTO accounts (id, name, balance) SELECT md5('acct' || g)::uuid, 'gen ' || g, 100000000000 FROM generate_series(1, $ACCTS) g;
INSERT INTO ledger_entries (account_id, kind, balance_delta, held_delta, note)
SELECT md5('acct' || g)::uuid, 'topup', 100000000000, 0, 'generated' FROM generate_series(1, $ACCTS) g;
INSERT INTO api_keys (id, account_id, name, key_hash, prefix)
SELECT md5('key' || g)::uuid, md5('acct' || g)::uuid, 'gen', sha256(('gen' || g)::bytea), 'sk-tg-gen000'
FROM generate_series(1, $ACCTS) g;
SQL
BATCH=1000000; DONE=0
while [ $DONE -lt "$ROWS" ]; do
  N=$(( ROWS - DONE < BATCH ? ROWS - DONE : BATCH ))
  $PG -d "$DB" <<SQL
SET synchronous_commit = off;
INSERT INTO usage_records (request_id, account_id, key_id, model, input_tokens, output_tokens, cache_read_input_tokens,
                           cost, upstream_cost, status, http_status, stream, endpoint, latency_ms, created_at)
SELECT 'req_gen' || g, md5('acct' || a)::uuid, md5('key' || a)::uuid,
       CASE WHEN g % 4 = 0 THEN 'claude-haiku-4-5-20251001' ELSE 'claude-sonnet-4-6' END, 42, 87, (g % 5) * 100,
       1431000, 1431000, CASE WHEN g % 50 = 0 THEN 'upstream_error' ELSE 'ok' END, CASE WHEN g % 50 = 0 THEN 529 ELSE 200 END,
       g % 3 = 0, '/v1/messages', 900, now() - interval '30 days' + (g::float8 / $ROWS) * interval '30 days'
FROM (SELECT g, CASE WHEN g <= $ROWS / 10 THEN 1 ELSE 2 + g % ($ACCTS - 1) END AS a
      FROM generate_series($DONE + 1, $DONE + $N) g) s;
SQL
  DONE=$((DONE + N)); log "  $DONE usage records after $((SECONDS - S0)) s"
done
$PG -d "$DB" -c "VACUUM ANALYZE usage_records" -c "VACUUM ANALYZE usage_hourly"
GEN_S=$((SECONDS - S0))
# The records were written in the past, as only an import does: their hours are queued for the
# roll-up job, run here to the end (each pass rolls at most a month of hours) and timed.
$PG -d "$DB" -c "SELECT tg_usage_rewritten(now() - interval '31 days', now())" > /dev/null
S0=$SECONDS; PASSES=0
while :; do
  PASS=$(admin POST /admin/v1/maintenance/rollups); PASSES=$((PASSES + 1))
  echo "$PASS" | python3 -c 'import json, sys; p = json.load(sys.stdin)
sys.exit(0 if not p["busy"] and p["hours_rolled"] == 0 and p["ledger_entries_added"] == 0 else 1)' && break
  sleep 0.2
done
ROLL_S=$((SECONDS - S0))
$PG -d "$DB" -c "VACUUM ANALYZE usage_daily" -c "VACUUM ANALYZE usage_hourly_totals" -c "VACUUM ANALYZE usage_month_to_date"
ROLLUP_ROWS=$($PG -d "$DB" -c "SELECT (SELECT count(*) FROM usage_hourly) || ',' || (SELECT count(*) FROM usage_daily) || ',' || (SELECT count(*) FROM usage_hourly_totals) || ',' || (SELECT count(*) FROM usage_month_to_date)")
log "roll-ups built in $ROLL_S s ($PASSES passes); rows hourly,daily,totals,month-to-date: $ROLLUP_ROWS"
# Restarted, so that "first" below is the first view after a start over the full database.
kill "$TG_PID"; while kill -0 "$TG_PID" 2>/dev/null; do sleep 0.1; done
env "${envs[@]}" "$JAVA" -jar target/quarkus-app/quarkus-run.jar >> "$OUT/tollgate.log" 2>&1 &
TG_PID=$!; PIDS+=("$TG_PID")
wait_tollgate "$TG_PORT" 120
echo "{\"usage_records\":$DONE,\"accounts\":$ACCTS,\"gen_s\":$GEN_S,\"rollup_s\":$ROLL_S,\"rows_hourly_daily_totals_month_to_date\":\"$ROLLUP_ROWS\"}" > "$OUT/scale.json"

# A live account with a key and a few calls, for the portal and the recent-calls lists.
read -r LIVE LIVE_KEY <<< "$(funded_key live 100)"
for _ in 1 2 3; do
  curl -s -o /dev/null "http://127.0.0.1:$TG_PORT/v1/messages" -H "x-api-key: $LIVE_KEY" -H 'anthropic-version: 2023-06-01' \
    -H 'content-type: application/json' -d '{"model":"claude-sonnet-4-6","max_tokens":16,"messages":[{"role":"user","content":"Hi"}]}'
done
WHALE=$($PG -d "$DB" -c "select md5('acct1')::uuid")
JAR="$OUT/console.cookies"; PJAR="$OUT/portal.cookies"
curl -s -o /dev/null -c "$JAR" -d "token=$ADMIN_TOKEN" "http://127.0.0.1:$TG_PORT/console/sign-in"
curl -s -o /dev/null -c "$PJAR" --data-urlencode "key=$LIVE_KEY" "http://127.0.0.1:$TG_PORT/portal/sign-in"

page() {  # name cookie-jar path: RUNS timed GETs (the first one warms the caches and is reported apart)
  local name=$1 jar=$2 path=$3 times
  times=$(for _ in $(seq 0 "$RUNS"); do
    taskset -c "$LOAD_CPU" curl -s -o /dev/null -b "$jar" -w '%{http_code} %{time_total}\n' "http://127.0.0.1:$TG_PORT$path"
  done)
  python3 - "$name" "$path" <<PY >> "$OUT/pages.jsonl"
import json, statistics, sys
rows = [l.split() for l in """$times""".strip().splitlines()]
codes = sorted({r[0] for r in rows}); ms = [float(r[1]) * 1000 for r in rows]
print(json.dumps({"page": sys.argv[1], "path": sys.argv[2], "statuses": codes, "first_ms": round(ms[0], 1),
                  "median_ms": round(statistics.median(ms[1:]), 1), "max_ms": round(max(ms[1:]), 1)}))
PY
}
: > "$OUT/pages.jsonl"
page dashboard "$JAR" /console
page accounts "$JAR" /console/accounts
page "accounts, search" "$JAR" "/console/accounts?query=gen%2012"
page "account (the whale: 10% of all records)" "$JAR" "/console/accounts/$WHALE"
page "account (live)" "$JAR" "/console/accounts/$LIVE"
page "reconciliation (whale)" "$JAR" "/console/accounts/$WHALE/reconciliation"
FROM30=$(date -u -d '30 days ago' +%Y-%m-%dT%H:00:00Z)
page "report, 30 days by model" "$JAR" "/console/reports?group_by=model&from=$FROM30"
page "report, 30 days by day" "$JAR" "/console/reports?group_by=day&from=$FROM30"
page "report, 30 days by account" "$JAR" "/console/reports?group_by=account&from=$FROM30"
page "report, 30 days by hour" "$JAR" "/console/reports?group_by=hour&from=$FROM30"
# The same over whole days (dates, as the report form takes them): no partial day at the start.
DAY30=$(date -u -d '30 days ago' +%Y-%m-%d)
page "report, 30 whole days by account" "$JAR" "/console/reports?group_by=account&from=$DAY30"
page "report, 30 whole days by key" "$JAR" "/console/reports?group_by=key&from=$DAY30"
page "report, 30 whole days by account and model" "$JAR" "/console/reports?group_by=account,model&from=$DAY30"
page codes "$JAR" /console/codes
page plans "$JAR" /console/plans
page prices "$JAR" /console/prices
page upstreams "$JAR" /console/upstreams
page webhooks "$JAR" /console/webhooks
page audit "$JAR" /console/audit
page portal "$PJAR" /portal
python3 - "$OUT/pages.jsonl" <<'PY' | tee "$OUT/summary.md"
import json, sys
print("| page | status | first (cold) ms | median ms | slowest ms |")
print("|---|---|---:|---:|---:|")
for l in open(sys.argv[1]):
    r = json.loads(l)
    print(f'| {r["page"]} | {",".join(r["statuses"])} | {r["first_ms"]} | {r["median_ms"]} | {r["max_ms"]} |')
PY
log "done: $OUT"
