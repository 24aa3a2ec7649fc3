"""Bronze's position in the topic, read with delta-rs (no Spark), for the sensor and status."""

from __future__ import annotations

import pyarrow.compute as pc
from deltalake import DeltaTable

from fastcart_assets.bronze.table import read_topic_state
from fastcart_assets.delta import table_exists


def bronze_next_offsets(table_path: str, topic: str) -> dict[int, int]:
    """Per Kafka partition, the offset Bronze reads next in the topic's current incarnation:
    after the highest one it holds, or the floor an offset reset recorded."""
    if not table_exists(table_path):
        return {}
    state = read_topic_state(table_path, topic)
    table = DeltaTable(table_path)
    columns = ["kafka_partition", "kafka_offset"]
    has_incarnation = "kafka_incarnation" in table.schema().to_arrow().names
    dataset = table.to_pyarrow_dataset()
    offsets = dataset.to_table(
        columns=columns + (["kafka_incarnation"] if has_incarnation else []),
        filter=pc.field("kafka_topic") == topic,
    )
    if has_incarnation:
        incarnation = pc.fill_null(offsets["kafka_incarnation"], 1)
        offsets = offsets.filter(pc.equal(incarnation, state.incarnation))
    grouped = offsets.group_by("kafka_partition").aggregate([("kafka_offset", "max")])
    position = dict(state.floors)
    for partition, last in zip(
        grouped["kafka_partition"].to_pylist(), grouped["kafka_offset_max"].to_pylist(), strict=True
    ):
        position[partition] = max(last + 1, position.get(partition, 0))
    return position
