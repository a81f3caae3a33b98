"""Generate the streams' JSON schemas and Stripe's event types from Stripe's Python SDK.

Run from the repository root::

    python -m tools.generate_schemas --openapi ../shared/stripe-openapi/spec3.json \
        --fixtures ../shared/stripe-openapi/fixtures3.json

It reads one wheel of Stripe's typed Python SDK per API release from 2024-06-20 on
(``tools/sdk_schemas.py``: ``RELEASES``), fetched with ``pip download`` into ``--wheels`` where
missing, and writes:

* ``source_stripe_conduit/schemas/<stream>.json`` for every stream of ``RESOURCES``, with the
  SDK's MIT licence beside them (``LICENSE-stripe-python``);
* ``source_stripe_conduit/event_types.py``: every event type, with the release that introduced it;
* with ``--fixtures``, ``unit_tests/data/examples/<stream>.json``: Stripe's 2024-06-20 example
  object of the stream's object type, with the OpenAPI licence.

``--openapi`` (Stripe's OpenAPI description of 2024-06-20) is a cross-check only: every property
it describes for a stream's object, at any depth the generated schema describes, must be in the
generated schema with a type it accepts; differences are printed, and the exit status is 1 if
there are any. The output is deterministic: commit it as written.

Why a stream's schema is the union of its object over every release: an account's events are
rendered in the release the account had when they happened, whatever the connector asks for
(and ``hydrate: never`` keeps them as they are), and the ``stripe_version`` a connection pins is
its owner's choice. So a record may have the fields of any release since 2024-06-20:

* every field of every release is declared, and every field accepts null (``Optional`` in the
  SDK means nullable and absent alike, and a field a release removed is absent from its records);
  only ``id``, the primary key, is a required non-null string;
* a field whose type changed accepts each of its types (one ``type`` list:
  ``["null", "object", "string"]``);
* a field that is not in every release says when it came or went ("Added in 2025-03-31.basil.",
  "Removed in 2025-03-31.basil.") in its description, nested fields too (relative to the releases
  their parent object is described in);
* nothing Stripe may widen without a new release constrains a record: no ``enum`` (a ``Literal``
  is its type), ``additionalProperties: true`` on every object, maps included;
* expandable fields (``ExpandableField[...]``) are an id or an object of any shape: neither lists
  nor events expand fields;
* an API resource embedded deeper than one level below the record, a class already being
  described on the same path (a cycle), or anything deeper than ``sdk_schemas.MAX_DEPTH``
  accepts an object of any shape, so that an invoice's lines are described but not the
  PaymentIntent every ``last_payment_error`` embeds;
* only the record's top-level properties keep the SDK's docstrings: they document the columns a
  destination shows, while the nested ones would double the size.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# Run as a script, Python puts tools/ on sys.path, not the repository root.
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tools import sdk_schemas  # noqa: E402
from tools.sdk_schemas import ObjectType, Release, Schema, Wheel  # noqa: E402

OPENAPI_VERSION = "2024-06-20"
JSON_SCHEMA_DRAFT = "http://json-schema.org/draft-07/schema#"
SCHEMAS_DIR = REPO_ROOT / "source_stripe_conduit" / "schemas"
EVENT_TYPES_MODULE = REPO_ROOT / "source_stripe_conduit" / "event_types.py"
EXAMPLES_DIR = REPO_ROOT / "unit_tests" / "data" / "examples"
DEFAULT_WHEELS = REPO_ROOT / "build" / "stripe-wheels"
SDK_LICENSE_NAME = "LICENSE-stripe-python"
OPENAPI_LICENSE_NAME = "LICENSE-stripe-openapi"

CONNECTOR_FIELDS: dict[str, Schema] = {
    "updated": {
        "type": "integer",
        "description": "Unix time (seconds) when the connector observed this version of the "
        "object.",
    },
    "_ab_cdc_updated_at": {
        "type": "string",
        "format": "date-time",
        "description": "The instant of `updated`, in ISO 8601 UTC.",
    },
    "_ab_cdc_deleted_at": {
        "type": ["null", "string"],
        "format": "date-time",
        "description": "When the object was deleted (ISO 8601 UTC), or null.",
    },
    "is_deleted": {
        "type": "boolean",
        "description": "Whether this record says the object was deleted.",
    },
    "account_id": {
        "type": ["null", "string"],
        "description": "The connected account whose object this is (Stripe-Account), or null "
        "for the key's own account.",
    },
}


def stream_schema(stream: str, object_type: ObjectType, order: Sequence[str],
                  releases: Sequence[Release]) -> Schema:
    schema = sdk_schemas.render(object_type.shape, order, with_docs=True)
    properties: dict[str, Schema] = dict(schema.get("properties", {}))
    # The primary key: an object without an id (an upcoming invoice) is never a record.
    properties["id"] = {**properties["id"], "type": "string"}
    for key, field_schema in CONNECTOR_FIELDS.items():
        if key in properties:
            # Products, billing portal configurations and report types have a Stripe `updated`
            # (last change, unix seconds): same type, other meaning, one value per record.
            field_schema = {**field_schema, "description": field_schema["description"]
                            + f" Stripe's own `{key}` of this object type has the same name: "
                            + properties[key].get("description", "")}
        properties[key] = field_schema
    first, last = releases[0], releases[-1]
    return {
        "$schema": JSON_SCHEMA_DRAFT,
        "title": stream,
        "description": (object_type.description or "")
        + f"\n\nStripe object type `{object_type.name}`, as in every API release from "
        f"{first.api} to {last.api} (Stripe's Python SDK {first.sdk} to {last.sdk}). A field "
        "that is not in all of them says when it was added or removed.",
        "type": "object",
        "additionalProperties": True,
        "required": ["id"],
        "properties": properties,
    }


# --- the 2024-06-20 OpenAPI description as a cross-check --------------------------------------


# OpenAPI alternatives the SDK does not type. A payment intent's (setup intent's) options for a
# payment method are that method's own schema "or" a generic one of seven fields (capture_method,
# installments, routing, …); the SDK types each with the method's own class only. Objects are
# open, so a record holding the generic fields still validates; they are only not described.
UNTYPED_BY_SDK = frozenset({"payment_intent_type_specific_payment_method_options_client",
                            "setup_intent_type_specific_payment_method_options_client"})


def openapi_differences(components: Mapping[str, Schema], object_type: str,
                        schema: Schema) -> list[str]:
    """What the OpenAPI description of ``object_type`` has that ``schema`` lacks: a property
    (where ``schema`` describes the object's properties at all), or a type it does not accept."""
    differences: list[str] = []

    def walk(node: Schema, ours: Schema, path: str, refs: tuple[str, ...]) -> None:
        if "$ref" in node:
            name = node["$ref"].removeprefix("#/components/schemas/")
            if name in refs or name in UNTYPED_BY_SDK:
                return
            node, refs = components[name], (*refs, name)
        if not ours:
            return  # accepts anything
        alternatives = node.get("anyOf") or node.get("oneOf")
        if alternatives:
            for alternative in alternatives:
                walk(alternative, ours, path, refs)
            return
        kind = node.get("type")
        accepted = ours.get("type", [])
        accepted = [accepted] if isinstance(accepted, str) else accepted
        if kind and kind not in accepted and not (kind == "integer" and "number" in accepted):
            differences.append(f"{path}: OpenAPI type {kind}, generated {accepted}")
            return
        ours_properties = ours.get("properties")
        if kind == "object" and node.get("properties") and ours_properties is not None:
            for key, sub in node["properties"].items():
                if key not in ours_properties:
                    differences.append(f"{path}.{key}: missing")
                else:
                    walk(sub, ours_properties[key], f"{path}.{key}", refs)
        if kind == "array" and node.get("items") and "items" in ours:
            walk(node["items"], ours["items"], f"{path}[]", refs)

    walk({"$ref": f"#/components/schemas/{object_type}"}, schema, object_type, ())
    return differences


# --- event types --------------------------------------------------------------------------------


def event_types_module(introduced: Mapping[str, str], releases: Sequence[Release]) -> str:
    lines = [
        '"""Stripe\'s event types, each with the first API release whose Python SDK lists it.',
        "",
        "Generated by tools/generate_schemas.py from ``stripe/_event.py`` of Stripe's Python SDK,",
        "one wheel per release (MIT, see schemas/LICENSE-stripe-python): do not edit. The oldest",
        f'release read is {releases[0].api}: "{releases[0].api}" means in that release or earlier.',
        '"""',
        "",
        "from collections.abc import Mapping",
        "from types import MappingProxyType",
        "",
        "# The API releases read, oldest first.",
        "RELEASES: tuple[str, ...] = (",
        *(f'    "{release.api}",' for release in releases),
        ")",
        "",
        "INTRODUCED: Mapping[str, str] = MappingProxyType({",
        *(f'    "{name}": "{release}",' for name, release in sorted(introduced.items())),
        "})",
        "",
    ]
    return "\n".join(lines)


def missing_event_types(resources: Sequence[Any], introduced: Mapping[str, str]) -> list[str]:
    """Event types of a row's object type that its row lacks. The object of ``invoice.paid`` is
    the one of ``invoice.created``: the name without its last part, compared exactly
    (``customer.subscription.created`` is not a ``customer`` event)."""
    found = []
    for resource in resources:
        prefixes = {name.rsplit(".", 1)[0] for name in resource.events}
        for name in sorted(introduced):
            if name.rsplit(".", 1)[0] in prefixes and name not in resource.events:
                found.append(f"{resource.stream}: {name} ({introduced[name]})")
    return found


# --- files --------------------------------------------------------------------------------------


def dump(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_if_changed(path: Path, text: str) -> None:
    # Leaves an unchanged file's mtime alone, so a rerun does not look like a change.
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def remove_stale(folder: Path, keep: set[str]) -> list[str]:
    """Delete generated files of streams that no longer exist, and licences no longer due."""
    removed = []
    for path in sorted([*folder.glob("*.json"), *folder.glob("LICENSE-*")]):
        if path.name not in keep:
            path.unlink()
            removed.append(path.name)
    return removed


def sdk_license(wheels: Mapping[Release, Wheel], releases: Sequence[Release]) -> str:
    texts = {wheel.license for wheel in wheels.values()}
    if len(texts) != 1:
        raise ValueError("the SDK's licence differs between the wheels read: keep each")
    note = (f"The files in this folder are derived from Stripe's Python SDK (github.com/stripe/"
            f"stripe-python, the `stripe` package on PyPI), versions {releases[0].sdk} to "
            f"{releases[-1].sdk}: API releases {releases[0].api} to {releases[-1].api}.\n\n")
    return note + texts.pop()


def openapi_license(stripe_license: str) -> str:
    note = (f"The files in this folder are derived from Stripe's OpenAPI description "
            f"(github.com/stripe/openapi), API version {OPENAPI_VERSION}.\n\n")
    return note + stripe_license


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--openapi", type=Path, required=True,
                        help="Stripe's spec3.json of 2024-06-20, to cross-check against")
    parser.add_argument("--fixtures", type=Path, default=None,
                        help="Stripe's fixtures3.json: also write the example records")
    parser.add_argument("--license", type=Path, default=None,
                        help="the OpenAPI files' MIT LICENSE (default: LICENSE beside --openapi)")
    parser.add_argument("--wheels", type=Path, default=DEFAULT_WHEELS,
                        help="folder of the SDK's wheels, filled with pip download where missing")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    resources = importlib.import_module("source_stripe_conduit.resources").RESOURCES
    releases = sdk_schemas.RELEASES
    order = [release.api for release in releases]
    wheels = {release: Wheel(path)
              for release, path in sdk_schemas.download(args.wheels, releases).items()}

    objects = sdk_schemas.read_objects(wheels, sorted({r.object for r in resources}))
    problems = [f"{name}: no SDK class in {', '.join(o.missing)}"
                for name, o in objects.items() if o.missing]
    problems += [f"{name}: annotation not understood (read as any value): {text}"
                 for name, o in objects.items() for text in sorted(o.unknown)]

    spec = json.loads(args.openapi.read_text(encoding="utf-8"))
    if spec["info"]["version"] != OPENAPI_VERSION:
        print(f"warning: spec is API version {spec['info']['version']}, not {OPENAPI_VERSION}",
              file=sys.stderr)
    components = spec["components"]["schemas"]

    SCHEMAS_DIR.mkdir(parents=True, exist_ok=True)
    schema_files = {SDK_LICENSE_NAME}
    differences: list[str] = []
    for resource in resources:
        name = f"{resource.stream}.json"
        schema = stream_schema(resource.stream, objects[resource.object], order, releases)
        write_if_changed(SCHEMAS_DIR / name, dump(schema))
        schema_files.add(name)
        differences += [f"{resource.stream}: {d}"
                        for d in openapi_differences(components, resource.object, schema)]
    write_if_changed(SCHEMAS_DIR / SDK_LICENSE_NAME, sdk_license(wheels, releases))
    removed = remove_stale(SCHEMAS_DIR, schema_files)

    introduced = sdk_schemas.read_event_types(wheels)
    write_if_changed(EVENT_TYPES_MODULE, event_types_module(introduced, releases))

    if args.fixtures is not None:
        fixtures = json.loads(args.fixtures.read_text(encoding="utf-8"))["resources"]
        license_path = args.license or args.openapi.parent / "LICENSE"
        EXAMPLES_DIR.mkdir(parents=True, exist_ok=True)
        example_files = {OPENAPI_LICENSE_NAME}
        without_example = []
        for resource in resources:
            example = fixtures.get(resource.object)
            if example is None:
                without_example.append(resource.stream)
                continue
            write_if_changed(EXAMPLES_DIR / f"{resource.stream}.json", dump(example))
            example_files.add(f"{resource.stream}.json")
        write_if_changed(EXAMPLES_DIR / OPENAPI_LICENSE_NAME,
                         openapi_license(license_path.read_text(encoding="utf-8")))
        removed += remove_stale(EXAMPLES_DIR, example_files)
        print(f"{len(example_files) - 1} examples written")
        if without_example:
            print(f"no fixture (no example) for: {', '.join(without_example)}")

    print(f"{len(schema_files) - 1} schemas written from stripe {releases[0].sdk} to "
          f"{releases[-1].sdk} ({len(releases)} releases), {len(introduced)} event types")
    if removed:
        print(f"removed stale files: {', '.join(removed)}")
    cuts: dict[str, set[str]] = {}
    for object_type in objects.values():
        for reason, classes in object_type.cuts.items():
            cuts.setdefault(reason, set()).update(classes)
    for reason, classes in sorted(cuts.items()):
        print(f"any object where cut ({reason}): {', '.join(sorted(classes))}")
    for gone, release in sorted(sdk_schemas.removed_event_types(wheels).items()):
        print(f"event type removed in {release}: {gone}")
    for line in missing_event_types(resources, introduced):
        print(f"event type of a row's object missing from the row: {line}")
    for line in problems:
        print(f"problem: {line}")
    for line in differences:
        print(f"OpenAPI {OPENAPI_VERSION} differs: {line}")
    return 1 if problems or differences else 0


if __name__ == "__main__":
    sys.exit(main())
