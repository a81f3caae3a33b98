"""Stripe API versions: which ones exist, and which shape of the objects each one renders.

Stripe versions its API by date. "Starting with the 2024-09-30.acacia release, Stripe follows a
new API release process where we release new API versions monthly with no breaking changes.
Twice a year, we issue a new major release (for example, Basil) that starts with an API version
containing breaking changes"; "Each monthly release includes only backward-compatible changes,
and uses the same name as the last major release". So a version renders objects as the major
release it belongs to; the emulator models the breaking differences of basil and clover (see
``render.py``), so every version renders one of three shapes: 2024-06-20's (the canonical
shape objects are stored in), basil's or clover's.

Versions before 2024-06-20 render in 2024-06-20's shape: their own differences are not
modelled. acacia's breaking changes touch nothing the emulator serves (its typed SDK, stripe
11.x, only adds fields to the objects served here), and dahlia and endive remove nothing from
them either (stripe 15.0.0 and 16.x), so acacia renders as 2024-06-20 and dahlia and endive
as clover.
"""

from __future__ import annotations

import datetime
import functools
import re
from dataclasses import dataclass

DEFAULT_VERSION = "2024-06-20"
"""The accounts' default version unless configured (the emulator's data is 2024-06-20's)."""

CANONICAL = "2024-06-20"
BASIL = "basil"
CLOVER = "clover"
SHAPES = (CANONICAL, BASIL, CLOVER)
"""The shapes a version renders objects in, oldest first."""

# Each named release with the date of its first version (the breaking one) and the shape its
# versions render. The dates are those Stripe's typed Python SDK pins at each major: 11.0
# 2024-09-30.acacia, 12.0 2025-03-31.basil, 13.0 2025-09-30.clover, 15.0 2026-03-25.dahlia,
# 16.0 2026-09-30.endive.
RELEASES: tuple[tuple[str, datetime.date, str], ...] = (
    ("acacia", datetime.date(2024, 9, 30), CANONICAL),
    ("basil", datetime.date(2025, 3, 31), BASIL),
    ("clover", datetime.date(2025, 9, 30), CLOVER),
    ("dahlia", datetime.date(2026, 3, 25), CLOVER),
    ("endive", datetime.date(2026, 9, 30), CLOVER),
)
FIRST_NAMED = RELEASES[0][1]
_PATTERN = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:\.([a-z]+))?$")


class VersionError(ValueError):
    """A Stripe-Version Stripe would refuse."""


def invalid_message(version: str) -> str:
    # Stripe's wording, as its SDK users quote it ("Invalid Stripe API version: 2019-2-19",
    # stripe/stripe-java#682; "Invalid Stripe API version: 2022-08-02", pay-rails/pay#680).
    return f"Invalid Stripe API version: {version}"


@dataclass(frozen=True)
class Version:
    text: str
    """As given (and as the answer's Stripe-Version header repeats it)."""
    date: datetime.date
    release: str | None
    """acacia, basil...; None before 2024-09-30."""
    shape: str
    """The shape objects render in: ``CANONICAL``, ``BASIL`` or ``CLOVER``."""


@functools.lru_cache(maxsize=256)
def parse(text: str) -> Version:
    """The version ``text`` names, or ``VersionError``.

    A version is a calendar date, and from 2024-09-30 on the name of the release it belongs to
    (``2025-03-31.basil``), as Stripe spells every version since acacia. Stripe also refuses a
    well-formed date that is not one of its versions (2022-08-02); the emulator does not keep
    Stripe's full list of dates, so it only refuses what is malformed, a release name that is
    not the one of its date, a missing or unexpected name, and dates before Stripe's first
    version (2011-01-01). Whether Stripe accepts a basil date without ``.basil`` is not
    verified: the emulator refuses it, so a client never relies on it.
    """
    match = _PATTERN.match(text)
    if match is None:
        raise VersionError(invalid_message(text))
    year, month, day, name = match.groups()
    try:
        date = datetime.date(int(year), int(month), int(day))
    except ValueError:
        raise VersionError(invalid_message(text)) from None
    if date < datetime.date(2011, 1, 1):
        raise VersionError(invalid_message(text))
    release = None
    shape = CANONICAL
    for release_name, first, release_shape in RELEASES:
        if date >= first:
            release, shape = release_name, release_shape
    if name != release:
        raise VersionError(invalid_message(text))
    return Version(text, date, release, shape)


def shape_of(text: str) -> str:
    """The shape ``text`` renders in (a version already accepted)."""
    return parse(text).shape


def is_valid(text: object) -> bool:
    if not isinstance(text, str):
        return False
    try:
        parse(text)
    except VersionError:
        return False
    return True
