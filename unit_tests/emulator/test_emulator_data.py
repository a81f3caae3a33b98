"""Generated data keeps Stripe's shapes; the catalogue names only real events; ground truth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stripe_emulator import EmulatorClient, spec
from stripe_emulator.catalog import BY_OBJECT, KINDS
from stripe_emulator.generate import json_type

from .support import Api

REPO = Path(__file__).resolve().parents[2]
EVERY_STREAM = {kind.stream: 15 for kind in KINDS if kind.object != "event"}
PARENT_LIST = {"customer": "/v1/customers", "invoice": "/v1/invoices",
               "account": "/v1/accounts", "subscription": "/v1/subscriptions",
               "transfer": "/v1/transfers", "application_fee": "/v1/application_fees",
               "credit_note": "/v1/credit_notes", "radar.value_list": "/v1/radar/value_lists",
               "checkout.session": "/v1/checkout/sessions"}


def test_catalogue_events_exist_in_the_api_version() -> None:
    known = spec.event_types()
    for kind in KINDS:
        unknown = [name for name in kind.all_event_types if name not in known]
        assert not unknown, (kind.object, unknown)


def test_catalogue_id_prefixes_match_stripe_examples() -> None:
    for kind in KINDS:
        example_id = spec.examples()[kind.object].get("id")
        if kind.prefix and kind.object != "line_item":  # the example's il_tmp_ is a draft id
            assert example_id.startswith(kind.prefix), kind.object


def test_every_path_has_its_list_parameters() -> None:
    for kind in KINDS:
        if kind.list_path:
            params = spec.list_params(kind.list_path)
            assert "expand" in params
            assert ("limit" in params) == kind.paginated, kind.object


def seeded(control: EmulatorClient) -> dict[str, list[dict[str, Any]]]:
    control.configure(profile="full")  # every product, so that every stream has objects
    control.seed(EVERY_STREAM, seed=11, years=0.05)
    control.mutate_random(150, seed=12)
    streams: dict[str, list[dict[str, Any]]] = control.ground_truth()
    return streams


def test_generated_objects_keep_the_examples_fields_and_types(control: EmulatorClient) -> None:
    for stream, objects in seeded(control).items():
        kind = next(k for k in KINDS if k.stream == stream)
        if kind.object == "event":
            continue
        example = spec.examples()[kind.object]
        types = spec.field_types(kind.object)
        assert objects, stream
        for obj in objects:
            # The example charge embeds its refunds; a listed one does not since 2022-11-15.
            expected_fields = set(example) - ({"refunds"} if kind.object == "charge" else set())
            assert set(obj) == expected_fields, (stream, set(obj) ^ expected_fields)
            assert obj["object"] == kind.object
            for field, value in obj.items():
                allowed = types.get(field)
                if allowed is None:
                    continue  # a field of the example the description lacks (charge.source)
                kind_of_value = json_type(value)
                assert kind_of_value in allowed or (
                    kind_of_value == "integer" and "number" in allowed), (stream, field, value)
            if kind.prefix and kind.object != "reporting.report_type":
                assert obj["id"].startswith(kind.prefix) and (
                    len(obj["id"]) == len(kind.prefix) + kind.id_len), obj["id"]


def test_objects_validate_against_the_connectors_schemas(control: EmulatorClient) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    folder = REPO / "source_stripe_conduit" / "schemas"
    if not folder.is_dir():
        pytest.skip("the connector's schemas are not there")
    checked = 0
    for stream, objects in seeded(control).items():
        path = folder / f"{stream}.json"
        if not path.exists():
            continue
        validator = jsonschema.Draft7Validator(json.loads(path.read_text()))
        for obj in objects[:20]:
            if stream == "events":
                data_object = obj["data"]["object"]
                assert data_object["object"] in BY_OBJECT
            errors = [e.message for e in validator.iter_errors(obj)]
            assert not errors, (stream, obj["id"], errors[:3])
            checked += 1
    assert checked > 200


def full_read(api: Api, path: str, params: dict[str, Any] | None = None) -> list[str]:
    return api.all_ids(path, params)


def test_ground_truth_is_what_a_complete_read_lists(api: Api, control: EmulatorClient) -> None:
    truth = seeded(control)
    for kind in KINDS:
        ids = [obj["id"] for obj in truth[kind.stream]]
        path = kind.list_path
        assert path is not None
        if kind.object == "event":
            assert ids == full_read(api, path)
        elif not kind.paginated:
            assert ids == api.ids(path)
        elif kind.top_level:
            params = {"status": "all"} if kind.hidden_statuses else None
            assert ids == full_read(api, path, params), kind.stream
        else:
            assert kind.parent is not None
            read: list[str] = []
            parents = full_read(api, PARENT_LIST[kind.parent],
                                {"status": "all"} if kind.parent == "subscription" else None)
            for parent in parents:
                if kind.parent_in_query:
                    read += full_read(api, path, {kind.parent_field or "": parent})
                else:
                    read += full_read(api, path.split("{")[0] + parent + path.split("}")[1])
            assert ids == read, kind.stream


def test_ground_truth_of_one_stream_and_by_object_type(control: EmulatorClient) -> None:
    control.seed({"customers": 4}, seed=13)
    by_stream = control.ground_truth("customers")
    assert by_stream == control.ground_truth("customer")
    assert len(by_stream) == 4


def test_the_connectors_list_paths_are_served(api: Api, control: EmulatorClient) -> None:
    resources = pytest.importorskip("source_stripe_conduit.resources")
    parents = sorted({r.parent for r in resources.RESOURCES if r.parent})
    control.configure(profile="full")
    control.seed({parent: 1 for parent in parents}, seed=14)
    for resource in resources.RESOURCES:
        path, params = resource.path, dict(resource.list_params)
        if resource.parent:
            parent = resource.listed
            parent_id = api.ids(parent.path, dict(parent.list_params))[0]
            path, child_params = resource.children_request(parent_id)
            params.update(child_params)
        response = api.get(path, params)
        assert response.status_code == 200, (resource.stream, response.text)
        for item in response.json()["data"]:
            assert item["object"] == resource.object
