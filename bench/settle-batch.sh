#!/usr/bin/env bash
# What one settlement batch costs PostgreSQL: pgbench calls tg_settle_batch alone (no gateway), for
# batches of 1, 8, 25 and 64 calls drawn from one account's reserve, as the settlement writer does.
# The schema comes from the migrations themselves, applied with psql, so two schema versions can be
# compared in the same minutes:
#
#   bench/settle-batch.sh                  # the current migrations
#   SETTLE_UPTO=5 bench/settle-batch.sh    # only V1..V5: the schema before V6
#   SETTLE_COMPARE=5 bench/settle-batch.sh # both, alternating, SETTLE_ROUNDS (3) times
#
# SETTLE_IDS: the shape of the request ids the batches insert: "time" (default; the gateway's, time
# first), "random" (all random, as the gateway's once were) or "both" (alternating, SETTLE_ROUNDS times).
# SETTLE_ROWS: usage records written before measuring (default 0), with random ids, so that the
# request-id index is as large as a real deployment's.
#
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and its pgbench. Uses its own databases
# (tollgate_settle_*), dropped and recreated. SETTLE_SECONDS (4) per measurement; SETTLE_SIZES.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
PG="psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qAt"
PGBENCH=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | sort -V | tail -n 1)
SECONDS_EACH=${SETTLE_SECONDS:-4}
SIZES=${SETTLE_SIZES:-1 8 25 64}
ROUNDS=${SETTLE_ROUNDS:-3}
IDS=${SETTLE_IDS:-time}
ROWS=${SETTLE_ROWS:-0}
ACCOUNT=00000000-0000-0000-0000-00000000acc1
KEY=00000000-0000-0000-0000-00000000cee1
RESERVE=00000000-0000-0000-0000-00000000beef

# prepare DB UPTO: a fresh database with migrations V1..V<UPTO> (all when empty), one funded account,
# a key and an open reserve to draw from.
prepare() {
  fresh_db "$1"
  for f in $(ls src/main/resources/db/migration/V*__*.sql | sort -V); do
    v=$(basename "$f" | sed 's/^V\([0-9]*\)__.*/\1/')
    [ -n "$2" ] && [ "$v" -gt "$2" ] && continue
    $PG -1 -d "$1" -f "$f" > /dev/null   # one transaction each, as Flyway runs them
  done
  $PG -d "$1" <<EOF
INSERT INTO accounts (id, name, balance, held) VALUES ('$ACCOUNT', 'settle-batch', 100000000000000000, 10000000000000000);
INSERT INTO api_keys (id, account_id, name, key_hash, prefix) VALUES ('$KEY', '$ACCOUNT', 'k', '\\x00', 'sk-tg-bench');
INSERT INTO holds (id, account_id, key_id, request_id, model, endpoint, stream, amount, expires_at, reserve)
VALUES ('$RESERVE', '$ACCOUNT', '$KEY', 'reserve', 'claude-sonnet-4-5', '/v1/messages', false, 10000000000000000,
        now() + interval '1 day', true);
EOF
  if [ "$ROWS" -gt 0 ]; then
    $PG -d "$1" -c "INSERT INTO usage_records (request_id, account_id, key_id, model, cost, status, http_status, stream,
                                                endpoint, latency_ms, created_at)
                     SELECT 'req_' || substr(md5(g || ':' || random()), 1, 24), '$ACCOUNT', '$KEY', 'claude-sonnet-4-5',
                            1000, 'ok', 200, false, '/v1/messages', 1, now() - interval '1 day'
                     FROM generate_series(1, $ROWS) g" -c "VACUUM ANALYZE usage_records" -c CHECKPOINT
  fi
}

# request_ids SHAPE N: SQL for an array of N request ids: "time" as RequestIds.newId (the time in
# milliseconds, then random digits; here in hex), "random" all random.
request_ids() {
  case $1 in
    time) echo "(SELECT array_agg('req_' || lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || substr(md5(random()::text), 1, 12)) FROM generate_series(1, $2))" ;;
    random) echo "(SELECT array_agg('req_' || substr(md5(random()::text), 1, 24)) FROM generate_series(1, $2))" ;;
    *) echo "SETTLE_IDS must be time, random or both" >&2; exit 2 ;;
  esac
}

# measure DB LABEL [SHAPE]: pgbench's average latency per batch size (one client, prepared statements).
measure() {
  local shape=${3:-$IDS}
  for n in $SIZES; do
    sed "s/@N@/$n/g; s/@ACCOUNT@/$ACCOUNT/; s/@KEY@/$KEY/; s/@RESERVE@/$RESERVE/; s#@IDS@#$(request_ids "$shape" "$n")#" \
      > /tmp/settle-batch-$$.pgb <<'EOF'
SELECT tg_settle_batch(array_fill('@RESERVE@'::uuid, ARRAY[@N@]), array_fill('@ACCOUNT@'::uuid, ARRAY[@N@]),
  array_fill(1431000::bigint, ARRAY[@N@]), array_fill(1431000::bigint, ARRAY[@N@]), array_fill(129::bigint, ARRAY[@N@]),
  @IDS@, array_fill('@KEY@'::uuid, ARRAY[@N@]),
  array_fill('claude-sonnet-4-5-20250929'::text, ARRAY[@N@]), array_fill(42::bigint, ARRAY[@N@]),
  array_fill(87::bigint, ARRAY[@N@]), array_fill(0::bigint, ARRAY[@N@]), array_fill(0::bigint, ARRAY[@N@]),
  array_fill(0::bigint, ARRAY[@N@]), array_fill(0::bigint, ARRAY[@N@]), array_fill('ok'::text, ARRAY[@N@]),
  array_fill(200, ARRAY[@N@]), array_fill(false, ARRAY[@N@]), array_fill('/v1/messages'::text, ARRAY[@N@]),
  array_fill(1, ARRAY[@N@]), array_fill('msg_bench'::text, ARRAY[@N@]), array_fill(NULL::text, ARRAY[@N@]),
  array_fill(NULL::text, ARRAY[@N@]), array_fill('00000000-0000-0000-0000-000000000000'::uuid, ARRAY[@N@]),
  array_fill('default'::text, ARRAY[@N@]), array_fill(1, ARRAY[@N@]), false);
EOF
    ms=$("$PGBENCH" -h 127.0.0.1 -U postgres -n -M prepared -T "$SECONDS_EACH" -f /tmp/settle-batch-$$.pgb "$1" 2>&1 \
      | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p')
    echo "$2 ids=$shape batch=$n ms_per_batch=$ms us_per_call=$(awk -v m="$ms" -v n="$n" 'BEGIN {printf "%.1f", m * 1000 / n}')"
  done
  rm -f /tmp/settle-batch-$$.pgb
}

if [ -n "${SETTLE_COMPARE:-}" ]; then
  prepare tollgate_settle_before "$SETTLE_COMPARE"
  prepare tollgate_settle_now ""
  for r in $(seq 1 "$ROUNDS"); do
    measure tollgate_settle_before "round=$r V1..V$SETTLE_COMPARE"
    measure tollgate_settle_now "round=$r all"
  done
elif [ "$IDS" = both ]; then
  prepare tollgate_settle_now "${SETTLE_UPTO:-}"
  for r in $(seq 1 "$ROUNDS"); do
    measure tollgate_settle_now "round=$r" random
    measure tollgate_settle_now "round=$r" time
  done
else
  prepare tollgate_settle_now "${SETTLE_UPTO:-}"
  measure tollgate_settle_now "${SETTLE_UPTO:+V1..V$SETTLE_UPTO}${SETTLE_UPTO:-all}"
fi
