"""The ``amqp10`` command and the embedded in-memory test broker, built on the adapters."""

from __future__ import annotations

from ._broker import Broker, RunningBroker, start_broker

__all__ = ["Broker", "RunningBroker", "start_broker"]
