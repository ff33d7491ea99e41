"""The reconnect policy and schedule, with literal clock values (no sockets, no sleeps)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amqp10_proto import Error, Symbol
from amqp10_proto._reconnect import (
    Reconnect,
    ReconnectSchedule,
    redirect_target,
    should_reconnect,
)
from amqp10_proto._url import parse_url

URLS = [parse_url(f"amqp://127.0.0.1:{p}") for p in (5681, 5682, 5683)]


def err(condition: str, **info: object) -> Error:
    return Error(condition=Symbol(condition), description="x",
                 info={Symbol(k): v for k, v in info.items()} or None)


def test_first_try_is_immediate_then_the_delay_doubles_up_to_the_cap() -> None:
    policy = Reconnect(initial_delay=0.1, max_delay=1.0, jitter=0.0)
    assert [policy.delay(n) for n in range(1, 8)] == [0.0, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    waiting = Reconnect(first_delay=0.3, initial_delay=0.1, max_delay=1.0, jitter=0.0)
    assert [waiting.delay(n) for n in range(1, 4)] == [0.3, 0.1, 0.2]


def test_jitter_spreads_the_delay_within_its_band() -> None:
    policy = Reconnect(initial_delay=1.0, max_delay=10.0, jitter=0.2)
    assert policy.delay(2, 0.0) == pytest.approx(0.8)
    assert policy.delay(2, 0.5) == pytest.approx(1.0)
    assert policy.delay(2, 0.999999) == pytest.approx(1.2, abs=1e-5)


def test_urls_rotate_from_the_one_after_the_lost_node() -> None:
    schedule = ReconnectSchedule(Reconnect(jitter=0.0, initial_delay=0.5), URLS,
                                 rand=lambda: 0.5)
    schedule.lost(100.0, err("amqp:connection:forced"))
    first = schedule.next_attempt(100.0)
    assert first is not None and first.url.port == 5682 and first.at == 100.0
    schedule.failed(None)
    second = schedule.next_attempt(100.01)
    assert second is not None and second.url.port == 5683 and second.at == pytest.approx(100.51)
    schedule.failed(None)
    third = schedule.next_attempt(101.0)
    assert third is not None and third.url.port == 5681 and third.number == 3
    assert schedule.connected(101.2) == pytest.approx(1.2)
    assert not schedule.active and schedule.reconnects == 1
    assert schedule.url.port == 5681


def test_gives_up_after_max_attempts_keeping_the_last_cause() -> None:
    schedule = ReconnectSchedule(Reconnect(max_attempts=2, max_duration=None), URLS[:1])
    schedule.lost(0.0, err("amqp:connection:forced"))
    assert schedule.next_attempt(0.0) is not None
    schedule.failed(err("amqp:resource-limit-exceeded"))
    assert schedule.next_attempt(1.0) is not None
    schedule.failed(None)
    assert schedule.next_attempt(2.0) is None
    assert not schedule.active
    assert schedule.last_cause is not None
    assert schedule.last_cause.condition == "amqp:resource-limit-exceeded"


def test_gives_up_when_the_next_try_would_start_past_max_duration() -> None:
    policy = Reconnect(initial_delay=1.0, max_delay=1.0, jitter=0.0, max_duration=2.5)
    schedule = ReconnectSchedule(policy, URLS)
    schedule.lost(10.0, None)
    times: list[float] = []
    while (attempt := schedule.next_attempt(times[-1] if times else 10.0)) is not None:
        times.append(attempt.at)
        schedule.failed(None)
    assert times == [10.0, 11.0, 12.0]  # the next would start at 13.0 > 10.0 + 2.5


def test_a_redirect_is_tried_first_once_then_the_list_again() -> None:
    schedule = ReconnectSchedule(Reconnect(), URLS)
    target = redirect_target(err("amqp:connection:redirect", **{"network-host": "127.0.0.9",
                                                                 "port": 7000}), URLS[0])
    assert target is not None and (target.host, target.port) == ("127.0.0.9", 7000)
    schedule.lost(0.0, None)
    schedule.redirect(target)
    first = schedule.next_attempt(0.0)
    assert first is not None and first.url == target and schedule.url == target
    schedule.failed(None)
    second = schedule.next_attempt(0.0)
    assert second is not None and second.url.port == 5682


def test_redirect_keeps_scheme_credentials_and_vhost_and_refuses_nonsense() -> None:
    current = parse_url("amqps://user:pw@broker.example:5671/tenant")
    target = redirect_target(err("amqp:connection:redirect", hostname="other.example"), current)
    assert target is not None
    assert (target.scheme, target.host, target.port, target.username, target.password,
            target.vhost) == ("amqps", "other.example", 5671, "user", "pw", "tenant")
    ws = parse_url("amqpwss://ns.example/$servicebus/websocket")
    moved = redirect_target(err("amqp:connection:redirect", hostname="other.example"), ws)
    assert moved is not None and (moved.scheme, moved.host, moved.port, moved.path) == (
        "amqpwss", "other.example", 443, "/$servicebus/websocket")
    assert redirect_target(err("amqp:connection:redirect"), current) is None
    assert redirect_target(err("amqp:connection:redirect", hostname="h", port=70000),
                           current) is None
    assert redirect_target(err("amqp:connection:forced", hostname="h"), current) is None
    assert redirect_target(None, current) is None


@pytest.mark.parametrize(("condition", "local", "expected"), [
    ("amqp:connection:forced", False, True),
    ("amqp:connection:forced", True, True),  # the socket went (transport_failed)
    ("amqp:resource-limit-exceeded", True, True),  # our idle timeout expired
    ("amqp:resource-limit-exceeded", False, True),
    ("amqp:internal-error", False, True),
    ("amqp:connection:redirect", False, True),
    ("amqp:decode-error", True, True),  # the peer sent garbage; a new transport may not
    ("amqp:internal-error", True, False),  # our own bug: a new transport would hide it
    ("amqp:unauthorized-access", False, False),
    ("amqp:unauthorized-access", True, False),
    ("amqp:decode-error", False, False),  # the peer blames what we sent
    ("amqp:connection:framing-error", False, False),
    ("amqp:not-allowed", False, False),
    ("amqp:invalid-field", False, False),
])
def test_which_causes_are_worth_another_try(condition: str, local: bool,
                                            expected: bool) -> None:
    assert should_reconnect(err(condition), local=local, closed_by_user=False) is expected


def test_the_applications_own_close_is_never_retried() -> None:
    assert should_reconnect(None, local=False, closed_by_user=False)
    assert not should_reconnect(None, local=True, closed_by_user=True)
    assert not should_reconnect(err("amqp:connection:forced"), local=False, closed_by_user=True)


def test_resolve_and_validation() -> None:
    assert Reconnect.resolve(False) is None and Reconnect.resolve(None) is None
    assert Reconnect.resolve(True) == Reconnect()
    custom = Reconnect(max_attempts=3)
    assert Reconnect.resolve(custom) is custom
    with pytest.raises(TypeError):
        Reconnect.resolve("yes")  # type: ignore[arg-type]
    for bad in ({"initial_delay": -1}, {"max_delay": 0.01, "initial_delay": 1},
                {"multiplier": 0.5}, {"jitter": 2}, {"max_attempts": 0},
                {"first_delay": -1}, {"first_delay": 10, "max_delay": 5},
                {"max_duration": 0}):
        with pytest.raises(ValueError):
            Reconnect(**bad)


@given(policy=st.builds(Reconnect, initial_delay=st.floats(0, 2), max_delay=st.floats(2, 30),
                        multiplier=st.floats(1, 4), jitter=st.floats(0, 1),
                        max_attempts=st.none() | st.integers(1, 20),
                        max_duration=st.none() | st.floats(0.5, 100)),
       spreads=st.lists(st.floats(0, 0.999), min_size=1, max_size=40),
       n_urls=st.integers(1, 4), start=st.floats(0, 1e6))
def test_schedule_invariants(policy: Reconnect, spreads: list[float], n_urls: int,
                             start: float) -> None:
    """Whatever the policy and randomness: tries are in time order, never before the drop,
    never beyond the limits, the first is immediate, every delay within the cap plus
    jitter, and each URL comes back within one round."""
    urls = URLS[:n_urls] + [parse_url(f"amqp://127.0.0.1:{6000 + i}") for i in range(n_urls - 3)]
    it = itertools.cycle(spreads)
    schedule = ReconnectSchedule(policy, urls, rand=lambda: next(it))
    schedule.lost(start, None)
    now = start
    seen = []
    while (attempt := schedule.next_attempt(now)) is not None:
        assert attempt.at >= now >= start
        assert attempt.at - now <= policy.max_delay * (1 + policy.jitter) + 1e-9
        if attempt.number == 1:
            assert attempt.at == now + policy.first_delay
        if policy.max_attempts is not None:
            assert attempt.number <= policy.max_attempts
        if policy.max_duration is not None:
            assert attempt.at - start <= policy.max_duration
        seen.append(attempt.url.port)
        now = attempt.at + 0.01
        schedule.failed(None)
        if len(seen) > 200:
            break
    assert not schedule.active or len(seen) > 200
    for i in range(len(seen) - len(urls)):
        assert seen[i] == seen[i + len(urls)]  # a round-robin of the whole list


def test_the_first_connect_tries_each_url_once_and_follows_at_most_five_redirects() -> None:
    from amqp10_proto._reconnect import FirstConnect

    tries = FirstConnect(URLS[:2])
    seen = []
    redirect = err("amqp:connection:redirect", **{"network-host": "127.0.0.9", "port": 1})
    for index, url in tries:
        seen.append((index, url.port))
        if (url.host == "127.0.0.1" and index == 0) or url.host == "127.0.0.9":
            tries.redirected(redirect, index, url)  # a loop: 127.0.0.9 redirects to itself
    assert seen == [(0, 5681)] + [(0, 1)] * 5 + [(1, 5682)]
    assert not FirstConnect(URLS[:1]).redirected(err("amqp:connection:forced"), 0, URLS[0])
