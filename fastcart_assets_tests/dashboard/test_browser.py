"""`fastcart dashboard` in a real browser: the tiles show Gold, then follow a catch-up."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from fastcart_assets.dashboard.data.lake import LakeReader, latest_day
from fastcart_assets.dashboard.ui import REFRESH_S
from fastcart_assets.resources.kafka import KafkaResource
from fastcart_assets.settings import Settings
from fastcart_assets_tests.dashboard.browser import TILE, chromium_page, tile_texts
from fastcart_assets_tests.dashboard.conftest import (
    catch_up,
    fill,
    lake_env,
    new_orders,
    produce_singly,
    query,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def live_lake(broker, tmp_path, monkeypatch) -> dict[str, str]:
    env = lake_env(tmp_path, broker.address, f"live-{uuid.uuid4().hex[:8]}")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    fill(KafkaResource(bootstrap_servers=broker.address, topic=env["FASTCART_KAFKA_TOPIC"]), 30, 3)
    catch_up()
    return env


def gold_tiles() -> dict[str, str]:
    """The Sales tiles of the day the page shows, written from `fastcart query` output."""
    days = LakeReader(Settings.from_env()).partition_values(
        "gold/sales_performance/conversion_metrics", "date"
    )
    day = latest_day(days, datetime.now(UTC).date())
    [conversion] = query("conversion_metrics", day)
    revenue = sum(float(r["total_revenue"]) for r in query("daily_product_revenue", day))
    return {
        "Orders created": f"{int(conversion['total_orders_created']):,}",
        "Shipped revenue": f"${revenue:,.2f}",
        "Conversion rate": f"{float(conversion['conversion_rate']):.2f} %",
        "Cancellation rate": f"{float(conversion['cancellation_rate']):.2f} %",
    }


def test_tiles_equal_gold_and_change_within_two_refreshes_of_a_catch_up(live_lake, server_process):
    url = server_process("dashboard", live_lake, "/_stcore/health")
    before = gold_tiles()
    with chromium_page() as page:
        page.goto(url)
        page.wait_for_selector(TILE, timeout=30_000)
        page.wait_for_function(f"document.querySelectorAll('{TILE}').length === 4")
        assert tile_texts(page) == before

        kafka = KafkaResource(
            bootstrap_servers=live_lake["FASTCART_KAFKA_BOOTSTRAP"],
            topic=live_lake["FASTCART_KAFKA_TOPIC"],
        )
        now = datetime.now(UTC)
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        created = max(now - timedelta(minutes=3), midnight)  # today, the day the page shows
        produce_singly(kafka, new_orders(91_000_000, 5, created, shipped=True))
        catch_up()
        after = gold_tiles()
        assert after != before
        caught_up = time.monotonic()
        deadline = caught_up + 2 * REFRESH_S + 2  # two refreshes, plus time to draw
        shown = tile_texts(page)
        while shown != after and time.monotonic() < deadline:
            time.sleep(0.25)
            shown = tile_texts(page)
        assert shown == after, f"after {time.monotonic() - caught_up:.1f} s the page shows {shown}"
