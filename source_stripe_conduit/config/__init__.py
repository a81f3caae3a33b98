"""Configuration: the spec users fill in, and its validation into an immutable ``Config``.

Both come from one table, ``FIELDS`` (fields.py): a frozen row per setting holds its spec property
(title, description, bounds, choices, default, order) and names its parser (parsers.py), so a
bound is written once. Every invalid value becomes a ``ConfigError`` that names the field and what
is wrong; the source turns it into an Airbyte ``config_error`` (a failed ``check``, or a TRACE
error on ``discover`` and ``read``). Conduit's field names are accepted too, so a Conduit
configuration moves over as is.
"""

from source_stripe_conduit.config.fields import BY_NAME, FIELDS, SPEC
from source_stripe_conduit.config.model import (
    ALIASES,
    DEFAULT_API_BASE,
    DEFAULT_BATCH_SIZE,
    DEFAULT_LAG_SECONDS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_STRIPE_VERSION,
    DEFAULT_TIMEOUT_SECONDS,
    ENDPOINT_REQUESTS_PER_SECOND,
    LIVE_REQUESTS_PER_SECOND,
    TEST_REQUESTS_PER_SECOND,
    Config,
    ConfigError,
    Field,
)
from source_stripe_conduit.config.parse import CONFIG_ERROR_KEY, normalize, parse_config, prepare
from source_stripe_conduit.config.parsers import _PARSERS

__all__ = [
    "ALIASES", "BY_NAME", "CONFIG_ERROR_KEY", "DEFAULT_API_BASE", "DEFAULT_BATCH_SIZE",
    "DEFAULT_LAG_SECONDS", "DEFAULT_MAX_RETRIES", "DEFAULT_STRIPE_VERSION",
    "DEFAULT_TIMEOUT_SECONDS", "ENDPOINT_REQUESTS_PER_SECOND", "FIELDS",
    "LIVE_REQUESTS_PER_SECOND", "SPEC", "TEST_REQUESTS_PER_SECOND", "_PARSERS", "Config",
    "ConfigError", "Field", "normalize", "parse_config", "prepare",
]
