"""A Bronze ingestion in its own process, for kill tests: `python -m … BOOTSTRAP TOPIC TABLE`.

With KILL_AFTER_BATCH=k the process SIGKILLs itself right after its k-th Delta commit, before
the run ends (the worst moment for an offset store kept outside the table).
"""

from __future__ import annotations

import os
import signal
import sys

from fastcart_assets.bronze.ingest import ingest_new_messages
from fastcart_assets.partitions import today_utc
from fastcart_assets.resources.kafka import KafkaResource
from fastcart_assets.resources.spark import spark_session


def main() -> None:
    bootstrap, topic, table_path = sys.argv[1:4]
    batch_size = int(os.environ.get("BATCH_SIZE", "500"))
    kill_after = int(os.environ.get("KILL_AFTER_BATCH", "0"))

    def maybe_die(result) -> None:
        if kill_after and result.batches >= kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

    kafka = KafkaResource(bootstrap_servers=bootstrap, topic=topic)
    result = ingest_new_messages(
        spark_session(), kafka, table_path, today_utc(), batch_size=batch_size, on_batch=maybe_die
    )
    sys.stdout.write(f"rows_written={result.rows_written}\n")


if __name__ == "__main__":
    main()
