"""`fastcart bench`: the benchmark (see fastcart_assets/bench.py)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click


@click.command()
@click.option(
    "--events",
    type=click.IntRange(min=1000),
    default=200_000,
    show_default=True,
    help="events to produce (200,000 = one FastCart day)",
)
@click.option("--no-jvm", is_flag=True, help="skip the local JVM Spark comparison")
@click.option(
    "--history",
    default="0,7,30",
    show_default=True,
    help="history lengths (days) for the small-catch-up series; empty to skip it",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("benchmarks/results.json"),
    show_default=True,
)
def bench(events: int, no_jvm: bool, history: str, output: Path) -> None:
    """Time the pipeline end to end and per layer, against JVM Spark and a pyarrow limit,
    and a small catch-up on lakes holding 0, 7 and 30 days of history."""
    from fastcart_assets.bench import run_bench, write_results
    from fastcart_assets.bench_history import history_series

    try:
        days = [int(d) for d in history.split(",") if d.strip()]
    except ValueError:
        message = "comma-separated whole days, e.g. 0,7,30"
        raise click.BadParameter(message, param_hint="--history") from None
    if any(d < 0 for d in days):
        raise click.BadParameter("days cannot be negative", param_hint="--history")

    def log(text: str) -> None:
        click.echo(text, err=True)

    try:
        result = run_bench(events, jvm=not no_jvm, log=log)
        if days:
            result.history = [asdict(p) for p in history_series(log, days)]
    except RuntimeError as error:  # a pipeline run of the benchmark failed
        raise click.ClickException(str(error)) from None
    rows = [
        ("events", f"{result.events:,} ({result.megabytes:.1f} MB of JSON)"),
        ("end to end (fastcart run)", f"{result.end_to_end_s:.2f} s"),
        ("  engine start (Sail, during Bronze)", f"{result.engine_start_s:.2f} s"),
        *[(f"  {name}", f"{seconds:.2f} s") for name, seconds in result.layers_s.items()],
        ("  of which Kafka read", f"{result.kafka_read_s:.2f} s"),
        ("throughput", f"{result.events_per_s:,.0f} events/s, {result.mb_per_s:.1f} MB/s"),
        ("peak RSS (process tree)", f"{result.peak_rss_mb:,.0f} MB"),
        ("Silver+Gold transforms, Sail", f"{result.transforms_sail_s:.2f} s"),
    ]
    if result.transforms_jvm_s is not None:
        rows += [
            (
                "Silver+Gold transforms, JVM Spark",
                f"{result.transforms_jvm_s:.2f} s (+{result.jvm_start_s:.1f} s start)",
            ),
            ("JVM / ours", f"{result.jvm_ratio:.1f}x"),
        ]
    rows.append(("limit proxy (pyarrow JSON+Parquet)", f"{result.limit_proxy_s:.2f} s"))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        click.echo(f"{name:<{width}}  {value}")
    if result.history:
        click.echo(_history_table(result.history))
    write_results(result, output)
    click.echo(f"written to {output}")


def _history_table(points: list[dict]) -> str:
    """The history series: one line per history length, seconds per layer."""
    from fastcart_assets.bench_history import BATCH_EVENTS, HISTORY_DAY_EVENTS

    layers = list(dict.fromkeys(name for p in points for name in p["layers_s"]))
    head = ["history", "lake events", "catch-up", "ratio", *layers]
    lines = [
        f"small catch-up ({BATCH_EVENTS:,} events) on lakes of {HISTORY_DAY_EVENTS:,}-event days:",
        "  " + " | ".join(head),
    ]
    for p in points:
        cells = [
            f"{p['days']} days",
            f"{p['history_events']:,}",
            f"{p['catch_up_s']:.2f} s",
            f"{p['ratio']:.2f}x" if p["ratio"] is not None else "-",
            *[f"{p['layers_s'].get(name, 0.0):.2f} s" for name in layers],
        ]
        lines.append("  " + " | ".join(cells))
    return "\n".join(lines)
