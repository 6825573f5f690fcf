#!/usr/bin/env python3
"""Repeatability of saved runs: for every benchmark in all of them, the
spread of the medians and the share of ordered pairs (run i, run j) in which
run j's median lies inside run i's 95% CI. Two honest 95% intervals of equal
width give about 83%; the goal is at least 75%.

    scripts/repeatability.py RUN_DIR_OR_JSON... [--list]

Prints a summary and, with --list, every benchmark below 75%.
"""
import json, os, sys, statistics

def load(p):
    if os.path.isdir(p):
        p = os.path.join(p, "results.json")
    with open(p) as f:
        return json.load(f)

def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) < 2:
        sys.exit(__doc__)
    runs = [load(a) for a in args]
    per = []
    for b in runs[0]["benchmarks"]:
        name = b["name"]
        bs = []
        for r in runs:
            x = next((y for y in r["benchmarks"] if y["name"] == name), None)
            if x is None or x.get("error") or x.get("skipped") or not x.get("samples"):
                break
            bs.append(x)
        if len(bs) != len(runs):
            continue
        meds = [x["summary"]["median"] for x in bs]
        hits = pairs = 0
        for i, a in enumerate(bs):
            lo, hi = a["summary"].get("ci95_low", 0), a["summary"].get("ci95_high", 0)
            if hi == 0:
                continue
            for j, c in enumerate(bs):
                if i == j:
                    continue
                pairs += 1
                hits += lo <= c["summary"]["median"] <= hi
        m = statistics.median(meds)
        spread = (max(meds) - min(meds)) / m if m else 0
        widths = [ (x["summary"]["ci95_high"] - x["summary"]["ci95_low"]) / x["summary"]["median"] for x in bs if x["summary"].get("ci95_high")]
        per.append((name, spread, hits, pairs, statistics.median(widths) if widths else float("nan")))
    total_h = sum(p[2] for p in per); total_p = sum(p[3] for p in per)
    ok = [p for p in per if p[3] and p[2] / p[3] >= 0.75]
    print(f"{len(per)} benchmarks in all {len(runs)} runs")
    print(f"pairs with the other run's median inside the CI: {total_h}/{total_p} = {100*total_h/max(1,total_p):.0f}%")
    print(f"benchmarks at >= 75% of their pairs: {len(ok)}/{len(per)} = {100*len(ok)/max(1,len(per)):.0f}%")
    spreads = sorted(p[1] for p in per)
    print(f"spread of the medians ((max-min)/median): median {100*statistics.median(spreads):.1f}%, p90 {100*spreads[int(0.9*(len(spreads)-1))]:.1f}%, max {100*spreads[-1]:.1f}%")
    ws = sorted(p[4] for p in per if p[4] == p[4])
    if ws:
        print(f"CI full width: median {100*statistics.median(ws):.1f}%, p90 {100*ws[int(0.9*(len(ws)-1))]:.1f}%")
    if "--list" in sys.argv:
        print("\nbelow 75% (name: spread, hits/pairs, CI width):")
        for name, spread, h, p, w in per:
            if not p or h / p < 0.75:
                print(f"  {name}: {100*spread:.1f}%, {h}/{p}, ±{50*w:.1f}%")

main()
