#!/usr/bin/env python3
"""Plots FastMlp's throughput across the stored runs in perf-reports/ (BenchmarkDotNet *-report-full.json).

Each run is the prefix of its file names (date-commit-cpu-isa...); a series is one FastMlp benchmark case on
784-256-128-10 (predict, batch-256 forward, training steps), in samples/s. Writes throughput.svg beside this file.
Usage: python3 perf-reports/plot_throughput.py
"""
import glob, json, os, re, subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
ARCH = "784-256-128-10"
SERIES = {  # (method names, extra parameters) -> label
    ("Predict", ""): "predict (1 sample)",
    ("Forward256", ""): "forward, batch 256",
    ("Step", "Batch=32&Threads=1"): "train step, batch 32, 1 thread",
    ("Step", "Batch=256&Threads=1"): "train step, batch 256, 1 thread",
    ("Step", "Batch=256&Threads=2"): "train step, batch 256, 2 threads",
}
# The suite (ForwardBenchmarks, TrainStepBenchmarks) and the peer classes name FastMlp's cases differently.
METHOD = {("ForwardBenchmarks", "Predict"): "Predict", ("ForwardBenchmarks", "Forward256"): "Forward256",
          ("TrainStepBenchmarks", "Step"): "Step", ("PeerPredictBenchmarks", "FastMlp"): "Predict",
          ("PeerForward256Benchmarks", "FastMlp"): "Forward256", ("PeerTrainStepBenchmarks", "FastMlp"): "Step"}


def samples(method, params):
    if method == "Predict": return 1
    if method == "Forward256": return 256
    return int(re.search(r"Batch=(\d+)", params).group(1))


def load():
    runs = {}
    for path in sorted(glob.glob(os.path.join(HERE, "*-report-full.json"))):
        run = "-".join(os.path.basename(path).split("-")[:5])  # 2026-11-23-<commit>-<cpu>
        for b in json.load(open(path))["Benchmarks"]:
            method = METHOD.get((b["Type"], b["Method"]))
            params = b["Parameters"]
            if method is None or f"Arch={ARCH}" not in params or not b.get("Statistics"):
                continue
            rest = "&".join(p for p in params.split("&") if not p.startswith("Arch="))
            label = SERIES.get((method, rest))
            if label:
                runs.setdefault(run, {})[label] = samples(method, params) / b["Statistics"]["Mean"] * 1e9
    return runs


def commit_time(run):
    """Orders runs by their commit's date (file names sort commits alphabetically, not in time)."""
    commit = run.split("-")[3]
    try:
        out = subprocess.run(["git", "-C", HERE, "show", "-s", "--format=%ct", commit], capture_output=True, text=True)
        return (run[:10], int(out.stdout.strip() or 0), run)
    except OSError:
        return (run[:10], 0, run)


def svg(runs):
    names = sorted(runs, key=commit_time)
    labels = list(SERIES.values())
    top = max(v for r in runs.values() for v in r.values()) * 1.1
    w, h, left, bottom, right, head = 760, 420, 80, 60, 240, 30
    x = lambda i: left + (i + 0.5) * (w - left - right) / max(len(names), 1)
    y = lambda v: h - bottom - v / top * (h - bottom - head)
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<text x="{left}" y="18" font-size="14">FastMlp {ARCH}: samples/s per stored run</text>',
           f'<line x1="{left}" y1="{h-bottom}" x2="{w-right}" y2="{h-bottom}" stroke="black"/>',
           f'<line x1="{left}" y1="{head}" x2="{left}" y2="{h-bottom}" stroke="black"/>']
    for k in range(6):
        v = top * k / 5
        out.append(f'<text x="{left-6}" y="{y(v)+4:.1f}" text-anchor="end">{v/1000:,.0f}k</text>')
        out.append(f'<line x1="{left}" y1="{y(v):.1f}" x2="{w-right}" y2="{y(v):.1f}" stroke="#ddd"/>')
    for i, n in enumerate(names):
        out.append(f'<text x="{x(i):.1f}" y="{h-bottom+16}" text-anchor="middle">{n[11:]}</text>')
    for s, label in enumerate(labels):
        pts = [(x(i), y(runs[n][label])) for i, n in enumerate(names) if label in runs[n]]
        c = colors[s % len(colors)]
        if len(pts) > 1:
            out.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in pts)}"/>')
        out += [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="4" fill="{c}"/>' for a, b in pts]
        out.append(f'<rect x="{w-right+12}" y="{head+18*s}" width="12" height="12" fill="{c}"/>')
        out.append(f'<text x="{w-right+30}" y="{head+18*s+11}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out)


if __name__ == "__main__":
    runs = load()
    if not runs:
        raise SystemExit("no FastMlp 784-256-128-10 results found in perf-reports/*-report-full.json")
    with open(os.path.join(HERE, "throughput.svg"), "w") as f:
        f.write(svg(runs))
    for run in sorted(runs, key=commit_time):
        print(run, {k: round(v) for k, v in runs[run].items()})
