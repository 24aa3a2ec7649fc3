"""`fastcart`: the command line of the FastCart lakehouse (SPEC.md §3)."""

from __future__ import annotations

import warnings

import click

from fastcart_assets.cli.bench import bench
from fastcart_assets.cli.forget import forget
from fastcart_assets.cli.generate import generate
from fastcart_assets.cli.kafka import kafka
from fastcart_assets.cli.lake import query, sql, ui
from fastcart_assets.cli.maintenance import history, maintain
from fastcart_assets.cli.monitor import dashboard, metrics
from fastcart_assets.cli.pipeline import demo, run, validate
from fastcart_assets.errors import FastcartError
from fastcart_assets.settings import Settings, SettingsError


class FastcartGroup(click.Group):
    """Shows every FastcartError (a failure a person can act on) as one line, no traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except FastcartError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=FastcartGroup, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """FastCart lakehouse: Kafka order events to Bronze, Silver and Gold Delta tables.

    Configuration comes from the environment: FASTCART_LAKE_ROOT (default ./lakehouse),
    FASTCART_KAFKA_BOOTSTRAP (127.0.0.1:9092), FASTCART_KAFKA_TOPIC (ecommerce-sales),
    FASTCART_SPARK_REMOTE (unset: embedded Sail), FASTCART_FIRST_DATE (2024-01-01),
    DAGSTER_HOME (./.dagster_home); docs/SPEC.md §3 lists them all.
    """
    quiet_dagster_notices()
    try:
        Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


# Dagster's notices about its own beta and preview APIs are for code authors, not for people
# running commands; every other warning still shows.
DAGSTER_NOTICES = (
    r".*is currently in beta.*",
    r".*is currently in preview.*",
    r".*is a beta.*",
    r".*is a preview.*",
)


def quiet_dagster_notices() -> None:
    for message in DAGSTER_NOTICES:
        warnings.filterwarnings("ignore", message=message)


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
    forget,
):
    cli.add_command(command)
