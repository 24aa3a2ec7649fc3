"""Dashboard first paint: seconds from opening the Sales page to its four KPI tiles drawn.

Builds a three-day demo lake (the orders `fastcart demo` generates, on a private embedded
broker, through `fastcart run`) unless `--lake` names an existing lake root, starts
`fastcart dashboard` on a free port, and opens the page in headless Chromium (Debian's
`chromium`, driven by Playwright) `--runs` times, each in a new page of one browser profile.
The first load (new server, empty browser cache) is reported as cold, the median of the others
as warm; the target (issue 16) is 2 s. Prints the figures as JSON and stops everything it
started.

    .venv/bin/python benchmarks/dashboard_paint.py [--lake PATH] [--days 3] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright

from fastcart_assets.generator.orders import GeneratorConfig
from fastcart_assets.generator.producer import KafkaSink, generate
from fastcart_assets.kafka import broker as embedded
from fastcart_assets.kafka.topics import create_topic
from fastcart_assets.resources.kafka import KafkaResource

TARGET_S = 2.0
TILES = '[data-testid="stMetricValue"]'
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BIN = Path(sys.executable).parent


def build_lake(work: Path, days: int) -> dict[str, str]:
    """A demo lake of `days` days under `work`; returns the environment that points at it."""
    state_dir = work / "state"
    state, _ = embedded.start(embedded.free_port(), state_dir)
    try:
        env = {
            "FASTCART_LAKE_ROOT": str(work / "lakehouse"),
            "FASTCART_KAFKA_BOOTSTRAP": state.address,
            "FASTCART_KAFKA_TOPIC": "ecommerce-sales",
            "DAGSTER_HOME": str(work / "dagster_home"),
        }
        kafka = KafkaResource(bootstrap_servers=state.address, topic="ecommerce-sales")
        create_topic(kafka, kafka.topic, 3, exist_ok=True)
        now = datetime.now(UTC).replace(microsecond=0)
        config = GeneratorConfig(
            start=now - timedelta(days=days),
            duration=timedelta(days=days),
            min_delay_s=10,
            max_delay_s=50,
            seed=42,
        )
        generate(config, dirty_rate=0.02, speed=0, sink=KafkaSink(kafka.producer(), kafka.topic))
        subprocess.run(
            [str(BIN / "fastcart"), "run"],
            env={**os.environ, **env},
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return env
    finally:
        embedded.stop(state_dir)


def start_dashboard(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = embedded.free_port()
    process = subprocess.Popen(
        [str(BIN / "fastcart"), "dashboard", "--port", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
            return process, url
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("fastcart dashboard exited") from None
            time.sleep(0.2)
    process.terminate()
    raise TimeoutError("the dashboard did not start")


def measure(url: str, runs: int) -> list[float]:
    """Seconds from navigation to the four tiles drawn, once per new page of one browser
    profile: the first with an empty cache, the others with the app's scripts cached."""
    seconds = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        for _ in range(runs):
            page = context.new_page()
            started = time.perf_counter()
            page.goto(url, wait_until="commit")
            page.wait_for_function(
                f"document.querySelectorAll('{TILES}').length === 4", timeout=60_000
            )
            seconds.append(time.perf_counter() - started)
            page.close()
        browser.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", type=Path, help="an existing lake root (skips building one)")
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not shutil.which("chromium"):
        sys.exit("needs Chromium on PATH (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="fastcart-paint-") as work:
        if args.lake:
            env = {"FASTCART_LAKE_ROOT": str(args.lake.resolve())}
        else:
            print(f"building a {args.days}-day demo lake ...", file=sys.stderr)
            env = build_lake(Path(work), args.days)
        process, url = start_dashboard(env)
        try:
            seconds = measure(url, args.runs)
        finally:
            process.terminate()
            process.wait(30)
    result = {
        "cold_first_paint_s": round(seconds[0], 3),
        "warm_first_paint_median_s": round(statistics.median(seconds[1:] or seconds), 3),
        "runs_s": [round(s, 3) for s in seconds],
        "target_s": TARGET_S,
        "within_target": statistics.median(seconds[1:] or seconds) <= TARGET_S,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
