#!/usr/bin/env python3
"""Ratios between two servers of one `echo-bench suite --json` run, as the suite computes them
against its baseline: per workload, the median over rounds of (A / B) for server CPU per round
trip and for round trips per second, each round's pair measured minutes apart at most.

    benchmarks/ratios.py results/io-uring-floors-2026-12-07.json io_uring c_uring
"""
import json
import statistics
import sys


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__.strip(), file=sys.stderr)
        return 64
    path, a, b = sys.argv[1:]
    with open(path) as f:
        runs = json.load(f)["runs"]
    rounds: dict[tuple[str, int], dict[str, dict]] = {}
    for run in runs:
        rounds.setdefault((run["workload_name"], run["round"]), {})[run["server"]] = run
    pairs: dict[str, list[tuple[float, float]]] = {}
    for (workload, _), servers in rounds.items():
        if a in servers and b in servers and servers[b]["round_trips"] and servers[a]["round_trips"]:
            x, y = servers[a], servers[b]
            pairs.setdefault(workload, []).append((
                x["server_cpu_us_per_round_trip"] / y["server_cpu_us_per_round_trip"],
                x["round_trips_per_s"] / y["round_trips_per_s"]))
    if not pairs:
        print(f"no round measured both {a!r} and {b!r}", file=sys.stderr)
        return 65
    print(f"{a} / {b}, median of the per-round ratios")
    print(f"{'workload':20} {'CPU/rt':>7} {'rt/s':>6}  per-round CPU ratios")
    for workload, values in pairs.items():
        cpu = statistics.median(v[0] for v in values)
        rate = statistics.median(v[1] for v in values)
        spread = " ".join(f"{v[0]:.2f}" for v in values)
        print(f"{workload:20} {cpu:7.3f} {rate:6.3f}  {spread}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
