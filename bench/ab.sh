#!/usr/bin/env bash
# Same-minute A/B of Tollgate builds and configurations: several Tollgates side by side (each its
# own JVM on the gateway CPU), the same wrk load sent in interleaved trials to the fake directly and
# to each of them in turn, so every variant is compared with direct and with the others in the same
# minutes. Only the Tollgate under load runs during its trial. Loopback only, bounded, stops by itself.
#
#   bench/ab.sh 'default' 'big-young|BENCH_JVM_OPTS=-Xmn1g' 'no-linger|TOLLGATE_SETTLEMENT_LINGER=0'
#   git worktree add /tmp/before HEAD~1 && (cd /tmp/before && ./mvnw -q package -DskipTests)
#   bench/ab.sh 'before|JAR=/tmp/before/target/quarkus-app|DB=tollgate_ab_before' 'after'
#
# A variant is NAME[|KEY=value ...]; each KEY=value is that Tollgate's environment, except:
#   BENCH_JVM_OPTS=...  its JVM flags (commas for spaces)
#   JAR=DIR             run it from another build's quarkus-app directory
#   DB=NAME             its own database (when its schema differs); default BENCH_DB, tollgate_ab
#   UPSTREAMS=N         a pool of N stored upstreams on the fake routes its calls (needs its own DB=)
#   PG_CPU=LIST         PostgreSQL pinned to these CPUs during its trials
#   PG_SHARES=N|idle    PostgreSQL moved into a cpu cgroup (v1) of this weight, or an idle one (cpu.idle:
#                       any other task preempts it at once), during its trials
#   SLICE_US=N          its event loops get a scheduler slice of N µs (bench/sched_slice.py)
#   AUTOGROUP=0|1       the kernel's autogroup scheduling during its trials (restored afterwards)
# Knobs: AB_TRIALS (5), AB_CONNECTIONS (1), AB_SECONDS (8), AB_WARMUP (30 s at 16 connections per
# variant), AB_PACE_MS (each connection waits this long between calls: a paced moderate load),
# AB_SQL (run once the first Tollgate has migrated its database: a schema experiment).
# Reports req/s, p50/p99, added latency (median over trials of each trial's difference to direct),
# gateway, PostgreSQL and fake upstream CPU per call, and how many calls the access log timed at 1, 2-4, 5-9, 10+
# ms inside the gateway. Results: bench/results/ab-<UTC time>/ (results.jsonl, summary.md).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
[ $# -ge 1 ] || { sed -n 2,24p "$0"; exit 2; }

DB=${BENCH_DB:-tollgate_ab}
refuse_db "$DB"
PG="psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qAt"
FAKE_PORT=${BENCH_FAKE_PORT:-9101}
FIRST_PORT=${AB_FIRST_PORT:-9110}
GW_CPU=${BENCH_GW_CPU:-0}
LOAD_CPU=${BENCH_LOAD_CPU:-1}
TRIALS=${AB_TRIALS:-5}
CONNS=${AB_CONNECTIONS:-1}
PACE=${AB_PACE_MS:-}
SECS=${AB_SECONDS:-8}
WARMUP=${AB_WARMUP:-30}
MAX_SECONDS=${BENCH_MAX_SECONDS:-2400}
OUT=${BENCH_OUT:-bench/results/ab-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: > "$RESULTS"
PIDS=()
ALL_CPUS=0-$(($(nproc --all) - 1))
AUTOGROUP_FILE=/proc/sys/kernel/sched_autogroup_enabled
AUTOGROUP_WAS=$(cat "$AUTOGROUP_FILE" 2>/dev/null || echo "")
autogroup() { [ -n "$AUTOGROUP_WAS" ] && echo "${1:-$AUTOGROUP_WAS}" > "$AUTOGROUP_FILE" 2>/dev/null || true; }
PG_CGROUP=/sys/fs/cgroup/cpu/tollgate-bench-postgres
pg_shares() {  # weight, or "" to put PostgreSQL back in the root group
  local procs=/sys/fs/cgroup/cpu/cgroup.procs
  if [ -n "$1" ]; then
    mkdir -p "$PG_CGROUP"; procs=$PG_CGROUP/cgroup.procs
    if [ "$1" = idle ]; then echo 1 > "$PG_CGROUP/cpu.idle"; else echo 0 > "$PG_CGROUP/cpu.idle"; echo "$1" > "$PG_CGROUP/cpu.shares"; fi
  fi
  [ -n "$1" ] || [ -d "$PG_CGROUP" ] || return 0
  for p in $(pg_server_pids); do echo "$p" > "$procs" 2>/dev/null || true; done
}
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && { kill -CONT "$p"; kill "$p"; } 2>/dev/null || true; done
  pin_postgres "$ALL_CPUS"; pg_shares ""; rmdir "$PG_CGROUP" 2>/dev/null || true; autogroup ""
  stop_watchdog
}
trap cleanup EXIT
start_watchdog "$MAX_SECONDS"

ensure_wrk
build_jar
N=$#
ports_free "$FAKE_PORT" $(seq "$FIRST_PORT" $((FIRST_PORT + N - 1)))
{ echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"; echo "host: $(uname -srm)"; echo "git: $(git rev-parse HEAD)"
  echo "variants: $*"; echo "trials $TRIALS x ${SECS}s at $CONNS connection(s)${PACE:+, paced $PACE ms}; loadavg $(cat /proc/loadavg)"
  echo "host speed at start: $(host_speed "$GW_CPU")"; } > "$OUT/machine.txt"
fresh_db "$DB"
start_fake "$FAKE_PORT"; PIDS+=("$FAKE_PID")

NAMES=(); TPIDS=(); PORTS=(); PGCPUS=(); PGSHARES=(); DBS=(); AUTOGROUPS=()
i=0
for spec in "$@"; do
  IFS='|' read -r -a parts <<< "$spec"
  name=${parts[0]}; port=$((FIRST_PORT + i)); jvm=""; envs=(); pgcpu=$ALL_CPUS; shares=""; jar=target/quarkus-app; db=$DB
  slice=""; ag=""; pool=0
  for kv in "${parts[@]:1}"; do
    case $kv in
      BENCH_JVM_OPTS=*) jvm=${kv#BENCH_JVM_OPTS=}; jvm=${jvm//,/ } ;;
      PG_CPU=*) pgcpu=${kv#PG_CPU=} ;;
      PG_SHARES=*) shares=${kv#PG_SHARES=} ;;
      JAR=*) jar=${kv#JAR=} ;;
      SLICE_US=*) slice=${kv#SLICE_US=} ;;
      AUTOGROUP=*) ag=${kv#AUTOGROUP=} ;;
      UPSTREAMS=*) pool=${kv#UPSTREAMS=} ;;
      DB=*) db=${kv#DB=}; refuse_db "$db"
            [[ "$db" == "$DB" || " ${DBS[*]} " == *" $db "* ]] || fresh_db "$db" ;;
      *) envs+=("$kv") ;;
    esac
  done
  PGCPUS+=("$pgcpu"); PGSHARES+=("$shares"); DBS+=("$db"); AUTOGROUPS+=("$ag")
  log "starting $name on :$port (${envs[*]:-} ${jvm})"
  mapfile -t base < <(tollgate_env "$port" "$db")
  env "${base[@]}" "${envs[@]}" taskset -c "$GW_CPU" "$JAVA" $jvm -jar "$jar/quarkus-run.jar" > "$OUT/tollgate-$name.log" 2>&1 &
  TPIDS+=($!); PIDS+=($!); NAMES+=("$name"); PORTS+=("$port")
  wait_tollgate "$port" 120   # one at a time: Flyway migrates each database once
  [ -n "$slice" ] && python3 bench/sched_slice.py "${TPIDS[$i]}" $((slice * 1000)) vert.x-eventloo | tee -a "$OUT/run.log"
  [ "$pool" -gt 0 ] && ADMIN_PORT=$port register_pool "$pool"
  if [ $i = 0 ] && [ -n "${AB_SQL:-}" ]; then log "AB_SQL: $AB_SQL"; $PG -d "$db" -c "$AB_SQL"; fi
  i=$((i + 1))
done

# One account and key per variant, made through its own Tollgate (its database), so that no two
# Tollgates share an account's reserve.
KEYS=()
for j in "${!NAMES[@]}"; do
  name=${NAMES[$j]}; ADMIN_PORT=${PORTS[$j]}
  read -r _ key <<< "$(funded_key "ab-$name" 1000000)"; KEYS+=("$key")
done

# Only the Tollgate under load runs during a trial; the others are stopped (SIGSTOP), so that their
# timers, JIT and GC cannot take the gateway CPU from it. They resume, and settle down, between trials.
only() {  # pid, or 0 for none
  for p in "${TPIDS[@]}"; do kill -CONT "$p"; done
  sleep 1
  for p in "${TPIDS[@]}"; do [ "$p" != "$1" ] && kill -STOP "$p"; done
  return 0
}
one() {  # trial name url pid key [postgres CPUs] [postgres cgroup weight or idle] [database] [autogroup]
  local g0 g1 p0=0 p1=0 f0 f1 out line logf=$OUT/tollgate-$2.log o0=0 slow="{}" s0 steal
  only "$4"
  pin_postgres "${6:-$ALL_CPUS}"; pg_shares "${7:-}"; autogroup "${9:-}"
  [ -f "$logf" ] && o0=$(stat -c %s "$logf")
  g0=$([ "$4" != 0 ] && cpu_ticks "$4" || echo 0); [ -n "${8:-}" ] && p0=$(pg_ticks "$8"); s0=$(cpu_steal); f0=$(cpu_ticks "$FAKE_PID")
  out=$(BENCH_KEY=$5 BENCH_PACE_MS=$PACE taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"$SECS"s --timeout 10s -s bench/messages.lua "$3" 2>&1)
  g1=$([ "$4" != 0 ] && cpu_ticks "$4" || echo 0); [ -n "${8:-}" ] && p1=$(pg_ticks "$8"); steal=$(steal_percent "$s0" "$(cpu_steal)")
  f1=$(cpu_ticks "$FAKE_PID")
  line=$(grep '^RESULT ' <<<"$out" | sed 's/^RESULT //')
  # Inside the gateway: how many of the trial's calls the access log timed at 1, 2-4, 5-9, 10+ ms.
  [ -f "$logf" ] && slow=$(tail -c +$((o0 + 1)) "$logf" | grep -o ' ms=[0-9]*' | awk -F= \
    '{n[$2 >= 10 ? "10+" : $2 >= 5 ? "5-9" : $2 >= 2 ? "2-4" : $2]++} END {printf "{"; s=""; for (k in n) {printf "%s\"%s\":%d", s, k, n[k]; s=","}; printf "}"}')
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r.update(trial=int(sys.argv[2]), target=sys.argv[3], gw_cpu_us_per_req=round(int(sys.argv[4])*10000/max(r["requests"],1),1), pg_cpu_us_per_req=round(int(sys.argv[6])*10000/max(r["requests"],1),1), fake_cpu_us_per_req=round(int(sys.argv[8])*10000/max(r["requests"],1),1), gateway_ms=json.loads(sys.argv[5]), steal=sys.argv[7]); print(json.dumps(r))' \
    "$line" "$1" "$2" $((g1 - g0)) "$slow" $((p1 - p0)) "$steal" $((f1 - f0)) >> "$RESULTS"
  log "trial $1 $2: $(tail -1 "$RESULTS" | python3 -c 'import sys,json; r=json.load(sys.stdin); print(r["rps"], r["p50_us"], r["p90_us"], r["p99_us"], r["max_us"], r["statuses"], r["gateway_ms"], "steal", r["steal"])')"
}

log "warm-up: ${WARMUP}s per variant at 16 connections"
for j in "${!NAMES[@]}"; do
  only "${TPIDS[$j]}"
  BENCH_KEY=${KEYS[$j]} taskset -c "$LOAD_CPU" wrk -t1 -c16 -d"$WARMUP"s -s bench/messages.lua "http://127.0.0.1:${PORTS[$j]}" > /dev/null
done
for t in $(seq 1 "$TRIALS"); do
  one "$t" direct "http://127.0.0.1:$FAKE_PORT" 0 sk-ant-bench
  for k in $(seq 0 $((N - 1))); do   # rotate the order each trial, so no variant always runs first
    j=$(( (k + t - 1) % N ))
    one "$t" "${NAMES[$j]}" "http://127.0.0.1:${PORTS[$j]}" "${TPIDS[$j]}" "${KEYS[$j]}" "${PGCPUS[$j]}" "${PGSHARES[$j]}" "${DBS[$j]}" "${AUTOGROUPS[$j]}"
  done
done

for p in "${TPIDS[@]}"; do kill -CONT "$p"; done
echo "host speed at end: $(host_speed "$GW_CPU")" >> "$OUT/machine.txt"
python3 - "$RESULTS" <<'EOF' | tee "$OUT/summary.md"
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
direct = {r["trial"]: r for r in rows if r["target"] == "direct"}
targets = list(dict.fromkeys(r["target"] for r in rows))
print("| target | req/s | p50 ms | p99 ms | added p50 / p99 ms (median of trials) | p99 per trial ms | gateway CPU µs/call | PostgreSQL CPU µs/call | fake CPU µs/call | CPU stolen by the hypervisor per trial |")
print("|---|---:|---:|---:|---:|---|---:|---:|---:|---|")
for t in targets:
    g = [r for r in rows if r["target"] == t]
    med = lambda f: statistics.median(r[f] for r in g)
    add = lambda f: statistics.median(r[f] - direct[r["trial"]][f] for r in g)
    per = ", ".join(f'{r["p99_us"] / 1000:.2f}' for r in g)
    added = "" if t == "direct" else "+%.2f / +%.2f" % (add("p50_us") / 1000, add("p99_us") / 1000)
    cpu = "" if t == "direct" else med("gw_cpu_us_per_req")
    pg = "" if t == "direct" else med("pg_cpu_us_per_req")
    stolen = ", ".join(r.get("steal", "") for r in g)
    print(f'| {t} | {med("rps"):,.0f} | {med("p50_us") / 1000:.2f} | {med("p99_us") / 1000:.2f} | {added} | {per} | {cpu} | {pg} | {med("fake_cpu_us_per_req")} | {stolen} |')
EOF
log "done: $OUT"
