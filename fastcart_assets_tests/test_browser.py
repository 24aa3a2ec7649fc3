"""What a person sees in the Dagster UI: `dagster dev` (the real CLI) after a Silver backfill
of a clean day and a dirty day, read with headless Chromium (Debian's, driven by Playwright).

`FASTCART_SCREENSHOTS=docs/images` also saves the README's screenshots there.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path

import dagster as dg
import pytest

from fastcart_assets.definitions import build_definitions
from fastcart_assets.instance import DAGSTER_YAML
from fastcart_assets.kafka.broker import free_port
from fastcart_assets.kafka.topics import create_topic
from fastcart_assets.partitions import today_utc
from fastcart_assets.progress import RANGE_END_TAG, RANGE_START_TAG
from fastcart_assets.silver.assets import REJECTED_KEY, RULE_METRICS_KEY, SILVER_KEY
from fastcart_assets_tests.helpers import order_event
from fastcart_assets_tests.processes import background
from fastcart_assets_tests.silver.conftest import Lake

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
UI_TIMEOUT_MS = 180_000  # dagster dev on a loaded 2-core machine is slow to answer at first
CLEAN, DIRTY = today_utc() - timedelta(days=2), today_utc() - timedelta(days=1)


def _backfill(spark, settings, instance) -> None:
    """Bronze rows of a clean day and of a day with 30% malformed payloads and 5% unknown
    statuses, then one Silver run over both, recorded in `instance`."""
    lake = Lake(spark, settings.lake_root)

    def events(day, first, n, **overrides):
        stamp = f"{day}T08:{{:02d}}:00Z"
        return [order_event(first + i, timestamp=stamp.format(i), **overrides) for i in range(n)]

    def written(day):
        return datetime.combine(day, clock(12), UTC)

    lake.add_bronze(events(CLEAN, 0, 40), CLEAN, written(CLEAN))
    dirty = events(DIRTY, 100, 26) + events(DIRTY, 200, 2, status="returned") + [b"{broken"] * 12
    lake.add_bronze(dirty, DIRTY, written(DIRTY), first_offset=40)
    job = build_definitions(settings).get_implicit_global_asset_job_def()
    result = job.execute_in_process(
        asset_selection=[SILVER_KEY, REJECTED_KEY, RULE_METRICS_KEY],
        instance=instance,
        tags={
            RANGE_START_TAG: CLEAN.isoformat(),
            RANGE_END_TAG: DIRTY.isoformat(),
        },
    )
    assert result.success


@pytest.fixture
def dagster_dev(tmp_path, spark, settings, kafka):
    """`dagster dev` on a temporary instance holding the backfill; stopped with its process
    group (webserver, daemon, code servers, runs) whatever happens."""
    home = tmp_path / "dagster_home"
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        _backfill(spark, settings, instance)
    create_topic(kafka, kafka.topic, 3)  # empty: the Kafka sensor observes it, runs nothing
    port = free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "FASTCART_FIRST_DATE": CLEAN.isoformat(),
    }
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "dev", "-m", "fastcart_assets.definitions"]
    command += ["-h", "127.0.0.1", "-p", str(port)]
    log = tmp_path / "dagster_dev.log"
    with background(command, log, grace_s=3, cwd=REPO, env=env) as process:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + UI_TIMEOUT_MS / 1000
        while True:
            try:
                urllib.request.urlopen(f"{url}/server_info", timeout=5)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"dagster dev did not answer; see {log}") from None
                time.sleep(1)
        _mark_community_dialog_seen(url)
        yield url


def _mark_community_dialog_seen(url: str) -> None:
    """Tell the instance its first-visit newsletter dialog was seen: it would otherwise open a
    second after some page load and cover what the test clicks."""
    request = urllib.request.Request(
        f"{url}/graphql",
        data=b'{"query": "mutation { setNuxSeen }"}',
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert b'"setNuxSeen"' in response.read()


@pytest.fixture
def page(dagster_dev):
    playwright_api = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(viewport={"width": 1500, "height": 950}, base_url=dagster_dev)
            tab.set_default_timeout(UI_TIMEOUT_MS)
            yield tab
        finally:
            browser.close()


def _open(page, path: str, ready_text: str) -> None:
    page.goto(path)
    page.get_by_text(ready_text, exact=True).first.wait_for()


def _screenshot(page, tmp_path: Path, name: str) -> None:
    target = Path(os.environ.get("FASTCART_SCREENSHOTS", tmp_path))
    target.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target / f"{name}.png"))


def test_silver_checks_show_rates_per_partition_and_kafka_feeds_bronze(page, tmp_path):
    _open(page, "/assets/silver/ecommerce_sales?view=checks", "rule_malformed_json")
    listed = page.locator("body").inner_text()
    for check in ("rule_malformed_json", "rule_stale_timestamp", "no_hard_rule_rows"):
        assert check in listed

    page.get_by_text("rule_malformed_json", exact=True).first.click()
    page.get_by_text(
        "12 of 40 Bronze rows (30.00%) rejected for malformed_json: ERROR"
    ).first.wait_for()
    page.get_by_text("Plots", exact=True).first.wait_for()
    shown = page.locator("body").inner_text()
    assert DIRTY.isoformat() in shown and "rows_checked" in shown and "error_rate" in shown
    _screenshot(page, tmp_path, "silver-check-error")

    page.get_by_text("Execution history", exact=True).first.click()
    page.get_by_text(CLEAN.isoformat(), exact=True).first.wait_for()
    history = page.locator("body").inner_text()
    assert "Failed" in history and "Passed" in history
    assert "(0.00%) rejected for malformed_json: OK" in history
    _screenshot(page, tmp_path, "silver-check-history")

    page.get_by_text("rule_invalid_status", exact=True).first.click()
    page.get_by_text("(5.00%) flagged invalid_status: WARN").first.wait_for()

    _open(page, "/assets/bronze/ecommerce_sales?view=lineage", "kafka")
    kafka = page.get_by_text("kafka", exact=True).first.bounding_box()
    bronze = page.get_by_text("bronze", exact=True).last.bounding_box()
    silver = page.get_by_text("silver", exact=True).last.bounding_box()
    assert kafka["x"] < bronze["x"] < silver["x"]  # the topic upstream of Bronze, then Silver
    page.wait_for_function("() => !document.body.innerText.includes('Loading...')")
    _screenshot(page, tmp_path, "lineage-kafka-bronze-silver")
