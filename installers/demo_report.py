#!/usr/bin/env python3
"""The end of `make demo` (installers/demo.sh): from the run's recorded
scenarios, the decisions the engine took before their load arrived, and per
system the predictive decisions against the HPA rule recorded beside them.

  demo_report.py SCENARIOS_JSONL BUSINESS_CASE_DIR REPLAY_START_MS SPEED TRACE_START

SCENARIOS_JSONL: `psoctl scenarios export --format jsonl`. BUSINESS_CASE_DIR:
one `psoctl --json scenarios business-case --system S` answer per system, as
S.json. REPLAY_START_MS and SPEED place a wall-clock time on the trace
(TRACE_START, the first row of the replayed traces).

A decision is pre-emptive when the engine raised a system's count on its
forecast (a predictive plan, perhaps capped by the bounds) while the demand
observed then still fitted the count it had at the target utilisation, its
point forecast rose above that, the HPA rule recorded in the same cycle did
not raise it, and a later demand sample exceeded what that count serves at
the target within the decision's forecast horizon, at least a warm-up later:
the load it scaled for arrived after its new replicas were serving. The lead
time runs from the decision to that sample."""

import datetime
import json
import os
import sys


def fmt(x):
    return "%.1f" % x if abs(x) < 1000 else "%.0f" % x


def clock(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%H:%M:%S.%f")[:-5]


def main():
    scenarios_path, business_dir, replay_start_ms, speed, trace_start = sys.argv[1:6]
    replay_start_ms = int(replay_start_ms)
    speed = float(speed)
    trace_start = datetime.datetime.strptime(trace_start, "%Y-%m-%d %H:%M:%S")

    def trace_time(ms):
        return (trace_start + datetime.timedelta(seconds=(ms - replay_start_ms) / 1000 * speed)).strftime("%H:%M")

    with open(scenarios_path) as f:
        docs = sorted((json.loads(line) for line in f if line.strip()), key=lambda d: d["ts_ms"])
    systems = sorted({s for d in docs for s in d.get("systems", [])})

    # Every demand sample the scenarios show, per system (the 60 before each cycle).
    samples = {s: {} for s in systems}
    for d in docs:
        for s, sit in d.get("situation", {}).items():
            for ts, value in sit.get("history", []):
                samples.setdefault(s, {})[ts] = value

    found = []
    for s in systems:
        ordered = sorted(samples[s].items())
        for d in docs:
            r = d.get("rationale", {}).get(s)
            sit = d.get("situation", {}).get(s)
            fc = d.get("forecasts", {}).get(s)
            hpa = d.get("reactive_baseline", {}).get(s)
            if not (r and sit and fc and hpa) or sit.get("demand") is None:
                continue
            current, desired = r["current_replicas"], r["desired_replicas"]
            # Planned from the forecast (bounds may cap the plan), not held by
            # an operator, raised to the observed demand or asked by an alert.
            facts = r.get("facts", {})
            planned = facts.get("plan_replicas") is not None and not facts.get("alerts") \
                and r["rule"] not in ("hold", "observed-demand-floor")
            if desired <= current or not planned or hpa["replicas"] > current:
                continue
            served = current * sit["capacity_per_replica"] * sit["target_utilization"]
            if sit["demand"] > served:
                continue
            # The forecast itself saw the load coming, not only its upper quantile.
            if not fc.get("point") or max(fc["point"]) <= served:
                continue
            horizon_ms = (len(fc["point"]) + 1) * d["step_s"] * 1000
            arrival = next(((ts, v) for ts, v in ordered
                            if d["ts_ms"] < ts <= d["ts_ms"] + horizon_ms and v > served), None)
            # The replicas it launched were serving when the load came.
            if arrival and arrival[0] - d["ts_ms"] >= sit["warmup_s"] * 1000:
                found.append((d, s, served, arrival))

    print()
    print("== Scaled before the load arrived")
    if not found:
        print("  none in this run: no predictive scale-up was followed by its load within the"
              " forecast horizon (DEMO_SECONDS of 60 or more reach the batch system's 03:00 job).")
    # The biggest step first; one per system.
    shown = set()
    for d, s, served, (arrival_ms, arrival_value) in sorted(
            found, key=lambda f: -(f[0]["rationale"][f[1]]["desired_replicas"] - f[0]["rationale"][f[1]]["current_replicas"])):
        if s in shown:
            continue
        shown.add(s)
        r, sit, fc, hpa = (d[k][s] for k in ("rationale", "situation", "forecasts", "reactive_baseline"))
        lead_s = (arrival_ms - d["ts_ms"]) / 1000
        peak_step = max(range(len(fc["point"])), key=lambda i: fc["point"][i])
        print("%s, cycle %s at %s (trace time %s):" % (s, d["cycle_id"], clock(d["ts_ms"]), trace_time(d["ts_ms"])))
        print("  demand then    %s on %d replicas (%s each at %d%% target serve %s)"
              % (fmt(sit["demand"]), r["current_replicas"], fmt(sit["capacity_per_replica"]),
                 round(sit["target_utilization"] * 100), fmt(served)))
        print("  forecast       %s (%s): %s in %d step(s), %d%% quantile %s, %d%% interval %s-%s"
              % (fc["model"], "%d steps learned" % fc["observations"], fmt(fc["point"][peak_step]),
                 peak_step + 1, round(fc["planning_quantile"] * 100), fmt(fc["planned_demand"]),
                 round(fc["coverage"] * 100), fmt(fc["lo"][peak_step]), fmt(fc["hi"][peak_step])))
        print("  engine         scaled %d -> %d replicas (rule %s)"
              % (r["current_replicas"], r["desired_replicas"], r["rule"]))
        print("  load arrived   %s (trace time %s): demand %s > %s"
              % (clock(arrival_ms), trace_time(arrival_ms), fmt(arrival_value), fmt(served)))
        print("  lead time      %.1f s before the load (%d trace minutes); the new replicas served"
              " after their %s s warm-up" % (lead_s, round(lead_s * speed / 60), fmt(sit["warmup_s"])))
        print("  HPA rule then  %d replicas: %s" % (hpa["replicas"], hpa.get("rationale", "")))

    print()
    print("== Predictive decisions against the HPA rule recorded beside them")
    print("   (psoctl scenarios business-case per system; replica-hours in trace time, the replay"
          " running %dx)" % speed)
    header = ("SYSTEM", "CYCLES", "OVERLOAD ENGINE", "OVERLOAD HPA", "REPLICA-H ENGINE",
              "REPLICA-H HPA", "SCALE EVENTS ENGINE", "SCALE EVENTS HPA")
    rows = []
    for s in systems:
        path = os.path.join(business_dir, s + ".json")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            periods = json.load(f)["periods"]
        t = periods[-1]  # the only period, or the total of several

        def share(short):
            return "%.1f%% (%d/%d)" % (100.0 * short / t["with_outcome"], short, t["with_outcome"]) \
                if t["with_outcome"] else "n/a"

        rows.append((s, str(t["system_cycles"]), share(t["predictive_short"]), share(t["baseline_short"]),
                     "%.1f" % (t["predictive_replica_hours"] * speed), "%.1f" % (t["baseline_replica_hours"] * speed),
                     str(t["predictive_scale_events"]), str(t["baseline_scale_events"])))
    widths = [max(len(x[i]) for x in [header] + rows) for i in range(len(header))]
    for row in [header] + rows:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    print("  Overload: the highest demand after a cycle above what its count serves at full capacity"
          " (cycles whose outcome is recorded).")


if __name__ == "__main__":
    main()
