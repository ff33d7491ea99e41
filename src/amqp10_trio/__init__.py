"""amqp10_trio: the AMQP 1.0 client and server API on trio.

A thin adapter over the sans-IO core in ``amqp10_proto``; it holds no protocol
state. The connection API lands with the adapters issue.
"""

__all__: list[str] = []
