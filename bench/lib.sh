# Shared by bench/run.sh, bench/ab.sh and bench/settle-batch.sh (sourced, not run). Expects OUT (the results directory)
# and PG (a psql command line) to be set before log or the PostgreSQL helpers are used.
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
JAVA=$JAVA_HOME/bin/java
# What every benchmarked Tollgate gets: the fake upstream, a fixed admin token and key pepper.
ADMIN_TOKEN=bench-admin-token-$$
PEPPER=bench-pepper-0123456789abcdef

log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$OUT/run.log" >&2; }
refuse_db() { case "$1" in tollgate|tollgate_test*) echo "refusing to use database $1" >&2; exit 2;; esac; }
fresh_db() { $PG -d postgres -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"; }

pg_server_pids() { pgrep -x postgres; pgrep -f '^postgres: '; }
pin_postgres() {  # CPU list: the postmaster and every PostgreSQL process (new backends inherit it)
  for p in $(pg_server_pids); do taskset -a -p -c "$1" "$p" > /dev/null 2>&1 || true; done
}

# The run's time limit: start_watchdog SECONDS kills this script then; stop_watchdog in its cleanup
# (the watchdog first, then its sleep, so it cannot fire meanwhile).
start_watchdog() {
  ( sleep "$1"; echo "$(basename "$0"): time limit ${1}s reached, stopping" >&2; kill -TERM $$ ) &
  WATCHDOG=$!
}
stop_watchdog() {
  if [ -n "${WATCHDOG:-}" ]; then
    local sleeper; sleeper=$(pgrep -P "$WATCHDOG" || true)
    kill "$WATCHDOG" 2>/dev/null || true; [ -n "$sleeper" ] && kill $sleeper 2>/dev/null || true
  fi
}

wait_http() {  # url, seconds
  local end=$((SECONDS + $2))
  until curl -sf -o /dev/null "$1"; do
    [ $SECONDS -ge $end ] && { log "not ready: $1"; return 1; }
    sleep 0.05
  done
}
wait_tollgate() {  # port, seconds: readiness on the management port (PORT + 1000), or on PORT for a
  # build from before the management interface existed (ab.sh compares such builds too)
  local end=$((SECONDS + $2))
  until curl -sf -o /dev/null "http://127.0.0.1:$(($1 + 1000))/q/health/ready" \
      || curl -sf -o /dev/null "http://127.0.0.1:$1/q/health/ready"; do
    [ $SECONDS -ge $end ] && { log "not ready: Tollgate on port $1"; return 1; }
    sleep 0.05
  done
}
ports_free() {  # a leftover process on one of these ports would be measured instead
  for port in "$@"; do
    if curl -s -o /dev/null "http://127.0.0.1:$port/"; then log "port $port is already in use: stop what listens there"; exit 2; fi
  done
}
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }   # utime+stime, 1/100 s
pg_ticks() {  # database: the CPU ticks of the PostgreSQL backends connected to it
  local s=0 p
  for p in $($PG -d postgres -c "select pid from pg_stat_activity where datname='$1'"); do s=$((s + $(cpu_ticks "$p"))); done
  echo $s
}
# How fast this VM runs right now, to tell a slow host from a slow change between runs: the
# milliseconds one CPU takes to hash 256 MB (lower is faster; the same on every run of one host).
host_speed() {  # cpu
  local t0 t1; t0=$(date +%s%N)
  taskset -c "$1" sh -c 'head -c 268435456 /dev/zero | sha256sum > /dev/null'
  t1=$(date +%s%N); echo "$(( (t1 - t0) / 1000000 )) ms to hash 256 MB on CPU $1"
}
# The hypervisor's stolen ticks and all ticks so far; steal_percent prints the share between two.
cpu_steal() { awk '/^cpu /{print $9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
steal_percent() {  # "steal total" at the start, the same now
  local a b; read -r -a a <<< "$1"; read -r -a b <<< "$2"
  awk -v s=$((b[0] - a[0])) -v t=$((b[1] - a[1])) 'BEGIN {printf "%.1f%%", t ? 100 * s / t : 0}'
}
admin() {  # method path [body] [extra curl args]: the admin API of the Tollgate on $ADMIN_PORT
  curl -sf -X "$1" -H "Authorization: Bearer $ADMIN_TOKEN" -H 'content-type: application/json' \
    ${4:+$4} ${3:+-d "$3"} "http://127.0.0.1:$ADMIN_PORT$2"
}
funded_account() {  # NAME USD: a new account NAME topped up with USD; prints its id
  local a; a=$(admin POST /admin/v1/accounts "{\"name\":\"$1\"}" | jget id)
  admin POST "/admin/v1/accounts/$a/topups" "{\"amount_usd\":\"$2\"}" "-H Idempotency-Key:$1" > /dev/null
  echo "$a"
}
funded_key() {  # NAME USD: funded_account and one key of it; prints "ACCOUNT_ID KEY"
  local a; a=$(funded_account "$1" "$2")
  echo "$a $(admin POST "/admin/v1/accounts/$a/keys" "{\"name\":\"$1\"}" | jget key)"
}
jget() {  # a string field of a one-line JSON answer (which has no final newline), printed as a line
  local v; v=$(sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"); printf '%s\n' "${v%%$'\n'*}"
}

ensure_wrk() { command -v wrk > /dev/null || { log "installing wrk"; apt-get install -y -qq wrk > /dev/null; }; }
build_jar() {  # unless BENCH_SKIP_BUILD is set and a jar exists
  if [ ! -f target/quarkus-app/quarkus-run.jar ] || [ -z "${BENCH_SKIP_BUILD:-}" ]; then
    log "building the jar"; ./mvnw -q -B package -DskipTests > "$OUT/build.log" 2>&1
  fi
}
start_fake() {  # port: the fake upstream on the load CPU; sets FAKE_PID
  taskset -c "$LOAD_CPU" "$JAVA" -Dsun.net.httpserver.nodelay=true bench/FakeAnthropic.java "$1" > "$OUT/fake.log" 2>&1 &
  FAKE_PID=$!
  wait_http "http://127.0.0.1:$1/stats" 30
}
# tollgate_env PORT DB: the environment of a benchmarked Tollgate in production mode, one per line;
# its management interface (health, metrics) listens on PORT + 1000.
tollgate_env() {
  printf '%s\n' "TOLLGATE_UPSTREAM_BASE_URL=http://127.0.0.1:$FAKE_PORT" TOLLGATE_UPSTREAM_API_KEY=sk-ant-bench-fake \
    "TOLLGATE_ADMIN_TOKEN=$ADMIN_TOKEN" "TOLLGATE_KEY_PEPPER=$PEPPER" \
    "QUARKUS_DATASOURCE_JDBC_URL=jdbc:postgresql://127.0.0.1:5432/$2" QUARKUS_HTTP_HOST=127.0.0.1 "QUARKUS_HTTP_PORT=$1" \
    QUARKUS_MANAGEMENT_HOST=127.0.0.1 "QUARKUS_MANAGEMENT_PORT=$(($1 + 1000))" \
    TOLLGATE_SECRETS_KEY=YmVuY2gtb25seS11cHN0cmVhbS1zZWNyZXRzLWtleSE=
}
# register_pool N: N stored upstreams (pool-1..N, weight 1, each its own key) on the Tollgate at
# $ADMIN_PORT, all served by the fake, ahead of the configured default: every call is then routed
# through the pool (rendezvous order, slot claim), as a relay with several credentials runs.
register_pool() {
  local i
  for i in $(seq 1 "$1"); do
    admin POST /admin/v1/upstreams "{\"name\":\"pool-$i\",\"kind\":\"anthropic\",\"base_url\":\"http://127.0.0.1:$FAKE_PORT\",\"api_key\":\"sk-ant-bench-pool-$i\",\"priority\":-1}" > /dev/null
  done
  log "registered a pool of $1 upstreams"
}
