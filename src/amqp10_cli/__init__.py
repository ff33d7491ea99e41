"""The ``amqp10`` command and the embedded in-memory test broker, built on the adapters."""

from __future__ import annotations

__all__: list[str] = []
