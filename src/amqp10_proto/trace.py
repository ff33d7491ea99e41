"""The frame trace (``AMQP10_TRACE=1``): every frame in and out, decoded, one line each.

It parses a copy of the bytes the adapter moves, with the core's value decoder;
it holds no protocol state and is off unless the variable is set. The adapters
import it; ``import amqp10_proto`` does not, since ``logging`` brings in
``threading`` and the core itself stays free of both.
SASL frames that carry secrets (sasl-init's initial-response, sasl-response)
are logged without them.
"""

from __future__ import annotations

import logging
import os
import struct
import sys

from ._decoder import decode_one

__all__ = ["FrameTracer", "trace_enabled", "trace_logger"]

_HDR = struct.Struct(">IBBH")
_SECRET_FIELDS = {"SaslInit": ("initial_response",), "SaslResponse": ("response",),
                  "SaslChallenge": ("challenge",)}
trace_logger = logging.getLogger("amqp10.trace")


def trace_enabled() -> bool:
    """True when ``AMQP10_TRACE`` is set to something other than empty or 0."""
    on = os.environ.get("AMQP10_TRACE", "") not in ("", "0")
    if on and not trace_logger.hasHandlers():
        # Asked for a trace but logging is not configured: print it on stderr.
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
        trace_logger.addHandler(handler)
    if on and trace_logger.getEffectiveLevel() > logging.DEBUG:
        trace_logger.setLevel(logging.DEBUG)
    return on


def describe(perf: object) -> str:
    """One performative, its secret fields replaced by their length."""
    name = type(perf).__name__
    secret = _SECRET_FIELDS.get(name)
    if secret is None:
        return repr(perf)
    shown = []
    for field in getattr(perf, "_FIELDS", ()):
        value = getattr(perf, field, None)
        if field in secret and value is not None:
            shown.append(f"{field}=<{len(value)} bytes hidden>")
        else:
            shown.append(f"{field}={value!r}")
    return f"{name}({', '.join(shown)})"


class FrameTracer:
    """Cuts one direction's byte stream into headers and frames and logs each."""

    def __init__(self, label: str, direction: str) -> None:
        self.label = label
        self.direction = direction
        self._buf = bytearray()

    def feed(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        pos = 0
        try:
            while len(buf) - pos >= 8:
                if buf[pos:pos + 4] == b"AMQP":
                    self._log(f"header {bytes(buf[pos:pos + 8]).hex(' ')}")
                    pos += 8
                    continue
                size, doff, ftype, channel = _HDR.unpack_from(buf, pos)
                if size < 8 or doff < 2:
                    self._log(f"unparseable bytes ({len(buf) - pos}); trace stops here")
                    pos = len(buf)
                    break
                if len(buf) - pos < size:
                    break
                body = pos + doff * 4
                end = pos + size
                kind = "sasl " if ftype == 1 else ""
                if body >= end:
                    self._log(f"[{channel}] empty frame (heartbeat)")
                else:
                    frame = bytes(buf[body:end])
                    try:
                        perf, after = decode_one(frame, 0)
                        extra = f" + {len(frame) - after} bytes payload" if after < len(frame) else ""
                        self._log(f"[{channel}] {kind}{describe(perf)}{extra}")
                    except Exception as exc:  # a trace must never break the connection
                        self._log(f"[{channel}] undecodable frame of {size} bytes: {exc}")
                pos = end
        finally:
            del buf[:pos]

    def _log(self, text: str) -> None:
        trace_logger.debug("%s %s %s", self.label, self.direction, text)
