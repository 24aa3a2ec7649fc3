"""Bronze's position in the topic, read with delta-rs (no Spark), for the sensor and status."""

from __future__ import annotations

from fastcart_assets.bronze.table import last_offsets, read_topic_state
from fastcart_assets.delta import table_exists


def bronze_next_offsets(table_path: str, topic: str) -> dict[int, int]:
    """Per Kafka partition, the offset Bronze reads next in the topic's current incarnation:
    after the highest one it holds, or the floor an offset reset recorded."""
    if not table_exists(table_path):
        return {}
    state = read_topic_state(table_path, topic)
    position = dict(state.floors)
    for partition, last in last_offsets(table_path, topic, state.incarnation).items():
        position[partition] = max(last + 1, position.get(partition, 0))
    return position
