"""Fixtures of the link-recovery stories: the embedded broker behind a fault proxy
(shared with tests/resilience)."""

from __future__ import annotations

from typing import Any

from ..resilience.test_reconnect_sync import broker, proxy

__all__ = ["DURABLE", "broker", "proxy"]

#: What makes a link resumable (2.6.13): a durable terminus that never expires, and
#: rcv-settle-mode second so that each side keeps a delivery until the other settled it.
DURABLE: dict[str, Any] = dict(durable="unsettled-state", expiry_policy="never",
                               rcv_settle_mode="second")
