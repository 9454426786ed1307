"""docker-compose.yml as Compose resolves it: `docker-compose config` (Debian's docker-compose
1.29 validates without a Docker engine) with .env.example, then what matters in the result:
pinned images, the auth string wired from the env file into the server and its clients, Postgres
with a healthcheck and a volume, the deploy and worker commands on the pool `aural-local`, the
gpu profile. The last test runs the rendered deploy and worker commands against a real
`prefect server start` with the rendered auth setting (SQLite there: no Postgres here)."""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ..prefect_server import BIN, PrefectServer
from ..reliability.cli_runs import wait_for

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = shutil.which("docker-compose")
CLIENTS = ("deploy", "worker", "worker-gpu")
WORKERS = ("worker", "worker-gpu")

NO_COMPOSE = "docker-compose is not installed (Debian package docker-compose; .ci/run installs it)"
needs_compose = pytest.mark.skipif(COMPOSE is None, reason=NO_COMPOSE)


def _env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line.strip() and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def _dockerignore() -> list[str]:
    lines = (line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _config(env_file: Path) -> subprocess.CompletedProcess:
    return subprocess.run([COMPOSE, "-f", "docker-compose.yml", "--env-file", str(env_file), "config"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def _with(tmp_path: Path, **changes: str | None) -> Path:
    """.env.example with some values changed (None drops the variable)."""
    env = {**_env_file(ROOT / ".env.example"), **changes}
    path = tmp_path / "test.env"
    path.write_text("".join(f"{k}={v}\n" for k, v in env.items() if v is not None))
    return path


@pytest.fixture(scope="module")
def example() -> dict[str, str]:
    return _env_file(ROOT / ".env.example")


@pytest.fixture(scope="module")
def services() -> dict:
    if COMPOSE is None:
        pytest.skip(NO_COMPOSE)
    done = _config(ROOT / ".env.example")
    assert done.returncode == 0, f"docker-compose config failed:\n{done.stderr}"
    return yaml.safe_load(done.stdout)["services"]


def _command(service: dict) -> str:
    command = service["command"]
    return command if isinstance(command, str) else " ".join(command)


def _prefect_version() -> str:
    declared = yaml.safe_load((ROOT / "prefect.yaml").read_text())["prefect-version"]
    pins = (ROOT / "pyproject.toml").read_text()
    assert f'"prefect>={declared},' in pins, f"pyproject.toml does not pin prefect>={declared}"
    return declared


def test_images_are_pinned(services):
    images = {name: s["image"] for name, s in services.items()}
    for name, image in images.items():
        assert ":" in image and not image.endswith(":latest"), f"{name}: image {image} is not pinned"
    assert re.fullmatch(r"postgres:15\.\d+-bookworm", images["postgres"]), images["postgres"]
    assert images["prefect-server"] == f"prefecthq/prefect:{_prefect_version()}-python3.11"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11\.\d+-slim-bookworm$", dockerfile, re.M), "Dockerfile base is not pinned"
    assert "pip install torch==2.13.0" in (ROOT / "Makefile").read_text()
    assert "ARG TORCH_SPEC=torch==2.13.0" in dockerfile
    for name in WORKERS:
        assert services[name]["build"]["args"]["TORCH_SPEC"] == "torch==2.13.0", name


def test_auth_string_reaches_server_and_clients(services, example):
    auth = example["PREFECT_AUTH_STRING"]
    assert re.fullmatch(r"[^:\s]+:\S+", auth), f".env.example: PREFECT_AUTH_STRING={auth!r} is not user:password"
    assert services["prefect-server"]["environment"]["PREFECT_SERVER_API_AUTH_STRING"] == auth
    for name in CLIENTS:
        env = services[name]["environment"]
        assert env["PREFECT_API_AUTH_STRING"] == auth, name
        assert env["PREFECT_API_URL"] == "http://prefect-server:4200/api", name


@needs_compose
def test_auth_string_comes_from_the_env_file(tmp_path):
    changed = _config(_with(tmp_path, PREFECT_AUTH_STRING="tester:s3cret"))
    assert changed.returncode == 0, changed.stderr
    rendered = yaml.safe_load(changed.stdout)["services"]
    assert rendered["prefect-server"]["environment"]["PREFECT_SERVER_API_AUTH_STRING"] == "tester:s3cret"
    assert {rendered[n]["environment"]["PREFECT_API_AUTH_STRING"] for n in CLIENTS} == {"tester:s3cret"}
    # A missing auth string stops Compose instead of starting an open server.
    missing = _config(_with(tmp_path, PREFECT_AUTH_STRING=None))
    assert missing.returncode != 0 and "PREFECT_AUTH_STRING" in missing.stderr, missing.stderr


def test_postgres_has_healthcheck_and_volume(services, example):
    pg = services["postgres"]
    assert pg["healthcheck"]["test"][0] == "CMD-SHELL" and "pg_isready" in pg["healthcheck"]["test"][1]
    assert any(v.split(":")[:2] == ["postgres-data", "/var/lib/postgresql/data"] for v in pg["volumes"]), pg["volumes"]
    assert {k: pg["environment"][k] for k in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB")} == {
        k: example[k] for k in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB")}


def test_server_uses_postgres_and_is_healthchecked(services, example):
    server = services["prefect-server"]
    env = server["environment"]
    assert env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] == (
        f"postgresql+asyncpg://{example['POSTGRES_USER']}:{example['POSTGRES_PASSWORD']}@postgres:5432/"
        f"{example['POSTGRES_DB']}")
    assert env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert server["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "/api/health" in " ".join(server["healthcheck"]["test"])
    assert "--host" in server["command"] and "0.0.0.0" in server["command"]
    published = server["ports"][0]
    assert (published["published"], published["target"]) == (int(example["PREFECT_PORT"]), 4200)


def test_deploy_registers_prefect_yaml_on_the_pool(services, example):
    deploy = services["deploy"]
    command = _command(deploy)
    assert "prefect work-pool create aural-local --type process" in command
    assert "prefect --no-prompt deploy --all" in command
    assert deploy["depends_on"]["prefect-server"]["condition"] == "service_healthy"
    assert deploy["environment"]["AURAL_TIMEZONE"] == example["AURAL_TIMEZONE"]
    assert deploy["restart"] == "no"
    pools = {d["work_pool"]["name"] for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]}
    assert pools == {"aural-local"}


def test_workers_run_the_pool_in_the_image_app_dir(services):
    workdir = re.search(r"^WORKDIR (\S+)$", (ROOT / "Dockerfile").read_text(), re.M).group(1)
    for name in WORKERS:
        worker = services[name]
        assert worker["command"] == ["prefect", "worker", "start", "--pool", "aural-local", "--type", "process"]
        assert worker["environment"]["AURAL_HOME"] == workdir, name
        assert worker["depends_on"]["deploy"]["condition"] == "service_completed_successfully", name
        mounts = {v.split(":")[1] for v in worker["volumes"]}
        assert {f"{workdir}/data", f"{workdir}/models", f"{workdir}/reports"} <= mounts, name
    assert services["deploy"]["environment"]["AURAL_HOME"] == workdir


def test_gpu_worker_is_a_profile_with_cuda(services, example):
    gpu = services["worker-gpu"]
    assert gpu["profiles"] == ["gpu"]
    assert "profiles" not in services["worker"]
    device = gpu["deploy"]["resources"]["reservations"]["devices"][0]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    assert gpu["build"]["args"]["TORCH_INDEX_URL"] == example["TORCH_GPU_INDEX_URL"]
    assert services["worker"]["build"]["args"]["TORCH_INDEX_URL"] == example["TORCH_INDEX_URL"] != (
        example["TORCH_GPU_INDEX_URL"])
    assert gpu["image"] != services["worker"]["image"]


def test_env_example_lists_exactly_the_compose_variables(example):
    text = (ROOT / "docker-compose.yml").read_text()
    # ${VAR}, ${VAR:-default} or ${VAR:?message}; $$ escapes a dollar for the container.
    used = set(re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)", text))
    assert used, "no ${VAR} found in docker-compose.yml"
    assert used - set(example) == set(), "docker-compose.yml uses variables .env.example lacks"
    assert set(example) - used == set(), ".env.example has variables docker-compose.yml does not use"


def test_dotenv_is_ignored_by_git_and_docker():
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT)
    assert ignored.returncode == 0, ".env is not in .gitignore"
    example = subprocess.run(["git", "check-ignore", "-q", ".env.example"], cwd=ROOT)
    assert example.returncode == 1, ".env.example is git-ignored"
    assert ".env" in _dockerignore()


def test_build_context_keeps_what_pip_install_needs():
    """`pip install /app` needs pyproject.toml, the README it names and every package; the deploy
    service needs prefect.yaml."""
    patterns = _dockerignore()
    pyproject = (ROOT / "pyproject.toml").read_text()
    packages = re.search(r"^include = \[(.*)\]$", pyproject, re.M).group(1)
    needed = ["pyproject.toml", "README.md", "prefect.yaml", *re.findall(r'"(\w+)\*"', packages)]
    assert len(needed) > 5, packages
    for name in needed:
        assert (ROOT / name).exists(), name
        assert not any(fnmatch.fnmatch(name, p) for p in patterns), f".dockerignore drops {name}"


@needs_compose
def test_rendered_deploy_and_worker_work_against_a_real_server(services, tmp_path):
    """The deploy and worker services' commands and environments, as Compose renders them, with
    the server's address and the app dir swapped for this machine's."""
    from prefect.client.orchestration import SyncPrefectClient

    auth = services["prefect-server"]["environment"]["PREFECT_SERVER_API_AUTH_STRING"]
    server = PrefectServer(tmp_path / "prefect-home", extra_env={"PREFECT_SERVER_API_AUTH_STRING": auth}).start()
    local = {"PREFECT_API_URL": server.url, "AURAL_HOME": str(ROOT), "PATH": f"{BIN}:{os.environ['PATH']}"}
    worker = None
    try:
        unauthenticated = server.run(str(BIN / "prefect"), "work-pool", "ls")
        assert unauthenticated.returncode != 0, "the server answered without the auth string"

        deploy = services["deploy"]
        done = server.run(*deploy["command"], cwd=ROOT, env={**deploy["environment"], **local}, timeout=600)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

        spec = services["worker"]
        log = tmp_path / "worker.log"
        worker = subprocess.Popen(spec["command"], cwd=tmp_path, env={**server.env, **spec["environment"], **local},
                                  stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
        with SyncPrefectClient(server.url, auth_string=auth) as client:
            names = {d.name for d in client.read_deployments()}
            assert {d["name"] for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]} <= names
            registered = wait_for(lambda: client.read_workers_for_work_pool("aural-local"), timeout=120, step=1)
            assert registered, f"no worker on aural-local after 120 s; worker log:\n{log.read_text()[-3000:]}"
    finally:
        if worker is not None:
            os.killpg(worker.pid, 15)
            try:
                worker.wait(60)
            except subprocess.TimeoutExpired:  # a worker slow to shut down on a busy machine
                os.killpg(worker.pid, 9)
                worker.wait(10)
        server.stop()
