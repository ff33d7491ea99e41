"""The AMQP 1.0 frame bodies: performatives (2.7) and SASL frames (5.3.3).

Most applications never touch these; they are public for those who build on
the protocol core (brokers, routers, tracing tools).
"""

from ._performatives import *  # noqa: F403
from ._performatives import __all__ as _all

__all__ = list(_all)
