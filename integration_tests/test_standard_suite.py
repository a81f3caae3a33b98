"""Airbyte's standard connector tests (the CDK's ``SourceTestSuiteBase``) against the local emulator.

The scenarios come from ``integration_tests/acceptance-test-config.yml``: spec, check with a valid
config and with invalid ones, discover, and a basic read with schema validation. Their configs must
point at a running Stripe emulator whose port is only known at run time, so when pytest collects
this module (``pytest_generate_tests``, before any scenario exists) it starts one emulator for the
session, seeds it, and writes the configs into the gitignored ``integration_tests/secrets/``.
Each scenario also carries the config this session wrote (``config_dict``), so a run in another
process that rewrites those files (a colleague's ``make test`` in the same checkout) cannot point
this run at an emulator that is gone.

The CDK's Docker image tests are skipped here with their reason: ``test_docker_image.py`` builds and
runs the image against the emulator.
"""

from __future__ import annotations

import atexit
import json
import os
import warnings
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from boltons.typeutils import classproperty

from source_stripe_conduit import SourceStripeConduit
from stripe_emulator import Emulator

# The CDK marks its image tests with `image_tests`, a marker only its own CLI registers: pytest
# would warn that it is unknown when the module defining them is imported.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
    from airbyte_cdk.test.standard_tests import ConnectorTestScenario, SourceTestSuiteBase
    from airbyte_cdk.test.standard_tests import pytest_hooks as cdk_hooks

ROOT = Path(__file__).resolve().parents[1]
ACCEPTANCE_TEST_CONFIG = Path(__file__).resolve().parent / "acceptance-test-config.yml"
SECRETS = ROOT / "integration_tests" / "secrets"
TEST_KEY = "sk_test_emulator"
# What the basic read reads (``resource_names``); each stream must return records.
SEED_COUNTS = {"customers": 25, "products": 8, "prices": 16, "charges": 25, "invoices": 12,
               "subscriptions": 8}
SEED = 42
IMAGE_TESTS_SKIPPED = (
    "the CDK's image tests need a Docker daemon, pull the base image from docker.io and would run "
    "the connector in a container that cannot reach the emulator on the host's loopback address; "
    "integration_tests/test_docker_image.py builds the image and runs it against the emulator"
)
REGISTRY_TEST_SKIPPED = (
    "compares the spec with the version published in Airbyte's connector registry: "
    "source-stripe-conduit is not published there, and the tests run without internet"
)


@cache
def session_emulator() -> Emulator:
    """One seeded emulator for the session's scenarios, stopped when the process exits."""
    emulator = Emulator(port=0, rate_limit=False).start()
    atexit.register(emulator.stop)
    emulator.client.seed(SEED_COUNTS, seed=SEED)
    return emulator


def scenario_configs(api_base: str) -> dict[str, dict[str, Any]]:
    """Each config of acceptance-test-config.yml, by file name."""
    valid = {"secret_key": TEST_KEY, "api_base": api_base, "lag_seconds": 0,
             "requests_per_second": 1000}
    return {
        "config.json": valid,
        "basic_read_config.json": {**valid, "resource_names": sorted(SEED_COUNTS)},
        "invalid_key_config.json": {**valid, "secret_key": "sk_test_unknownKey0000000000"},
        "invalid_batch_size_config.json": {**valid, "batch_size": 0},
    }


@cache
def written_configs() -> Mapping[str, dict[str, Any]]:
    """Start the emulator and write the configs into integration_tests/secrets/ (once)."""
    configs = scenario_configs(session_emulator().url)
    SECRETS.mkdir(exist_ok=True)
    for name, config in configs.items():
        # Written whole, then renamed: a reader never sees half a file.
        partial = SECRETS / f".{name}.{os.getpid()}"
        partial.write_text(json.dumps(config, indent=2) + "\n")
        partial.replace(SECRETS / name)
    return configs


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The CDK's parametrization of the suite's tests by scenario (its ``pytest_hooks`` plugin).

    Only its hook is taken, not the plugin, which would apply to every test of the repository. The
    CDK marks scenarios whose config is under ``secrets/`` with ``requires_creds``: registered here,
    since only conftest files and plugins can register markers in ``pytest_configure``.
    """
    metafunc.config.addinivalue_line(
        "markers", "requires_creds: a standard-test scenario whose config is under secrets/")
    cdk_hooks.pytest_generate_tests(metafunc)


class TestStripeConduitStandardSuite(SourceTestSuiteBase):
    """Airbyte's standard source tests, for the scenarios of integration_tests/acceptance-test-config.yml."""

    connector = SourceStripeConduit
    # The CDK derives the name from the root folder's name, which is not the connector's here.
    connector_name = "source-stripe-conduit"

    @classmethod
    def get_connector_root_dir(cls) -> Path:
        return ROOT

    @classproperty  # type: ignore[untyped-decorator]
    def acceptance_test_config(cls) -> Any:
        """integration_tests/acceptance-test-config.yml (the CDK reads it from the connector root)."""
        config = yaml.safe_load(ACCEPTANCE_TEST_CONFIG.read_text())
        if not isinstance(config, dict) or "acceptance_tests" not in config:
            raise ValueError(f"{ACCEPTANCE_TEST_CONFIG} has no `acceptance_tests` section.")
        return config

    @classmethod
    def get_scenarios(cls) -> list[ConnectorTestScenario]:
        """The file's scenarios, each with the config this session wrote for its ``config_path``."""
        configs = written_configs()
        scenarios = []
        for scenario in super().get_scenarios():
            assert scenario.config_path is not None, "the CDK collects only entries with a config_path"
            name = scenario.config_path.name
            assert name in configs, (
                f"{ACCEPTANCE_TEST_CONFIG.name} lists {scenario.config_path}, which this module does "
                f"not write (it writes {', '.join(sorted(configs))})")
            scenarios.append(scenario.model_copy(update={"config_dict": configs[name]}))
        return scenarios

    # -- the CDK's image tests: not here -----------------------------------------------------

    @pytest.mark.skip(reason=IMAGE_TESTS_SKIPPED)
    def test_docker_image_build_and_spec(self) -> None:  # type: ignore[override]
        pass

    @pytest.mark.skip(reason=REGISTRY_TEST_SKIPPED)
    def test_docker_image_spec_backward_compatibility(self) -> None:  # type: ignore[override]
        pass

    @pytest.mark.skip(reason=IMAGE_TESTS_SKIPPED)
    def test_docker_image_build_and_check(self) -> None:  # type: ignore[override]
        pass

    @pytest.mark.skip(reason=IMAGE_TESTS_SKIPPED)
    def test_docker_image_build_and_config_matches_spec(self) -> None:  # type: ignore[override]
        pass

    @pytest.mark.skip(reason=IMAGE_TESTS_SKIPPED)
    def test_docker_image_build_and_discover(self) -> None:  # type: ignore[override]
        pass

    @pytest.mark.skip(reason=IMAGE_TESTS_SKIPPED)
    def test_docker_image_build_and_read(self) -> None:  # type: ignore[override]
        pass


# -- that the suite has something to run ------------------------------------------------------

def test_acceptance_config_runs_every_command_with_the_expected_outcome() -> None:
    """Each scenario runs what the file says, so a broken entry cannot turn tests into skips."""
    by_id = {s.id: s for s in TestStripeConduitStandardSuite.get_scenarios()}
    assert {i: (sorted(s.commands), s.status) for i, s in by_id.items()} == {
        "config": (["check", "discover", "spec"], "succeed"),
        "basic_read_config": (["read", "spec"], None),
        "invalid_key_config": (["check"], "failed"),
        "invalid_batch_size_config": (["check"], "failed"),
    }


def test_each_scenario_uses_this_sessions_emulator_and_its_config_file_exists() -> None:
    """The files the yml names exist and hold this session's emulator (unless another run rewrote them)."""
    emulator = session_emulator()
    for scenario in TestStripeConduitStandardSuite.get_scenarios():
        assert scenario.config_path is not None and scenario.config_dict is not None
        assert (ROOT / scenario.config_path).is_file()
        assert scenario.config_dict["api_base"] == emulator.url


def test_basic_read_streams_are_seeded() -> None:
    """The basic read requires records in each stream it reads: the emulator has them."""
    client = session_emulator().client
    assert {s: len(client.ground_truth(s)) for s in SEED_COUNTS} == SEED_COUNTS
