"""The AMQP 1.0 value codec (types.xml, section 1.6): one place to import it from.

Encoding lives in ``_encoder`` and decoding in ``_decoder``; this module puts
their public functions (and the internals the tests poke at) side by side.
"""

from ._decoder import (
    _DECODERS,
    _DESCRIBED,
    DEFAULT_MAX_DEPTH,
    _as_bytes,
    _d_invalid,
    decode,
    decode_one,
    ms_to_datetime,
    register_described,
    skip_value,
)
from ._encoder import encode, register_encoder, timestamp_ms

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "_DECODERS",
    "_DESCRIBED",
    "_as_bytes",
    "_d_invalid",
    "decode",
    "decode_one",
    "encode",
    "ms_to_datetime",
    "register_described",
    "register_encoder",
    "skip_value",
    "timestamp_ms",
]
