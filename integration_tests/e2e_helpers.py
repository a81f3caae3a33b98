"""Helpers of the end-to-end tests: the connector's real entry point in process
(``entrypoint_wrapper``) or as a child process (crash tests), and a deduping table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from airbyte_cdk.models import AirbyteStateMessage, ConfiguredAirbyteCatalog, SyncMode
from airbyte_cdk.test.catalog_builder import CatalogBuilder, ConfiguredAirbyteStreamBuilder
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput, read

from source_stripe_conduit import SourceStripeConduit
from source_stripe_conduit.records import ADDED_FIELDS
from stripe_emulator import Emulator

TEST_KEY = "sk_test_emulator"


def connector_config(emu: Emulator, **overrides: Any) -> dict[str, Any]:
    return {"secret_key": TEST_KEY, "api_base": emu.url, "lag_seconds": 0,
            "requests_per_second": 1000, **overrides}


def catalog(*streams: str, mode: SyncMode = SyncMode.incremental) -> ConfiguredAirbyteCatalog:
    builder = CatalogBuilder()
    for stream in streams:
        builder.with_stream(ConfiguredAirbyteStreamBuilder().with_name(stream).with_sync_mode(mode))
    return builder.build()


def run(config: dict[str, Any], configured: ConfiguredAirbyteCatalog,
        state: list[AirbyteStateMessage] | None = None) -> EntrypointOutput:
    return read(SourceStripeConduit(), config, configured, state)


def last_states(output: EntrypointOutput) -> list[AirbyteStateMessage]:
    """The last state of each stream, as Airbyte hands it to the next sync."""
    latest: dict[str, AirbyteStateMessage] = {}
    for message in output.state_messages:
        assert message.state is not None and message.state.stream is not None
        latest[message.state.stream.stream_descriptor.name] = message.state
    return list(latest.values())


def strip(obj: dict[str, Any]) -> dict[str, Any]:
    """The object without the fields the connector adds. Top-level nulls are dropped too: these
    tests read through the CDK's entrypoint, whose serializer leaves them out (the console entry
    point keeps them, output.py; a test over it checks that)."""
    return {k: v for k, v in obj.items() if k not in ADDED_FIELDS and v is not None}


def apply(table: dict[str, dict[str, dict[str, Any]]], records: list[tuple[str, dict[str, Any]]]
          ) -> None:
    """What a deduping destination does: upsert by id, delete when _ab_cdc_deleted_at is set."""
    for stream, data in records:
        rows = table.setdefault(stream, {})
        if data.get("_ab_cdc_deleted_at"):
            rows.pop(data["id"], None)
        else:
            rows[data["id"]] = strip(data)


def records_of(output: EntrypointOutput) -> list[tuple[str, dict[str, Any]]]:
    return [(m.record.stream, dict(m.record.data)) for m in output.records if m.record]


def truth(emu: Emulator, streams: list[str]) -> dict[str, dict[str, dict[str, Any]]]:
    return {s: {o["id"]: o for o in emu.client.ground_truth(s)} for s in streams}


# -- the connector as a child process, for tests that kill it ------------------------------------

def spawn_read(workdir: Path, config: dict[str, Any], configured: ConfiguredAirbyteCatalog,
               state: list[dict[str, Any]] | None = None) -> subprocess.Popen[bytes]:
    (workdir / "config.json").write_text(json.dumps(config))
    (workdir / "catalog.json").write_text(json.dumps(configured_to_dict(configured)))
    args = [sys.executable, "-m", "source_stripe_conduit.run", "read",
            "--config", str(workdir / "config.json"), "--catalog", str(workdir / "catalog.json")]
    if state:
        (workdir / "state.json").write_text(json.dumps(state))
        args += ["--state", str(workdir / "state.json")]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def configured_to_dict(configured: ConfiguredAirbyteCatalog) -> dict[str, Any]:
    return {"streams": [{
        "stream": {"name": s.stream.name, "json_schema": {},
                   "supported_sync_modes": ["full_refresh", "incremental"]},
        "sync_mode": s.sync_mode.value, "destination_sync_mode": "append_dedup",
    } for s in configured.streams]}
