"""`fastcart forget` end to end: a stream with two customers through `fastcart run`, then the
first one forgotten — no trace left under the lake root (old versions included), the other
untouched, the reconciliations true, Gold equal to a lake that never saw the first customer, and
nothing brought back by a later run, a Silver re-run or a Bronze replay from Kafka."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from deltalake import DeltaTable

from fastcart_assets.bronze.replay import replay_partition
from fastcart_assets.bronze.table import stored_positions
from fastcart_assets.cli.main import cli
from fastcart_assets.definitions import build_definitions
from fastcart_assets.delta import record_retention
from fastcart_assets.instance import get_instance
from fastcart_assets.kafka.topics import create_topic
from fastcart_assets.lake_compare import gold_snapshot, snapshot_differences
from fastcart_assets.maintenance import maintain_table
from fastcart_assets.partitions import today_utc
from fastcart_assets.pipeline import execute
from fastcart_assets.resources.kafka import KafkaResource
from fastcart_assets.resources.spark import spark_session
from fastcart_assets.settings import Settings
from fastcart_assets.tables import BRONZE, RULE_METRICS, SILVER, SILVER_REJECTED
from fastcart_assets.validation import validate
from fastcart_assets_tests.forget.traces import traces
from fastcart_assets_tests.helpers import order_event

FORGOTTEN = {
    "customer_id": "CUST-FORGET-1",
    "customer_email": "forget.me@example.org",
    "shipping_address": {
        "street": "1 Forgotten Lane",
        "city": "Erasedville",
        "state": "ZZ",
        "zip_code": "99999",
        "country": "Nowhereland",
    },
}
KEPT = {
    "customer_id": "CUST-KEEP-2",
    "customer_email": "keep.me@example.org",
    "shipping_address": {
        "street": "2 Kept Street",
        "city": "Keeptown",
        "state": "IL",
        "zip_code": "62701",
        "country": "USA",
    },
}
# Strings of the forgotten customer that may sit inside longer values (`_raw`, a log line).
SECRETS = ("CUST-FORGET-1", "forget.me@example.org", "1 Forgotten Lane", "Erasedville")
# Short ones, only ever whole values.
EXACT = {"ZZ", "99999", "Nowhereland"}


def _event(number: int, who: dict, day, status: str, hour: int, total: float, **extra) -> dict:
    return order_event(
        number,
        **who,
        status=status,
        timestamp=f"{day}T{hour:02d}:{number % 60:02d}:00Z",
        quantity=1,
        price=total,
        total=total,
        **extra,
    )


def _stream(with_forgotten: bool) -> list[tuple[str, bytes, list]]:
    """(key, value, headers) of three days of orders: many of the kept customer's, a few of the
    forgotten one's with every kind of row that can hold them."""
    days = [today_utc() - timedelta(days=n) for n in (3, 2, 1)]
    kept_header = [("x-customer", b"CUST-KEEP-2")]
    messages = []
    for d, day in enumerate(days):
        for n in range(20):
            number = 20_000_000 + 100 * d + n
            for status, hour in (("pending", 8), ("shipped", 14)):
                event = _event(number, KEPT, day, status, hour, 7.0 + n)
                messages.append((event["order_id"], event, kept_header))
    messages.append(
        (
            "ORD-20000999",
            _event(20_000_999, KEPT, days[0], "pending", 9, 0.0, loyalty_note="regular"),
            kept_header,
        )
    )
    if with_forgotten:
        messages += _forgotten_messages(days)
    return [
        (key, value if isinstance(value, bytes) else json.dumps(value).encode(), headers)
        for key, value, headers in messages
    ]


def _forgotten_messages(days) -> list[tuple[str, dict | bytes, list]]:
    header = [("x-customer", b"CUST-FORGET-1"), ("x-email", b"forget.me@example.org")]
    messages = []
    for d, day in enumerate(days):
        number = 10_000_000 + d
        pending = _event(number, FORGOTTEN, day, "pending", 10, 150.0 + d)
        if d == 2:
            pending["loyalty_note"] = "forget.me@example.org is a vip"  # an evolved column
        shipped = _event(number, FORGOTTEN, day, "shipped", 16, 150.0 + d)
        messages += [(pending["order_id"], pending, header), (shipped["order_id"], shipped, [])]
    first = _event(10_000_000, FORGOTTEN, days[0], "pending", 10, 150.0)
    messages.append((first["order_id"], first, header))  # a duplicate
    nameless = {**_event(10_000_000, FORGOTTEN, days[0], "confirmed", 11, 150.0)}
    nameless["customer_id"] = None  # rejected: missing_customer_id, still their email
    messages.append((nameless["order_id"], nameless, []))
    cut = json.dumps(_event(10_000_001, FORGOTTEN, days[1], "processing", 12, 151.0)).encode()
    messages.append(("ORD-10000001", cut[: len(cut) // 2 + 40], []))  # malformed_json
    bad_total = _event(10_000_009, FORGOTTEN, days[1], "pending", 13, -5.0)
    messages.append((bad_total["order_id"], bad_total, header))  # invalid_total
    return messages


def _produce(kafka: KafkaResource, messages) -> None:
    create_topic(kafka, kafka.topic, 2, exist_ok=True)
    producer = kafka.producer()
    for key, value, headers in messages:
        producer.produce(kafka.topic, key=key.encode(), value=value, headers=headers)
    assert producer.flush(30) == 0


def _cli(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _traces(root: Path) -> list[str]:
    return traces(root, SECRETS, EXACT)


def _rows(spark, settings: Settings, table, customer_id: str) -> list[tuple]:
    frame = spark.read.format("delta").load(settings.table_path(table.path))
    frame = frame.where(frame.customer_id == customer_id)
    return sorted(tuple(r) for r in frame.collect())


def _lake(tmp_path: Path, monkeypatch, broker, name: str, messages) -> Settings:
    """A lake of its own (root, topic, instance) filled by `fastcart run` from `messages`."""
    monkeypatch.setenv("FASTCART_KAFKA_BOOTSTRAP", broker.address)
    monkeypatch.setenv("FASTCART_LAKE_ROOT", str(tmp_path / name / "lakehouse"))
    monkeypatch.setenv("FASTCART_KAFKA_TOPIC", f"forget-{name}-{tmp_path.name[-8:]}")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / name / "dagster_home"))
    settings = Settings.from_env()
    _produce(KafkaResource(bootstrap_servers=broker.address, topic=settings.kafka_topic), messages)
    result = _cli("run")
    assert result.exit_code == 0, result.output
    return settings


@pytest.mark.slow
def test_forget_erases_a_customer_everywhere_and_for_good(tmp_path, monkeypatch, broker):
    spark = spark_session()
    clean = _lake(tmp_path, monkeypatch, broker, "clean", _stream(with_forgotten=False))
    expected_gold = gold_snapshot(clean)
    lake = _lake(tmp_path, monkeypatch, broker, "forget", _stream(with_forgotten=True))
    root = Path(lake.lake_uri)
    assert _traces(root)  # the customer is there, in every layer
    kept_before = {t.path: _rows(spark, lake, t, "CUST-KEEP-2") for t in (BRONZE, SILVER)}

    unknown = _cli("forget", "CUST-NOBODY")
    assert unknown.exit_code == 0 and "no data found" in unknown.output, unknown.output
    blank = CliRunner().invoke(cli, ["forget", "   "])
    assert blank.exit_code == 1 and "Traceback" not in blank.output

    result = _cli("forget", "CUST-FORGET-1")
    assert result.exit_code == 0, result.output
    assert "bronze/ecommerce_sales" in result.output and "vacuumed" in result.output
    assert "forget.me@example.org" not in result.output
    assert _traces(root) == []
    home = Path(lake.dagster_home).resolve()
    instance_bytes = b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())
    assert b"forget.me@example.org" not in instance_bytes  # never logged
    assert b"CUST-FORGET-1" not in instance_bytes  # not in a tag, run config, log or preview

    again = _cli("forget", "CUST-FORGET-1")  # nothing of them is left to find
    assert again.exit_code == 0 and "no data found" in again.output, again.output

    kept_after = {t.path: _rows(spark, lake, t, "CUST-KEEP-2") for t in (BRONZE, SILVER)}
    assert kept_after == kept_before
    assert _cli("validate").exit_code == 0
    report = validate(spark, lake)
    assert report.passed and report.rejected_by_reason["erased"] == 10
    assert snapshot_differences(gold_snapshot(lake), expected_gold) == {}

    # Nothing brings the customer back: the topic still holds every message, and Bronze's
    # resume point in some partition is an erased row (checked by its key alone).
    bronze_path = lake.table_path(BRONZE.path)
    positions = stored_positions(bronze_path, lake.kafka_topic, 1)
    assert any(p.erased for p in positions.values())
    rows_before = spark.read.format("delta").load(bronze_path).count()
    _produce(
        KafkaResource(bootstrap_servers=broker.address, topic=lake.kafka_topic),
        _stream(with_forgotten=False)[:2],
    )
    later = _cli("run")
    assert later.exit_code == 0, later.output
    defs = build_definitions(lake)
    instance = get_instance(lake)
    keys = [SILVER.asset_key, SILVER_REJECTED.asset_key, RULE_METRICS.asset_key]
    today = today_utc()
    assert execute(defs, instance, "silver", keys, today, today).success
    kafka = KafkaResource(bootstrap_servers=broker.address, topic=lake.kafka_topic)
    replayed = replay_partition(spark, kafka, bronze_path, today)
    bronze = spark.read.format("delta").load(bronze_path)
    assert replayed.rows_written == bronze.count() == rows_before + 2  # C1's rows read again
    assert bronze.where(bronze._raw.isNull()).count() == 10  # ... and blanked again
    assert execute(defs, instance, "silver", keys, today, today).success
    assert _traces(root) == []  # not in any file, current or older
    report = validate(spark, lake)
    assert report.passed and report.rejected_by_reason["erased"] == 10


@pytest.mark.slow
def test_forget_past_retention_removes_and_redacts_what_cannot_be_recomputed(
    tmp_path, monkeypatch, broker
):
    """Bronze keeps 90 days, Silver 365, Gold for ever: Silver rows whose Bronze row is gone are
    removed (and rejected rows blanked) directly, and customer snapshots older than Silver's
    retention are redacted, their numbers kept."""
    spark = spark_session()
    lake = _lake(tmp_path, monkeypatch, broker, "retained", _stream(with_forgotten=True))
    today = today_utc()
    maintain_table(lake, BRONZE, today + timedelta(days=100), dry_run=False)  # Bronze expired
    silver_cutoff = today - timedelta(days=1)
    record_retention(DeltaTable(lake.table_path(SILVER.path)), silver_cutoff)
    top = lake.table_path("gold/customer_analytics/top_customers")
    spent = {
        r.snapshot_date: r.total_spent
        for r in spark.read.format("delta")
        .load(top)
        .where("customer_id = 'CUST-FORGET-1'")
        .collect()
    }
    assert min(spent) < silver_cutoff <= max(spent)

    result = _cli("forget", "CUST-FORGET-1")
    assert result.exit_code == 0, result.output
    assert "redacted" in result.output
    assert traces(Path(lake.lake_uri), SECRETS) == []
    rejected = spark.read.format("delta").load(lake.table_path(SILVER_REJECTED.path))
    erased = rejected.where(rejected.rejection_reasons[0] == "erased").collect()
    assert len(erased) == 3 and all(r._raw is None and r.customer_email is None for r in erased)
    assert (
        spark.read.format("delta")
        .load(lake.table_path(SILVER.path))
        .where("customer_id = 'CUST-FORGET-1'")
        .count()
        == 0
    )
    redacted = {
        r.snapshot_date: r.total_spent
        for r in spark.read.format("delta").load(top).where("customer_id IS NULL").collect()
    }
    assert redacted == {day: value for day, value in spent.items() if day < silver_cutoff}
