"""Stream schemas and event types from Stripe's typed Python SDK, one wheel per API release.

Stripe's Python SDK (``stripe`` on PyPI, MIT) is generated from Stripe's OpenAPI description and
pins one API release per version (``stripe/_api_version.py``). Its resource classes annotate
every field of the object (``Optional[...]``, ``Literal[...]``, ``ExpandableField["Customer"]``,
``ListObject["InvoiceLineItem"]``, nested ``StripeObject`` classes) and document it in a docstring
below the field; ``stripe/_event.py`` lists the event types of the release. The OpenAPI
descriptions of releases after 2024-06-20 are not at hand, the SDK's wheels are: reading one
wheel per release gives the shape of every object in every release.

The wheels are read as zip files and their modules parsed with ``ast``: nothing of the SDK is
imported or run, and no installed ``stripe`` package is needed (or used if there is one).

``python -m tools.generate_schemas`` uses this module; see that script for the output files.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

Schema = dict[str, Any]


@dataclass(frozen=True)
class Release:
    sdk: str
    """The stripe-python version read."""
    api: str
    """The API release it pins (``stripe/_api_version.py``), checked when the wheel is read."""


# One SDK version per API release from 2024-06-20 on, the newest that pins it: Stripe keeps adding
# fields to a release until the next one, and the SDK's later patch versions of a release carry
# them. Majors change with the breaking releases: 10 is 2024-06-20, 11 acacia, 12 basil, 13 and 14
# clover, 15 dahlia, 16 endive. Every release is read, not one per major, so that a field or an
# event type is dated by the monthly release that brought it, not only by its major.
RELEASES: tuple[Release, ...] = (
    Release("10.12.1", "2024-06-20"),
    Release("11.1.1", "2024-09-30.acacia"),
    Release("11.2.0", "2024-10-28.acacia"),
    Release("11.3.0", "2024-11-20.acacia"),
    Release("11.4.1", "2024-12-18.acacia"),
    Release("11.5.0", "2025-01-27.acacia"),
    Release("11.6.1", "2025-02-24.acacia"),
    Release("12.0.1", "2025-03-31.basil"),
    Release("12.1.0", "2025-04-30.basil"),
    Release("12.2.0", "2025-05-28.basil"),
    Release("12.3.0", "2025-06-30.basil"),
    Release("12.4.0", "2025-07-30.basil"),
    Release("12.5.2", "2025-08-27.basil"),
    Release("13.0.1", "2025-09-30.clover"),
    Release("13.2.1", "2025-10-29.clover"),
    Release("14.0.1", "2025-11-17.clover"),
    Release("14.2.0", "2025-12-15.clover"),
    Release("14.3.0", "2026-01-28.clover"),
    Release("14.4.2", "2026-02-25.clover"),
    Release("15.0.1", "2026-03-25.dahlia"),
    Release("15.1.0", "2026-04-22.dahlia"),
    Release("15.2.1", "2026-05-27.dahlia"),
    Release("15.3.1", "2026-06-24.dahlia"),
    Release("15.5.1", "2026-07-29.dahlia"),
    Release("15.6.2", "2026-08-26.dahlia"),
    Release("16.0.1", "2026-09-30.endive"),
    Release("16.1.0", "2026-10-28.endive"),
)

# Nested objects are described this many levels below the record; deeper, a field accepts an
# object of any shape. A guard only: nothing the streams embed reaches it.
MAX_DEPTH = 12
# An API resource embedded in the record (a customer's discount, an invoice's lines) is described
# at this depth; one embedded deeper (the PaymentIntent inside every last_payment_error) accepts
# any object, or the schemas would describe most of Stripe's API several times over.
RESOURCE_DEPTH = 1

# Python names of JSON types. Decimal is how newer SDKs hand out Stripe's decimal strings
# (``unit_amount_decimal``: ``_field_encodings`` says "decimal_string"): on the wire, a string.
SCALARS = {"str": "string", "int": "integer", "float": "number", "bool": "boolean",
           "Decimal": "string"}
# Containers whose keys are not known in advance (metadata): objects of any keys.
MAPS = {"Dict", "dict", "Mapping", "UntypedStripeObject", "StripeObject"}
LISTS = {"List", "list", "Sequence"}
ANYTHING = {"Any", "object"}
ANY = "any"
"""The kind of a value that may be anything (``Any``): its schema is ``{}``."""

_OBJECT_NAME = re.compile(r'OBJECT_NAME: ClassVar\[\s*Literal\[\s*"([^"]+)"\s*\]\s*\]')


def download(folder: Path, releases: Iterable[Release]) -> dict[Release, Path]:
    """Each release's wheel in ``folder``, fetched with pip (no dependencies, nothing installed)
    where it is not there yet."""
    folder.mkdir(parents=True, exist_ok=True)
    wheels: dict[Release, Path] = {}
    for release in releases:
        found = sorted(folder.glob(f"stripe-{release.sdk}-*.whl"))
        if not found:
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                            "--only-binary=:all:", "--dest", str(folder),
                            f"stripe=={release.sdk}"], check=True)
            found = sorted(folder.glob(f"stripe-{release.sdk}-*.whl"))
        if not found:
            raise FileNotFoundError(f"pip left no wheel of stripe {release.sdk} in {folder}")
        wheels[release] = found[0]
    return wheels


@dataclass(frozen=True)
class ClassRef:
    module: str
    """Path of the module in the wheel (``stripe/_invoice.py``)."""
    qualname: tuple[str, ...]
    """The class and the classes it is nested in, outermost first (``Invoice``, ``Parent``)."""


@dataclass
class Module:
    classes: dict[tuple[str, ...], ast.ClassDef]
    imports: dict[str, tuple[str, str]]
    """Local name to (module, name): ``Card as CardResource`` gives CardResource."""


class Wheel:
    """One SDK wheel, read as a zip file; modules are parsed on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zip = zipfile.ZipFile(path)
        self.names = set(self.zip.namelist())
        self._modules: dict[str, Module] = {}

    def text(self, name: str) -> str:
        return self.zip.read(name).decode("utf-8")

    @cached_property
    def api_version(self) -> str:
        for node in ast.walk(ast.parse(self.text("stripe/_api_version.py"))):
            if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                    and any(isinstance(t, ast.Name) and t.id == "CURRENT" for t in node.targets)):
                return str(node.value.value)
        raise ValueError(f"{self.path.name}: no CURRENT in stripe/_api_version.py")

    @cached_property
    def license(self) -> str:
        for name in sorted(self.names):
            if ".dist-info/" in name and name.rsplit("/", 1)[-1] == "LICENSE":
                return self.text(name)
        raise ValueError(f"{self.path.name}: no LICENSE in the wheel's metadata")

    @cached_property
    def objects(self) -> dict[str, ClassRef]:
        """Stripe's object type (``OBJECT_NAME``) to its resource class. A text search first,
        so that only the modules a stream needs are parsed."""
        found: dict[str, ClassRef] = {}
        for name in sorted(self.names):
            # params/ holds request parameters (TypedDicts), never an object's fields.
            if not name.endswith(".py") or name.startswith("stripe/params/"):
                continue
            text = self.text(name)
            if "OBJECT_NAME" not in text:
                continue
            for match in _OBJECT_NAME.finditer(text):
                object_type = match.group(1)
                for qualname, cls in self.module(name).classes.items():
                    if len(qualname) == 1 and _object_name(cls) == object_type:
                        found.setdefault(object_type, ClassRef(name, qualname))
        return found

    def module(self, name: str) -> Module:
        if name not in self._modules:
            tree = ast.parse(self.text(name), filename=name)
            classes: dict[tuple[str, ...], ast.ClassDef] = {}
            _collect_classes(tree.body, (), classes)
            imports: dict[str, tuple[str, str]] = {}
            # Imports under `if TYPE_CHECKING:` name the classes annotations refer to.
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    for alias in node.names:
                        imports[alias.asname or alias.name] = (node.module, alias.name)
            self._modules[name] = Module(classes, imports)
        return self._modules[name]

    def module_path(self, dotted: str) -> str | None:
        base = dotted.replace(".", "/")
        for candidate in (f"{base}.py", f"{base}/__init__.py"):
            if candidate in self.names:
                return candidate
        return None

    def class_def(self, ref: ClassRef) -> ast.ClassDef:
        return self.module(ref.module).classes[ref.qualname]

    def resolve(self, name: str, scope: ClassRef) -> ClassRef | None:
        """The class ``name`` means in the body of ``scope``: a class nested there (or in a
        class around it), one of the module, or one it imports."""
        module = self.module(scope.module)
        for depth in range(len(scope.qualname), -1, -1):
            qualname = (*scope.qualname[:depth], name)
            if qualname in module.classes:
                return ClassRef(scope.module, qualname)
        if name in module.imports:
            dotted, imported = module.imports[name]
            path = self.module_path(dotted)
            if path is not None and (imported,) in self.module(path).classes:
                return ClassRef(path, (imported,))
        return None

    def event_types(self) -> set[str]:
        """Every event type of the release: ``Event.type``'s Literal, and the ``enabled_events``
        a webhook endpoint takes (the same list, plus "*", in every major read so far)."""
        types = _literal_field(self.module("stripe/_event.py").classes[("Event",)], "type")
        for name in ("stripe/params/_webhook_endpoint_create_params.py",
                     "stripe/_webhook_endpoint.py"):
            if name in self.names:
                for cls in self.module(name).classes.values():
                    types |= _literal_field(cls, "enabled_events")
        types.discard("*")
        return types


def _collect_classes(body: list[ast.stmt], outer: tuple[str, ...],
                     into: dict[tuple[str, ...], ast.ClassDef]) -> None:
    for node in body:
        if isinstance(node, ast.ClassDef):
            qualname = (*outer, node.name)
            into[qualname] = node
            _collect_classes(node.body, qualname, into)
        elif isinstance(node, ast.If):  # TYPE_CHECKING blocks
            _collect_classes(node.body, outer, into)


def _object_name(cls: ast.ClassDef) -> str | None:
    for node in cls.body:
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and node.target.id == "OBJECT_NAME" and isinstance(node.value, ast.Constant)):
            return str(node.value.value)
    return None


def _literal_field(cls: ast.ClassDef, name: str) -> set[str]:
    """The string values of Literal[...]s in the annotation of field ``name`` of ``cls``."""
    values: set[str] = set()
    for node in cls.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                and node.target.id == name:
            for sub in ast.walk(node.annotation):
                if isinstance(sub, ast.Subscript) and _name(sub.value) == "Literal":
                    values |= {e.value for e in _elements(sub.slice)
                               if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return values


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):  # typing.Optional, typing_extensions.Literal
        return node.attr
    return None


def _elements(node: ast.expr) -> list[ast.expr]:
    return list(node.elts) if isinstance(node, ast.Tuple) else [node]


# --- shapes: what a field holds, merged over releases ---------------------------------------


@dataclass
class Field:
    shape: Shape
    releases: set[str]
    """The releases whose object has this field."""
    description: str | None = None
    """The newest release's docstring."""


@dataclass
class Shape:
    """The JSON values a field may hold: kinds ("string", "object", … or ANY), with the object's
    known properties and the array's items. Null is always allowed (see ``render``)."""

    kinds: set[str] = field(default_factory=set)
    properties: dict[str, Field] | None = None
    """Known properties of the object kind; None for an object of any keys."""
    items: Shape | None = None
    described: set[str] = field(default_factory=set)
    """The releases whose object kind had known properties: a property's presence is told
    against these (a property of an object described from 2025-03-31.basil on is not "added"
    in basil, its object is)."""

    def merge(self, other: Shape) -> None:
        """Widen this shape to also hold what ``other`` holds (``other`` is the newer)."""
        self.kinds |= other.kinds
        self.described |= other.described
        if other.properties is not None:
            if self.properties is None:
                self.properties = {}
            for name, theirs in other.properties.items():
                ours = self.properties.get(name)
                if ours is None:
                    self.properties[name] = theirs
                    continue
                ours.shape.merge(theirs.shape)
                ours.releases |= theirs.releases
                ours.description = theirs.description or ours.description
        if other.items is not None:
            if self.items is None:
                self.items = other.items
            else:
                self.items.merge(other.items)


def _kind(kind: str) -> Shape:
    return Shape({kind})


class Reader:
    """Turns the classes of one wheel into shapes; ``release`` tags every field read."""

    def __init__(self, wheel: Wheel, release: str) -> None:
        self.wheel = wheel
        self.release = release
        self.cuts: dict[str, set[str]] = {}
        """Why (cycle, resource, depth) which classes became objects of any shape."""
        self.unknown: set[str] = set()
        """Annotations not understood (read as ANY): a new construct of the SDK."""

    def object_shape(self, ref: ClassRef) -> Shape:
        return self.class_shape(ref, 0, ())

    def class_shape(self, ref: ClassRef, depth: int, path: tuple[ClassRef, ...]) -> Shape:
        cls = self.wheel.class_def(ref)
        resource = _object_name(cls) is not None
        reason = ("cycle" if ref in path
                  else "resource" if resource and depth > RESOURCE_DEPTH
                  else "depth" if depth > MAX_DEPTH else None)
        if reason:
            self.cuts.setdefault(reason, set()).add(".".join(ref.qualname))
            return _kind("object")
        remapped = _field_remappings(cls)
        properties: dict[str, Field] = {}
        body = cls.body
        for index, node in enumerate(body):
            if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
                continue
            name = node.target.id
            if name.startswith("_") or _name(_outer(node.annotation)) == "ClassVar":
                continue  # OBJECT_NAME and the SDK's own bookkeeping
            following = body[index + 1] if index + 1 < len(body) else None
            doc = None
            if (isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
                    and isinstance(following.value.value, str)):
                doc = _clean(following.value.value)
            shape = self.annotation(node.annotation, ref, depth + 1, (*path, ref))
            # Python keywords are suffixed in the SDK (`from_`); the JSON name is Stripe's.
            properties[remapped.get(name, name)] = Field(shape, {self.release}, doc)
        return Shape({"object"}, properties, None, {self.release})

    def annotation(self, node: ast.expr, scope: ClassRef, depth: int,
                   path: tuple[ClassRef, ...]) -> Shape:
        """The shape of a field annotated ``node`` in class ``scope``, ``depth`` levels below
        the record."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            # A forward reference ("Customer"), or a string literal inside Literal[...].
            return self.annotation(ast.parse(node.value, mode="eval").body, scope, depth, path)
        if isinstance(node, ast.Constant) and node.value is None:
            return Shape()  # Optional's None: null, which every field accepts
        if isinstance(node, ast.Subscript):
            return self.generic(node, scope, depth, path)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):  # X | Y
            shape = self.annotation(node.left, scope, depth, path)
            shape.merge(self.annotation(node.right, scope, depth, path))
            return shape
        name = _name(node)
        if name in SCALARS:
            return _kind(SCALARS[name])
        if name in MAPS:
            return _kind("object")
        if name in ANYTHING:
            return _kind(ANY)
        ref = self.class_ref(node, scope)
        if ref is not None:
            return self.class_shape(ref, depth, path)
        self.unknown.add(f"{'.'.join(scope.qualname)}: {ast.unparse(node)}")
        return _kind(ANY)

    def class_ref(self, node: ast.expr, scope: ClassRef) -> ClassRef | None:
        """The class ``node`` names: ``Discount``, or a nested one spelt ``Invoice.Discount``."""
        if isinstance(node, ast.Name):
            return self.wheel.resolve(node.id, scope)
        if isinstance(node, ast.Attribute):
            outer = self.class_ref(node.value, scope)
            if outer is not None:
                nested = ClassRef(outer.module, (*outer.qualname, node.attr))
                if nested.qualname in self.wheel.module(outer.module).classes:
                    return nested
        return None

    def generic(self, node: ast.Subscript, scope: ClassRef, depth: int,
                path: tuple[ClassRef, ...]) -> Shape:
        outer = _name(node.value)
        args = _elements(node.slice)
        if outer in ("Optional", "Union"):
            shape = Shape()
            for arg in args:
                shape.merge(self.annotation(arg, scope, depth, path))
            return shape
        if outer == "Literal":
            kinds = {_literal_kind(arg) for arg in args}
            return Shape(kinds)
        if outer in LISTS:
            return Shape({"array"}, items=self.annotation(args[0], scope, depth, path))
        if outer in MAPS:
            return _kind("object")
        if outer == "ExpandableField":
            # Neither lists nor events expand fields: a record carries the id; an expanded
            # object (a caller's choice) is accepted in any shape.
            return Shape({"string", "object"})
        if outer == "ListObject":
            items = self.annotation(args[0], scope, depth, path)
            return self.list_object(items)
        self.unknown.add(f"{'.'.join(scope.qualname)}: {ast.unparse(node)}")
        return _kind(ANY)

    def list_object(self, items: Shape) -> Shape:
        """Stripe's list envelope, as an invoice's ``lines`` embeds it."""
        tag = {self.release}
        properties = {
            "object": Field(_kind("string"), set(tag), "String representing the object's type: "
                            "always `list`."),
            "data": Field(Shape({"array"}, items=items), set(tag), "The first page of items."),
            "has_more": Field(_kind("boolean"), set(tag), "Whether there are more items."),
            "url": Field(_kind("string"), set(tag), "The URL that lists all items."),
        }
        return Shape({"object"}, properties, None, set(tag))


def _outer(node: ast.expr) -> ast.expr:
    return node.value if isinstance(node, ast.Subscript) else node


def _literal_kind(node: ast.expr) -> str:
    if isinstance(node, ast.Constant):
        value = node.value
        # bool before int: True is an int in Python.
        for python, kind in ((bool, "boolean"), (int, "integer"), (float, "number"),
                             (str, "string")):
            if isinstance(value, python):
                return kind
    return ANY


def _field_remappings(cls: ast.ClassDef) -> dict[str, str]:
    for node in cls.body:
        target = node.target if isinstance(node, ast.AnnAssign) else (
            node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None)
        if isinstance(target, ast.Name) and target.id == "_field_remappings" and node.value:
            value = ast.literal_eval(node.value)
            if isinstance(value, dict):
                return {str(k): str(v) for k, v in value.items()}
    return {}


def _clean(doc: str) -> str:
    """A docstring as one paragraph block: the SDK indents it and pads it with newlines."""
    lines = [line.strip() for line in doc.strip().splitlines()]
    return "\n".join(lines)


# --- rendering --------------------------------------------------------------------------------


def presence_note(present: set[str], context: Sequence[str]) -> str | None:
    """When a field came and went, over the releases ``context`` (ordered) its object was
    described in: "Added in 2025-03-31.basil." or "Removed in …"; None when always there."""
    flags = [release in present for release in context]
    if all(flags) or not any(flags):
        return None
    parts: list[str] = []
    for index in range(1, len(flags)):
        before, now = flags[index - 1], flags[index]
        if now and not before:
            parts.append(f"added{' again' if parts else ''} in {context[index]}")
        elif before and not now:
            parts.append(f"removed in {context[index]}")
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def render(shape: Shape, order: Sequence[str], with_docs: bool = False) -> Schema:
    """``shape`` as JSON Schema draft-07, null allowed everywhere (a field's type and presence
    change between releases, and ``Optional`` in the SDK means nullable and absent alike).

    One ``type`` list holds every kind (``["null", "object", "string"]`` for an expandable
    field): ``properties`` apply to the object kind only and ``items`` to the array kind only,
    so no ``anyOf`` is needed. Objects are never closed (``additionalProperties: true``):
    Stripe adds fields without a new release. ``with_docs`` keeps the docstrings of this
    object's properties (the record's top level); deeper, only a property's presence note."""
    if ANY in shape.kinds:
        return {}
    schema: Schema = {"type": ["null", *sorted(shape.kinds)]}
    if "object" in shape.kinds:
        schema["additionalProperties"] = True
        if shape.properties:
            context = [release for release in order if release in shape.described]
            properties: Schema = {}
            for name, prop in shape.properties.items():
                child = render(prop.shape, order)
                note = presence_note(prop.releases, context)
                text = "\n\n".join(t for t in ((prop.description if with_docs else None), note)
                                   if t)
                if text:
                    child = {**child, "description": text}
                properties[name] = child
            schema["properties"] = properties
    if "array" in shape.kinds and shape.items is not None:
        schema["items"] = render(shape.items, order)
    return schema


@dataclass
class ObjectType:
    """One Stripe object type over the releases read."""

    name: str
    shape: Shape = field(default_factory=Shape)
    description: str | None = None
    cuts: dict[str, set[str]] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)
    missing: list[str] = field(default_factory=list)
    """Releases whose SDK has no class for it."""


def read_objects(wheels: Mapping[Release, Wheel], names: Iterable[str]) -> dict[str, ObjectType]:
    """Each object type of ``names``, its fields merged over ``wheels`` (oldest first)."""
    result = {name: ObjectType(name) for name in names}
    for release, wheel in wheels.items():
        if wheel.api_version != release.api:
            raise ValueError(f"{wheel.path.name} pins {wheel.api_version}, not {release.api}")
        for name, object_type in result.items():
            ref = wheel.objects.get(name)
            if ref is None:
                object_type.missing.append(release.api)
                continue
            reader = Reader(wheel, release.api)
            object_type.shape.merge(reader.object_shape(ref))
            object_type.description = _class_doc(wheel.class_def(ref)) or object_type.description
            for reason, classes in reader.cuts.items():
                object_type.cuts.setdefault(reason, set()).update(classes)
            object_type.unknown |= reader.unknown
    return result


def _class_doc(cls: ast.ClassDef) -> str | None:
    doc = ast.get_docstring(cls)
    return _clean(doc) if doc else None


def read_event_types(wheels: Mapping[Release, Wheel]) -> dict[str, str]:
    """Every event type of the releases read, with the first release that has it."""
    first: dict[str, str] = {}
    for release, wheel in wheels.items():
        for event_type in sorted(wheel.event_types()):
            first.setdefault(event_type, release.api)
    return first


def removed_event_types(wheels: Mapping[Release, Wheel]) -> dict[str, str]:
    """Event types a release dropped, with the release that no longer has them."""
    removed: dict[str, str] = {}
    previous: set[str] | None = None
    for release, wheel in wheels.items():
        types = wheel.event_types()
        if previous is not None:
            for gone in sorted(previous - types):
                removed.setdefault(gone, release.api)
        previous = types
    return removed
