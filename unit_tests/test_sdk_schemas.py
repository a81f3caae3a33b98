"""How tools/sdk_schemas.py reads Stripe's Python SDK, on small wheels written here.

The real wheels are fetched by the generator, not by the tests: these stand-ins hold the
constructs the SDK's generated modules use (Optional, Literal, ExpandableField, ListObject,
nested classes, imports under TYPE_CHECKING, docstrings below fields, Decimal, _field_remappings).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from tools.sdk_schemas import Release, Wheel, presence_note, read_event_types, read_objects, render

OLD = '''
from stripe._expandable_field import ExpandableField
from stripe._list_object import ListObject
from stripe._stripe_object import StripeObject
from typing import ClassVar, Dict, List, Optional, Union
from typing_extensions import Literal, TYPE_CHECKING

if TYPE_CHECKING:
    from stripe._customer import Customer
    from stripe._line import Line as LineResource


class Widget(StripeObject):
    """
    A widget.
    """

    OBJECT_NAME: ClassVar[Literal["widget"]] = "widget"

    class Coupon(StripeObject):
        percent_off: Optional[float]

    class Discount(StripeObject):
        coupon: "Widget.Coupon"

    amount: int
    """
    The amount.
    """
    customer: Optional[ExpandableField["Customer"]]
    """
    The customer.
    """
    discount: Optional[Discount]
    lines: ListObject["LineResource"]
    """
    The lines.
    """
    metadata: Dict[str, str]
    status: Union[Literal["open", "paid"], str]
    tags: List[str]
    from_: Optional[str]
    """
    Where from.
    """
    deleted: Optional[Literal[True]]
    _field_remappings = {"from_": "from"}
'''

NEW = '''
from decimal import Decimal
from stripe._expandable_field import ExpandableField
from stripe._list_object import ListObject
from stripe._stripe_object import StripeObject, UntypedStripeObject
from typing import ClassVar, List, Optional
from typing_extensions import Literal, TYPE_CHECKING

if TYPE_CHECKING:
    from stripe._customer import Customer
    from stripe._line import Line as LineResource


class Widget(StripeObject):
    """
    A widget, newer.
    """

    OBJECT_NAME: ClassVar[Literal["widget"]] = "widget"

    class Discount(StripeObject):
        class Source(StripeObject):
            coupon: Optional[ExpandableField["Customer"]]
            type: Literal["coupon"]

        source: Source

    amount: Decimal
    """
    The amount, newer.
    """
    customer: Optional[ExpandableField["Customer"]]
    """
    The customer.
    """
    discount: Optional[Discount]
    lines: ListObject["LineResource"]
    metadata: Optional[UntypedStripeObject[str]]
    parent: Optional[str]
    """
    The parent.
    """
    status: str
    tags: List[str]
    deleted: Optional[Literal[True]]
'''

LINE = '''
from stripe._stripe_object import StripeObject
from typing import ClassVar, Optional
from typing_extensions import Literal, TYPE_CHECKING

if TYPE_CHECKING:
    from stripe._widget import Widget


class Line(StripeObject):
    OBJECT_NAME: ClassVar[Literal["line_item"]] = "line_item"
    amount: int
    widget: Optional["Widget"]
'''

EVENT = '''
class Event(StripeObject):
    OBJECT_NAME: ClassVar[Literal["event"]] = "event"
    type: Literal[{types}]
'''


def _wheel(folder: Path, sdk: str, api: str, widget: str, event_types: list[str]) -> Path:
    path = folder / f"stripe-{sdk}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("stripe/_api_version.py",
                         f'class _ApiVersion:\n    CURRENT = "{api}"\n')
        archive.writestr("stripe/_widget.py", widget)
        archive.writestr("stripe/_line.py", LINE)
        archive.writestr("stripe/_event.py", EVENT.format(
            types=", ".join(f'"{t}"' for t in event_types)))
        archive.writestr(f"stripe-{sdk}.dist-info/licenses/LICENSE", "The MIT License\n")
    return path


OLD_RELEASE = Release("1.0.0", "2024-06-20")
NEW_RELEASE = Release("2.0.0", "2025-03-31.basil")
ORDER = [OLD_RELEASE.api, NEW_RELEASE.api]


@pytest.fixture
def wheels(tmp_path: Path) -> dict[Release, Wheel]:
    return {
        OLD_RELEASE: Wheel(_wheel(tmp_path, "1.0.0", OLD_RELEASE.api, OLD,
                                  ["widget.created", "widget.updated"])),
        NEW_RELEASE: Wheel(_wheel(tmp_path, "2.0.0", NEW_RELEASE.api, NEW,
                                  ["widget.created", "widget.updated", "widget.overpaid"])),
    }


def _schema(wheels: dict[Release, Wheel]) -> dict:
    widget = read_objects(wheels, ["widget"])["widget"]
    assert not widget.unknown and not widget.missing
    return render(widget.shape, ORDER, with_docs=True)


def test_the_wheel_says_its_release_and_licence(wheels: dict[Release, Wheel]) -> None:
    assert wheels[NEW_RELEASE].api_version == "2025-03-31.basil"
    assert wheels[NEW_RELEASE].license == "The MIT License\n"
    assert set(wheels[NEW_RELEASE].objects) == {"widget", "line_item", "event"}


def test_a_release_whose_wheel_pins_another_is_refused(tmp_path: Path) -> None:
    wheel = Wheel(_wheel(tmp_path, "1.0.0", "2024-09-30.acacia", OLD, []))
    with pytest.raises(ValueError, match="pins 2024-09-30.acacia"):
        read_objects({OLD_RELEASE: wheel}, ["widget"])


def test_fields_of_both_releases_are_declared_and_nullable(wheels: dict[Release, Wheel]) -> None:
    properties = _schema(wheels)["properties"]
    assert set(properties) == {"amount", "customer", "discount", "lines", "metadata", "status",
                               "tags", "from", "parent", "deleted"}
    for name, field in properties.items():
        assert "null" in field["type"], name


def test_types_of_every_release_are_accepted(wheels: dict[Release, Wheel]) -> None:
    properties = _schema(wheels)["properties"]
    # int, then Decimal (a decimal string on the wire).
    assert properties["amount"]["type"] == ["null", "integer", "string"]
    assert properties["customer"] == {"type": ["null", "object", "string"],
                                      "additionalProperties": True,
                                      "description": "The customer."}
    assert properties["status"]["type"] == ["null", "string"]
    assert "enum" not in properties["status"]
    assert properties["metadata"] == {"type": ["null", "object"], "additionalProperties": True}
    assert properties["tags"] == {"type": ["null", "array"], "items": {"type": ["null", "string"]}}
    assert properties["deleted"]["type"] == ["null", "boolean"]


def test_added_and_removed_fields_are_dated(wheels: dict[Release, Wheel]) -> None:
    properties = _schema(wheels)["properties"]
    assert properties["parent"]["description"] == "The parent.\n\nAdded in 2025-03-31.basil."
    # A Python keyword is renamed in the SDK (from_); the record has Stripe's name.
    assert properties["from"]["description"] == "Where from.\n\nRemoved in 2025-03-31.basil."
    # The newest docstring wins; a field of every release is not dated.
    assert properties["amount"]["description"] == "The amount, newer."


def test_nested_classes_merge_and_are_dated_against_their_object(
        wheels: dict[Release, Wheel]) -> None:
    discount = _schema(wheels)["properties"]["discount"]["properties"]
    assert discount["coupon"]["description"] == "Removed in 2025-03-31.basil."
    assert discount["coupon"]["properties"]["percent_off"] == {"type": ["null", "number"]}
    source = discount["source"]
    assert source["description"] == "Added in 2025-03-31.basil."
    assert source["properties"]["coupon"] == {"type": ["null", "object", "string"],
                                              "additionalProperties": True}
    assert "description" not in source["properties"]["type"]


def test_an_embedded_resource_is_described_one_level_down_only(
        wheels: dict[Release, Wheel]) -> None:
    lines = _schema(wheels)["properties"]["lines"]
    assert set(lines["properties"]) == {"object", "data", "has_more", "url"}
    line = lines["properties"]["data"]["items"]
    assert set(line["properties"]) == {"amount", "widget"}
    # The widget inside the line is a resource two levels down (and a cycle): any object.
    assert line["properties"]["widget"] == {"type": ["null", "object"],
                                            "additionalProperties": True}


def test_event_types_carry_the_release_that_introduced_them(
        wheels: dict[Release, Wheel]) -> None:
    assert read_event_types(wheels) == {"widget.created": "2024-06-20",
                                        "widget.updated": "2024-06-20",
                                        "widget.overpaid": "2025-03-31.basil"}


@pytest.mark.parametrize("present, note", [
    ({"a", "b", "c"}, None),
    ({"b", "c"}, "Added in b."),
    ({"a"}, "Removed in b."),
    ({"b"}, "Added in b; removed in c."),
    ({"a", "c"}, "Removed in b; added again in c."),
])
def test_presence_notes(present: set[str], note: str | None) -> None:
    assert presence_note(present, ["a", "b", "c"]) == note
