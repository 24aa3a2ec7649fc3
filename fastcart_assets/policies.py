"""Run policies shared by the layers' assets."""

import dagster as dg

# Transient Kafka/Spark errors (a broker restarting, a dropped Spark Connect channel) are
# retried; every step is idempotent, so a retry never duplicates data. Data problems are
# raised as `dg.Failure(allow_retries=False)` and blocking check failures are not retried.
TRANSIENT_RETRY = dg.RetryPolicy(max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL)
