"""Selector parsing: the tokenizer and the recursive-descent parser, compiling to closures.

The grammar is the JMS message selector, a subset of SQL-92 (JMS 1.1, 3.8.1), with
its precedence (3.8.1.1; the productions are on :class:`_Parser`); exact literals use
Java's syntax (``010`` is octal, ``0x1F``, ``7L``). Malformed text raises
:class:`SelectorError`, saying what is wrong and where. Parsing is one pass; nesting
deeper than :data:`MAX_DEPTH` is refused; AND, OR and arithmetic chains are built
flat, so evaluation recurses no deeper than the nesting. Each node is a closure over
the evaluation functions of :mod:`._selector_eval`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple, NoReturn

from amqp10_proto import Symbol

from ._selector_eval import (
    _ANNOTATION,
    _FIELDS,
    _I64_MAX,
    Value,
    _all_of,
    _arith,
    _compare,
    _Env,
    _Fn,
    _kleene,
    _like_matcher,
    _not,
)

#: The deepest nesting accepted: parentheses, NOT and unary signs each count one.
MAX_DEPTH = 32


class SelectorError(ValueError):
    """A malformed selector: what is wrong, and where (``position``, 0-based)."""

    def __init__(self, reason: str, position: int) -> None:
        super().__init__(f"{reason} (at position {position})")
        self.reason = reason
        self.position = position


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
