"""The README's stream and configuration tables, printed from the code so they cannot drift.

    python -m tools.readme_tables           # print them
    python -m tools.readme_tables --write   # replace them in README.md
"""

from __future__ import annotations

import sys
from pathlib import Path

from source_stripe_conduit.config import BY_NAME, SPEC
from source_stripe_conduit.event_types import INTRODUCED, RELEASES
from source_stripe_conduit.resources import EVENTS_PERMISSION, RESOURCES, Op, Resource


def added_after_first_release(r: Resource) -> str:
    """The stream's event types that a release after the oldest read (2024-06-20) introduced,
    each with the first release whose SDK lists it."""
    later = sorted((RELEASES.index(INTRODUCED[t]), t) for t in r.events
                   if INTRODUCED[t] != RELEASES[0])
    return ", ".join(f"`{t}` ({RELEASES[i]})" for i, t in later) or "–"


def stream_table() -> str:
    rows = ["| stream | endpoint | sync modes | event types (C create, D delete, else update) "
            f"| event types added after {RELEASES[0]} | deletes |",
            "|---|---|---|---|---|---|"]
    for r in RESOURCES:
        if r.append_only:
            events, modes, deletes = "none: append-only, incremental by `created`", "full, incremental", "n/a"
        elif not r.incremental:
            events, modes = "none (Stripe sends no events of it): full refresh only", "full"
            deletes = "by a full refresh"
        else:
            marks = {Op.CREATE: " C", Op.DELETE: " D", Op.UPDATE: ""}
            events = ", ".join(f"`{t}`{marks[op]}" for t, op in sorted(r.events.items()))
            modes = "full, incremental"
            if r.parent_events:
                # The parent's events, each listing its children again.
                events = f"its parent's (`{r.parent}`), each listing the parent's children: {events}"
                deletes = ("with a deleted parent, the children its event embeds; a child "
                           "removed from its parent where the parent's event names the "
                           f"`{r.embedded}` it had (`previous_attributes`)"
                           if r.embedded and Op.DELETE in r.events.values()
                           else "no: a removed child is seen by a full refresh only")
            else:
                deletes = "yes" if Op.DELETE in r.events.values() else "no (Stripe never deletes them)"
        path = r.path
        params = "".join(f"?{k}={v}" for k, v in r.list_params.items())
        added = "n/a" if r.append_only or not r.incremental else added_after_first_release(r)
        rows.append(f"| `{r.stream}` | `{path}{params}` | {modes} | {events} | {added} | {deletes} |")
    return "\n".join(rows)


def permission_table() -> str:
    """The restricted-key permissions (read) each stream needs."""
    rows = ["| stream | full refresh needs | incremental also needs |", "|---|---|---|"]
    for r in RESOURCES:
        snapshot = ", ".join(f"`{p}`" for p in r.permissions)
        more = "nothing more" if r.append_only or not r.incremental else f"`{EVENTS_PERMISSION}`"
        rows.append(f"| `{r.stream}` | {snapshot} | {more} |")
    return "\n".join(rows)


def config_table() -> str:
    rows = ["| field | type | default | meaning |", "|---|---|---|---|"]
    required = set(SPEC.get("required", []))
    for name, prop in sorted(SPEC["properties"].items(), key=lambda kv: kv[1].get("order", 99)):
        kind = prop.get("type", "")
        if isinstance(kind, list):
            kind = "/".join(kind)
        if name in required:
            default = "required"
        elif "default" in prop:
            default = f"`{prop['default']}`"
        else:
            # A default that follows the key's mode (its meaning says which) is not the spec's.
            default = "by key mode" if BY_NAME[name].mode_default is not None else "none"
        text = prop.get("description", prop.get("title", ""))
        for key in ("minimum", "maximum"):
            if key in prop:
                text += f" {key[:3]} {prop[key]}."
        rows.append(f"| `{name}` | {kind} | {default} | {text} |")
    return "\n".join(rows)


def write(readme: Path) -> None:
    text = readme.read_text()
    for table in (config_table(), stream_table(), permission_table()):
        # Found by its first two column names, so that a table whose other columns changed is
        # replaced too.
        start = text.index("|".join(table.split("|", 3)[:3]) + "|")
        end = text.index("\n\n", start)
        text = text[:start] + table + text[end:]
    readme.write_text(text)


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write(Path(__file__).resolve().parents[1] / "README.md")
    else:
        print(config_table())
        print()
        print(stream_table())
        print()
        print(permission_table())
