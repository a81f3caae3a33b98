"""The Airbyte source: spec, check, discover and read."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources as package_files
from queue import Queue
from typing import Any

from airbyte_cdk.models import (
    AirbyteCatalog,
    AirbyteConnectionStatus,
    AirbyteLogMessage,
    AirbyteMessage,
    AirbyteStateMessage,
    AirbyteStream,
    ConfiguredAirbyteCatalog,
    ConnectorSpecification,
    FailureType,
    Level,
    Status,
    SyncMode,
)
from airbyte_cdk.models import Type as MessageType
from airbyte_cdk.sources.concurrent_source.concurrent_source import ConcurrentSource
from airbyte_cdk.sources.connector_state_manager import ConnectorStateManager
from airbyte_cdk.sources.message import InMemoryMessageRepository, MessageRepository
from airbyte_cdk.sources.message.concurrent_repository import ConcurrentMessageRepository
from airbyte_cdk.sources.source import Source
from airbyte_cdk.sources.streams.concurrent.cursor import CursorField
from airbyte_cdk.sources.streams.concurrent.default_stream import DefaultStream
from airbyte_cdk.sources.utils.slice_logger import DebugSliceLogger
from airbyte_cdk.utils.airbyte_secrets_utils import add_to_secrets
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_stripe_conduit.accounts import Account, accounts_to_read, home_key, refused
from source_stripe_conduit.availability import (
    ProbeFailed,
    check_outcome,
    left_out,
    offered,
    probe,
)
from source_stripe_conduit.config import SPEC, Config, ConfigError, parse_config, prepare
from source_stripe_conduit.governor import MAX_PAGES_IN_FLIGHT, Governor
from source_stripe_conduit.iterator.event_pages import EventPages
from source_stripe_conduit.lanes import AccountLanes
from source_stripe_conduit.messages import StreamMessages, sync_summary_text
from source_stripe_conduit.resources import (
    BY_STREAM,
    MAX_EVENT_TYPES_PER_REQUEST,
    RESOURCES,
    Resource,
)
from source_stripe_conduit.stream_state import Owner, StreamState
from source_stripe_conduit.sync import Lane, StreamSync
from source_stripe_conduit.transport.client import StripeClient
from source_stripe_conduit.transport.errors import StripeError

CURSOR_FIELD = "updated"
DOCUMENTATION_URL = "https://github.com/source-stripe-conduit/source-stripe-conduit#readme"
QUEUE_SIZE = 1_000


@cache
def schema_of(stream: str) -> Mapping[str, Any]:
    path = package_files.files("source_stripe_conduit") / "schemas" / f"{stream}.json"
    return json.loads(path.read_text())


def selected_resources(config: Config) -> list[Resource]:
    if config.streams:
        return [BY_STREAM[name] for name in config.streams]
    return list(RESOURCES)


def airbyte_stream(resource: Resource, incremental: bool | None = None,
                   key: list[str] | None = None) -> AirbyteStream:
    """The stream as discover offers it; ``incremental`` False offers full refresh only (a key
    that cannot read events)."""
    incremental = resource.incremental if incremental is None else incremental
    modes = [SyncMode.full_refresh] + ([SyncMode.incremental] if incremental else [])
    return AirbyteStream(
        name=resource.stream,
        json_schema=dict(schema_of(resource.stream)),
        supported_sync_modes=modes,
        source_defined_cursor=True if incremental else None,
        default_cursor_field=[CURSOR_FIELD] if incremental else None,
        source_defined_primary_key=[[name] for name in key or ["id"]],
        is_resumable=True,
    )


class SourceStripeConduit(Source):
    # Validation is ours: it names the field and the problem, and accepts Conduit's keys.
    check_config_against_spec = False

    def __init__(self) -> None:
        self._message_repository: MessageRepository = InMemoryMessageRepository()

    @property
    def message_repository(self) -> MessageRepository:
        return self._message_repository

    def spec(self, logger: logging.Logger) -> ConnectorSpecification:
        return ConnectorSpecification(
            documentationUrl=DOCUMENTATION_URL,
            connectionSpecification=dict(SPEC),
            supportsIncremental=True,
        )

    def configure(self, config: Mapping[str, Any], temp_dir: str) -> Mapping[str, Any]:
        return prepare(config)

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        try:
            parsed = _parsed(config)
        except ConfigError as error:
            return AirbyteConnectionStatus(status=Status.FAILED, message=str(error))
        client = StripeClient(parsed, logger)
        try:
            found = probe(client, selected_resources(parsed), api_base=parsed.api_base)
            succeeded, message = check_outcome(found)
            if succeeded and parsed.many_accounts:
                succeeded, message = _check_accounts(parsed, client, message)
        except ProbeFailed as failure:
            return AirbyteConnectionStatus(status=Status.FAILED, message=str(failure))
        finally:
            client.close()
        return AirbyteConnectionStatus(status=Status.SUCCEEDED if succeeded else Status.FAILED,
                                       message=message)

    def discover(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteCatalog:
        parsed = _parse_or_raise(config)
        resources = selected_resources(parsed)
        client = StripeClient(parsed, logger)
        try:
            found = probe(client, resources, api_base=parsed.api_base)
        except ProbeFailed as failure:
            raise AirbyteTracedException(
                message=str(failure), internal_message=str(failure),
                failure_type=FailureType.config_error if failure.config_error
                else FailureType.transient_error) from failure
        finally:
            client.close()
        # Through the source's message repository, which the entry point empties after
        # discover: a LOG message whatever the process's logging handlers are.
        for line in left_out(found):
            self._message_repository.emit_message(AirbyteMessage(
                type=MessageType.LOG, log=AirbyteLogMessage(level=Level.WARN, message=line)))
        streams = offered(resources, found)
        if not streams:
            _, message = check_outcome(found)
            raise AirbyteTracedException(message=message, internal_message=message,
                                         failure_type=FailureType.config_error)
        return AirbyteCatalog(streams=[airbyte_stream(r, incremental, primary_key(parsed))
                                       for r, incremental in streams])

    def read(
        self,
        logger: logging.Logger,
        config: Mapping[str, Any],
        catalog: ConfiguredAirbyteCatalog,
        state: list[AirbyteStateMessage] | None = None,
    ) -> Iterator[AirbyteMessage]:
        parsed = _parse_or_raise(config)
        client = StripeClient(parsed, logger)
        try:
            yield from self._read(parsed, client, logger, catalog, state)
        finally:
            # The sync owns the client's pool and the governor's waits: both end with it.
            client.close()

    def _read(self, parsed: Config, client: StripeClient, logger: logging.Logger,
              catalog: ConfiguredAirbyteCatalog,
              state: list[AirbyteStateMessage] | None) -> Iterator[AirbyteMessage]:
        client.look_up_account()
        state_manager = ConnectorStateManager(state)
        # Records wait here for the main thread; a bound of 10 pages keeps memory flat
        # whatever the number of records (the CDK's default, 10,000, is 100 pages).
        queue: Queue[Any] = Queue(maxsize=QUEUE_SIZE)
        governor = Governor(parsed.requests_per_second, parsed.endpoint_requests_per_second,
                            client.latency, backlog=lambda: queue.qsize() / QUEUE_SIZE)
        repository = ConcurrentMessageRepository(queue, InMemoryMessageRepository())
        streams: list[DefaultStream] = []
        accounts = _accounts_or_raise(parsed, client, logger) if parsed.many_accounts else []
        parts = _SyncParts(parsed, client, governor, accounts, state_manager, logger,
                           _event_pages(catalog),
                           _Upgrades(repository))
        for configured in catalog.streams:
            resource = BY_STREAM.get(configured.stream.name)
            if resource is None:
                logger.warning(f"Stream '{configured.stream.name}' is not offered by this source "
                               f"(refresh the connection's schema); skipping it.")
                continue
            streams.append(_stream(resource, configured.sync_mode, parts, StreamMessages(
                resource.stream, repository, resource.event_object)))
        if not streams:
            return
        # Every stream's generator runs at once (they mostly wait for their pages); the rest of
        # the pool reads pages, as many as the governor lets be in flight.
        source = ConcurrentSource.create(
            num_workers=len(streams) + MAX_PAGES_IN_FLIGHT + 1,
            initial_number_of_partitions_to_generate=len(streams),
            logger=logger,
            slice_logger=DebugSliceLogger(),
            message_repository=repository,
            queue=queue,
        )
        started = time.monotonic()
        try:
            yield from source.read(streams)  # type: ignore[arg-type]
        finally:
            governor.close()
        # What the sync cost the account, once, after every stream: the user compares it with
        # Stripe's read allocation (the queue behind the repository is no longer read here).
        yield AirbyteMessage(type=MessageType.LOG, log=AirbyteLogMessage(
            level=Level.INFO, message=sync_summary_text(client.totals(),
                                                        time.monotonic() - started)))


def _event_pages(catalog: ConfiguredAirbyteCatalog) -> EventPages | None:
    """The event pages the streams following changes share (None: fewer than two do), filtered
    to their event types together where Stripe's ``types[]`` takes them all."""
    following = [resource for configured in catalog.streams
                 if (resource := BY_STREAM.get(configured.stream.name)) is not None
                 and configured.sync_mode == SyncMode.incremental and resource.follows_events]
    if len([r for r in following if not r.of_events]) < 2:
        return None
    types = sorted({name for resource in following for name in resource.events})
    every = any(r.of_events for r in following) or len(types) > MAX_EVENT_TYPES_PER_REQUEST
    return EventPages(None if every else types)


@dataclass(frozen=True)
class _SyncParts:
    """What every stream of one sync shares."""

    config: Config
    client: StripeClient
    governor: Governor
    accounts: list[Account]
    state_manager: ConnectorStateManager
    logger: logging.Logger
    events: EventPages | None
    upgrades: _Upgrades


class _Upgrades:
    """Says once per sync that an account's API version moved since its state was read
    (through the sync's message repository, in order with the states that carry the new
    version)."""

    def __init__(self, repository: MessageRepository) -> None:
        self._repository = repository
        self._told: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def __call__(self, before: str, now: str) -> None:
        with self._lock:
            if (before, now) in self._told:
                return
            self._told.add((before, now))
        self._repository.emit_message(AirbyteMessage(type=MessageType.LOG, log=AirbyteLogMessage(
            level=Level.INFO,
            message=f"The account's API version is now {now}; the saved state was read in "
                    f"{before}. Records from now on are rendered in {now} (the stream schemas "
                    f"cover both), and the positions go on as they are.")))


def _stream(resource: Resource, sync_mode: SyncMode, parts: _SyncParts,
            messages: StreamMessages) -> DefaultStream:
    """One stream for the CDK: its accounts read by lanes, or its one account directly."""
    config, client, governor, events = parts.config, parts.client, parts.governor, parts.events
    accounts = parts.accounts
    owner = Owner(config.livemode, config.account_id, client.account_id, client.api_version,
                  parts.upgrades)
    stream_state = StreamState(resource.stream, messages, parts.state_manager,
                               home=home_key(config), many=config.many_accounts, owner=owner)
    sync: StreamSync | AccountLanes
    if config.many_accounts:
        if resource.platform_only:
            accounts = [a for a in accounts if a.id is None]
            if not accounts:
                messages.warn(_without_platform(resource, config))
        sync = AccountLanes(resource, sync_mode, config=config, client=client,
                            governor=governor, accounts=accounts, stream_state=stream_state,
                            messages=messages, events=events)
    else:
        lane = Lane(home_key(config), resource.stream, client, config.account_id,
                    client.account_created)
        sync = StreamSync(resource, sync_mode, config=config, lane=lane, governor=governor,
                          stream_state=stream_state, messages=messages, events=events)
    return DefaultStream(
        partition_generator=sync,
        name=resource.stream,
        json_schema=lambda: schema_of(resource.stream),
        primary_key=primary_key(config),
        cursor_field=CursorField(CURSOR_FIELD) if resource.incremental else None,
        logger=parts.logger,
        cursor=sync.cursor,
    )


def _without_platform(resource: Resource, config: Config) -> str:
    why = "include_platform is false" if not config.include_platform \
        else "the platform is read by shard 0 of account_shard"
    return (f"Stream '{resource.stream}': Connect's own objects are read from the platform "
            f"only, and {why}: the stream is empty in this connection.")


def _check_accounts(config: Config, client: StripeClient, message: str) -> tuple[bool, str]:
    """The connected accounts a sync would read, and whether Stripe lets the key act on each
    one configured by id (listed accounts are the platform's by definition)."""
    try:
        accounts = accounts_to_read(config, client)
    except StripeError as error:
        return False, f"The connected accounts could not be listed: {error.stripe_message}"
    connected = [a for a in accounts if a.id is not None]
    shard = f" (shard {config.account_shard[0]}/{config.account_shard[1]})" \
        if config.account_shard else ""
    note = f"{len(connected)} connected accounts to read{shard}" + (
        ", and the platform's own data" if any(a.id is None for a in accounts) else "")
    if config.connected_accounts == "all" and not connected and not config.account_shard:
        note += (": the platform lists none (Stripe answers an empty list to an account that "
                 "is not a Connect platform)")
    refusals = refused(client, connected) if config.account_ids or config.account_id else {}
    if refusals:
        named = "; ".join(f"{key}: {text}" for key, text in sorted(refusals.items()))
        return False, f"Stripe refuses {len(refusals)} of the configured accounts: {named}"
    return True, f"{message} {note}." if message else f"{note}."


def primary_key(config: Config) -> list[str]:
    """With many accounts an id is unique only within its account: ids a user chooses
    (coupons, plans, products) can repeat across accounts."""
    return ["account_id", "id"] if config.many_accounts else ["id"]


def _accounts_or_raise(config: Config, client: StripeClient,
                       logger: logging.Logger) -> list[Account]:
    started = time.monotonic()
    try:
        accounts = accounts_to_read(config, client)
    except StripeError as error:
        message = (f"The connected accounts could not be listed (/v1/accounts): "
                   f"{error.stripe_message}")
        raise AirbyteTracedException(message=message, internal_message=message,
                                     failure_type=FailureType.config_error) from error
    connected = sum(1 for a in accounts if a.id is not None)
    logger.info(f"Reading {connected} connected accounts"
                f"{' and the platform' if len(accounts) > connected else ''} "
                f"(found in {time.monotonic() - started:.1f} s).")
    return accounts


def _parsed(config: Mapping[str, Any]) -> Config:
    """The config, its key filtered from every log line as it is sent (a caller that skips the
    entry point's ``configure``, or pastes the key with spaces, still has it filtered)."""
    parsed = parse_config(config)
    add_to_secrets(parsed.secret_key)
    return parsed


def _parse_or_raise(config: Mapping[str, Any]) -> Config:
    try:
        return _parsed(config)
    except ConfigError as error:
        raise AirbyteTracedException(message=str(error), internal_message=str(error),
                                     failure_type=FailureType.config_error) from error


