"""Generate the streams' JSON schemas and example records from Stripe's OpenAPI files.

Run from the repository root::

    python tools/generate_schemas.py --openapi ../shared/stripe-openapi/spec3.json \
        --fixtures ../shared/stripe-openapi/fixtures3.json

It writes ``source_stripe_conduit/schemas/<stream>.json`` for every stream of ``RESOURCES`` and
``unit_tests/data/examples/<stream>.json`` (Stripe's example object of the stream's object type),
each folder with Stripe's licence. The output is deterministic: commit it as written.

How OpenAPI 3.0 becomes JSON Schema draft-07 here, and why:

* ``nullable: true`` becomes a ``"null"`` type (or a ``{"type": "null"}`` alternative).
* ``anyOf``/``oneOf`` become ``anyOf``: Stripe's alternatives are not always exclusive.
* Nothing Stripe may widen without a new API version constrains a record: no ``enum``, no
  ``maxLength``/``pattern``, no nested ``required``, ``additionalProperties: true`` on every
  object (maps included). Stripe's ``unix-time`` and ``decimal`` formats are not JSON Schema
  formats, so they are dropped; only the connector's own ISO timestamps carry ``date-time``.
* ``$ref`` is inlined, except where that would describe objects a record does not carry or
  blow the file up; there the field accepts an object of any shape (and null):

  - the object alternative of an expandable field (``anyOf: [id string, $ref X]``): neither list
    calls nor events expand fields, so records carry the id;
  - a Stripe API resource (a schema with ``x-resourceId``) embedded deeper than
    ``--resource-depth`` $refs below the record (default 1): an invoice's lines and a
    customer's subscriptions are described, but not the price inside a line, nor the whole
    PaymentIntent, SetupIntent, PaymentMethod and Source that every ``last_payment_error``
    (``api_errors``) embeds, which made invoices.json six times larger;
  - a $ref to a schema already being inlined on the same path (a cycle);
  - anything deeper than ``--max-depth`` $refs, a guard only (nothing reaches it at 2024-06-20).

* Only the record's top-level properties keep Stripe's descriptions: they document the columns a
  destination shows, while the nested ones doubled the size and churn on every spec update.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

API_VERSION = "2024-06-20"
JSON_SCHEMA_DRAFT = "http://json-schema.org/draft-07/schema#"
REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMAS_DIR = REPO_ROOT / "source_stripe_conduit" / "schemas"
EXAMPLES_DIR = REPO_ROOT / "unit_tests" / "data" / "examples"
LICENSE_NAME = "LICENSE-stripe-openapi"

# Deep enough that nothing is cut by it at 2024-06-20 (the deepest structure inlined is 6 $refs
# down, in a subscription's payment settings); it only guards against a spec that grows deeper.
DEFAULT_MAX_DEPTH = 12
DEFAULT_RESOURCE_DEPTH = 1

Schema = dict[str, Any]

ANY_OBJECT: Schema = {"type": ["null", "object"], "additionalProperties": True}

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


def with_null(schema: Schema) -> Schema:
    """``schema`` widened to also accept null."""
    if not schema:
        return schema  # already accepts anything
    if "anyOf" in schema:
        if not any(_accepts_null(alt) for alt in schema["anyOf"]):
            schema = {**schema, "anyOf": [*schema["anyOf"], {"type": "null"}]}
        return schema
    types = schema.get("type")
    if types is None:
        return schema
    if isinstance(types, str):
        types = [types]
    # "null" first, as Airbyte's own schemas write it.
    return {**schema, "type": ["null", *sorted(set(types) - {"null"})]}


def _accepts_null(schema: Schema) -> bool:
    types = schema.get("type")
    if not schema or types == "null":
        return True
    return isinstance(types, list) and "null" in types


class Converter:
    """Turns ``components.schemas`` entries of Stripe's OpenAPI 3.0 spec into JSON Schema."""

    def __init__(self, components: dict[str, Schema], max_depth: int = DEFAULT_MAX_DEPTH,
                 resource_depth: int = DEFAULT_RESOURCE_DEPTH) -> None:
        self.components = components
        self.max_depth = max_depth
        self.resource_depth = resource_depth
        self.cuts: dict[str, set[str]] = {}
        """Why (cycle, resource, depth) which schemas became ANY_OBJECT, for the summary."""

    def convert_object_type(self, name: str) -> Schema:
        """The object type ``name``, its top-level properties with their descriptions."""
        schema = self._convert(self.components[name], (name,), 0)
        top = self.components[name].get("properties", {})
        properties = schema.get("properties", {})
        for key, prop in properties.items():
            if top[key].get("description"):
                properties[key] = {**prop, "description": top[key]["description"]}
        if self.components[name].get("description"):
            schema["description"] = self.components[name]["description"]
        return schema

    def _convert(self, node: Schema, path: tuple[str, ...], depth: int,
                 expandable: bool = False) -> Schema:
        """``node`` as JSON Schema; ``path`` holds the schemas being inlined, root first."""
        if "$ref" in node:
            # OpenAPI 3.0 ignores the siblings of a $ref; Stripe puts none there.
            return self._convert_ref(node["$ref"], path, depth, expandable)
        alternatives = node.get("anyOf") or node.get("oneOf")
        if alternatives:
            result = self._convert_alternatives(alternatives, path, depth)
        elif "type" in node:
            result = self._convert_typed(node, path, depth)
        else:
            result = {}  # OpenAPI's untyped schema accepts anything
        if node.get("nullable"):
            result = with_null(result)
        return result

    def _convert_ref(self, ref: str, path: tuple[str, ...], depth: int,
                     expandable: bool) -> Schema:
        name = ref.removeprefix("#/components/schemas/")
        if expandable:
            # Whether null is allowed is the field's business, not the alternative's.
            return {"type": "object", "additionalProperties": True}
        target = self.components[name]
        depth += 1
        if name in path:
            reason = "cycle"
        elif "x-resourceId" in target and depth > self.resource_depth:
            reason = "resource"
        elif depth > self.max_depth:
            reason = "depth"
        else:
            return self._convert(target, (*path, name), depth)
        self.cuts.setdefault(reason, set()).add(name)
        return dict(ANY_OBJECT)

    def _convert_alternatives(self, alternatives: list[Schema], path: tuple[str, ...],
                              depth: int) -> Schema:
        # An id string beside an object $ref marks an expandable field: the $ref is the
        # expanded object.
        expandable = any(alt.get("type") == "string" for alt in alternatives)
        converted: list[Schema] = []
        for alt in alternatives:
            schema = self._convert(alt, path, depth, expandable=expandable and "$ref" in alt)
            # The expanded customer and deleted customer alternatives collapse into one.
            if schema not in converted:
                converted.append(schema)
        if len(converted) == 1:
            return converted[0]
        return {"anyOf": converted}

    def _convert_typed(self, node: Schema, path: tuple[str, ...], depth: int) -> Schema:
        kind = node["type"]
        if kind == "object":
            result: Schema = {"type": "object", "additionalProperties": True}
            properties = node.get("properties")
            if properties:
                result["properties"] = {
                    key: self._convert(value, path, depth) for key, value in properties.items()
                }
            return result
        if kind == "array":
            result = {"type": "array"}
            if node.get("items"):
                result["items"] = self._convert(node["items"], path, depth)
            return result
        return {"type": kind}


def stream_schema(converter: Converter, stream: str, object_type: str) -> Schema:
    schema = converter.convert_object_type(object_type)
    properties: dict[str, Schema] = dict(schema.get("properties", {}))
    for key, field_schema in CONNECTOR_FIELDS.items():
        if key in properties:
            # Products, billing portal configurations and report types have a Stripe `updated`
            # (last change, unix seconds): same type, other meaning, one value per record.
            field_schema = {**field_schema, "description": field_schema["description"]
                            + f" Stripe's own `{key}` of this object type has the same name: "
                            + properties[key].get("description", "")}
        properties[key] = field_schema
    return {
        "$schema": JSON_SCHEMA_DRAFT,
        "title": stream,
        "description": schema.get("description", "")
        + f"\n\nStripe object type `{object_type}`, API version {API_VERSION}.",
        "type": "object",
        "additionalProperties": True,
        "required": ["id"],
        "properties": properties,
    }


def dump(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_if_changed(path: Path, text: str) -> None:
    # Leaves an unchanged file's mtime alone, so a rerun does not look like a change.
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def remove_stale(folder: Path, keep: set[str]) -> list[str]:
    """Delete generated ``*.json`` files of streams that no longer exist."""
    removed = []
    for path in sorted(folder.glob("*.json")):
        if path.name not in keep:
            path.unlink()
            removed.append(path.name)
    return removed


def license_text(stripe_license: str) -> str:
    note = (f"The files in this folder are derived from Stripe's OpenAPI description "
            f"(github.com/stripe/openapi), API version {API_VERSION}.\n\n")
    return note + stripe_license


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--openapi", type=Path, required=True, help="Stripe's spec3.json")
    parser.add_argument("--fixtures", type=Path, required=True, help="Stripe's fixtures3.json")
    parser.add_argument("--license", type=Path, default=None,
                        help="Stripe's MIT LICENSE (default: LICENSE beside --openapi)")
    parser.add_argument("--max-depth", type=int, default=DEFAULT_MAX_DEPTH,
                        help="$refs inlined along one path before an object of any shape")
    parser.add_argument("--resource-depth", type=int, default=DEFAULT_RESOURCE_DEPTH,
                        help="$refs below the record an embedded API resource is described at")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Run as a script, Python puts tools/ on sys.path, not the repository root.
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    resources = importlib.import_module("source_stripe_conduit.resources").RESOURCES

    spec = json.loads(args.openapi.read_text(encoding="utf-8"))
    if spec["info"]["version"] != API_VERSION:
        print(f"warning: spec is API version {spec['info']['version']}, not {API_VERSION}",
              file=sys.stderr)
    fixtures = json.loads(args.fixtures.read_text(encoding="utf-8"))["resources"]
    license_path = args.license or args.openapi.parent / "LICENSE"
    license_body = license_text(license_path.read_text(encoding="utf-8"))

    converter = Converter(spec["components"]["schemas"], args.max_depth, args.resource_depth)
    SCHEMAS_DIR.mkdir(parents=True, exist_ok=True)
    EXAMPLES_DIR.mkdir(parents=True, exist_ok=True)
    schema_files: set[str] = set()
    example_files: set[str] = set()
    without_example: list[str] = []
    for resource in resources:
        name = f"{resource.stream}.json"
        schema = stream_schema(converter, resource.stream, resource.object)
        write_if_changed(SCHEMAS_DIR / name, dump(schema))
        schema_files.add(name)
        example = fixtures.get(resource.object)
        if example is None:
            without_example.append(resource.stream)
            continue
        write_if_changed(EXAMPLES_DIR / name, dump(example))
        example_files.add(name)

    for folder in (SCHEMAS_DIR, EXAMPLES_DIR):
        write_if_changed(folder / LICENSE_NAME, license_body)

    removed = remove_stale(SCHEMAS_DIR, schema_files) + remove_stale(EXAMPLES_DIR, example_files)
    print(f"{len(schema_files)} schemas, {len(example_files)} examples written")
    if without_example:
        print(f"no fixture (no example) for: {', '.join(without_example)}")
    if removed:
        print(f"removed stale files: {', '.join(removed)}")
    for reason, names in sorted(converter.cuts.items()):
        print(f"any object where cut ({reason}): {', '.join(sorted(names))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
