"""Who waits for what on a blocking connection, and whom an event wakes.

Every blocking call waits for a condition of its own (issue 12): a send's outcome on
its delivery, a receive on its receiver, a ``send_nowait`` handle on that handle, a
pre-settled send on the write progress, a send that finds its sender's queue full on
that sender's room; everything rarer (begin, attach, detach, drain, close,
reconnect) on the connection's general condition. An event wakes
only the waiters of what it changed, O(1) work however many threads wait: a
disposition wakes its delivery's waiter, a message its receiver's waiters; only
the rare events (an endpoint or the connection ending, a reconnect) wake everyone.
The I/O thread wakes the threads only once it let go of the lock, so that they do
not wake to wait for it again.

A caller that is the connection's only waiter reads the socket itself ("drives")
instead of waiting for the I/O thread to read and wake it: one thread hand-off less
per round trip (issue 12, item 5). The I/O thread then leaves the reading to it
("parked": it still writes and keeps the core's deadlines), and reads again once no
caller has driven for ``GRACE`` seconds, or at once when a caller must wait
without driving. A caller drives for ``DRIVE_MAX`` at most, then waits like any
other: an idle connection's wake-ups stay the I/O thread's few. Whoever reads does
it under the lock, one read at a time.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Callable, Hashable
from threading import get_ident
from typing import Any

from amqp10_proto import Connection as CoreConnection
from amqp10_proto import CreditGranted, DeliveryUpdated, MessageReceived

__all__ = ["GRACE", "WRITTEN", "EventTap", "Waiting"]

#: The key pre-settled sends wait on: woken when the socket took more bytes.
WRITTEN = object()
#: After a caller last drove the reading, the I/O thread leaves the socket to callers
#: this long (s) before it reads again itself: the next round trip's caller drives
#: meanwhile, and the I/O thread is not woken by every message.
GRACE = 0.02
#: A caller reads for itself this long (s) at most, then waits for the I/O thread like
#: any waiter: a reply that takes longer does not need the hand-off saved, and a
#: receive blocked for minutes leaves an idle connection's reading (and its wake-ups)
#: to the I/O thread alone.
DRIVE_MAX = 0.05


class EventTap:
    """The core as ``dispatch_events`` sees it, with the events that wake few on the way.

    A disposition (DeliveryUpdated, which no adapter object takes) wakes its
    delivery's waiters here and goes no further; a message and a credit grant go
    on to their link (which wakes whom they concern); any other event marks
    ``general``: everyone waiting looks again. Anything else is the core's.
    """

    __slots__ = ("_core", "_next", "_waits", "general")

    def __init__(self, core: CoreConnection, waits: Waiting) -> None:
        self._core = core
        self._next = core.next_event
        self._waits = waits  # its _delivery_updated wakes each updated delivery's waiters
        self.general = False

    def next_event(self) -> Any:
        """The core's next event for dispatch, its dispositions handled here."""
        event: Any = self._next()
        kind = type(event)
        if kind is DeliveryUpdated:
            waits = self._waits
            # Nobody waits on the condition, and nobody reads for a wait but this thread
            # (which looks at its own wait once the read is over; a send_many waits for
            # room apart, on its own condition): nobody to wake, no call per delivery of
            # a ranged disposition (issue 12 item 2).
            driver = waits._driver
            wake = waits._waiting or (driver and driver != get_ident())
            while kind is DeliveryUpdated:
                if wake:
                    waits._delivery_updated(event.delivery)
                event = self._next()
                kind = type(event)
        if kind is not MessageReceived and kind is not CreditGranted and event is not None:
            self.general = True
        return event

    def __getattr__(self, name: str) -> Any:
        return getattr(self._core, name)  # close(), transport_failed() ... as the core's


class Waiting:
    """The connection's waits and wake-ups (a part of :class:`Connection`; lock held in
    every method)."""

    _lock: threading.RLock
    _cond: threading.Condition
    _sock: socket.socket
    _thread: threading.Thread
    _dead: bool
    _stop: bool
    _reconnecting: bool

    def _init_waiting(self, lock: threading.RLock) -> None:
        self._lock = lock
        # The rare waits (begin, attach, detach, close ...) wait here.
        self._cond = threading.Condition(lock)
        # The frequent ones: each waiting thread's own lock, under what it waits for.
        self._keyed: dict[Hashable, list[threading.Lock]] = {}
        self._waiting = 0  # threads blocked in _wait_until (not driving)
        # Set while the I/O thread holds the lock: the waiters to wake once it lets go.
        self._deferred: list[threading.Lock] | None = None
        # A caller reading for its own wait (its thread ident; 0: none) and its key; the
        # I/O thread leaves the reading to callers while ``_parked``.
        self._driver = 0
        self._driver_key: Hashable = None
        self._drove_at = float("-inf")  # when a caller last stopped driving
        self._drive_until = 0.0  # when the driving caller stops driving at the latest
        self._parked = False
        self._poke_r, self._poke_w = socket.socketpair()  # wakes a driving caller
        self._poke_r.setblocking(False)
        self._poke_w.setblocking(False)

    def _read(self) -> bool:
        raise NotImplementedError

    def _wake(self) -> None:
        raise NotImplementedError

    # -- waiting --------------------------------------------------------------------------
    def _wait_until(self, pred: Callable[[], object], end: float | None,
                    key: Hashable = None) -> bool:
        """Wait (holding the lock) until ``pred()``; False if ``end`` passed first.

        ``key``: what the wait is about (a delivery, a receiver ...), woken by
        ``_notify(key)``, or a function giving it (as ``_rekey`` moves it); None: the
        general condition, woken by ``_notify_everyone``.
        A keyed wait with no other waiter drives the reading itself (see the module).
        """
        if pred():
            return True
        if key is not None and not self._driver and not self._waiting and end is not None:
            done = self._drive(pred, end, key)
            if done is not None:
                return done
        self._waiting += 1
        if self._parked and not self._driver:
            self._unpark()  # nobody reads for us: the I/O thread must
        try:
            if key is None:
                return self._wait_general(pred, end)
            return self._wait_keyed(pred, end, key)
        finally:
            self._waiting -= 1

    def _wait_general(self, pred: Callable[[], object], end: float | None) -> bool:
        cond = self._cond
        while not pred():
            if end is None:
                cond.wait()
                continue
            remaining = end - time.monotonic()
            if remaining <= 0:
                return False
            cond.wait(remaining)
        return True

    def _wait_keyed(self, pred: Callable[[], object], end: float | None, key: Hashable) -> bool:
        cond: Any = self._cond  # its lock is released however deep it is held, as wait() does
        keyed = self._keyed
        while not pred():
            remaining = -1.0  # (no end)
            if end is not None:
                remaining = end - time.monotonic()
                if remaining <= 0:
                    return False
            waiter = threading.Lock()
            waiter.acquire()
            keyed.setdefault(key() if callable(key) else key, []).append(waiter)
            saved = cond._release_save()
            try:
                waiter.acquire(True, remaining)  # until _notify(key) releases it
            finally:
                cond._acquire_restore(saved)
                waiters = keyed.get(key() if callable(key) else key)
                if waiters is not None and waiter in waiters:  # not woken: timed out
                    waiters.remove(waiter)
                    if not waiters:
                        del keyed[key() if callable(key) else key]
        return True

    # -- waking ---------------------------------------------------------------------------
    def _notify(self, key: Hashable) -> None:
        """Wake the threads waiting on ``key``."""
        waiters = self._keyed.pop(key, None)
        if waiters is not None:
            deferred = self._deferred
            if deferred is not None:
                deferred += waiters  # once the I/O thread lets go of the lock
            else:
                for waiter in waiters:
                    waiter.release()
        driving = self._driver_key
        if self._driver and (key is driving or callable(driving)):  # (a key that moves)
            self._poke()

    def _rekey(self, old: Hashable, new: Hashable) -> None:
        """The threads waiting on ``old`` wait on ``new`` from now on (not woken)."""
        waiters = self._keyed.pop(old, None)
        if waiters is not None:
            self._keyed.setdefault(new, []).extend(waiters)
            if self._driver and old is self._driver_key:
                self._driver_key = new

    def _notify_everyone(self) -> None:
        """A rare event (an endpoint or the connection ended, a reconnect): every waiter
        looks again."""
        self._cond.notify_all()
        for key in list(self._keyed):
            self._notify(key)
        if self._driver:
            self._poke()

    def _wake_deferred(self) -> None:
        """(I/O thread, the lock just let go) wake whom the last hold's events concern."""
        deferred, self._deferred = self._deferred, None
        if deferred:
            for waiter in deferred:
                waiter.release()

    def _delivery_updated(self, delivery: Any) -> None:
        """The peer updated ``delivery`` (a disposition): wake its waiters."""
        link = delivery.link.context
        if link is not None and (getattr(link, "_forward", None) or getattr(link, "_moved", None)):
            # After a reconnect a waiter may wait on the delivery this one stands for.
            self._notify_everyone()
        else:
            self._notify(delivery)

    # -- a caller reading for itself ---------------------------------------------------------
    def _poke(self) -> None:
        """Wake the driving caller from its ``select`` (unless it is this thread)."""
        if self._driver != threading.get_ident():
            with contextlib.suppress(OSError):  # full (a poke is pending) or closed
                self._poke_w.send(b"\0")

    def _unpark(self) -> None:
        """Have the I/O thread read the socket again, now."""
        self._drove_at = float("-inf")
        if self._parked:
            self._wake()

    def _drive(self, pred: Callable[[], object], end: float, key: Hashable) -> bool | None:
        """Wait for ``pred()`` reading the socket in this thread: True once it holds, False
        at ``end``; None after ``DRIVE_MAX``, or if the connection cannot be driven (any
        more): the caller waits for the I/O thread then."""
        me = threading.get_ident()
        if self._dead or self._reconnecting or self._stop or me == self._thread.ident:
            return None
        self._driver, self._driver_key = me, key
        until = self._drive_until = min(end, time.monotonic() + DRIVE_MAX)
        cond: Any = self._cond
        more = False  # the last read filled its buffer: read again without waiting
        poke_r = self._poke_r
        try:
            while True:
                if self._dead or self._reconnecting or self._stop:
                    return None
                if not more:
                    now = time.monotonic()
                    if now >= end:
                        return False
                    if now >= until:
                        return None  # long enough: the I/O thread reads from here on
                    remaining = until - now
                    sock = self._sock
                    saved = cond._release_save()
                    try:
                        ready, _, _ = select.select([sock, poke_r], [], [], remaining)
                    except (OSError, ValueError):
                        # Closed meanwhile, or a descriptor select() cannot take (>=
                        # FD_SETSIZE, 1024 on Linux, in a process with many files open):
                        # the I/O thread's selector reads instead. (Looping here spun
                        # until DRIVE_MAX with the I/O thread parked: 50 ms a wait.)
                        return None
                    finally:
                        cond._acquire_restore(saved)
                    if poke_r in ready:
                        with contextlib.suppress(OSError):
                            poke_r.recv(4096)
                    if sock not in ready or sock is not self._sock:
                        if pred():
                            return True
                        continue
                more = False
                if not self._dead:
                    more = self._read()
                if pred():
                    return True
        finally:
            self._driver, self._driver_key = 0, None
            self._drove_at = time.monotonic()
            if self._waiting or more:
                # Others wait, or the peer sends more than one read took (a stream, not
                # a round trip): the I/O thread reads on, beside this thread.
                self._unpark()
