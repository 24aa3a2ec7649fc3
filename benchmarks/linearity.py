"""Linearity: `fastcart bench` (without JVM) at several sizes, and a straight-line fit.

Each size runs the whole benchmark in a process of its own, as `fastcart bench --events N
--no-jvm --history ""` (fresh broker, lake, instance and engine). The fit
`seconds = fixed + per_million × millions` shows whether time grows linearly with events:
R² near 1 and a per-event cost that does not rise with size.

    .venv/bin/python benchmarks/linearity.py [--sizes 50000,200000,1000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent / "linearity.json"


def fit(points: list[tuple[float, float]]) -> tuple[float, float, float]:
    """Least squares `y = a + b x`; returns (a, b, R²)."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    b = sxy / sxx
    a = mean_y - b * mean_x
    total = sum((y - mean_y) ** 2 for _, y in points)
    residual = sum((y - a - b * x) ** 2 for x, y in points)
    return a, b, 1 - residual / total if total else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50000,200000,1000000")
    args = parser.parse_args()
    sizes = sorted({int(size) for size in args.sizes.split(",")})
    if len(sizes) < 2:
        parser.error(
            "a line needs at least two different sizes (fastcart bench --events N times one)"
        )
    runs = []
    for size in sizes:
        print(f"--- {size:,} events", file=sys.stderr)
        runs.append(bench_alone(size))
    fixed, per_event, r2 = fit([(r["events"], r["end_to_end_s"]) for r in runs])
    print(f"{'events':>10} {'end to end':>11} {'µs/event':>9} {'events/s':>9} {'peak RSS':>9}")
    for r in runs:
        per = r["end_to_end_s"] / r["events"] * 1e6
        print(
            f"{r['events']:>10,} {r['end_to_end_s']:>9.1f} s {per:>9.1f} "
            f"{r['events_per_s']:>9,.0f} {r['peak_rss_mb']:>6,.0f} MB"
        )
    print(f"fit: {fixed:.1f} s fixed + {per_event * 1e6:.1f} s per million events, R² = {r2:.4f}")
    summary = {
        "runs": runs,
        "fit": {"fixed_s": fixed, "s_per_million_events": per_event * 1e6, "r2": r2},
    }
    OUTPUT.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"written to {OUTPUT}")


def bench_alone(events: int) -> dict:
    """`fastcart bench` for `events`, without the JVM and history, in a process of its own."""
    fastcart = Path(sys.executable).with_name("fastcart")
    with tempfile.TemporaryDirectory(prefix="fastcart-linearity-") as tmp:
        output = Path(tmp) / "result.json"
        command = [fastcart, "bench", "--events", str(events), "--no-jvm", "--history", ""]
        subprocess.run([*command, "--output", str(output)], check=True, stdout=sys.stderr)
        return json.loads(output.read_text())


if __name__ == "__main__":
    main()
