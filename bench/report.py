"""Turns one bench/run.sh output directory into a Markdown summary (printed to stdout)."""
import json
import os
import statistics
import sys

out = sys.argv[1]
rows = [json.loads(l) for l in open(os.path.join(out, "results.jsonl")) if l.strip()]
trials = [r for r in rows if "trial" in r]
MEDIAN_FIELDS = ("rps", "p50_us", "p90_us", "p99_us", "max_us", "gw_cpu_us_per_req", "pg_cpu_us_per_req",
                 "machine_cpu_us_per_req", "gw_peak_rss_mb", "loadavg1", "duration_s")


def paired(case, target, field):
    """Per trial: target minus direct in that same trial; the trials' added latencies (µs)."""
    d = {r["trial"]: r for r in trials if r["case"] == case and r["target"] == "direct"}
    return [r[field] - d[r["trial"]][field] for r in trials
            if r["case"] == case and r["target"] == target and r["trial"] in d]




def median_row(case, target):
    """A case run in trials is reported by the median of each figure over its trials."""
    group = [r for r in trials if (r["case"], r["target"]) == (case, target)]
    m = {f: statistics.median(r[f] for r in group) for f in MEDIAN_FIELDS if all(f in r for r in group)}
    statuses = {}
    for r in group:
        for k, v in r.get("statuses", {}).items():
            statuses[k] = statuses.get(k, 0) + v
    return dict(m, case=case, target=target, statuses=statuses, trials=len(group),
                requests=sum(r.get("requests", 0) for r in group))


# Trial cases stand in the table once, at their first trial's place, as their medians.
first_trial = min((r["trial"] for r in trials), default=None)
rows = [median_row(r["case"], r["target"]) if "trial" in r else r
        for r in rows if r.get("trial", first_trial) == first_trial]
by = {(r["case"], r["target"]): r for r in rows}


def load(name, default=None):
    p = os.path.join(out, name)
    if not os.path.exists(p):
        return default
    with open(p) as f:
        return f.read() if name.startswith("hot-") or not name.endswith(".json") else json.load(f)


def ms(us):
    return f"{us / 1000:.2f}"


print(f"# Results: {os.path.basename(out)}\n")
print("```\n" + (load("machine.txt", "") or "").strip() + "\n```\n")
st = load("startup.json", {})
print(f"Start to ready: Tollgate {st.get('tollgate_ready_ms')} ms (JVM launch to /q/health/ready 200; "
      f"Quarkus log: {st.get('tollgate_log')}), Portkey {st.get('portkey_ready_ms')} ms (launch to first HTTP answer).\n")

print("| case | target | req/s | p50 ms | p90 ms | p99 ms | added p50 / p99 ms vs direct | req/s vs direct | "
      "gateway CPU µs/req | PG CPU µs/req | machine CPU µs/req | gateway peak RSS MB | statuses | load1 |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
for r in rows:
    if "p50_us" not in r:
        continue
    d = by.get((r["case"], "direct"))
    added = ratio = ""
    if d and r["target"] != "direct" and "trials" in r:
        added = (f"{ms(statistics.median(paired(r['case'], r['target'], 'p50_us')))} / "
                 f"{ms(statistics.median(paired(r['case'], r['target'], 'p99_us')))}")
    elif d and r["target"] != "direct":
        added = f"{ms(r['p50_us'] - d['p50_us'])} / {ms(r['p99_us'] - d['p99_us'])}"
    if d and r["target"] != "direct":
        ratio = f"{r['rps'] / d['rps']:.3f}"
    print(f"| {r['case']} | {r['target']} | {r['rps']:.0f} | {ms(r['p50_us'])} | {ms(r['p90_us'])} | {ms(r['p99_us'])} | "
          f"{added} | {ratio} | {r['gw_cpu_us_per_req']} | {r['pg_cpu_us_per_req']} | {r['machine_cpu_us_per_req']} | "
          f"{r['gw_peak_rss_mb']} | {json.dumps(r.get('statuses', {}))} | {r['loadavg1']} |")

if trials:
    print(f"\nCases run in trials show the median over their trials; the added latency is the median of each "
          f"trial's difference to direct in the same trial. Every trial:\n")
    print("| case | trial | direct p50 / p99 ms | Portkey p50 / p99 ms | Tollgate p50 / p99 ms | Tollgate added p50 / p99 ms | Tollgate max ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for (case, n) in dict.fromkeys((r["case"], r["trial"]) for r in trials):
        t3 = {r["target"]: r for r in trials if r["case"] == case and r["trial"] == n}
        d, p, t = t3.get("direct"), t3.get("portkey"), t3.get("tollgate")
        cell = lambda r: f"{ms(r['p50_us'])} / {ms(r['p99_us'])}" if r else ""
        add = f"{ms(t['p50_us'] - d['p50_us'])} / {ms(t['p99_us'] - d['p99_us'])}" if d and t else ""
        print(f"| {case} | {n} | {cell(d)} | {cell(p)} | {cell(t)} | {add} | {ms(t['max_us']) if t else ''} |")

print("\n## Streaming first byte (bench/Ttfb.java, 2 connections)\n")
print("| target | calls/s | client TTFB p50 / p90 / p99 ms | message_start from fake to client p50 / p90 / p99 ms | "
      "added after the fake, p50 ms | whole stream p50 ms |")
print("|---|---:|---:|---:|---:|---:|")
d = by.get(("ttfb", "direct"))
for r in rows:
    if r["case"] != "ttfb":
        continue
    add = f"{ms(r['from_fake_p50_us'] - d['from_fake_p50_us'])}" if d and r["target"] != "direct" else ""
    print(f"| {r['target']} | {r['rps']:.0f} | {ms(r['ttfb_p50_us'])} / {ms(r['ttfb_p90_us'])} / {ms(r['ttfb_p99_us'])} | "
          f"{ms(r['from_fake_p50_us'])} / {ms(r['from_fake_p90_us'])} / {ms(r['from_fake_p99_us'])} | {add} | {ms(r['total_p50_us'])} |")

print("\n## Hot account ledger check\n")
print("```\n" + (load("hot-reconciliation.json", "") or "").strip() + "\n" + (load("hot-verify.txt", "") or "").strip() + "\n```")

print("\n## Targets (ratios from this run)\n")


def get(c, t):
    return by.get((c, t))


def verdict(ok):
    return "MET" if ok else "MISSED"


for case, label in (("json-c1", "1 connection: one call in flight, the gateway's core partly idle"),
                    ("json-c4", "4 connections: a closed loop that keeps the gateway's one core busy"),
                    ("json-paced", "4 connections paced (each waits BENCH_PACED_MS after every response): a steady moderate rate")):
    a50, a99 = paired(case, "tollgate", "p50_us"), paired(case, "tollgate", "p99_us")
    if a50:
        m50, m99 = statistics.median(a50) / 1000, statistics.median(a99) / 1000
        print(f"- Added latency, non-streaming, {label}; median of {len(a50)} trials: p50 +{m50:.2f} ms "
              f"(target ≤ 1 ms: {verdict(m50 <= 1)}), p99 +{m99:.2f} ms (target ≤ 3 ms: {verdict(m99 <= 3)}); "
              f"p99 over the trials from +{min(a99) / 1000:.2f} to +{max(a99) / 1000:.2f} ms")
t, dd = get("ttfb", "tollgate"), get("ttfb", "direct")
if t and dd:
    a = (t["from_fake_p50_us"] - dd["from_fake_p50_us"]) / 1000
    print(f"- Streaming first byte after it leaves the fake, p50: +{a:.2f} ms over direct "
          f"(absolute {t['from_fake_p50_us'] / 1000:.2f} ms) (target ≤ 1 ms: {verdict(a <= 1)})")
t, p = get("json-sat", "tollgate"), get("json-sat", "portkey")
if t and p:
    x = t["rps"] / p["rps"]
    print(f"- Saturated throughput with full metering vs Portkey: {t['rps']:.0f} / {p['rps']:.0f} req/s = {x:.2f}x (target ≥ 5x: {verdict(x >= 5)})")
t, p = get("stream-sat", "tollgate"), get("stream-sat", "portkey")
if t and p:
    print(f"- Streaming saturated vs Portkey: {t['rps']:.0f} / {p['rps']:.0f} = {t['rps'] / p['rps']:.2f}x")
if t := get("json-sat", "tollgate"):
    ok = t["statuses"].get("200", 0) / t["duration_s"]
    print(f"- Hot single account: {ok:.0f} settled calls/s (target ≥ 2,000: {verdict(ok >= 2000)})")
sc = load("scale.json")
if sc:
    print(f"\n## Data scale\n\n{json.dumps(sc)}\n\n```\n{(load('scale-size.txt', '') or '').strip()}\n```\n")
    for c in ("usage-small", "usage-scaled-hot", "usage-scaled-typical", "usage-scaled-whale", "usage-scaled-whale-1d", "json-scaled-keys"):
        for tg in ("direct", "tollgate"):
            r = get(c, tg)
            if r:
                print(f"- {c} {tg}: {r['rps']:.0f} req/s, p50 {ms(r['p50_us'])} ms, p99 {ms(r['p99_us'])} ms, statuses {r['statuses']}")

var = [r for r in rows if r["case"].startswith("var-")]
if var:
    vj = {}
    p = os.path.join(out, "variants.jsonl")
    if os.path.exists(p):
        for l in open(p):
            if l.strip():
                x = json.loads(l)
                vj[x["variant"]] = x
    print("\n## Variants (fresh Tollgate each, same scaled database, hot account)\n")
    print("| variant | 1 conn: p50 / p99 ms (added vs direct) | saturated req/s (× direct) | sat p50 / p99 ms | gateway CPU µs/req | PG CPU µs/req | WAL syncs per call (cluster-wide) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    d1, ds = get("var-json-c1", "direct"), get("var-json-sat", "direct")
    for t in dict.fromkeys(r["target"] for r in var if r["target"] != "direct"):
        c1, sat = get("var-json-c1", t), get("var-json-sat", t)
        if not (c1 and sat):
            continue
        v = t.replace("tollgate-", "")
        syncs = vj.get(v, {}).get("wal_syncs")
        per = f"{syncs / max(1, sat['requests']):.2f}" if syncs is not None else ""
        print(f"| {v} | {ms(c1['p50_us'])} / {ms(c1['p99_us'])} (+{ms(c1['p50_us'] - d1['p50_us'])} / +{ms(c1['p99_us'] - d1['p99_us'])}) | "
              f"{sat['rps']:.0f} ({sat['rps'] / ds['rps']:.3f}) | {ms(sat['p50_us'])} / {ms(sat['p99_us'])} | "
              f"{sat['gw_cpu_us_per_req']} | {sat['pg_cpu_us_per_req']} | {per} |")
