"""Links (2.6): attach and detach, flow control by credit, deliveries and settlement.

A :class:`Sender` sends messages as transfers while it has link-credit; a
:class:`Receiver` grants credit and settles what arrives. The link holds its
half of 2.6.7's flow state (delivery-count, link-credit, drain) and its
unsettled deliveries; frames go out through its session.

Three modules hold them, each under the size one reads at once: what every link has
(``_linkbase``), the sending end (``_sender``) and the receiving end (``_receiver``);
this one gathers them.
"""

from ._linkbase import Link, check_delivery_tag, check_message_format, serial_diff, txn_state
from ._receiver import Receiver
from ._sender import Sender

__all__ = ["Link", "Receiver", "Sender", "check_delivery_tag", "check_message_format",
           "serial_diff", "txn_state"]
