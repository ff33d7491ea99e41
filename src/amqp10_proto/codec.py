"""Encode and decode single AMQP 1.0 values (``encode(value)``, ``decode(data)``)."""

from ._codec import DEFAULT_MAX_DEPTH, decode, decode_one, encode

__all__ = ["DEFAULT_MAX_DEPTH", "decode", "decode_one", "encode"]
