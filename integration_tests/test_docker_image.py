"""The Docker image users add to Airbyte, built from ./Dockerfile and run with podman (or docker).

The image is built once per session; then ``spec``, ``check``, ``discover`` and ``read`` run
through it against the local Stripe emulator, and must answer what the installed package answers.
It must also run as a non-root user, carry Airbyte's labels and entry point, and hold none of the
test or emulator dependencies, nor the emulator itself.

Skipped, with the reason, where no container tool works (a laptop without podman or a Docker
engine), unless CI=true on a machine with ../shared/container-build: there it must run (the CI
script runs tools/container_setup.sh first), so a broken setup fails instead of skipping.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED_BUILD = ROOT.parent / "shared" / "container-build"
IMAGE = "source-stripe-conduit:test"
LOCAL_BASE = "localhost/py311-base"
SECRET_KEY = "sk_test_emulator"
# What the emulator holds (stream -> objects); read through the image and through the package.
SEED_COUNTS = {"customers": 30, "products": 8, "prices": 16, "charges": 30, "invoices": 20,
               "subscriptions": 10}
SEED = 42
# Fields that say when the record was observed, not what it holds: they differ between two reads.
OBSERVATION_FIELDS = ("updated", "_ab_cdc_updated_at")
FORBIDDEN_DISTRIBUTIONS = ("pytest", "aiohttp", "requests-mock", "ruff")
# Packages of this project that stay out of the image: the emulator comes with a checkout.
FORBIDDEN_PACKAGES = ("stripe_emulator",)
BUILD_TIMEOUT = 600
RUN_TIMEOUT = 180

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# The container tool
# ---------------------------------------------------------------------------------------------

def _tool_env() -> dict[str, str]:
    env = dict(os.environ)
    # This machine's podman needs runc and lower ulimits (see ../shared/container-build/README.md).
    conf = SHARED_BUILD / "containers.conf"
    if "CONTAINERS_CONF" not in env and conf.is_file():
        env["CONTAINERS_CONF"] = str(conf)
    return env


def _usable(tool: str) -> str | None:
    """None if ``tool info`` works, else why not."""
    if shutil.which(tool) is None:
        return f"no `{tool}` on PATH"
    try:
        done = subprocess.run([tool, "info"], capture_output=True, text=True, timeout=60,
                              env=_tool_env())
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"`{tool} info` failed: {error}"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"`{tool} info` failed: {last}"
    return None


def _find_tool() -> tuple[str | None, str]:
    reasons = []
    for tool in ("podman", "docker"):
        reason = _usable(tool)
        if reason is None:
            return tool, ""
        reasons.append(reason)
    return None, "; ".join(reasons)


def _must_run() -> bool:
    return os.environ.get("CI", "").lower() == "true" and SHARED_BUILD.is_dir()


class Tool:
    def __init__(self, name: str) -> None:
        self.name = name
        self.env = _tool_env()

    def __call__(self, *args: str, timeout: float = RUN_TIMEOUT,
                 check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([self.name, *args], capture_output=True, text=True,
                              timeout=timeout, env=self.env, cwd=ROOT)
        if check and done.returncode != 0:
            raise AssertionError(f"`{self.name} {' '.join(args)}` exited {done.returncode}:\n"
                                 f"{done.stderr[-4000:]}")
        return done


def _report(config: pytest.Config, line: str) -> None:
    """A line on the terminal even under -q and output capture (the build time, the size)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:  # pragma: no cover
        print(line)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(line)


@pytest.fixture(scope="session")
def tool() -> Tool:
    name, reason = _find_tool()
    if name is None:
        message = f"no usable container tool to build the connector's image: {reason}"
        if _must_run():
            pytest.fail(f"{message} (CI=true: run tools/container_setup.sh first)")
        pytest.skip(message)
    return Tool(name)


@pytest.fixture(scope="session")
def image(tool: Tool, request: pytest.FixtureRequest) -> str:
    """The connector's image, built once per session from the working tree."""
    args = ["build", "--network", "host", "-t", IMAGE]
    base = os.environ.get("SOURCE_STRIPE_CONDUIT_BASE_IMAGE")
    if base is None and tool.name == "podman" and tool("image", "exists", LOCAL_BASE,
                                                        check=False).returncode == 0:
        base = LOCAL_BASE  # this machine's local base; no registry here
    if base == LOCAL_BASE:
        args.append("--pull=never")
    if base:
        args += ["--build-arg", f"BASE_IMAGE={base}"]
    previous = tool("image", "inspect", "--format", "{{.Id}}", IMAGE, check=False).stdout.strip()
    started = time.monotonic()
    tool(*args, ".", timeout=BUILD_TIMEOUT)
    took = time.monotonic() - started
    current = tool("image", "inspect", "--format", "{{.Id}}", IMAGE).stdout.strip()
    if previous and previous != current:
        # The image this build replaced is untagged now: remove it, not to pile one up per run.
        tool("rmi", previous, check=False)
    size = int(tool("image", "inspect", "--format", "{{.Size}}", IMAGE).stdout.strip())
    _report(request.config, f"\n[image] {IMAGE} built with {tool.name} from "
                            f"{base or 'the Dockerfile default base'} in {took:.0f} s; "
                            f"size {size / 1e6:.0f} MB")
    ran = tool("run", "--rm", "--entrypoint", "true", IMAGE, check=False)
    if ran.returncode != 0 and not _must_run():
        # A tool that answers `info` and builds may still be unable to start a container
        # (a machine whose runtime needs settings of its own, see tools/container_setup.sh).
        last = (ran.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"{tool.name} builds the image but cannot run a container here: {last}")
    return IMAGE


# ---------------------------------------------------------------------------------------------
# The emulator and the connector's files
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def emulator() -> Iterator[Any]:
    from stripe_emulator import Emulator

    with Emulator(port=0) as emu:
        emu.client.seed(counts=SEED_COUNTS, seed=SEED)
        yield emu


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Mounted at /data in the container; readable by its non-root user."""
    path = tmp_path_factory.mktemp("image-data")
    path.chmod(0o755)
    return path


def _write(directory: Path, name: str, content: Mapping[str, Any]) -> Path:
    path = directory / name
    path.write_text(json.dumps(content))
    path.chmod(0o644)
    return path


@pytest.fixture(scope="session")
def config_file(emulator: Any, data_dir: Path) -> Path:
    config = {"secret_key": SECRET_KEY, "api_base": emulator.url, "lag_seconds": 0,
              "resource_names": list(SEED_COUNTS)}
    return _write(data_dir, "config.json", config)


def _messages(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def _of_type(messages: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in messages if m.get("type") == kind]


def _in_image(tool: Tool, image: str, data_dir: Path, *args: str) -> list[dict[str, Any]]:
    done = tool("run", "--rm", "--network", "host", "-v", f"{data_dir}:/data:Z", image, *args)
    return _messages(done.stdout)


def _in_package(*args: str) -> list[dict[str, Any]]:
    entry = Path(sys.executable).with_name("source-stripe-conduit")
    command = [str(entry)] if entry.exists() else [sys.executable, "-m", "source_stripe_conduit.run"]
    done = subprocess.run([*command, *args], capture_output=True, text=True, timeout=RUN_TIMEOUT,
                          cwd=ROOT)
    assert done.returncode == 0, f"the package's `{' '.join(args)}` failed:\n{done.stderr[-4000:]}"
    return _messages(done.stdout)


@pytest.fixture(scope="session")
def catalog_file(config_file: Path, data_dir: Path) -> Path:
    """Every seeded stream, incremental where the stream offers it."""
    [catalog] = _of_type(_in_package("discover", "--config", str(config_file)), "CATALOG")
    streams = []
    for stream in catalog["catalog"]["streams"]:
        incremental = "incremental" in stream["supported_sync_modes"]
        streams.append({
            "stream": stream,
            "sync_mode": "incremental" if incremental else "full_refresh",
            "destination_sync_mode": "append_dedup" if incremental else "overwrite",
            "cursor_field": stream.get("default_cursor_field") or [],
            "primary_key": stream.get("source_defined_primary_key") or [],
        })
    assert {s["stream"]["name"] for s in streams} == set(SEED_COUNTS)
    return _write(data_dir, "catalog.json", {"streams": streams})


def _records(messages: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(stream, id, data without observation-time fields), sorted; emitted_at dropped."""
    rows = []
    for message in _of_type(messages, "RECORD"):
        record = message["record"]
        data = {k: v for k, v in record["data"].items() if k not in OBSERVATION_FIELDS}
        rows.append((record["stream"], str(data.get("id")), json.dumps(data, sort_keys=True)))
    return sorted(rows)


# ---------------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:This class is experimental")
def test_spec_is_the_packages_spec(tool: Tool, image: str) -> None:
    from airbyte_cdk.models import ConnectorSpecificationSerializer

    from source_stripe_conduit import SourceStripeConduit

    done = tool("run", "--rm", image, "spec")
    [message] = _of_type(_messages(done.stdout), "SPEC")
    expected = ConnectorSpecificationSerializer.dump(SourceStripeConduit().spec(log))
    assert message["spec"] == expected


def test_check_succeeds_against_the_emulator(tool: Tool, image: str, data_dir: Path,
                                             config_file: Path) -> None:
    messages = _in_image(tool, image, data_dir, "check", "--config", "/data/config.json")
    [status] = _of_type(messages, "CONNECTION_STATUS")
    assert status["connectionStatus"]["status"] == "SUCCEEDED", status


def test_check_fails_cleanly_with_a_wrong_key(tool: Tool, image: str, data_dir: Path,
                                              emulator: Any) -> None:
    _write(data_dir, "wrong_key.json", {"secret_key": "sk_test_not_the_emulators_key",
                                        "api_base": emulator.url, "lag_seconds": 0})
    messages = _in_image(tool, image, data_dir, "check", "--config", "/data/wrong_key.json")
    [status] = _of_type(messages, "CONNECTION_STATUS")
    assert status["connectionStatus"]["status"] == "FAILED"
    assert status["connectionStatus"]["message"]


def test_discover_is_the_packages_catalog(tool: Tool, image: str, data_dir: Path,
                                          config_file: Path) -> None:
    in_image = _of_type(_in_image(tool, image, data_dir, "discover", "--config",
                                  "/data/config.json"), "CATALOG")
    in_package = _of_type(_in_package("discover", "--config", str(config_file)), "CATALOG")
    assert len(in_image) == 1
    assert in_image == in_package


def test_read_gives_the_packages_records(tool: Tool, image: str, data_dir: Path,
                                         config_file: Path, catalog_file: Path,
                                         emulator: Any) -> None:
    in_image = _in_image(tool, image, data_dir, "read", "--config", "/data/config.json",
                         "--catalog", "/data/catalog.json")
    in_package = _in_package("read", "--config", str(config_file), "--catalog", str(catalog_file))

    errors = [m for m in _of_type(in_image, "TRACE") if m["trace"].get("type") == "ERROR"]
    assert not errors, errors
    image_records, package_records = _records(in_image), _records(in_package)
    assert image_records == package_records
    # ... and they are what the emulator holds: every seeded object, once.
    for stream in SEED_COUNTS:
        ids = [r[1] for r in image_records if r[0] == stream]
        truth = {str(obj["id"]) for obj in emulator.client.ground_truth(stream)}
        assert len(ids) == len(set(ids)) >= SEED_COUNTS[stream], stream
        assert set(ids) == truth, stream
    states = {m["state"]["stream"]["stream_descriptor"]["name"] for m in _of_type(in_image, "STATE")
              if m["state"].get("type") == "STREAM"}
    assert states == set(SEED_COUNTS)


def test_runs_as_a_non_root_user(tool: Tool, image: str) -> None:
    uid = tool("run", "--rm", "--entrypoint", "id", image, "-u").stdout.strip()
    assert uid.isdigit() and int(uid) != 0, uid


def test_airbyte_labels_entrypoint_and_version(tool: Tool, image: str) -> None:
    [inspected] = json.loads(tool("image", "inspect", image).stdout)
    config = inspected.get("Config") or {}
    labels = config.get("Labels") or inspected.get("Labels") or {}
    version = metadata.version("source-stripe-conduit")
    meta = yaml.safe_load((ROOT / "metadata.yaml").read_text())["data"]
    assert labels.get("io.airbyte.name") == "airbyte/source-stripe-conduit"
    assert labels.get("io.airbyte.version") == version == meta["dockerImageTag"]
    assert meta["dockerRepository"] == labels["io.airbyte.name"]
    assert config.get("Entrypoint") == ["source-stripe-conduit"]
    assert "AIRBYTE_ENTRYPOINT=source-stripe-conduit" in (config.get("Env") or [])
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"ARG BASE_IMAGE={meta['connectorBuildOptions']['baseImage']}\n" in dockerfile


def test_no_test_or_emulator_dependencies_in_the_image(tool: Tool, image: str) -> None:
    probe = ("import importlib.metadata as m, importlib.util as u, json; print(json.dumps({"
             "'dists': sorted({d.metadata['Name'].lower().replace('_', '-') "
             "for d in m.distributions()}), "
             "'modules': [n for n in ('pytest', 'aiohttp', 'requests_mock', 'unit_tests', "
             "'integration_tests') if u.find_spec(n)]}))")
    done = tool("run", "--rm", "--entrypoint", "python", image, "-c", probe)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert "source-stripe-conduit" in found["dists"]
    assert "airbyte-cdk" in found["dists"]
    assert not [d for d in FORBIDDEN_DISTRIBUTIONS if d in found["dists"]], found["dists"]
    assert found["modules"] == []


@pytest.mark.parametrize("package", FORBIDDEN_PACKAGES)
def test_the_image_holds_the_connector_not_the_emulator(tool: Tool, image: str,
                                                        package: str) -> None:
    done = tool("run", "--rm", "--entrypoint", "python", image, "-c", f"import {package}",
                check=False)
    assert done.returncode != 0, f"`import {package}` works in the image"
    assert f"ModuleNotFoundError: No module named '{package}'" in done.stderr, done.stderr[-4000:]
    # ... and the connector's distribution lists none of its files.
    probe = ("import importlib.metadata as m; "
             "print(sorted(str(f) for f in m.files('source-stripe-conduit') or ()))")
    files = tool("run", "--rm", "--entrypoint", "python", image, "-c", probe).stdout
    assert f"'{package}/" not in files, files[-4000:]
