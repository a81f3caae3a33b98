"""List pages as Stripe serves them: limit, cursors, ``created`` ranges, filters, hidden
defaults and expansion."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from . import spec
from .calls import ApiError, Call, Result, no_such, unknown_param
from .catalog import BY_OBJECT, Kind
from .query import Params, parse_int
from .render import Renderer, expandable, payments_list
from .store import Collection, Key, Obj, listed, walk
from .versions import CANONICAL, SHAPES

MAX_LIMIT = 100
DEFAULT_LIMIT = 10
MAX_EXPAND_DEPTH = 4
PAGING = frozenset({"limit", "starting_after", "ending_before", "expand", "created"})


def parse_limit(params: Params) -> int:
    raw = params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    limit = parse_int(raw, "limit")
    if limit < 1:
        raise ApiError(400, "This value must be greater than or equal to 1.", "parameter_invalid",
                       "limit")
    if limit > MAX_LIMIT:
        raise ApiError(400, f"This value must be less than or equal to {MAX_LIMIT} (it "
                       f"currently is '{limit}').", "parameter_invalid", "limit")
    return limit


def created_bounds(params: Params, name: str = "created") -> tuple[Key | None, Key | None]:
    """``created`` (exact) or ``created[gt|gte|lt|lte]`` as key bounds [lo, hi)."""
    value = params.get(name)
    if value is None:
        return None, None
    lo: int | None = None
    hi: int | None = None
    if isinstance(value, str):
        exact = parse_int(value, name)
        lo, hi = exact, exact + 1
    elif isinstance(value, dict):
        for op, raw in value.items():
            if not isinstance(raw, str) or op not in ("gt", "gte", "lt", "lte"):
                raise ApiError(400, f"Received unknown parameter: {name}[{op}]",
                               "parameter_unknown", f"{name}[{op}]")
            number = parse_int(raw, f"{name}[{op}]")
            if op == "gt":
                lo = max(lo or number + 1, number + 1)
            elif op == "gte":
                lo = max(lo or number, number)
            elif op == "lt":
                hi = min(hi or number, number)
            else:
                hi = min(hi or number + 1, number + 1)
    else:
        raise ApiError(400, f"Invalid {name}: must be an integer or a hash of gt, gte, lt, lte",
                       "parameter_invalid", name)
    return ((lo, -1) if lo is not None else None), ((hi, -1) if hi is not None else None)


def tighten(lo: Key | None, hi: Key | None, new_lo: Key | None,
            new_hi: Key | None) -> tuple[Key | None, Key | None]:
    if new_lo is not None and (lo is None or new_lo > lo):
        lo = new_lo
    if new_hi is not None and (hi is None or new_hi < hi):
        hi = new_hi
    return lo, hi


def cursors(params: Params) -> tuple[str | None, str | None]:
    after = params.string("starting_after")
    before = params.string("ending_before")
    if after is not None and before is not None:
        raise ApiError(400, "You may only specify one of these parameters: ending_before, "
                       "starting_after.", "parameter_invalid")
    return after or None, before or None


def check_params(params: Params, accepted: frozenset[str]) -> None:
    for name in params:
        if name not in accepted:
            raise unknown_param(params, name)


def field_predicate(params: Params, name: str, kind: Kind) -> Callable[[dict[str, Any]], bool]:
    """A generic list filter on a top-level field: equality, a set (``ids[]``) or a range."""
    value = params.get(name)
    example = spec.examples()[kind.object]
    field = name
    if isinstance(value, list):
        field = "id" if name == "ids" else name[:-1] if name.endswith("s") else name
        if field not in example:
            raise ApiError(400, f"The emulator does not implement the list filter {name}.",
                           "parameter_unknown", name)
        wanted = set(value)
        return lambda data: data.get(field) in wanted
    if field not in example:
        raise ApiError(400, f"The emulator does not implement the list filter {name}.",
                       "parameter_unknown", name)
    if isinstance(value, dict):
        lo, hi = created_bounds(params, name)
        low = lo[0] if lo else None
        high = hi[0] if hi else None

        def in_range(data: dict[str, Any]) -> bool:
            current = data.get(field)
            if not isinstance(current, int):
                return False
            return (low is None or current >= low) and (high is None or current < high)
        return in_range
    sample = example.get(field)
    target: Any = value
    if isinstance(sample, bool):
        if value not in ("true", "false"):
            raise ApiError(400, f"Invalid boolean: {value}", "parameter_invalid", name)
        target = value == "true"
    elif isinstance(sample, int):
        target = parse_int(value, name)
    return lambda data: data.get(field) == target


def status_predicate(kind: Kind, params: Params) -> Callable[[Obj], bool] | None:
    """Hidden defaults: ``/v1/subscriptions`` omits canceled ones unless ``status`` asks."""
    status = params.string("status")
    hidden = kind.hidden_statuses
    if status is None:
        if not hidden:
            return None
        return lambda obj: obj.status not in hidden
    if status == "all" and hidden:
        return lambda obj: True
    if status == "ended" and hidden:
        return lambda obj: obj.status in ("canceled", "incomplete_expired")
    allowed = spec.facts()["status_values"].get(kind.object)
    if allowed is not None and status not in allowed:
        choices = ", ".join([*allowed, "all", "ended"] if hidden else allowed)
        raise ApiError(400, f"Invalid status: must be one of {choices}", "parameter_invalid",
                       "status")
    return lambda obj: obj.status == status


def list_page(call: Call, kind: Kind, coll: Collection | None, url: str,
              accepted: frozenset[str], parent: str | None = None,
              handled: frozenset[str] = frozenset()) -> Result:
    params = call.params
    check_params(params, accepted)
    limit = parse_limit(params)
    after, before = cursors(params)
    lo, hi = created_bounds(params)
    dataset = call.dataset
    for name, cursor in (("starting_after", after), ("ending_before", before)):
        if cursor is None:
            continue
        obj = dataset.get(cursor, kind.object)
        if obj is None or (not kind.top_level and obj.parent != parent):
            raise no_such(kind.object, cursor, name, 400)
        if name == "starting_after":
            lo, hi = tighten(lo, hi, None, obj.key)
        else:
            lo, hi = tighten(lo, hi, (obj.created, obj.seq + 1), None)
    expand = parse_expand(params, kind, prefix="data.", shape=call.renderer.shape)
    accept = build_accept(params, kind, handled)
    if "created" in params and dataset.undated and kind.top_level:
        accept = dated_only(accept, dataset.undated)
    page, more = walk(coll, lo, hi, limit, before is not None, accept)
    return Result(render_list(call, kind, page, more, url, expand), len(page))


def build_accept(params: Params, kind: Kind, handled: frozenset[str]) -> Callable[[Obj], bool]:
    status = status_predicate(kind, params) if "status" in params or kind.hidden_statuses \
        else None
    checks: list[Callable[[dict[str, Any]], bool]] = []
    for name in params:
        if name in PAGING or name in handled or name == "status" and status is not None:
            continue
        checks.append(field_predicate(params, name, kind))
    if status is None and not checks:
        return listed

    def accept(obj: Obj) -> bool:
        if not obj.listed:
            return False
        if status is not None and not status(obj):
            return False
        if checks:
            data = obj.data()
            return all(check(data) for check in checks)
        return True
    return accept


def dated_only(accept: Callable[[Obj], bool], undated: set[str]) -> Callable[[Obj], bool]:
    """``accept`` less the objects without ``created`` (some connected accounts): a range on a
    field an object lacks matches nothing, as the emulator's filters on other fields do (what
    Stripe does is not documented)."""
    return lambda obj: obj.id not in undated and accept(obj)


def render_list(call: Call, kind: Kind, page: list[Any], more: bool, url: str,
                expand: list[list[str]]) -> bytes:
    """A list page in the call's version: stored bytes joined as they are, where the version
    changes nothing of the kind."""
    renderer = call.renderer
    if expand:
        items: list[Any] = []
        for item in page:
            data = renderer.data(item)
            for path in expand:
                expand_path(renderer, kind.object, data, path)
            items.append(data)
    else:
        items = [orjson.Fragment(renderer.blob(item)) for item in page]
    return orjson.dumps({"object": "list", "data": items, "has_more": more, "url": url})


# Expansion


def parse_expand(params: Params, kind: Kind, prefix: str,
                 shape: str = CANONICAL) -> list[list[str]]:
    """The paths ``expand`` asks for, each checked against what the version can expand."""
    assert shape in SHAPES
    fields = expandable(spec.expandable(kind.object), kind.object, shape)
    paths: list[list[str]] = []
    for raw in params.strings("expand"):
        if prefix and not raw.startswith(prefix):
            raise ApiError(400, f"This property cannot be expanded ({raw}). You may want to try "
                           f"expanding '{prefix}{raw}' instead.", "parameter_invalid", "expand")
        segments = raw[len(prefix):].split(".")
        depth = len(segments) + (1 if prefix else 0)
        if depth > MAX_EXPAND_DEPTH:
            raise ApiError(400, f"You cannot expand more than {MAX_EXPAND_DEPTH} levels of a "
                           f"property. Property: {raw}", "parameter_invalid", "expand")
        if not segments[0] or segments[0] not in fields:
            raise ApiError(400, f"This property cannot be expanded ({raw}).",
                           "parameter_invalid", "expand")
        paths.append(segments)
    return paths


def expand_path(renderer: Renderer, object_type: str, data: dict[str, Any],
                segments: list[str]) -> None:
    """Replace the id at ``segments`` with the object, where the emulator has it, rendered in
    the same version as the object it is expanded in."""
    dataset = renderer.dataset
    assert dataset is not None
    head, rest = segments[0], segments[1:]
    value = data.get(head)
    if head == "payments" and object_type == "invoice" and renderer.shape != CANONICAL \
            and "payments" not in data:
        # basil's includable list, absent unless asked for; made from the stored invoice,
        # whose payment fields the rendered one no longer has.
        stored = dataset.get(str(data.get("id")), "invoice")
        value = data[head] = payments_list(stored.data() if stored is not None else data)
    if isinstance(value, str):
        target = dataset.objects.get(value)
        if target is None:
            return
        if target.deleted:
            value = {"id": target.id, "object": target.kind.object, "deleted": True}
        else:
            value = renderer.data(target)
        data[head] = value
    if rest and isinstance(value, dict):
        inner_type = value.get("object")
        if isinstance(inner_type, str) and inner_type in BY_OBJECT \
                and rest[0] not in spec.expandable(inner_type):
            raise ApiError(400, f"This property cannot be expanded ({'.'.join(segments)}).",
                           "parameter_invalid", "expand")
        if value.get("object") == "list" and rest[0] == "data":
            for item in value.get("data", ()):
                if isinstance(item, dict) and rest[1:]:
                    expand_path(renderer, str(item.get("object")), item, rest[1:])
        else:
            expand_path(renderer, str(inner_type), value, rest)
