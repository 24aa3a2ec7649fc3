"""`fastcart`: the command line of the FastCart lakehouse (SPEC.md §3)."""

from __future__ import annotations

import warnings

import click

from fastcart_assets.cli.bench import bench
from fastcart_assets.cli.generate import generate
from fastcart_assets.cli.kafka import kafka
from fastcart_assets.cli.lake import query, sql, ui
from fastcart_assets.cli.maintenance import history, maintain
from fastcart_assets.cli.monitor import dashboard, metrics
from fastcart_assets.cli.pipeline import demo, run, validate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """FastCart lakehouse: Kafka order events to Bronze, Silver and Gold Delta tables.

    Configuration comes from the environment: FASTCART_LAKE_ROOT (default ./lakehouse),
    FASTCART_KAFKA_BOOTSTRAP (127.0.0.1:9092), FASTCART_KAFKA_TOPIC (ecommerce-sales),
    FASTCART_SPARK_REMOTE (unset: embedded Sail), DAGSTER_HOME (./.dagster_home).
    """
    # Dagster's deprecation notices are for code authors, not for command-line users.
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)


for command in (
    kafka,
    generate,
    run,
    validate,
    demo,
    query,
    sql,
    ui,
    dashboard,
    metrics,
    bench,
    maintain,
    history,
):
    cli.add_command(command)
