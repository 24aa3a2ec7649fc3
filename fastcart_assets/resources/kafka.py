"""Kafka connection settings as a Dagster resource; SASL/TLS pass through to librdkafka.

The SASL password is a `dg.EnvVar` (FASTCART_KAFKA_SASL_PASSWORD): Dagster resolves it when a
run starts, and it never appears in the run's configuration or logs.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from fastcart_assets.settings import (
    DEFAULT_KAFKA_BOOTSTRAP,
    DEFAULT_KAFKA_TOPIC,
    SASL_PASSWORD_VARIABLE,
    Settings,
)

CLIENT_ID = "fastcart"


class KafkaResource(dg.ConfigurableResource):
    """Where the order events live and how to authenticate to the cluster."""

    bootstrap_servers: str = DEFAULT_KAFKA_BOOTSTRAP
    topic: str = DEFAULT_KAFKA_TOPIC
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None
    ssl_ca_location: str | None = None
    request_timeout_s: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings, topic: str | None = None) -> KafkaResource:
        """The cluster of `settings` (and its security options), for `topic` (default: the
        order-event topic)."""
        password = dg.EnvVar(SASL_PASSWORD_VARIABLE) if settings.kafka_sasl_password_set else None
        return cls(
            bootstrap_servers=settings.kafka_bootstrap,
            topic=topic or settings.kafka_topic,
            security_protocol=settings.kafka_security_protocol,
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_username=settings.kafka_sasl_username,
            sasl_password=password,
            ssl_ca_location=settings.kafka_ssl_ca_location,
        )

    def client_config(self) -> dict[str, Any]:
        """librdkafka settings shared by producers, consumers and the admin client."""
        config: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "client.id": CLIENT_ID,
            "security.protocol": self.security_protocol,
            "socket.connection.setup.timeout.ms": int(self.request_timeout_s * 1000),
            # librdkafka prints every failed reconnect to stderr; failures reach callers as
            # exceptions or message errors instead, so keep its own log to critical lines.
            "log_level": 2,
        }
        password = self.sasl_password
        if isinstance(password, dg.EnvVar):  # used outside a run: Dagster did not resolve it
            password = password.get_value()
        optional = {
            "sasl.mechanism": self.sasl_mechanism,
            "sasl.username": self.sasl_username,
            "sasl.password": password,
            "ssl.ca.location": self.ssl_ca_location,
        }
        config.update({key: value for key, value in optional.items() if value})
        return config

    def admin(self) -> AdminClient:
        return AdminClient(self.client_config())

    def producer(self, **overrides: Any) -> Producer:
        """An idempotent producer: retries never duplicate a message in the log."""
        config = {
            **self.client_config(),
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 20,
            "compression.type": "lz4",
            **overrides,
        }
        return Producer(config)

    def consumer(self, group_id: str, **overrides: Any) -> Consumer:
        """A consumer meant for `assign()`: offsets come from the caller, never auto-committed."""
        config = {
            **self.client_config(),
            "group.id": group_id,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "error",
            "enable.partition.eof": True,
            "fetch.max.bytes": 52_428_800,
            "max.partition.fetch.bytes": 10_485_760,
            **overrides,
        }
        return Consumer(config)
