#!/usr/bin/env python3
"""Writes config/demo/<system>-history.csv: the eight days before each demo
trace, which installers/demo.sh imports (psoctl import --time-scale 300) so the
controller's forecasters start the live replay knowing the daily shape.

The demo traces hold one day (2023-11-14). Each earlier day repeats that day's
shape (a running median over 35 minutes, which keeps the batch jobs' edges)
at a level of its own (within +-8%) with fresh noise of the spread the trace
has around its shape, so the history teaches the shape, not the live day's
noise. Deterministic: run it again and the files do not change.

Why eight days: at the demo's 2 s cycle (10 trace minutes) a day is 144
steps, and the "auto" model looks for seasons at 128, 256, 512 and 1,024
values; in this history the day is first found at 1,024 (with five days, 720
steps, web and api started without it)."""

import csv
import datetime
import os
import random
import statistics

DAYS = 8
HERE = os.path.dirname(os.path.abspath(__file__))


def history(system, seed):
    with open(os.path.join(HERE, system + ".csv")) as f:
        rows = list(csv.DictReader(f))
    values = [float(r["value"]) for r in rows]
    first = datetime.datetime.strptime(rows[0]["timestamp"], "%Y-%m-%d %H:%M:%S")
    step = datetime.datetime.strptime(rows[1]["timestamp"], "%Y-%m-%d %H:%M:%S") - first
    n = len(values)
    shape = [statistics.median(values[max(0, i - 3):i + 4]) for i in range(n)]
    # The noise's spread, robustly: 1.4826 x the median absolute residual.
    spread = 1.4826 * statistics.median(abs(v - s) for v, s in zip(values, shape))
    rng = random.Random(seed)
    out = []
    for day in range(DAYS, 0, -1):
        level = 1.0 + rng.uniform(-0.08, 0.08)
        start = first - day * n * step
        for i in range(n):
            value = max(0.0, shape[i] * level + rng.gauss(0.0, spread))
            out.append(((start + i * step).strftime("%Y-%m-%d %H:%M:%S"), round(value, 1)))
    return out


for seed, system in enumerate(["web", "api", "batch"]):
    with open(os.path.join(HERE, system + "-history.csv"), "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["timestamp", "value"])
        writer.writerows(history(system, seed + 1))
