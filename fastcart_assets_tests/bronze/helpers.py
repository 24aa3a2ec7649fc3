"""Bronze test helpers: materialize the real asset, read the table, produce any Kafka record."""

from __future__ import annotations

import ctypes
import glob
import os
from dataclasses import dataclass
from datetime import date

import confluent_kafka
import dagster as dg

from fastcart_assets.bronze.assets import bronze_ecommerce_sales
from fastcart_assets.definitions import build_resources
from fastcart_assets.kafka.topics import create_topic
from fastcart_assets.partitions import today_utc
from fastcart_assets.resources.kafka import KafkaResource
from fastcart_assets.settings import Settings
from fastcart_assets.tables import BRONZE


def materialize_bronze(settings: Settings, day: date | None = None, **config):
    """One run of the Bronze asset (config: BronzeConfig fields) with the project's resources."""
    run_config = {"ops": {"bronze__ecommerce_sales": {"config": config}}} if config else None
    return dg.materialize(
        [bronze_ecommerce_sales],
        partition_key=(day or today_utc()).isoformat(),
        resources=build_resources(settings),
        run_config=run_config,
        raise_on_error=False,
    )


def bronze(spark, settings: Settings):
    return spark.read.format("delta").load(settings.table_path(BRONZE.path))


def check_results(result) -> dict[str, bool]:
    return {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }


ALL_GREEN = {
    "no_duplicate_coordinates": True,
    "offsets_contiguous": True,
    "rows_equal_messages_read": True,
}


def bronze_metadata(result) -> dict:
    materialization = result.asset_materializations_for_node("bronze__ecommerce_sales")[0]
    return {key: value.value for key, value in materialization.metadata.items()}


def failure_message(result) -> str:
    """The description of the run's failed step (a `dg.Failure`'s message)."""
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            data = event.step_failure_data
            if data.user_failure_data and data.user_failure_data.description:
                return data.user_failure_data.description
            return data.error.message
    raise AssertionError("the run did not fail")


@dataclass(frozen=True)
class Spec:
    """A record to produce: key, value, timestamp (ms; 0 = now, librdkafka's rule), headers."""

    key: bytes | None = b"k"
    value: bytes | None = b"{}"
    timestamp_ms: int = 0
    headers: tuple[tuple[str, bytes | None], ...] = ()


def produce_specs(
    kafka: KafkaResource, specs: list[Spec], partitions: int = 1
) -> dict[tuple[int, int], Spec]:
    """Produce `specs` (each flushed on its own, so the embedded broker's high watermark is
    exact) and return them by the (partition, offset) the broker gave them."""
    create_topic(kafka, kafka.topic, partitions, exist_ok=True)
    producer = kafka.producer(**{"message.max.bytes": 64 << 20, "linger.ms": 0})
    placed: dict[tuple[int, int], Spec] = {}

    def delivered(error, message, spec):
        assert error is None, error
        placed[(message.partition(), message.offset())] = spec

    for spec in specs:
        producer.produce(
            kafka.topic,
            key=spec.key,
            value=spec.value,
            timestamp=spec.timestamp_ms,
            headers=list(spec.headers) or None,
            on_delivery=lambda error, message, spec=spec: delivered(error, message, spec),
        )
        assert producer.flush(30) == 0
    return placed


def produce_with_raw_header_key(kafka: KafkaResource, header_key: bytes, value: bytes) -> None:
    """Produce one record whose header key is any bytes, through librdkafka's C API (the
    Python client only sends `str` keys, as Java clients do; other clients may not)."""
    libs = os.path.join(os.path.dirname(confluent_kafka.__file__), "..", "confluent_kafka.libs")
    lib = ctypes.CDLL(glob.glob(os.path.join(libs, "librdkafka*.so*"))[0])
    lib.rd_kafka_conf_new.restype = ctypes.c_void_p
    lib.rd_kafka_conf_set.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
    lib.rd_kafka_conf_set.argtypes += [ctypes.c_char_p, ctypes.c_size_t]
    lib.rd_kafka_new.restype = ctypes.c_void_p
    lib.rd_kafka_new.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.rd_kafka_headers_new.restype = ctypes.c_void_p
    lib.rd_kafka_header_add.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_ssize_t]
    lib.rd_kafka_header_add.argtypes += [ctypes.c_char_p, ctypes.c_ssize_t]
    lib.rd_kafka_flush.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.rd_kafka_destroy.argtypes = [ctypes.c_void_p]
    error = ctypes.create_string_buffer(512)
    conf = lib.rd_kafka_conf_new()
    lib.rd_kafka_conf_set(conf, b"bootstrap.servers", kafka.bootstrap_servers.encode(), error, 512)
    producer = lib.rd_kafka_new(0, conf, error, 512)  # 0: RD_KAFKA_PRODUCER
    assert producer, error.value
    headers = lib.rd_kafka_headers_new(1)
    lib.rd_kafka_header_add(headers, header_key, len(header_key), b"v", 1)
    # rd_kafka_producev(rk, TOPIC, name, VALUE, ptr, len, HEADERS, headers, END)
    code = lib.rd_kafka_producev(
        ctypes.c_void_p(producer),
        1,
        ctypes.c_char_p(kafka.topic.encode()),
        4,
        ctypes.c_char_p(value),
        ctypes.c_size_t(len(value)),
        10,
        ctypes.c_void_p(headers),
        0,
    )
    try:
        assert code == 0, f"rd_kafka_producev failed: {code}"
        assert lib.rd_kafka_flush(ctypes.c_void_p(producer), 10_000) == 0
    finally:
        lib.rd_kafka_destroy(ctypes.c_void_p(producer))
