"""The embedded broker's address space: in-memory FIFO queues and who consumes them.

No I/O and no protocol here: a :class:`Queue` holds messages in arrival order and
hands them round robin to :class:`Consumer` objects (the broker's outgoing links)
that say when they can take one. A message given back (released, modified, or
unsettled when its link went) returns to its original place in the order, by its
sequence number. A queue holds at most ``max_depth`` messages: :meth:`Queue.put`
refuses the next one, and the publisher's link says so. The :class:`Router` maps
addresses to queues, creates them on first use, and makes and deletes the dynamic
nodes of 3.5.3.
"""

from __future__ import annotations

import bisect
import itertools
import uuid
from collections import deque
from typing import Protocol

from amqp10_proto import Message

from ._selector import Selector

__all__ = ["DYNAMIC_PREFIX", "Consumer", "Entry", "Node", "Queue", "Router"]

#: Every dynamic node's address starts so; one that no longer exists is not re-created.
DYNAMIC_PREFIX = "amqp10-dynamic-"


class Entry:
    """One message in a queue (or out on a link), with its place in the queue's order."""

    __slots__ = ("_size", "excluded", "message", "message_format", "seq")

    def __init__(self, seq: int, message: Message, message_format: int = 0) -> None:
        self.seq = seq
        self.message = message
        #: The transfer's message-format (2.7.5), passed on as it came.
        self.message_format = message_format
        #: Consumers it must not go to again (3.4.5: modified, undeliverable-here).
        self.excluded: set[int] | None = None
        self._size: int | None = None

    @property
    def size(self) -> int:
        """The encoded size in bytes (measured once, on first need)."""
        if self._size is None:
            self._size = sum(map(len, self.message.encode_parts()))
        return self._size

    def changed(self) -> None:
        """The message was edited (a header or annotations): measure it again when needed."""
        self._size = None


class Consumer(Protocol):
    """An outgoing link as the queue sees it."""

    @property
    def key(self) -> int: ...  # unique while the link lives (for undeliverable-here)

    def ready(self) -> bool: ...  # credit, window, and a transport that is not full

    def give(self, entry: Entry) -> bool: ...  # send it; False leaves it in the queue

    def settle_drain(self, queue: Queue) -> None: ...  # 2.6.7: finish a drain if due

    def node_deleted(self, queue: Queue) -> None: ...  # its queue was deleted: detach

    @property
    def selector(self) -> Selector | None: ...  # its selector filter (3.5.1), if any


def _may_have(consumer: Consumer, key: int, entry: Entry) -> bool:
    """Not excluded from it (3.4.5 undeliverable-here), and its selector matches; messages
    it may not have stay queued for the other consumers."""
    if entry.excluded is not None and key in entry.excluded:
        return False
    selector = consumer.selector
    return selector is None or selector.matches(entry.message)


class Node(Protocol):
    """A link that ends at a queue and must hear if the queue is deleted."""

    def node_deleted(self, queue: Queue) -> None: ...


class Queue:
    """A FIFO of messages at one address, served round robin to its consumers."""

    def __init__(self, address: str, *, dynamic: bool = False,
                 max_depth: int | None = None) -> None:
        self.address = address
        self.dynamic = dynamic
        #: The most messages it holds; None: no limit. Messages given back (requeued)
        #: always return, so the depth may pass it by what consumers held.
        self.max_depth = max_depth
        self.deleted = False
        self._entries: deque[Entry] = deque()
        self._seqs: deque[int] = deque()  # the entries' seqs, for bisect (kept in step)
        self._seq = itertools.count()
        self.consumers: list[Consumer] = []
        #: Links that send to this queue by its address (not the relay).
        self.publishers: set[Node] = set()
        self._dispatching = False

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return (f"<Queue {self.address!r} {len(self._entries)} message(s), "
                f"{len(self.consumers)} consumer(s)>")

    @property
    def idle(self) -> bool:
        """Empty, and no link uses it: forgetting it changes nothing anyone can see."""
        return not self._entries and not self.consumers and not self.publishers

    @property
    def full(self) -> bool:
        """Whether :meth:`put` would refuse a message now (``max_depth`` reached)."""
        return self.max_depth is not None and len(self._entries) >= self.max_depth

    def put(self, message: Message, message_format: int = 0) -> bool:
        """Queue a new message at the back and try to hand it out; False if the queue is full."""
        if self.full:
            return False
        entry = Entry(next(self._seq), message, message_format)
        self._entries.append(entry)
        self._seqs.append(entry.seq)
        self.dispatch()
        return True

    def requeue(self, entries: list[Entry]) -> None:
        """Give back messages that went out: each returns to its original place in the order."""
        for entry in entries:
            self._insert(entry)
        self.dispatch()

    def _insert(self, entry: Entry) -> None:
        seqs = self._seqs
        if not seqs or entry.seq < seqs[0]:
            self._entries.appendleft(entry)
            seqs.appendleft(entry.seq)
        elif entry.seq > seqs[-1]:
            self._entries.append(entry)
            seqs.append(entry.seq)
        else:
            at = bisect.bisect_left(seqs, entry.seq)
            self._entries.insert(at, entry)
            seqs.insert(at, entry.seq)

    def _take_for(self, consumer: Consumer) -> Entry | None:
        """The first message this consumer may have, taken out of the queue."""
        entries = self._entries
        key = consumer.key
        for i, entry in enumerate(entries):
            if _may_have(consumer, key, entry):
                del entries[i]
                del self._seqs[i]
                return entry
        return None

    def peek(self, from_seq: int, n: int) -> list[Entry]:
        """Up to ``n`` queued messages from sequence number ``from_seq`` on, in order,
        left in the queue (a management peek)."""
        return list(itertools.islice((e for e in self._entries if e.seq >= from_seq), n))

    def has_for(self, consumer: Consumer) -> bool:
        """Whether a message is waiting that this consumer may have."""
        key = consumer.key
        return any(_may_have(consumer, key, e) for e in self._entries)

    def add_consumer(self, consumer: Consumer) -> None:
        self.consumers.append(consumer)
        self.dispatch()

    def remove_consumer(self, consumer: Consumer) -> None:
        if consumer in self.consumers:
            self.consumers.remove(consumer)

    def dispatch(self) -> None:
        """Hand out messages round robin to the consumers that can take one now."""
        if self._dispatching or self.deleted:
            return  # a consumer's send called back in here: the outer loop goes on
        self._dispatching = True
        try:
            consumers = self.consumers
            progress = True
            while self._entries and progress:
                progress = False
                for i, consumer in enumerate(consumers):
                    if not consumer.ready():
                        continue
                    entry = self._take_for(consumer)
                    if entry is None:
                        continue
                    # Round robin: whoever got one goes to the back of the line.
                    del consumers[i]
                    consumers.append(consumer)
                    if not consumer.give(entry):
                        self._insert(entry)
                    progress = True
                    break
            for consumer in list(consumers):
                consumer.settle_drain(self)
        finally:
            self._dispatching = False

    def drop_all(self) -> int:
        """Forget every message (the node is being deleted); how many there were."""
        n = len(self._entries)
        self._entries.clear()
        self._seqs.clear()
        return n


class Router:
    """The broker's addresses: a queue per address, made on first use, and dynamic nodes.

    Every queue it makes holds at most ``max_depth`` messages (None: no limit).
    """

    def __init__(self, *, max_depth: int | None = None) -> None:
        self.queues: dict[str, Queue] = {}
        self.max_depth = max_depth

    def resolve(self, address: str) -> Queue | None:
        """The queue at ``address``, created if need be; None for a dynamic node that is gone."""
        queue = self.queues.get(address)
        if queue is None:
            if address.startswith(DYNAMIC_PREFIX):
                return None  # 3.5.3: a dynamic node lives only as long as its link
            queue = self.queues[address] = Queue(address, max_depth=self.max_depth)
        return queue

    def create_dynamic(self) -> Queue:
        """A new node with a unique address (3.5.3: dynamic), deleted with its link."""
        address = f"{DYNAMIC_PREFIX}{uuid.uuid4().hex}"
        queue = self.queues[address] = Queue(address, dynamic=True, max_depth=self.max_depth)
        return queue

    def delete(self, queue: Queue) -> None:
        """Delete a node: its messages go, and every other link on it is told."""
        if self.queues.get(queue.address) is queue:
            del self.queues[queue.address]
        queue.deleted = True
        queue.drop_all()
        for node in list(queue.publishers):
            node.node_deleted(queue)
        for consumer in list(queue.consumers):
            consumer.node_deleted(queue)
        queue.consumers.clear()
        queue.publishers.clear()

    def forget_if_idle(self, queue: Queue) -> None:
        """Drop a static queue nobody uses and that holds nothing (it comes back on first use)."""
        if not queue.dynamic and queue.idle and self.queues.get(queue.address) is queue:
            del self.queues[queue.address]
