"""Bronze's position in the topic, read with delta-rs (no Spark), for the sensor and status."""

from __future__ import annotations

import pyarrow.compute as pc
from deltalake import DeltaTable

from fastcart_assets.delta import table_exists


def bronze_next_offsets(table_path: str, topic: str) -> dict[int, int]:
    """Per Kafka partition, the offset after the highest one Bronze holds for `topic`."""
    if not table_exists(table_path):
        return {}
    dataset = DeltaTable(table_path).to_pyarrow_dataset()
    offsets = dataset.to_table(
        columns=["kafka_partition", "kafka_offset"], filter=pc.field("kafka_topic") == topic
    )
    grouped = offsets.group_by("kafka_partition").aggregate([("kafka_offset", "max")])
    return {
        partition: last + 1
        for partition, last in zip(
            grouped["kafka_partition"].to_pylist(),
            grouped["kafka_offset_max"].to_pylist(),
            strict=True,
        )
    }
