"""docker/: valid for docker-compose, no default secrets, loopback-only UIs, least privilege.

There is no Docker engine here: the file is rendered by Debian's `docker-compose config`
(which interpolates the variables and applies the compose schema), the configuration files
are checked against each other and against the client's pins, and the CDC source's SQL runs
on a real PostgreSQL with logical decoding.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg2
import pytest
import yaml

from fastcart_assets.settings import Settings
from fastcart_assets_tests.postgres import postgres_bin_dir, postgres_server

PROJECT = Path(__file__).resolve().parents[1]
DOCKER = PROJECT / "docker"
COMPOSE = DOCKER / "compose.yaml"
SECRETS = (
    "DAGSTER_POSTGRES_PASSWORD",
    "MINIO_ROOT_USER",
    "MINIO_ROOT_PASSWORD",
    "FASTCART_S3_ACCESS_KEY",
    "FASTCART_S3_SECRET_KEY",
    "ORDERS_DB_PASSWORD",
    "DEBEZIUM_DB_PASSWORD",
    "GRAFANA_ADMIN_PASSWORD",
)
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|ACCESS_KEY|ROOT_USER")
REQUIRED = re.compile(r"^\$\{(?P<name>[A-Z0-9_]+):\?[^}]+\}$")
APP_SERVICES = ("dagster-webserver", "dagster-daemon", "fastcart-metrics", "spark-connect")
CDC_TOPIC = "fastcart.public.orders"

needs_compose = pytest.mark.skipif(
    shutil.which("docker-compose") is None,
    reason="docker-compose is not installed (.ci/run installs it)",
)


def _compose_config(tmp_path: Path, variables: dict[str, str]) -> subprocess.CompletedProcess:
    """`docker-compose config` with exactly `variables` (no docker/.env, no inherited env)."""
    empty = tmp_path / "empty.env"
    empty.write_text("")
    return subprocess.run(
        ["docker-compose", "--env-file", str(empty), "-f", str(COMPOSE), "config"],
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), **variables},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def sentinels() -> dict[str, str]:
    """A recognisable random value per secret variable."""
    return {name: f"sentinel-{name.lower()}-{secrets.token_hex(6)}" for name in SECRETS}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, sentinels) -> dict:
    """The stack as docker-compose renders it with every secret set."""
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose is not installed (.ci/run installs it)")
    result = _compose_config(tmp_path_factory.mktemp("compose"), sentinels)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def _raw() -> dict:
    return yaml.safe_load(COMPOSE.read_text())  # YAML anchors and merge keys resolved


def _pins() -> dict[str, str]:
    dependencies = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    pins = {}
    for requirement in dependencies["dependencies"]:
        name, _, version = requirement.partition("==")
        pins[name.split("[")[0]] = version
    return pins


def test_compose_renders_the_whole_stack_with_the_secrets_set(rendered):
    assert set(rendered["services"]) == {
        "kafka",
        "minio",
        "minio-init",
        "spark-connect",
        "postgres",
        "dagster-webserver",
        "dagster-daemon",
        "fastcart-metrics",
        "prometheus",
        "grafana",
        "orders-db",
        "debezium",
        "debezium-register",
    }


@pytest.mark.slow
@needs_compose
def test_compose_refuses_to_render_without_each_secret(tmp_path, sentinels):
    cases = [(name, {k: v for k, v in sentinels.items() if k != name}) for name in SECRETS]
    cases.append(("GRAFANA_ADMIN_PASSWORD", {**sentinels, "GRAFANA_ADMIN_PASSWORD": ""}))
    with ThreadPoolExecutor(4) as pool:  # docker-compose takes ~0.5 s to start
        results = pool.map(lambda case: _compose_config(tmp_path, case[1]), cases)
        for (name, _), result in zip(cases, results, strict=True):
            assert result.returncode != 0, f"rendered without {name}"
            assert f"set {name}" in result.stderr, result.stderr


def test_every_secret_is_a_required_variable_without_default():
    text = COMPOSE.read_text()
    for name in SECRETS:
        assert re.search(rf"\$\{{{name}:\?set {name}\b", text), name
        assert not re.search(rf"\$\{{{name}:?-", text), f"{name} has a default"
    for service, spec in _raw()["services"].items():
        for key, value in (spec.get("environment") or {}).items():
            if SECRET_NAME.search(key):
                match = REQUIRED.match(str(value))
                assert match and match.group("name") in SECRETS, f"{service}: {key}={value}"


def _published(port) -> tuple[str, str]:
    """(host ip, host port) of a `ports` entry in short or long syntax."""
    if isinstance(port, dict):
        return port.get("host_ip", ""), str(port.get("published", ""))
    parts = str(port).split("/")[0].split(":")
    return (parts[0], parts[1]) if len(parts) == 3 else ("", parts[0])


def test_only_the_uis_are_published_and_only_on_loopback(rendered):
    published = {}
    for name, service in rendered["services"].items():
        assert service.get("network_mode") != "host", name
        for port in service.get("ports", []):
            host_ip, host_port = _published(port)
            assert host_ip == "127.0.0.1", f"{name} publishes {port} beyond localhost"
            published[name] = host_port
    assert published == {"dagster-webserver": "3000", "prometheus": "9090", "grafana": "3001"}
    assert rendered["services"]["minio"]["environment"]["MINIO_BROWSER"] == "off"


def _strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [str(value)]


def test_credentials_reach_containers_only_as_environment_variables(rendered, sentinels):
    for name, service in rendered["services"].items():
        commands = _strings(
            [service.get("command"), service.get("entrypoint"), service.get("healthcheck")]
        )
        for secret, value in sentinels.items():
            assert not any(value in text for text in commands), f"{secret} on {name}'s command"
    # the scripts hand keys to mc on stdin and read passwords with psql's \getenv
    init = (DOCKER / "minio" / "init.sh").read_text()
    for line in init.splitlines():
        if "PASSWORD" in line or "SECRET" in line:
            assert line.lstrip().startswith("printf '%s\\n%s\\n'"), line
    sql = (DOCKER / "orders-db" / "010-orders.sql").read_text()
    assert "\\getenv debezium_password DEBEZIUM_DB_PASSWORD" in sql
    connector = json.loads((DOCKER / "debezium" / "orders-connector.json").read_text())
    assert connector["database.password"] == "${env:DEBEZIUM_DB_PASSWORD}"


def test_the_app_uses_a_least_privileged_minio_user(rendered, sentinels):
    services = rendered["services"]
    for name in APP_SERVICES:
        environment = services[name]["environment"]
        assert environment["AWS_ACCESS_KEY_ID"] == sentinels["FASTCART_S3_ACCESS_KEY"], name
        assert environment["AWS_SECRET_ACCESS_KEY"] == sentinels["FASTCART_S3_SECRET_KEY"], name
    root_values = {sentinels["MINIO_ROOT_USER"], sentinels["MINIO_ROOT_PASSWORD"]}
    holders = {
        name
        for name, service in services.items()
        if root_values & set(_strings(service.get("environment", {})))
    }
    assert holders == {"minio", "minio-init"}
    policy = json.loads((DOCKER / "minio" / "fastcart-policy.json").read_text())
    allowed = {
        "s3:GetBucketLocation",
        "s3:ListBucket",
        "s3:ListBucketMultipartUploads",
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
    }
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        assert set(statement["Action"]) <= allowed, statement
        assert set(statement["Resource"]) <= {"arn:aws:s3:::lakehouse", "arn:aws:s3:::lakehouse/*"}
    init = (DOCKER / "minio" / "init.sh").read_text()
    assert "mc admin policy create lake fastcart-lakehouse /init/fastcart-policy.json" in init
    assert 'policy attach lake fastcart-lakehouse --user "$FASTCART_S3_ACCESS_KEY"' in init


def test_code_location_services_get_every_fastcart_setting(rendered):
    services = rendered["services"]
    for name in ("dagster-webserver", "dagster-daemon", "fastcart-metrics"):
        environment = services[name]["environment"]
        settings = Settings(
            lake_root=environment["FASTCART_LAKE_ROOT"],
            kafka_bootstrap=environment["FASTCART_KAFKA_BOOTSTRAP"],
            kafka_topic=environment["FASTCART_KAFKA_TOPIC"],
            spark_remote=environment["FASTCART_SPARK_REMOTE"],
        )
        assert settings.table_path("bronze/ecommerce_sales") == (
            "s3a://lakehouse/bronze/ecommerce_sales"
        )
        assert settings.kafka_bootstrap.split(":")[0] in services
        host, port = settings.spark_remote.removeprefix("sc://").split(":")
        assert host in services and port == "15002"
        assert environment["FASTCART_CDC_TOPIC"] == CDC_TOPIC
        assert environment["DAGSTER_POSTGRES_HOST"] in services
    dagster_yaml = yaml.safe_load((DOCKER / "dagster.yaml").read_text())
    database = dagster_yaml["storage"]["postgres"]["postgres_db"]
    for key in ("hostname", "port", "username", "password", "db_name"):
        assert set(database[key]) == {"env"}, key  # every connection setting from the env
        assert database[key]["env"] in services["dagster-daemon"]["environment"], key


def test_the_spark_connect_server_matches_the_client(tmp_path, sentinels):
    pins = _pins()
    sail = (DOCKER / "spark-sail.Dockerfile").read_text()
    assert f"pysail=={pins['pysail']}" in sail
    assert f"pyspark-client=={pins['pyspark']}" in sail
    apache = (DOCKER / "spark-apache.Dockerfile").read_text()
    assert f"pyspark=={pins['pyspark']}" in apache
    spark_minor = ".".join(pins["pyspark"].split(".")[:2])
    resolve = (DOCKER / "spark" / "resolve_jars.py").read_text()
    assert f"io.delta:delta-spark_{spark_minor}_2.13:{pins['delta-spark']}" in resolve
    # hadoop-aws must match the Hadoop that this Spark release bundles
    import pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    [hadoop] = [p.name for p in jars.glob("hadoop-client-api-*.jar")]
    hadoop_version = hadoop.removeprefix("hadoop-client-api-").removesuffix(".jar")
    assert f"org.apache.hadoop:hadoop-aws:{hadoop_version}" in resolve
    for text in (sail, apache):
        assert "15002" in text
    if shutil.which("docker-compose"):
        for engine in ("sail", "apache"):
            result = _compose_config(tmp_path, {**sentinels, "SPARK_ENGINE": engine})
            build = yaml.safe_load(result.stdout)["services"]["spark-connect"]["build"]
            assert (PROJECT / build["dockerfile"]).exists()
            assert build["dockerfile"] == f"docker/spark-{engine}.Dockerfile"


def test_prometheus_scrapes_fastcart_metrics_and_grafana_reads_prometheus(rendered):
    prometheus = yaml.safe_load((DOCKER / "prometheus" / "prometheus.yml").read_text())
    [job] = [j for j in prometheus["scrape_configs"] if j["job_name"] == "fastcart"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    assert job["static_configs"][0]["targets"] == ["fastcart-metrics:9108"]
    command = rendered["services"]["fastcart-metrics"]["command"]
    assert command[:2] == ["fastcart", "metrics"]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert command[command.index("--port") + 1] == "9108"
    datasources = yaml.safe_load(
        (DOCKER / "grafana" / "provisioning" / "datasources" / "prometheus.yaml").read_text()
    )
    [source] = datasources["datasources"]
    assert source["url"] == "http://prometheus:9090"
    board = json.loads((DOCKER / "grafana" / "dashboards" / "fastcart.json").read_text())
    assert board["panels"]
    assert all(p["datasource"]["uid"] == source["uid"] for p in board["panels"])
    assert all('job="fastcart"' in p["targets"][0]["expr"] for p in board["panels"])


def test_the_cdc_connector_publishes_the_topic_the_assets_read(rendered):
    connector = json.loads((DOCKER / "debezium" / "orders-connector.json").read_text())
    topic = f"{connector['topic.prefix']}.{connector['table.include.list']}"
    assert topic == CDC_TOPIC
    assert connector["connector.class"] == "io.debezium.connector.postgresql.PostgresConnector"
    assert connector["plugin.name"] == "pgoutput"
    services = rendered["services"]
    orders_db = services["orders-db"]
    assert "wal_level=logical" in orders_db["command"]
    assert connector["database.hostname"] == "orders-db"
    assert connector["database.dbname"] == orders_db["environment"]["POSTGRES_DB"]
    sql = (DOCKER / "orders-db" / "010-orders.sql").read_text()
    assert f"CREATE PUBLICATION {connector['publication.name']} FOR TABLE public.orders" in sql
    assert f"CREATE ROLE {connector['database.user']} WITH LOGIN REPLICATION" in sql
    debezium = services["debezium"]["environment"]
    assert debezium["CONNECT_CONFIG_PROVIDERS"] == "env"
    # `config` prints `$` escaped as `$$`, as in the file; the container sees one `$`
    pattern = debezium["CONNECT_CONFIG_PROVIDERS_ENV_PARAM_ALLOWLIST_PATTERN"]
    assert pattern.replace("$$", "$") == "^DEBEZIUM_DB_PASSWORD$"
    assert "DEBEZIUM_DB_PASSWORD" in debezium
    register = services["debezium-register"]
    assert register["entrypoint"] == ["/bin/sh", "/debezium/register.sh"]
    assert "connectors/fastcart-orders/config" in (DOCKER / "debezium" / "register.sh").read_text()


@pytest.mark.skipif(postgres_bin_dir() is None, reason="Debian postgresql is not installed")
def test_the_orders_database_script_prepares_debezium_on_a_real_postgres():
    script = (DOCKER / "orders-db" / "010-orders.sql").read_text()
    password = secrets.token_urlsafe(16)
    with postgres_server({"wal_level": "logical"}) as server:
        server.psql("CREATE DATABASE orders; CREATE DATABASE orders_unset;")
        with pytest.raises(RuntimeError, match="set DEBEZIUM_DB_PASSWORD"):
            server.psql(script, dbname="orders_unset", env={"DEBEZIUM_DB_PASSWORD": ""})
        server.psql(script, dbname="orders", env={"DEBEZIUM_DB_PASSWORD": password})
        debezium = psycopg2.connect(
            host="127.0.0.1", port=server.port, user="debezium", password=password, dbname="orders"
        )
        debezium.autocommit = True
        try:
            with debezium.cursor() as cursor:
                cursor.execute("SELECT pg_create_logical_replication_slot('t', 'pgoutput')")
                server.psql(
                    "INSERT INTO public.orders VALUES ('ORD-00000001', 'CUST-1', 'a@example.org',"
                    " 'PROD-001', 2, 20.50, 'paypal', 'pending', 'CA', now(), now());"
                    "UPDATE public.orders SET status = 'shipped' WHERE order_id = 'ORD-00000001';"
                    "DELETE FROM public.orders WHERE order_id = 'ORD-00000001';",
                    dbname="orders",
                )
                cursor.execute(
                    "SELECT data FROM pg_logical_slot_get_binary_changes('t', NULL, NULL, "
                    "'proto_version', '1', 'publication_names', 'fastcart_orders')"
                )
                kinds = {bytes(row[0])[:1] for row in cursor.fetchall()}
                assert {b"I", b"U", b"D"} <= kinds  # insert, update, delete published
                cursor.execute("SELECT count(*) FROM public.orders")  # the snapshot's read
                assert cursor.fetchone() == (0,)
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cursor.execute("DELETE FROM public.orders")
                cursor.execute("SELECT pg_drop_replication_slot('t')")
        finally:
            debezium.close()
        full = server.psql(
            "SELECT relreplident FROM pg_class WHERE oid = 'public.orders'::regclass", "orders"
        )
        assert full.strip() == "f"  # updates and deletes carry the whole old row
