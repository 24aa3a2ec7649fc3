"""`fastcart bench`: the benchmark (see fastcart_assets/bench.py)."""

from __future__ import annotations

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
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("benchmarks/results.json"),
    show_default=True,
)
def bench(events: int, no_jvm: bool, output: Path) -> None:
    """Time the pipeline end to end and per layer, against JVM Spark and a pyarrow limit."""
    from fastcart_assets.bench import run_bench, write_results

    result = run_bench(events, jvm=not no_jvm, log=lambda text: click.echo(text, err=True))
    rows = [
        ("events", f"{result.events:,} ({result.megabytes:.1f} MB of JSON)"),
        ("end to end (fastcart run)", f"{result.end_to_end_s:.2f} s"),
        ("  engine start (Sail)", f"{result.engine_start_s:.2f} s"),
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
    write_results(result, output)
    click.echo(f"written to {output}")
