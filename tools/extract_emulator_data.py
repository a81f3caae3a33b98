"""Extract the data the Stripe emulator needs from Stripe's OpenAPI files.

Run from the repository root::

    python tools/extract_emulator_data.py ../shared/stripe-openapi/spec3.json \
        ../shared/stripe-openapi/fixtures3.json

It writes, under ``stripe_emulator/data/`` (committed; the emulator never reads the OpenAPI files):

* ``examples.json``: Stripe's example object of every object type the emulator serves (the seed
  of every generated object), plus the ``deleted_<type>`` stubs a DELETE returns.
* ``spec_facts.json``: what the emulator enforces or respects, per served path or type:

  - ``list_params``: the query parameters each list path accepts (anything else is refused with
    "Received unknown parameter", like Stripe);
  - ``expandable``: ``x-expandableFields`` of each object type;
  - ``field_types``: the JSON types each top-level field may hold (``nullable`` adds ``null``,
    an expandable id's ``anyOf`` adds ``object``), so generated values stay valid;
  - ``status_values``: the enum of each type's ``status`` field;
  - ``event_types``: every event type name of the API version (``enabled_events``);
  - ``api_version``.

* ``LICENSE-stripe-openapi``: Stripe's copyright line and MIT licence, which the data is under.

Which paths and types to extract comes from the emulator's own catalogue, so adding a resource
there and re-running this script is all a new resource needs. The output is deterministic.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from stripe_emulator.catalog import EXTRA_LIST_PATHS, KINDS  # noqa: E402

DATA_DIR = REPO_ROOT / "stripe_emulator" / "data"
LICENSE_NAME = "LICENSE-stripe-openapi"

LICENSE_TEXT = """\
The files examples.json and spec_facts.json in this folder are derived from Stripe's OpenAPI
description (spec3.json) and example objects (fixtures3.json), published by Stripe, Inc. in its
public openapi repository, API version {version}, under the following licence.

The MIT License

Copyright (c) 2011- Stripe, Inc. (https://stripe.com)

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in
all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
THE SOFTWARE.
"""

Schema = dict[str, Any]


def _resolve(spec: Schema, schema: Schema) -> Schema:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def json_types(spec: Schema, schema: Schema) -> set[str]:
    """The JSON types a value of ``schema`` may have (``integer`` also admits ``number``)."""
    schema = _resolve(spec, schema)
    types: set[str] = set()
    if schema.get("nullable"):
        types.add("null")
    for key in ("anyOf", "oneOf"):
        for alternative in schema.get(key, ()):
            types |= json_types(spec, alternative)
    kind = schema.get("type")
    if kind:
        types.add(kind)
    elif not schema.get("anyOf") and not schema.get("oneOf"):
        # A schema without a type (Stripe's free-form "metadata"-like maps) takes anything.
        types |= {"object", "array", "string", "integer", "number", "boolean", "null"}
    if "properties" in schema or "additionalProperties" in schema:
        types.add("object")
    return types


def list_params(spec: Schema, path: str) -> list[str]:
    operation = spec["paths"][path]["get"]
    return sorted(p["name"] for p in operation.get("parameters", ()) if p["in"] == "query")


def event_types(spec: Schema) -> list[str]:
    post = spec["paths"]["/v1/webhook_endpoints"]["post"]
    body = post["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    names = body["properties"]["enabled_events"]["items"]["enum"]
    return sorted(name for name in names if name != "*")


def extract(spec: Schema, fixtures: Schema) -> tuple[Schema, Schema]:
    resources = fixtures["resources"]
    schemas = spec["components"]["schemas"]
    examples: Schema = {}
    facts: Schema = {
        "api_version": spec["info"]["version"],
        "event_types": event_types(spec),
        "list_params": {},
        "expandable": {},
        "field_types": {},
        "status_values": {},
    }
    for kind in KINDS:
        examples[kind.object] = resources[kind.object]
        deleted = f"deleted_{kind.object}"
        if deleted in resources:
            examples[deleted] = resources[deleted]
        if kind.list_path_template is not None:
            facts["list_params"][kind.list_path_template] = list_params(
                spec, kind.list_path_template)
        schema = schemas[kind.object]
        facts["expandable"][kind.object] = sorted(schema.get("x-expandableFields", ()))
        facts["field_types"][kind.object] = {
            name: sorted(json_types(spec, prop))
            for name, prop in sorted(schema["properties"].items())
        }
        status = _resolve(spec, schema["properties"].get("status", {}))
        if "enum" in status:
            facts["status_values"][kind.object] = sorted(status["enum"])
    for path in EXTRA_LIST_PATHS:
        facts["list_params"][path] = list_params(spec, path)
    return examples, facts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("spec", type=Path, help="path of Stripe's spec3.json")
    parser.add_argument("fixtures", type=Path, help="path of Stripe's fixtures3.json")
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="output folder")
    args = parser.parse_args(argv)
    spec = json.loads(args.spec.read_text())
    fixtures = json.loads(args.fixtures.read_text())
    examples, facts = extract(spec, fixtures)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in (("examples.json", examples), ("spec_facts.json", facts)):
        text = json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        (args.out / name).write_text(text)
    (args.out / LICENSE_NAME).write_text(LICENSE_TEXT.format(version=facts["api_version"]))
    print(f"wrote {len(examples)} examples and facts of {len(facts['list_params'])} list paths "
          f"to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
