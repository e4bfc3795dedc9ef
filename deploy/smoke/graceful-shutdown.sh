#!/usr/bin/env bash
# Production-mode smoke test of a packaged Tollgate (./mvnw package): JSON logs, readiness with
# the database, Swagger UI, and graceful shutdown: SIGTERM in the middle of a stream must let the
# stream finish, settle it exactly, and only then exit.
#   deploy/smoke/graceful-shutdown.sh [jdbc-url]   (default: jdbc:postgresql://127.0.0.1:5432/tollgate_smoke)
# Needs java, python3, curl, psql; the database must exist (its schema is migrated at start).
set -euo pipefail
cd "$(dirname "$0")/../.."
JDBC=${1:-jdbc:postgresql://127.0.0.1:5432/tollgate_smoke}
APP_PORT=18093 UP_PORT=18094 MGMT_PORT=18095 ADMIN=smoke-admin-token WORK=$(mktemp -d)
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
fail() { echo "FAIL: $*"; exit 1; }

python3 deploy/smoke/slow_upstream.py $UP_PORT 10 & UP_PID=$!
QUARKUS_HTTP_PORT=$APP_PORT QUARKUS_MANAGEMENT_PORT=$MGMT_PORT QUARKUS_DATASOURCE_JDBC_URL=$JDBC TOLLGATE_ADMIN_TOKEN=$ADMIN \
  TOLLGATE_KEY_PEPPER=smoke-pepper-0123456789 TOLLGATE_UPSTREAM_API_KEY=sk-ant-smoke \
  TOLLGATE_UPSTREAM_BASE_URL=http://127.0.0.1:$UP_PORT \
  "$JAVA" -jar target/quarkus-app/quarkus-run.jar > "$WORK/app.log" 2>&1 & APP_PID=$!
trap 'kill $UP_PID 2>/dev/null; kill $APP_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do curl -sf localhost:$MGMT_PORT/q/health/ready > /dev/null && break; sleep 1; done

B=localhost:$APP_PORT; A="Authorization: Bearer $ADMIN"; J='content-type: application/json'
curl -sf localhost:$MGMT_PORT/q/health/ready | grep -q '"Database connections health check"' || fail "readiness lacks the database"
curl -sf -o /dev/null $B/q/swagger-ui/ || fail "no Swagger UI in production"
[ "$(curl -s -o /dev/null -w '%{http_code}' $B/q/metrics)" = 404 ] || fail "metrics served on the public port"
curl -sf -o /dev/null localhost:$MGMT_PORT/q/metrics || fail "no metrics on the management port"
head -1 "$WORK/app.log" | python3 -c 'import json,sys; json.loads(sys.stdin.readline())' || fail "logs are not JSON"
ACC=$(curl -sf -H "$A" -H "$J" -d '{"name":"smoke"}' $B/admin/v1/accounts | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
curl -sf -H "$A" -H "$J" -d '{"amount_usd":"5"}' $B/admin/v1/accounts/$ACC/topups > /dev/null
KEY=$(curl -sf -H "$A" -H "$J" -d '{"name":"k"}' $B/admin/v1/accounts/$ACC/keys | python3 -c 'import json,sys;print(json.load(sys.stdin)["key"])')

curl -sN $B/v1/messages -H "x-api-key: $KEY" -H "$J" \
  -d '{"model":"claude-haiku-4-5","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}' \
  > "$WORK/stream.out" & CURL_PID=$!
sleep 2
kill -TERM $APP_PID
sleep 1
[ "$(curl -s -o /dev/null -w '%{http_code}' localhost:$MGMT_PORT/q/health/ready)" = 503 ] || fail "not reporting not-ready during the shutdown delay"
wait $CURL_PID
grep -q 'message_stop' "$WORK/stream.out" || fail "the stream was cut by the shutdown"
wait $APP_PID || true
BALANCE=$(curl -s -H "$A" $B/admin/v1/accounts/$ACC || true)
[ -z "$BALANCE" ] || fail "still serving after shutdown"
grep -q "All HTTP requests complete" "$WORK/app.log" || fail "did not wait for the stream"
# 100 input x $1/M + 50 output x $5/M (Haiku 4.5) = $0.00035, settled before exit.
ROW=$(psql "postgresql://postgres@127.0.0.1:5432/${JDBC##*/}" -Atc \
  "SELECT u.status, u.cost, a.balance, a.held FROM usage_records u JOIN accounts a ON a.id = u.account_id WHERE a.id = '$ACC'")
[ "$ROW" = "ok|350000|4999650000|0" ] || fail "settlement: $ROW"
echo "OK: JSON logs, readiness with the database, Swagger UI, stream finished and settled during shutdown"
