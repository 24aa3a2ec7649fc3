"""FastCart's configuration: the one reader of the environment (docs/SPEC.md §3).

Every `FASTCART_*` variable is read and validated here, once per `Settings.from_env()`; a bad
value raises `SettingsError` naming the variable and the expected form. Secrets are not kept:
`Settings` only records whether one is set, and the Kafka resource reads it with `dg.EnvVar`.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from types import MappingProxyType

from fastcart_assets.errors import FastcartError

DEFAULT_LAKE_ROOT = "./lakehouse"
DEFAULT_KAFKA_BOOTSTRAP = "127.0.0.1:9092"
DEFAULT_KAFKA_TOPIC = "ecommerce-sales"
DEFAULT_CDC_TOPIC = "fastcart.public.orders"
DEFAULT_FIRST_DATE = date(2024, 1, 1)
DEFAULT_SENSOR_INTERVAL_S = 15
DEFAULT_DAGSTER_HOME = "./.dagster_home"
STATE_DIR = ".fastcart"
SASL_PASSWORD_VARIABLE = "FASTCART_KAFKA_SASL_PASSWORD"

# Data-quality rates (docs/SPEC.md §8): above warn -> WARN, above error -> ERROR.
DEFAULT_WARN_RATE = 0.02
DEFAULT_ERROR_RATE = 0.10

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "GSSAPI", "OAUTHBEARER")
_TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)$")


class SettingsError(FastcartError, ValueError):
    """A FASTCART_* variable holds a value FastCart cannot use."""


@dataclass(frozen=True)
class RuleThreshold:
    """When a rule's violation rate in a partition is worth a WARN or an ERROR."""

    warn_rate: float = DEFAULT_WARN_RATE
    error_rate: float = DEFAULT_ERROR_RATE


@dataclass(frozen=True)
class Settings:
    """FastCart configuration. Build it with `from_env()`; tests pass fields directly."""

    lake_root: str = DEFAULT_LAKE_ROOT
    kafka_bootstrap: str = DEFAULT_KAFKA_BOOTSTRAP
    kafka_topic: str = DEFAULT_KAFKA_TOPIC
    cdc_topic: str = DEFAULT_CDC_TOPIC
    spark_remote: str | None = None
    first_date: date = DEFAULT_FIRST_DATE
    sensor_interval_s: int = DEFAULT_SENSOR_INTERVAL_S
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password_set: bool = False
    kafka_ssl_ca_location: str | None = None
    rule_thresholds: Mapping[str, RuleThreshold] = field(
        default_factory=lambda: MappingProxyType({})
    )
    dagster_home: str = DEFAULT_DAGSTER_HOME

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every FastCart variable of `environ` (default: os.environ)."""
        env = _Env(os.environ if environ is None else environ)
        settings = cls(
            lake_root=env.text("FASTCART_LAKE_ROOT", DEFAULT_LAKE_ROOT),
            kafka_bootstrap=env.parsed(
                "FASTCART_KAFKA_BOOTSTRAP", DEFAULT_KAFKA_BOOTSTRAP, parse_bootstrap
            ),
            kafka_topic=env.parsed("FASTCART_KAFKA_TOPIC", DEFAULT_KAFKA_TOPIC, parse_topic),
            cdc_topic=env.parsed("FASTCART_CDC_TOPIC", DEFAULT_CDC_TOPIC, parse_topic),
            spark_remote=env.parsed("FASTCART_SPARK_REMOTE", None, parse_spark_remote),
            first_date=env.parsed("FASTCART_FIRST_DATE", DEFAULT_FIRST_DATE, parse_first_date),
            sensor_interval_s=env.parsed(
                "FASTCART_SENSOR_INTERVAL_S", DEFAULT_SENSOR_INTERVAL_S, parse_interval
            ),
            kafka_security_protocol=env.parsed(
                "FASTCART_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT", _one_of(SECURITY_PROTOCOLS)
            ),
            kafka_sasl_mechanism=env.parsed(
                "FASTCART_KAFKA_SASL_MECHANISM", None, _one_of(SASL_MECHANISMS)
            ),
            kafka_sasl_username=env.text("FASTCART_KAFKA_SASL_USERNAME", None),
            kafka_sasl_password_set=env.text(SASL_PASSWORD_VARIABLE, None) is not None,
            kafka_ssl_ca_location=env.text("FASTCART_KAFKA_SSL_CA_LOCATION", None),
            rule_thresholds=env.parsed(
                "FASTCART_DQ_THRESHOLDS", MappingProxyType({}), parse_thresholds
            ),
            dagster_home=env.text("DAGSTER_HOME", DEFAULT_DAGSTER_HOME),
        )
        _check_lake_root(settings.lake_uri)
        if settings.kafka_sasl_mechanism and not settings.kafka_security_protocol.startswith(
            "SASL"
        ):
            raise SettingsError(
                "FASTCART_KAFKA_SASL_MECHANISM is set but FASTCART_KAFKA_SECURITY_PROTOCOL is "
                f"{settings.kafka_security_protocol}: expected SASL_PLAINTEXT or SASL_SSL"
            )
        return settings

    @property
    def lake_uri(self) -> str:
        """The lake root as an absolute path (local) or unchanged URI (s3://, hdfs://)."""
        if is_uri(self.lake_root):
            return self.lake_root.rstrip("/")
        return str(Path(self.lake_root).expanduser().resolve())

    def table_path(self, table: str) -> str:
        """Location of a table such as `silver/ecommerce_sales` under the lake root."""
        from fastcart_assets.tables import table_info

        return f"{self.lake_uri}/{table_info(table).path}"

    def threshold(self, rule: str) -> RuleThreshold:
        """The WARN/ERROR rates of `rule` (FASTCART_DQ_THRESHOLDS, else 2% / 10%)."""
        return self.rule_thresholds.get(rule, RuleThreshold())

    @property
    def dagster_home_path(self) -> Path:
        return Path(self.dagster_home).expanduser().resolve()


# Sail 0.7.2 cannot replace a partition of a table whose path holds a space, `~`, `#`, `%`,
# a backtick or a non-ASCII letter ("No such file or directory"); these characters work.
_LAKE_PATH_CHARACTERS = re.compile(r"[A-Za-z0-9/._\-+=,@:]*")


def _check_lake_root(lake_uri: str) -> None:
    """Refuse a lake location the engine cannot write under, naming the first bad character."""
    if _LAKE_PATH_CHARACTERS.fullmatch(lake_uri):
        return
    bad = next(c for c in lake_uri if not _LAKE_PATH_CHARACTERS.fullmatch(c))
    raise SettingsError(
        f"FASTCART_LAKE_ROOT resolves to {lake_uri!r}, which holds {bad!r}: the Spark engine "
        "(Sail 0.7.2) cannot rewrite partitions under such a path. Choose a location of ASCII "
        "letters, digits and / . _ - + = , @ :"
    )


def is_uri(location: str) -> bool:
    """True for `s3://…`, `file://…` and other URIs, False for plain paths."""
    return "://" in location


class _Env:
    """Reads variables, treating empty values as unset, and names the variable on errors."""

    def __init__(self, environ: Mapping[str, str]):
        self.environ = environ

    def text(self, name: str, default):
        value = self.environ.get(name, "").strip()
        return value or default

    def parsed(self, name: str, default, parse):
        value = self.text(name, None)
        if value is None:
            return default
        try:
            return parse(value)
        except SettingsError as exc:
            raise SettingsError(f"{name}={value!r} is not valid: {exc}") from None


def parse_bootstrap(value: str) -> str:
    """`host:port[,host:port…]` with ports 1-65535."""
    servers = [part.strip() for part in value.split(",")]
    for server in servers:
        host, _, port = server.rpartition(":")
        if not host or not _HOST.match(host) or not port.isdigit() or not 0 < int(port) < 65536:
            raise SettingsError("expected host:port[,host:port…], e.g. 127.0.0.1:9092")
    return ",".join(servers)


def parse_topic(value: str) -> str:
    if not _TOPIC_NAME.match(value) or value in (".", ".."):
        raise SettingsError("a Kafka topic name is 1-249 of the characters A-Z a-z 0-9 . _ -")
    return value


def parse_spark_remote(value: str) -> str:
    if not re.match(r"^sc://[^/:\s]+(:[0-9]{1,5})?(/.*)?$", value):
        raise SettingsError("expected a Spark Connect URL such as sc://spark-host:15002")
    return value


def parse_first_date(value: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise SettingsError("expected a date YYYY-MM-DD, e.g. 2024-01-01") from None
    if day > datetime.now(UTC).date():
        raise SettingsError("the first partition cannot be in the future")
    return day


def parse_interval(value: str) -> int:
    if not value.isdigit() or not 5 <= int(value) <= 86_400:
        raise SettingsError("expected a whole number of seconds between 5 and 86400")
    return int(value)


def _one_of(choices: tuple[str, ...]):
    def parse(value: str) -> str:
        if value.upper() not in choices:
            raise SettingsError(f"expected one of {', '.join(choices)}")
        return value.upper()

    return parse


def _rate(text: str) -> float:
    text = text.strip()
    try:
        rate = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise SettingsError(f"{text!r} is not a rate (0.05 or 5%)") from None
    if not math.isfinite(rate) or not 0 <= rate <= 1:
        raise SettingsError(f"{text!r} is not a rate between 0 and 1 (or 0% and 100%)")
    return rate


def parse_thresholds(value: str) -> Mapping[str, RuleThreshold]:
    """`rule=warn:error,…`, rates as fractions or percentages: `malformed_json=1%:5%`."""
    from fastcart_assets.silver.rules import RATED_RULES

    known = {rule.name for rule in RATED_RULES}  # `erased` is counted, never rated
    thresholds = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        rule, equals, rates = item.partition("=")
        warn, colon, error = rates.partition(":")
        if not equals or not colon:
            raise SettingsError("expected rule=warn:error[,…], e.g. malformed_json=1%:5%")
        if rule.strip() not in known:
            raise SettingsError(f"unknown rule {rule.strip()!r}; rules: {', '.join(sorted(known))}")
        threshold = RuleThreshold(_rate(warn), _rate(error))
        if threshold.warn_rate > threshold.error_rate:
            raise SettingsError(f"{rule.strip()}: the warn rate is above the error rate")
        thresholds[rule.strip()] = threshold
    return MappingProxyType(thresholds)
