"""The defaults amqp10 uses, as public constants, with go-amqp's where they differ.

Each value here is what the adapters' ``open_connection`` / ``open_session`` /
``open_sender`` / ``open_receiver`` (and the core, where it has one) take when the
argument is left out; ``tests/filters/test_defaults.py`` checks every signature against
them. A ``GO_AMQP_*`` constant is the seed's (go-amqp's) value where ours is another,
so code ported from Go can ask for the old behaviour by name. Sizes are bytes,
times are seconds. They are ``Final``: the settle modes type as their literals, so a
signature can default to them.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "DEFAULT_CHANNEL_MAX",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_HANDLE_MAX",
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_INCOMING_WINDOW",
    "DEFAULT_LINK_CREDIT",
    "DEFAULT_MAX_FRAME_SIZE",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "DEFAULT_OUTGOING_WINDOW",
    "DEFAULT_RECEIVER_SETTLE_MODE",
    "DEFAULT_SENDER_SETTLE_MODE",
    "DEFAULT_TIMEOUT",
    "GO_AMQP_LINK_CREDIT",
    "GO_AMQP_MAX_MESSAGE_SIZE",
    "GO_AMQP_OUTGOING_WINDOW",
    "GO_AMQP_SENDER_SETTLE_MODE",
]

# -- connection (2.7.1 open) --------------------------------------------------------------
#: The largest frame we accept (open.max-frame-size); go-amqp's ``MaxFrameSize`` too.
DEFAULT_MAX_FRAME_SIZE: Final = 65536
#: The highest channel number (open.channel-max): 65536 sessions, go-amqp's ``MaxSessions``.
DEFAULT_CHANNEL_MAX: Final = 65535
#: The adapters' idle timeout (2.4.5; the peer is asked for a frame at least this often).
#: go-amqp's ``IdleTimeout`` is one minute too. The core's ``Connection`` has none unless given.
DEFAULT_IDLE_TIMEOUT: Final = 60.0
#: The adapters' limit on TCP connect, TLS and the AMQP/SASL handshake together.
DEFAULT_CONNECT_TIMEOUT: Final = 10.0
#: The adapters' default for each later blocking call (``timeout=None`` in a call means
#: this). go-amqp has no such default: a call waits on its ``context.Context``; its
#: ``WriteTimeout`` (30 s) bounds each socket write only.
DEFAULT_TIMEOUT: Final = 30.0

# -- session (2.7.2 begin) ----------------------------------------------------------------
#: Transfers the peer may send before we widen the window; go-amqp's window is 5000 too.
DEFAULT_INCOMING_WINDOW: Final = 5000
#: Transfers we may send before the peer widens our window: as large as a signed 32-bit
#: window goes, so the peer's incoming window alone paces us. go-amqp sends 5000.
DEFAULT_OUTGOING_WINDOW: Final = (1 << 31) - 1
GO_AMQP_OUTGOING_WINDOW: Final = 5000
#: The highest link handle (begin.handle-max); go-amqp's ``MaxLinks`` is the same.
DEFAULT_HANDLE_MAX: Final = 0xFFFFFFFF

# -- links (2.7.3 attach, 2.6.7 flow) --------------------------------------------------------
#: A receiver's credit, refilled as messages are consumed. go-amqp's ``Credit`` is 1: one
#: message in flight per round trip. ``credit=GO_AMQP_LINK_CREDIT`` asks for that; 0 is
#: manual credit (go-amqp's -1).
DEFAULT_LINK_CREDIT: Final = 100
GO_AMQP_LINK_CREDIT: Final = 1
#: The largest message a receiver takes (attach.max-message-size): 100 MiB, Azure Service
#: Bus premium's limit, so a hostile peer cannot grow our memory without bound. go-amqp's
#: ``MaxMessageSize`` is 0, no limit: ``max_message_size=None`` asks for that.
DEFAULT_MAX_MESSAGE_SIZE: Final = 100 << 20
GO_AMQP_MAX_MESSAGE_SIZE: Final = None
#: A sender's settle mode (2.8.2): "unsettled", ``send`` returns with the peer's outcome.
#: go-amqp's sender is ``ModeMixed`` (unsettled unless the message says otherwise).
DEFAULT_SENDER_SETTLE_MODE: Final = "unsettled"
GO_AMQP_SENDER_SETTLE_MODE: Final = "mixed"
#: A receiver's settle mode (2.8.3): "first", as go-amqp's ``ModeFirst``.
DEFAULT_RECEIVER_SETTLE_MODE: Final = "first"
