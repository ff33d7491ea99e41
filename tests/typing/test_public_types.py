"""The public surface is typed for ``mypy --strict`` users (issue 11).

Two proofs. One mypy run (``--strict``, its cache in a temporary directory) checks
user-style programs for each adapter (``snippets.py``): each ``reveal_type`` gives the
expected type, and a misspelt attribute is an error. Then every public function,
method and property of every package is read with ``typing.get_type_hints``: an
``Any`` in a signature must be one of the exceptions listed here, each with its reason.
"""

from __future__ import annotations

import collections.abc as abc
import importlib
import inspect
import re
import socket
import ssl
import types
import typing
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from . import snippets

mypy_api = importlib.import_module("mypy.api")

ADAPTERS = ("amqp10_sync", "amqp10_asyncio", "amqp10_trio")
_SRC = Path(importlib.import_module("amqp10_proto").__file__ or "").parent.parent


class Checked(typing.NamedTuple):
    """What mypy said of one program: revealed types and error codes per ``#`` key."""

    revealed: dict[str, str]
    errors: dict[str, list[str]]


def _programs() -> dict[str, str]:
    progs = {"amqp10_sync": snippets.SYNC, "core": snippets.CORE}
    for package in ("amqp10_asyncio", "amqp10_trio"):
        progs[package] = snippets.ASYNC.replace("{amqp}", package)
    return progs


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Checked]:
    """Run mypy once over every program; parse its report per program and key."""
    tmp = tmp_path_factory.mktemp("typing")
    config = tmp / "mypy.ini"
    # follow_imports=silent: the library is checked (its types used), its own errors are
    # the whole-tree run's business, not this test's.
    config.write_text("[mypy]\nstrict = True\npython_version = 3.10\n"
                      f"mypy_path = {_SRC}\nfollow_imports = silent\n")
    files = {}
    for name, text in _programs().items():
        path = tmp / f"user_{name}.py"
        path.write_text(text)
        files[path.name] = (name, text.splitlines())
    stdout, stderr, _ = mypy_api.run([
        "--config-file", str(config), "--cache-dir", str(tmp / "cache"),
        "--show-error-codes", "--no-error-summary", "--hide-error-context",
        *[str(tmp / f) for f in files]])
    assert not stderr, stderr
    result = {name: Checked({}, {}) for name, _ in files.values()}
    line_re = re.compile(r"^(?:.*[/\\])?(user_\w+\.py):(\d+): (note|error): (.*)$")
    for out in stdout.splitlines():
        m = line_re.match(out)
        assert m is not None, f"unexpected mypy output: {out}"
        name, lines = files[m[1]]
        source = lines[int(m[2]) - 1]
        key = re.search(r"# ([RE]:[\w.:-]+)\s*$", source)
        if m[3] == "note" and (r := re.match(r'Revealed type is "(.*)"$', m[4])):
            assert key is not None and key[1].startswith("R:"), f"reveal without a key: {out}"
            result[name].revealed[key[1][2:]] = r[1]
        elif m[3] == "error":
            code = re.search(r"\[([\w-]+)\]$", m[4])
            assert key is not None and key[1].startswith("E:"), f"unexpected error: {out}"
            result[name].errors.setdefault(key[1], []).append(code[1] if code else m[4])
    return result


def _reveal_cases() -> Iterator[object]:
    for package in ADAPTERS:
        for key, want in snippets.expected(package).items():
            yield pytest.param(package, key, want, id=f"{package}:{key}")
    for key, want in snippets.CORE_EXPECTED.items():
        yield pytest.param("core", key, want, id=f"core:{key}")


@pytest.mark.parametrize(("program", "key", "want"), list(_reveal_cases()))
def test_revealed_type(checked: dict[str, Checked], program: str, key: str,
                       want: str) -> None:
    got = checked[program].revealed.get(key)
    assert got == want, f"{program} {key}: mypy reveals {got!r}, not {want!r}"


def _error_cases() -> Iterator[object]:
    for program in (*ADAPTERS, "core"):
        text = _programs()[program]
        for key in sorted(set(re.findall(r"# (E:[\w-]+)", text))):
            yield pytest.param(program, key, id=f"{program}:{key}")


@pytest.mark.parametrize(("program", "key"), list(_error_cases()))
def test_misuse_is_a_mypy_error(checked: dict[str, Checked], program: str, key: str) -> None:
    """``msg.properties.mesage_id`` (a typo) and a wrong argument are errors, not Any."""
    assert checked[program].errors.get(key) == [key[2:]], checked[program].errors


def test_every_reveal_is_checked(checked: dict[str, Checked]) -> None:
    """Each program's keys and the expectations match one for one (no silent reveal)."""
    for package in ADAPTERS:
        assert set(checked[package].revealed) == set(snippets.expected(package)), package
    assert set(checked["core"].revealed) == set(snippets.CORE_EXPECTED)


# -- no Any in a public signature, but where it is the precise type ---------------------

PACKAGES = ("amqp10_proto", "amqp10_proto.client", "amqp10_proto.codec", "amqp10_proto.errors",
            "amqp10_proto.performatives", "amqp10_proto.trace", "amqp10_sync",
            "amqp10_asyncio", "amqp10_trio", "amqp10_cli")
_DUNDERS = {"__init__", "__call__", "__enter__", "__aenter__", "__iter__", "__aiter__",
            "__next__", "__anext__", "__await__", "__getitem__"}

_AMQP_MAP = ("an AMQP map (properties, annotations, filters, unsettled, info, "
             "footer): its keys and values are any AMQP value (2.2, the codec's table)")
_AMQP_VALUE = "any AMQP value: its Python type is decided by the encoding (the codec's table)"
_PASSTHROUGH = "keyword arguments handed on unchanged to a documented call"
_CONTEXT = "free for the application or adapter (like Qpid Proton's context), never read"

_AWAITABLE = {abc.Generator, abc.Coroutine}

#: Hints allowed to contain Any: a rule on the hint, with its reason.
RULES: list[tuple[str, Callable[[object], bool], str]] = [
    ("amqp-map", lambda t: _is_map(t), _AMQP_MAP),
    ("awaitable", lambda t: typing.get_origin(t) in _AWAITABLE, "the await protocol's "
     "yield and send types belong to the event loop (typeshed spells them Any too)"),
]

_ADAPTER_SESSION = ("the adapter's Session: the shared request code calls its "
                    "open_sender/open_receiver, whose signatures differ per adapter (the "
                    "blocking adapter's own classes type it)")

#: Signatures (``module.Class.member:param``, or ``:return``) whose bare Any is precise.
ALLOWED: dict[str, str] = {
    "amqp10_proto._message.Message.body:return": _AMQP_VALUE + "; body_type says which "
    "(narrow it, or rely on Any as json.loads does)",
    "amqp10_proto._message.Message.__init__:body": _AMQP_VALUE,
    "amqp10_proto._message.AmqpValue.__init__:value": _AMQP_VALUE,
    "amqp10_proto.client.ReceivedSections.body:return": _AMQP_VALUE + " (Message.body)",
    "amqp10_proto._decoder.decode:return": _AMQP_VALUE,
    "amqp10_proto._decoder.decode_one:return": _AMQP_VALUE,
    "amqp10_proto._types.Described.__init__:descriptor": _AMQP_VALUE + " (3.2.1: symbol "
    "or ulong, but a peer may send any)",
    "amqp10_proto._types.Described.__init__:value": _AMQP_VALUE,
    "amqp10_proto._requests.PendingRequest.__init__:echo": "the request's own message-id, "
    "correlation-id and reply-to as sent (each of several AMQP types), to tell an echo "
    "of it from a reply",
    "amqp10_proto.client.SocketLike.getpeername:return": "what the socket's family gives "
    "(a (host, port) tuple for IP, a path for a Unix socket), as socket.getpeername",
    "amqp10_proto._requester.RequesterBase.__init__:session": _ADAPTER_SESSION,
    "amqp10_proto._asyncrequests.AsyncManagementBase.__init__:session": _ADAPTER_SESSION,
    "amqp10_proto._asyncrequests.AsyncCbsBase.__init__:session": _ADAPTER_SESSION,
    "amqp10_proto._clienttxn.ClientTransaction.__init__:session": _ADAPTER_SESSION,
    "amqp10_proto._txn.flow_txn_id:properties": "a flow's properties as the peer sent them: "
    "any AMQP value, checked inside",
    "amqp10_proto._encoder.encode:value": _AMQP_VALUE,
    "amqp10_proto._types.Array.__init__:descriptor": _AMQP_VALUE + " (1.2: an array's "
    "element descriptor)",
    "amqp10_proto._types.Array.__init__:items": _AMQP_VALUE + " (the element type is "
    "checked at run time against element_type)",
    "amqp10_proto._types.Array.__getitem__:return": _AMQP_VALUE,
    "amqp10_proto._types.Array.__iter__:return": _AMQP_VALUE,
    "amqp10_proto._types.Map.__init__:pairs": _AMQP_MAP + " (the fallback for unhashable keys)",
    "amqp10_proto._definitions.Declare.__init__:global_id": "4.5.3: global-id is `*` "
    "(any AMQP value, reserved by the spec)",
    "amqp10_proto._clientstate.SenderBase.__init__:extra": _PASSTHROUGH + " (LinkBase)",
    "amqp10_proto._clientstate.ReceiverBase.__init__:extra": _PASSTHROUGH + " (LinkBase)",
    "amqp10_proto._clientstate.LinkBase.__init__:_": "the adapter's own link options "
    "(queue_size ...), which the shared base ignores",
    "amqp10_proto.client.sender_attach_args:core_options": _PASSTHROUGH
    + " (core Session.attach_sender)",
    "amqp10_proto.client.receiver_attach_args:core_options": _PASSTHROUGH
    + " (core Session.attach_receiver)",
    "amqp10_sync._link.Sender.__init__:extra": _PASSTHROUGH + " (LinkBase)",
    "amqp10_asyncio._sender.Sender.__init__:extra": _PASSTHROUGH + " (LinkBase)",
    "amqp10_proto._txn.DeclareReceived.__init__:global_id": "4.5.3: global-id is `*` "
    "(any AMQP value, reserved by the spec)",
    "amqp10_proto._txn.TransactionController.declare:global_id": "4.5.3: global-id is `*` "
    "(any AMQP value, reserved by the spec)",
    "amqp10_trio._link.Sender.__init__:extra": _PASSTHROUGH + " (LinkBase)",
    "amqp10_proto._sender.Sender.__init__:args": _PASSTHROUGH + " (core Link)",
    "amqp10_proto._sender.Sender.__init__:kwargs": _PASSTHROUGH + " (core Link)",
    "amqp10_proto._receiver.Receiver.__init__:args": _PASSTHROUGH + " (core Link)",
    "amqp10_proto._receiver.Receiver.__init__:kwargs": _PASSTHROUGH + " (core Link)",
    "amqp10_cli._broker.start_broker:options": _PASSTHROUGH + " (the Broker's options)",
    "amqp10_proto._filters.filter_value:source": "a source as the peer attached it (3.5.3: "
    "Source, Described for an extension, or None), read duck-typed for its filter map",
    "amqp10_proto._filters.filter_value:return": _AMQP_VALUE + " (3.5.1: a filter's value "
    "is whatever its filter type defines)",
    "amqp10_proto._filters.link_filter:value": _AMQP_VALUE + " (3.5.1: a filter's value is "
    "whatever its filter type defines)",
    "amqp10_trio._session.Opening.__init__:factory": "the await protocol's yield and "
    "send types belong to the event loop",
    "amqp10_proto._requests.management_request:body": _AMQP_VALUE + " (the request's body)",
    "amqp10_proto._asyncrequests.AsyncManagementBase.call:body": _AMQP_VALUE + " (as above)",
    "amqp10_sync._requests.ManagementClient.call:body": _AMQP_VALUE + " (as above)",
    **{f"{where}.__init__:options": _PASSTHROUGH + " (the Requester's options)"
       for where in ("amqp10_proto._asyncrequests.AsyncCbsBase",
                     "amqp10_proto._asyncrequests.AsyncManagementBase",
                     "amqp10_sync._requests.CbsClient", "amqp10_sync._requests.ManagementClient",
                     "amqp10_sync._requests.Requester")},
}

def _is_map(t: object) -> bool:
    """``dict[K, V]`` / ``Mapping[K, V]`` (or Optional), whose Any are its keys or values."""
    origin = typing.get_origin(t)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(t) if a is not type(None)]
        return len(args) == 1 and _is_map(args[0])
    return origin in (dict, abc.Mapping) and not any(
        _has_any(a) and typing.get_origin(a) is not None for a in typing.get_args(t))


def _has_any(t: object) -> bool:
    return t is typing.Any or any(_has_any(a) for a in typing.get_args(t))


def _members() -> Iterator[tuple[str, object, str]]:
    """(``module.qualname``, the function, its module) for every public callable."""
    seen: set[str] = set()
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isclass(obj):
                classes = [c for c in obj.__mro__ if c.__module__.startswith("amqp10")]
                for cls in classes:
                    for attr, value in vars(cls).items():
                        if attr.startswith("_") and attr not in _DUNDERS:
                            continue
                        if isinstance(value, property):
                            value = value.fget
                        elif isinstance(value, (staticmethod, classmethod)):
                            value = value.__func__
                        if inspect.isfunction(value):
                            where = f"{cls.__module__}.{cls.__qualname__}.{attr}"
                            if where not in seen:
                                seen.add(where)
                                yield where, value, cls.__module__
            elif inspect.isfunction(obj):
                where = f"{obj.__module__}.{obj.__qualname__}"
                if where not in seen:
                    seen.add(where)
                    yield where, obj, obj.__module__


def _hints(func: object, module_name: str) -> dict[str, object]:
    """``get_type_hints``, with the names a module imports only for type checking found
    in its package's public namespace."""
    module = importlib.import_module(module_name)
    package = importlib.import_module(module_name.split(".")[0])
    core = [vars(importlib.import_module(p)) for p in PACKAGES if p.startswith("amqp10_proto")]
    # The adapters' WebSocket transports name amqp10_ws's types only for type checking
    # (amqp10_ws is imported when a ws URL is used).
    ws = vars(importlib.import_module("amqp10_ws"))
    namespace = {k: v for ns in (*core, ws, vars(package), vars(module)) for k, v in ns.items()}
    # Standard modules the core names only for type checking (it must not import them).
    namespace.setdefault("ssl", ssl)
    namespace.setdefault("socket", socket)
    return typing.get_type_hints(func, globalns=namespace)


def _offences() -> dict[str, str]:
    """Every public signature's Any that no rule or listed reason explains."""
    found = {}
    for where, func, module_name in _members():
        for param, hint in _hints(func, module_name).items():
            if not _has_any(hint):
                continue
            key = f"{where}:{param}"
            if key in ALLOWED or any(rule(hint) for _, rule, _ in RULES):
                continue
            found[key] = str(hint)
    return found


@pytest.fixture(scope="module")
def offences() -> dict[str, str]:
    return _offences()


def test_public_signatures_hold_no_unexplained_any(offences: dict[str, str]) -> None:
    assert not offences, "\n".join(f"{k} -> {v}" for k, v in sorted(offences.items()))


def test_the_walk_sees_the_adapters() -> None:
    """The walk reaches what users touch (inherited members too), so an Any there counts."""
    seen = {where for where, _, _ in _members()}
    for must in ("amqp10_proto._clientsession.SessionBase.connection",
                 "amqp10_proto._clientstate.LinkBase.session",
                 "amqp10_sync._link.Sender.send", "amqp10_trio._session.Session.open_sender",
                 "amqp10_proto._message.Message.body"):
        assert must in seen


def test_allowed_exceptions_are_still_needed(offences: dict[str, str]) -> None:
    """A listed exception that no longer holds an Any is stale: remove it."""
    hinted = {f"{where}:{param}"
              for where, func, module in _members()
              for param, hint in _hints(func, module).items() if _has_any(hint)}
    assert not set(ALLOWED) - hinted, sorted(set(ALLOWED) - hinted)
