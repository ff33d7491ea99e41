"""Fixed-width binary layouts and time constants shared by the encoder and decoder."""

from __future__ import annotations

import datetime as _dt
import struct

__all__ = ["EPOCH", "S_H", "S_I", "S_II", "S_Q", "S_d", "S_f", "S_h", "S_i", "S_q", "UTC"]

# 1.6: AMQP numbers are big-endian (network byte order).
S_H = struct.Struct(">H")
S_I = struct.Struct(">I")
S_Q = struct.Struct(">Q")
S_h = struct.Struct(">h")
S_i = struct.Struct(">i")
S_q = struct.Struct(">q")
S_f = struct.Struct(">f")
S_d = struct.Struct(">d")
S_II = struct.Struct(">II")

UTC = _dt.timezone.utc
#: 1.6.17: timestamps count milliseconds from the Unix epoch.
EPOCH = _dt.datetime(1970, 1, 1, tzinfo=UTC)
