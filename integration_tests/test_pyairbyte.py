"""PyAirbyte runs the installed connector (its console script) against the local Stripe emulator.

This is how a PyAirbyte user runs a connector they have installed: ``ab.get_source(name,
local_executable=...)``, a few selected streams, ``source.read()`` into the default DuckDB cache
(moved into a temporary folder), then the same again for an incremental sync with the state
PyAirbyte kept in that cache.

Needs PyAirbyte (``pip install -e ".[pyairbyte]"``); skipped with the reason where it is missing.
PyAirbyte is imported with offline mode and telemetry off: no registry lookup, nothing sent.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from stripe_emulator import Emulator

CONNECTOR = "source-stripe-conduit"
TEST_KEY = "sk_test_emulator"
STREAMS = ["charges", "customers", "prices", "products"]
SEED_COUNTS = {"customers": 40, "products": 10, "prices": 20, "charges": 40}
SEED = 11

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("airbyte") is None,
    reason="PyAirbyte is not installed: pip install -e '.[pyairbyte]' (the `airbyte` package)",
)


@pytest.fixture(scope="module")
def ab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """PyAirbyte, imported offline: it reads these settings once, when it is imported."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRBYTE_OFFLINE_MODE", "1")  # no connector registry (no internet here)
        patch.setenv("DO_NOT_TRACK", "1")  # no telemetry
        patch.setenv("AIRBYTE_LOGGING_ROOT", str(tmp_path_factory.mktemp("pyairbyte-logs")))
        import airbyte

        yield airbyte


@pytest.fixture
def default_cache_root(ab: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where ``get_default_cache()`` puts its DuckDB file: a temporary folder, not ./.cache."""
    import airbyte.caches.util

    root = tmp_path / "cache"
    monkeypatch.setattr(airbyte.caches.util, "DEFAULT_CACHE_ROOT", root)
    return root


def console_script() -> Path:
    """The ``source-stripe-conduit`` command that installing the package made."""
    beside_python = Path(sys.executable).with_name(CONNECTOR)
    if beside_python.is_file():
        return beside_python
    found = shutil.which(CONNECTOR)
    if found is None:
        pytest.fail(f"No `{CONNECTOR}` command beside {sys.executable} or on PATH: install the "
                    f"package (pip install -e .) so its console script exists.")
    return Path(found)


def get_source(ab: ModuleType, emulator: Emulator) -> Any:
    # The emulator's rate limits are off (conftest's fixture): no need to pace requests here.
    config = {"secret_key": TEST_KEY, "api_base": emulator.url, "lag_seconds": 0,
              "requests_per_second": 1000}
    source = ab.get_source(CONNECTOR, local_executable=console_script(), config=config)
    source.select_streams(STREAMS)
    return source


def ids_in_cache(result: Any, stream: str, *, deleted: bool = False) -> set[str]:
    return {row["id"] for row in result[stream] if bool(row["_ab_cdc_deleted_at"]) == deleted}


def emulator_ids(emulator: Emulator, stream: str) -> set[str]:
    return {obj["id"] for obj in emulator.client.ground_truth(stream)}


def test_pyairbyte_reads_selected_streams_into_duckdb_cache_as_emulator_holds_them(
        ab: ModuleType, emulator: Emulator, default_cache_root: Path) -> None:
    emulator.client.seed(SEED_COUNTS, seed=SEED)
    source = get_source(ab, emulator)
    source.check()

    result = source.read()

    assert Path(result.cache.db_path).is_relative_to(default_cache_root)
    assert sorted(result.streams) == STREAMS
    counts = {stream: len(result[stream]) for stream in STREAMS}
    truth = {stream: len(emulator.client.ground_truth(stream)) for stream in STREAMS}
    assert counts == truth == SEED_COUNTS
    for stream in STREAMS:
        assert ids_in_cache(result, stream) == emulator_ids(emulator, stream), stream


def test_pyairbyte_incremental_read_brings_creates_updates_and_deletes_from_its_state(
        ab: ModuleType, emulator: Emulator, default_cache_root: Path) -> None:
    emulator.client.seed(SEED_COUNTS, seed=SEED)
    source = get_source(ab, emulator)
    first = source.read()
    assert {stream: len(first[stream]) for stream in STREAMS} == SEED_COUNTS
    kept, gone = (c["id"] for c in emulator.client.ground_truth("customers")[:2])
    made = emulator.client.mutate([
        {"op": "create", "stream": "customers", "changes": {"email": "new@example.com"}},
        {"op": "update", "stream": "customers", "id": kept, "changes": {"email": "changed@example.com"}},
        {"op": "delete", "stream": "customers", "id": gone},
    ])
    created = made["ops"][0]["id"]
    # Change capture stops a second before the emulator's now: move past the changes.
    emulator.client.advance_clock(5)

    second = source.read()

    # Only the three changes were read, from the state PyAirbyte kept after the first read.
    assert second.processed_records == 3
    assert ids_in_cache(second, "customers") == emulator_ids(emulator, "customers")
    assert created in ids_in_cache(second, "customers")
    # PyAirbyte keeps a deleted row, marked: a delete arrives as a delete, not as a missing row.
    assert ids_in_cache(second, "customers", deleted=True) == {gone}
    rows = {row["id"]: row for row in second["customers"]}
    assert rows[kept]["email"] == "changed@example.com"
    for stream in ("charges", "prices", "products"):
        assert ids_in_cache(second, stream) == emulator_ids(emulator, stream), stream
