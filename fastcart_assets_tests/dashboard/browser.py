"""Headless Chromium from the system (Debian's `chromium`), driven by Playwright."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Page, sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TILE = '[data-testid="stMetric"]'


@contextmanager
def chromium_page(width: int = 1400, height: int = 1000) -> Iterator[Page]:
    """A page in a fresh headless Chromium; the browser is closed afterwards."""
    executable = shutil.which("chromium")
    assert executable, "the browser tests need Chromium on PATH (Debian: apt-get install chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()


def tile_texts(page: Page) -> dict[str, str]:
    """Label -> value text of every metric tile on the page."""
    texts = {}
    for tile in page.locator(TILE).all():
        label = tile.locator('[data-testid="stMetricLabel"]').inner_text().strip()
        texts[label] = tile.locator('[data-testid="stMetricValue"]').inner_text().strip()
    return texts
