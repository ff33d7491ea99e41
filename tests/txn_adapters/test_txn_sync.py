"""``with session.transaction() as txn:`` on the blocking adapter against the embedded
broker (part 4): the broker's queues say what a commit, a rollback, an exception, a
dropped connection did; each error of a transaction that cannot commit is typed."""

from __future__ import annotations

from typing import Any

import pytest

import amqp10_sync as amqp
from amqp10_cli import RunningBroker
from amqp10_proto import Message, Target
from amqp10_proto.errors import (
    TransactionError,
    TransactionRolledBack,
    TransactionTimeout,
)

from ..faultproxy import FaultProxy
from .common import (
    DEPTH,
    bodies,
    broker,
    eventually,
    full_broker,
    open_transactions,
    q,
    short_txn_timeout,
)

__all__ = ["broker", "full_broker", "q", "short_txn_timeout"]  # fixtures


@pytest.fixture
def session(broker: RunningBroker) -> Any:
    with amqp.open_connection(broker.url, timeout=10) as conn:
        yield conn.open_session()


def test_committed_sends_arrive_once_and_only_at_the_commit(
        broker: RunningBroker, session: amqp.Session, q: str) -> None:
    sender = session.open_sender(q)
    with session.transaction() as txn:
        for i in range(3):
            sender.send(Message(b"%d" % i), txn=txn)
        assert txn.status == "active"
        assert bodies(broker, q) == []  # 4.4.1: held until the discharge
    assert txn.status == "committed"
    assert bodies(broker, q) == [b"0", b"1", b"2"]
    receiver = session.open_receiver(q)
    assert [receiver.receive(timeout=5).body for _ in range(3)] == [b"0", b"1", b"2"]
    with pytest.raises(TimeoutError):
        receiver.receive(timeout=0.3)


def test_an_exception_rolls_back_and_goes_on(
        broker: RunningBroker, session: amqp.Session, q: str) -> None:
    sender = session.open_sender(q)
    with pytest.raises(LookupError, match="the application's"), session.transaction() as txn:
        sender.send(Message(b"never"), txn=txn)
        raise LookupError("the application's")
    assert txn.status == "rolled back"
    sender.send(Message(b"plain"))
    assert bodies(broker, q) == [b"plain"]
    assert open_transactions(broker) == 0


def test_a_message_consumed_in_a_rolled_back_transaction_comes_back(
        broker: RunningBroker, session: amqp.Session, q: str) -> None:
    session.open_sender(q).send(Message(b"m"))
    receiver = session.open_receiver(q, credit=1)
    msg = receiver.receive(timeout=5)
    with session.transaction() as txn:
        msg.accept(txn=txn)  # 4.4.2: applied only at the commit
        txn.rollback()
        assert txn.status == "rolled back"
    again = receiver.receive(timeout=5)
    assert again.body == b"m"
    with session.transaction() as txn:
        receiver.accept(again, txn=txn)
    assert txn.status == "committed"
    with pytest.raises(TimeoutError):
        receiver.receive(timeout=0.3)
    assert bodies(broker, q) == []


def test_explicit_commit_leaves_nothing_for_the_exit(
        broker: RunningBroker, session: amqp.Session, q: str) -> None:
    sender = session.open_sender(q)
    with pytest.raises(KeyError), session.transaction() as txn:
        sender.send(Message(b"kept"), txn=txn)
        txn.commit()
        raise KeyError("after the commit: nothing to roll back")
    assert txn.status == "committed"
    assert bodies(broker, q) == [b"kept"]
    with pytest.raises(TransactionError, match="committed already"):
        txn.commit()
    with pytest.raises(TransactionError, match="committed already"):
        txn.rollback()


def test_txn_id_says_when_a_transaction_takes_no_work(
        broker: RunningBroker, session: amqp.Session, q: str) -> None:
    sender = session.open_sender(q)
    txn = session.transaction()
    assert txn.status == "new"
    with pytest.raises(TransactionError, match="not declared yet"):
        _ = txn.txn_id
    with pytest.raises(TransactionError, match="not declared yet"):
        sender.send(Message(b"no"), txn=txn)
    with txn:
        assert isinstance(txn.txn_id, bytes) and txn.txn_id
    with pytest.raises(TransactionError, match="committed"):
        sender.send(Message(b"no"), txn=txn)
    with pytest.raises(TransactionError, match="entered already"):
        txn.__enter__()
    assert bodies(broker, q) == []
    with pytest.raises(ValueError):
        session.transaction(timeout=-1)


def test_one_controller_per_session_serves_many_transactions(
        broker: RunningBroker, session: amqp.Session, q: str) -> None:
    sender = session.open_sender(q)
    with session.transaction() as first:
        controller = session._txn_controller
        with session.transaction() as second:  # 4.5.7: multi-txns-per-ssn, one control link
            assert session._txn_controller is controller
            assert first.txn_id != second.txn_id
            sender.send(Message(b"first"), txn=first)
            sender.send(Message(b"second"), txn=second)
            second.rollback()
    with session.transaction():
        assert session._txn_controller is controller
    assert bodies(broker, q) == [b"first"]


def test_a_commit_the_broker_cannot_do_is_rolled_back(
        full_broker: RunningBroker, q: str) -> None:
    with amqp.open_connection(full_broker.url, timeout=10) as conn:
        session = conn.open_session()
        sender = session.open_sender(q)
        with pytest.raises(TransactionRolledBack) as caught, session.transaction() as txn:
            for i in range(DEPTH + 1):
                sender.send(Message(b"%d" % i), txn=txn)
        assert caught.value.condition == "amqp:transaction:rollback"
        assert "cannot take" in str(caught.value)
        assert txn.status == "failed"
        assert bodies(full_broker, q) == []
        with session.transaction() as txn:  # the session goes on
            sender.send(Message(b"fits"), txn=txn)
        assert bodies(full_broker, q) == [b"fits"]


@pytest.mark.usefixtures("short_txn_timeout")
def test_a_transaction_past_the_brokers_timeout(
        broker: RunningBroker, session: amqp.Session, q: str) -> None:
    sender = session.open_sender(q)
    with pytest.raises(TransactionTimeout) as caught, session.transaction() as txn:
        sender.send(Message(b"late"), txn=txn)
    assert isinstance(caught.value, TransactionRolledBack)
    assert caught.value.condition == "amqp:transaction:timeout"
    assert bodies(broker, q) == []


def test_the_session_ending_mid_transaction_rolls_it_back(
        broker: RunningBroker, q: str) -> None:
    with amqp.open_connection(broker.url, timeout=10) as conn:
        session = conn.open_session()
        sender = session.open_sender(q)
        with pytest.raises(TransactionRolledBack, match="control link ended"), \
                session.transaction() as txn:
            sender.send(Message(b"gone"), txn=txn)
            session.close()
            with pytest.raises(TransactionError):
                _ = txn.txn_id
        eventually(lambda: open_transactions(broker) == 0, "the broker rolled back")
        assert bodies(broker, q) == []


def test_the_control_link_detached_mid_transaction(
        broker: RunningBroker, session: amqp.Session, q: str) -> None:
    sender = session.open_sender(q)
    conn = session.connection
    # The commit at the block's exit finds the link detached (before the broker's detach
    # comes back) or ended (after): a rollback either way, worded for what it saw.
    with pytest.raises(TransactionRolledBack, match=r"control link (detached|ended)"), \
            session.transaction() as txn:
        sender.send(Message(b"gone"), txn=txn)
        controller = session._txn_controller
        assert controller is not None
        with conn._cond:  # the control link goes (as a peer's detach would take it)
            controller.link.detach()
            conn._after()
    eventually(lambda: open_transactions(broker) == 0, "the broker rolled back")
    with session.transaction() as txn:  # a new control link
        sender.send(Message(b"next"), txn=txn)
    assert bodies(broker, q) == [b"next"]


@pytest.mark.parametrize("reconnect", [False, True], ids=["closed", "reconnected"])
def test_a_dropped_connection_rolls_the_transaction_back_at_the_broker(
        broker: RunningBroker, q: str, reconnect: bool) -> None:
    with amqp.open_connection(broker.url) as conn:
        conn.open_session().open_sender(q).send(Message(b"consumed"))
    with FaultProxy(broker.port) as proxy, \
            amqp.open_connection(proxy.url, timeout=10, reconnect=reconnect) as conn:
        session = conn.open_session()
        sender = session.open_sender(q)
        receiver = session.open_receiver(q, credit=1)
        msg = receiver.receive(timeout=5)
        with pytest.raises(TransactionRolledBack), session.transaction() as txn:
            sender.send(Message(b"never"), txn=txn)
            msg.accept(txn=txn)
            proxy.cut()
            eventually(lambda: txn.status == "failed", "the client saw the drop")
        if not reconnect:
            eventually(lambda: bodies(broker, q) == [b"consumed"], "the message is back")
        else:  # the receiver is attached again and takes it again
            again = receiver.receive(timeout=10)
            assert again.body == b"consumed"
            with session.transaction() as txn:  # a controller on the new transport
                sender.send(Message(b"after"), txn=txn)
                again.accept(txn=txn)
            assert receiver.receive(timeout=5).body == b"after"
        assert b"never" not in bodies(broker, q)


def test_a_declare_its_caller_gave_up_on_is_rolled_back(broker: RunningBroker) -> None:
    with FaultProxy(broker.port) as proxy, \
            amqp.open_connection(proxy.url, timeout=10) as conn:
        session = conn.open_session()
        with session.transaction():
            pass  # the controller is attached with credit: the next declare goes at once
        proxy.delay(0.5)
        txn = session.transaction(timeout=0.1)
        with pytest.raises(TimeoutError, match="declare"):
            txn.__enter__()
        # The coordinator's answer came later: rolled back, not left open.
        eventually(lambda: txn.status == "rolled back", "the late declare was rolled back")
        eventually(lambda: open_transactions(broker) == 0, "nothing left open")


def test_a_dynamic_sender(broker: RunningBroker, session: amqp.Session) -> None:
    sender = session.open_sender(None, dynamic=True)  # 3.5.4: the broker names the node
    address = sender.address
    assert isinstance(address, str) and address
    assert isinstance(sender.remote_target, Target) and sender.remote_target.dynamic
    receiver = session.open_receiver(address)
    sender.send(Message(b"to the new node"))
    assert receiver.receive(timeout=5).body == b"to the new node"
    with pytest.raises(ValueError, match="dynamic"):
        session.open_sender("named", dynamic=True)
    with pytest.raises(TypeError, match="address"):  # no silent anonymous relay: say None
        session.open_sender()  # type: ignore[call-arg]


def test_a_message_settles_once_in_a_transaction_or_not(
        broker: RunningBroker, session: amqp.Session, q: str) -> None:
    session.open_sender(q).send_many([b"in", b"out"])
    receiver = session.open_receiver(q, credit=2)
    inside, outside = [receiver.receive(timeout=5) for _ in range(2)]
    with session.transaction() as txn:
        inside.accept(txn=txn)
        with pytest.raises(ValueError, match="settles once"):
            inside.reject()  # 4.4.2: accepted in the transaction already
        inside.accept(txn=txn)  # the same outcome again: nothing changes
        outside.accept()
        with pytest.raises(ValueError, match="settles once"):
            outside.modify(txn=txn)  # accepted already: not modified in it too
    assert txn.status == "committed"
    assert bodies(broker, q) == []
    with pytest.raises(TimeoutError):
        receiver.receive(timeout=0.3)  # neither came back
