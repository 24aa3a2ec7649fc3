"""Quality fixtures reuse the Silver lake (Bronze rows written exactly as Bronze writes them)."""

from fastcart_assets_tests.silver.conftest import lake  # noqa: F401
