"""Message selectors: the ``apache.org:selector-filter:string`` filter, parsed and evaluated.

A consumer's source may carry a selector (3.5.1 filter-set; descriptor
``apache.org:selector-filter:string``, code ``0x0000468C:0x00000004``, from the AMQP
filter registry): a JMS message selector, a subset of SQL-92 (JMS 1.1, 3.8.1).
:class:`Selector` parses one once, with a :class:`SelectorError` saying what is wrong
and where, then tells for each message whether it matches. Stdlib only, no I/O.

Identifiers name application properties (3.2.5), case-sensitively, except these,
which read the header (3.2.1, absent: its defaults) and properties (3.2.4):
``amqp.<field>`` (``-`` written ``_``; plus the computed ``amqp.delivery_mode``
'PERSISTENT'/'NON_PERSISTENT' and ``amqp.redelivered``) and the JMS header aliases
(``JMSMessageID`` message-id, ``JMSCorrelationID``, ``JMSType`` subject,
``JMSPriority``, ``JMSDeliveryMode``, ``JMSRedelivered``, ``JMSDestination`` to,
``JMSReplyTo``, ``JMSTimestamp`` creation-time, ``JMSExpiration``
absolute-expiry-time), as the Qpid brokers map them (Red Hat MRG 3 Messaging
Programming Reference, 20.11.2 "Selector filter" and table 20.3; qpid-cpp
``src/qpid/broker/Selector.cpp``); the JMS mapping's ``JMSXUserID``, ``JMSXGroupID``,
``JMSXGroupSeq``, ``JMSXDeliveryCount`` (delivery-count + 1); Artemis's core filter
names ``AMQPriority``, ``AMQTimestamp``, ``AMQExpiration`` (0: never),
``AMQDurable`` ('DURABLE'/'NON_DURABLE'), ``AMQUserID`` (message-id) and
``AMQGroupID`` (ActiveMQ Artemis manual, "Filter Expressions"; its
``SelectorTranslator`` rewrites ``JMSPriority`` to ``AMQPriority`` and so on); and
``amqp.annotation.<key>``, a message annotation (3.2.3) as Azure Event Hubs writes it
(``amqp.annotation.x-opt-offset``, the key may hold ``-``).

Values are booleans, numbers (a Java ``long`` or ``double``) and strings; timestamps
read as epoch milliseconds, a user-id as UTF-8 text, a UUID id as its text; any
other value (binary, list, map, decimal) reads as NULL. Semantics are JMS 3.8.1.1:
three-valued logic (NULL makes a comparison, arithmetic, LIKE or IN *unknown*, and
only *true* selects); unlike types compare false; numbers compare across exact and
approximate; strings order by code point, as in the ActiveMQ parser Artemis uses;
integer arithmetic wraps as a ``long``; x / 0 is unknown; exact literals use Java's
syntax (``010`` is octal, ``0x1F``, ``7L``).

Hostile input is bounded: longer than :data:`MAX_LENGTH` or nested deeper than
:data:`MAX_DEPTH` is refused; parsing is one pass; AND, OR and arithmetic chains are
flat, so evaluation recurses no deeper than the nesting; LIKE never backtracks over ``%``.
"""

from __future__ import annotations

import datetime as _dt
import operator
import re
import uuid
from collections.abc import Callable
from typing import Any, NamedTuple, NoReturn

from amqp10_proto import Described, Map, Message, Symbol, ULong
from amqp10_proto.errors import DecodeError

__all__ = ["MAX_DEPTH", "MAX_LENGTH", "SELECTOR_FILTER", "SELECTOR_FILTER_CODE", "Selector",
           "SelectorError", "SelectorFilter", "find_selector"]

#: The selector filter's descriptor, by name and by code (the AMQP filter registry).
SELECTOR_FILTER = Symbol("apache.org:selector-filter:string")
SELECTOR_FILTER_CODE = ULong(0x0000468C00000004)
#: The longest selector accepted, in characters.
MAX_LENGTH = 4096
#: The deepest nesting accepted: parentheses, NOT and unary signs each count one.
MAX_DEPTH = 32

_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


class SelectorError(ValueError):
    """A malformed selector: what is wrong, and where (``position``, 0-based)."""

    def __init__(self, reason: str, position: int) -> None:
        super().__init__(f"{reason} (at position {position})")
        self.reason = reason
        self.position = position


# -- values ------------------------------------------------------------------------

#: What an expression evaluates to: NULL/unknown (None), a boolean, a number, a string.
Value = Any
_Env = Any  # the _Lookup of one evaluation
_Fn = Callable[[_Env], Value]


def _wrap(n: int) -> int:
    """A Java ``long`` result: two's complement wrap-around to 64 bits."""
    if _I64_MIN <= n <= _I64_MAX:
        return n
    return ((n - _I64_MIN) & 0xFFFFFFFFFFFFFFFF) + _I64_MIN


def _simple(v: Any) -> Value:
    """An AMQP value as a selector sees it (bool, int, float, str), or None."""
    if v is None or v is True or v is False:
        return v
    if isinstance(v, int):
        n = int(v)
        # qpid-cpp reads a ulong above a long's range as a double.
        return n if _I64_MIN <= n <= _I64_MAX else float(n)
    if isinstance(v, float):
        return float(v)
    if isinstance(v, str):
        return str(v)
    if isinstance(v, _dt.datetime):
        if v.tzinfo is None:
            return None
        return (v - _EPOCH) // _dt.timedelta(milliseconds=1)
    return None


def _kind(v: Value) -> str:
    if v is True or v is False:
        return "bool"
    if isinstance(v, (int, float)):
        return "num"
    return "str"


def _id_text(v: Any) -> Value:
    """A message-id or correlation-id (3.2.11-3.2.15): string, ulong, or UUID as text."""
    if isinstance(v, uuid.UUID):
        return str(v)
    return _simple(v)


def _user_id(v: Any) -> Value:
    if isinstance(v, (bytes, bytearray, memoryview)):
        try:
            return bytes(v).decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None


# Header fields with their defaults (3.2.1: an absent header is all defaults).
_HEADER_DEFAULTS: dict[str, Any] = {"durable": False, "priority": 4, "ttl": None,
                                    "first_acquirer": False, "delivery_count": 0}
_PROPERTY_FIELDS = ("message_id", "user_id", "to", "subject", "reply_to", "correlation_id",
                    "content_type", "content_encoding", "absolute_expiry_time", "creation_time",
                    "group_id", "group_sequence", "reply_to_group_id")


def _header_field(name: str) -> Callable[[Message], Value]:
    default = _HEADER_DEFAULTS[name]

    def get(message: Message) -> Value:
        header = message.header
        v = None if header is None else getattr(header, name, None)
        return _simple(default if v is None else v)
    return get


def _property_field(name: str) -> Callable[[Message], Value]:
    convert = {"message_id": _id_text, "correlation_id": _id_text,
               "user_id": _user_id}.get(name, _simple)

    def get(message: Message) -> Value:
        props = message.properties
        return None if props is None else convert(getattr(props, name, None))
    return get


def _count(v: Value) -> int:
    return v if isinstance(v, int) and v is not True and v is not False else 0


def _fields() -> dict[str, Callable[[Message], Value]]:
    """Every predefined identifier (see the module docstring for the sources)."""
    amqp: dict[str, Callable[[Message], Value]] = {}
    for name in _HEADER_DEFAULTS:
        amqp[name] = _header_field(name)
    for name in _PROPERTY_FIELDS:
        amqp[name] = _property_field(name)
    durable, count = amqp["durable"], amqp["delivery_count"]
    expiry = amqp["absolute_expiry_time"]
    amqp["delivery_mode"] = lambda m: "PERSISTENT" if durable(m) else "NON_PERSISTENT"
    amqp["redelivered"] = lambda m: _count(count(m)) > 0
    table = {f"amqp.{name}": get for name, get in amqp.items()}
    for jms, name in (("JMSMessageID", "message_id"), ("JMSCorrelationID", "correlation_id"),
                      ("JMSType", "subject"), ("JMSPriority", "priority"),
                      ("JMSDeliveryMode", "delivery_mode"), ("JMSRedelivered", "redelivered"),
                      ("JMSDestination", "to"), ("JMSReplyTo", "reply_to"),
                      ("JMSTimestamp", "creation_time"),
                      ("JMSExpiration", "absolute_expiry_time"), ("JMSXUserID", "user_id"),
                      ("JMSXGroupID", "group_id"), ("JMSXGroupSeq", "group_sequence"),
                      ("AMQPriority", "priority"), ("AMQTimestamp", "creation_time"),
                      ("AMQUserID", "message_id"), ("AMQGroupID", "group_id")):
        table[jms] = amqp[name]
    table["JMSXDeliveryCount"] = lambda m: _count(count(m)) + 1
    table["AMQDurable"] = lambda m: "DURABLE" if durable(m) else "NON_DURABLE"
    table["AMQExpiration"] = lambda m: 0 if (v := expiry(m)) is None else v
    return table


_FIELDS = _fields()
_ANNOTATION = "amqp.annotation."


class _Lookup:
    """One message as a selector reads it (the application properties looked up once)."""

    __slots__ = ("_ap", "message")

    def __init__(self, message: Message) -> None:
        self.message = message
        self._ap: Any = _UNREAD

    def prop(self, name: str) -> Value:
        ap = self._ap
        if ap is _UNREAD:
            try:
                ap = self.message.application_properties
            except DecodeError:
                ap = None  # a malformed section matches nothing, never raises here
            self._ap = ap
        if ap is None:
            return None
        if isinstance(ap, dict):
            return _simple(ap.get(name))
        if isinstance(ap, Map):  # unhashable keys somewhere: look through the pairs
            for key, value in ap.pairs:
                if key == name:
                    return _simple(value)
        return None

    def field(self, get: Callable[[Message], Value]) -> Value:
        try:
            return get(self.message)
        except DecodeError:
            return None

    def annotation(self, key: str) -> Value:
        try:
            ma = self.message.message_annotations
        except DecodeError:
            return None
        return _simple(ma.get(key)) if isinstance(ma, dict) else None


_UNREAD = object()


# -- operators (three-valued) --------------------------------------------------------

_ORDER = {"=": operator.eq, "<>": operator.ne, "<": operator.lt, "<=": operator.le,
          ">": operator.gt, ">=": operator.ge}
_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul}


def _compare(op: str, a: Value, b: Value) -> Value:
    """``a op b``: None if either is NULL, False for unlike types (JMS 3.8.1.1)."""
    if a is None or b is None:
        return None
    ka = _kind(a)
    if ka != _kind(b) or (ka == "bool" and op not in ("=", "<>")):
        return False  # and booleans are only equal or not
    if ka == "num" and (type(a) is float or type(b) is float):
        a, b = float(a), float(b)  # Java's numeric promotion
    return bool(_ORDER[op](a, b))


def _arith(op: str, a: Value, b: Value) -> Value:
    """``a op b`` on numbers with Java's promotion; None for NULL, non-numbers, x/0."""
    if a is None or b is None or _kind(a) != "num" or _kind(b) != "num":
        return None
    if type(a) is float or type(b) is float:
        a, b = float(a), float(b)
        if op == "/":
            return None if b == 0.0 else a / b
        return _ARITH[op](a, b)
    if op != "/":
        return _wrap(_ARITH[op](a, b))
    if b == 0:
        return None
    q = abs(a) // abs(b)  # Java truncates toward zero
    return _wrap(q if (a < 0) == (b < 0) else -q)


def _not(v: Value) -> Value:
    return (not v) if (v is True or v is False) else None


def _like_matcher(pattern: str, escape: str | None) -> Callable[[str], bool]:
    """A matcher for a LIKE pattern: ``_`` one character, ``%`` any run (JMS 3.8.1.1).

    The pattern splits at each ``%`` into fixed-length pieces; the first must start
    the value, the last end it, and each between is found leftmost after the one
    before: right for fixed-length pieces, and no backtracking however many ``%``.
    """
    pieces: list[list[str]] = [[]]
    chars = iter(pattern)
    for c in chars:
        if escape is not None and c == escape:
            nxt = next(chars, None)
            if nxt is None:
                raise ValueError("the pattern ends with its escape character")
            pieces[-1].append(re.escape(nxt))
        elif c == "%":
            pieces.append([])
        elif c == "_":
            pieces[-1].append(".")
        else:
            pieces[-1].append(re.escape(c))
    compiled = [(re.compile("".join(p), re.DOTALL), len(p)) for p in pieces]
    if len(compiled) == 1:
        whole = compiled[0][0]
        return lambda s: whole.fullmatch(s) is not None
    (first, n_first), middle, (last, n_last) = compiled[0], compiled[1:-1], compiled[-1]

    def match(s: str) -> bool:
        end = len(s) - n_last
        if end < n_first or first.match(s, 0) is None:
            return False
        pos = n_first
        for piece, n in middle:
            found = piece.search(s, pos, end)
            if found is None:
                return False
            pos = found.start() + n
        return last.fullmatch(s, end) is not None
    return match


# -- the parser ----------------------------------------------------------------------

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>'(?:[^']|'')*')
  | (?P<float>(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fFdD]?
             |[0-9]+[eE][+-]?[0-9]+[fFdD]?|[0-9]+[fFdD])
  | (?P<hex>0[xX][0-9a-fA-F]+[lL]?)
  | (?P<int>[0-9]+[lL]?)
  | (?P<ann>amqp\.annotation\.[\w$.\-]+)
  | (?P<id>(?:[^\W0-9]|\$)[\w$.]*)
  | (?P<op><>|<=|>=|[=<>+\-*/(),])
""", re.VERBOSE)
_IDENT_CHAR = re.compile(r"[\w$.]")
_KEYWORDS = frozenset({"AND", "OR", "NOT", "BETWEEN", "LIKE", "IN", "IS", "NULL", "TRUE",
                       "FALSE", "ESCAPE"})
_COMPARISONS = frozenset({"=", "<>", "<", "<=", ">", ">="})


class _Tok(NamedTuple):
    kind: str  # str, num, id, kw, op, end
    value: Any
    pos: int


def _number(kind: str, text: str, pos: int) -> int | float:
    if kind == "float":
        f = float(text.rstrip("fFdD"))
        if f == float("inf"):
            raise SelectorError(f"{text} is beyond a double", pos)
        return f
    digits = text.rstrip("lL")
    if kind == "hex":
        n = int(digits[2:], 16)
    elif len(digits) > 1 and digits[0] == "0":  # Java: a leading 0 is octal
        if not set(digits) <= set("01234567"):
            raise SelectorError(f"{text} is not an octal number (a leading 0 means octal)", pos)
        n = int(digits, 8)
    else:
        n = int(digits)
    if n > _I64_MAX + 1:  # 2**63 is allowed only under a unary minus
        raise SelectorError(f"{text} is beyond a 64-bit integer", pos)
    return n


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos, n = 0, len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if m is None:
            if text[pos] == "'":
                raise SelectorError("unterminated string literal", pos)
            raise SelectorError(f"unexpected character {text[pos]!r}", pos)
        kind, lexeme = m.lastgroup, m.group()
        assert kind is not None
        if kind == "str":
            out.append(_Tok("str", lexeme[1:-1].replace("''", "'"), pos))
        elif kind in ("float", "hex", "int"):
            if m.end() < n and _IDENT_CHAR.match(text, m.end()):
                raise SelectorError(f"malformed number {text[pos:m.end() + 1]!r}", pos)
            out.append(_Tok("num", _number(kind, lexeme, pos), pos))
        elif kind == "id" and lexeme.upper() in _KEYWORDS:
            out.append(_Tok("kw", lexeme.upper(), pos))
        elif kind in ("id", "ann"):
            out.append(_Tok("id", lexeme, pos))
        elif kind == "op":
            out.append(_Tok("op", lexeme, pos))
        pos = m.end()
    out.append(_Tok("end", None, n))
    return out


class _Expr(NamedTuple):
    """A parsed expression: its evaluator, what it is known to yield ("bool", "num",
    "str", or "any" for an identifier, which can hold anything), and where it starts."""

    fn: _Fn
    kind: str
    pos: int


def _const(v: Value) -> _Fn:
    return lambda env: v


_KIND_NAMES = {"bool": "boolean", "num": "number", "str": "string", "any": "value"}
_ORDERED = ("num", "str")


class _Parser:
    """Recursive descent over the JMS grammar, with its precedence (3.8.1.1).

    or  := and {OR and};  and := not {AND not};  not := NOT not | predicate;
    predicate := sum [cmp sum | [NOT] BETWEEN sum AND sum | [NOT] IN (lit, ...)
                 | [NOT] LIKE 'pattern' [ESCAPE 'c'] | IS [NOT] NULL];
    sum := product {(+|-) product};  product := unary {(*|/) unary};
    unary := (+|-) unary | primary;  primary := literal | identifier | ( or ).
    Static kinds catch what can never be right ('a' + 1, 5 AND x) at parse time.
    """

    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0

    # -- helpers
    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        self.i += 1
        return self.toks[self.i - 1]

    def at(self, kind: str, value: Any = None) -> bool:
        tok = self.toks[self.i]
        return tok.kind == kind and (value is None or tok.value == value)

    def accept(self, kind: str, value: Any = None) -> bool:
        """Take the next token if it is ``kind`` (and ``value``)."""
        if self.at(kind, value):
            self.i += 1
            return True
        return False

    def expect(self, kind: str, value: Any, what: str) -> _Tok:
        if not self.at(kind, value):
            self.fail(f"expected {what}")
        return self.take()

    def fail(self, reason: str) -> NoReturn:
        tok = self.tok
        found = "the end" if tok.kind == "end" else repr(
            f"'{tok.value}'" if tok.kind == "str" else str(tok.value))
        raise SelectorError(f"{reason}, found {found}", tok.pos)

    def nested(self, sub: Callable[[], _Expr]) -> _Expr:
        """``sub()`` one level deeper: hostile nesting ends here, not in a RecursionError."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise SelectorError(f"nested deeper than {MAX_DEPTH}", self.tok.pos)
        expr = sub()
        self.depth -= 1
        return expr

    @staticmethod
    def need(expr: _Expr, kinds: tuple[str, ...], what: str) -> _Fn:
        if expr.kind not in kinds and expr.kind != "any":
            raise SelectorError(f"{what}, not a {_KIND_NAMES[expr.kind]}", expr.pos)
        return expr.fn

    # -- conditions
    def parse(self) -> _Fn:
        fn = self.need(self.or_(), ("bool",), "a selector must be a condition")
        if not self.at("end"):
            self.fail("expected AND, OR or the end")
        return fn

    def or_(self) -> _Expr:
        return self.chain("OR", self.and_, True)

    def and_(self) -> _Expr:
        return self.chain("AND", self.not_, False)

    def chain(self, word: str, sub: Callable[[], _Expr], decisive: bool) -> _Expr:
        first = sub()
        if not self.at("kw", word):
            return first
        fns = [self.need(first, ("bool",), f"{word} needs conditions")]
        while self.accept("kw", word):
            fns.append(self.need(sub(), ("bool",), f"{word} needs conditions"))
        return _Expr(_kleene(fns, decisive), "bool", first.pos)

    def not_(self) -> _Expr:
        pos = self.tok.pos
        if not self.accept("kw", "NOT"):
            return self.predicate()
        inner = self.need(self.nested(self.not_), ("bool",), "NOT needs a condition")
        return _Expr(lambda env: _not(inner(env)), "bool", pos)

    def predicate(self) -> _Expr:
        left = self.sum()
        tok = self.tok
        if tok.kind == "op" and tok.value in _COMPARISONS:
            self.take()
            return _Expr(self.comparison(tok, left, self.sum()), "bool", left.pos)
        if self.accept("kw", "IS"):
            negate = self.accept("kw", "NOT")
            self.expect("kw", "NULL", "NULL after IS")
            fn = left.fn
            return _Expr((lambda env: fn(env) is not None) if negate else
                         (lambda env: fn(env) is None), "bool", left.pos)
        negate = self.accept("kw", "NOT")
        if self.accept("kw", "BETWEEN"):
            result = self.between(left)
        elif self.accept("kw", "IN"):
            result = self.in_(left)
        elif self.accept("kw", "LIKE"):
            result = self.like(left)
        elif negate:
            self.fail("expected BETWEEN, IN or LIKE after NOT")
        else:
            return left
        if negate:
            return _Expr(lambda env: _not(result(env)), "bool", left.pos)
        return _Expr(result, "bool", left.pos)

    def comparison(self, op: _Tok, left: _Expr, right: _Expr) -> _Fn:
        o = op.value
        if o not in ("=", "<>"):
            self.need(left, _ORDERED, f"{o} compares numbers or strings")
            self.need(right, _ORDERED, f"{o} compares numbers or strings")
        if "any" not in (left.kind, right.kind) and left.kind != right.kind:
            raise SelectorError(f"{o} compares a {_KIND_NAMES[left.kind]} with a "
                                f"{_KIND_NAMES[right.kind]}", op.pos)
        lf, rf = left.fn, right.fn
        return lambda env: _compare(o, lf(env), rf(env))

    def between(self, left: _Expr) -> _Fn:
        what = "BETWEEN compares numbers or strings"
        value = self.need(left, _ORDERED, what)
        low = self.need(self.sum(), _ORDERED, what)
        self.expect("kw", "AND", "AND in BETWEEN ... AND ...")
        high = self.need(self.sum(), _ORDERED, what)

        def between(env: _Env) -> Value:
            v = value(env)
            return _all_of(_compare(">=", v, low(env)), _compare("<=", v, high(env)))
        return between

    def in_(self, left: _Expr) -> _Fn:
        value = self.need(left, _ORDERED, "IN tests a number or a string")
        self.expect("op", "(", "( after IN")
        items = [self.literal()]
        while self.accept("op", ","):
            items.append(self.literal())
        self.expect("op", ")", ", or ) in the IN list")

        def in_(env: _Env) -> Value:
            v = value(env)
            return None if v is None else any(_compare("=", v, x) is True for x in items)
        return in_

    def like(self, left: _Expr) -> _Fn:
        value = self.need(left, ("str",), "LIKE tests a string")
        pattern = self.expect("str", None, "a string pattern after LIKE")
        escape = None
        if self.accept("kw", "ESCAPE"):
            tok = self.expect("str", None, "a string after ESCAPE")
            if len(tok.value) != 1:
                raise SelectorError("the ESCAPE string must be one character", tok.pos)
            escape = tok.value
        try:
            matcher = _like_matcher(pattern.value, escape)
        except ValueError as exc:
            raise SelectorError(str(exc), pattern.pos) from None

        def like(env: _Env) -> Value:
            v = value(env)
            return None if v is None else isinstance(v, str) and matcher(v)
        return like

    # -- values
    def literal(self) -> Value:
        """One item of an IN list: a string, or a number with an optional sign."""
        sign = 1
        if self.at("op", "-") or self.at("op", "+"):
            sign = -1 if self.take().value == "-" else 1
            if not self.at("num"):
                self.fail("expected a number after the sign")
        if not (self.at("num") or self.at("str")):
            self.fail("expected a string or number literal")
        return self.number(self.take(), sign)

    @staticmethod
    def number(tok: _Tok, sign: int) -> Value:
        v = tok.value
        if tok.kind != "num":
            return v
        v = -v if sign < 0 else v
        if isinstance(v, int) and v > _I64_MAX:
            raise SelectorError(f"{tok.value} is beyond a 64-bit integer", tok.pos)
        return v

    def sum(self) -> _Expr:
        return self.arith(("+", "-"), self.product)

    def product(self) -> _Expr:
        return self.arith(("*", "/"), self.unary)

    def arith(self, ops: tuple[str, str], sub: Callable[[], _Expr]) -> _Expr:
        first = sub()
        if not (self.tok.kind == "op" and self.tok.value in ops):
            return first
        what = "arithmetic needs numbers"
        head = self.need(first, ("num",), what)
        rest: list[tuple[str, _Fn]] = []
        while self.tok.kind == "op" and self.tok.value in ops:
            op = self.take().value
            rest.append((op, self.need(sub(), ("num",), what)))

        def fold(env: _Env) -> Value:  # flat: a long chain costs no recursion
            v = head(env)
            for op, fn in rest:
                v = _arith(op, v, fn(env))
            return v
        return _Expr(fold, "num", first.pos)

    def unary(self) -> _Expr:
        if not (self.at("op", "-") or self.at("op", "+")):
            return self.primary()
        sign = self.take()
        op = sign.value
        if self.at("num"):  # a signed literal: -9223372036854775808 is in range
            return _Expr(_const(self.number(self.take(), -1 if op == "-" else 1)), "num", sign.pos)
        inner = self.need(self.nested(self.unary), ("num",), "a sign needs a number")
        return _Expr(lambda env: _arith(op, 0, inner(env)), "num", sign.pos)

    def primary(self) -> _Expr:
        tok = self.tok
        if self.accept("op", "("):
            inner = self.nested(self.or_)
            self.expect("op", ")", ")")
            return inner
        if tok.kind in ("str", "num"):
            v = self.number(self.take(), 1)
            return _Expr(_const(v), "str" if tok.kind == "str" else "num", tok.pos)
        if tok.kind == "kw" and tok.value in ("TRUE", "FALSE"):
            self.take()
            return _Expr(_const(tok.value == "TRUE"), "bool", tok.pos)
        if tok.kind == "id":
            self.take()
            return _Expr(self.identifier(tok), "any", tok.pos)
        self.fail("expected a value, an identifier or (")

    @staticmethod
    def identifier(tok: _Tok) -> _Fn:
        name: str = tok.value
        if name.startswith(_ANNOTATION) and len(name) > len(_ANNOTATION):
            key = Symbol(name[len(_ANNOTATION):])
            return lambda env: env.annotation(key)
        get = _FIELDS.get(name)
        if get is not None:
            return lambda env: env.field(get)
        if name.startswith("amqp."):
            raise SelectorError(f"{name} names no AMQP header or properties field", tok.pos)
        return lambda env: env.prop(name)


def _all_of(a: Value, b: Value) -> Value:
    if a is False or b is False:
        return False
    return True if (a is True and b is True) else None


def _kleene(fns: list[_Fn], decisive: bool) -> _Fn:
    """AND (``decisive`` False) or OR (True) over conditions, flat, in SQL's 3VL."""
    def combine(env: _Env) -> Value:
        result: Value = not decisive
        for fn in fns:
            v = fn(env)
            if v is decisive:
                return decisive
            if v is not (not decisive):
                result = None  # unknown, unless a later one decides
        return result
    return combine


# -- the public face -----------------------------------------------------------------

class Selector:
    """A parsed selector; :meth:`matches` tells whether a message satisfies it.

    ``Selector("color = 'red' AND weight > 2500")`` raises :class:`SelectorError` for a
    malformed selector, and TypeError for one that is not a str. An empty (or blank)
    selector selects every message, as JMS says of an empty selector.
    """

    __slots__ = ("_fn", "text")

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise TypeError(f"a selector is a str, not {type(text).__name__}")
        if len(text) > MAX_LENGTH:
            raise SelectorError(f"longer than {MAX_LENGTH} characters", MAX_LENGTH)
        self.text = text
        self._fn: _Fn = _const(True) if not text.strip() else _Parser(text).parse()

    def __repr__(self) -> str:
        return f"Selector({self.text!r})"

    def evaluate(self, message: Message) -> bool | None:
        """The selector's value for ``message``: True, False, or None for unknown."""
        v = self._fn(_Lookup(message))
        return v if (v is True or v is False) else None

    def matches(self, message: Message) -> bool:
        """Whether ``message`` is selected (the selector is true for it, not unknown)."""
        return self._fn(_Lookup(message)) is True


class SelectorFilter(NamedTuple):
    """A selector found in a source's filter-set: its key and value (to echo in the
    answering attach, 3.5.1: the filters actually applied), and the parsed selector."""

    key: Any
    value: Any
    selector: Selector


def find_selector(filters: Any) -> SelectorFilter | None:
    """The selector filter of a source's filter-set (3.5.1), or None if it has none.

    The entry is found by its descriptor (``SELECTOR_FILTER`` by name or code), under
    whatever key the peer chose. Raises :class:`SelectorError` when that entry's value
    is not a string or is not a valid selector: the filter cannot be honoured, and a
    consumer must not silently get every message instead.
    """
    if not isinstance(filters, dict):
        return None
    for key, value in filters.items():
        if not isinstance(value, Described):
            continue
        if value.descriptor != SELECTOR_FILTER and value.descriptor != SELECTOR_FILTER_CODE:
            continue
        if not isinstance(value.value, str):
            raise SelectorError(f"the selector filter's value is a "
                                f"{type(value.value).__name__}, not a string", 0)
        return SelectorFilter(key, value, Selector(value.value))
    return None
