"""The container files: Dockerfile and compose.yaml must run commands the CLI has, with
settings the daemon knows, and the image's health check must really check /health.

Building the image and running the demo in it needs a running container engine (and the
base image); without one that test is skipped and says why.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from vinyl_detective.api.app import create_app
from vinyl_detective.cli import app
from vinyl_detective.config import parse_settings
from vinyl_detective.demo import free_port
from vinyl_detective.fakes.server import LoopbackServer
from vinyl_detective.storage.db import open_database

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()
SCRIPT = next(iter(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]))


class _Reads(dict[str, str]):
    """The settings' input, noting every variable the settings look up."""

    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(values)
        self.names: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.names.add(key)
        return super().get(key, default)


def known_settings() -> set[str]:
    reads = _Reads({})
    parse_settings(reads)
    return reads.names


def ours(service: Mapping[str, Any]) -> bool:
    """A service that runs this project's image (the others are PostgreSQL, RabbitMQ)."""
    return service.get("build") == "." or str(service.get("image", "")).startswith(SCRIPT)


def interpolated(value: object) -> str:
    """A compose value with `${VAR:-default}` replaced by its default (an empty .env)."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value))


def check_command(args: list[str]) -> None:
    """Parse `args` as the CLI would (unknown commands or options raise)."""
    commands: dict[str, Any] = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    assert args, "a service with no command"
    name, *rest = args
    assert name in commands, f"{name!r} is no vinyl-detective command"
    commands[name].make_context(name, list(rest))


def dockerfile_instructions(name: str) -> list[str]:
    """The arguments of each `name` instruction of the Dockerfile (continuations joined)."""
    joined = DOCKERFILE.replace("\\\n", " ")
    return [a.strip() for a in re.findall(rf"^{name}\s+(.+)$", joined, flags=re.MULTILINE)]


def dockerfile_instruction(name: str) -> str:
    found = dockerfile_instructions(name)
    assert found, f"the Dockerfile has no {name}"
    return found[-1]


def dockerfile_env() -> dict[str, str]:
    """The image's environment, less Python's and pip's own variables."""
    pairs = re.findall(r"([A-Z_]+)=(\S+)", " ".join(dockerfile_instructions("ENV")))
    return {k: v for k, v in pairs if not k.startswith(("PYTHON", "PIP_"))}


def test_every_compose_service_of_ours_runs_a_real_command_with_known_settings() -> None:
    known = known_settings()
    services = {name: s for name, s in COMPOSE["services"].items() if ours(s)}
    assert set(services) == {"vinyl-detective", "worker"}
    for name, service in services.items():
        check_command(service["command"])
        environment = {k: interpolated(v) for k, v in service.get("environment", {}).items()}
        assert set(environment) <= known, f"{name}: {set(environment) - known} unknown"
        parse_settings(environment)  # every value in a shape the settings accept


def test_the_default_service_is_sqlite_and_the_scale_profile_adds_the_rest() -> None:
    services = COMPOSE["services"]
    main = services["vinyl-detective"]
    assert "profiles" not in main
    settings = parse_settings({k: interpolated(v) for k, v in main["environment"].items()})
    assert settings.database_url == "sqlite:////data/vinyl_detective.db"
    assert "data:/data" in main["volumes"]
    assert "127.0.0.1:8600:8600" in main["ports"]  # the dashboard, on this machine only
    # It waits for the profile's servers when they run, and does without them otherwise.
    assert all(d["required"] is False for d in main["depends_on"].values())

    worker = services["worker"]
    assert worker["profiles"] == ["scale"]
    assert worker["command"] == ["run", "--worker"]
    assert worker["deploy"]["replicas"] == 2
    assert parse_settings(worker["environment"]).database_url.startswith("postgresql+psycopg://")
    for needed in ("postgres", "rabbitmq"):
        assert services[needed]["profiles"] == ["scale"]
        assert worker["depends_on"][needed]["condition"] == "service_healthy"
    # The worker's URLs point at the profile's own PostgreSQL and RabbitMQ.
    pg = services["postgres"]["environment"]
    url = worker["environment"]["DATABASE_URL"]
    assert f"{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}@postgres:5432/" in url
    assert url.endswith(f"/{pg['POSTGRES_DB']}")
    assert "@rabbitmq:5672" in worker["environment"]["EVENTS_URL"]


def test_the_image_runs_the_daemon_as_a_user_with_its_data_in_a_volume() -> None:
    entrypoint = json.loads(dockerfile_instruction("ENTRYPOINT"))
    command = json.loads(dockerfile_instruction("CMD"))
    assert entrypoint == [SCRIPT]
    assert command == ["run"]
    check_command(command)
    user = dockerfile_instruction("USER")
    assert user not in ("root", "0")
    assert json.loads(dockerfile_instruction("VOLUME")) == ["/data"]
    env = dockerfile_env()
    assert set(env) <= known_settings()
    settings = parse_settings(env)
    assert settings.database_url.startswith("sqlite:////data/")
    assert (settings.api_host, settings.api_port) == ("0.0.0.0", 8600)
    assert f"EXPOSE {settings.api_port}" in DOCKERFILE


@pytest.fixture
def health_command() -> list[str]:
    healthcheck = dockerfile_instruction("HEALTHCHECK")
    exec_form = healthcheck[healthcheck.index("CMD") + 3 :].strip()
    command: list[str] = json.loads(exec_form)
    assert command[0] == "python"
    return [sys.executable, *command[1:]]


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[int]:
    engine = open_database(f"sqlite:///{tmp_path / 'vd.db'}")
    port = free_port()
    with LoopbackServer(create_app(engine=engine, admin_token="t0ken-for-health"), port=port):
        yield port
    engine.dispose()


def test_the_health_check_passes_while_the_api_answers(
    health_command: list[str], serving: int
) -> None:
    env = {**os.environ, "API_PORT": str(serving)}
    done = subprocess.run(health_command, env=env, capture_output=True, timeout=30, check=False)  # noqa: S603
    assert done.returncode == 0, done.stderr


def test_the_health_check_fails_when_nothing_answers(health_command: list[str]) -> None:
    env = {**os.environ, "API_PORT": str(free_port())}
    done = subprocess.run(health_command, env=env, capture_output=True, timeout=30, check=False)  # noqa: S603
    assert done.returncode != 0


def _engine() -> tuple[str | None, str]:
    """A container engine that answers (docker or podman), or None and why not."""
    reasons = []
    for engine in ("docker", "podman"):
        path = shutil.which(engine)
        if path is None:
            reasons.append(f"no {engine} command")
            continue
        info = subprocess.run(  # noqa: S603
            [path, "info"], capture_output=True, text=True, timeout=60, check=False
        )
        if info.returncode == 0:
            return path, ""
        last = (info.stderr.strip().splitlines() or ["no answer"])[-1]
        reasons.append(f"{engine} info: {last}")
    return None, "; ".join(reasons)


@pytest.mark.slow
def test_the_image_builds_and_runs_the_demo_once(tmp_path: Path) -> None:
    engine, why = _engine()
    if engine is None:
        pytest.skip(f"no container engine runs here ({why}): the image build is not tried")
    tag = f"vinyl-detective:test-{os.getpid()}"
    build = subprocess.run(  # noqa: S603
        [engine, "build", "-t", tag, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    if build.returncode != 0 and "pull" in build.stderr.lower():
        pytest.skip(f"the base image could not be had: {build.stderr.strip()[-300:]}")
    assert build.returncode == 0, build.stderr[-2000:]
    try:
        demo = subprocess.run(  # noqa: S603
            [engine, "run", "--rm", tag, "demo", "--once"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert demo.returncode == 0, demo.stderr[-2000:]
        assert re.search(r"\b[1-9]\d* deal alert\(s\) sent", demo.stdout), demo.stdout[-2000:]
    finally:
        subprocess.run([engine, "rmi", "-f", tag], capture_output=True, check=False)  # noqa: S603
