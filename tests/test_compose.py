"""Static checks of docker-compose.yml against the code it runs.

No Docker engine is needed (or used): the compose file is parsed as YAML and its commands,
environment and wiring are checked against the installed packages and ``Settings``.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
ENV_PREFIX = "PETITIONFLOW_"
APP_SERVICES = ("api", "worker", "notices")
TEMPORAL_DATABASES = {"temporal", "temporal_visibility"}


def _load_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "docker-compose.yml must be a mapping"
    return data


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    raw = _load_compose().get("services")
    assert isinstance(raw, dict), "docker-compose.yml has no services mapping"
    result: dict[str, dict[str, Any]] = {}
    for name, spec in raw.items():
        assert isinstance(spec, dict), f"service {name!r} must be a mapping"
        result[str(name)] = spec
    return result


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command")
    if isinstance(command, str):
        return shlex.split(command)
    assert isinstance(command, list), "command must be a string or a list"
    return [str(part) for part in command]


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = [str(item).partition("=") for item in env]
        return {key: value for key, _, value in pairs}
    assert isinstance(env, dict), "environment must be a mapping or a list"
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def _depends_on(service: dict[str, Any]) -> list[str]:
    deps = service.get("depends_on") or []
    if isinstance(deps, dict):
        return [str(name) for name in deps]
    assert isinstance(deps, list), "depends_on must be a mapping or a list"
    return [str(name) for name in deps]


def _build_context(service: dict[str, Any]) -> tuple[Path, str]:
    build = service.get("build")
    if isinstance(build, str):
        context, dockerfile = build, "Dockerfile"
    else:
        assert isinstance(build, dict), "build must be a path or a mapping"
        context = str(build.get("context", "."))
        dockerfile = str(build.get("dockerfile", "Dockerfile"))
    return (PROJECT_ROOT / context).resolve(), dockerfile


def _unset(value: object) -> str:
    """A value as compose reads it when the variable it names is unset: ``${VAR:-default}``
    gives the default."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(value))


def _container_ports(service: dict[str, Any]) -> set[int]:
    ports: set[int] = set()
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            ports.add(int(entry["target"]))
        else:
            target = str(entry).split("/", 1)[0].rsplit(":", 1)[-1]
            ports.add(int(target))
    return ports


def test_services_exist(services: dict[str, dict[str, Any]]) -> None:
    expected = {"postgres", "temporal", "temporal-ui", "api", "worker", "notices"}
    assert expected <= services.keys(), f"missing: {sorted(expected - services.keys())}"


def test_api_and_worker_share_one_image(services: dict[str, dict[str, Any]]) -> None:
    api_context, api_dockerfile = _build_context(services["api"])
    worker_context, worker_dockerfile = _build_context(services["worker"])
    assert (api_context, api_dockerfile) == (worker_context, worker_dockerfile)
    assert api_context == PROJECT_ROOT
    assert (api_context / api_dockerfile).is_file()
    assert (PROJECT_ROOT / ".dockerignore").is_file()


def test_api_command_names_the_app_factory(services: dict[str, dict[str, Any]]) -> None:
    command = _command(services["api"])
    assert command[0] == "uvicorn"
    assert "--factory" in command
    assert "api.main:create_app" in command
    module = importlib.import_module("api.main")
    assert callable(getattr(module, "create_app", None))


def test_api_listens_on_its_published_port(services: dict[str, dict[str, Any]]) -> None:
    command = _command(services["api"])
    assert "--port" in command
    port = int(command[command.index("--port") + 1])
    assert port in _container_ports(services["api"])


def test_worker_command_runs_the_worker_module(services: dict[str, dict[str, Any]]) -> None:
    # The chain in one service, the notices' sends in another (issue 11): every queue polled.
    assert _command(services["worker"]) == ["python", "-m", "worker", "--queues", "petitions"]
    assert _command(services["notices"]) == ["python", "-m", "worker", "--queues", "notices"]
    assert importlib.util.find_spec("worker.__main__") is not None
    assert _environment(services["notices"]) == _environment(services["api"])


@pytest.mark.parametrize("name", APP_SERVICES)
def test_environment_keys_are_settings_fields(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    from core.settings import Settings

    fields = set(Settings.model_fields)
    keys = [key for key in _environment(services[name]) if key.startswith(ENV_PREFIX)]
    assert keys, f"{name} sets no {ENV_PREFIX}* variables"
    unknown = sorted(key for key in keys if key[len(ENV_PREFIX) :].lower() not in fields)
    assert not unknown, f"{name}: not fields of Settings: {unknown}"


def test_database_url_points_at_postgres(services: dict[str, dict[str, Any]]) -> None:
    urls = {
        name: _environment(services[name]).get("PETITIONFLOW_DATABASE_URL") for name in APP_SERVICES
    }
    assert urls["api"] is not None
    assert urls["api"] == urls["worker"], "api and worker must share one database"
    url = urlsplit(urls["api"])
    assert url.scheme.startswith("postgresql")
    assert url.hostname == "postgres"
    assert url.hostname in services
    assert url.port in (None, 5432)
    database = url.path.lstrip("/")
    assert database, "database_url names no database"
    assert database not in TEMPORAL_DATABASES, "the read model must not live in Temporal's DB"
    assert database == _environment(services["postgres"]).get("POSTGRES_DB")


def test_temporal_address_points_at_temporal(services: dict[str, dict[str, Any]]) -> None:
    addresses = {
        name: _environment(services[name]).get("PETITIONFLOW_TEMPORAL_ADDRESS")
        for name in APP_SERVICES
    }
    assert addresses["api"] is not None
    assert addresses["api"] == addresses["worker"]
    host, _, port = addresses["api"].rpartition(":")
    assert host == "temporal"
    assert host in services
    assert int(port) in _container_ports(services["temporal"])
    ui_address = _environment(services["temporal-ui"]).get("TEMPORAL_ADDRESS")
    assert ui_address == addresses["api"]


def test_temporal_namespace_is_the_one_auto_setup_creates(
    services: dict[str, dict[str, Any]],
) -> None:
    created = _environment(services["temporal"]).get("DEFAULT_NAMESPACE", "default")
    for name in APP_SERVICES:
        namespace = _environment(services[name]).get("PETITIONFLOW_TEMPORAL_NAMESPACE", "default")
        assert namespace == created, f"{name} uses a namespace auto-setup does not create"


def test_depends_on_references_existing_services(services: dict[str, dict[str, Any]]) -> None:
    for name, spec in services.items():
        for dependency in _depends_on(spec):
            assert dependency in services, f"{name} depends on unknown service {dependency!r}"
            assert dependency != name
    assert "postgres" in _depends_on(services["temporal"])
    for name in APP_SERVICES:
        assert {"postgres", "temporal"} <= set(_depends_on(services[name]))


def _scrape_targets(config: dict[str, Any]) -> dict[str, tuple[str, set[str], int]]:
    """Each scrape job of a Prometheus config: (metrics path, the names it looks up, port)."""
    targets: dict[str, tuple[str, set[str], int]] = {}
    for job in config["scrape_configs"]:
        (lookup,) = job["dns_sd_configs"]
        targets[job["job_name"]] = (
            job.get("metrics_path", "/metrics"),
            set(lookup["names"]),
            int(lookup["port"]),
        )
    return targets


def test_prometheus_is_optional_and_scrapes_api_and_worker(
    services: dict[str, dict[str, Any]],
) -> None:
    prometheus = services["prometheus"]
    # Only with `--profile monitoring`: a plain `docker compose up` runs without it.
    assert prometheus.get("profiles") == ["monitoring"]
    for name, spec in services.items():
        assert "prometheus" not in _depends_on(spec), f"{name} must run without Prometheus"
    mounts = {
        str(volume).split(":")[1]: str(volume).split(":")[0]
        for volume in prometheus.get("volumes") or []
    }
    config_file = _command(prometheus)[0].removeprefix("--config.file=")
    assert config_file in mounts, "the config Prometheus reads is not mounted"
    config_path = PROJECT_ROOT / mounts[config_file]
    assert config_path.is_file()
    targets = _scrape_targets(yaml.safe_load(config_path.read_text(encoding="utf-8")))

    api_command = _command(services["api"])
    api_port = int(api_command[api_command.index("--port") + 1])
    worker_address = _environment(services["worker"])["PETITIONFLOW_WORKER_METRICS_ADDRESS"]
    host, _, worker_port = worker_address.rpartition(":")
    assert host == "0.0.0.0", "the worker's metrics must be reachable from the Prometheus container"
    assert sorted(targets.values()) == [
        ("/metrics", {"api"}, api_port),
        ("/metrics", {"worker"}, int(worker_port)),
    ]
    # The API's own settings leave the worker's metrics alone: only the worker serves them.
    assert "PETITIONFLOW_WORKER_METRICS_ADDRESS" not in _environment(services["api"])


@pytest.mark.parametrize("name", APP_SERVICES)
def test_api_and_worker_run_as_many_replicas_as_asked(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    spec = services[name]
    assert "container_name" not in spec, f"{name}: a fixed container name allows one replica"
    replicas = (spec.get("deploy") or {}).get("replicas")
    assert replicas is not None, f"{name} sets no deploy.replicas"
    assert re.fullmatch(r"\$\{\w+:-\d+\}", str(replicas)), f"{name}: replicas not a setting"
    assert int(_unset(replicas)) == 1, f"{name}: one replica unless the operator asks for more"


def test_api_replicas_each_get_a_host_port(services: dict[str, dict[str, Any]]) -> None:
    (entry,) = services["api"]["ports"]
    host, _, target = _unset(entry).rpartition(":")
    first, _, last = host.partition("-")
    assert int(target) == 8000
    assert int(first) == 8000, "one replica still listens on the documented :8000"
    assert last and int(last) > int(first), "a single host port allows one api replica"


def test_worker_publishes_no_port(services: dict[str, dict[str, Any]]) -> None:
    """Workers only call out (to Temporal and Postgres): nothing for replicas to fight over."""
    assert not services["worker"].get("ports")
    assert not services["notices"].get("ports")


def test_the_database_password_has_no_default() -> None:
    """A password everyone can read in this file is no password: compose refuses to start
    until POSTGRES_PASSWORD is set, and says which variable is missing."""
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    uses = re.findall(r"\$\{POSTGRES_PASSWORD([^}]*)\}", text)
    assert uses, "the database password comes from POSTGRES_PASSWORD"
    assert not [use for use in uses if use.startswith((":-", "-"))], uses
    assert any(use.startswith(":?set POSTGRES_PASSWORD") for use in uses), uses


def test_temporal_and_its_ui_are_published_on_loopback_only(
    services: dict[str, dict[str, Any]],
) -> None:
    """Whoever reaches Temporal's frontend or its UI reads every workflow (issue 10)."""
    for name in ("temporal", "temporal-ui"):
        published = services[name].get("ports") or []
        assert published, name
        for entry in published:
            if isinstance(entry, dict):
                assert entry.get("host_ip") == "127.0.0.1", (name, entry)
            else:
                assert str(entry).startswith("127.0.0.1:"), (name, entry)


def test_temporal_ui_is_read_only_and_decodes_through_the_api(
    services: dict[str, dict[str, Any]],
) -> None:
    ui = _environment(services["temporal-ui"])
    assert ui.get("TEMPORAL_DISABLE_WRITE_ACTIONS") == "true"
    assert ui.get("TEMPORAL_BATCH_ACTIONS_DISABLED") == "true"
    assert ui.get("TEMPORAL_CODEC_INCLUDE_CREDENTIALS") == "true"
    endpoint = urlsplit(ui["TEMPORAL_CODEC_ENDPOINT"])
    assert endpoint.path == "/api/v1/codec"
    assert endpoint.port in _container_ports(services["api"])
    ui_port = _container_ports(services["temporal-ui"]).pop()
    origins = yaml.safe_load(_environment(services["api"])["PETITIONFLOW_CODEC_UI_ORIGINS"])
    assert f"http://{endpoint.hostname}:{ui_port}" in origins
