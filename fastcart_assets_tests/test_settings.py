"""Settings: every FASTCART_* variable is validated once, with a message naming it."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from fastcart_assets.settings import RuleThreshold, Settings, SettingsError

FASTCART = str(Path(sys.executable).with_name("fastcart"))


def test_defaults_when_nothing_is_set():
    settings = Settings.from_env({})
    assert settings.kafka_bootstrap == "127.0.0.1:9092"
    assert settings.kafka_topic == "ecommerce-sales"
    assert settings.cdc_topic == "fastcart.public.orders"
    assert settings.spark_remote is None
    assert settings.first_date == date(2024, 1, 1)
    assert settings.sensor_interval_s == 15
    assert settings.threshold("malformed_json") == RuleThreshold(0.02, 0.10)
    assert not settings.kafka_sasl_password_set


def test_values_are_read_and_normalised():
    settings = Settings.from_env(
        {
            "FASTCART_KAFKA_BOOTSTRAP": "kafka-1:9092, kafka-2:9093",
            "FASTCART_SPARK_REMOTE": "sc://spark:15002",
            "FASTCART_FIRST_DATE": "2025-06-01",
            "FASTCART_SENSOR_INTERVAL_S": "30",
            "FASTCART_KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
            "FASTCART_KAFKA_SASL_MECHANISM": "scram-sha-512",
            "FASTCART_KAFKA_SASL_USERNAME": "fastcart",
            "FASTCART_KAFKA_SASL_PASSWORD": "s3cret",
            "FASTCART_DQ_THRESHOLDS": "malformed_json=1%:5%, total_mismatch=0.05:0.2",
            "FASTCART_LAKE_ROOT": "  ",  # blank counts as unset
        }
    )
    assert settings.kafka_bootstrap == "kafka-1:9092,kafka-2:9093"
    assert settings.first_date == date(2025, 6, 1)
    assert settings.sensor_interval_s == 30
    assert settings.kafka_security_protocol == "SASL_SSL"
    assert settings.kafka_sasl_mechanism == "SCRAM-SHA-512"
    assert settings.kafka_sasl_password_set
    assert "s3cret" not in repr(settings)  # the secret itself is never kept
    assert settings.threshold("malformed_json") == RuleThreshold(0.01, 0.05)
    assert settings.threshold("total_mismatch") == RuleThreshold(0.05, 0.2)
    assert settings.threshold("invalid_status") == RuleThreshold(0.02, 0.10)
    assert settings.lake_root == "./lakehouse"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("FASTCART_KAFKA_BOOTSTRAP", "localhost", "host:port"),
        ("FASTCART_KAFKA_BOOTSTRAP", "localhost:99999", "host:port"),
        ("FASTCART_KAFKA_BOOTSTRAP", "a:1,,b:2", "host:port"),
        ("FASTCART_KAFKA_TOPIC", "orders/new", "topic name"),
        ("FASTCART_CDC_TOPIC", "x" * 250, "topic name"),
        ("FASTCART_SPARK_REMOTE", "http://spark:15002", "sc://"),
        ("FASTCART_FIRST_DATE", "2024-13-01", "YYYY-MM-DD"),
        ("FASTCART_FIRST_DATE", "2999-01-01", "future"),
        ("FASTCART_SENSOR_INTERVAL_S", "1.5", "whole number"),
        ("FASTCART_SENSOR_INTERVAL_S", "2", "between 5 and 86400"),
        ("FASTCART_KAFKA_SECURITY_PROTOCOL", "TLS", "PLAINTEXT"),
        ("FASTCART_KAFKA_SASL_MECHANISM", "MD5", "SCRAM-SHA-256"),
        ("FASTCART_DQ_THRESHOLDS", "malformed_json=5%", "rule=warn:error"),
        ("FASTCART_DQ_THRESHOLDS", "no_such_rule=1%:2%", "unknown rule"),
        ("FASTCART_DQ_THRESHOLDS", "malformed_json=nan:1", "rate between 0 and 1"),
        ("FASTCART_DQ_THRESHOLDS", "malformed_json=20%:10%", "warn rate is above"),
    ],
)
def test_a_bad_value_names_its_variable_and_the_expected_form(variable, value, expected):
    with pytest.raises(SettingsError) as error:
        Settings.from_env({variable: value})
    assert str(error.value).startswith(f"{variable}={value!r} is not valid")
    assert expected in str(error.value)


@pytest.mark.parametrize("root", ["/data/my lake", "/data/café", "/data/lake#1", "s3://b/a%20b"])
def test_a_lake_root_the_engine_cannot_write_under_is_refused(root):
    with pytest.raises(SettingsError, match="FASTCART_LAKE_ROOT resolves to .* which holds"):
        Settings.from_env({"FASTCART_LAKE_ROOT": root})


def test_the_default_lake_root_under_a_directory_with_a_space_is_refused(tmp_path, monkeypatch):
    (tmp_path / "my projects").mkdir()
    monkeypatch.chdir(tmp_path / "my projects")
    with pytest.raises(SettingsError, match="holds ' '"):
        Settings.from_env({})


def test_a_sasl_mechanism_needs_a_sasl_protocol():
    with pytest.raises(SettingsError, match="FASTCART_KAFKA_SECURITY_PROTOCOL"):
        Settings.from_env({"FASTCART_KAFKA_SASL_MECHANISM": "PLAIN"})


def test_the_command_line_answers_a_bad_setting_in_one_line(tmp_path):
    result = subprocess.run(
        [FASTCART, "kafka", "status"],
        env={"PATH": "/usr/bin:/bin", "FASTCART_SENSOR_INTERVAL_S": "ten"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Error: FASTCART_SENSOR_INTERVAL_S='ten' is not valid: expected a whole number of "
        "seconds between 5 and 86400"
    )
    assert "Traceback" not in result.stderr
